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
// Everything is indexed at configure time; a request costs one hash lookup
// for the exact uri plus one walk of the path through a character trie.

import { Route } from "./config/route";
import { UriPattern, parseUri } from "./uri_pattern";

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

// One route under one uri key.
class Entry {
  constructor(
    public route: Route,
    public pattern: UriPattern | null,
    // radixtree_uri modes: the route's hosts as one more condition (null =
    // any host); radixtree_host_uri files hosts in the Router instead.
    public hosts: Array<string> | null,
    public uriLength: i32,
    public seq: i32,
  ) {}

  // The cheap checks this index owns; the caller's filter does the rest.
  holds(path: string, host: string): bool {
    const hosts = this.hosts;
    if (hosts !== null && !hostMatches(hosts, host)) return false;
    const pattern = this.pattern;
    return pattern === null || pattern.matches(path);
  }
}

// lua-resty-radixtree match_host: an exact name, or "*.foo.com" as the
// suffix ".foo.com" ("*" alone: any host).
function hostMatches(hosts: Array<string>, host: string): bool {
  for (let i = 0, n = hosts.length; i < n; i++) {
    const h = unchecked(hosts[i]);
    if (h.length && h.charCodeAt(0) == 0x2a) {
      if (host.endsWith(h.substring(1))) return true;
    } else if (h == host) return true;
  }
  return false;
}

class TrieNode {
  chars: Array<u16> = new Array<u16>();
  kids: Array<TrieNode> = new Array<TrieNode>();
  entries: Array<Entry> | null = null;

  child(c: u16): TrieNode | null {
    const chars = this.chars;
    for (let i = 0, n = chars.length; i < n; i++) if (unchecked(chars[i]) == c) return unchecked(this.kids[i]);
    return null;
  }

  childOrAdd(c: u16): TrieNode {
    const found = this.child(c);
    if (found !== null) return found;
    const node = new TrieNode();
    this.chars.push(c);
    this.kids.push(node);
    return node;
  }
}

// resty/radixtree.lua sort_route, with insertion order for ties.
function bySortRoute(a: Entry, b: Entry): i32 {
  if (a.route.priority != b.route.priority) return a.route.priority > b.route.priority ? -1 : 1;
  if (a.uriLength != b.uriLength) return b.uriLength - a.uriLength;
  return a.seq - b.seq;
}

export class UriIndex {
  exact: Map<string, Array<Entry>> = new Map<string, Array<Entry>>();
  prefixes: TrieNode = new TrieNode();
  private stack: Array<TrieNode> = new Array<TrieNode>();
  private seq: i32 = 0;

  constructor(private withParameters: bool = false) {}

  add(uri: string, route: Route, hosts: Array<string> | null = null): void {
    const parsed = parseUri(uri, this.withParameters);
    const entry = new Entry(route, parsed.pattern, hosts, uri.length, this.seq++);
    let list: Array<Entry>;
    if (parsed.prefix) {
      const prefix = parsed.key;
      let node = this.prefixes;
      for (let i = 0; i < prefix.length; i++) node = node.childOrAdd(<u16>prefix.charCodeAt(i));
      let found = node.entries;
      if (found === null) { found = new Array<Entry>(); node.entries = found; }
      list = found;
    } else if (this.exact.has(parsed.key)) {
      list = this.exact.get(parsed.key);
    } else {
      list = new Array<Entry>();
      this.exact.set(parsed.key, list);
    }
    // The same route twice under one plain key (a host listed twice, or
    // "/a*" beside "/a*b", which radixtree also reads as the prefix "/a")
    // is tried once, at the place of its longer uri.
    if (entry.pattern === null) for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (e.route !== route || e.pattern !== null || e.hosts !== hosts) continue;
      if (entry.uriLength > e.uriLength) e.uriLength = entry.uriLength;
      return;
    }
    list.push(entry);
  }

  seal(): void {
    const lists = this.exact.values();
    for (let i = 0; i < lists.length; i++) lists[i].sort(bySortRoute);
    sealTrie(this.prefixes);
  }

  match(path: string, host: string, filter: RouteFilter): Route | null {
    if (this.exact.has(path)) {
      const list = this.exact.get(path);
      for (let i = 0, n = list.length; i < n; i++) {
        const e = unchecked(list[i]);
        if (e.holds(path, host) && filter.accept(e.route)) return e.route;
      }
    }
    // Collect the trie nodes along the path that carry prefix routes, then
    // try them deepest (longest prefix) first.
    const stack = this.stack;
    stack.length = 0;
    let node: TrieNode | null = this.prefixes;
    if (node.entries !== null) stack.push(node);
    for (let i = 0, n = path.length; i < n && node !== null; i++) {
      node = node.child(<u16>path.charCodeAt(i));
      if (node !== null && node.entries !== null) stack.push(node);
    }
    for (let k = stack.length - 1; k >= 0; k--) {
      const list = unchecked(stack[k]).entries!;
      for (let i = 0, n = list.length; i < n; i++) {
        const e = unchecked(list[i]);
        if (e.holds(path, host) && filter.accept(e.route)) { stack.length = 0; return e.route; }
      }
    }
    stack.length = 0;
    return null;
  }
}

// Iterative: the trie is as deep as the longest prefix (APISIX allows 4,096
// characters), far beyond what the wasm stack takes in recursion.
function sealTrie(root: TrieNode): void {
  const todo = new Array<TrieNode>();
  todo.push(root);
  while (todo.length) {
    const node = todo.pop();
    const list = node.entries;
    if (list !== null) list.sort(bySortRoute);
    for (let i = 0; i < node.kids.length; i++) todo.push(node.kids[i]);
  }
}

export class Router {
  private byHost: Map<string, UriIndex> = new Map<string, UriIndex>();
  // Wildcard hosts keyed by their suffix including the dot (".foo.com"); the
  // lone "*" host is keyed by "".
  private byWildcard: Map<string, UriIndex> = new Map<string, UriIndex>();
  private hostless: UriIndex;
  private hasWildcards: bool = false;
  count: i32 = 0;

  constructor(public kind: u8 = ROUTER_HOST_URI) {
    this.hostless = new UriIndex(kind == ROUTER_URI_WITH_PARAMETER);
  }

  add(route: Route, hosts: Array<string>): void {
    this.count++;
    if (this.kind != ROUTER_HOST_URI || hosts.length == 0) {
      const condition = hosts.length ? hostConditions(hosts) : null;
      for (let i = 0; i < route.uris.length; i++) this.hostless.add(route.uris[i], route, condition);
      return;
    }
    for (let h = 0; h < hosts.length; h++) {
      const host = hosts[h];
      let idx: UriIndex;
      if (host.startsWith("*")) {
        const suffix = host.substring(1);
        this.hasWildcards = true;
        if (this.byWildcard.has(suffix)) idx = this.byWildcard.get(suffix);
        else { idx = new UriIndex(); this.byWildcard.set(suffix, idx); }
      } else {
        if (this.byHost.has(host)) idx = this.byHost.get(host);
        else { idx = new UriIndex(); this.byHost.set(host, idx); }
      }
      for (let i = 0; i < route.uris.length; i++) idx.add(route.uris[i], route);
    }
  }

  seal(): void {
    const a = this.byHost.values();
    for (let i = 0; i < a.length; i++) a[i].seal();
    const b = this.byWildcard.values();
    for (let i = 0; i < b.length; i++) b[i].seal();
    this.hostless.seal();
  }

  // `host` is $host: lower-case, without port.
  match(host: string, path: string, filter: RouteFilter): Route | null {
    if (host.length) {
      if (this.byHost.has(host)) {
        const r = this.byHost.get(host).match(path, host, filter);
        if (r !== null) return r;
      }
      if (this.hasWildcards) {
        // "a.b.foo.com" tries ".b.foo.com", ".foo.com", ".com", then "*".
        let dot = host.indexOf(".");
        while (dot >= 0) {
          const suffix = host.substring(dot);
          if (this.byWildcard.has(suffix)) {
            const r = this.byWildcard.get(suffix).match(path, host, filter);
            if (r !== null) return r;
          }
          dot = host.indexOf(".", dot + 1);
        }
      }
    }
    if (this.hasWildcards && this.byWildcard.has("")) {
      const r = this.byWildcard.get("").match(path, host, filter);
      if (r !== null) return r;
    }
    return this.hostless.match(path, host, filter);
  }
}

// radixtree lower-cases route hosts; the validator already allows only
// host names (schema host_def), so only the case needs folding.
function hostConditions(hosts: Array<string>): Array<string> {
  const out = new Array<string>(hosts.length);
  for (let i = 0; i < hosts.length; i++) out[i] = hosts[i].toLowerCase();
  return out;
}
