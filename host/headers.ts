// An Envoy-like HTTP header map: an ordered multimap with lower-cased keys.
// Envoy's header values are bytes, not text: a value may be given (and is
// kept, and handed to the guest) as a Uint8Array, so tests can send bytes
// that are not UTF-8. Such a value reads back through get() as its lossy
// UTF-8 decoding and exactly through getBytes().
import { encodeBytePairs, utf8, type Pair } from "./pairs.ts";

/** A header value: text (sent as UTF-8) or raw bytes. */
export type HeaderValue = string | Uint8Array;

/** What callers may pass for headers: a record (array values = repeated header) or ordered pairs. */
export type HeadersInit = Record<string, string | number | Uint8Array | ReadonlyArray<string | Uint8Array>> | ReadonlyArray<readonly [string, HeaderValue]>;

export type RawPair = [string, HeaderValue];

export function headersToPairs(init: HeadersInit | undefined): RawPair[] {
  if (!init) return [];
  const val = (v: unknown): HeaderValue => (v instanceof Uint8Array ? v : String(v));
  if (Array.isArray(init)) return (init as ReadonlyArray<readonly [string, HeaderValue]>).map(([k, v]) => [k, val(v)]);
  const out: RawPair[] = [];
  for (const [k, v] of Object.entries(init as Record<string, unknown>)) {
    if (Array.isArray(v)) for (const x of v) out.push([k, val(x)]);
    else out.push([k, val(v)]);
  }
  return out;
}

const strict = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder();

/** Bytes as a header value: a string when they are valid UTF-8, else the bytes themselves. */
export function valueFromBytes(b: Uint8Array): HeaderValue {
  try {
    return strict.decode(b);
  } catch {
    return b.slice();
  }
}

type Entry = [string, string, Uint8Array | undefined];

export class HeaderMap {
  private list: Entry[] = [];

  constructor(init?: HeadersInit) {
    for (const [k, v] of headersToPairs(init)) this.add(k, v);
  }

  /** Envoy's Http::LowerCaseString: keys are stored lower-cased. */
  /** The entries in order (a copy): `for (const [k, v] of map.entries)`. */
  get entries(): Pair[] {
    return this.pairs();
  }

  [Symbol.iterator](): IterableIterator<Pair> {
    return this.pairs()[Symbol.iterator]();
  }

  static key(k: string): string {
    return k.toLowerCase();
  }

  get size(): number {
    return this.list.length;
  }

  /** First value only, as Envoy's get_header_map_value returns (context.cc TODO). */
  get(name: string): string | undefined {
    const k = HeaderMap.key(name);
    for (const [ek, ev] of this.list) if (ek === k) return ev;
    return undefined;
  }

  /** First value's exact bytes. */
  getBytes(name: string): Uint8Array | undefined {
    const k = HeaderMap.key(name);
    for (const [ek, ev, raw] of this.list) if (ek === k) return raw ?? utf8(ev);
    return undefined;
  }

  getAll(name: string): string[] {
    const k = HeaderMap.key(name);
    return this.list.filter(([ek]) => ek === k).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** addCopy: appends another entry, even if the key exists. */
  add(name: string, value: HeaderValue): void {
    if (typeof value === "string") this.list.push([HeaderMap.key(name), value, undefined]);
    else this.list.push([HeaderMap.key(name), lossy.decode(value), value.slice()]);
  }

  /** setCopy: every existing value is removed, then one entry is appended. */
  set(name: string, value: HeaderValue): void {
    this.remove(name);
    this.add(name, value);
  }

  /** Removes all values of the key; a no-op if absent. */
  remove(name: string): void {
    const k = HeaderMap.key(name);
    this.list = this.list.filter(([ek]) => ek !== k);
  }

  /** Replaces the whole map (set_header_map_pairs). */
  replaceAll(pairs: ReadonlyArray<readonly [string, HeaderValue]>): void {
    this.list = [];
    for (const [k, v] of pairs) this.add(k, v);
  }

  pairs(): Pair[] {
    return this.list.map(([k, v]) => [k, v]);
  }

  /** The proxy-wasm pairs serialization, values as their exact bytes. */
  encode(): Uint8Array {
    return encodeBytePairs(this.list.map(([k, v, raw]) => [utf8(k), raw ?? utf8(v)]));
  }

  /** Envoy HeaderMapImpl::byteSize(): the sum of key and value lengths in bytes,
   *  which is what proxy_get_header_map_size reports (not an entry count, and not
   *  the pairs-serialized size either). */
  byteSize(): number {
    let n = 0;
    for (const [k, v, raw] of this.list) n += Buffer.byteLength(k) + (raw ? raw.length : Buffer.byteLength(v));
    return n;
  }

  /** Repeated headers joined with "," as Envoy's CEL `request.headers` map shows them. */
  joined(): Pair[] {
    const order: string[] = [];
    const vals = new Map<string, string[]>();
    for (const [k, v] of this.list) {
      let a = vals.get(k);
      if (!a) {
        vals.set(k, (a = []));
        order.push(k);
      }
      a.push(v);
    }
    return order.map((k) => [k, vals.get(k)!.join(",")]);
  }

  clone(): HeaderMap {
    const m = new HeaderMap();
    m.list = this.list.map(([k, v, raw]) => [k, v, raw]);
    return m;
  }

  toObject(): Record<string, string | string[]> {
    const o: Record<string, string | string[]> = {};
    for (const [k, v] of this.list) {
      const cur = o[k];
      if (cur === undefined) o[k] = v;
      else if (Array.isArray(cur)) cur.push(v);
      else o[k] = [cur, v];
    }
    return o;
  }
}
