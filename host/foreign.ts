// Envoy's foreign functions (source/extensions/common/wasm/foreign.cc) that the
// filter may call, plus the filter-state object-factory registry that
// `set_envoy_filter_state` consults (Registry::FactoryRegistry<FilterState::ObjectFactory>).
import { isIPv4 } from "node:net";

/** FilterState::LifeSpan (SetEnvoyFilterStateArguments.span). */
export const LifeSpan = { FilterChain: 0, DownstreamRequest: 1, DownstreamConnection: 2 } as const;
export type LifeSpanValue = 0 | 1 | 2;

export interface SetEnvoyFilterStateArgs {
  path: string;
  value: Uint8Array;
  span: number;
}

// ---- a tiny protobuf reader: varint and length-delimited fields only ----

class ProtoError extends Error {}

function readVarint(b: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) throw new ProtoError("truncated varint");
    const byte = b[pos++];
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
  throw new ProtoError("varint too long");
}

/**
 * Decode `envoy.source.extensions.common.wasm.SetEnvoyFilterStateArguments
 * { string path = 1; string value = 2; LifeSpan span = 3; }`. Unknown fields are
 * skipped (protobuf semantics); malformed input throws, which the caller maps to
 * BadArgument like foreign.cc does when ParseFromString fails.
 */
export function decodeSetEnvoyFilterStateArgs(b: Uint8Array): SetEnvoyFilterStateArgs {
  const out: SetEnvoyFilterStateArgs = { path: "", value: new Uint8Array(0), span: 0 };
  let pos = 0;
  while (pos < b.length) {
    let tag: bigint;
    [tag, pos] = readVarint(b, pos);
    const field = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (field === 0) throw new ProtoError("field 0");
    switch (wire) {
      case 0: {
        let v: bigint;
        [v, pos] = readVarint(b, pos);
        if (field === 3) out.span = Number(BigInt.asIntN(32, v));
        break;
      }
      case 2: {
        let len: bigint;
        [len, pos] = readVarint(b, pos);
        const end = pos + Number(len);
        if (end > b.length) throw new ProtoError("truncated field");
        const bytes = b.slice(pos, end);
        pos = end;
        if (field === 1) out.path = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        else if (field === 2) out.value = bytes;
        break;
      }
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      default:
        throw new ProtoError(`unsupported wire type ${wire}`);
    }
    if (pos > b.length) throw new ProtoError("truncated");
  }
  return out;
}

/** Encoder for the same message, for tests and tools. */
export function encodeSetEnvoyFilterStateArgs(path: string, value: string, span = 0): Uint8Array {
  const bytes: number[] = [];
  const varint = (n: number) => {
    while (n > 0x7f) {
      bytes.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    bytes.push(n);
  };
  const str = (field: number, s: string) => {
    const b = new TextEncoder().encode(s);
    if (b.length === 0) return; // proto3 default: omitted
    varint((field << 3) | 2);
    varint(b.length);
    bytes.push(...b);
  };
  str(1, path);
  str(2, value);
  if (span !== 0) {
    varint(3 << 3);
    varint(span);
  }
  return Uint8Array.from(bytes);
}

// ---- filter-state object factories ----

/** A factory turns the bytes into the object's string form, or null if unparsable. */
export type FilterStateFactory = (value: Uint8Array) => string | null;

export const ORIGINAL_DST_ADDRESS_KEY = "envoy.network.transport_socket.original_dst_address";

/**
 * Parse a literal `IP:port` the way Envoy's address factory does
 * (Network::Utility::parseInternetAddressAndPortNoThrow): IPv4 `a.b.c.d:port`,
 * IPv6 `[addr]:port`, port a decimal 0..65535; no host names. Returns Envoy's
 * canonical `asString()` form (IPv6 compressed, in brackets) or null.
 */
export function parseIpPort(s: string): string | null {
  let host: string;
  let portStr: string;
  if (s.startsWith("[")) {
    const close = s.indexOf("]:");
    if (close < 0) return null;
    host = s.slice(1, close);
    portStr = s.slice(close + 2);
    if (host.includes("%")) return null;
    let canon: string;
    try {
      canon = new URL(`http://[${host}]/`).hostname; // validates and compresses
    } catch {
      return null;
    }
    host = canon; // already "[...]"
  } else {
    const colon = s.lastIndexOf(":");
    if (colon < 0) return null;
    host = s.slice(0, colon);
    portStr = s.slice(colon + 1);
    // inet_pton(AF_INET): four decimal octets, no leading zeros.
    if (!isIPv4(host) || host.split(".").some((o) => o.length > 1 && o.startsWith("0"))) return null;
  }
  if (!/^[0-9]{1,5}$/.test(portStr)) return null;
  const port = Number(portStr);
  if (port > 65535) return null;
  return `${host}:${port}`;
}

/** The keys Envoy knows how to build from bytes. Only what this project needs is registered. */
export function defaultFilterStateFactories(): Map<string, FilterStateFactory> {
  return new Map<string, FilterStateFactory>([
    // source/extensions/clusters/original_dst/original_dst_cluster.cc
    // OriginalDstClusterFilterStateFactory: an address object from a literal IP:port.
    [
      ORIGINAL_DST_ADDRESS_KEY,
      (v) => {
        try {
          return parseIpPort(new TextDecoder("utf-8", { fatal: true }).decode(v));
        } catch {
          return null;
        }
      },
    ],
  ]);
}
