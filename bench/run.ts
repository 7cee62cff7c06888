// `npm run bench`: the release filter (build/filter.wasm) in the proxy-wasm
// host emulator, in Node's V8 (Envoy's default Wasm runtime), against the
// no-op baseline (build/noop.wasm); instruction counts under callgrind
// (bench/callgrind.ts); throughput through the real Envoy (bench/envoy.ts).
// Prints a table and writes bench/results.local.json (git-ignored); the
// committed reference bench/results.json changes only with --update-reference.
// See bench/README.md for what each number means.
//
//   npm run bench                      everything
//   npm run bench -- --quick           fewer rounds, 100k instead of 1M requests for the memory check
//   npm run bench -- --no-compile      skip the named re-compile (no size breakdown, profile, GC counts)
//   npm run bench -- --no-callgrind    skip the instruction counts (valgrind)
//   npm run bench -- --no-envoy        skip the real-Envoy runs (wrk, and Envoy under callgrind)
//   npm run bench -- --update-reference  also write bench/results.json
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { ProxyWasmHost, type HostOptions, type RequestDescription } from "../host/index.ts";
import { ROUTE_STATE_KEY } from "../envoy/control-plane/apisix/index.ts";
import { Meter, guestExports, interleaved, median, now, timedHost, type Subject } from "./lib.ts";
import { ROOT, analyseCompiled, countAllocations, layout, namedCompileCommand, writeTmp, type Compiled } from "./wasm.ts";
import { balancerConfig, balancerRequests, routeRequests, routeTable, typicalConfig, upstreams } from "./workloads.ts";
import { measure, measureApply, valgrindAvailable } from "./callgrind.ts";
import { runEnvoyBench, wrkAvailable } from "./envoy.ts";
import { runEnvoyCallgrind } from "./envoy-callgrind.ts";
import { scaleRuns } from "./scale.ts";
import { printTable, summarizeProfile } from "./report.ts";

const args = new Set(process.argv.slice(2));
const QUICK = args.has("--quick");
const COMPILE = !args.has("--no-compile");
const CALLGRIND = !args.has("--no-callgrind");
const ENVOY = !args.has("--no-envoy");
const UPDATE_REFERENCE = args.has("--update-reference");
const FILTER = join(ROOT, "build/filter.wasm");
const NOOP = join(ROOT, "build/noop.wasm");
const t0 = now();
const log = (s: string) => process.stderr.write(`[bench ${((now() - t0) / 1000).toFixed(1)}s] ${s}\n`);

for (const f of [FILTER, NOOP])
  if (!existsSync(f)) {
    console.error(`${f} is missing: run npm run build first`);
    process.exit(1);
  }

// Envoy's default log level is info: debug/trace guest logs are dropped by the host.
const FILTER_OPTS: HostOptions = { rootId: "apisix-upstream", logLevel: 2 };
const NOOP_OPTS: HostOptions = { rootId: "noop", logLevel: 2 };
const filterBytes = readFileSync(FILTER);
const filterModule = new WebAssembly.Module(filterBytes);
const noopModule = new WebAssembly.Module(readFileSync(NOOP));

function filterHost(config: object, module = filterModule): ProxyWasmHost {
  const h = new ProxyWasmHost(module, FILTER_OPTS);
  if (!h.configure(JSON.stringify(config)))
    throw new Error(
      "config rejected: " +
        h.logs
          .filter((l) => l.level >= 4)
          .map((l) => l.message)
          .slice(0, 3)
          .join("; "),
    );
  return h;
}

const meter = new Meter();
const timerBias = meter.calibrate();
const R = QUICK ? { rounds: 3, roundMs: 150, warmMs: 150 } : { rounds: 7, roundMs: 250, warmMs: 300 };
const timed = (module: WebAssembly.Module, opts: HostOptions, config: string) => {
  const m = new Meter();
  m.bias = timerBias;
  const h = timedHost(module, opts, m);
  if (!h.configure(config)) throw new Error("config rejected by the timed host");
  return { host: h, meter: m };
};

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
  },
  filter: { file: "build/filter.wasm", bytes: filterBytes.length, mtime: statSync(FILTER).mtime.toISOString() },
  method: {
    host: "host/ (TypeScript proxy-wasm ABI 0.2 host) in this Node's V8; host.request = request headers → upstream 200 → response headers → log → done → delete",
    logLevel: "info (Envoy's default): the filter's per-request info line is recorded by the host",
    timing: "performance.now(); warm-up, then several rounds; medians reported",
    guestSplit: `timed host: clock read at every guest↔host crossing; ${timerBias.toFixed(0)} ns per segment (measured) subtracted`,
    quick: QUICK,
  },
};

// ---------------------------------------------------------------- 1. filter vs noop

log("1. per-request cost: filter vs noop");
const typical = typicalConfig();
{
  const f = filterHost(typical.config);
  const n = new ProxyWasmHost(noopModule, NOOP_OPTS);
  n.configure("{}");
  // Sanity: every request of the mix is proxied.
  for (const q of typical.reqs) {
    const r = f.request(q);
    if (r.localReply || !r.header("x-apisix-upstream")) throw new Error(`typical request not proxied: ${q.path}`);
  }
  const ft = timed(filterModule, FILTER_OPTS, JSON.stringify(typical.config));
  const nt = timed(noopModule, NOOP_OPTS, "{}");
  const res = interleaved(
    [
      { name: "filter", host: f, reqs: typical.reqs },
      { name: "noop", host: n, reqs: typical.reqs },
      { name: "filterTimed", host: ft.host, meter: ft.meter, reqs: typical.reqs },
      { name: "noopTimed", host: nt.host, meter: nt.meter, reqs: typical.reqs },
    ],
    R.rounds,
    R.roundMs,
    R.warmMs,
  );
  const fl = res.get("filter")!,
    nl = res.get("noop")!;
  const fs = res.get("filterTimed")!,
    ns = res.get("noopTimed")!;
  results.perRequest = {
    workload:
      "5 routes (exact, prefix + methods, host, vars, catch-all), 2 upstreams of 2-3 nodes (roundrobin), 6 request shapes incl. IPv6 source; all proxied",
    filter: { wallNs: fl.ns, wallRounds: fl.rounds, timedHost: fs },
    noop: { wallNs: nl.ns, wallRounds: nl.rounds, timedHost: ns },
    wallRatio: fl.ns / nl.ns,
    guestRatio: fs.guestNs! / ns.guestNs!,
    filterAddedWallNs: fl.ns - nl.ns,
    filterAddedGuestNs: fs.guestNs! - ns.guestNs!,
    target: "≤ 1.3× (see README: which ratio this can be judged on)",
  };
}

// ---------------------------------------------------------------- 2. route table scaling

log("2. route-table scaling");
{
  const sizes = [10, 100, 1000, 10000];
  const rows: Record<string, unknown>[] = [];
  const subjects: Subject[] = [];
  const info = new Map<number, { mismatches: number; misses: number; ups: number }>();
  for (const size of sizes) {
    const ups = Math.min(size, 100);
    const { config } = routeTable(size, ups);
    const h = filterHost(config);
    // The route a request took is the filter state the filter writes for
    // Envoy's access log.
    const hv = new ProxyWasmHost(filterModule, FILTER_OPTS);
    if (!hv.configure(JSON.stringify(config))) throw new Error("route table rejected");
    const exp = routeRequests(size, 1000, 0.1, 42 + size);
    let bad = 0;
    for (const e of exp) {
      const r = hv.request(e.req);
      const got = r.localReply ? String(r.localReply.status) : r.filterState.get(ROUTE_STATE_KEY);
      if (got !== e.want) {
        bad++;
        if (bad <= 3) log(`  routes=${size}: ${e.req.method} ${e.req.authority}${e.req.path} → ${got}, expected ${e.want}`);
      }
    }
    const reqs = exp.map((e) => e.req);
    const t = timed(filterModule, FILTER_OPTS, JSON.stringify(config));
    subjects.push({ name: `wall${size}`, host: h, reqs }, { name: `timed${size}`, host: t.host, meter: t.meter, reqs });
    info.set(size, { mismatches: bad, misses: exp.filter((e) => e.want === "404").length / exp.length, ups });
  }
  const res = interleaved(subjects, R.rounds, R.roundMs, R.warmMs);
  for (const size of sizes) {
    const w = res.get(`wall${size}`)!,
      g = res.get(`timed${size}`)!;
    const i = info.get(size)!;
    rows.push({ routes: size, upstreams: i.ups, wallNs: w.ns, guestNs: g.guestNs, hostFnNs: g.hostFnNs, mismatches: i.mismatches, misses: i.misses });
    log(`  ${size} routes: ${w.ns.toFixed(0)} ns/req wall, ${g.guestNs!.toFixed(0)} ns guest${i.mismatches ? `, ${i.mismatches} MISMATCHES` : ""}`);
  }
  const first = rows[0] as { wallNs: number; guestNs: number };
  const last = rows[rows.length - 1] as { wallNs: number; guestNs: number };
  results.routeScaling = {
    workload:
      "40% exact uris, 30% /svc-N/* prefixes, 20% host-bound, 10% method-restricted; 1,000 distinct requests spread uniformly over the table, 10% 404s (3 kinds)",
    rows,
    wallRatio10kVs10: last.wallNs / first.wallNs,
    guestRatio10kVs10: last.guestNs / first.guestNs,
    target: "≤ 1.5×",
  };
}

// ---------------------------------------------------------------- 3. config apply

log("3. config apply: 10,000 routes, 1,000 upstreams");
{
  const { config } = routeTable(10000, 1000);
  const json = JSON.stringify(config);
  const h = new ProxyWasmHost(filterModule, FILTER_OPTS);
  const times: number[] = [];
  const runs = QUICK ? 3 : 7;
  for (let i = 0; i < runs; i++) {
    const t = now();
    if (!h.configure(json)) throw new Error("10k config rejected");
    times.push(now() - t);
    h.clearLogs();
  }
  const m = new Meter();
  m.bias = timerBias;
  const th = timedHost(filterModule, FILTER_OPTS, m);
  const guest: number[] = [],
    hostFn: number[] = [];
  for (let i = 0; i < 3; i++) {
    m.reset();
    th.configure(json);
    guest.push(m.guestNs() / 1e6);
    hostFn.push(m.hostFnNs() / 1e6);
  }
  // The first request after a config builds the route index lazily? Measure it.
  const t = now();
  h.request({ path: "/api/v0/items", authority: "example.com" });
  const firstRequestMs = now() - t;
  results.configApply = {
    routes: 10000,
    upstreams: 1000,
    jsonBytes: json.length,
    ms: median(times),
    allMs: times,
    firstMs: times[0],
    // Apply 2..n in the same VM (Envoy's config-only updates keep the VM).
    steadyMs: median(times.slice(1)),
    lastMs: times[times.length - 1],
    guestMs: median(guest),
    hostFnMs: median(hostFn),
    firstRequestAfterMs: firstRequestMs,
    memoryBytesAfter: h.memoryBytes(),
    target: "< 100 ms",
    note: "configure() = on_context_create + on_vm_start + on_configure for a new root context, then on_done/on_delete of the previous one (Envoy's config-only update)",
  };
  log(`  ${median(times).toFixed(1)} ms (guest ${median(guest).toFixed(1)} ms), ${(json.length / 1e6).toFixed(2)} MB JSON`);
}

// ---------------------------------------------------------------- 3b. apply scaling by dimension

// bench/scale.ts: one size dimension doubling at a time; linear growth keeps
// the time per unit flat (50,000 nodes in one upstream: target < 1 s).
log("3b. config apply as one dimension doubles (bench/scale.ts)");
{
  const dims: [string, string, number][] = [
    ["nodes", "nodes", 50000],
    ["health", "health", 50000],
    ["prefixes", "prefixes2000chars", 992],
  ];
  const scaling: Record<string, unknown> = { method: "bench/scale.ts: wall ms of one apply through the emulator, a new VM each" };
  const memory: Record<string, number> = {};
  for (const [dim, key, max] of dims) {
    const row: Record<string, unknown> = {};
    for (const r of scaleRuns(dim, max)) {
      row[r.n] = dim === "prefixes" ? { ms: Math.round(r.ms), memoryMiB: Math.round(r.memoryBytes / 2 ** 20) } : Math.round(r.ms);
      if (dim === "nodes") memory[r.n] = Math.round(r.memoryBytes / 2 ** 20);
    }
    scaling[key] = dim === "prefixes" ? { [max]: row[max] } : row;
    log(`  ${dim}: ${JSON.stringify(row)}`);
  }
  scaling.nodesMemoryMiB = memory;
  results.scaling = scaling;
}

// ---------------------------------------------------------------- 4. balancers

log("4. balancer pick cost");
{
  const reqs = balancerRequests(1024);
  // Each configuration against the 1-node baseline, interleaved pairwise.
  const measure = (config: object) => {
    const h = new ProxyWasmHost(filterModule, FILTER_OPTS);
    if (!h.configure(JSON.stringify(config))) {
      const why = h.logs.filter((l) => l.level >= 4).map((l) => l.message)[0] ?? "rejected";
      return { na: why };
    }
    const t = now();
    const first = h.request(reqs[0]);
    const firstMs = now() - t;
    if (first.localReply) return { na: `first request answered ${first.localReply.status}: ${first.logs.map((l) => l.message).join("; ")}` };
    if (h.logs.some((l) => l.level >= 3)) return { na: `unexpected warnings: ${h.logs.filter((l) => l.level >= 3).map((l) => l.message)[0]}` };
    const t1 = timed(filterModule, FILTER_OPTS, JSON.stringify(config));
    const res = interleaved(
      [
        { name: "wall", host: h, reqs },
        { name: "timed", host: t1.host, meter: t1.meter, reqs },
        { name: "base", host: baseTimed.host, meter: baseTimed.meter, reqs },
      ],
      QUICK ? 3 : 5,
      R.roundMs / 2,
      R.warmMs / 2,
    );
    const w = res.get("wall")!,
      g = res.get("timed")!,
      b = res.get("base")!;
    // A difference of two noisy medians: below zero means "within noise", reported as 0.
    return {
      wallNs: w.ns,
      guestNs: g.guestNs!,
      baseGuestNs: b.guestNs!,
      pickGuestNs: Math.max(0, g.guestNs! - b.guestNs!),
      pickGuestNsRaw: g.guestNs! - b.guestNs!,
      firstRequestMs: firstMs,
    };
  };
  const baseTimed = timed(filterModule, FILTER_OPTS, JSON.stringify(balancerConfig("roundrobin", 1)));
  const rows: Record<string, unknown>[] = [];
  for (const type of ["roundrobin", "chash", "ewma", "least_conn"]) {
    for (const nodes of [10, 100, 1000]) {
      let r: Record<string, unknown>;
      try {
        r = measure(balancerConfig(type, nodes));
      } catch (e) {
        r = { na: (e as Error).message.slice(0, 200) };
      }
      rows.push({ type, nodes, ...r });
      log(
        `  ${type} × ${nodes}: ${"na" in r ? `n/a (${r.na})` : `${(r.wallNs as number).toFixed(0)} ns wall, pick ≈ ${(r.pickGuestNs as number).toFixed(0)} ns guest`}`,
      );
    }
  }
  results.balancers = {
    workload: "one route /* → one upstream of N nodes (weights 1-5; chash: hash_on vars, key remote_addr); 1,024 distinct client addresses",
    rows,
    note: "pick cost = guest ns/request minus the same request on a 1-node upstream (APISIX's single-node fast path, no balancer); firstRequestMs includes building the picker",
  };
}

// ---------------------------------------------------------------- 4b. regex vars (ReDoS shape)

// A route condition a backtracking engine takes exponential time on:
// `(a+)+$` against "aaa…ac". The filter's Pike VM is linear in the input, so
// the cost per request grows with the argument's length, not 2^length.
log("4b. regex vars: (a+)+$ against a^n c");
{
  const config = {
    routes: [
      { id: "re", uri: "/*", vars: [["arg_q", "~~", "(a+)+$"]], upstream: { nodes: { "10.0.0.1:80": 1 } } },
      { id: "eq", uri: "/eq", vars: [["arg_q", "==", "x"]], upstream: { nodes: { "10.0.0.1:80": 1 } } },
    ],
  };
  const rows: Record<string, unknown>[] = [];
  const h = filterHost(config);
  for (const n of [16, 256, 4096]) {
    const req = { method: "GET", path: `/r?q=${"a".repeat(n)}c`, authority: "example.com" };
    const miss = h.request(req);
    if (miss.localReply?.status !== 404) throw new Error("regex route should not match a^n c");
    const iters = n >= 4096 ? 200 : 2000;
    for (let i = 0; i < iters / 10; i++) h.request(req);
    const t = now();
    for (let i = 0; i < iters; i++) h.request(req);
    const ns = ((now() - t) / iters) * 1e6;
    rows.push({ n, wallNsPerRequest: ns });
    log(`  n=${n}: ${ns.toFixed(0)} ns/request`);
  }
  results.regex = { pattern: "(a+)+$", input: "a^n c in ?q=", rows, note: "wall through the host, 404 (no match); linear growth = no backtracking" };
}

// ---------------------------------------------------------------- 5. memory

// The named re-compile (section 6) runs in a child process while the memory
// loop (which measures no time) runs here: the two cores are used at once.
const tmpCompile = mkdtempSync(join(tmpdir(), "apisix-bench-"));
const compileJob = COMPILE
  ? new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = namedCompileCommand(tmpCompile);
      const p = spawn(c.cmd, c.args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      p.stderr.on("data", (d) => (stderr += d));
      p.on("close", (code) => resolve({ code, stderr }));
    })
  : undefined;

log("5. memory over 1M requests (child process, while section 6 runs here)");
const memoryJob = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
  const p = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench/memory.ts"), QUICK ? "100000" : "1000000"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "",
    stderr = "";
  p.stdout.on("data", (d) => (stdout += d));
  p.stderr.on("data", (d) => (stderr += d));
  p.on("close", (code) => resolve({ code, stdout, stderr }));
});

// ---------------------------------------------------------------- 6. size, profile, allocations

let compiled: Compiled | undefined;
if (COMPILE) {
  log("6. named release compile (size breakdown, profile, GC allocation counts)");
  const job = await compileJob!;
  const c: Compiled | { error: string } =
    job.code === 0
      ? analyseCompiled(join(tmpCompile, "filter.wasm"), join(tmpCompile, "filter.wat"))
      : { error: `asc failed (assembly/ mid-edit?): ${job.stderr.split("\n").slice(0, 3).join(" ")}` };
  if ("error" in c) {
    log(`  ${c.error}`);
    results.compileError = c.error;
  } else {
    compiled = c;
    if (!c.identicalToBuild)
      log(
        "  note: the current source compiles to a different binary than build/filter.wasm (someone is editing assembly/); breakdown/profile are of the current source",
      );
  }

  // 6a. allocations: host→guest malloc calls (timed host) and guest GC allocations (__new counter).
  {
    const m = new Meter();
    m.bias = timerBias;
    const th = timedHost(filterModule, FILTER_OPTS, m);
    th.configure(JSON.stringify(typical.config));
    const noopM = new Meter();
    const nt = timedHost(noopModule, NOOP_OPTS, noopM);
    nt.configure("{}");
    const count = (host: ProxyWasmHost, mm: Meter, q: RequestDescription, n = 1000) => {
      for (let i = 0; i < 100; i++) host.request(q);
      mm.reset();
      for (let i = 0; i < n; i++) host.request(q);
      const calls: Record<string, number> = {};
      for (const [k, v] of mm.hostCalls) calls[k] = v / n;
      return { mallocs: mm.mallocs / n, hostCalls: calls };
    };
    const proxied = count(th, m, typical.reqs[0]);
    const notFoundHost = timedHost(filterModule, FILTER_OPTS, m);
    notFoundHost.configure(
      JSON.stringify({ routes: [{ id: "only", uri: "/only", upstream_id: "u" }], upstreams: upstreams(1).map((u) => ({ ...u, id: "u" })) }),
    );
    const notFound = count(notFoundHost, m, { path: "/nope", authority: "example.com" });
    const noop = count(nt, noopM, typical.reqs[0]);
    const alloc: Record<string, unknown> = {
      hostToGuestMallocsPerRequest: { proxied: proxied.mallocs, notFound404: notFound.mallocs, noop: noop.mallocs },
      hostCallsPerRequest: { proxied: proxied.hostCalls, notFound404: notFound.hostCalls, noop: noop.hostCalls },
    };
    if (compiled) {
      const inst = countAllocations(compiled.named);
      if ("error" in inst) alloc.gc = { error: inst.error };
      else {
        const mod = new WebAssembly.Module(inst as Uint8Array<ArrayBuffer>);
        const gc = (config: object | string, q: RequestDescription) => {
          const h = new ProxyWasmHost(mod, FILTER_OPTS);
          h.configure(typeof config === "string" ? config : JSON.stringify(config));
          const ex = guestExports(h) as { bench_allocs: WebAssembly.Global; bench_alloc_bytes: WebAssembly.Global };
          for (let i = 0; i < 100; i++) h.request(q);
          const a0 = ex.bench_allocs.value as number,
            b0 = ex.bench_alloc_bytes.value as number;
          for (let i = 0; i < 1000; i++) h.request(q);
          return { allocs: ((ex.bench_allocs.value as number) - a0) / 1000, bytes: ((ex.bench_alloc_bytes.value as number) - b0) / 1000 };
        };
        const cfgApply = (() => {
          const h = new ProxyWasmHost(mod, FILTER_OPTS);
          const ex = guestExports(h) as { bench_allocs: WebAssembly.Global; bench_alloc_bytes: WebAssembly.Global };
          const a0 = ex.bench_allocs.value as number,
            b0 = ex.bench_alloc_bytes.value as number;
          h.configure(JSON.stringify(routeTable(10000, 1000).config));
          return { allocs: (ex.bench_allocs.value as number) - a0, bytes: (ex.bench_alloc_bytes.value as number) - b0 };
        })();
        alloc.gc = {
          what: "calls of ~lib/rt/itcms/__new (every GC object: strings, arrays, buffers, class instances) counted by an instrumented copy of the same release code",
          proxiedTypical: gc(typical.config, typical.reqs[0]),
          notFound404: gc(
            { routes: [{ id: "only", uri: "/only", upstream_id: "u" }], upstreams: [{ id: "u", nodes: { "10.0.0.1:80": 1 } }] },
            { path: "/nope", authority: "example.com" },
          ),
          route10k: gc(routeTable(10000, 100).config, { path: "/svc-5/x", authority: "example.com" }),
          chash1000: gc(balancerConfig("chash", 1000), balancerRequests(1)[0]),
          configApply10kRoutes: cfgApply,
        };
      }
    }
    results.allocations = alloc;
  }

  // 6b. CPU profile of the release code (named) in a child process.
  if (compiled) {
    log("  profiling (node --cpu-prof)");
    const dir = mkdtempSync(join(tmpdir(), "apisix-prof-"));
    const wasm = writeTmp(join(dir, "filter.named.wasm"), compiled.named);
    const r = spawnSync(process.execPath, ["--cpu-prof", "--cpu-prof-dir", dir, "--import", "tsx", join(ROOT, "bench/profile.ts"), wasm, QUICK ? "3" : "8"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (r.status !== 0) results.profile = { error: (r.stderr ?? "").slice(0, 500) };
    else {
      const files = readdirSync(dir)
        .filter((f) => f.endsWith(".cpuprofile"))
        .map((f) => join(dir, f));
      const main = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
      results.profile = { ...summarizeProfile(JSON.parse(readFileSync(main, "utf8"))), requests: JSON.parse(r.stdout).requests, file: main };
    }
  }
  if (compiled) results.size = compiled.size;
}
{
  const m = await memoryJob;
  if (m.code !== 0) results.memory = { error: m.stderr.slice(0, 1000) };
  else {
    results.memory = JSON.parse(m.stdout);
    const mm = results.memory as { after10k: number; afterAll: number; total: number };
    log(`  memory: ${mm.after10k} bytes after 10k, ${mm.afterAll} after ${mm.total}`);
  }
}
if (!results.size) {
  const lay = layout(filterBytes);
  results.size = {
    file: "build/filter.wasm",
    bytes: filterBytes.length,
    sections: lay.sections,
    codeBytes: lay.bodies.reduce((a, b) => a + b, 0),
    dataBytes: lay.dataBytes,
    functions: lay.bodies.length,
  };
}
(results.size as Record<string, unknown>).target = "≤ 100 KB (102,400 bytes)";
(results.size as Record<string, unknown>).buildBytes = filterBytes.length;
results.durationSeconds = (now() - t0) / 1000;

// ---------------------------------------------------------------- 7. instruction counts (callgrind)

if (CALLGRIND && valgrindAvailable()) {
  log("7. instructions per request under callgrind (a few minutes: valgrind is slow)");
  const subjects = ["empty", "noop", "filter", "filter-retry", "filter10", "filter10k"];
  const rows: Record<string, unknown>[] = [];
  for (const s of subjects) {
    // Route scaling spans about three of the 10,000-route config's periodic
    // collections (assembly/gc.ts: every ~29k requests at that heap size),
    // whose marking of the whole config is part of what a request costs;
    // a 5,000-request window would hold none or one, by chance.
    const scaling = s === "filter10" || s === "filter10k";
    const m = measure(s, QUICK ? 500 : 1000, QUICK ? 2500 : scaling ? 101000 : 6000);
    rows.push({ subject: s, instructionsPerRequest: m.instructionsPerRequest, hostCalls: m.hostCalls, hostCallsPerRequest: m.hostCallsPerRequest });
    log(`  ${s}: ${m.instructionsPerRequest} instructions/request, ${m.hostCalls} host calls`);
  }
  const by = Object.fromEntries(rows.map((r) => [r.subject as string, r.instructionsPerRequest as number]));
  const apply = measureApply();
  log(`  config apply 10k/1k: first ${(apply.first / 1e6).toFixed(0)}M, then ${(apply.steady / 1e6).toFixed(0)}M instructions`);
  results.callgrind = {
    method:
      "valgrind --tool=callgrind on node --single-threaded bench/count.ts (a lean host), V8 with fixed flags (TurboFan only, no tier-up, --predictable, seeded hashes: bench/callgrind.ts); (instructions with N2 requests - with N1) / (N2 - N1); whole process: guest + lean host + V8 entry stubs",
    workload:
      "filter: 50 routes (routeTable), 50 upstreams of 3 roundrobin nodes, no health checks, no retries possible (original-dst); filter-retry: the same routes, 2 nodes per upstream, override-host (the control plane's default), a try plan with one retry on every request; filter10 / filter10k: same shape with 10 / 10,000 routes, numbers zero-padded to 4 digits in both (same request lengths), 100,000 requests counted",
    rows,
    ratioFilterVsNoop: by.filter / by.noop,
    ratioRetryVsNoop: by["filter-retry"] / by.noop,
    ratioFilterVsEmpty: by.filter / by.empty,
    ratio10kVs10: by.filter10k / by.filter10,
    apply,
  };
} else if (CALLGRIND) log("7. callgrind: valgrind not found (apt-get install valgrind), skipped");

// ---------------------------------------------------------------- 8. real Envoy

// Latency the filter adds over static, or null when the filter's figure is
// the lower one: a difference below this VM's scheduling noise, which a
// negative number would misreport as a gain.
function added(filter: number, base: number): number | null {
  return filter >= base ? filter - base : null;
}

if (ENVOY && wrkAvailable()) {
  log("8. real Envoy throughput (wrk; several minutes)");
  try {
    const e = await runEnvoyBench({ rounds: QUICK ? 1 : 3, seconds: QUICK ? 2 : 4, log });
    const by = Object.fromEntries(e.figures.map((f) => [f.variant, f]));
    results.envoy = {
      ...e,
      ratios: {
        filter10VsNoop: by["filter-10"].rps / by.noop.rps,
        filter10VsStatic: by["filter-10"].rps / by.static.rps,
        filter10OneNodeVsNoop: by["filter-10-1node"].rps / by.noop.rps,
        filter10OneNodeVsStatic: by["filter-10-1node"].rps / by.static.rps,
        filter10kVsRds10k: by["filter-10k"].rps / by["rds-10k"].rps,
        addedP99us: added(by["filter-10"].p99us, by.static.p99us),
        // One connection, one request at a time: what the filter adds to a request's latency.
        serialAddedP50us: added(by["filter-10"].serial.p50us, by.static.serial.p50us),
        serialAddedP99us: added(by["filter-10"].serial.p99us, by.static.serial.p99us),
        serialAddedP99usOneNode: added(by["filter-10-1node"].serial.p99us, by.static.serial.p99us),
      },
    };
  } catch (err) {
    results.envoy = { error: String((err as Error).message ?? err).slice(0, 500) };
    log(`  envoy bench failed: ${(err as Error).message}`);
  }
} else if (ENVOY) log("8. envoy: wrk not found (apt-get install wrk), skipped");

// 8b. The same proxies under callgrind: instructions per request of the
// whole Envoy process, the real-Envoy figure that load does not move.
if (ENVOY && CALLGRIND && valgrindAvailable()) {
  log("8b. real Envoy under callgrind (instructions per request; several minutes)");
  try {
    const figs = await runEnvoyCallgrind({ requests: QUICK ? 400 : 1000, log });
    const by = Object.fromEntries(figs.map((f) => [f.variant, f.instructionsPerRequest]));
    results.envoyInstructions = {
      figures: figs,
      ratios: {
        noopVsFilter10: by.noop / by["filter-10"],
        staticVsFilter10: by.static / by["filter-10"],
        noopVsFilter10OneNode: by.noop / by["filter-10-1node"],
        staticVsFilter10OneNode: by.static / by["filter-10-1node"],
      },
      what: "instructions per request of the proxy Envoy process (C++, V8 builtins, compiled wasm) under callgrind; a ratio a/b is the throughput of b relative to a when the proxy's CPU is the bottleneck",
    };
  } catch (err) {
    results.envoyInstructions = { error: String((err as Error).message ?? err).slice(0, 500) };
    log(`  envoy callgrind failed: ${(err as Error).message}`);
  }
}

// --update-reference: sections this run did not measure keep the previous
// reference's figures, marked as carried over with that run's date, so the
// committed file still backs bench/README.md: the Envoy runs under
// --no-envoy.
if (UPDATE_REFERENCE) {
  const carried = (ENVOY ? [] : ["envoy", "envoyInstructions"]).filter((k) => !results[k]);
  let prev: Record<string, any> | null = null;
  try {
    prev = JSON.parse(readFileSync(join(ROOT, "bench/results.json"), "utf8"));
  } catch {
    /* no previous reference */
  }
  for (const k of carried) {
    const p = prev?.[k];
    if (p) results[k] = { ...p, carriedOverFrom: p.carriedOverFrom ?? prev?.date ?? "the previous reference run" };
  }
}
writeFileSync(join(ROOT, "bench/results.local.json"), `${JSON.stringify(results, null, 2)}\n`);
if (UPDATE_REFERENCE) writeFileSync(join(ROOT, "bench/results.json"), `${JSON.stringify(results, null, 2)}\n`);
printTable(results);
log(`done in ${((now() - t0) / 1000).toFixed(0)} s; wrote bench/results.local.json${UPDATE_REFERENCE ? " and bench/results.json" : ""}`);
