// Streams are dispatched by the filter's own table and their objects are
// recycled (assembly/streams.ts), the request header block reusing its
// buffer: streams that interleave, and a recycled stream after one with
// other or much larger headers, must see only their own request.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HttpStream } from "../../host/index.ts";
import { assertHealthy, filterHost, get, outcome } from "./helpers.ts";

// The upstream answers and the stream ends (log, done, delete).
function finish(s: HttpStream) {
  s.responseHeaders(200, undefined, true);
  s.complete();
  return s.result();
}

const config = {
  upstreams: [
    { id: "a", type: "roundrobin", nodes: { "10.0.0.1:80": 1 } },
    { id: "b", type: "roundrobin", nodes: { "10.0.0.2:80": 1 } },
    { id: "beta", type: "roundrobin", nodes: { "10.0.0.3:80": 1 } },
    { id: "lc", type: "least_conn", nodes: { "10.0.1.1:80": 1, "10.0.1.2:80": 1 } },
  ],
  routes: [
    { id: "beta", uri: "/a", priority: 10, vars: [["http_x_env", "==", "beta"]], upstream_id: "beta" },
    { id: "a", uri: "/a", upstream_id: "a" },
    { id: "b", uri: "/b/*", upstream_id: "b" },
    { id: "lc", uri: "/lc", upstream_id: "lc" },
  ],
};

test("interleaved streams each keep their own request, route and pick", async () => {
  const host = await filterHost(config);
  const big = "x".repeat(20_000);
  const s1 = host.stream({ method: "GET", path: "/a", authority: "example.com", headers: { "x-env": "beta" } });
  const s2 = host.stream({ method: "GET", path: "/b/big", authority: "example.com", headers: { "x-big": big } });
  const s3 = host.stream({ method: "GET", path: "/a", authority: "example.com" });
  s1.requestHeaders(true);
  s2.requestHeaders(true);
  s3.requestHeaders(true);
  // The log phase comes in another order than the headers did.
  const r2 = finish(s2);
  const r3 = finish(s3);
  const r1 = finish(s1);
  assert.equal(outcome(r1), `${r1.header("x-apisix-upstream")} 10.0.0.3:80`);
  assert.equal(outcome(r2), `${r2.header("x-apisix-upstream")} 10.0.0.2:80`);
  assert.equal(outcome(r3), `${r3.header("x-apisix-upstream")} 10.0.0.1:80`);
  assertHealthy(host);
});

test("a recycled stream sees none of the previous request's headers, whatever their sizes", async () => {
  const host = await filterHost(config);
  const sizes = [0, 10, 5_000, 0, 70_000, 3, 0, 2_000, 0];
  for (let i = 0; i < 60; i++) {
    const n = sizes[i % sizes.length];
    const beta = i % 3 === 0;
    const headers: Record<string, string> = {};
    if (n) headers["x-pad"] = "p".repeat(n);
    if (beta) headers["x-env"] = "beta";
    const r = get(host, i % 2 ? "/a" : "/a?x=1", { headers });
    assert.equal(r.endpoint, beta ? "10.0.0.3:80" : "10.0.0.1:80", `request ${i} (pad ${n}, beta ${beta})`);
  }
  assertHealthy(host);
});

test("least_conn releases on the stream that counted the pick, with streams interleaved", async () => {
  const host = await filterHost(config);
  // Two in flight: one on each node.
  const a = host.stream({ method: "GET", path: "/lc", authority: "example.com" });
  const b = host.stream({ method: "GET", path: "/lc", authority: "example.com" });
  a.requestHeaders(true);
  b.requestHeaders(true);
  const picks = new Set([a.endpoint, b.endpoint]);
  assert.equal(picks.size, 2, "two in-flight requests go to two nodes");
  // Finishing b frees b's node: the next pick is that node.
  const freed = b.endpoint;
  finish(b);
  const c = host.stream({ method: "GET", path: "/lc", authority: "example.com" });
  c.requestHeaders(true);
  assert.equal(c.endpoint, freed);
  finish(a);
  finish(c);
  assertHealthy(host);
});
