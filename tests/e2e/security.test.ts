// A client never chooses its upstream: whatever it sends in the headers that
// steer Envoy (the cluster header, the filter's try plan, ORIGINAL_DST's
// header), in any case and repeated, the route's upstream answers — checked
// on the upstream side — and none of those headers reach any upstream.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LB_MODES, type Stack, startStacks, startUpstreams, type LbMode, type TestUpstream } from "./stack.ts";

const STEERING = ["x-apisix-upstream", "x-apisix-upstream-hosts", "x-envoy-original-dst-host"];

let stacks: Record<LbMode, Stack>;
let up: Record<string, TestUpstream>;

before(async () => {
  up = await startUpstreams(["mine", "mine2", "other"]);
  stacks = await startStacks({
    concurrency: 1,
    config: `
upstreams:
  - id: mine
    nodes: {"${up.mine.addr}": 1, "${up.mine2.addr}": 1}
  - id: other
    nodes: {"${up.other.addr}": 1}
routes:
  - {id: mine, uri: /mine, upstream_id: mine}
  - {id: other, uri: /other, upstream_id: other}
`,
  });
});
after(async () => {
  await Promise.all(Object.values(stacks ?? {}).map((s) => s.stop()));
  await Promise.all(Object.values(up ?? {}).map((u) => u.close()));
});

/** Every way a client might spell the steering headers towards `target`. */
function forged(target: TestUpstream): [string, string][][] {
  const values: Record<string, string> = {
    "x-apisix-upstream": "upstream.other",
    "x-apisix-upstream-hosts": `${target.addr},${target.addr}`,
    "x-envoy-original-dst-host": target.addr,
  };
  const sets: [string, string][][] = [];
  for (const h of STEERING) {
    sets.push([[h, values[h]]]);
    sets.push([[h.toUpperCase(), values[h]]]);
    sets.push([
      [h.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase()), values[h]],
      [h, values[h]],
    ]);
  }
  sets.push(
    STEERING.flatMap(
      (h) =>
        [
          [h, values[h]],
          [h, values[h]],
        ] as [string, string][],
    ),
  );
  return sets;
}

for (const mode of LB_MODES) {
  describe(`steering headers from clients (${mode})`, () => {
    let stack: Stack;
    before(() => void (stack = stacks[mode]));

    test("forged steering headers never change the upstream, and no upstream sees them", async () => {
      const otherHits = up.other.hits;
      for (const headers of forged(up.other)) {
        const r = await stack.request({ path: "/mine", headers });
        assert.equal(r.status, 200, `${JSON.stringify(headers)}: ${r.body}`);
        assert.match(r.json.server, /^mine2?$/, JSON.stringify(headers));
        for (const h of STEERING) assert.equal(r.json.headers[h], undefined, `${h} reached the upstream (sent ${JSON.stringify(headers)})`);
      }
      assert.equal(up.other.hits, otherHits, "the forged target was never reached");
    });

    test("on a route miss a forged cluster header still gets APISIX's 404, not a proxied request", async () => {
      const otherHits = up.other.hits;
      for (const headers of forged(up.other)) {
        const r = await stack.request({ path: "/nothing", headers });
        assert.equal(r.status, 404, JSON.stringify(headers));
        assert.equal(r.body.trim(), '{"error_msg":"404 Route Not Found"}');
      }
      assert.equal(up.other.hits, otherHits);
    });

    test("the filter's own steering headers stay inside Envoy", async () => {
      // The try plan (x-apisix-upstream-hosts) must survive until Envoy's last
      // host selection (override_host reads it on every try) and is removed
      // per try by the clusters' upstream header_mutation filter; the cluster
      // header is removed by the route.
      for (const p of ["/mine", "/other"]) {
        const r = await stack.get(p);
        assert.equal(r.status, 200);
        for (const h of STEERING) assert.equal(r.json.headers[h], undefined, `${h} reached ${r.json.server}`);
      }
    });
  });
}
