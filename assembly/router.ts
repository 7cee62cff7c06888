// Route matching with APISIX's routers over lua-resty-radixtree, chosen by
// `router_http` (APISIX's `apisix.router.http` in config.yaml):
//
// radixtree_host_uri (the default; apisix/http/router/radixtree_host_uri.lua):
// 1. Routes with hosts are tried first, by the request's $host: exact host
//    names, then `*.` wildcards from the longest suffix to the shortest. For
//    each host candidate its routes are matched by uri; the first route whose
//    conditions hold wins.
// 2. If no host route matched, the routes without hosts are matched by uri.
//
// radixtree_uri and radixtree_uri_with_parameter (apisix/http/route.lua,
// create_radixtree_uri_router): one uri index for all routes; hosts are one
// more condition of each route (exact, or a `*` wildcard as a suffix), so a
// host-less route can win over a host route on the same uri by priority.
// Only radixtree_uri_with_parameter reads `:name` segments as parameters
// (uri_pattern.ts says how a uri is filed).
//
// Within one uri index (lua-resty-radixtree match_route): exact uris first,
// then prefixes from the longest to the shortest; routes filed under the same
// uri key are ordered by priority (higher first), then by the longer uri
// (radixtree's sort_route: "/user/:id/x" before "/user/*"), then by document
// order. Priority orders routes under the same key only: a longer prefix
// wins over a shorter one whatever their priorities, as in APISIX.
//
// Everything is indexed at configure time; a request costs one walk of the
// path through a radix tree (exact uris and prefixes share it), plus a hash
// lookup of the host.
//
// The trees of all uri indexes (one per host, one per wildcard suffix, the
// host-less one) live in a handful of flat arrays owned by the Router:
// nodes, label characters and entries are array slots, not objects. A
// 10,000-route table is then a few dozen heap objects instead of about a
// hundred thousand, which is what allocation, every later collection (it
// marks the live config) and the sweep of the previous config pay for.

import { lowerAscii } from "./ascii";
import { Route } from "./config/route";
import { UriPattern, uriCut, uriPattern } from "./uri_pattern";

export const ROUTER_HOST_URI: u8 = 0;
export const ROUTER_URI: u8 = 1;
export const ROUTER_URI_WITH_PARAMETER: u8 = 2;
// The names as APISIX spells them in apisix.router.http, by the values above.
export const ROUTER_NAMES: Array<string> = ["radixtree_host_uri", "radixtree_uri", "radixtree_uri_with_parameter"];

// Conditions beyond host and uri (methods, vars, remote_addrs) are checked by
// the caller, which knows the request.
export abstract class RouteFilter {
  abstract accept(route: Route): bool;
}

// lua-resty-radixtree match_host: an exact name, or "*.foo.com" as the
// suffix ".foo.com" ("*" alone: any host). Compared in place: this runs per
// request and must not allocate.
function hostMatches(hosts: Array<string>, host: string): bool {
  for (let i = 0, n = hosts.length; i < n; i++) {
    const h = unchecked(hosts[i]);
    if (h.length && h.charCodeAt(0) == 0x2a) {
      const len = h.length - 1;
      const at = host.length - len;
      if (at >= 0 && memory.compare(changetype<usize>(host) + (<usize>at << 1), changetype<usize>(h) + 2, <usize>len << 1) == 0) return true;
    } else if (h == host) return true;
  }
  return false;
}

// Node layout in UriTrees.nodes, NODE i32s per node. A node's label is
// chars[at, at + len) of the shared character pool; the root of a tree has
// an empty label, every other node a non-empty one whose first character
// tells it from its siblings (kept in the node too, so that choosing a child
// reads one array).
const LABEL_AT = 0;
const LABEL_LEN = 1;
const FIRST_CHILD = 2;
const NEXT_SIBLING = 3;
const FIRST_CHAR = 4;
const NODE = 5;
// Entry layout in UriTrees.ints, ENTRY i32s per entry (the route, pattern
// and hosts of entry e are at index e of their arrays).
const E_SLOT = 0; // node * 2 (exact key) or node * 2 + 1 (prefix key)
const E_URI_LENGTH = 1;
const E_PREV = 2; // the previous entry filed in the same slot, or -1
const ENTRY = 3;
// Below this many entries in one slot insertion sort beats merging.
const INSERTION_SORT_MAX = 12;

// Radix trees over uri keys, one per uri index, each entered at its own root
// node; the order within an index is the one described at the top.
class UriTrees {
  private nodes: Array<i32> = new Array<i32>();
  private chars: Array<u16> = new Array<u16>();
  // Entries in the order they were added (that order is the final tie-break).
  private ints: Array<i32> = new Array<i32>();
  private routes: Array<Route> = new Array<Route>();
  private patterns: Array<UriPattern | null> = new Array<UriPattern | null>();
  // radixtree_uri modes: a route's hosts as one more condition (null = any
  // host); radixtree_host_uri files hosts in the Router instead.
  private hosts: Array<Array<string> | null> = new Array<Array<string> | null>();
  // The last entry filed in each slot (2 slots per node), while adding.
  private slotLast: Array<i32> = new Array<i32>();
  // After seal: the entries of slot s are order[start[s] .. start[s + 1]).
  private start: StaticArray<i32> = new StaticArray<i32>(1);
  private order: StaticArray<i32> = new StaticArray<i32>(0);
  private sealed: bool = false;
  // Reused per request: nodes along the path that carry prefix entries.
  private stack: Array<i32> = new Array<i32>();

  newRoot(): i32 { return this.newNode(0, 0); }

  private newNode(at: i32, len: i32): i32 {
    const nodes = this.nodes;
    const id = nodes.length / NODE;
    nodes.push(at); nodes.push(len); nodes.push(-1); nodes.push(-1);
    nodes.push(len > 0 ? <i32>unchecked(this.chars[at]) : -1);
    this.slotLast.push(-1); this.slotLast.push(-1);
    this.sealed = false;
    return id;
  }

  // The node for key uri[0, keyLen) under root, created (splitting a label
  // where the key ends or diverges) when missing. Iterative: keys can be as
  // long as APISIX allows uris (4,096 characters).
  private nodeFor(root: i32, uri: string, keyLen: i32): i32 {
    const nodes = this.nodes;
    const chars = this.chars;
    let node = root;
    let i = 0;
    while (i < keyLen) {
      const c = uri.charCodeAt(i);
      let prev = -1;
      let child = unchecked(nodes[node * NODE + FIRST_CHILD]);
      while (child >= 0 && unchecked(nodes[child * NODE + FIRST_CHAR]) != c) {
        prev = child;
        child = unchecked(nodes[child * NODE + NEXT_SIBLING]);
      }
      if (child < 0) {
        // A new leaf holding the rest of the key.
        const at = chars.length;
        for (let k = i; k < keyLen; k++) chars.push(<u16>uri.charCodeAt(k));
        const leaf = this.newNode(at, keyLen - i);
        nodes[leaf * NODE + NEXT_SIBLING] = nodes[node * NODE + FIRST_CHILD];
        nodes[node * NODE + FIRST_CHILD] = leaf;
        return leaf;
      }
      const at = unchecked(nodes[child * NODE + LABEL_AT]);
      const len = unchecked(nodes[child * NODE + LABEL_LEN]);
      let j = 1;
      while (j < len && i + j < keyLen && unchecked(chars[at + j]) == <u16>uri.charCodeAt(i + j)) j++;
      if (j < len) {
        // Split: a new node takes the common head and the child keeps the
        // tail, so the child's identity (its slots, its children) stays.
        const head = this.newNode(at, j);
        nodes[head * NODE + FIRST_CHILD] = child;
        nodes[head * NODE + NEXT_SIBLING] = nodes[child * NODE + NEXT_SIBLING];
        nodes[child * NODE + NEXT_SIBLING] = -1;
        nodes[child * NODE + LABEL_AT] = at + j;
        nodes[child * NODE + LABEL_LEN] = len - j;
        nodes[child * NODE + FIRST_CHAR] = chars[at + j];
        if (prev < 0) nodes[node * NODE + FIRST_CHILD] = head;
        else nodes[prev * NODE + NEXT_SIBLING] = head;
        child = head;
      }
      node = child;
      i += j;
    }
    return node;
  }

  add(root: i32, uri: string, withParameters: bool, route: Route, hosts: Array<string> | null): void {
    const cut = uriCut(uri, withParameters);
    const pattern = uriPattern(uri, cut);
    const node = this.nodeFor(root, uri, cut < 0 ? uri.length : cut);
    const slot = node * 2 + (cut < 0 ? 0 : 1);
    const ints = this.ints;
    // The same route twice under one plain key (a host listed twice, or
    // "/a*" beside "/a*b", which radixtree also reads as the prefix "/a")
    // is tried once, at the place of its longer uri. A route's entries are
    // added together, so they are the newest ones of the slot.
    if (pattern === null) {
      let e = unchecked(this.slotLast[slot]);
      while (e >= 0 && unchecked(this.routes[e]) === route) {
        if (unchecked(this.patterns[e]) === null && unchecked(this.hosts[e]) === hosts) {
          if (uri.length > ints[e * ENTRY + E_URI_LENGTH]) ints[e * ENTRY + E_URI_LENGTH] = uri.length;
          return;
        }
        e = ints[e * ENTRY + E_PREV];
      }
    }
    const e = this.routes.length;
    ints.push(slot); ints.push(uri.length); ints.push(unchecked(this.slotLast[slot]));
    this.routes.push(route);
    this.patterns.push(pattern);
    this.hosts.push(hosts);
    this.slotLast[slot] = e;
    this.sealed = false;
  }

  // Entries grouped by slot (a counting sort, which keeps the order they
  // were added in), then each group ordered as radixtree's sort_route.
  seal(): void {
    const slots = this.slotLast.length;
    const n = this.routes.length;
    const ints = this.ints;
    const start = new StaticArray<i32>(slots + 1);
    for (let e = 0; e < n; e++) start[unchecked(ints[e * ENTRY + E_SLOT]) + 1]++;
    for (let s = 0; s < slots; s++) start[s + 1] += start[s];
    const fill = new StaticArray<i32>(slots);
    const order = new StaticArray<i32>(n);
    for (let e = 0; e < n; e++) {
      const s = unchecked(ints[e * ENTRY + E_SLOT]);
      order[start[s] + fill[s]++] = e;
    }
    let scratch: StaticArray<i32> | null = null;
    for (let s = 0; s < slots; s++) {
      const lo = start[s];
      const hi = start[s + 1];
      if (hi - lo <= 1) continue;
      if (hi - lo <= INSERTION_SORT_MAX) this.insertionSort(order, lo, hi);
      else {
        if (scratch === null || scratch.length < n) scratch = new StaticArray<i32>(n);
        this.mergeSort(order, lo, hi, scratch);
      }
    }
    this.start = start;
    this.order = order;
    this.sealed = true;
  }

  // resty/radixtree.lua sort_route, with the order of adding for ties.
  private before(a: i32, b: i32): bool {
    const pa = unchecked(this.routes[a]).priority;
    const pb = unchecked(this.routes[b]).priority;
    if (pa != pb) return pa > pb;
    const la = unchecked(this.ints[a * ENTRY + E_URI_LENGTH]);
    const lb = unchecked(this.ints[b * ENTRY + E_URI_LENGTH]);
    if (la != lb) return la > lb;
    return a < b;
  }

  private insertionSort(order: StaticArray<i32>, lo: i32, hi: i32): void {
    for (let i = lo + 1; i < hi; i++) {
      const x = order[i];
      let j = i;
      while (j > lo && this.before(x, order[j - 1])) { order[j] = order[j - 1]; j--; }
      order[j] = x;
    }
  }

  // Bottom-up (no recursion): thousands of routes can share one uri.
  private mergeSort(order: StaticArray<i32>, lo: i32, hi: i32, scratch: StaticArray<i32>): void {
    for (let a = lo; a < hi; a += INSERTION_SORT_MAX) this.insertionSort(order, a, min(a + INSERTION_SORT_MAX, hi));
    for (let width = INSERTION_SORT_MAX; width < hi - lo; width *= 2) {
      for (let a = lo; a < hi - width; a += 2 * width) {
        const mid = a + width;
        const end = min(a + 2 * width, hi);
        let i = a;
        let j = mid;
        let k = a;
        while (i < mid && j < end) scratch[k++] = this.before(order[j], order[i]) ? order[j++] : order[i++];
        while (i < mid) scratch[k++] = order[i++];
        while (j < end) scratch[k++] = order[j++];
        for (let t = a; t < end; t++) order[t] = scratch[t];
      }
    }
  }

  // The first entry of `slot` whose conditions hold, or null.
  private trySlot(slot: i32, path: string, host: string, filter: RouteFilter): Route | null {
    const start = this.start;
    const order = this.order;
    for (let k = unchecked(start[slot]), end = unchecked(start[slot + 1]); k < end; k++) {
      const e = unchecked(order[k]);
      const hosts = unchecked(this.hosts[e]);
      if (hosts !== null && !hostMatches(hosts, host)) continue;
      const pattern = unchecked(this.patterns[e]);
      if (pattern !== null && !pattern.matches(path)) continue;
      const route = unchecked(this.routes[e]);
      if (filter.accept(route)) return route;
    }
    return null;
  }

  match(root: i32, path: string, host: string, filter: RouteFilter): Route | null {
    if (!this.sealed) this.seal();
    // Raw addresses: this is the per-request loop, and nothing below
    // changes the tree's arrays.
    const nodes = this.nodes.dataStart;
    const chars = this.chars.dataStart;
    const start = changetype<usize>(this.start);
    const stack = this.stack;
    stack.length = 0;
    // Walk the path as far as whole labels match, noting the nodes that
    // carry prefix entries (every prefix key ends at a node).
    let node = root;
    if (hasEntries(start, node * 2 + 1)) stack.push(node);
    const p = changetype<usize>(path);
    const n = path.length;
    let i = 0;
    while (i < n) {
      const c = <i32>load<u16>(p + (<usize>i << 1));
      let child = field(nodes, node, FIRST_CHILD);
      while (child >= 0 && field(nodes, child, FIRST_CHAR) != c) child = field(nodes, child, NEXT_SIBLING);
      if (child < 0) break;
      const len = field(nodes, child, LABEL_LEN);
      if (len > n - i) break;
      const at = chars + (<usize>field(nodes, child, LABEL_AT) << 1);
      const q = p + (<usize>i << 1);
      let j = 1;
      while (j < len && load<u16>(at + (<usize>j << 1)) == load<u16>(q + (<usize>j << 1))) j++;
      if (j < len) break;
      i += len;
      node = child;
      if (hasEntries(start, node * 2 + 1)) stack.push(node);
    }
    if (i == n) {
      const r = this.trySlot(node * 2, path, host, filter);
      if (r !== null) { stack.length = 0; return r; }
    }
    for (let k = stack.length - 1; k >= 0; k--) {
      const r = this.trySlot(unchecked(stack[k]) * 2 + 1, path, host, filter);
      if (r !== null) { stack.length = 0; return r; }
    }
    stack.length = 0;
    return null;
  }
}

@inline function field(nodes: usize, node: i32, f: i32): i32 {
  return load<i32>(nodes + (<usize>(node * NODE + f) << 2));
}

@inline function hasEntries(start: usize, slot: i32): bool {
  const a = start + (<usize>slot << 2);
  return load<i32>(a) < load<i32>(a, 4);
}

export class Router {
  private trees: UriTrees = new UriTrees();
  // Root nodes in `trees`, by exact host; wildcard hosts keyed by their
  // suffix including the dot (".foo.com"), the lone "*" host by "".
  private byHost: Map<string, i32> = new Map<string, i32>();
  private byWildcard: Map<string, i32> = new Map<string, i32>();
  private hostless: i32;
  private hasWildcards: bool = false;
  // Only radixtree_uri_with_parameter reads ':name' segments, and in that
  // mode every route is in the host-less tree.
  private withParameters: bool;
  count: i32 = 0;

  constructor(public kind: u8 = ROUTER_HOST_URI) {
    this.hostless = this.trees.newRoot();
    this.withParameters = kind == ROUTER_URI_WITH_PARAMETER;
  }

  add(route: Route, hosts: Array<string>): void {
    this.count++;
    if (this.kind != ROUTER_HOST_URI || hosts.length == 0) {
      const condition = hosts.length ? hostConditions(hosts) : null;
      for (let i = 0, n = route.uriCount; i < n; i++) this.trees.add(this.hostless, route.uriAt(i), this.withParameters, route, condition);
      return;
    }
    for (let h = 0; h < hosts.length; h++) {
      const host = hosts[h];
      let root: i32;
      if (host.startsWith("*")) {
        const suffix = host.substring(1);
        this.hasWildcards = true;
        if (this.byWildcard.has(suffix)) root = this.byWildcard.get(suffix);
        else { root = this.trees.newRoot(); this.byWildcard.set(suffix, root); }
      } else {
        if (this.byHost.has(host)) root = this.byHost.get(host);
        else { root = this.trees.newRoot(); this.byHost.set(host, root); }
      }
      for (let i = 0, n = route.uriCount; i < n; i++) this.trees.add(root, route.uriAt(i), false, route, null);
    }
  }

  seal(): void {
    this.trees.seal();
  }

  // `host` is $host: lower-case, without port.
  match(host: string, path: string, filter: RouteFilter): Route | null {
    if (host.length) {
      if (this.byHost.has(host)) {
        const r = this.trees.match(this.byHost.get(host), path, host, filter);
        if (r !== null) return r;
      }
      if (this.hasWildcards) {
        // "a.b.foo.com" tries ".b.foo.com", ".foo.com", ".com", then "*".
        let dot = host.indexOf(".");
        while (dot >= 0) {
          const suffix = host.substring(dot);
          if (this.byWildcard.has(suffix)) {
            const r = this.trees.match(this.byWildcard.get(suffix), path, host, filter);
            if (r !== null) return r;
          }
          dot = host.indexOf(".", dot + 1);
        }
      }
    }
    if (this.hasWildcards && this.byWildcard.has("")) {
      const r = this.trees.match(this.byWildcard.get(""), path, host, filter);
      if (r !== null) return r;
    }
    return this.trees.match(this.hostless, path, host, filter);
  }
}

// radixtree lower-cases route hosts; the validator already allows only
// host names (schema host_def), so only the case needs folding.
function hostConditions(hosts: Array<string>): Array<string> {
  const out = new Array<string>(hosts.length);
  for (let i = 0; i < hosts.length; i++) out[i] = lowerAscii(hosts[i]);
  return out;
}
