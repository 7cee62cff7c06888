// Passive health checks and the retry plan, through the real build/filter.wasm.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { ManualClock, ProxyWasmHost, type RequestOptions } from "../../host/index.ts";
import { balancerHost as load, FILTER_WASM, get, LOG, oneUpstream } from "../filter/helpers.ts";

const WARN = LOG.warn;
const UF = 0x20;

// Upstream answering by node: status per "ip:port".
function answers(byNode: Record<string, number>): RequestOptions {
  return { upstream: (fwd) => ({ status: byNode[fwd.endpoint!] ?? 200 }) };
}

const CHECKS = {
  active: { http_path: "/status", healthy: { interval: 1, successes: 2 }, unhealthy: { interval: 3, http_failures: 2 } },
  passive: { healthy: { http_statuses: [200], successes: 2 }, unhealthy: { http_statuses: [500, 503], http_failures: 2, tcp_failures: 1 } },
};
const THREE = { "10.0.0.1:80": 1, "10.0.0.2:80": 1, "10.0.0.3:80": 1 };

describe("passive health checks", () => {
  test("unhealthy statuses take a node out; the retry plan skips it; it comes back after the prober's time", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const host = await load(oneUpstream({ nodes: THREE, checks: CHECKS }), clock);
    const bad = answers({ "10.0.0.1:80": 500 });
    // round robin reaches 10.0.0.1 twice within 6 requests
    for (let i = 0; i < 6; i++) get(host, "/", {}, bad);
    assert.ok(
      host.logs.some((l) => l.level === WARN && l.message.startsWith("passive health check: 10.0.0.1:80 of upstream.u1 is unhealthy")),
      host.logs.map((l) => l.message).join("\n"),
    );
    for (let i = 0; i < 12; i++) {
      const r = get(host, "/", {}, bad);
      assert.notEqual(r.endpoint, "10.0.0.1:80");
      const hosts = r.header("x-apisix-upstream-hosts")!.split(",");
      assert.equal(hosts.length, 2);
      assert.ok(!hosts.includes("10.0.0.1:80"), hosts.join(","));
      assert.equal(hosts[0], r.endpoint);
      assert.equal(r.retries, 1);
    }
    // active.unhealthy.interval 3 s × active.healthy.successes 2 = 6 s
    clock.advance(5_000);
    assert.ok(!Array.from({ length: 6 }, () => get(host).endpoint).includes("10.0.0.1:80"));
    clock.advance(1_500);
    assert.ok(Array.from({ length: 6 }, () => get(host).endpoint).includes("10.0.0.1:80"));
    assert.ok(host.logs.some((l) => l.message.startsWith("passive health check: 10.0.0.1:80 of upstream.u1 is healthy again")));
  });

  test("a connect failure (UF) counts against tcp_failures; a failed first try is reported from the attempt count", async () => {
    const host = await load(oneUpstream({ nodes: { "10.0.0.1:80": 1, "10.0.0.2:80": 1 }, checks: CHECKS }));
    // first try fails to connect, Envoy retries on the second entry of the list
    const r = get(
      host,
      "/",
      {},
      {
        upstream: (fwd) => {
          const list = fwd.header("x-apisix-upstream-hosts")!.split(",");
          return { status: 200, address: list[1], attemptCount: 2 };
        },
      },
    );
    const failed = r.header("x-apisix-upstream-hosts")!.split(",")[0];
    const other = failed === "10.0.0.1:80" ? "10.0.0.2:80" : "10.0.0.1:80";
    for (let i = 0; i < 6; i++) assert.equal(get(host).endpoint, other);
    // now a UF on the other node too: all unhealthy → warn, use every node
    get(host, "/", {}, { upstream: { status: 503 }, completion: { responseFlags: UF, responseCode: 503 } });
    host.clearLogs();
    const seen = new Set(Array.from({ length: 6 }, () => get(host).endpoint));
    assert.deepEqual([...seen].sort(), ["10.0.0.1:80", "10.0.0.2:80"]);
    assert.ok(host.logs.some((l) => l.level === WARN && l.message === "all upstream nodes is unhealthy, use default"));
  });

  test("successes revive a node that still gets traffic (all-unhealthy fallback)", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const host = await load(oneUpstream({ nodes: { "10.0.0.1:80": 1, "10.0.0.2:80": 1 }, checks: CHECKS }), clock);
    const down = { upstream: { status: 503 }, completion: { responseFlags: UF, responseCode: 503 } };
    get(host, "/", {}, down);
    get(host, "/", {}, down); // the only healthy node left fails too
    const warned = () => host.logs.some((l) => l.message === "all upstream nodes is unhealthy, use default");
    get(host, "/", {}, { upstream: { status: 200 } });
    assert.ok(warned());
    // traffic still flows to both; the first node with 2 successes is back,
    // and then takes all the traffic (the other waits for the prober's time)
    for (let i = 0; i < 3; i++) get(host, "/", {}, { upstream: { status: 200 } });
    assert.ok(host.logs.some((l) => /passive health check: .* is healthy \(successes 2\/2\)/.test(l.message)));
    host.clearLogs();
    const now = new Set(Array.from({ length: 4 }, () => get(host).endpoint));
    assert.equal(now.size, 1);
    assert.ok(!warned());
    clock.advance(6_001);
    const later = new Set(Array.from({ length: 4 }, () => get(host).endpoint));
    assert.equal(later.size, 2);
  });

  test("active health from the config: down nodes are never in the plan unless all are down", async () => {
    const host = await load(oneUpstream({ nodes: THREE }, { health: { "upstream.u1": { "10.0.0.2:80": false } } }));
    for (let i = 0; i < 8; i++) {
      const r = get(host);
      const hosts = r.header("x-apisix-upstream-hosts")!.split(",");
      assert.deepEqual(hosts.slice().sort(), ["10.0.0.1:80", "10.0.0.3:80"]);
    }
  });
});

describe("retry plan headers", () => {
  test("default retries = #nodes - 1, distinct nodes, retry-on from nginx's error/timeout", async () => {
    const host = await load(oneUpstream({ nodes: THREE }));
    const r = get(host);
    const hosts = r.header("x-apisix-upstream-hosts")!.split(",");
    assert.equal(hosts[0], r.endpoint);
    assert.deepEqual(hosts.slice().sort(), Object.keys(THREE).sort());
    assert.equal(r.header("x-envoy-max-retries"), "2");
    assert.equal(r.header("x-envoy-retry-on"), "connect-failure,refused-stream,reset");
    const p = get(host, "/", { method: "POST", body: "x" });
    assert.equal(p.header("x-envoy-retry-on"), "connect-failure,refused-stream,reset-before-request");
  });

  test("retries 0: one host, no retries; retries beyond the nodes stop where APISIX's picker runs out", async () => {
    let host = await load(oneUpstream({ nodes: THREE, retries: 0 }));
    let r = get(host);
    // override_host needs the list for its first pick; no retry, no retry headers.
    assert.equal(r.header("x-apisix-upstream-hosts"), r.endpoint);
    assert.equal(r.header("x-envoy-max-retries"), undefined);
    assert.equal(r.header("x-envoy-retry-on"), undefined);
    host = await load(oneUpstream({ nodes: { "10.0.0.1:80": 1, "10.0.0.2:80": 1 }, retries: 10 }));
    r = get(host);
    // One retry is Envoy's default once x-envoy-retry-on is set: no count header.
    assert.equal(r.header("x-envoy-max-retries"), undefined);
    assert.equal(r.header("x-envoy-retry-on"), "connect-failure,refused-stream,reset");
    assert.equal(r.retries, 1);
    // A count a client sent is overwritten, never left to Envoy.
    r = get(host, "/", { headers: { "x-envoy-max-retries": "9" } });
    assert.deepEqual(r.requestHeaders.getAll("x-envoy-max-retries"), ["1"]);
    assert.equal(r.header("x-apisix-upstream-hosts")!.split(",").length, 2);
  });

  test("single node: retries land on it again (upstream-retries.t / least_conn.t)", async () => {
    const host = await load(oneUpstream({ nodes: { "10.0.0.9:8080": 1 }, retries: 2 }));
    const r = get(host);
    // No host list: the cluster's one endpoint is every try's host.
    assert.equal(r.header("x-apisix-upstream-hosts"), undefined);
    assert.equal(r.endpoint, "10.0.0.9:8080");
    assert.equal(r.header("x-envoy-max-retries"), "2");
    const lc = await load(oneUpstream({ type: "least_conn", nodes: { "10.0.0.9:8080": 1 }, retries: 2 }));
    const l = get(lc);
    assert.equal(l.header("x-apisix-upstream-hosts"), undefined);
    assert.equal(l.header("x-envoy-max-retries"), "2");
    assert.equal(l.endpoint, "10.0.0.9:8080");
  });

  test("original-dst clusters (the default lb_mode): Envoy can only retry the first pick, so only single-node retries are asked for", async () => {
    const plain = async (config: Record<string, unknown>) => {
      const host = await ProxyWasmHost.load(FILTER_WASM, { rootId: "apisix-upstream" });
      assert.equal(host.configure(JSON.stringify(config)), true);
      return host;
    };
    // No retry possible: nothing but the cluster header and the endpoint.
    let host = await plain(oneUpstream({ nodes: THREE }));
    let r = get(host);
    assert.equal(r.header("x-apisix-upstream-hosts"), undefined);
    assert.equal(r.header("x-envoy-max-retries"), undefined);
    assert.equal(r.header("x-envoy-retry-on"), undefined);
    host = await plain(oneUpstream({ nodes: THREE }, { envoy: { lb_mode: "original-dst" } }));
    r = get(host, "/", { headers: { "x-envoy-max-retries": "9", "x-envoy-retry-on": "5xx", "x-apisix-upstream-hosts": "6.6.6.6:80" } });
    assert.deepEqual(r.requestHeaders.getAll("x-envoy-max-retries"), []);
    assert.deepEqual(r.requestHeaders.getAll("x-envoy-retry-on"), []);
    assert.deepEqual(r.requestHeaders.getAll("x-apisix-upstream-hosts"), []);
    host = await plain(oneUpstream({ nodes: { "10.0.0.9:8080": 1 }, retries: 2 }));
    r = get(host);
    assert.equal(r.header("x-apisix-upstream-hosts"), undefined);
    assert.equal(r.endpoint, "10.0.0.9:8080");
    assert.equal(r.header("x-envoy-max-retries"), "2");
    assert.equal(r.header("x-envoy-retry-on"), "connect-failure,refused-stream,reset");
    const bad = await ProxyWasmHost.load(FILTER_WASM, { rootId: "apisix-upstream" });
    assert.equal(bad.configure(JSON.stringify(oneUpstream({ nodes: THREE }, { envoy: { lb_mode: "eds" } }))), false);
    assert.ok(bad.logs.some((l) => l.message === 'invalid configuration: envoy.lb_mode: "eds" matches none of the enum values [original-dst, override-host]'));
  });

  test("a client cannot choose the upstream list or the retry policy", async () => {
    const host = await load(oneUpstream({ nodes: { "10.0.0.1:80": 1, "10.0.0.2:80": 1 }, retries: 0 }));
    const r = get(host, "/", { headers: { "x-apisix-upstream-hosts": "6.6.6.6:80", "x-envoy-max-retries": "9", "x-envoy-retry-on": "5xx" } });
    assert.deepEqual(r.requestHeaders.getAll("x-apisix-upstream-hosts"), [r.endpoint]);
    // No retry header at all (Envoy's route has no retry policy: none means none).
    assert.deepEqual(r.requestHeaders.getAll("x-envoy-max-retries"), []);
    assert.equal(r.header("x-apisix-upstream-hosts"), r.endpoint);
    assert.equal(r.header("x-envoy-retry-on"), undefined);
  });

  test("chash retries walk the ring; roundrobin plans do not disturb the rotation", async () => {
    const host = await load(oneUpstream({ type: "chash", key: "remote_addr", nodes: { "127.0.0.1:1960": 1, "127.0.0.1:1961": 1 }, retries: 3 }));
    const r = get(host);
    assert.equal(r.header("x-apisix-upstream-hosts"), "127.0.0.1:1960,127.0.0.1:1961");
    assert.equal(r.retries, 1);
    const rr = await load(oneUpstream({ nodes: { "10.0.0.1:80": 1, "10.0.0.2:80": 1 } }));
    const seq = Array.from({ length: 6 }, () => get(rr).endpoint);
    for (let i = 1; i < 6; i++) assert.notEqual(seq[i], seq[i - 1]);
  });
});

describe("robustness", () => {
  test("odd inputs never trap", async () => {
    const host = await load({
      routes: [
        {
          id: "a",
          uri: "/a",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: APISIX's own ${var} syntax, malformed on purpose
          upstream: { type: "chash", hash_on: "vars_combinations", key: "${http_x ?? }$${ }\\$x$", nodes: { "10.0.0.1:80": 1, "10.0.0.2:80": 2 } },
        },
        {
          id: "b",
          uri: "/b",
          upstream: { type: "chash", key: "remote_addr", nodes: { "10.0.0.1:80": 1000000000, "10.0.0.2:80": 2000000000, "10.0.0.3:80": 0 } },
        },
        { id: "c", uri: "/c", upstream: { nodes: { "10.0.0.1:80": 4000000000, "10.0.0.2:80": 1 }, retries: 1 } },
        { id: "d", uri: "/d", upstream: { type: "chash", key: "remote_addr", nodes: { "10.0.0.1:80": 0, "10.0.0.2:80": 0 } } },
        { id: "e", uri: "/e", upstream: { type: "ewma", nodes: { "[::1]:80": 1, "10.0.0.2:80": 1 }, retries: 100000 } },
        { id: "f", uri: "/f", upstream: { type: "chash", key: "arg_k", nodes: { "10.0.0.1:80": 999983, "10.0.0.2:80": 999979 } } },
      ],
    });
    const weird = ["", "%00", "\u00ff\u00fe", "x".repeat(5000), "${", "$", "??"];
    for (const w of weird) {
      for (const p of ["/a", "/b", "/c", "/d", "/e", "/f"]) get(host, `${p}?k=${encodeURIComponent(w)}`, { headers: { x: w.slice(0, 100) || "-" } });
    }
    const d = get(host, "/d");
    assert.equal(d.localReply?.status, 502);
    assert.ok(host.logs.some((l) => l.message === "failed to pick server: failed to find valid upstream server, no valid upstream node"));
    assert.equal(host.trapped, false, JSON.stringify(host.failure));
  });
});
