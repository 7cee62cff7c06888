// Operator tool: check an APISIX config and try requests against it with the
// real filter.wasm, in the same proxy-wasm host the tests use, no Envoy
// needed. `apisix-wasm --help` (or `npm run cli -- --help`) says everything;
// docs/cli.md has the long form.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { ProxyWasmHost } from "../host/index.ts";
import {
  dnsHostnames,
  filterConfigJson,
  ConfigError,
  ROUTER_HTTP_NAMES,
  type ApisixConfig,
  type DnsTable,
  type EnvoySide,
  type RouterHttp,
} from "../envoy/control-plane/apisix/index.ts";
import { resolveHosts } from "../envoy/control-plane/dns.ts";
import { endpointsByCluster, envoySide, translate } from "../envoy/control-plane/translate.ts";
import { hasEndTrailer, parseStandaloneYaml } from "../envoy/control-plane/standalone.ts";
import { WasmValidator, type DroppedObject } from "../envoy/control-plane/validate.ts";
import { detailLines, distributionLines, hints, parseHeader, parseRequestLine, parseRequestsFile, send, tally, type Outcome, type RequestSpec } from "./try.ts";

const DEFAULT_WASM = fileURLToPath(new URL("../build/filter.wasm", import.meta.url));
const PACKAGE_JSON = fileURLToPath(new URL("../package.json", import.meta.url));
const MAX_COUNT = 1_000_000;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const HELP = `apisix-wasm: check an APISIX config and try requests against it with the real
filter.wasm (the proxy-wasm filter Envoy runs), in a local proxy-wasm host: no Envoy needed.

usage:
  apisix-wasm validate <config> [--json] [--resolve] [--wasm FILE]
  apisix-wasm try <config> "<METHOD> <path>" [-H "Name: value"]... [options]
  apisix-wasm try <config> --requests <file> [options]
  apisix-wasm --help | --version

commands:
  validate   Run the filter's configuration checks as the control plane runs them: the
             #END trailer, then object by object (an invalid object is dropped and the
             rest is served, as APISIX does); print every error and warning with the
             object and field it is about. Exit 0 when nothing is dropped, else 1.
  try        Configure the filter with <config>, send the request(s) through it and print
             what Envoy's router would do: the route, the upstream, the cluster and the
             node it picked, the headers the filter set, the log lines — or the local
             reply (404, 502, ...) the client would get. Exit 0 when every request was
             proxied, 1 when any got a local reply.

<config>: APISIX standalone YAML (apisix.yaml: routes, upstreams, services, ssls) or, for
a file ending in .json, the filter's own JSON configuration (checked as a whole, as
Envoy checks it). try sends requests to what the control plane would serve: dropped
objects are not there.

options:
  -H, --header "Name: value"  request header, repeatable ("Host: ..." sets :authority)
  --from IP                   client address ($remote_addr, remote_addrs), default 127.0.0.1
  --count N                   send each request N times to the same filter instance and print
                              how they spread over routes, upstreams and nodes (round robin,
                              traffic-split, chash); one instance = one Envoy worker
  --requests FILE             requests from a file: a line "GET /path", then its header lines
                              ("Name: value"); a blank line between requests; # comments
  --json                      one JSON document on stdout instead of text
  --resolve                   resolve domain nodes with this machine's DNS, as the control
                              plane does (without it, requests to domain nodes get the
                              filter's DNS errors)
  --lb-mode MODE              the control plane's cluster mode the filter is told about:
                              override-host (default, as the control plane) or original-dst
                              (changes the retry plan)
  --router-http NAME          APISIX's apisix.router.http, as given to the control plane:
                              radixtree_host_uri (default), radixtree_uri or
                              radixtree_uri_with_parameter
  --wasm FILE                 the filter to run (default build/filter.wasm)
  -h, --help                  this help
  -V, --version               version, and which filter.wasm would run

exit codes: 0 valid / all proxied, 1 rejected config, local reply or error, 2 usage error.

examples:
  apisix-wasm validate examples/local.yaml
  apisix-wasm try examples/local.yaml "GET /api/x?y=1" -H "Host: a.example.com"
  apisix-wasm try examples/local.yaml "GET /api/x" -H "Host: a.example.com" --count 8
  apisix-wasm try examples/local.yaml "GET /shop/cart" -H "x-canary: 1" -H "x-user: alice"
  apisix-wasm try examples/local.yaml --requests requests.txt --count 100 --json
  apisix-wasm try examples/config.yaml "GET /echo/x" --resolve

(run from a checkout: npx apisix-wasm ..., or npm run cli -- ...)`;

const SHORT_USAGE = `usage: apisix-wasm validate|try <config> ... (apisix-wasm --help for everything)`;

class UsageError extends Error {}

interface Args {
  command: "validate" | "try";
  file: string;
  requests: RequestSpec[];
  requestsFile?: string;
  from: string;
  wasm: string;
  resolve: boolean;
  lbMode: "original-dst" | "override-host";
  routerHttp?: RouterHttp;
  count: number;
  json: boolean;
}

type Parsed = Args | { command: "help" } | { command: "version"; wasm: string };

function parseArgs(argv: string[]): Parsed {
  if (argv.length === 0) throw new UsageError(`no command given\n${SHORT_USAGE}`);
  if (argv.some((a) => a === "-h" || a === "--help") || argv[0] === "help") return { command: "help" };
  if (argv.some((a) => a === "-V" || a === "--version")) {
    const i = argv.indexOf("--wasm");
    return { command: "version", wasm: i >= 0 && argv[i + 1] ? argv[i + 1] : DEFAULT_WASM };
  }
  const [command, ...rest] = argv;
  if (command !== "validate" && command !== "try") {
    const hint = command.startsWith("-") ? `options go after the command` : `commands are validate and try`;
    throw new UsageError(`unknown command ${JSON.stringify(command)}: ${hint}\n${SHORT_USAGE}`);
  }
  const a: Args = { command, file: "", requests: [], from: "127.0.0.1", wasm: DEFAULT_WASM, resolve: false, lbMode: "override-host", count: 1, json: false };
  const headers: [string, string][] = [];
  let requestLine: string | undefined;
  let countSet = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const value = () => {
      if (i + 1 >= rest.length) throw new UsageError(`${arg} needs a value\n${SHORT_USAGE}`);
      return rest[++i];
    };
    if (arg === "-H" || arg === "--header") {
      const h = value();
      const parsed = parseHeader(h);
      if (!parsed) throw new UsageError(`a header is "Name: value", got ${JSON.stringify(h)}`);
      headers.push(parsed);
    } else if (arg === "--from") a.from = value();
    else if (arg === "--wasm") a.wasm = value();
    else if (arg === "--resolve") a.resolve = true;
    else if (arg === "--json") a.json = true;
    else if (arg === "--requests") a.requestsFile = value();
    else if (arg === "--count") {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > MAX_COUNT) throw new UsageError(`--count is a whole number from 1 to ${MAX_COUNT}, got ${JSON.stringify(v)}`);
      a.count = n;
      countSet = true;
    } else if (arg === "--lb-mode") {
      const m = value();
      if (m !== "original-dst" && m !== "override-host") throw new UsageError(`--lb-mode is original-dst or override-host, got ${JSON.stringify(m)}`);
      a.lbMode = m;
    } else if (arg === "--router-http") {
      const r = value();
      if (!(ROUTER_HTTP_NAMES as readonly string[]).includes(r))
        throw new UsageError(`--router-http is one of ${ROUTER_HTTP_NAMES.join(", ")}, got ${JSON.stringify(r)}`);
      a.routerHttp = r as RouterHttp;
    } else if (arg.startsWith("-") && arg.length > 1) throw new UsageError(`unknown option ${arg}\n${SHORT_USAGE}`);
    else if (!a.file) a.file = arg;
    else if (a.command === "try" && requestLine === undefined) requestLine = arg;
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}\n${SHORT_USAGE}`);
  }
  if (!a.file) throw new UsageError(`${a.command} needs a config file\n${SHORT_USAGE}`);
  if (a.command === "validate" && (headers.length || a.requestsFile || countSet))
    throw new UsageError(`validate takes no request options (-H, --requests, --count)`);
  if (a.command === "try") {
    if (requestLine !== undefined && a.requestsFile) throw new UsageError(`give either a request or --requests FILE, not both`);
    if (requestLine === undefined && !a.requestsFile) throw new UsageError(`try needs a request like "GET /path" (or --requests FILE)\n${SHORT_USAGE}`);
    if (requestLine !== undefined) {
      const rl = parseRequestLine(requestLine);
      if (!rl) throw new UsageError(`a request is "METHOD /path" (or "/path"), got ${JSON.stringify(requestLine)}`);
      a.requests.push({ ...rl, headers });
    } else if (headers.length) throw new UsageError(`with --requests, headers go into the file`);
  }
  return a;
}

/** Text files only: a binary is refused rather than parsed or echoed to the terminal. */
function readText(file: string): string {
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  if (statSync(file).isDirectory()) throw new Error(`${file}: is a directory`);
  const buf = readFileSync(file);
  const head = buf.subarray(0, 8192);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new Error(`${file}: not a text file (expected APISIX YAML or JSON)`);
  }
  if (head.includes(0)) throw new Error(`${file}: not a text file (expected APISIX YAML or JSON)`);
  return text;
}

/** The first YAML syntax error, as "file:line:col: message" plus the offending line. */
function firstYamlError(file: string, text: string): string | undefined {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const e = doc.errors[0];
  if (!e) return undefined;
  const lines = text.split(/\r?\n/);
  const pos = e.pos?.[0] ?? 0;
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const col = pos - before.lastIndexOf("\n");
  const message = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  const more = doc.errors.length > 1 ? ` (${doc.errors.length - 1} more error(s) follow from it)` : "";
  return `${file}:${line}:${col}: invalid YAML: ${message}${more}\n  ${lines[line - 1] ?? ""}\n  ${" ".repeat(Math.max(0, col - 1))}^`;
}

/** The filter configuration the control plane would publish for this file, and what it would drop on the way. */
interface Prepared {
  config: string;
  /** Why objects are dropped (the filter's field-named errors), or why the file would not be applied at all. */
  errors: string[];
  dropped: DroppedObject[];
  /** The endpoints of the clusters the control plane would publish (Envoy's choice when the filter pins none). */
  endpoints: Map<string, string[]>;
}

// The clusters the control plane would publish for these objects: where a
// request to an upstream of one node goes (the filter sends no plan for it).
function clusterEndpoints(objects: Record<string, unknown>, envoy: EnvoySide, dns: DnsTable): Map<string, string[]> {
  try {
    return endpointsByCluster(translate(objects, { lbMode: envoy.lb_mode, dns }).resources.clusters);
  } catch {
    return new Map(); // the filter's own verdict on such a document is what `try` reports
  }
}

async function prepare(file: string, text: string, resolve: boolean, envoy: EnvoySide, wasm: string): Promise<Prepared> {
  // A .json file is the filter's own JSON, checked as a whole as Envoy does.
  if (file.endsWith(".json")) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`invalid JSON: ${(e as Error).message}`);
    }
    // Not an object: the filter rejects it, and there are no clusters to know.
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return { config: text, errors: [], dropped: [], endpoints: new Map() };
    const d = doc as Record<string, unknown>;
    const side = { ...envoy, ...(typeof d.envoy === "object" && d.envoy !== null ? d.envoy : {}) } as EnvoySide;
    return { config: text, errors: [], dropped: [], endpoints: clusterEndpoints(d, side, (d.dns ?? {}) as DnsTable) };
  }
  const yamlError = firstYamlError(file, text);
  if (yamlError) throw new ConfigError(yamlError);
  const errors: string[] = [];
  if (!hasEndTrailer(text)) errors.push("no #END trailer: the control plane does not apply a standalone file without it, as APISIX does not");
  // The control plane's own pipeline: config_yaml's ids, the filter's checks
  // object by object (an invalid object is dropped, the rest is served), and
  // the cluster names it publishes.
  const doc = parseStandaloneYaml(text, file);
  const verdict = await (await WasmValidator.load(wasm)).check(doc, envoy);
  for (const d of verdict.dropped) errors.push(...(d.errors.length ? d.errors : [`${d.section}[${d.id ?? d.index}]: invalid`]));
  const dns: DnsTable = resolve ? await resolveHosts(dnsHostnames(verdict.objects as ApisixConfig)) : {};
  const endpoints = clusterEndpoints(verdict.objects as Record<string, unknown>, envoy, dns);
  return { config: filterConfigJson(verdict.objects, dns, {}, envoy), errors, dropped: verdict.dropped, endpoints };
}

function version(io: CliIo, wasm: string): number {
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, "utf8")) as { version: string };
  io.out(`apisix-wasm ${pkg.version}`);
  if (existsSync(wasm)) {
    const bytes = readFileSync(wasm);
    const sha = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
    io.out(`filter: ${wasm} (${bytes.length} bytes, sha256 ${sha}, built ${statSync(wasm).mtime.toISOString()})`);
  } else io.out(`filter: ${wasm} (missing: run npm run build)`);
  return 0;
}

const stripPrefix = (m: string) => m.replace(/^invalid configuration: /, "").replace(/^configuration: /, "");

export async function main(argv: string[], io: CliIo = { out: console.log, err: console.error }): Promise<number> {
  let args: Parsed;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`apisix-wasm: ${e.message}`);
    return 2;
  }
  if (args.command === "help") {
    io.out(HELP);
    return 0;
  }
  if (args.command === "version") return version(io, args.wasm);

  if (!existsSync(args.wasm)) {
    io.err(
      args.wasm === DEFAULT_WASM
        ? `apisix-wasm: ${args.wasm} not found: build it first with npm run build (or pass --wasm FILE)`
        : `apisix-wasm: ${args.wasm}: no such file`,
    );
    return 1;
  }
  let prepared: Prepared;
  try {
    const text = readText(args.file);
    if (args.requestsFile) args.requests = parseRequestsFile(readText(args.requestsFile), args.requestsFile);
    // accessLog: the CLI reads the route's and upstream's ids from filter state, as the access log does.
    prepared = await prepare(args.file, text, args.resolve, envoySide({ lbMode: args.lbMode, routerHttp: args.routerHttp, accessLog: true }), args.wasm);
  } catch (e) {
    const msg = (e as Error).message;
    // ConfigError texts name the file themselves when they have a position.
    io.err(`apisix-wasm: ${msg.startsWith(args.file) || msg.startsWith(args.requestsFile ?? "\0") ? msg : `${args.file}: ${msg}`}`);
    return 1;
  }

  const endpoints = prepared.endpoints;
  const host = await ProxyWasmHost.load(args.wasm, { rootId: "apisix-upstream", clusterEndpoints: (c) => endpoints.get(c) });
  const accepted = host.configure(prepared.config);
  const errors = [
    ...prepared.errors,
    ...host.logs.filter((l) => l.level >= 4 && !/^configuration rejected/.test(l.message)).map((l) => stripPrefix(l.message)),
  ];
  const warnings = host.logs.filter((l) => l.level === 3).map((l) => stripPrefix(l.message));
  const dropped = prepared.dropped.map((d) => `${d.section}[${d.id ?? d.index}]`);

  if (args.command === "validate" || !accepted) {
    const verdict = !accepted
      ? "rejected"
      : dropped.length
        ? `${dropped.length} object${dropped.length > 1 ? "s" : ""} dropped (${dropped.join(", ")}), the rest is served`
        : errors.length
          ? "not applied"
          : "valid";
    if (args.json) {
      io.out(JSON.stringify({ file: args.file, valid: accepted && errors.length === 0, errors, warnings, dropped }, null, 2));
    } else {
      for (const e of errors) io.out(`error: ${e}`);
      for (const w of warnings) io.out(`warning: ${w}`);
      const n = (k: number, what: string) => (k ? `, ${k} ${what}${k > 1 ? "s" : ""}` : "");
      io.out(`${args.file}: ${verdict}${n(errors.length, "error")}${n(warnings.length, "warning")}${args.command === "try" ? "; no request was sent" : ""}`);
    }
    if (host.trapped) {
      io.err(`apisix-wasm: the filter trapped: ${host.failure?.message}`);
      return 1;
    }
    return accepted && errors.length === 0 ? 0 : 1;
  }

  // try
  const results: { request: RequestSpec; outcomes: Outcome[] }[] = [];
  for (const spec of args.requests) {
    const outcomes: Outcome[] = [];
    for (let i = 0; i < args.count && !host.trapped; i++) outcomes.push(send(host, spec, args.from));
    results.push({ request: spec, outcomes });
  }
  const anyReply = results.some((r) => r.outcomes.some((o) => o.local_reply));
  const code = host.trapped || anyReply ? 1 : 0;

  if (args.json) {
    io.out(
      JSON.stringify(
        {
          file: args.file,
          errors,
          dropped,
          warnings,
          results: results.map(({ request, outcomes }) => ({
            request: {
              method: request.method,
              path: request.path,
              headers: Object.fromEntries(request.headers),
              ...(request.origin ? { origin: request.origin } : {}),
            },
            count: outcomes.length,
            outcomes: tally(outcomes).map(({ outcome, count }) => ({ count, ...outcome })),
          })),
          exit_code: code,
        },
        null,
        2,
      ),
    );
  } else {
    // Dropped objects are not there, as in the control plane's snapshot.
    if (errors.length) {
      io.out(dropped.length ? `config errors (dropped: ${dropped.join(", ")}):` : "config errors:");
      for (const e of errors) io.out(`  ${e}`);
    }
    if (warnings.length) {
      io.out("config warnings:");
      for (const w of warnings) io.out(`  ${w}`);
    }
    results.forEach(({ request, outcomes }, i) => {
      if (i > 0 || warnings.length || errors.length) io.out("");
      const head = `${request.method} ${request.path}`;
      if (args.count === 1) {
        io.out(head);
        for (const l of detailLines(outcomes[0])) io.out(l);
      } else {
        io.out(`${head}  × ${outcomes.length}`);
        for (const l of distributionLines(tally(outcomes), outcomes.length)) io.out(`  ${l}`);
        const errs = new Set(outcomes.flatMap((o) => o.logs.filter((l) => l.level === "error" || l.level === "warn").map((l) => `[${l.level}] ${l.message}`)));
        if (errs.size) {
          io.out("  logs (distinct):");
          for (const e of errs) io.out(`    ${e}`);
        }
      }
      for (const h of new Set(outcomes.flatMap((o) => hints(o, args.resolve)))) io.out(h);
    });
  }
  if (host.trapped) io.err(`apisix-wasm: the filter trapped: ${host.failure?.message}`);
  return code;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
