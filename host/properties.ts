// Serialization of property values as Envoy's Context::getProperty does
// (source/extensions/common/wasm/context.cc serializeValue): strings/bytes raw,
// int/uint/double 8 bytes little-endian, bool 1 byte, duration/timestamp int64
// nanoseconds, maps as proxy-wasm pairs whose values are serialized the same way.
import { encodePairs, utf8, type Pair } from "./pairs.ts";

export type PropertyValue =
  | { t: "string"; v: string }
  | { t: "bytes"; v: Uint8Array }
  | { t: "int"; v: bigint }
  | { t: "bool"; v: boolean }
  | { t: "timestamp"; ns: bigint }
  | { t: "duration"; ns: bigint }
  | { t: "map"; entries: Array<[string, PropertyValue]>; lookup?: (key: string) => PropertyValue | undefined };

export const str = (v: string): PropertyValue => ({ t: "string", v });
export const int = (v: number | bigint): PropertyValue => ({ t: "int", v: BigInt(v) });
export const bool = (v: boolean): PropertyValue => ({ t: "bool", v });

export function serialize(p: PropertyValue): Uint8Array {
  switch (p.t) {
    case "string":
      return utf8(p.v);
    case "bytes":
      return p.v;
    case "int":
    case "timestamp":
    case "duration": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, p.t === "int" ? p.v : p.ns), true);
      return b;
    }
    case "bool":
      return Uint8Array.of(p.v ? 1 : 0);
    case "map": {
      // Values in a map are serialized recursively and carried as (binary-safe) strings.
      const pairs: Pair[] = p.entries.map(([k, v]) => [k, Buffer.from(serialize(v)).toString("latin1")]);
      return encodePairsBinary(pairs);
    }
  }
}

/** encodePairs, but values given as latin1 strings holding raw bytes. */
function encodePairsBinary(pairs: Pair[]): Uint8Array {
  const allText = pairs.every(([, v]) => /^[\x00-\x7f]*$/.test(v));
  if (allText) return encodePairs(pairs);
  const keys = pairs.map(([k]) => utf8(k));
  const vals = pairs.map(([, v]) => Buffer.from(v, "latin1"));
  let size = 4 + 8 * pairs.length;
  for (let i = 0; i < pairs.length; i++) size += keys[i].length + vals[i].length + 2;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length, true);
  let p = 4;
  for (let i = 0; i < pairs.length; i++) {
    dv.setUint32(p, keys[i].length, true);
    dv.setUint32(p + 4, vals[i].length, true);
    p += 8;
  }
  for (let i = 0; i < pairs.length; i++) {
    out.set(keys[i], p);
    p += keys[i].length + 1;
    out.set(vals[i], p);
    p += vals[i].length + 1;
  }
  return out;
}

/** Walk the remaining path segments into map values (Envoy: map lookup per segment;
 *  a segment into a non-map value is NotFound). */
export function descend(v: PropertyValue | undefined, rest: string[]): PropertyValue | undefined {
  let cur = v;
  for (const seg of rest) {
    if (!cur || cur.t !== "map") return undefined;
    cur = cur.lookup ? cur.lookup(seg) : cur.entries.find(([k]) => k === seg)?.[1];
  }
  return cur;
}

/** Split an `ip:port` / `[ip6]:port` address into its parts. */
export function splitAddress(addr: string): { ip: string; port: number } | undefined {
  const m = /^\[(.*)\]:(\d+)$/.exec(addr) ?? /^([^:]*):(\d+)$/.exec(addr);
  if (!m) return undefined;
  return { ip: m[1], port: Number(m[2]) };
}
