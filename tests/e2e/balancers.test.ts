// APISIX's balancers through the real Envoy (one worker, so one wasm VM and
// one balancer state, as in one nginx worker).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LB_MODES, type Stack, sequence, startStacks, startUpstreams, until, type LbMode, type TestUpstream } from "./stack.ts";

let stacks: Record<LbMode, Stack>;
let up: Record<string, TestUpstream>;

before(async () => {
  up = await startUpstreams(["a", "b", "c", "s1", "s2", "s3", "hi", "lo1", "lo2"]);
  const n = (name: string, extra = "") => `{host: 127.0.0.1, port: ${up[name].port}${extra}}`;
  stacks = await startStacks({
    concurrency: 1,
    config: `
upstreams:
  - id: rr
    type: roundrobin
    nodes: [${n("a", ", weight: 5")}, ${n("b", ", weight: 1")}, ${n("c", ", weight: 1")}]
  - id: chash
    type: chash
    hash_on: header
    key: x-user
    nodes: [${n("a", ", weight: 1")}, ${n("b", ", weight: 1")}, ${n("c", ", weight: 1")}]
  - id: lc
    type: least_conn
    nodes: [${n("s1", ", weight: 1")}, ${n("s2", ", weight: 1")}, ${n("s3", ", weight: 1")}]
  - id: prio
    type: roundrobin
    nodes: [${n("lo1", ", weight: 1, priority: 0")}, ${n("hi", ", weight: 1, priority: 1")}, ${n("lo2", ", weight: 1, priority: 0")}]
    checks:
      active:
        http_path: /healthz
        healthy: {interval: 1, successes: 1}
        unhealthy: {interval: 1, http_failures: 1}
routes:
  - {id: rr, uri: /rr, upstream_id: rr}
  - {id: chash, uri: /chash, upstream_id: chash}
  - {id: lc, uri: /lc, upstream_id: lc}
  - {id: prio, uri: /prio, upstream_id: prio}
`,
  });
});
after(async () => {
  await Promise.all(Object.values(stacks ?? {}).map((s) => s.stop()));
  await Promise.all(Object.values(up ?? {}).map((u) => u.close()));
});

for (const mode of LB_MODES) {
  describe(`balancers (${mode})`, () => {
    let stack: Stack;
    before(() => void (stack = stacks[mode]));

    test("roundrobin 5:1:1 follows lua-resty-balancer's cycle a a a a a b c (from a random start)", async () => {
      const cycle = ["a", "a", "a", "a", "a", "b", "c"];
      const got = await sequence(stack, 21, "/rr");
      const start = got.indexOf("c") + 1; // the position after c is the cycle's start
      const expected = Array.from({ length: 21 }, (_, i) => cycle[(i - start + 7 * 3) % 7]);
      assert.deepEqual(got, expected);
    });

    test("chash on a header keeps each key on one upstream, and the keys spread", async () => {
      const byKey = new Map<string, Set<string>>();
      for (let round = 0; round < 3; round++)
        for (let k = 0; k < 12; k++) {
          const key = `user-${k}`;
          const r = await stack.get("/chash", { "x-user": key });
          assert.equal(r.status, 200);
          byKey.set(key, (byKey.get(key) ?? new Set()).add(r.json.server));
        }
      for (const [key, servers] of byKey) assert.equal(servers.size, 1, `${key} went to ${[...servers]}`);
      const used = new Set([...byKey.values()].map((s) => [...s][0]));
      assert.ok(used.size >= 2, `12 keys all on ${[...used]}`);
    });

    test("least_conn spreads concurrent slow requests evenly", async () => {
      const before = { s1: up.s1.hits, s2: up.s2.hits, s3: up.s3.hits };
      const hits = () => up.s1.hits + up.s2.hits + up.s3.hits - before.s1 - before.s2 - before.s3;
      // every node holds its answers until all six requests arrived
      const releases = [up.s1.hold(), up.s2.hold(), up.s3.hold()];
      const pending = Promise.all(Array.from({ length: 6 }, () => stack.get("/lc")));
      try {
        await until("six requests at the upstreams", () => (hits() === 6 ? true : undefined), 20_000, 20);
      } finally {
        releases.forEach((r) => r());
      }
      const rs = await pending;
      assert.deepEqual(
        rs.map((r) => r.status),
        Array(6).fill(200),
      );
      const count = (s: "s1" | "s2" | "s3") => rs.filter((r) => r.json.server === s).length;
      assert.deepEqual([count("s1"), count("s2"), count("s3")], [2, 2, 2]);
      assert.deepEqual([up.s1.hits - before.s1, up.s2.hits - before.s2, up.s3.hits - before.s3], [2, 2, 2]);
    });

    test("the higher priority level serves until its node is down (active check), then the lower level; then back", async () => {
      // (the other mode's control plane probes the same node: wait for its verdict)
      await until("hi serving", async () => ((await stack.get("/prio")).json?.server === "hi" ? true : undefined), 10_000, 100);
      assert.deepEqual(await sequence(stack, 4, "/prio"), ["hi", "hi", "hi", "hi"]);
      up.hi.healthStatus = 500;
      try {
        await until("hi marked down", async () => ((await stack.get("/prio")).json?.server !== "hi" ? true : undefined), 10_000, 100);
        const low = await sequence(stack, 4, "/prio");
        assert.deepEqual(low.slice().sort(), ["lo1", "lo1", "lo2", "lo2"]);
      } finally {
        up.hi.healthStatus = 200;
      }
      await until("hi back", async () => ((await stack.get("/prio")).json?.server === "hi" ? true : undefined), 10_000, 100);
      assert.deepEqual(await sequence(stack, 3, "/prio"), ["hi", "hi", "hi"]);
    });
  });
}
