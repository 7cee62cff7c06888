// The proxy-wasm "pairs" serialization used for header maps, map-valued properties
// and send_local_response's extra headers (spec v0.2.1 "Maps"; cpp-host
// src/pairs_util.cc). Layout, all integers u32 little-endian:
//   count, then (key_len, value_len) for each entry, then each key and value
//   followed by a NUL byte.
import { PAIRS_MAX_BYTES, PAIRS_MAX_COUNT } from "./abi.ts";

/** Keys and values are bytes on the wire; the host keeps them as strings (UTF-8). */
export type Pair = [string, string];

const enc = new TextEncoder();
const dec = new TextDecoder();

export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}
export function fromUtf8(b: Uint8Array): string {
  return dec.decode(b);
}

/** Byte size of the serialized form (cpp-host PairsUtil::pairsSize). */
export function pairsSize(pairs: ReadonlyArray<Pair>): number {
  let size = 4;
  for (const [k, v] of pairs) size += 8 + Buffer.byteLength(k) + 1 + Buffer.byteLength(v) + 1;
  return size;
}

/** Serialize. An empty list encodes as just the count (4 bytes); callers that must
 *  hand the guest "nothing" for an empty map (cpp-host get_header_map_pairs) check
 *  for emptiness themselves. */
export function encodePairs(pairs: ReadonlyArray<Pair>, encodeValue: (v: string) => Uint8Array = utf8): Uint8Array {
  return encodeBytePairs(pairs.map(([k, v]) => [enc.encode(k), encodeValue(v)]));
}

/** Serialize pairs whose keys and values are already bytes. */
export function encodeBytePairs(pairs: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Uint8Array {
  let size = 4 + 8 * pairs.length;
  for (const [k, v] of pairs) size += k.length + v.length + 2;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length, true);
  let p = 4;
  for (const [k, v] of pairs) {
    dv.setUint32(p, k.length, true);
    dv.setUint32(p + 4, v.length, true);
    p += 8;
  }
  for (const [k, v] of pairs) {
    out.set(k, p);
    p += k.length + 1; // NUL already zero
    out.set(v, p);
    p += v.length + 1;
  }
  return out;
}

/**
 * Parse. Like cpp-host PairsUtil::toPairs, anything malformed (too short, more
 * than 1024 entries, more than 1 MiB, lengths running past the end) yields an
 * empty list rather than an error: the host calls that take pairs then act as if
 * the guest passed no entries. The NUL after each key/value is skipped, not checked
 * (cpp-host checks only that there is room for it).
 */
export function decodePairs(buf: Uint8Array): Pair[] {
  return decodePairsWith(buf, (b) => dec.decode(b));
}

/** decodePairs, each value built from its bytes by `value`. */
export function decodePairsWith<V>(buf: Uint8Array, value: (b: Uint8Array) => V): Array<[string, V]> {
  if (buf.length > PAIRS_MAX_BYTES || buf.length < 4) return [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(0, true);
  if (n > PAIRS_MAX_COUNT) return [];
  let p = 4;
  if (p + n * 8 > buf.length) return [];
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    sizes.push([dv.getUint32(p, true), dv.getUint32(p + 4, true)]);
    p += 8;
  }
  const out: Array<[string, V]> = [];
  for (const [kl, vl] of sizes) {
    if (p + kl + 1 > buf.length) return [];
    const k = dec.decode(buf.subarray(p, p + kl));
    p += kl + 1;
    if (p + vl + 1 > buf.length) return [];
    const v = value(buf.subarray(p, p + vl));
    p += vl + 1;
    out.push([k, v]);
  }
  return out;
}
