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
  return encodePairs(pairs, (v) => Buffer.from(v, "latin1"));
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
