// handle_upstream, step by step, through the real filter.wasm: each case is a
// config, a request, and what APISIX would answer (status, log line) or where
// Envoy's router is sent (cluster header + original-destination endpoint).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { balancerHost, filterHost, get, outcome, errorLogs, assertHealthy, ORIGINAL_DST, LOG, named } from "./helpers.ts";

const NODE = { "10.0.0.1:8080": 1 };

describe("1. steering headers from the client never survive", () => {
  test("x-apisix-upstream and x-envoy-original-dst-host are replaced or removed", async () => {
    const host = await filterHost({
      routes: [{ id: "r1", uri: "/api/*", upstream: { nodes: NODE } }],
    });
    const evil = { "x-apisix-upstream": "upstream.admin", "x-envoy-original-dst-host": "169.254.169.254:80", "x-apisix-upstream-hosts": "169.254.169.254:80" };
    const proxied = get(host, "/api/x", { headers: evil });
    assert.equal(proxied.header("x-apisix-upstream"), "route.r1");
    assert.equal(proxied.requestHeaders.getAll("x-apisix-upstream").length, 1);
    assert.equal(proxied.header("x-envoy-original-dst-host"), undefined);
    assert.equal(proxied.endpoint, "10.0.0.1:8080");
    // One node, no retries: no try list is sent, and the client's is gone.
    assert.deepEqual(proxied.requestHeaders.getAll("x-apisix-upstream-hosts"), []);

    const notFound = get(host, "/elsewhere", { headers: evil });
    assert.equal(notFound.localReply?.status, 404);
    assert.equal(notFound.header("x-apisix-upstream"), undefined);
    assert.equal(notFound.header("x-envoy-original-dst-host"), undefined);
    assert.equal(notFound.header("x-apisix-upstream-hosts"), undefined);
    assertHealthy(host);
  });

  test("repeated client copies are all removed", async () => {
    const host = await filterHost({ routes: [{ id: "r1", uri: "/*", upstream: { nodes: NODE } }] });
    const r = get(host, "/", {
      headers: [
        ["x-apisix-upstream", "a"],
        ["x-apisix-upstream", "b"],
        ["X-Envoy-Original-Dst-Host", "1.1.1.1:1"],
      ],
    });
    assert.deepEqual(r.requestHeaders.getAll("x-apisix-upstream"), ["route.r1"]);
    assert.equal(r.header("x-envoy-original-dst-host"), undefined);
  });
});

describe("2. route matching", () => {
  const up = { nodes: NODE };
  const config = {
    routes: [
      { id: "exact", uri: "/api/users", upstream: up },
      { id: "prefix", uri: "/api/*", upstream: up },
      { id: "uris", uris: ["/a", "/b/*"], upstream: up },
      { id: "host", uri: "/*", host: "api.example.com", upstream: up },
      { id: "wild", uri: "/*", hosts: ["*.example.org"], upstream: up },
      { id: "post", uri: "/form", methods: ["POST", "PUT"], upstream: up },
      { id: "low", uri: "/prio/*", priority: 1, upstream: up },
      { id: "high", uri: "/prio/*", priority: 5, upstream: up },
      {
        id: "beta",
        uri: "/v/*",
        vars: [
          ["http_x_env", "==", "beta"],
          ["arg_v", ">", 2],
        ],
        upstream: up,
      },
      { id: "in", uri: "/v/*", vars: [["cookie_team", "in", ["red", "blue"]]], upstream: up },
      { id: "or", uri: "/v/*", vars: ["OR", ["arg_a", "==", "1"], ["arg_b", "!", "~=", "2"]], upstream: up },
      { id: "regex", uri: "/v/*", vars: [["http_user_agent", "~*", "^curl/"]], upstream: up },
      // lua-resty-expr's other spellings: "IN", a two-element rule meaning "==", nested logic.
      { id: "IN", uri: "/w/*", vars: [["arg_c", "IN", ["x", "y"]]], upstream: up },
      { id: "pair", uri: "/p/*", vars: [["arg_k", "v"]], upstream: up },
      { id: "nested", uri: "/n/*", vars: ["AND", ["OR", ["arg_a", "==", "1"], ["arg_b", "==", "1"]], ["!OR", ["arg_c", "==", "1"]]], upstream: up },
      { id: "off", uri: "/off", status: 0, upstream: up },
      { id: "lan", uri: "/lan", remote_addrs: ["192.168.0.0/16", "::1"], upstream: up },
    ],
  };
  const cases: [string, Parameters<typeof get>[2], string][] = [
    ["/api/users", {}, "exact"],
    ["/api/users/1", {}, "prefix"],
    ["/api/users?x=1", {}, "exact"],
    ["/a", {}, "uris"],
    ["/a/x", {}, "404"],
    ["/b/x", {}, "uris"],
    ["/anything", { authority: "API.example.com:8443" }, "host"],
    ["/anything", { authority: "x.y.example.org" }, "wild"],
    ["/anything", { authority: "example.org" }, "404"],
    ["/form", { method: "POST" }, "post"],
    ["/form", { method: "GET" }, "404"],
    ["/prio/x", {}, "high"],
    ["/v/1?v=3", { headers: { "x-env": "beta" } }, "beta"],
    ["/v/1?v=2", { headers: { "x-env": "beta" } }, "404"],
    ["/v/1", { headers: { cookie: "a=b; team=blue" } }, "in"],
    ["/v/1?b=2", {}, "or"],
    ["/v/1?b=3", {}, "404"],
    ["/v/1", { headers: { "user-agent": "CURL/8.1" } }, "regex"],
    ["/w/1?c=y", {}, "IN"],
    ["/w/1?c=z", {}, "404"],
    ["/p/1?k=v", {}, "pair"],
    ["/p/1?k=w", {}, "404"],
    ["/n/1?b=1", {}, "nested"],
    ["/n/1?b=1&c=1", {}, "404"],
    ["/n/1", {}, "404"],
    ["/off", {}, "404"],
    ["/lan", { source: "192.168.3.4:1234" }, "lan"],
    ["/lan", { source: "[::1]:1234" }, "lan"],
    ["/lan", { source: "10.0.0.1:1234" }, "404"],
    ["/api/../api/users", {}, "exact"],
    ["/api/%75sers", {}, "exact"],
  ];
  test("table: request → matched route (APISIX radixtree_host_uri semantics)", async () => {
    const host = await filterHost(config);
    for (const [path, extra, want] of cases) {
      const r = get(host, path, extra);
      const got = r.localReply ? String(r.localReply.status) : r.filterState.get("wasm.apisix_route");
      assert.equal(got, want, `${extra?.method ?? "GET"} ${extra?.authority ?? "example.com"}${path}`);
    }
    assertHealthy(host);
  });

  test("no route: 404 with APISIX's JSON body", async () => {
    const host = await filterHost(config);
    const r = get(host, "/nothing-here");
    assert.equal(r.localReply?.status, 404);
    assert.equal(r.localReply?.body, '{"error_msg":"404 Route Not Found"}\n');
    assert.equal(r.forwarded, false);
  });
});

describe("3. upstream resolution", () => {
  test("upstream_id that does not exist: 502 and APISIX's log line", async () => {
    const host = await filterHost({ routes: [{ id: "r1", uri: "/*", upstream_id: "gone" }] });
    const r = get(host, "/");
    assert.equal(r.localReply?.status, 502);
    assert.ok(r.localReply?.body.includes("502 Bad Gateway"));
    assert.deepEqual(errorLogs(r.logs), ["failed to find upstream by id: gone"]);
  });

  test("upstream_id wins over an inline upstream; integer ids match string ids", async () => {
    const host = await filterHost({
      routes: [{ id: 1, uri: "/*", upstream_id: 7, upstream: { nodes: { "10.9.9.9:1": 1 } } }],
      upstreams: [{ id: "7", nodes: { "10.0.0.7:80": 1 } }],
    });
    assert.equal(outcome(get(host, "/")), "upstream.7 10.0.0.7:80");
  });

  test("a route without any upstream (plugins only): 503 missing upstream configuration", async () => {
    const host = await filterHost({ routes: [{ id: "r1", uri: "/*", plugins: { echo: {} } }] });
    const r = get(host, "/");
    assert.equal(r.localReply?.status, 503);
    assert.deepEqual(errorLogs(r.logs), ["failed to set upstream: missing upstream configuration in Route or Service"]);
  });

  test("an upstream with no nodes: 503 no valid upstream node", async () => {
    const host = await filterHost({ routes: [{ id: "r1", uri: "/*", upstream: { nodes: {} } }] });
    const r = get(host, "/");
    assert.equal(r.localReply?.status, 503);
    assert.deepEqual(errorLogs(r.logs), ["failed to set upstream: no valid upstream node"]);
  });

  test("domain nodes use the control plane's addresses; failures answered as APISIX's handle_upstream (apisix/init.lua) says", async () => {
    const host = await filterHost({
      routes: [
        { id: "ok", uri: "/ok", upstream: { nodes: { "api.internal:8080": 1 }, pass_host: "node" } },
        {
          id: "partial",
          uri: "/partial",
          upstream: {
            nodes: [
              { host: "api.internal", port: 80, weight: 1 },
              { host: "gone.internal", port: 80, weight: 1 },
            ],
          },
        },
        { id: "inline-dead", uri: "/inline-dead", upstream: { nodes: { "gone.internal:80": 1 } } },
        { id: "id-dead", uri: "/id-dead", upstream_id: "dead" },
      ],
      upstreams: [{ id: "dead", nodes: { "gone.internal:80": 1 } }],
      dns: { "api.internal": { addresses: ["10.1.1.1", "10.1.1.2"] }, "gone.internal": { error: "NXDOMAIN" } },
    });
    const ok = get(host, "/ok");
    assert.equal(ok.endpoint, "10.1.1.1:8080");
    assert.equal(ok.header(":authority"), "api.internal:8080");

    const partial = get(host, "/partial");
    assert.equal(partial.endpoint, "10.1.1.1:80");
    assert.deepEqual(errorLogs(partial.logs), ["failed to parse domain: gone.internal, error: NXDOMAIN"]);

    const inline = get(host, "/inline-dead");
    assert.equal(inline.localReply?.status, 500);
    assert.deepEqual(errorLogs(inline.logs), ["failed to get resolved route: gone.internal: NXDOMAIN"]);

    const byId = get(host, "/id-dead");
    assert.equal(byId.localReply?.status, 502);
    assert.deepEqual(errorLogs(byId.logs), ["failed to get resolved upstream: gone.internal: NXDOMAIN"]);
    assertHealthy(host);
  });
});

describe("4. upstream client certificate", () => {
  const cert = `-----BEGIN CERTIFICATE-----\n${"A".repeat(200)}\n-----END CERTIFICATE-----`;
  const key = `-----BEGIN PRIVATE KEY-----\n${"B".repeat(100)}\n-----END PRIVATE KEY-----`;
  const config = {
    routes: [
      { id: "missing", uri: "/missing", upstream: { scheme: "https", nodes: NODE, tls: { client_cert_id: "nope" } } },
      { id: "server", uri: "/server", upstream: { scheme: "https", nodes: NODE, tls: { client_cert_id: "srv" } } },
      { id: "client", uri: "/client", upstream_id: "mtls" },
    ],
    upstreams: [{ id: "mtls", scheme: "https", nodes: { "10.0.0.5:443": 1 }, tls: { client_cert_id: "cli" } }],
    ssls: [
      { id: "srv", cert, key, snis: ["a.com"] },
      { id: "cli", type: "client", cert, key },
    ],
  };
  test("missing ssl: 502 'ssl id [..] not exits'; server-type ssl: 502 'ssl type should be client'", async () => {
    const host = await filterHost(config);
    const missing = get(host, "/missing");
    assert.equal(missing.localReply?.status, 502);
    assert.deepEqual(errorLogs(missing.logs), ["failed to get ssl cert: ssl id [nope] not exits"]);
    const server = get(host, "/server");
    assert.equal(server.localReply?.status, 502);
    assert.deepEqual(errorLogs(server.logs), ["failed to get ssl cert: ssl type should be 'client'"]);
    const ok = get(host, "/client");
    assert.equal(outcome(ok), "upstream.mtls 10.0.0.5:443");
    assert.ok(ok.logs.some((l) => l.level === LOG.info && l.message === "matched ssl: cli"));
  });
});

describe("5. websocket", () => {
  test("upgrade passes only for routes with enable_websocket (or their service's)", async () => {
    const host = await filterHost({
      routes: [
        { id: "ws", uri: "/ws", enable_websocket: true, upstream: { nodes: NODE } },
        { id: "plain", uri: "/plain", upstream: { nodes: NODE } },
        { id: "svc", uri: "/svc", service_id: "s1" },
        { id: "svc-off", uri: "/svc-off", service_id: "s1", enable_websocket: false },
      ],
      services: [{ id: "s1", enable_websocket: true, upstream: { nodes: NODE } }],
    });
    const upgrade = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };
    const ws = get(host, "/ws", { headers: upgrade });
    assert.equal(ws.header("upgrade"), "websocket");
    assert.equal(ws.header("connection"), "Upgrade");
    assert.ok(ws.logs.some((l) => l.message === "enabled websocket for route: ws"));
    const plain = get(host, "/plain", { headers: upgrade });
    assert.equal(plain.header("upgrade"), undefined);
    assert.equal(plain.header("connection"), undefined);
    assert.equal(plain.forwarded, true);
    // Envoy's codec keeps an upgrade request open (tests/host/upgrade.test.ts):
    // the filter bounds the now-plain request's body, or the upstream waits forever.
    assert.equal(plain.header("content-length"), "0");
    assert.equal(plain.status, 200);
    assert.equal(ws.header("content-length"), undefined);
    const withBody = get(host, "/plain", { method: "POST", headers: { ...upgrade, "content-length": "3" }, body: "abc" });
    assert.equal(withBody.header("content-length"), "3");
    assert.equal(get(host, "/svc", { headers: upgrade }).header("upgrade"), "websocket");
    assert.equal(get(host, "/svc-off", { headers: upgrade }).header("upgrade"), undefined);
  });
});

describe("6. balancer pick", () => {
  const nodes = { "10.0.0.1:80": 3, "10.0.0.2:80": 2, "10.0.0.3:80": 1 };
  test("roundrobin: over any full cycle each node is picked in proportion to its weight", async () => {
    const host = await filterHost({ routes: [{ id: "r", uri: "/*", upstream: { nodes } }] });
    for (let i = 0; i < 7; i++) get(host, "/"); // leave the fresh picker's partial first cycle
    for (let window = 0; window < 6; window++) {
      const picks = Array.from({ length: 6 }, () => get(host, "/").endpoint);
      const c = new Map<string, number>();
      for (const p of picks) c.set(p!, (c.get(p!) ?? 0) + 1);
      assert.deepEqual(Object.fromEntries([...c].sort()), { "10.0.0.1:80": 3, "10.0.0.2:80": 2, "10.0.0.3:80": 1 });
    }
  });

  test("roundrobin (rr-balance.t): weight 0 is never picked; 12 requests on 3:0:1 → 9:3", async () => {
    const host = await filterHost({ routes: [{ id: "r", uri: "/*", upstream: { nodes: { "10.0.0.1:80": 3, "10.0.0.2:80": 0, "10.0.0.3:80": 1 } } }] });
    for (let i = 0; i < 5; i++) get(host, "/");
    const c = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const p = get(host, "/").endpoint!;
      c.set(p, (c.get(p) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...c].sort()), { "10.0.0.1:80": 9, "10.0.0.3:80": 3 });
  });

  test("single node fast path, even with weight 0", async () => {
    const host = await filterHost({ routes: [{ id: "r", uri: "/*", upstream: { nodes: { "10.0.0.4:9000": 0 } } }] });
    for (let i = 0; i < 3; i++) assert.equal(get(host, "/").endpoint, "10.0.0.4:9000");
  });

  test("priority: only the highest level is used while it has nodes", async () => {
    const host = await filterHost({
      routes: [
        {
          id: "r",
          uri: "/*",
          upstream: {
            nodes: [
              { host: "10.0.0.1", port: 80, weight: 1, priority: 10 },
              { host: "10.0.0.2", port: 80, weight: 1, priority: 10 },
              { host: "10.0.0.3", port: 80, weight: 100, priority: 0 },
            ],
          },
        },
      ],
    });
    const seen = new Set(Array.from({ length: 20 }, () => get(host, "/").endpoint));
    assert.deepEqual([...seen].sort(), ["10.0.0.1:80", "10.0.0.2:80"]);
  });

  test("IPv6 nodes are bracketed for Envoy's original-destination parser", async () => {
    const host = await filterHost({ routes: [{ id: "r", uri: "/*", upstream: { nodes: { "[::1]:8080": 1 }, pass_host: "node" } }] });
    const r = get(host, "/");
    assert.equal(r.endpoint, "[::1]:8080");
    assert.equal(r.header(":authority"), "[::1]:8080");
  });
});

describe("7. Envoy steering", () => {
  const config = {
    routes: [
      { id: "byid", uri: "/byid", upstream_id: "u1" },
      { id: "inline", uri: "/inline", upstream: { nodes: { "10.0.0.2:8080": 1 } } },
      { id: "node", uri: "/node", upstream: { nodes: { "10.0.0.3:80": 1 }, pass_host: "node" } },
      { id: "node-port", uri: "/node-port", upstream: { nodes: { "10.0.0.3:8443": 1 }, scheme: "https", pass_host: "node" } },
      { id: "rewrite", uri: "/rewrite", upstream: { nodes: { "10.0.0.4:80": 1 }, pass_host: "rewrite", upstream_host: "backend.internal" } },
      { id: "timeout", uri: "/timeout", upstream: { nodes: NODE, timeout: { connect: 1, send: 2, read: 3.5 } } },
      {
        id: "route-timeout",
        uri: "/route-timeout",
        timeout: { connect: 1, send: 1, read: 0.25 },
        upstream: { nodes: NODE, timeout: { connect: 1, send: 2, read: 30 } },
      },
      { id: "grpc", uri: "/echo.Echo/*", upstream: { scheme: "grpc", nodes: { "10.0.0.6:50051": 1 }, timeout: { connect: 1, send: 1, read: 1 } } },
    ],
    upstreams: [{ id: "u1", nodes: { "10.0.0.1:80": 1 } }],
  };
  test("cluster header, original-destination filter state, route cache clear", async () => {
    const host = await filterHost(config);
    const byId = get(host, "/byid");
    assert.equal(byId.header("x-apisix-upstream"), "upstream.u1");
    assert.equal(byId.filterState.get(ORIGINAL_DST), "10.0.0.1:80");
    assert.ok(byId.routeCacheCleared > 0);
    assert.equal(byId.forwarded, true);
    assert.equal(get(host, "/inline").header("x-apisix-upstream"), "route.inline");
  });

  test("override-host clusters: the plan header alone names the endpoint, no original-destination filter state", async () => {
    const host = await balancerHost({ ...config, upstreams: [{ id: "u1", nodes: { "10.0.0.1:80": 1, "10.0.0.7:80": 1 } }] });
    const byId = get(host, "/byid");
    const plan = byId.header("x-apisix-upstream-hosts")?.split(",") ?? [];
    assert.deepEqual([...plan].sort(), ["10.0.0.1:80", "10.0.0.7:80"]);
    assert.equal(byId.endpoint, plan[0]);
    assert.equal(byId.filterState.get(ORIGINAL_DST), undefined);
    // One node: no plan at all; the cluster's one endpoint is where Envoy goes.
    const inline = get(host, "/inline", { headers: { "x-apisix-upstream-hosts": "6.6.6.6:80" } });
    assert.equal(inline.header("x-apisix-upstream"), "route.inline");
    assert.deepEqual(inline.requestHeaders.getAll("x-apisix-upstream-hosts"), []);
    assert.equal(inline.filterState.get(ORIGINAL_DST), undefined);
    assert.equal(inline.endpoint, "10.0.0.2:8080");
  });

  test("pass_host: pass keeps the client's Host, node uses the node, rewrite uses upstream_host", async () => {
    const host = await filterHost(config);
    assert.equal(get(host, "/byid", { authority: "client.example:8080" }).header(":authority"), "client.example:8080");
    assert.equal(get(host, "/node").header(":authority"), "10.0.0.3");
    assert.equal(get(host, "/node-port").header(":authority"), "10.0.0.3:8443");
    assert.equal(get(host, "/rewrite").header(":authority"), "backend.internal");
  });

  test("timeouts: read timeout → x-envoy-upstream-rq-timeout-ms; the route's beats the upstream's; none for gRPC streams", async () => {
    const host = await filterHost(config);
    assert.equal(get(host, "/timeout").header("x-envoy-upstream-rq-timeout-ms"), "3500");
    assert.equal(get(host, "/route-timeout").header("x-envoy-upstream-rq-timeout-ms"), "250");
    assert.equal(get(host, "/byid").header("x-envoy-upstream-rq-timeout-ms"), undefined);
    const grpc = get(host, "/echo.Echo/Say", { method: "POST", protocol: "HTTP/2", headers: { "content-type": "application/grpc", te: "trailers" } });
    assert.equal(grpc.header("x-apisix-upstream"), "route.grpc");
    assert.equal(grpc.endpoint, "10.0.0.6:50051");
    assert.equal(grpc.header("x-envoy-upstream-rq-timeout-ms"), undefined);
  });

  test("a local reply to a gRPC client carries a gRPC status", async () => {
    const host = await filterHost(config);
    const r = get(host, "/nope.Service/Call", { method: "POST", protocol: "HTTP/2", headers: { "content-type": "application/grpc" } });
    assert.equal(r.localReply?.status, 404);
  });
});

describe("8. logs", () => {
  test("one debug line per proxied request (APISIX logs none at its default level), not even built when Envoy's wasm level is info", async () => {
    const { ProxyWasmHost } = await import("../../host/index.ts");
    const { FILTER_WASM } = await import("./helpers.ts");
    const { readFileSync } = await import("node:fs");
    // Count the guest's proxy_log calls, whatever the host then keeps: the
    // host drops below-level lines itself, so its log list can't tell.
    let logCalls = 0;
    class Counting extends ProxyWasmHost {}
    const base = ProxyWasmHost.prototype as any;
    (Counting.prototype as any).hostFunctions = function () {
      const fns = base.hostFunctions.call(this);
      const log = fns.proxy_log;
      return {
        ...fns,
        proxy_log: (...a: number[]) => {
          logCalls++;
          return log(...a);
        },
      };
    };
    const module = new WebAssembly.Module(readFileSync(FILTER_WASM));
    const config = JSON.stringify(named({ routes: [{ id: "r", uri: "/*", upstream: { nodes: NODE } }] }));
    const debug = new Counting(module, { rootId: "apisix-upstream", logLevel: LOG.debug });
    debug.configure(config);
    logCalls = 0;
    assert.deepEqual(
      get(debug, "/").logs.map((l) => [l.level, l.message]),
      [[LOG.debug, "proxy request to 10.0.0.1:8080 (route r, cluster route.r, inline upstream)"]],
    );
    assert.equal(logCalls, 1);
    const warn = new Counting(module, { rootId: "apisix-upstream", logLevel: LOG.info });
    warn.configure(config);
    logCalls = 0;
    const r = get(warn, "/");
    assert.equal(r.endpoint, "10.0.0.1:8080");
    assert.equal(logCalls, 0);
    assertHealthy(warn);
  });
});
