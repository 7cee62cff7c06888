// An Envoy-like HTTP header map: an ordered multimap with lower-cased keys.
import type { Pair } from "./pairs.ts";

/** What callers may pass for headers: a record (array values = repeated header) or ordered pairs. */
export type HeadersInit = Record<string, string | number | ReadonlyArray<string>> | ReadonlyArray<readonly [string, string]>;

export function headersToPairs(init: HeadersInit | undefined): Pair[] {
  if (!init) return [];
  if (Array.isArray(init)) return (init as ReadonlyArray<readonly [string, string]>).map(([k, v]) => [k, String(v)]);
  const out: Pair[] = [];
  for (const [k, v] of Object.entries(init as Record<string, string | number | ReadonlyArray<string>>)) {
    if (Array.isArray(v)) for (const x of v) out.push([k, String(x)]);
    else out.push([k, String(v)]);
  }
  return out;
}

export class HeaderMap {
  private list: Pair[] = [];

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

  getAll(name: string): string[] {
    const k = HeaderMap.key(name);
    return this.list.filter(([ek]) => ek === k).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** addCopy: appends another entry, even if the key exists. */
  add(name: string, value: string): void {
    this.list.push([HeaderMap.key(name), value]);
  }

  /** setCopy: every existing value is removed, then one entry is appended. */
  set(name: string, value: string): void {
    this.remove(name);
    this.add(name, value);
  }

  /** Removes all values of the key; a no-op if absent. */
  remove(name: string): void {
    const k = HeaderMap.key(name);
    this.list = this.list.filter(([ek]) => ek !== k);
  }

  /** Replaces the whole map (set_header_map_pairs). */
  replaceAll(pairs: ReadonlyArray<Pair>): void {
    this.list = pairs.map(([k, v]) => [HeaderMap.key(k), v]);
  }

  pairs(): Pair[] {
    return this.list.map(([k, v]) => [k, v]);
  }

  /** Envoy HeaderMapImpl::byteSize(): the sum of key and value lengths in bytes,
   *  which is what proxy_get_header_map_size reports (not an entry count, and not
   *  the pairs-serialized size either). */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.list) n += Buffer.byteLength(k) + Buffer.byteLength(v);
    return n;
  }

  /** Repeated headers joined with "," as Envoy's CEL `request.headers` map shows them. */
  joined(): Pair[] {
    const order: string[] = [];
    const vals = new Map<string, string[]>();
    for (const [k, v] of this.list) {
      let a = vals.get(k);
      if (!a) vals.set(k, (a = [])), order.push(k);
      a.push(v);
    }
    return order.map((k) => [k, vals.get(k)!.join(",")]);
  }

  clone(): HeaderMap {
    const m = new HeaderMap();
    m.list = this.pairs();
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
