// pick_server through the real build/filter.wasm in the proxy-wasm host:
// every balancer type, passive health, the retry plan handed to Envoy.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { ManualClock, type ProxyWasmHost, type RequestDescription, type RequestResult } from "../../host/index.ts";
import { balancerHost as load, get, LOG, oneUpstream, overrideHost, tally as counts } from "../filter/helpers.ts";

const WARN = LOG.warn;

function picked(r: RequestResult): string {
  assert.equal(r.localReply, undefined, `no local reply: ${JSON.stringify(r.localReply)}`);
  return r.endpoint!;
}

function healthy(host: ProxyWasmHost): void {
  assert.equal(host.trapped, false, `VM trapped: ${JSON.stringify(host.failure)}`);
}

describe("roundrobin", () => {
  test("rr-balance.t: weights 3/2/1 → 6/4/2 over 12 requests, weight 0 never", async () => {
    const host = await load(oneUpstream({ nodes: { "127.0.0.1:1980": 3, "127.0.0.1:1981": 2, "127.0.0.1:1982": 1 } }));
    const got: string[] = [];
    // whatever the random start, 12 consecutive picks cover two full cycles
    for (let i = 0; i < 12; i++) got.push(picked(get(host)));
    assert.deepEqual(counts(got), { "127.0.0.1:1980": 6, "127.0.0.1:1981": 4, "127.0.0.1:1982": 2 });
    const h0 = await load(oneUpstream({ nodes: { "127.0.0.1:1980": 3, "127.0.0.1:1981": 0, "127.0.0.1:1982": 1 } }));
    const g0: string[] = [];
    for (let i = 0; i < 12; i++) g0.push(picked(get(h0)));
    assert.deepEqual(counts(g0), { "127.0.0.1:1980": 9, "127.0.0.1:1982": 3 });
    healthy(host);
  });
});

describe("chash", () => {
  test("chash-balance.t / chash-hashon.t vectors", async () => {
    const two = { "127.0.0.1:1980": 1, "127.0.0.1:1981": 1 };
    let host = await load(oneUpstream({ type: "chash", key: "remote_addr", nodes: two }));
    for (let i = 0; i < 12; i++) assert.equal(picked(get(host)), "127.0.0.1:1980");
    host = await load(oneUpstream({ type: "chash", key: "remote_addr", nodes: { ...two, "127.0.0.1:1982": 1 } }));
    for (let i = 0; i < 12; i++) assert.equal(picked(get(host)), "127.0.0.1:1982");

    host = await load(oneUpstream({ type: "chash", hash_on: "header", key: "X-Sessionid", nodes: two }));
    const ports = [1, 2, 3, 4, 5, 6].map((i) => picked(get(host, "/", { headers: { "x-sessionid": `chash_val_${i}` } })).split(":")[1]);
    assert.deepEqual(ports, ["1981", "1980", "1980", "1981", "1980", "1981"]);

    host = await load(oneUpstream({ type: "chash", hash_on: "cookie", key: "custom-cookie", nodes: two }));
    assert.equal(picked(get(host, "/", { headers: { cookie: "custom-cookie=cuscookie" } })), "127.0.0.1:1981");

    host = await load(oneUpstream({ type: "chash", hash_on: "vars_combinations", key: "$http_custom_header-$http_custom_header_second", nodes: two }));
    assert.equal(picked(get(host, "/", { headers: { custom_header: "custom-one", custom_header_second: "custom-two" } })), "127.0.0.1:1980");
    healthy(host);
  });

  test("nil key: remote_addr fallback with APISIX's warning; consumer hashing falls back too", async () => {
    const host = await load(oneUpstream({ type: "chash", hash_on: "consumer", nodes: { "127.0.0.1:1980": 1, "127.0.0.1:1981": 1 } }));
    const r = get(host, "/", { source: "10.9.8.7:4000" });
    picked(r);
    assert.ok(
      r.logs.some((l) => l.level === WARN && l.message === "chash_key fetch is nil, use default chash_key remote_addr: 10.9.8.7"),
      JSON.stringify(r.logs),
    );
  });

  test("connection variables as keys: remote_port, server_addr, server_port come from Envoy's connection", async () => {
    const nodes = { "10.0.0.1:80": 1, "10.0.0.2:80": 1, "10.0.0.3:80": 1 };
    const spread = async (key: string, vary: (i: number) => RequestDescription, hashOn = "vars"): Promise<string[]> => {
      const host = await load(oneUpstream({ type: "chash", hash_on: hashOn, key, nodes }));
      const got = Array.from({ length: 30 }, (_, i) => {
        const r = get(host, "/", vary(i));
        // a nil key would fall back to remote_addr (one node for one client IP)
        assert.ok(!r.logs.some((l) => l.message.startsWith("chash_key fetch is nil")), `${key}: ${JSON.stringify(r.logs)}`);
        return picked(r);
      });
      assert.deepEqual(
        got,
        Array.from({ length: 30 }, (_, i) => picked(get(host, "/", vary(i)))),
        `${key}: same key, same node`,
      );
      return got;
    };
    const byPort = await spread("remote_port", (i) => ({ source: `127.0.0.1:${4000 + i}` }));
    assert.ok(new Set(byPort).size > 1, "client ports spread over the nodes");
    const byAddr = await spread("server_addr", (i) => ({ destination: `10.1.0.${i}:9080` }));
    assert.ok(new Set(byAddr).size > 1, "listener addresses spread over the nodes");
    // APISIX's schema allows server_port only inside vars_combinations
    const byServerPort = await spread("$server_port", (i) => ({ destination: `127.0.0.1:${9000 + i}` }), "vars_combinations");
    assert.ok(new Set(byServerPort).size > 1, "listener ports spread over the nodes");
    // the same var through vars_combinations, and an IPv6 listener address without brackets or port
    const combo = await spread("$server_addr", (i) => ({ destination: `[fd00::${i + 1}]:9080` }), "vars_combinations");
    assert.deepEqual(combo, await spread("server_addr", (i) => ({ destination: `[fd00::${i + 1}]:9080` })));
  });

  test("same key → same node; an unhealthy node keeps the ring and only its keys move", async () => {
    const nodes = { "10.0.0.1:80": 1, "10.0.0.2:80": 1, "10.0.0.3:80": 1 };
    const cfg = oneUpstream({ type: "chash", key: "arg_k", nodes }) as Record<string, unknown>;
    const host = await load(cfg);
    const before = Array.from({ length: 60 }, (_, i) => picked(get(host, `/?k=${i}`)));
    assert.deepEqual(
      before,
      Array.from({ length: 60 }, (_, i) => picked(get(host, `/?k=${i}`))),
    );
    host.configure(JSON.stringify(overrideHost({ ...cfg, health: { "upstream.u1": { "10.0.0.2:80": false } } })));
    const after = Array.from({ length: 60 }, (_, i) => picked(get(host, `/?k=${i}`)));
    for (let i = 0; i < 60; i++) {
      assert.notEqual(after[i], "10.0.0.2:80");
      if (before[i] !== "10.0.0.2:80") assert.equal(after[i], before[i], `key ${i} moved`);
    }
  });
});

describe("ewma", () => {
  test("ewma.t: the 1 ms node gets 11 of 12 sequential requests against a 5 ms one", async () => {
    const clock = new ManualClock(1_700_000_000_000);
    for (let round = 0; round < 5; round++) {
      const host = await load(oneUpstream({ type: "ewma", nodes: { "127.0.0.1:1980": 100, "127.0.0.1:1981": 100 } }), clock);
      const got: string[] = [];
      for (let i = 0; i < 12; i++) {
        const s = host.stream({ method: "GET", path: "/", authority: "example.com", source: "127.0.0.1:5555" });
        s.requestHeaders(true);
        const addr = s.endpoint!;
        got.push(addr);
        const ms = addr.endsWith(":1980") ? 1 : 5;
        clock.advance(ms);
        s.responseHeaders(200, {}, true);
        s.complete({ durationMs: ms });
      }
      assert.equal(got.filter((a) => a.endsWith(":1980")).length, 11, got.join(" "));
      clock.advance(120_000); // past the 60 s TTL before the next VM's round
    }
  });
});

describe("least_conn", () => {
  test("least_conn.t: weights 3/2, 3 concurrent → 127.0.0.1, 0.0.0.0, 127.0.0.1; released in the log phase", async () => {
    const host = await load(oneUpstream({ type: "least_conn", nodes: { "127.0.0.1:1980": 3, "0.0.0.0:1980": 2 } }));
    const open = [0, 1, 2].map(() => {
      const s = host.stream({ method: "GET", path: "/", authority: "example.com" });
      s.requestHeaders(true);
      return s;
    });
    assert.deepEqual(
      open.map((s) => s.endpoint),
      ["127.0.0.1:1980", "0.0.0.0:1980", "127.0.0.1:1980"],
    );
    for (const s of open) {
      s.responseHeaders(200, {}, true);
      s.complete();
    }
    // all released: back to the initial scores
    assert.equal(picked(get(host)), "127.0.0.1:1980");
    assert.equal(picked(get(host)), "127.0.0.1:1980");
    // a stream reset by the client also releases
    const s = host.stream({ method: "GET", path: "/", authority: "example.com" });
    s.requestHeaders(true);
    assert.equal(s.endpoint, "127.0.0.1:1980");
    s.reset();
    assert.equal(picked(get(host)), "127.0.0.1:1980");
    assert.ok(!host.logs.some((l) => l.message.includes("released a connection never picked")));
  });

  test("counts survive a config reload that changes the nodes (least_conn3.t)", async () => {
    const cfg = oneUpstream({ type: "least_conn", nodes: { "127.0.0.1:1980": 1, "127.0.0.1:1981": 1 } });
    const host = await load(cfg);
    const held = [0, 1, 2, 3].map(() => {
      const s = host.stream({ path: "/" });
      s.requestHeaders(true);
      return s;
    });
    assert.deepEqual(counts(held.map((s) => s.endpoint!)), { "127.0.0.1:1980": 2, "127.0.0.1:1981": 2 });
    host.configure(JSON.stringify(overrideHost(oneUpstream({ type: "least_conn", nodes: { "127.0.0.1:1980": 1, "127.0.0.1:1981": 1, "127.0.0.1:1982": 1 } }))));
    const a = host.stream({ path: "/" });
    a.requestHeaders(true);
    const b = host.stream({ path: "/" });
    b.requestHeaders(true);
    assert.deepEqual([a.endpoint, b.endpoint], ["127.0.0.1:1982", "127.0.0.1:1982"]);
  });
});

describe("priority", () => {
  test("priority-balancer/sanity.t: the plan walks the levels highest first", async () => {
    const host = await load(
      oneUpstream({
        type: "least_conn",
        nodes: [
          { host: "127.0.0.1", port: 1979, weight: 2, priority: 1 },
          { host: "127.0.0.2", port: 1979, weight: 1, priority: 1 },
          { host: "127.0.0.3", port: 1979, weight: 2, priority: 0 },
          { host: "127.0.0.4", port: 1979, weight: 1, priority: 0 },
          { host: "127.0.0.1", port: 1980, weight: 2, priority: -1 },
        ],
      }),
    );
    for (let rep = 0; rep < 2; rep++) {
      const r = get(host);
      assert.equal(picked(r), "127.0.0.1:1979");
      assert.equal(r.header("x-apisix-upstream-hosts"), "127.0.0.1:1979,127.0.0.2:1979,127.0.0.3:1979,127.0.0.4:1979,127.0.0.1:1980");
      assert.equal(r.header("x-envoy-max-retries"), "4");
    }
  });
});
