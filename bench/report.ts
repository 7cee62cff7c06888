// The readable side of bench/run.ts: the CPU profile boiled down to shares
// and top functions, and the summary table printed at the end of a run, from
// the results object alone.
import { sourceOf } from "./wasm.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
export function summarizeProfile(p: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }) {
  const dt = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  let total = 0,
    wasmTotal = 0;
  const fns = new Map<string, number>(),
    files = new Map<string, number>(),
    js = new Map<string, number>();
  const cats = { wasm: 0, hostJs: 0, gcV8: 0, idleProgram: 0, other: 0 };
  for (const n of p.nodes) {
    const t = dt.get(n.id) ?? 0;
    if (!t) continue;
    total += t;
    const cf = n.callFrame;
    if (cf.url.startsWith("wasm://")) {
      wasmTotal += t;
      cats.wasm += t;
      fns.set(cf.functionName, (fns.get(cf.functionName) ?? 0) + t);
      const src = sourceOf(cf.functionName);
      files.set(src, (files.get(src) ?? 0) + t);
    } else if (cf.functionName === "(garbage collector)") cats.gcV8 += t;
    else if (cf.functionName === "(idle)" || cf.functionName === "(program)") cats.idleProgram += t;
    else {
      const k = `${cf.functionName || "(anonymous)"} ${cf.url.replace(/^.*\/(host|bench|node_modules)\//, "$1/").replace(/^node:/, "node:")}:${cf.lineNumber + 1}`;
      js.set(k, (js.get(k) ?? 0) + t);
      if (/\/(host|bench)\//.test(cf.url) || cf.url.startsWith("node:") || cf.url === "") cats.hostJs += t;
      else cats.other += t;
    }
  }
  const pct = (t: number, of: number) => +((100 * t) / of).toFixed(1);
  const top = (m: Map<string, number>, k: number, of: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, t]) => ({ name, ms: +(t / 1000).toFixed(0), pctOfWasm: pct(t, of), pctOfAll: pct(t, total) }));
  return {
    totalMs: +(total / 1000).toFixed(0),
    split: Object.fromEntries(Object.entries(cats).map(([k, v]) => [k, pct(v, total)])),
    wasmFunctions: top(fns, 25, wasmTotal),
    wasmBySource: top(files, 15, wasmTotal),
    hostJs: top(js, 12, total).map(({ name, ms, pctOfAll }) => ({ name, ms, pctOfAll })),
  };
}

export function printTable(r: Record<string, any>) {
  const f = (x: number, d = 0) => (x === undefined || Number.isNaN(x) ? "n/a" : x.toLocaleString("en", { maximumFractionDigits: d, minimumFractionDigits: d }));
  const lines: string[] = [];
  const row = (a: string, b: string, c = "") => lines.push(`${a.padEnd(46)} ${b.padStart(16)}   ${c}`);
  lines.push(`apisix-wasm-upstream bench — ${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}, ${r.date}`);
  lines.push("-".repeat(100));
  const pr = r.perRequest;
  row("per request, filter (wall, through the host)", `${f(pr.filter.wallNs)} ns`);
  row("per request, noop (wall, through the host)", `${f(pr.noop.wallNs)} ns`);
  row("  wall ratio filter/noop", `${f(pr.wallRatio, 2)}×`, "target ≤ 1.3×");
  row(
    "per request, filter guest-only",
    `${f(pr.filter.timedHost.guestNs)} ns`,
    `${f(pr.filter.timedHost.hostCallsPerRequest, 1)} host calls, ${f(pr.filter.timedHost.mallocsPerRequest, 1)} mallocs, ${f(pr.filter.timedHost.hostFnNs)} ns in host functions`,
  );
  row(
    "per request, noop guest-only",
    `${f(pr.noop.timedHost.guestNs)} ns`,
    `${f(pr.noop.timedHost.hostCallsPerRequest, 1)} host calls, ${f(pr.noop.timedHost.mallocsPerRequest, 1)} mallocs, ${f(pr.noop.timedHost.hostFnNs)} ns in host functions`,
  );
  row("  guest ratio filter/noop", `${f(pr.guestRatio, 2)}×`, `filter adds ${f(pr.filterAddedGuestNs)} ns of guest time`);
  lines.push("");
  for (const x of r.routeScaling.rows)
    row(`routes ${f(x.routes)} (wall / guest)`, `${f(x.wallNs)} / ${f(x.guestNs)} ns`, x.mismatches ? `${x.mismatches} MISMATCHES` : "");
  row("  10k vs 10 (wall / guest)", `${f(r.routeScaling.wallRatio10kVs10, 2)}× / ${f(r.routeScaling.guestRatio10kVs10, 2)}×`, "target ≤ 1.5×");
  lines.push("");
  const ca = r.configApply;
  row("config apply 10k routes + 1k upstreams", `${f(ca.ms, 1)} ms`, `guest ${f(ca.guestMs, 1)} ms, ${f(ca.jsonBytes / 1e6, 2)} MB JSON; target < 100 ms`);
  row(
    "  first apply / later applies (same VM)",
    `${f(ca.firstMs, 1)} / ${f(ca.steadyMs, 1)} ms`,
    `last of ${ca.allMs.length}: ${f(ca.lastMs, 1)} ms; memory after ${f(ca.memoryBytesAfter / 2 ** 20, 0)} MiB`,
  );
  lines.push("");
  for (const b of r.balancers.rows) {
    if (b.na) row(`balancer ${b.type} × ${b.nodes}`, "n/a", String(b.na).slice(0, 60));
    else
      row(
        `balancer ${b.type} × ${b.nodes} (pick guest / req wall)`,
        `${f(b.pickGuestNs)} / ${f(b.wallNs)} ns`,
        `first request (builds picker) ${f(b.firstRequestMs, 2)} ms`,
      );
  }
  lines.push("");
  if (r.regex) for (const x of r.regex.rows) row(`regex (a+)+$ vs a^${x.n}c (wall)`, `${f(x.wallNsPerRequest)} ns`, "linear in n: no backtracking");
  lines.push("");
  const m = r.memory;
  if (m.error) row("wasm memory", "n/a", String(m.error).slice(0, 80));
  else {
    row("wasm memory after 10k requests", `${f(m.after10k)} B`);
    row(`wasm memory after ${f(m.total)} requests`, `${f(m.afterAll)} B`, m.growthBytes === 0 ? "no growth" : `GREW by ${f(m.growthBytes)} B`);
  }
  lines.push("");
  const s = r.size;
  row("release .wasm size", `${f(r.size.buildBytes)} B`, `code ${f(s.codeBytes)} B, data ${f(s.dataBytes)} B; target ≤ 102,400 B`);
  if (s.bySource)
    lines.push(
      "  biggest contributors (code bytes): " +
        s.bySource
          .slice(0, 8)
          .map((x: any) => `${x.source} ${f(x.bytes)}`)
          .join(", "),
    );
  if (r.allocations) {
    const a = r.allocations;
    row(
      "host→guest mallocs / request (proxied, 404, noop)",
      `${f(a.hostToGuestMallocsPerRequest.proxied, 1)}, ${f(a.hostToGuestMallocsPerRequest.notFound404, 1)}, ${f(a.hostToGuestMallocsPerRequest.noop, 1)}`,
    );
    if (a.gc?.proxiedTypical)
      row(
        "guest GC allocations / request (proxied, 404)",
        `${f(a.gc.proxiedTypical.allocs, 0)}, ${f(a.gc.notFound404.allocs, 0)}`,
        `${f(a.gc.proxiedTypical.bytes)} B / ${f(a.gc.notFound404.bytes)} B per request`,
      );
  }
  if (r.scaling?.nodes) {
    const last = (o: Record<string, unknown>) => Object.entries(o).pop() as [string, number];
    const [n, ms] = last(r.scaling.nodes);
    row(`config apply, ${f(Number(n))} nodes in one upstream`, `${f(ms)} ms`, "target < 1 s");
    const [h, hms] = last(r.scaling.health);
    row(`config apply, ${f(Number(h))} health keys`, `${f(hms)} ms`);
  }
  if (r.callgrind) {
    lines.push("");
    for (const x of r.callgrind.rows) row(`instructions / request, ${x.subject}`, f(x.instructionsPerRequest), `${f(x.hostCalls, 1)} host calls`);
    row("  filter / noop, filter / empty", `${f(r.callgrind.ratioFilterVsNoop, 2)}× / ${f(r.callgrind.ratioFilterVsEmpty, 1)}×`, "target ≤ 1.3× of noop");
    if (r.callgrind.ratioRetryVsNoop) row("  filter-retry / noop", `${f(r.callgrind.ratioRetryVsNoop, 2)}×`, "override-host, 2 nodes, one retry planned");
    row("  10k routes / 10 routes", `${f(r.callgrind.ratio10kVs10, 2)}×`, "target ≤ 1.1×");
    row("  config apply 10k/1k: first / later", `${f(r.callgrind.apply.first / 1e6)}M / ${f(r.callgrind.apply.steady / 1e6)}M`, "instructions");
  }
  if (r.envoy?.figures) {
    lines.push("");
    for (const x of r.envoy.figures) row(`envoy ${x.variant} ${x.path}`, `${f(x.rps)} req/s`, `p50 ${f(x.p50us)} µs, p99 ${f(x.p99us)} µs`);
    const q = r.envoy.ratios;
    row("  filter-10 / noop, / static", `${f(q.filter10VsNoop * 100)}% / ${f(q.filter10VsStatic * 100)}%`, "targets ≥ 90% / ≥ 80%");
    if (q.filter10OneNodeVsNoop)
      row("  filter-10-1node / noop, / static", `${f(q.filter10OneNodeVsNoop * 100)}% / ${f(q.filter10OneNodeVsStatic * 100)}%`, "no retries possible");
    row("  filter-10k / rds-10k (last route)", `${f(q.filter10kVsRds10k * 100)}%`, "target > 100%");
    if (q.serialAddedP99us !== undefined) {
      for (const x of r.envoy.figures) row(`envoy ${x.variant}, one connection`, `p50 ${f(x.serial.p50us)} µs`, `p99 ${f(x.serial.p99us)} µs`);
      const addedText = (v: number | null | undefined) => (v === null || v === undefined ? "below static's (noise)" : `${f(v)} µs`);
      row("  p50 / p99 added by filter-10, one connection", `${addedText(q.serialAddedP50us)} / ${addedText(q.serialAddedP99us)}`, "target p99 ≤ 50 µs");
    }
  } else if (r.envoy?.error) row("envoy", "failed", r.envoy.error.slice(0, 80));
  if (r.envoyInstructions?.figures) {
    lines.push("");
    for (const x of r.envoyInstructions.figures)
      row(`envoy under callgrind, ${x.variant}`, f(x.instructionsPerRequest), "instructions / request, whole proxy process");
    const q = r.envoyInstructions.ratios;
    row("  noop / filter-10, static / filter-10", `${f(q.noopVsFilter10 * 100)}% / ${f(q.staticVsFilter10 * 100)}%`, "targets ≥ 90% / ≥ 80%");
    if (q.noopVsFilter10OneNode)
      row(
        "  noop / filter-10-1node, static / filter-10-1node",
        `${f(q.noopVsFilter10OneNode * 100)}% / ${f(q.staticVsFilter10OneNode * 100)}%`,
        "no retries possible",
      );
  } else if (r.envoyInstructions?.error) row("envoy under callgrind", "failed", r.envoyInstructions.error.slice(0, 80));
  if (r.profile?.wasmFunctions) {
    lines.push("");
    lines.push(`profile: ${JSON.stringify(r.profile.split)} (% of samples)`);
    for (const x of r.profile.wasmFunctions.slice(0, 10)) lines.push(`  ${String(x.pctOfWasm).padStart(5)}% of wasm  ${x.name}`);
  }
  console.log(lines.join("\n"));
}
