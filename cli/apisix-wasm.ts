// Operator tool: check an APISIX config and try requests against it with the
// real filter.wasm, in the same proxy-wasm host the tests use, no Envoy needed.
//
//   node --import tsx cli/apisix-wasm.ts validate config.yaml
//   node --import tsx cli/apisix-wasm.ts try config.yaml "GET /api/x?y=1" -H "Host: a.com" [--from 10.0.0.7] [--resolve]
//
// validate: runs Envoy's canary (a fresh VM, proxy_on_vm_start + proxy_on_configure)
// and prints the filter's own verdict with its field-named errors; exit 1 when rejected.
// try: configures the filter, sends one request and prints where Envoy's router
// would send it (cluster, endpoint, rewritten headers) or the local reply, plus logs.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ProxyWasmHost, type LogEntry } from "../host/index.ts";
import { dnsHostnames, filterConfigJson, loadApisixYaml, ConfigError, type ApisixConfig, type DnsTable } from "../envoy/control-plane/config.ts";
import { resolveHosts } from "../envoy/control-plane/dns.ts";
import { withClusterNames } from "../envoy/control-plane/names.ts";
import { assignIds } from "../envoy/control-plane/validate.ts";

const LEVELS = ["trace", "debug", "info", "warn", "error", "critical"];
const DEFAULT_WASM = fileURLToPath(new URL("../build/filter.wasm", import.meta.url));
const ORIGINAL_DST = "envoy.network.transport_socket.original_dst_address";

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

const USAGE = `usage:
  apisix-wasm validate <config.yaml|config.json> [--wasm build/filter.wasm] [--resolve]
  apisix-wasm try <config.yaml|config.json> "<METHOD> <path>" [-H "Name: value"]... [--from <client ip>] [--wasm file] [--resolve]
                [--lb-mode original-dst|override-host]

  --resolve   resolve domain nodes with this machine's DNS, as the control plane does
              (without it they stay unresolved: requests to them get the filter's DNS errors)
  --lb-mode   the control plane's cluster mode the filter is told about (default original-dst)`;

interface Args {
  command: string;
  file: string;
  request?: string;
  headers: [string, string][];
  from: string;
  wasm: string;
  resolve: boolean;
  lbMode: "original-dst" | "override-host";
}

function parseArgs(argv: string[]): Args {
  const [command, file, ...rest] = argv;
  if (!command || !file || (command !== "validate" && command !== "try")) throw new UsageError(USAGE);
  const a: Args = { command, file, headers: [], from: "127.0.0.1", wasm: DEFAULT_WASM, resolve: false, lbMode: "original-dst" };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const value = () => {
      if (i + 1 >= rest.length) throw new UsageError(`${arg} needs a value\n${USAGE}`);
      return rest[++i];
    };
    if (arg === "-H" || arg === "--header") {
      const h = value();
      const colon = h.indexOf(":");
      if (colon <= 0) throw new UsageError(`header must be "Name: value", got ${JSON.stringify(h)}`);
      a.headers.push([h.slice(0, colon).trim().toLowerCase(), h.slice(colon + 1).trim()]);
    } else if (arg === "--from") a.from = value();
    else if (arg === "--wasm") a.wasm = value();
    else if (arg === "--resolve") a.resolve = true;
    else if (arg === "--lb-mode") {
      const m = value();
      if (m !== "original-dst" && m !== "override-host") throw new UsageError(`--lb-mode is original-dst or override-host, got ${JSON.stringify(m)}`);
      a.lbMode = m;
    }
    else if (a.command === "try" && a.request === undefined) a.request = arg;
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
  }
  if (a.command === "try" && !a.request) throw new UsageError(`try needs a request like "GET /path"\n${USAGE}`);
  return a;
}

class UsageError extends Error {}

async function filterConfig(file: string, resolve: boolean, lbMode: Args["lbMode"]): Promise<string> {
  const text = readFileSync(file, "utf8");
  // A .json file is taken as the filter's own JSON; anything else as apisix.yaml.
  if (file.endsWith(".json")) return text;
  const loaded = loadApisixYaml(text);
  // What the control plane sends: config_yaml's ids and its cluster names.
  const apisix = withClusterNames({ ...loaded, ...assignIds({ origin: file, ...loaded }) } as ApisixConfig);
  const dns: DnsTable = resolve ? await resolveHosts(dnsHostnames(apisix)) : {};
  return filterConfigJson(apisix, dns, {}, { lb_mode: lbMode });
}

function printLogs(io: CliIo, logs: LogEntry[], minLevel = 0): void {
  for (const l of logs) if (l.level >= minLevel) io.out(`  [${LEVELS[l.level] ?? l.level}] ${l.message}`);
}

export async function main(argv: string[], io: CliIo = { out: console.log, err: console.error }): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    io.err((e as Error).message);
    return 2;
  }
  let config: string;
  try {
    config = await filterConfig(args.file, args.resolve, args.lbMode);
  } catch (e) {
    io.err(`${args.file}: ${e instanceof ConfigError ? e.message : (e as Error).message}`);
    return 1;
  }

  if (args.command === "validate") {
    const v = await ProxyWasmHost.validate(args.wasm, config, { rootId: "apisix-upstream" });
    if (v.error && !v.logs.length) { io.err(v.error); return 1; }
    const problems = v.logs.filter((l) => l.level >= 3);
    printLogs(io, problems);
    io.out(v.accepted ? `${args.file}: valid` : `${args.file}: rejected`);
    return v.accepted ? 0 : 1;
  }

  const host = await ProxyWasmHost.load(args.wasm, { rootId: "apisix-upstream" });
  if (!host.configure(config)) {
    printLogs(io, host.logs, 3);
    io.out(`${args.file}: rejected, no request was sent`);
    return 1;
  }
  host.clearLogs();
  const space = args.request!.indexOf(" ");
  const method = space > 0 ? args.request!.slice(0, space).toUpperCase() : "GET";
  const path = space > 0 ? args.request!.slice(space + 1).trim() : args.request!;
  const hostHeader = args.headers.find(([k]) => k === "host")?.[1];
  const headers = args.headers.filter(([k]) => k !== "host");
  const source = args.from.includes(":") && !args.from.startsWith("[") && args.from.split(":").length > 2 ? `[${args.from}]:50000` : args.from.includes(":") ? args.from : `${args.from}:50000`;
  const before = new Map(headers.map(([k, v]) => [k, v]));
  const r = host.request({ method, path, authority: hostHeader ?? "localhost", headers, source, envoyHeaders: false });

  io.out(`${method} ${path}`);
  if (r.localReply) {
    io.out(`local reply: ${r.localReply.status} (${r.localReply.details})`);
    const body = r.localReply.body.trim();
    if (body.startsWith("{")) io.out(`body: ${body}`);
  } else {
    io.out(`route: ${r.filterState.get("wasm.apisix_route") ?? "?"}`);
    io.out(`cluster: ${r.header("x-apisix-upstream")}`);
    io.out(`endpoint: ${r.filterState.get(ORIGINAL_DST) ?? "(none)"}`);
    const changed: string[] = [];
    for (const [k, v] of r.requestHeaders.entries) {
      if (k === "x-apisix-upstream") continue;
      const was = k === ":authority" ? hostHeader ?? "localhost" : before.get(k);
      if (was !== v && (!k.startsWith(":") || k === ":authority")) changed.push(`${k}: ${v}`);
    }
    for (const k of before.keys()) if (r.header(k) === undefined) changed.push(`${k}: (removed)`);
    if (changed.length) { io.out("headers set:"); for (const c of changed) io.out(`  ${c}`); }
  }
  if (r.logs.length) { io.out("logs:"); printLogs(io, r.logs); }
  if (host.trapped) { io.err(`the filter trapped: ${host.failure?.message}`); return 1; }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => { console.error(e); process.exit(1); });
}
