// chash: consistent hashing as apisix/balancer/chash.lua does it over
// lua-resty-chash's ring (nginx's `hash ... consistent` point scheme).
//
// Ring: weights divided by their gcd; node id "host:port" with every ':'
// turned into a NUL byte; each node gets weight*160 points, point i being
// CRC32(id ‖ little-endian u32 of point i-1) (point -1 = 0); points sorted
// by hash. Lookup: CRC32(key), first point with hash >= it, wrapping to 0.
// Retries walk the ring from the last position to the next untried node.
// The ring holds every node, healthy or not (pick_server skips unhealthy
// ones), so a node going down never moves the keys of the others.

import { Node, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { crc32, crc32Begin, crc32Update } from "./crc32";
import { LOG_WARN, balancerLog } from "./hooks";
import { sortByKey } from "./keysort";
import { i64Text } from "../f64text";

export const CONSISTENT_POINTS: i64 = 160;
// Ring size ceiling (points). APISIX has none: weights whose gcd-reduced sum
// is huge would allocate Σ·160 points. Beyond this the weights are scaled
// down proportionally (warned), which keeps the ring but not every key's
// exact position.
export const MAX_POINTS: i64 = 1 << 20;

function gcd(a: i64, b: i64): i64 {
  while (b != 0) { const t = a % b; a = b; b = t; }
  return a;
}

// Node id bytes: "host:port" with ':' -> NUL (APISIX does the gsub before
// handing the map to resty.chash, so the id itself is hashed with NULs).
function nodeId(n: Node): ArrayBuffer {
  const b = String.UTF8.encode(n.address);
  const p = changetype<usize>(b);
  for (let i = 0; i < b.byteLength; i++) if (load<u8>(p + i) == 0x3a) store<u8>(p + i, 0);
  return b;
}

// chash_point_init: the `num` points of one node, in chain order.
export function nodePoints(n: Node, num: i32): Uint32Array {
  const out = new Uint32Array(num);
  const id = nodeId(n);
  const base = crc32Begin(changetype<usize>(id), <usize>id.byteLength);
  const prev = memory.data(4);
  store<u32>(prev, 0);
  for (let i = 0; i < num; i++) {
    // wasm memory is little-endian, the byte order chash.c hashes.
    const h = crc32Update(base, prev, 4) ^ 0xffffffff;
    unchecked(out[i] = h);
    store<u32>(prev, h);
  }
  return out;
}

export class Ring {
  hashes: Uint32Array = new Uint32Array(0);
  // Index into `nodes` of each point.
  owners: Int32Array = new Int32Array(0);
  nodes: Array<Node>;
  // Number of points (APISIX's safe_limit for the retry walk).
  size: i32 = 0;

  constructor(nodes: Array<Node>) {
    this.nodes = nodes;
    let g: i64 = 0;
    for (let i = 0; i < nodes.length; i++) {
      const w = nodes[i].weight;
      g = g == 0 ? w : gcd(g, w);
    }
    if (g == 0) g = 1;
    let total: i64 = 0;
    for (let i = 0; i < nodes.length; i++) total += nodes[i].weight / g;
    let scale: f64 = 1;
    if (total * CONSISTENT_POINTS > MAX_POINTS) {
      scale = <f64>MAX_POINTS / <f64>(total * CONSISTENT_POINTS);
      balancerLog(LOG_WARN, "chash: weights too large for the ring (" + i64Text(total * CONSISTENT_POINTS) +
        " points), scaled down to at most " + i64Text(MAX_POINTS) + " points");
    }
    const counts = new Array<i32>(nodes.length);
    let n = 0;
    for (let i = 0; i < nodes.length; i++) {
      let w = nodes[i].weight / g;
      if (scale < 1 && w > 0) { w = <i64>Math.floor(<f64>w * scale); if (w < 1) w = 1; }
      counts[i] = <i32>(w * CONSISTENT_POINTS);
      n += counts[i];
    }
    // Sorted by hash; the sort is stable, so equal hashes keep generation
    // order (node order, then point order).
    const hashes = new Uint32Array(n);
    const owners = new Int32Array(n);
    let p = 0;
    for (let i = 0; i < nodes.length; i++) {
      const pts = nodePoints(nodes[i], counts[i]);
      for (let k = 0; k < pts.length; k++) {
        unchecked(hashes[p] = unchecked(pts[k]));
        unchecked(owners[p] = i);
        p++;
      }
    }
    sortByKey(hashes, owners);
    this.hashes = hashes;
    this.owners = owners;
    this.size = n;
  }

  // First point with hash >= h (wrapping to 0); -1 for an empty ring.
  find(h: u32): i32 {
    const n = this.size;
    if (n == 0) return -1;
    let lo = 0, hi = n;
    const hs = this.hashes;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (unchecked(hs[mid]) < h) lo = mid + 1; else hi = mid;
    }
    return lo == n ? 0 : lo;
  }

  nodeAt(idx: i32): Node { return unchecked(this.nodes[unchecked(this.owners[idx])]); }
}

// nginx's $var for the chash key.
function varOf(ctx: BalanceCtx, name: string): string | null {
  const req = ctx.req;
  return req !== null ? req.get(name) : null;
}

function isWordChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}

function isSpace(c: i32): bool { return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d || c == 0x0b || c == 0x0c; }

// One ${...} / $name reference: the value, or null when it does not resolve
// (no value and no `?? default`).
function resolveOne(ctx: BalanceCtx, variable: string): string | null {
  // Split on the first `\s*??\s*`; a default is the text up to the next one.
  const q = variable.indexOf("??");
  if (q < 0) return varOf(ctx, variable);
  let e = q;
  while (e > 0 && isSpace(variable.charCodeAt(e - 1))) e--;
  const name = variable.substring(0, e);
  let s = q + 2;
  while (s < variable.length && isSpace(variable.charCodeAt(s))) s++;
  let rest = variable.substring(s);
  const q2 = rest.indexOf("??");
  if (q2 >= 0) {
    let e2 = q2;
    while (e2 > 0 && isSpace(rest.charCodeAt(e2 - 1))) e2--;
    rest = rest.substring(0, e2);
  }
  const v = varOf(ctx, name);
  return v !== null ? v : rest;
}

// core.utils.resolve_var for hash_on=vars_combinations: `$name` ([\w.]+) and
// `${ name }` / `${ name ?? default }` (a `\$` is left alone); unresolved
// references become "". Returns null when nothing resolved (APISIX then
// falls back to remote_addr), including templates without any `$`.
export function resolveTemplate(ctx: BalanceCtx, tpl: string): string | null {
  if (tpl.indexOf("$") < 0) return null;
  let out = "";
  let resolved = 0;
  let i = 0;
  const n = tpl.length;
  let lit = 0;
  while (i < n) {
    const c = tpl.charCodeAt(i);
    if (c != 0x24 || (i > 0 && tpl.charCodeAt(i - 1) == 0x5c)) { i++; continue; }
    // `$` at i
    let variable: string | null = null;
    let end = i + 1;
    if (i + 1 < n && tpl.charCodeAt(i + 1) == 0x7b) {
      const close = tpl.indexOf("}", i + 2);
      if (close > i + 2) {
        let a = i + 2, b = close;
        while (a < b && isSpace(tpl.charCodeAt(a))) a++;
        while (b > a && isSpace(tpl.charCodeAt(b - 1))) b--;
        // `${ }`: the lazy group takes the blanks themselves.
        variable = a < b ? tpl.substring(a, b) : tpl.substring(i + 2, close);
        end = close + 1;
      }
    }
    if (variable === null) {
      let k = i + 1;
      while (k < n && (isWordChar(tpl.charCodeAt(k)) || tpl.charCodeAt(k) == 0x2e)) k++;
      if (k > i + 1) { variable = tpl.substring(i + 1, k); end = k; }
    }
    if (variable === null) { i++; continue; }
    out += tpl.substring(lit, i);
    const v = resolveOne(ctx, variable);
    if (v !== null) { out += v; resolved++; }
    i = end;
    lit = end;
  }
  out += tpl.substring(lit);
  return resolved > 0 ? out : null;
}

// fetch_chash_hash_key.
export function chashKey(ctx: BalanceCtx, up: Upstream): string {
  const key = up.key;
  const hashOn = up.hashOn;
  let k: string | null = null;
  if (hashOn == "consumer") k = ctx.consumer.length ? ctx.consumer : null;
  else if (hashOn == "vars") k = varOf(ctx, key);
  else if (hashOn == "header") k = varOf(ctx, "http_" + key);
  else if (hashOn == "cookie") k = varOf(ctx, "cookie_" + key);
  else if (hashOn == "vars_combinations") k = resolveTemplate(ctx, key);
  if (k !== null) return k;
  const ra = varOf(ctx, "remote_addr");
  const fallback = ra !== null ? ra : "";
  balancerLog(LOG_WARN, "chash_key fetch is nil, use default chash_key remote_addr: " + fallback);
  return fallback;
}

export class ChashPicker extends Picker {
  ring: Ring;
  // Nodes in this level (APISIX's nodes_count, weight-0 nodes included).
  count: i32;

  constructor(nodes: Array<Node>, public upstream: Upstream) {
    super();
    this.ring = new Ring(nodes);
    this.count = nodes.length;
  }

  get(ctx: BalanceCtx): Node | null {
    const ring = this.ring;
    if (ctx.tried.length > 0) {
      if (ctx.triedCount == this.count) { ctx.error = "all upstream servers tried"; return null; }
      if (ring.size == 0) return null;
      let idx = ctx.chashIdx;
      if (idx < 0 || idx >= ring.size) idx = 0;
      let node: Node | null = null;
      // safe_limit: one lap of the ring.
      for (let i = 0; i < ring.size; i++) {
        idx = idx + 1 >= ring.size ? 0 : idx + 1;
        node = ring.nodeAt(idx);
        if (!ctx.isTried(node)) break;
      }
      ctx.chashIdx = idx;
      return node;
    }
    const key = chashKey(ctx, this.upstream);
    const idx = ring.find(crc32(key));
    if (idx < 0) return null;
    ctx.chashIdx = idx;
    return ring.nodeAt(idx);
  }
}

export class ChashFactory extends PickerFactory {
  create(nodes: Array<Node>, upstream: Upstream, priority: i32): Picker { return new ChashPicker(nodes, upstream); }
}
