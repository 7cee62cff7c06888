// Throughput and latency through the real Envoy (`npm run bench -- --envoy`,
// or `node --import tsx bench/envoy.ts`; not part of npm test).
//
// One upstream Envoy answers every request with a direct_response (a fast
// upstream that costs the same whatever sits in front of it). In front of
// it, one proxy Envoy per variant, all with the listener and HCM settings
// the control plane emits (envoy/control-plane/translate.ts), so that the
// variants differ only in routing:
//   static       no wasm filter, one static route to the upstream
//   empty        the empty wasm module (build/empty.wasm: no SDK, nothing done) + the same static route
//   noop         the no-op wasm filter (build/noop.wasm) + the same static route
//   filter-10    this filter, 10 routes (the translate output, inline instead of xDS)
//                to upstreams of two nodes (APISIX then retries once: Envoy's retry state)
//   filter-10-1node  the same with one node per upstream, like static's one
//                endpoint: no retry is possible, so none is asked of Envoy
//   filter-10k   this filter, 10,000 routes, requesting the last one
//   rds-10k      no wasm, Envoy's own route table with the same 10,000 uris
//                as exact-path routes, requesting the last one
// wrk (Debian's `wrk`) drives each variant for a few seconds, variants
// interleaved round by round so that load from other processes hits them
// alike; medians over rounds are reported. With ENVOY_BENCH_PIN=1 (and 2+
// cores) the proxy is pinned to CPU 0 and the upstream and wrk to CPU 1
// (taskset): right on a quiet machine, harmful on a busy one (a pinned
// process cannot move away from a loaded core).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { translate, type Json } from "../envoy/control-plane/translate.ts";
import { envoyBinary, freePort, until } from "../tests/e2e/stack.ts";
import { ROOT } from "./wasm.ts";

export interface EnvoyFigure {
  variant: string;
  path: string;
  rps: number;
  p50us: number;
  p99us: number;
  rounds: { rps: number; p50us: number; p99us: number }[];
  /** One connection, one request at a time: latency without queueing (medians over rounds). */
  serial: { rps: number; p50us: number; p99us: number };
}

const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

function routesConfig(n: number, upstreams: number, upPort: number, nodesPerUpstream = 2) {
  return {
    routes: Array.from({ length: n }, (_, i) => ({ id: `r${i}`, uri: `/r/${i}`, upstream_id: `u${i % upstreams}` })),
    // Two nodes each (both are the upstream Envoy): roundrobin does real work.
    upstreams: Array.from({ length: upstreams }, (_, u) => ({
      id: `u${u}`,
      type: "roundrobin",
      nodes: Object.fromEntries(["127.0.0.1", "127.0.0.2"].slice(0, nodesPerUpstream).map((ip) => [`${ip}:${upPort}`, 1])),
    })),
  };
}

function staticCluster(name: string, port: number): Json {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] }],
    },
  };
}

function bootstrap(listener: Json, clusters: Json[]): string {
  return JSON.stringify({
    node: { id: "bench", cluster: "bench" },
    static_resources: { listeners: [listener], clusters },
    layered_runtime: { layers: [{ name: "static", static_layer: { "overload.global_downstream_max_connections": 50000 } }] },
  });
}

// The control plane's listener, with RDS and ECDS replaced by inline config.
export function proxyBootstrap(kind: string, port: number, upPort: number): { yaml: string; path: string } {
  const small = kind.startsWith("filter-10") && kind !== "filter-10k";
  const apisix = kind.startsWith("filter")
    ? routesConfig(small ? 10 : 10000, small ? 10 : 1000, upPort, kind === "filter-10-1node" ? 1 : 2)
    : routesConfig(1, 1, upPort);
  const snap = translate(apisix, { listenerPort: port, listenerAddress: "127.0.0.1", wasmPath: join(ROOT, "build/filter.wasm") });
  const listener = structuredClone(snap.resources.listeners[0]) as any;
  delete listener["@type"];
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  if (hcm["@type"] !== HCM_TYPE) throw new Error("unexpected listener shape");
  delete hcm.rds;
  const staticRoute = {
    name: "bench",
    virtual_hosts: [{ name: "bench", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "bench_up", timeout: "0s" } }] }],
  };
  let clusters: Json[] = [staticCluster("bench_up", upPort)];
  let path = "/r/0";
  if (kind === "static") {
    hcm.http_filters = [ROUTER];
    hcm.route_config = staticRoute;
  } else if (kind === "noop" || kind === "empty") {
    hcm.http_filters = [
      {
        name: "noop",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
          // A configuration is required: without one the SDK's default
          // onConfigure traps in Envoy 1.40 (memory access out of bounds
          // reading a zero-length plugin configuration).
          config: {
            name: kind,
            root_id: kind,
            vm_config: { vm_id: kind, runtime: "envoy.wasm.runtime.v8", code: { local: { filename: join(ROOT, `build/${kind}.wasm`) } } },
            configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "{}" },
          },
        },
      },
      ROUTER,
    ];
    hcm.route_config = staticRoute;
  } else if (kind === "rds-10k") {
    hcm.http_filters = [ROUTER];
    hcm.route_config = {
      name: "bench",
      virtual_hosts: [
        {
          name: "bench",
          domains: ["*"],
          routes: Array.from({ length: 10000 }, (_, i) => ({ match: { path: `/r/${i}` }, route: { cluster: "bench_up", timeout: "0s" } })),
        },
      ],
    };
    path = "/r/9999";
  } else {
    const route = structuredClone(snap.resources.routes[0]) as any;
    delete route["@type"];
    hcm.route_config = route;
    const ecds = snap.resources.extensionConfigs[0] as any;
    hcm.http_filters = hcm.http_filters.map((f: any) => (f.config_discovery ? { name: f.name, typed_config: ecds.typed_config } : f));
    clusters = [
      ...snap.resources.clusters.map((c) => {
        const x = structuredClone(c) as any;
        delete x["@type"];
        return x;
      }),
      ...clusters,
    ];
    path = `/r/${small ? 9 : 9999}`;
  }
  return { yaml: bootstrap(listener, clusters), path };
}

export function upstreamBootstrap(port: number): string {
  return bootstrap(
    {
      name: "up",
      // 0.0.0.0: the filter's two nodes are 127.0.0.1 and 127.0.0.2.
      address: { socket_address: { address: "0.0.0.0", port_value: port } },
      filter_chains: [
        {
          filters: [
            {
              name: "envoy.filters.network.http_connection_manager",
              typed_config: {
                "@type": HCM_TYPE,
                stat_prefix: "up",
                codec_type: "AUTO",
                route_config: {
                  name: "up",
                  virtual_hosts: [
                    { name: "up", domains: ["*"], routes: [{ match: { prefix: "/" }, direct_response: { status: 200, body: { inline_string: "ok" } } }] },
                  ],
                },
                http_filters: [ROUTER],
              },
            },
          ],
        },
      ],
    },
    [],
  );
}

function pinned(cpu: number | null, cmd: string, args: string[]): [string, string[]] {
  return cpu === null ? [cmd, args] : ["taskset", ["-c", String(cpu), cmd, ...args]];
}

function startEnvoy(dir: string, name: string, yaml: string, cpu: number | null): ChildProcess {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, yaml);
  const [cmd, args] = pinned(cpu, envoyBinary(), ["-c", file, "--concurrency", "1", "--disable-hot-restart", "--log-level", "warn"]);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (c: Buffer) => {
    err = (err + c.toString()).slice(-4000);
  });
  child.on("exit", (code) => {
    if (code) process.stderr.write(`[envoy ${name}] exited ${code}: ${err}\n`);
  });
  return child;
}

function httpOk(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let data = "";
    s.on("connect", () => s.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`));
    s.on("data", (c) => (data += c.toString()));
    s.on("end", () => resolve(data.startsWith("HTTP/1.1 200")));
    s.on("error", () => resolve(false));
  });
}

function parseWrk(out: string): { rps: number; p50us: number; p99us: number } {
  const rps = Number(/Requests\/sec:\s*([\d.]+)/.exec(out)?.[1] ?? NaN);
  const us = (pct: string) => {
    const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === "us" ? v : m[2] === "ms" ? v * 1000 : v * 1e6;
  };
  const non2xx = /Non-2xx or 3xx responses:\s*(\d+)/.exec(out);
  if (non2xx) throw new Error(`wrk saw ${non2xx[1]} non-2xx responses:\n${out}`);
  return { rps, p50us: us("50"), p99us: us("99") };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function wrkAvailable(): boolean {
  return spawnSync("wrk", ["--version"]).error === undefined;
}

export async function runEnvoyBench(
  opts: { rounds?: number; seconds?: number; connections?: number; log?: (s: string) => void } = {},
): Promise<{ figures: EnvoyFigure[]; setup: Record<string, unknown> }> {
  const rounds = opts.rounds ?? 3,
    secs = opts.seconds ?? 4,
    conns = opts.connections ?? 64;
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const twoCpus = process.env.ENVOY_BENCH_PIN === "1" && cpus().length >= 2 && spawnSync("taskset", ["-c", "0", "true"]).status === 0;
  const proxyCpu = twoCpus ? 0 : null,
    loadCpu = twoCpus ? 1 : null;
  const dir = mkdtempSync(join(tmpdir(), "envoy-bench-"));
  const children: ChildProcess[] = [];
  try {
    const upPort = await freePort();
    children.push(startEnvoy(dir, "upstream", upstreamBootstrap(upPort), loadCpu));
    const variants = ["static", "empty", "noop", "filter-10", "filter-10-1node", "filter-10k", "rds-10k"];
    const ports: Record<string, number> = {},
      paths: Record<string, string> = {};
    for (const v of variants) {
      ports[v] = await freePort();
      const b = proxyBootstrap(v, ports[v], upPort);
      paths[v] = b.path;
      children.push(startEnvoy(dir, v, b.yaml, proxyCpu));
    }
    for (const v of variants) await until(`${v} answering 200`, () => httpOk(ports[v], paths[v]), 60_000, 200);
    log(
      `envoy bench: ${variants.length} proxies up; ${rounds} rounds × ${secs} s per variant, wrk -t1 -c${conns}${twoCpus ? ", proxy on CPU 0, upstream + wrk on CPU 1" : ""}`,
    );
    const samples: Record<string, { rps: number; p50us: number; p99us: number }[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        const url = `http://127.0.0.1:${ports[v]}${paths[v]}`;
        // A short warm-up (connections, V8 tier-up), then the measured run.
        const warm = pinned(loadCpu, "wrk", ["-t1", `-c${conns}`, "-d1s", url]);
        spawnSync(warm[0], warm[1], { encoding: "utf8" });
        const [cmd, args] = pinned(loadCpu, "wrk", ["-t1", `-c${conns}`, `-d${secs}s`, "--latency", "-H", "Host: bench", url]);
        const res = spawnSync(cmd, args, { encoding: "utf8" });
        if (res.status !== 0) throw new Error(`wrk failed: ${res.stderr}`);
        const s = parseWrk(res.stdout);
        (samples[v] ??= []).push(s);
        log(`  round ${r + 1} ${v.padEnd(15)} ${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50us.toFixed(0)} µs  p99 ${s.p99us.toFixed(0)} µs`);
      }
    }
    // With 64 connections the latencies above are mostly queueing (64 ÷
    // requests/s). One connection with one request in flight measures what
    // each variant adds to a request's own latency.
    const serial: Record<string, { rps: number; p50us: number; p99us: number }[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        const [cmd, args] = pinned(loadCpu, "wrk", [
          "-t1",
          "-c1",
          `-d${Math.max(2, secs >> 1)}s`,
          "--latency",
          "-H",
          "Host: bench",
          `http://127.0.0.1:${ports[v]}${paths[v]}`,
        ]);
        const res = spawnSync(cmd, args, { encoding: "utf8" });
        if (res.status !== 0) throw new Error(`wrk failed: ${res.stderr}`);
        const s = parseWrk(res.stdout);
        (serial[v] ??= []).push(s);
        log(`  serial ${r + 1} ${v.padEnd(15)} p50 ${s.p50us.toFixed(0)} µs  p99 ${s.p99us.toFixed(0)} µs`);
      }
    }
    const figures = variants.map((v) => ({
      variant: v,
      path: paths[v],
      rps: Math.round(median(samples[v].map((s) => s.rps))),
      p50us: Math.round(median(samples[v].map((s) => s.p50us))),
      p99us: Math.round(median(samples[v].map((s) => s.p99us))),
      rounds: samples[v],
      serial: {
        rps: Math.round(median(serial[v].map((s) => s.rps))),
        p50us: Math.round(median(serial[v].map((s) => s.p50us))),
        p99us: Math.round(median(serial[v].map((s) => s.p99us))),
      },
    }));
    const envoyVersion = spawnSync(envoyBinary(), ["--version"], { encoding: "utf8" }).stdout.trim().split("version: ")[1] ?? "?";
    return { figures, setup: { envoy: envoyVersion, concurrency: 1, wrk: `-t1 -c${conns} -d${secs}s`, rounds, pinned: twoCpus } };
  } finally {
    for (const c of children) c.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runEnvoyBench({ rounds: Number(process.env.ROUNDS ?? 3), seconds: Number(process.env.SECONDS_PER_RUN ?? 4) }).then(
    ({ figures, setup }) => {
      const by = Object.fromEntries(figures.map((f) => [f.variant, f]));
      console.log(JSON.stringify({ setup, figures: figures.map(({ rounds: _r, ...f }) => f) }, null, 1));
      const pct = (a: string, b: string) => `${((by[a].rps / by[b].rps) * 100).toFixed(0)}%`;
      console.log(
        `filter-10 / noop ${pct("filter-10", "noop")}, filter-10 / static ${pct("filter-10", "static")}, filter-10-1node / noop ${pct("filter-10-1node", "noop")}, filter-10k / rds-10k ${pct("filter-10k", "rds-10k")}`,
      );
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
