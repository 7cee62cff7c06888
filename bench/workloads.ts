// Configurations and request mixes for bench/run.ts.
import type { RequestDescription } from "../host/index.ts";
import { rng } from "./lib.ts";

export interface Expected {
  req: RequestDescription;
  /** Route id the request must hit, or "404". */
  want: string;
}

// Numbers in ids, uris and hosts, zero-padded to `width` digits: route-count
// scaling compares tables of 10 and 10,000 routes with requests of the same
// lengths, so that it measures the number of routes and not the digits in
// "/api/v1234" (every byte of a path or host is decoded, hashed, compared
// and copied a few times per request).
const pad = (i: number, width: number) => String(i).padStart(width, "0");

export function upstreams(count: number, nodesEach = 3, width = 0): object[] {
  return Array.from({ length: count }, (_, u) => ({
    id: `u${pad(u, width)}`,
    type: "roundrobin",
    nodes: Object.fromEntries(Array.from({ length: nodesEach }, (_, k) => [`10.${(u >> 8) & 255}.${u & 255}.${k + 1}:8080`, 1 + (k % 3)])),
  }));
}

/**
 * n routes, a mix of what APISIX route tables hold: 40% exact uris, 30%
 * prefixes (/svc-N/*), 20% host-bound (hN.example.com, catch-all or prefix),
 * 10% method-restricted exact uris. Route i uses upstream u(i % ups).
 */
export function routeTable(n: number, ups: number, width = 0, nodesEach = 3): { config: object; kind: (i: number) => number } {
  const kind = (i: number) => i % 10;
  const routes = Array.from({ length: n }, (_, i) => {
    const k = kind(i);
    const x = pad(i, width);
    const base = { id: `r${x}`, upstream_id: `u${pad(i % ups, width)}` };
    if (k < 4) return { ...base, uri: `/api/v${x}/items` };
    if (k < 7) return { ...base, uri: `/svc-${x}/*` };
    if (k === 7) return { ...base, uri: "/*", hosts: [`h${x}.example.com`] };
    if (k === 8) return { ...base, uri: "/app/*", host: `h${x}.example.com` };
    return { ...base, uri: `/m-${x}`, methods: ["POST", "PUT"] };
  });
  return { config: { routes, upstreams: upstreams(ups, nodesEach, width) }, kind };
}

/** Requests spread uniformly over the table, `miss` of them 404s. */
export function routeRequests(n: number, count: number, miss: number, seed: number, width = 0): Expected[] {
  const r = rng(seed);
  const out: Expected[] = [];
  for (let j = 0; j < count; j++) {
    const source = `192.0.2.${1 + (j % 200)}:${20000 + j}`;
    if (r() < miss) {
      const m = j % 3;
      if (m === 0) out.push({ req: { method: "GET", path: `/nothing/${j}`, authority: "example.com", source }, want: "404" });
      else if (m === 1) out.push({ req: { method: "GET", path: `/api/v${n + j}/items`, authority: "example.com", source }, want: "404" });
      else {
        // A method-restricted route asked with GET (when the table has one).
        const i = Math.floor(r() * Math.max(1, Math.floor(n / 10))) * 10 + 9;
        out.push({ req: { method: "GET", path: i < n ? `/m-${i}` : "/m-none", authority: "example.com", source }, want: "404" });
      }
      continue;
    }
    const i = Math.floor(r() * n);
    const k = i % 10;
    const x = pad(i, width);
    let req: RequestDescription;
    if (k < 4) req = { method: "GET", path: `/api/v${x}/items?page=${j % 7}`, authority: "example.com" };
    else if (k < 7) req = { method: "GET", path: `/svc-${x}/orders/${j}`, authority: "example.com" };
    else if (k === 7) req = { method: "GET", path: `/anything/${j}`, authority: `h${x}.example.com` };
    else if (k === 8) req = { method: "GET", path: `/app/x${j}`, authority: `H${x}.example.com:8443` };
    else req = { method: j % 2 ? "POST" : "PUT", path: `/m-${x}`, authority: "example.com" };
    req.source = source;
    req.headers = { "user-agent": "bench/1.0", accept: "*/*" };
    out.push({ req, want: `r${pad(i, width)}` });
  }
  return out;
}

/** One route to one upstream of `nodes` nodes with balancer `type`. */
export function balancerConfig(type: string, nodes: number): object {
  const up: Record<string, unknown> = {
    id: "b",
    type,
    nodes: Object.fromEntries(Array.from({ length: nodes }, (_, k) => [`10.1.${(k >> 8) & 255}.${k & 255}:80`, 1 + (k % 5)])),
  };
  if (type === "chash") {
    up.hash_on = "vars";
    up.key = "remote_addr";
  }
  return { routes: [{ id: "r", uri: "/*", upstream_id: "b" }], upstreams: [up] };
}

export function balancerRequests(count: number): RequestDescription[] {
  return Array.from({ length: count }, (_, j) => ({
    method: "GET",
    path: "/api/items",
    authority: "example.com",
    source: `172.${16 + ((j >> 16) & 15)}.${(j >> 8) & 255}.${j & 255}:${30000 + (j % 1000)}`,
  }));
}

/** A small, typical config for the filter-vs-noop comparison. */
export function typicalConfig(): { config: object; reqs: RequestDescription[] } {
  const config = {
    routes: [
      { id: "users", uri: "/api/users/*", methods: ["GET", "POST"], upstream_id: "users" },
      { id: "orders", uri: "/api/orders", upstream_id: "orders" },
      { id: "static", uri: "/static/*", hosts: ["cdn.example.com"], upstream: { nodes: { "10.0.9.1:80": 1, "10.0.9.2:80": 1 }, pass_host: "node" } },
      { id: "v2", uri: "/v2/*", vars: [["http_x_canary", "==", "1"]], upstream_id: "users", priority: 1 },
      { id: "catch", uri: "/*", upstream_id: "orders" },
    ],
    upstreams: [
      { id: "users", nodes: { "10.0.1.1:8080": 3, "10.0.1.2:8080": 2, "10.0.1.3:8080": 1 }, timeout: { connect: 1, send: 5, read: 5 } },
      { id: "orders", nodes: { "10.0.2.1:8080": 1, "10.0.2.2:8080": 1 } },
    ],
  };
  const base = { authority: "example.com", headers: { "user-agent": "bench/1.0", accept: "application/json", "x-request-id": "ignored" } };
  const reqs: RequestDescription[] = [
    { ...base, method: "GET", path: "/api/users/42", source: "192.0.2.10:40000" },
    { ...base, method: "POST", path: "/api/users/42/profile?x=1", source: "192.0.2.11:40001" },
    { ...base, method: "GET", path: "/api/orders", source: "192.0.2.12:40002" },
    { ...base, method: "GET", path: "/static/app.js", authority: "cdn.example.com", source: "192.0.2.13:40003" },
    { ...base, method: "GET", path: "/v2/x", headers: { ...base.headers, "x-canary": "1" }, source: "192.0.2.14:40004" },
    { ...base, method: "GET", path: "/index.html", source: "[2001:db8::1]:40005" },
  ];
  return { config, reqs };
}
