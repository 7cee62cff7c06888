// Every way APISIX chooses an upstream: services (merge_service_route) and
// the traffic-split plugin (api_ctx.upstream_id), through the real filter.wasm.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { filterHost, configure, get, outcome, errorLogs, count, assertHealthy, LOG } from "./helpers.ts";

const cert = `-----BEGIN CERTIFICATE-----\n${"A".repeat(200)}\n-----END CERTIFICATE-----`;
const key = `-----BEGIN PRIVATE KEY-----\n${"B".repeat(100)}\n-----END PRIVATE KEY-----`;

describe("services", () => {
  const config = {
    services: [
      { id: "s-id", upstream_id: "u1", enable_websocket: true },
      { id: "s-inline", upstream: { nodes: { "10.0.0.2:80": 1 } }, hosts: ["svc.example.com"] },
      { id: "s-empty", plugins: { "key-auth": {} } },
    ],
    upstreams: [
      { id: "u1", nodes: { "10.0.0.1:80": 1 } },
      { id: "u3", nodes: { "10.0.0.3:80": 1 } },
    ],
    routes: [
      { id: "inherit-id", uri: "/a", service_id: "s-id" },
      { id: "inherit-inline", uri: "/b", service_id: "s-inline" },
      { id: "override-id", uri: "/c", service_id: "s-id", upstream_id: "u3" },
      { id: "override-inline", uri: "/d", service_id: "s-id", upstream: { nodes: { "10.0.0.4:80": 1 } } },
      { id: "missing-service", uri: "/e", service_id: "nope" },
      { id: "no-upstream", uri: "/f", service_id: "s-empty" },
    ],
  };
  test("routes inherit the service's upstream; their own upstream/upstream_id override it", async () => {
    const host = await filterHost(config);
    assert.equal(outcome(get(host, "/a")), "upstream.u1 10.0.0.1:80");
    assert.equal(outcome(get(host, "/b", { authority: "svc.example.com" })), "service.s-inline 10.0.0.2:80");
    assert.equal(outcome(get(host, "/c")), "upstream.u3 10.0.0.3:80");
    assert.equal(outcome(get(host, "/d")), "route.override-inline 10.0.0.4:80");
  });
  test("the service's hosts apply to routes without their own", async () => {
    const host = await filterHost(config);
    assert.equal(get(host, "/b", { authority: "other.example.com" }).localReply?.status, 404);
  });
  test("a missing service: 404 and APISIX's log; a service without upstream: 503", async () => {
    const host = await filterHost(config);
    const e = get(host, "/e");
    assert.equal(e.localReply?.status, 404);
    assert.deepEqual(errorLogs(e.logs), ["failed to fetch service configuration by id: nope"]);
    const f = get(host, "/f");
    assert.equal(f.localReply?.status, 503);
    assert.deepEqual(errorLogs(f.logs), ["failed to set upstream: missing upstream configuration in Route or Service"]);
  });
});

describe("traffic-split", () => {
  const base = {
    upstreams: [
      { id: "stable", nodes: { "10.0.0.1:80": 1 } },
      { id: "canary", nodes: { "10.0.0.2:80": 1 } },
      { id: "mtls-bad", scheme: "https", nodes: { "10.0.0.5:443": 1 }, tls: { client_cert_id: "srv" } },
    ],
    ssls: [{ id: "srv", cert, key, snis: ["a.com"] }],
  };
  test("weights: exact proportions over every full cycle (APISIX's weighted round robin)", async () => {
    const host = await filterHost({
      ...base,
      routes: [
        {
          id: "r",
          uri: "/*",
          upstream_id: "stable",
          plugins: {
            "traffic-split": {
              rules: [
                { weighted_upstreams: [{ upstream_id: "canary", weight: 1 }, { weight: 3 }, { upstream: { nodes: { "10.0.0.9:8080": 1 } }, weight: 1 }] },
              ],
            },
          },
        },
      ],
    });
    for (let i = 0; i < 5; i++) get(host, "/");
    const c = count(Array.from({ length: 50 }, () => outcome(get(host, "/"))));
    assert.deepEqual(Object.fromEntries([...c].sort()), {
      "split.r.0.2 10.0.0.9:8080": 10,
      "upstream.canary 10.0.0.2:80": 10,
      "upstream.stable 10.0.0.1:80": 30,
    });
    assertHealthy(host);
  });

  test("match: a header/argument canary; the first matching rule wins, else the route's upstream", async () => {
    const host = await filterHost({
      ...base,
      routes: [
        {
          id: "r",
          uri: "/*",
          upstream_id: "stable",
          plugins: {
            "traffic-split": {
              rules: [
                { match: [{ vars: [["http_x_canary", "==", "1"]] }, { vars: [["arg_beta", "==", "yes"]] }], weighted_upstreams: [{ upstream_id: "canary" }] },
                { match: [{ vars: [["http_x_canary", "in", ["1", "2"]]] }], weighted_upstreams: [{ upstream: { nodes: { "10.0.0.7:80": 1 } } }] },
              ],
            },
          },
        },
      ],
    });
    assert.equal(outcome(get(host, "/", { headers: { "x-canary": "1" } })), "upstream.canary 10.0.0.2:80");
    assert.equal(outcome(get(host, "/?beta=yes")), "upstream.canary 10.0.0.2:80");
    assert.equal(outcome(get(host, "/", { headers: { "x-canary": "2" } })), "split.r.1.0 10.0.0.7:80");
    assert.equal(outcome(get(host, "/")), "upstream.stable 10.0.0.1:80");
  });

  test("the chosen upstream goes through the client-cert check like any other", async () => {
    const host = await filterHost({
      ...base,
      routes: [
        {
          id: "r",
          uri: "/*",
          upstream_id: "stable",
          plugins: { "traffic-split": { rules: [{ match: [{ vars: [["arg_mtls", "==", "1"]] }], weighted_upstreams: [{ upstream_id: "mtls-bad" }] }] } },
        },
      ],
    });
    const r = get(host, "/?mtls=1");
    assert.equal(r.localReply?.status, 502);
    assert.deepEqual(errorLogs(r.logs), ["failed to get ssl cert: ssl type should be 'client'"]);
  });

  test("invalid plugin config is rejected with field-named errors; unknown plugins only warn", async () => {
    const host = await filterHost({ ...base, routes: [{ id: "ok", uri: "/*", upstream_id: "stable" }] });
    const bad: [unknown, string][] = [
      [
        { rules: [{ weighted_upstreams: [{ upstream_id: "stable", weight: -1 }] }] },
        "routes[r].plugins.traffic-split.rules[0].weighted_upstreams[0].weight: expected -1 to be at least 0",
      ],
      [
        { rules: [{ match: [{ vars: [["arg_x", "~~", "a("]] }], weighted_upstreams: [{ weight: 1 }] }] },
        'routes[r].plugins.traffic-split.rules[0].match[0].vars[0]: invalid regex "a(": missing closing parenthesis at offset 1',
      ],
      [
        { rules: [{ weighted_upstreams: [] }] },
        "routes[r].plugins.traffic-split.rules[0].weighted_upstreams: expected a non-empty array of {upstream_id | upstream, weight}",
      ],
    ];
    for (const [plugin, message] of bad) {
      const before = host.logs.length;
      assert.equal(configure(host, { ...base, routes: [{ id: "r", uri: "/*", upstream_id: "stable", plugins: { "traffic-split": plugin } }] }), false);
      assert.ok(errorLogs(host.logs.slice(before)).includes(`invalid configuration: ${message}`), errorLogs(host.logs.slice(before)).join("\n"));
      assert.equal(outcome(get(host, "/")), "upstream.stable 10.0.0.1:80");
    }
    // A missing upstream_id is answered per request, as APISIX does (502), not rejected.
    let before = host.logs.length;
    assert.equal(
      configure(host, {
        ...base,
        routes: [{ id: "r", uri: "/*", upstream_id: "stable", plugins: { "traffic-split": { rules: [{ weighted_upstreams: [{ upstream_id: "ghost" }] }] } } }],
      }),
      true,
    );
    assert.ok(
      host.logs.slice(before).some((l) => l.level === LOG.warn && l.message.includes('weighted_upstreams[0].upstream_id: upstream "ghost" does not exist')),
    );
    const r = get(host, "/");
    assert.equal(r.localReply?.status, 502);
    assert.deepEqual(errorLogs(r.logs), ["failed to find upstream by id: ghost"]);
    before = host.logs.length;
    assert.equal(configure(host, { ...base, routes: [{ id: "r", uri: "/*", upstream_id: "stable", plugins: { "proxy-rewrite": { uri: "/x" } } }] }), true);
    assert.ok(host.logs.slice(before).some((l) => l.level === LOG.warn && l.message.includes("routes[r].plugins.proxy-rewrite: plugin ignored")));
  });
});
