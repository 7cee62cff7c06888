// Config-apply scaling in one size dimension at a time (bench/README.md,
// "Scaling"): guest time to apply a config as the dimension doubles. Linear
// growth keeps the per-unit column flat.
//
//   node --import tsx bench/scale.ts [nodes|health|prefixes] [max]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ProxyWasmHost } from "../host/index.ts";
import { ROOT } from "./wasm.ts";

const module = new WebAssembly.Module(readFileSync(join(ROOT, "build/filter.wasm")));

export function scaleConfig(dim: string, n: number): object {
  const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`;
  if (dim === "nodes") {
    return {
      routes: [{ id: "r", uri: "/*", upstream_id: "u" }],
      upstreams: [{ id: "u", nodes: Object.fromEntries(Array.from({ length: n }, (_, i) => [ip(i), 1])) }],
    };
  }
  if (dim === "health") {
    return {
      routes: [{ id: "r", uri: "/*", upstream_id: "u" }],
      upstreams: [{ id: "u", nodes: { "10.0.0.1:80": 1 } }],
      health: { "upstream.u": Object.fromEntries(Array.from({ length: n }, (_, i) => [ip(i), false])) },
    };
  }
  // prefixes: n routes whose prefix uris are 2,000 characters long.
  const long = `/${"a".repeat(1990)}`;
  return {
    routes: Array.from({ length: n }, (_, i) => ({ id: `r${i}`, uri: `${long}${i}/*`, upstream_id: "u" })),
    upstreams: [{ id: "u", nodes: { "10.0.0.1:80": 1 } }],
  };
}

export function applyMs(config: object): { ms: number; memoryBytes: number } {
  const h = new ProxyWasmHost(module, { rootId: "apisix-upstream", logLevel: 3 });
  const text = JSON.stringify(config);
  const t = performance.now();
  if (!h.configure(text))
    throw new Error(
      "rejected: " +
        h.logs
          .map((l) => l.message)
          .slice(0, 3)
          .join("; "),
    );
  const ms = performance.now() - t;
  return { ms, memoryBytes: h.memoryBytes() };
}

/** One apply per size, doubling from max/16 up to max. */
export function scaleRuns(dim: string, max: number): { n: number; ms: number; memoryBytes: number }[] {
  const out: { n: number; ms: number; memoryBytes: number }[] = [];
  for (let n = Math.max(1, Math.floor(max / 16)); n <= max; n *= 2) out.push({ n, ...applyMs(scaleConfig(dim, n)) });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dim = process.argv[2] ?? "nodes";
  const max = Number(process.argv[3] ?? (dim === "prefixes" ? 1000 : 50000));
  for (const { n, ...r } of scaleRuns(dim, max)) {
    console.log(
      `${dim} ${String(n).padStart(6)}  ${r.ms.toFixed(0).padStart(7)} ms  ${((r.ms * 1000) / n).toFixed(1).padStart(7)} µs/unit  memory ${(r.memoryBytes / 2 ** 20).toFixed(0)} MiB`,
    );
  }
}
