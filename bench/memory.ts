// Section 5 of bench/run.ts, in its own process (it measures no time, so it
// runs while the parent compiles and profiles): guest linear memory after
// 10,000 requests and after N (default 1,000,000) over a mixed workload.
// Prints one JSON object.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProxyWasmHost, type RequestDescription } from "../host/index.ts";
import { ROOT } from "./wasm.ts";
import { balancerRequests, routeRequests, routeTable } from "./workloads.ts";

const total = Number(process.argv[2] ?? 1_000_000);
const module = new WebAssembly.Module(readFileSync(join(ROOT, "build/filter.wasm")));
const cfg = routeTable(100, 10).config as { routes: object[]; upstreams: object[] };
const mixed: RequestDescription[] = [...routeRequests(100, 900, 0.1, 99).map((e) => e.req), ...balancerRequests(100)];
// chash and least_conn upstreams too, so their per-request state is exercised.
cfg.routes.push({
  id: "hash",
  uri: "/hash/*",
  upstream: { type: "chash", hash_on: "vars", key: "remote_addr", nodes: { "10.9.0.1:80": 1, "10.9.0.2:80": 1, "10.9.0.3:80": 1 } },
});
cfg.routes.push({ id: "lc", uri: "/lc/*", upstream: { type: "least_conn", nodes: { "10.9.1.1:80": 1, "10.9.1.2:80": 1 } } });
const h = new ProxyWasmHost(module, { rootId: "apisix-upstream", logLevel: 2 });
let extra = true;
if (!h.configure(JSON.stringify(cfg))) {
  cfg.routes.splice(-2);
  extra = false;
  if (!h.configure(JSON.stringify(cfg))) throw new Error("memory workload config rejected");
} else {
  for (let j = 0; j < 100; j++)
    mixed.push({ path: `/hash/${j}`, authority: "example.com", source: `198.51.100.${j}:1000` }, { path: `/lc/${j}`, authority: "example.com" });
}
const checkpoints = new Set([10_000, 100_000, 250_000, 500_000, 1_000_000, total].filter((c) => c <= total));
const bytesAt: Record<string, number> = {};
const t = performance.now();
for (let i = 1; i <= total; i++) {
  h.request(mixed[i % mixed.length]);
  if ((i & 1023) === 0) h.clearLogs();
  if (checkpoints.has(i)) bytesAt[String(i)] = h.memoryBytes();
}
if (h.trapped) throw new Error(`trapped during the memory run: ${JSON.stringify(h.failure)}`);
process.stdout.write(
  `${JSON.stringify({
    workload: `100 routes${extra ? " + chash and least_conn upstreams" : ""}, ${mixed.length} request shapes (10% 404s), ${total} requests`,
    total,
    bytesAt,
    after10k: bytesAt["10000"],
    afterAll: bytesAt[String(total)],
    growthBytes: bytesAt[String(total)] - bytesAt["10000"],
    seconds: (performance.now() - t) / 1000,
    target: "no growth",
  })}\n`,
);
