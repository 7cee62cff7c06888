// The loop bench/run.ts profiles: run under `node --cpu-prof --import tsx
// bench/profile.ts <wasm> <seconds>` it drives the typical mix and a
// 1,000-route table through the given filter binary (the release code with a
// name section, so V8 names the wasm functions) for the given time.
import { readFileSync } from "node:fs";
import { ProxyWasmHost } from "../host/index.ts";
import { routeRequests, routeTable, typicalConfig } from "./workloads.ts";

const [wasm, seconds = "6"] = process.argv.slice(2);
const module = new WebAssembly.Module(readFileSync(wasm));
const opts = { rootId: "apisix-upstream", logLevel: 2 as const };

const typical = typicalConfig();
const a = new ProxyWasmHost(module, opts);
if (!a.configure(JSON.stringify(typical.config))) throw new Error("typical config rejected");
const table = routeTable(1000, 100);
const b = new ProxyWasmHost(module, opts);
if (!b.configure(JSON.stringify(table.config))) throw new Error("route table rejected");
const tableReqs = routeRequests(1000, 1000, 0.1, 7).map((e) => e.req);

const end = performance.now() + Number(seconds) * 1000;
let n = 0;
while (performance.now() < end) {
  for (let i = 0; i < 500; i++) {
    a.request(typical.reqs[n % typical.reqs.length]);
    b.request(tableReqs[n % tableReqs.length]);
    n++;
  }
  a.clearLogs();
  b.clearLogs();
}
process.stdout.write(`${JSON.stringify({ requests: 2 * n })}\n`);
