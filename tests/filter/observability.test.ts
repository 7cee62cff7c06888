// What the filter gives Envoy's access log and stats, through the real .wasm:
// the route id as filter state, per-route counters counted in guest memory
// and handed to Envoy only on the root context's tick.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ProxyWasmHost } from "../../host/index.ts";
import { FILTER_WASM, assertHealthy, configure, filterHost, get } from "./helpers.ts";

const NODE = { "10.0.0.1:80": 1 };
const CONFIG = {
  routes: [
    { id: "api", uri: "/api/*", upstream_id: "u1" },
    {
      id: "split",
      uri: "/split",
      upstream: { nodes: NODE },
      plugins: { "traffic-split": { rules: [{ weighted_upstreams: [{ upstream_id: "u1", weight: 1 }, { weight: 1 }] }] } },
    },
    { id: "broken", uri: "/broken", upstream_id: "missing" },
  ],
  upstreams: [{ id: "u1", nodes: NODE }],
};
const REQUESTS = (r: string, u: string) => `route=.=${r};.;upstream=.=${u};.;apisix_requests_total`;
const REPLIES = (code: number, r: string) => `code=.=${code};.;route=.=${r};.;apisix_local_replies_total`;

test("the matched route's id is filter state wasm.apisix_route, for proxied requests and APISIX's local replies", async () => {
  const host = await filterHost(CONFIG);
  assert.equal(get(host, "/api/x").filterState.get("wasm.apisix_route"), "api");
  const broken = get(host, "/broken");
  assert.equal(broken.localReply?.status, 502);
  assert.equal(broken.filterState.get("wasm.apisix_route"), "broken");
  assert.equal(get(host, "/nowhere").filterState.has("wasm.apisix_route"), false);
  assertHealthy(host);
});

test("envoy.filter_state_ids false (the control plane without an access log): no filter state for either id, same routing", async () => {
  const host = await filterHost({ ...CONFIG, envoy: { filter_state_ids: false } });
  const r = get(host, "/api/x");
  assert.equal(r.localReply, undefined);
  assert.equal(r.filterState.has("wasm.apisix_route"), false);
  assert.equal(r.filterState.has("wasm.apisix_upstream"), false);
  const broken = get(host, "/broken");
  assert.equal(broken.localReply?.status, 502);
  assert.equal(broken.filterState.has("wasm.apisix_route"), false);
  assertHealthy(host);
  // Not a boolean: rejected, naming the field.
  assert.equal(host.configure(JSON.stringify({ ...CONFIG, envoy: { filter_state_ids: "no" } })), false);
  assert.match(host.logs.map((l) => l.message).join("\n"), /envoy\.filter_state_ids: expected a boolean, got string/);
});

test("the upstreams[] object's id is filter state wasm.apisix_upstream; an inline upstream has none", async () => {
  const host = await filterHost({
    ...CONFIG,
    upstreams: [...CONFIG.upstreams, { id: "empty", nodes: {} }],
    routes: [...CONFIG.routes, { id: "nonodes", uri: "/nonodes", upstream_id: "empty" }],
  });
  assert.equal(get(host, "/api/x").filterState.get("wasm.apisix_upstream"), "u1");
  // traffic-split's choice names its upstream; its route-upstream share names none
  const split = Array.from({ length: 4 }, () => get(host, "/split").filterState.get("wasm.apisix_upstream") ?? "(inline)");
  assert.deepEqual([...new Set(split)].sort(), ["(inline)", "u1"]);
  // a reply after the upstream was found names it; an unknown id is not written
  const nonodes = get(host, "/nonodes");
  assert.equal(nonodes.localReply?.status, 503);
  assert.equal(nonodes.filterState.get("wasm.apisix_upstream"), "empty");
  assert.equal(get(host, "/broken").filterState.has("wasm.apisix_upstream"), false);
  assertHealthy(host);
});

test("per-route counters: tagged names, nothing reaches Envoy until the tick, then the exact counts", async () => {
  const host = await filterHost(CONFIG);
  for (let i = 0; i < 5; i++) get(host, "/api/x");
  for (let i = 0; i < 4; i++) get(host, "/split");
  get(host, "/broken");
  get(host, "/nowhere");
  get(host, "/nowhere");
  assert.equal(host.metric(REQUESTS("api", "upstream.u1")), undefined, "not defined before the flush");
  assert.equal(host.metric("apisix_upstream.requests_proxied")?.value, 0n);
  assert.ok(host.tickPeriodMs() > 0 && host.tickPeriodMs() <= 5000, `tick period ${host.tickPeriodMs()}`);
  host.tick();
  const v = (name: string) => host.metric(name)?.value;
  assert.equal(v(REQUESTS("api", "upstream.u1")), 5n);
  // traffic-split 1:1 over 4 requests: both clusters of the one route.
  assert.equal(v(REQUESTS("split", "upstream.u1")), 2n);
  assert.equal(v(REQUESTS("split", "route.split")), 2n);
  assert.equal(v(REPLIES(502, "broken")), 1n);
  assert.equal(v(REPLIES(404, "")), 2n);
  assert.equal(v("apisix_upstream.requests_proxied"), 9n);
  // A second tick with nothing new adds nothing; new requests add exactly theirs.
  host.tick();
  get(host, "/api/x");
  host.tick();
  assert.equal(v(REQUESTS("api", "upstream.u1")), 6n);
  assertHealthy(host);
});

test("a reload flushes what the old routes counted; the same route keeps counting into the same stat", async () => {
  const host = await filterHost(CONFIG);
  get(host, "/api/x");
  get(host, "/api/x");
  assert.equal(configure(host, { ...CONFIG, routes: [{ id: "api", uri: "/api/*", upstream_id: "u1" }] }), true);
  assert.equal(host.metric(REQUESTS("api", "upstream.u1"))?.value, 2n);
  get(host, "/api/x");
  host.tick();
  assert.equal(host.metric(REQUESTS("api", "upstream.u1"))?.value, 3n);
});

test("a proxied request makes no metric host call", async () => {
  let metricCalls = 0;
  class Counting extends ProxyWasmHost {}
  const base = ProxyWasmHost.prototype as any;
  (Counting.prototype as any).hostFunctions = function () {
    const fns = base.hostFunctions.call(this);
    const wrap =
      (f: (...a: never[]) => number) =>
      (...a: never[]) => {
        metricCalls++;
        return f(...a);
      };
    return {
      ...fns,
      proxy_define_metric: wrap(fns.proxy_define_metric),
      proxy_increment_metric: wrap(fns.proxy_increment_metric),
      proxy_record_metric: wrap(fns.proxy_record_metric),
    };
  };
  const host = new Counting(new WebAssembly.Module(readFileSync(FILTER_WASM)), { rootId: "apisix-upstream" });
  assert.equal(configure(host, CONFIG), true);
  metricCalls = 0;
  for (let i = 0; i < 100; i++) get(host, i % 2 ? "/api/x" : "/nowhere");
  assert.equal(metricCalls, 0);
  host.tick();
  // define + increment for the two new tagged counters, increment for the two aggregates
  assert.equal(metricCalls, 6);
});
