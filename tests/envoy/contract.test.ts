// The contract between the control plane and the filter, over fuzzed APISIX
// documents: whatever the control plane publishes, the filter accepts; every
// cluster the filter can name (x-apisix-upstream) exists in translate()'s
// output; cluster names are unique (ids chosen to collide under the old
// naming: route "a.split.0.0" next to route "a" with a traffic-split).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProxyWasmHost } from "../../host/index.ts";
import { ecdsConfiguration, translate } from "../../envoy/control-plane/translate.ts";
import { WasmValidator } from "../../envoy/control-plane/validate.ts";
import type { RawDocument } from "../../envoy/control-plane/source.ts";

const FILTER_WASM = new URL("../../build/filter.wasm", import.meta.url).pathname;
const validator = await WasmValidator.load(FILTER_WASM);
const module = await WebAssembly.compile(await import("node:fs").then((fs) => fs.readFileSync(FILTER_WASM)));

const id = fc.constantFrom("a", "a.split.0.0", "a.0", "b", "x.y", "1", "split", "route", "u");
const node = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 65535 })).map(([o, p]) => `127.0.0.${o}:${p}`);
const inline = fc.record(
  {
    nodes: fc.dictionary(node, fc.integer({ min: 0, max: 3 }), { minKeys: 1, maxKeys: 3 }),
    scheme: fc.constantFrom("http", "https", "grpc", "tcp"),
    type: fc.constantFrom("roundrobin", "chash", "least_conn"),
    key: fc.constantFrom("remote_addr", "uri", "bogus"),
  },
  { requiredKeys: ["nodes"] },
);
const split = fc.record({
  rules: fc.array(
    fc.record({
      weighted_upstreams: fc.array(
        fc.oneof(
          fc.record({ upstream: inline, weight: fc.integer({ min: 0, max: 3 }) }),
          fc.record({ upstream_id: id, weight: fc.integer({ min: 1, max: 3 }) }),
          fc.record({ weight: fc.constant(1) }),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    { minLength: 1, maxLength: 2 },
  ),
});
const route = fc.record(
  { id, upstream: inline, upstream_id: id, service_id: id, plugins: split.map((s) => ({ "traffic-split": s })) },
  { requiredKeys: ["id"] },
);
const doc = fc.record({
  routes: fc.array(route, { maxLength: 5 }),
  upstreams: fc.array(
    fc.tuple(id, inline).map(([i, u]) => ({ id: i, ...u })),
    { maxLength: 4 },
  ),
  services: fc.array(fc.record({ id, upstream: inline }, { requiredKeys: ["id"] }), { maxLength: 2 }),
});

test("contract: the filter accepts what the control plane publishes, and every cluster it names exists in translate()'s output", async () => {
  let named = 0;
  await fc.assert(
    fc.asyncProperty(doc, fc.constantFrom("original-dst", "override-host"), async (d, lbMode) => {
      // give every route a distinct uri so each can be requested
      const routes = d.routes.map((r, i) => ({ ...r, uri: `/r${i}/*` }));
      const raw: RawDocument = { origin: "fuzz", routes, upstreams: d.upstreams, services: d.services, ssls: [] };
      const v = await validator.check(raw, { lb_mode: lbMode });
      const snap = translate(v.objects, { lbMode: lbMode as "original-dst" });
      const clusters = snap.resources.clusters.map((c) => String(c.name));
      assert.equal(new Set(clusters).size, clusters.length, `cluster names unique: ${clusters.join(", ")}`);
      const json = ecdsConfiguration(snap);
      const shipped = [...json.matchAll(/"_cluster":"([^"]+)"/g)].map((m) => m[1]);
      for (const c of shipped) assert.ok(clusters.includes(c), `ECDS names ${c}, CDS has ${clusters.join(", ")}`);
      const host = new ProxyWasmHost(module, { rootId: "apisix-upstream" });
      assert.equal(host.configure(json), true, host.logs.map((l) => l.message).join("\n"));
      for (let i = 0; i < routes.length; i++)
        for (let k = 0; k < 4; k++) {
          const r = host.request({ method: "GET", path: `/r${i}/x`, authority: "example.com", source: `10.0.0.${k + 1}:1000` });
          const c = r.header("x-apisix-upstream");
          if (c === undefined) continue;
          named++;
          assert.ok(clusters.includes(c), `the filter named ${c}; CDS has ${clusters.join(", ")}`);
        }
      assert.equal(host.trapped, false);
    }),
    { seed: 0xc0ffee, numRuns: 150 },
  );
  assert.ok(named > 30, `requests were proxied (${named})`);
});
