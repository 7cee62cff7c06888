// DNS resolution (injectable resolver) and the active health checker
// (state machine with a fake clock/probe, plus one loopback HTTP probe).
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { orderAddresses, resolveHosts } from "../../envoy/control-plane/dns.ts";
import {
  ActiveHealthChecker,
  activeCheckConfig,
  applyResult,
  initialState,
  networkProbe,
  probeTargets,
  type ProbeResult,
  type ProbeTarget,
} from "../../envoy/control-plane/health.ts";
import { upstreamSites } from "../../envoy/control-plane/apisix/index.ts";

test("dns: addresses IPv4 first and sorted; resolver errors surface as {error}; timeouts bounded", async () => {
  const table = await resolveHosts(
    ["b.test", "a.test", "bad.test", "empty.test", "slow.test"],
    async (h) => {
      if (h === "a.test") return ["10.0.0.9", "::1", "10.0.0.2", "10.0.0.2"];
      if (h === "b.test") return ["fd00::1"];
      if (h === "empty.test") return [];
      if (h === "slow.test") return new Promise<string[]>(() => {});
      const e = new Error(`getaddrinfo ENOTFOUND ${h}`) as NodeJS.ErrnoException;
      e.code = "ENOTFOUND";
      throw e;
    },
    100,
  );
  assert.deepEqual(Object.keys(table), ["a.test", "b.test", "bad.test", "empty.test", "slow.test"]);
  assert.deepEqual(table["a.test"], { addresses: ["10.0.0.2", "10.0.0.9", "::1"] });
  assert.deepEqual(table["b.test"], { addresses: ["fd00::1"] });
  assert.deepEqual(table["bad.test"], { error: "getaddrinfo ENOTFOUND bad.test" });
  assert.deepEqual(table["empty.test"], { error: "no address for empty.test" });
  assert.match((table["slow.test"] as { error: string }).error, /timed out/);
  assert.deepEqual(orderAddresses(["::2", "1.1.1.1"]), ["1.1.1.1", "::2"]);
});

test("dns: the real system resolver answers localhost", async () => {
  const t = await resolveHosts(["localhost"]);
  const r = t.localhost as { addresses?: string[] };
  assert.ok(r.addresses && r.addresses.length > 0, JSON.stringify(t));
  assert.ok(r.addresses.every((a) => net.isIP(a)));
});

test("health: APISIX active-check defaults", () => {
  const c = activeCheckConfig({});
  assert.equal(c.type, "http");
  assert.equal(c.http_path, "/");
  assert.equal(c.timeout, 1);
  assert.deepEqual(c.healthy, { interval: 1, http_statuses: [200, 302], successes: 2 });
  assert.deepEqual(c.unhealthy, { interval: 1, http_statuses: [429, 404, 500, 501, 502, 503, 504, 505], http_failures: 5, tcp_failures: 2, timeouts: 3 });
  assert.equal(c.concurrency, 10);
  assert.equal(c.https_verify_certificate, true);
});

test("health: state machine thresholds (http 5, tcp 2, timeouts 3, successes 2), counter resets, ignored statuses", () => {
  const c = activeCheckConfig({});
  const run = (results: ProbeResult[]) => results.reduce((s, r) => applyResult(s, r, c), initialState(0));
  const st = (status: number): ProbeResult => ({ kind: "status", status });
  const tcp: ProbeResult = { kind: "tcp_error", error: "ECONNREFUSED" };
  const to: ProbeResult = { kind: "timeout" };
  assert.equal(run([st(500), st(500), st(500), st(500)]).healthy, true);
  assert.equal(run([st(500), st(500), st(500), st(500), st(500)]).healthy, false);
  assert.equal(run([st(500), st(500), st(500), st(500), st(200), st(500)]).healthy, true, "a success resets the failure counters");
  assert.equal(run([st(500), st(500), st(500), st(500), st(418), st(500)]).healthy, false, "a status in neither list is ignored");
  assert.equal(run([tcp]).healthy, true);
  assert.equal(run([tcp, tcp]).healthy, false);
  assert.equal(run([to, to]).healthy, true);
  assert.equal(run([to, to, to]).healthy, false);
  const down = run([tcp, tcp]);
  assert.deepEqual([down.successes, down.tcpFailures], [0, 0], "counters cleared on a transition");
  assert.equal(applyResult(down, st(200), c).healthy, false);
  assert.equal(applyResult(applyResult(down, st(200), c), st(302), c).healthy, true);
  assert.equal(applyResult(applyResult(applyResult(down, st(200), c), tcp, c), st(200), c).healthy, false, "a failure resets the success counter");
  // tcp type: a connect is a success
  const t = activeCheckConfig({ type: "tcp", healthy: { successes: 1 } });
  assert.equal(applyResult({ ...down }, { kind: "connected" }, t).healthy, true);
  // 0 = that kind of failure never trips
  const z = activeCheckConfig({ unhealthy: { tcp_failures: 0 } });
  assert.equal([tcp, tcp, tcp, tcp].reduce((s, r) => applyResult(s, r, z), initialState(0)).healthy, true);
});

test("health: checker with a fake clock and probe — intervals, health table, onChange, bounded concurrency", async () => {
  let now = 0;
  const answers = new Map<string, ProbeResult>([
    ["10.0.0.1:80", { kind: "status", status: 200 }],
    ["10.0.0.2:80", { kind: "tcp_error", error: "ECONNREFUSED" }],
  ]);
  const probed: string[] = [];
  let inFlight = 0;
  let maxSeen = 0;
  const probe = async (t: ProbeTarget): Promise<ProbeResult> => {
    probed.push(t.key);
    inFlight++;
    maxSeen = Math.max(maxSeen, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight--;
    return answers.get(t.key) ?? { kind: "timeout" };
  };
  const changes: unknown[] = [];
  const checker = new ActiveHealthChecker({ probe, now: () => now, onChange: (h) => changes.push(h) });
  const sites = upstreamSites({
    upstreams: [
      {
        id: "u",
        nodes: { "10.0.0.1:80": 1, "10.0.0.2:80": 1, "svc:80": 1, "gone:80": 1 },
        checks: { active: { concurrency: 2, healthy: { interval: 2 }, unhealthy: { interval: 1, tcp_failures: 2 } } },
      },
      { id: "nochecks", nodes: { "10.0.0.9:80": 1 } },
    ],
  });
  const targets = probeTargets(sites, { svc: { addresses: ["10.0.0.3"] }, gone: { error: "ENOTFOUND" } });
  assert.deepEqual(
    targets.map((t) => `${t.cluster} ${t.key} ${t.hostname}`),
    ["upstream.u 10.0.0.1:80 10.0.0.1", "upstream.u 10.0.0.2:80 10.0.0.2", "upstream.u 10.0.0.3:80 svc"],
  );
  // A name the resolver answered with no address is not probed either (it used to become "undefined:80").
  const empty = probeTargets(sites, { svc: { addresses: [] }, gone: { error: "ENOTFOUND" } });
  assert.deepEqual(
    empty.map((t) => t.key),
    ["10.0.0.1:80", "10.0.0.2:80"],
  );
  checker.setTargets(targets);

  await checker.tick(); // t=0: concurrency 2 → two probes this tick
  assert.equal(maxSeen, 2);
  assert.deepEqual(probed.splice(0), ["10.0.0.1:80", "10.0.0.2:80"]);
  await checker.tick(); // the third target, still due at t=0
  assert.deepEqual(probed.splice(0), ["10.0.0.3:80"]);
  await checker.tick(); // nothing due
  assert.deepEqual(probed, []);
  assert.deepEqual(checker.health(), {});

  now = 2000;
  await checker.tick();
  await checker.tick();
  assert.deepEqual(probed.splice(0).sort(), ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
  // 10.0.0.2: 2 tcp failures; 10.0.0.3: 2 timeouts (< 3)
  assert.deepEqual(checker.health(), { "upstream.u": { "10.0.0.2:80": false } });
  assert.equal(changes.length, 1);

  // unhealthy targets are probed on unhealthy.interval (1s), healthy on 2s
  now = 3000;
  await checker.tick();
  assert.deepEqual(probed.splice(0), ["10.0.0.2:80"]);
  answers.set("10.0.0.2:80", { kind: "status", status: 200 });
  now = 4000;
  await checker.tick();
  await checker.tick();
  probed.splice(0);
  assert.deepEqual(checker.health()["upstream.u"], { "10.0.0.2:80": false, "10.0.0.3:80": false }, "one success of two needed; 10.0.0.3 had its 3rd timeout");
  now = 5000;
  await checker.tick();
  assert.deepEqual(checker.health(), { "upstream.u": { "10.0.0.3:80": false } });

  // a new target list keeps state for targets that stay
  checker.setTargets(targets.filter((t) => t.key !== "10.0.0.1:80"));
  assert.deepEqual(checker.health(), { "upstream.u": { "10.0.0.3:80": false } });
  checker.setTargets([]);
  assert.deepEqual(checker.health(), {});
  assert.ok(changes.length >= 3);
});

test("health: real probes over loopback (HTTP status, Host header, refused, timeout, tcp)", async () => {
  const seen: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers.host);
    if (req.url === "/hang") return; // never answers
    res.writeHead(req.url === "/healthz" ? 200 : 503).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const target = (active: Record<string, unknown>, p = port, hostname = "svc.internal"): ProbeTarget => ({
    cluster: "c",
    key: `127.0.0.1:${p}`,
    ip: "127.0.0.1",
    port: p,
    hostname,
    check: activeCheckConfig(active),
  });
  try {
    assert.deepEqual(await networkProbe(target({ http_path: "/healthz" })), { kind: "status", status: 200 });
    assert.equal(seen[0], `svc.internal:${port}`);
    assert.deepEqual(await networkProbe(target({ http_path: "/other" })), { kind: "status", status: 503 });
    assert.deepEqual(await networkProbe(target({ http_path: "/hang", timeout: 0.2 })), { kind: "timeout" });
    assert.equal((await networkProbe(target({}, deadPort))).kind, "tcp_error");
    assert.deepEqual(await networkProbe(target({ type: "tcp" })), { kind: "connected" });
    assert.equal((await networkProbe(target({ type: "tcp" }, deadPort))).kind, "tcp_error");
    // end to end: checker + real probe marks the node down after 5 bad statuses? use thresholds 1 for speed
    const checker = new ActiveHealthChecker();
    checker.setTargets([target({ http_path: "/other", unhealthy: { http_failures: 1 } })]);
    await checker.tick();
    assert.deepEqual(checker.health(), { c: { [`127.0.0.1:${port}`]: false } });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
