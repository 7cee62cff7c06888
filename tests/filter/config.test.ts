// proxy_on_configure: a document is accepted or rejected whole; a rejection
// (Envoy NACKs it) names the object and field, and the last good config
// keeps serving.
import { test } from "node:test";
import assert from "node:assert/strict";
import { filterHost, configure, get, outcome, errorLogs, assertHealthy, LOG } from "./helpers.ts";

const GOOD = {
  routes: [{ id: "r1", uri: "/*", upstream_id: "u1" }],
  upstreams: [{ id: "u1", nodes: { "10.0.0.1:80": 1 } }],
};

const INVALID: [string, unknown, string][] = [
  ["not JSON", "{routes: [", "invalid configuration: configuration: invalid JSON: expected object key at byte 1"],
  [
    "negative weight",
    { upstreams: [{ id: "u1", nodes: { "10.0.0.1:80": -1 } }] },
    'invalid configuration: upstreams[u1].nodes["10.0.0.1:80"]: expected -1 to be at least 0',
  ],
  [
    "node port out of range",
    { upstreams: [{ id: "u1", nodes: [{ host: "10.0.0.1", port: 70000, weight: 1 }] }] },
    "invalid configuration: upstreams[u1].nodes[0].port: expected 70000 to be at most 65535",
  ],
  ["route without uri", { routes: [{ id: "r9", upstream_id: "u1" }] }, "invalid configuration: routes[r9]: exactly one of uri or uris is required"],
  [
    "unsupported scheme",
    { upstreams: [{ id: "k", scheme: "tcp", nodes: { "10.0.0.1:9092": 1 } }] },
    'invalid configuration: upstreams[k].scheme: "tcp" is a stream (L4) scheme; this filter handles HTTP routes (use http, https, grpc or grpcs)',
  ],
  [
    "bad vars",
    { routes: [{ id: "v", uri: "/", vars: [["arg_x", "~~", "(a|b"]], upstream_id: "u1" }] },
    'invalid configuration: routes[v].vars[0]: invalid regex "(a|b": missing closing parenthesis at offset 0',
  ],
  [
    "chash without key",
    { upstreams: [{ id: "c", type: "chash", hash_on: "header", nodes: { "10.0.0.1:80": 1 } }] },
    "invalid configuration: upstreams[c].key: missing key (required for type chash unless hash_on is consumer)",
  ],
  ["unknown section", { route: [] }, "invalid configuration: route: unknown section (expected routes, upstreams, ssls, services, dns, health, envoy)"],
  [
    "bad passive checks",
    { upstreams: [{ id: "h", nodes: { "10.0.0.1:80": 1 }, checks: { active: {}, passive: { unhealthy: { http_failures: 300 } } } }] },
    "invalid configuration: upstreams[h].checks.passive.unhealthy.http_failures: expected 300 to be at most 254",
  ],
  [
    "lua filter_func",
    { routes: [{ id: "f", uri: "/", filter_func: "function(vars) return true end", upstream_id: "u1" }] },
    "invalid configuration: routes[f].filter_func: Lua filter functions cannot run in the filter; express the condition with vars",
  ],
];

for (const [name, doc, message] of INVALID) {
  test(`rejected: ${name}; the previous config keeps serving`, async () => {
    const host = await filterHost(GOOD);
    const before = host.logs.length;
    assert.equal(configure(host, doc), false);
    const logs = host.logs.slice(before);
    assert.ok(errorLogs(logs).includes(message), `expected "${message}" in:\n${errorLogs(logs).join("\n")}`);
    assert.ok(errorLogs(logs).some((m) => m.startsWith("configuration rejected (")));
    assert.equal(outcome(get(host, "/still-served")), "upstream.u1 10.0.0.1:80");
    assertHealthy(host);
  });
}

test("the first configuration rejected: nothing serves, Envoy would not start the listener", async () => {
  const host = await filterHost();
  assert.equal(configure(host, { routes: 5 }), false);
  assert.ok(
    errorLogs(host.logs).includes("invalid configuration: routes: expected an array, got object") ||
      errorLogs(host.logs).includes("invalid configuration: routes: expected an array, got integer"),
  );
});

test("a valid update replaces the config; warnings name ignored plugins", async () => {
  const host = await filterHost(GOOD);
  const before = host.logs.length;
  assert.equal(
    configure(host, {
      routes: [{ id: "r2", uri: "/*", upstream: { nodes: { "10.0.0.2:80": 1 } }, plugins: { "limit-count": { count: 1 } } }],
      consumers: [{ username: "jack" }],
    }),
    true,
  );
  const logs = host.logs.slice(before);
  assert.ok(
    logs.some((l) => l.level === LOG.warn && l.message === "configuration: routes[r2].plugins.limit-count: plugin ignored: plugins are not run by this filter"),
  );
  assert.ok(logs.some((l) => l.level === LOG.warn && l.message.startsWith("configuration: consumers: ignored")));
  assert.ok(logs.some((l) => l.level === LOG.info && l.message.startsWith("configuration accepted: 1 routes")));
  assert.equal(outcome(get(host, "/")), "route.r2 10.0.0.2:80");
});

test("dangling references are accepted (answered per request) but warned about", async () => {
  const host = await filterHost();
  assert.equal(configure(host, { routes: [{ id: "r", uri: "/*", upstream_id: "later" }] }), true);
  assert.ok(host.logs.some((l) => l.level === LOG.warn && l.message.includes("routes[r].upstream_id: upstream later does not exist (requests will get 502)")));
});

test("metrics count accepted/rejected configs and local replies", async () => {
  const host = await filterHost(GOOD);
  configure(host, { routes: "x" });
  get(host, "/a");
  configure(host, { routes: [{ id: "r", uri: "/only", upstream_id: "u1" }], upstreams: GOOD.upstreams });
  get(host, "/nope");
  // Requests are counted in guest memory and flushed on the root context's tick.
  assert.equal(host.metric("apisix_upstream.local_reply_404")?.value, 0n);
  host.tick();
  const m = (name: string) => host.metric(name)?.value;
  assert.equal(m("apisix_upstream.config_accepted"), 2n);
  assert.equal(m("apisix_upstream.config_rejected"), 1n);
  assert.equal(m("apisix_upstream.requests_proxied"), 1n);
  assert.equal(m("apisix_upstream.local_reply_404"), 1n);
});
