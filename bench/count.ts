// A lean proxy-wasm host for instruction counting (bench/callgrind.ts runs it
// under valgrind). host/ is a faithful emulator and spends far more in its own
// JS than Envoy's C++ does; here every host function does the least that
// keeps the guest on its real path, so that the process's instructions per
// request are dominated by the guest, as they are in Envoy.
//
//   node --import tsx bench/count.ts <subject> <requests> [--calls]
//   (COUNT_WASM=path overrides the .wasm, e.g. to count an older build)
//
// subject: filter | filter-retry | filter10k | filter10 | noop | empty, or apply (the
// 10,000-route + 1,000-upstream config applied <requests> times in one VM,
// no requests). Prints one JSON
// line: requests run, host calls per request by name (with --calls), and
// the guest's memory size.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { routeRequests, routeTable } from "./workloads.ts";

// Not wasm.ts's ROOT: that module pulls binaryen into callgrind's bundle.
const ROOT = new URL("..", import.meta.url).pathname;
const subject = process.argv[2] ?? "filter";
const N = Number(process.argv[3] ?? 1000);
const COUNT_CALLS = process.argv.includes("--calls");
// With a .wasm whose __new calls bench.onalloc (see bench/README.md,
// "Finding allocation sites"): allocations per request by call site.
const ALLOC_SITES = process.argv.includes("--alloc-sites");

const wasmFile = process.env.COUNT_WASM ?? join(ROOT, subject === "noop" ? "build/noop.wasm" : subject === "empty" ? "build/empty.wasm" : "build/filter.wasm");
const rootId = subject === "noop" ? "noop" : subject === "empty" ? "empty" : "apisix-upstream";
const APPLY = subject === "apply";
const routes = subject === "filter10k" || APPLY ? 10000 : subject === "filter10" ? 10 : 50;

const enc = new TextEncoder();
const dec = new TextDecoder();
let mem: WebAssembly.Memory;
let ex: Record<string, any>;
const u8 = () => new Uint8Array(mem.buffer);
const dv = () => new DataView(mem.buffer);

function give(bytes: Uint8Array, ptrOut: number, lenOut: number): void {
  const p = bytes.length ? ex.malloc(bytes.length) : 0;
  if (bytes.length) u8().set(bytes, p);
  dv().setUint32(ptrOut, p, true);
  dv().setUint32(lenOut, bytes.length, true);
}

function pairs(h: [string, string][]): Uint8Array {
  const parts = h.map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  let size = 4 + 8 * parts.length;
  for (const [k, v] of parts) size += k.length + v.length + 2;
  const out = new Uint8Array(size);
  const d = new DataView(out.buffer);
  d.setUint32(0, parts.length, true);
  let p = 4 + 8 * parts.length;
  parts.forEach(([k, v], i) => {
    d.setUint32(4 + 8 * i, k.length, true);
    d.setUint32(8 + 8 * i, v.length, true);
    out.set(k, p);
    p += k.length + 1;
    out.set(v, p);
    p += v.length + 1;
  });
  return out;
}

// The request heads, pre-encoded once: the host's per-request work is a copy.
// filter10 and filter10k: the same widths (workloads.ts, pad), so that their
// ratio is the cost of the number of routes.
const width = subject === "filter10" || subject === "filter10k" ? 4 : 0;
// filter-retry: the control plane's default mode (override-host) with two
// nodes per upstream, so every request carries a try plan with one retry.
// COUNT_NODES / COUNT_LB_MODE override the nodes per upstream and the mode.
const RETRY = subject === "filter-retry";
const table = routeTable(routes, Math.min(routes, 1000), width, Number(process.env.COUNT_NODES ?? (RETRY ? 2 : 3)));
const lbMode = process.env.COUNT_LB_MODE ?? (RETRY ? "override-host" : "");
const mix = routeRequests(routes, 64, 0, 7, width).map((e, j) => {
  const r = e.req;
  const h: [string, string][] = [
    [":method", r.method ?? "GET"],
    [":path", r.path ?? "/"],
    [":authority", r.authority ?? "example.com"],
    [":scheme", "http"],
    ["user-agent", "bench/1.0"],
    ["accept", "*/*"],
    ["x-request-id", `id-${j}`],
  ];
  return { head: pairs(h), source: enc.encode(r.source ?? `192.0.2.${1 + (j % 200)}:${20000 + j}`) };
});
const responseHead = pairs([
  [":status", "200"],
  ["content-length", "2"],
]);
// Without an envoy section the filter assumes original-dst.
const config = enc.encode(JSON.stringify(lbMode ? { ...table.config, envoy: { lb_mode: lbMode } } : table.config));

let current = mix[0];
let localReplies = 0;
const calls = new Map<string, number>();
const count = (name: string) => {
  if (COUNT_CALLS) calls.set(name, (calls.get(name) ?? 0) + 1);
};
const responseCode = new Uint8Array(8);
new DataView(responseCode.buffer).setBigInt64(0, 200n, true);

const env: Record<string, (...a: number[]) => number | undefined> = {
  proxy_log: () => {
    count("proxy_log");
    return 0;
  },
  proxy_get_log_level: (p) => {
    count("proxy_get_log_level");
    dv().setUint32(p, 2, true);
    return 0;
  },
  proxy_get_current_time_nanoseconds: (p) => {
    count("proxy_get_current_time_nanoseconds");
    dv().setBigUint64(p, 1_700_000_000_000_000_000n, true);
    return 0;
  },
  proxy_set_effective_context: () => 0,
  proxy_set_tick_period_milliseconds: () => {
    count("proxy_set_tick_period_milliseconds");
    return 0;
  },
  proxy_get_buffer_bytes: (_t, _s, _l, p, l) => {
    give(config, p, l);
    return 0;
  },
  proxy_get_header_map_pairs: (t, p, l) => {
    count("proxy_get_header_map_pairs");
    give(t === 0 ? current.head : responseHead, p, l);
    return 0;
  },
  proxy_get_header_map_value: (_t, _k, _kl, p, l) => {
    count("proxy_get_header_map_value");
    give(new Uint8Array(0), p, l);
    return 1;
  },
  proxy_replace_header_map_value: () => {
    count("proxy_replace_header_map_value");
    return 0;
  },
  proxy_add_header_map_value: () => {
    count("proxy_add_header_map_value");
    return 0;
  },
  proxy_remove_header_map_value: () => {
    count("proxy_remove_header_map_value");
    return 0;
  },
  proxy_get_property: (k, kl, p, l) => {
    count("proxy_get_property");
    const key = dec.decode(u8().subarray(k, k + kl));
    if (key === "source\0address") {
      give(current.source, p, l);
      return 0;
    }
    if (key === "response\0code") {
      give(responseCode, p, l);
      return 0;
    }
    return 1;
  },
  proxy_call_foreign_function: () => {
    count("proxy_call_foreign_function");
    return 0;
  },
  proxy_set_property: () => {
    count("proxy_set_property");
    return 0;
  },
  proxy_send_local_response: () => {
    count("proxy_send_local_response");
    localReplies++;
    return 0;
  },
  proxy_define_metric: (_t, _n, _nl, out) => {
    dv().setUint32(out, 1, true);
    return 0;
  },
  proxy_increment_metric: () => {
    count("proxy_increment_metric");
    return 0;
  },
  proxy_record_metric: () => {
    count("proxy_record_metric");
    return 0;
  },
  proxy_get_metric: () => 0,
  proxy_continue_stream: () => 0,
  proxy_clear_route_cache: () => {
    count("proxy_clear_route_cache");
    return 0;
  },
};
const module = new WebAssembly.Module(readFileSync(wasmFile));
const sites = new Map<string, number>();
let counting = false;
const imports: WebAssembly.Imports = {
  env: {},
  wasi_snapshot_preview1: {
    proc_exit: () => {
      throw new Error("proc_exit");
    },
  },
  bench: {
    onalloc: (_size: number, _id: number) => {
      if (!counting) return;
      const frames = (new Error().stack ?? "")
        .split("\n")
        .slice(2)
        .filter((l) => l.includes("wasm"))
        .slice(0, 4)
        .map((l) =>
          l
            .trim()
            .replace(/^at /, "")
            .replace(/ \(.*$/, "")
            .replace(/^.*?\.(?=[^.]*$)/, ""),
        );
      const key = frames.join(" < ");
      sites.set(key, (sites.get(key) ?? 0) + 1);
    },
  },
};
for (const imp of WebAssembly.Module.imports(module)) {
  if (imp.module !== "env") continue;
  const f = env[imp.name];
  if (!f) throw new Error(`count.ts: no stand-in for ${imp.name}`);
  (imports.env as any)[imp.name] = f;
}
// The plugin root id is a property the SDK asks for while creating the root context.
(imports.env as any).proxy_get_property = ((orig) => (k: number, kl: number, p: number, l: number) => {
  const key = dec.decode(u8().subarray(k, k + kl));
  if (key === "plugin_root_id") {
    give(enc.encode(rootId), p, l);
    return 0;
  }
  return orig(k, kl, p, l);
})(env.proxy_get_property);
const inst = new WebAssembly.Instance(module, imports);
ex = inst.exports as any;
mem = ex.memory;
if (ex._initialize) ex._initialize();
const ROOT_CTX = 1;
ex.proxy_on_context_create(ROOT_CTX, 0);
if (ex.proxy_on_vm_start(ROOT_CTX, 0) !== 1) throw new Error("vm start failed");
if (!APPLY && ex.proxy_on_configure(ROOT_CTX, config.length) !== 1) throw new Error("configure rejected");

if (APPLY) {
  counting = ALLOC_SITES;
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    if (ex.proxy_on_configure(ROOT_CTX, config.length) !== 1) throw new Error("configure rejected");
    times.push(performance.now() - t);
  }
  if (ALLOC_SITES) printSites(N, "apply");
  console.log(JSON.stringify({ subject, applies: N, msPerApply: times.map((t) => +t.toFixed(1)), memoryBytes: mem.buffer.byteLength }));
  process.exit(0);
}
calls.clear();
counting = ALLOC_SITES;
let id = 2;
// Envoy skips a stream callback the module does not export; so does this loop.
const noCallback = (_c: number): number => 0;
const onResponseHeaders = (ex.proxy_on_response_headers as ((c: number, n: number, eos: number) => number) | undefined) ?? noCallback;
const onDone = (ex.proxy_on_done as ((c: number) => number) | undefined) ?? noCallback;
const started = performance.now();
for (let i = 0; i < N; i++) {
  current = mix[i & 63];
  const c = id++;
  ex.proxy_on_context_create(c, ROOT_CTX);
  ex.proxy_on_request_headers(c, 7, 1);
  onResponseHeaders(c, 2, 0);
  ex.proxy_on_log(c);
  onDone(c);
  ex.proxy_on_delete(c);
}
const elapsed = performance.now() - started;
// The workload is all proxied requests: a local reply means a wrong measurement.
if (localReplies > 0) throw new Error(`${localReplies} of ${N} requests got a local reply`);
if (ALLOC_SITES) printSites(N, "request");

function printSites(per: number, what: string): void {
  const top = [...sites].sort((a, b) => b[1] - a[1]);
  let total = 0;
  for (const [, v] of top) total += v;
  console.error(`${(total / per).toFixed(2)} allocations per ${what}`);
  for (const [k, v] of top.slice(0, what === "apply" ? 60 : 40)) console.error(`${(v / per).toFixed(2)}  ${k.replace(/^~lib\/rt\/t?cms\/__new < /, "")}`);
}
const perRequest: Record<string, number> = {};
for (const [k, v] of calls) perRequest[k] = +(v / Math.max(N, 1)).toFixed(3);
console.log(
  JSON.stringify({
    subject,
    requests: N,
    nsPerRequest: Math.round((elapsed * 1e6) / Math.max(N, 1)),
    hostCallsPerRequest: COUNT_CALLS ? perRequest : undefined,
    memoryBytes: mem.buffer.byteLength,
  }),
);
