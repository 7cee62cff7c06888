// Fuzzing the balancers through the real build/filter.wasm (fast-check, fixed
// seeds): random node sets, weights and priorities, 100,000 requests in all.
// Every pick is a node of the upstream; roundrobin never picks a weight-0 node
// unless every weight is 0; nothing traps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { ProxyWasmHost } from "../../host/index.ts";
import { FILTER_WASM, LOG, errorLogs } from "../filter/helpers.ts";

const module = new WebAssembly.Module(readFileSync(FILTER_WASM));
const bracket = (a: string) => (a.includes(":") ? `[${a}]` : a);

interface NodeSpec {
  host: string;
  port: number;
  weight: number;
  priority: number;
}

const node: fc.Arbitrary<NodeSpec> = fc.record({
  host: fc.oneof({ weight: 4, arbitrary: fc.ipV4() }, { weight: 1, arbitrary: fc.ipV6() }),
  port: fc.integer({ min: 1, max: 65535 }),
  weight: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 20 }) },
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 21, max: 100 }) },
  ),
  priority: fc.constant<number>(0),
});
const uniqueNodes = (min: number, max: number, arb = node) =>
  fc.uniqueArray(arb, { minLength: min, maxLength: max, selector: (n) => `${bracket(n.host)}:${n.port}` });

const TYPES = ["roundrobin", "chash", "ewma", "least_conn"] as const;
const upstreamOf = (type: string, nodes: NodeSpec[], withPriority: boolean) => {
  const up: Record<string, unknown> = {
    id: "b",
    type,
    nodes: withPriority
      ? nodes.map((n) => ({ host: bracket(n.host), port: n.port, weight: n.weight, priority: n.priority }))
      : Object.fromEntries(nodes.map((n) => [`${bracket(n.host)}:${n.port}`, n.weight])),
  };
  if (type === "chash") Object.assign(up, { hash_on: "vars", key: "remote_addr" });
  return up;
};

/** The address the filter hands Envoy for a node: IPv6 bracketed. */
const address = (n: NodeSpec) => `${bracket(n.host)}:${n.port}`;

// A normalised IPv6 text may differ from the generated one (e.g. "0:0::1" → "::1"),
// so addresses are compared through a canonical form.
function canonical(addr: string): string {
  const m = /^\[(.*)\]:(\d+)$/.exec(addr);
  if (!m) return addr;
  return `[${expand6(m[1])}]:${m[2]}`;
}
function expand6(a: string): string {
  let s = a.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [x, y, z, w] = v4.slice(1).map(Number);
    s = `${s.slice(0, v4.index) + ((x << 8) | y).toString(16)}:${((z << 8) | w).toString(16)}`;
  }
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const fill = tail !== undefined ? Array(8 - h.length - t.length).fill("0") : [];
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16).toString(16)).join(":");
}

const sourceArb = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `${a}:${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `[${a}]:${p}`),
);

let totalRequests = 0;

function newHost(): ProxyWasmHost {
  return new ProxyWasmHost(module, { rootId: "apisix-upstream", logLevel: LOG.info, maxLogs: 5000 });
}

function configureOrSkip(host: ProxyWasmHost, type: string, nodes: NodeSpec[], withPriority: boolean): boolean {
  const from = host.logs.length;
  const ok = host.configure(JSON.stringify({ routes: [{ id: "r", uri: "/*", upstream_id: "b" }], upstreams: [upstreamOf(type, nodes, withPriority)] }));
  assert.equal(host.trapped, false, `trapped configuring: ${JSON.stringify(host.failure)}`);
  if (!ok) {
    // A balancer type not implemented yet is rejected naming the field; anything else is a bug.
    const errs = errorLogs(host.logs.slice(from));
    assert.ok(
      errs.some((m) => m.startsWith("invalid configuration: upstreams[b].type")),
      `rejected: ${errs.join("\n")}\n${JSON.stringify(nodes)}`,
    );
  }
  return ok;
}

test("fuzz: 1,600 random upstreams × 50 requests: picks are nodes of the upstream; roundrobin skips weight 0 unless all are 0", () => {
  const host = newHost();
  const skipped = new Set<string>();
  fc.assert(
    fc.property(fc.constantFrom(...TYPES), uniqueNodes(1, 24), fc.array(sourceArb, { minLength: 50, maxLength: 50 }), (type, nodes, sources) => {
      if (!configureOrSkip(host, type, nodes, false)) {
        skipped.add(type);
        return;
      }
      const all = new Map(nodes.map((n) => [canonical(address(n)), n]));
      const allZero = nodes.every((n) => n.weight === 0);
      for (const src of sources) {
        const r = host.request({ method: "GET", path: "/x", authority: "example.com", source: src });
        totalRequests++;
        const ctx = `${type} ${JSON.stringify(nodes)} from ${src}`;
        assert.equal(host.trapped, false, `trapped: ${JSON.stringify(host.failure)}\n${ctx}`);
        if (r.localReply) {
          // Only a set with no usable node may fail the pick (e.g. chash over all-zero weights).
          assert.ok(allZero, `${ctx}: answered ${r.localReply.status}: ${r.logs.map((l) => l.message).join("; ")}`);
          assert.equal(r.localReply.status, 502, ctx);
          continue;
        }
        const dst = r.endpoint!;
        const picked = all.get(canonical(dst));
        assert.ok(picked, `${ctx}: picked ${dst}, not a node`);
        if (type === "roundrobin" && !allZero && nodes.length > 1) assert.notEqual(picked.weight, 0, `${ctx}: roundrobin picked weight-0 node ${dst}`);
      }
      if (host.logs.length > 4000) host.clearLogs();
    }),
    { seed: 0x5eed20, numRuns: 1600, endOnFailure: true },
  );
  if (skipped.size) console.log(`balancer types rejected by the filter (not implemented?): ${[...skipped].join(", ")}`);
});

test("fuzz: roundrobin over a full cycle picks each node in proportion to its weight (small weights)", () => {
  const host = newHost();
  const small = node.map((n) => ({ ...n, weight: n.weight % 6 }));
  fc.assert(
    fc.property(uniqueNodes(2, 8, small), (nodes) => {
      if (!configureOrSkip(host, "roundrobin", nodes, false)) return;
      const total = nodes.reduce((a, n) => a + n.weight, 0);
      if (total === 0) return;
      // Skip the fresh picker's partial first cycle, then count two full cycles.
      for (let i = 0; i < total; i++) host.request({ path: "/", authority: "example.com" });
      const counts = new Map<string, number>();
      for (let i = 0; i < 2 * total; i++) {
        const r = host.request({ path: "/", authority: "example.com" });
        totalRequests++;
        const k = canonical(r.endpoint!);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      for (const n of nodes) assert.equal(counts.get(canonical(address(n))) ?? 0, 2 * n.weight, `${JSON.stringify(nodes)} → ${JSON.stringify([...counts])}`);
      if (host.logs.length > 4000) host.clearLogs();
    }),
    { seed: 0x5eed21, numRuns: 300, endOnFailure: true },
  );
});

test("fuzz: priorities: every pick comes from the highest priority level that has a usable node", () => {
  const host = newHost();
  const prioritized = fc.record({
    host: fc.ipV4(),
    port: fc.integer({ min: 1, max: 65535 }),
    weight: fc.integer({ min: 1, max: 10 }),
    priority: fc.integer({ min: -2, max: 2 }),
  });
  fc.assert(
    fc.property(fc.constantFrom(...TYPES), uniqueNodes(1, 12, prioritized), fc.array(sourceArb, { minLength: 30, maxLength: 30 }), (type, nodes, sources) => {
      if (!configureOrSkip(host, type, nodes, true)) return;
      const top = Math.max(...nodes.map((n) => n.priority));
      const allowed = new Set(nodes.filter((n) => n.priority === top).map(address));
      for (const src of sources) {
        const r = host.request({ path: "/", authority: "example.com", source: src });
        totalRequests++;
        assert.equal(host.trapped, false, JSON.stringify(host.failure));
        assert.equal(r.localReply, undefined, `${type} ${JSON.stringify(nodes)}: ${r.localReply?.status}`);
        assert.ok(allowed.has(r.endpoint!), `${type} ${JSON.stringify(nodes)}: picked ${r.endpoint} outside priority ${top}`);
      }
      if (host.logs.length > 4000) host.clearLogs();
    }),
    { seed: 0x5eed22, numRuns: 700, endOnFailure: true },
  );
});

test("fuzz: over 100,000 balancer requests were made", () => {
  assert.ok(totalRequests >= 100_000, `only ${totalRequests} requests`);
});
