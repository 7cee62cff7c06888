// Route matching with APISIX's default router, radixtree_host_uri
// (apisix/http/router/radixtree_host_uri.lua over lua-resty-radixtree):
//
// 1. Routes with hosts are tried first, by the request's $host: exact host
//    names, then `*.` wildcards from the longest suffix to the shortest. For
//    each host candidate its routes are matched by uri; the first route whose
//    conditions hold wins.
// 2. If no host route matched, the routes without hosts are matched by uri.
//
// Within one uri index (lua-resty-radixtree match_route): exact uris first,
// then `*` prefixes from the longest to the shortest; routes on the same uri
// are ordered by priority (higher first), then by document order. Priority
// orders routes on the same path only: a longer prefix wins over a shorter
// one whatever their priorities, as in APISIX.
//
// Everything is indexed at configure time; a request costs one hash lookup
// for the exact uri plus one walk of the path through a character trie.

import { Route } from "./config/model";

// Conditions beyond host and uri (methods, vars, remote_addrs) are checked by
// the caller, which knows the request.
export abstract class RouteFilter {
  abstract accept(route: Route): bool;
}

class TrieNode {
  chars: Array<u16> = new Array<u16>();
  kids: Array<TrieNode> = new Array<TrieNode>();
  routes: Array<Route> | null = null;

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

function byPriority(a: Route, b: Route): i32 {
  if (a.priority != b.priority) return a.priority > b.priority ? -1 : 1;
  return a.order - b.order;
}

export class UriIndex {
  exact: Map<string, Array<Route>> = new Map<string, Array<Route>>();
  prefixes: TrieNode = new TrieNode();
  private stack: Array<TrieNode> = new Array<TrieNode>();

  add(uri: string, route: Route): void {
    if (uri.endsWith("*")) {
      const prefix = uri.substring(0, uri.length - 1);
      let node = this.prefixes;
      for (let i = 0; i < prefix.length; i++) node = node.childOrAdd(<u16>prefix.charCodeAt(i));
      let list = node.routes;
      if (list === null) { list = new Array<Route>(); node.routes = list; }
      if (!list.includes(route)) list.push(route);
    } else {
      let list: Array<Route>;
      if (this.exact.has(uri)) list = this.exact.get(uri);
      else { list = new Array<Route>(); this.exact.set(uri, list); }
      if (!list.includes(route)) list.push(route);
    }
  }

  seal(): void {
    const lists = this.exact.values();
    for (let i = 0; i < lists.length; i++) lists[i].sort(byPriority);
    sealTrie(this.prefixes);
  }

  match(path: string, filter: RouteFilter): Route | null {
    if (this.exact.has(path)) {
      const list = this.exact.get(path);
      for (let i = 0, n = list.length; i < n; i++) {
        const r = unchecked(list[i]);
        if (filter.accept(r)) return r;
      }
    }
    // Collect the trie nodes along the path that carry prefix routes, then
    // try them deepest (longest prefix) first.
    const stack = this.stack;
    stack.length = 0;
    let node: TrieNode | null = this.prefixes;
    if (node.routes !== null) stack.push(node);
    for (let i = 0, n = path.length; i < n && node !== null; i++) {
      node = node.child(<u16>path.charCodeAt(i));
      if (node !== null && node.routes !== null) stack.push(node);
    }
    for (let k = stack.length - 1; k >= 0; k--) {
      const list = unchecked(stack[k]).routes!;
      for (let i = 0, n = list.length; i < n; i++) {
        const r = unchecked(list[i]);
        if (filter.accept(r)) { stack.length = 0; return r; }
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
    const list = node.routes;
    if (list !== null) list.sort(byPriority);
    for (let i = 0; i < node.kids.length; i++) todo.push(node.kids[i]);
  }
}

export class Router {
  private byHost: Map<string, UriIndex> = new Map<string, UriIndex>();
  // Wildcard hosts keyed by their suffix including the dot (".foo.com"); the
  // lone "*" host is keyed by "".
  private byWildcard: Map<string, UriIndex> = new Map<string, UriIndex>();
  private hostless: UriIndex = new UriIndex();
  private hasWildcards: bool = false;
  count: i32 = 0;

  add(route: Route, hosts: Array<string>): void {
    this.count++;
    if (hosts.length == 0) {
      for (let i = 0; i < route.uris.length; i++) this.hostless.add(route.uris[i], route);
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
        const r = this.byHost.get(host).match(path, filter);
        if (r !== null) return r;
      }
      if (this.hasWildcards) {
        // "a.b.foo.com" tries ".b.foo.com", ".foo.com", ".com", then "*".
        let dot = host.indexOf(".");
        while (dot >= 0) {
          const suffix = host.substring(dot);
          if (this.byWildcard.has(suffix)) {
            const r = this.byWildcard.get(suffix).match(path, filter);
            if (r !== null) return r;
          }
          dot = host.indexOf(".", dot + 1);
        }
      }
    }
    if (this.hasWildcards && this.byWildcard.has("")) {
      const r = this.byWildcard.get("").match(path, filter);
      if (r !== null) return r;
    }
    return this.hostless.match(path, filter);
  }
}
