// `apisix-wasm try`: requests through the real filter.wasm in the proxy-wasm
// host, and what Envoy's router would do with each (or the local reply).
import { LogLevelName, type ProxyWasmHost, type LogEntry, type RequestResult } from "../host/index.ts";
import { ROUTE_STATE_KEY as ROUTE_STATE, UPSTREAM_STATE_KEY as UPSTREAM_STATE } from "../envoy/control-plane/apisix/index.ts";

// What the filter decided, as it tells Envoy's access log (filter.ts); the
// names are the control plane's mirror of the filter's (apisix/steering.ts).
export { ROUTE_STATE, UPSTREAM_STATE };
export const LEVELS: readonly string[] = LogLevelName;

export interface RequestSpec {
  method: string;
  path: string;
  /** Lower-case names; "host" becomes :authority. */
  headers: [string, string][];
  /** Where it came from, for messages ("requests.txt:4"). */
  origin?: string;
}

export interface Outcome {
  route: string | null;
  /** APISIX upstream id; null for an inline upstream (no id) or a reply before an upstreams[] object was found. */
  upstream: string | null;
  cluster: string | null;
  endpoint: string | null;
  /** The retries Envoy's router would allow (x-envoy-max-retries, or its default of 1 with x-envoy-retry-on). */
  retries: number;
  /** What the client would get from the filter: undefined when proxied. */
  local_reply: { status: number; details: string; body: string } | null;
  headers_set: Record<string, string>;
  headers_removed: string[];
  logs: { level: string; message: string }[];
  trapped?: string;
}

/** Parses "GET /path" (method optional, default GET). */
export function parseRequestLine(line: string): { method: string; path: string } | undefined {
  const parts = line.trim().split(/\s+/);
  if (parts.length === 1 && parts[0].startsWith("/")) return { method: "GET", path: parts[0] };
  if (parts.length === 2 && /^[A-Za-z]+$/.test(parts[0]) && parts[1].startsWith("/")) return { method: parts[0].toUpperCase(), path: parts[1] };
  return undefined;
}

export function parseHeader(h: string): [string, string] | undefined {
  const colon = h.indexOf(":");
  if (colon <= 0) return undefined;
  return [h.slice(0, colon).trim().toLowerCase(), h.slice(colon + 1).trim()];
}

/**
 * A requests file: each request is a request line ("GET /path", or just
 * "/path") followed by its header lines ("Name: value"); requests are
 * separated by blank lines; lines starting with # are comments.
 */
export function parseRequestsFile(text: string, file: string): RequestSpec[] {
  const out: RequestSpec[] = [];
  let cur: RequestSpec | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const where = `${file}:${i + 1}`;
    if (line.startsWith("#")) return;
    if (line === "") {
      cur = undefined;
      return;
    }
    if (!cur) {
      const rl = parseRequestLine(line);
      if (!rl) throw new Error(`${where}: expected a request line like "GET /path", got ${JSON.stringify(line)}`);
      cur = { ...rl, headers: [], origin: where };
      out.push(cur);
      return;
    }
    const h = parseHeader(line);
    if (!h) throw new Error(`${where}: expected a header line "Name: value" (or a blank line before the next request), got ${JSON.stringify(line)}`);
    cur.headers.push(h);
  });
  if (!out.length) throw new Error(`${file}: no requests in the file`);
  return out;
}

function sourceAddress(from: string): string {
  if (from.startsWith("[")) return from.includes("]:") ? from : `${from}:50000`;
  const colons = from.split(":").length - 1;
  if (colons > 1) return `[${from}]:50000`; // bare IPv6
  return colons === 1 ? from : `${from}:50000`;
}

export function logLine(l: LogEntry): { level: string; message: string } {
  return { level: LEVELS[l.level] ?? String(l.level), message: l.message };
}

export function send(host: ProxyWasmHost, spec: RequestSpec, from: string): Outcome {
  host.clearLogs();
  const hostHeader = spec.headers.find(([k]) => k === "host")?.[1];
  const headers = spec.headers.filter(([k]) => k !== "host");
  const authority = hostHeader ?? "localhost";
  const r: RequestResult = host.request({ method: spec.method, path: spec.path, authority, headers, source: sourceAddress(from), envoyHeaders: false });
  const out: Outcome = {
    route: r.filterState.get(ROUTE_STATE) ?? null,
    upstream: r.filterState.get(UPSTREAM_STATE) ?? null,
    cluster: null,
    endpoint: null,
    retries: 0,
    local_reply: null,
    headers_set: {},
    headers_removed: [],
    logs: r.logs.map(logLine),
  };
  if (host.trapped) out.trapped = host.failure?.message ?? "trap";
  if (r.localReply) {
    out.local_reply = { status: r.localReply.status, details: r.localReply.details, body: r.localReply.body };
    return out;
  }
  out.cluster = r.header("x-apisix-upstream") ?? null;
  out.endpoint = r.endpoint ?? null;
  out.retries = r.retries;
  const before = new Map(headers.map(([k, v]) => [k, v]));
  for (const [k, v] of r.requestHeaders.entries) {
    if (k === "x-apisix-upstream") continue;
    const was = k === ":authority" ? authority : before.get(k);
    if (was !== v && (!k.startsWith(":") || k === ":authority")) out.headers_set[k] = v;
  }
  for (const k of before.keys()) if (r.header(k) === undefined) out.headers_removed.push(k);
  return out;
}

/** The same outcome for the distribution table: where it went, not its logs. */
export function outcomeKey(o: Outcome): string {
  return o.local_reply ? `reply ${o.local_reply.status} ${o.local_reply.details} ${o.route ?? ""}` : `${o.route} ${o.cluster} ${o.endpoint}`;
}

export interface Tally {
  outcome: Outcome;
  count: number;
}

export function tally(outcomes: Outcome[]): Tally[] {
  const m = new Map<string, Tally>();
  for (const o of outcomes) {
    const k = outcomeKey(o);
    const t = m.get(k);
    if (t) t.count++;
    else m.set(k, { outcome: o, count: 1 });
  }
  return [...m.values()].sort((a, b) => b.count - a.count);
}

/** A plain-text table: columns padded to their widest cell. */
export function table(rows: string[][], rightAligned: number[] = []): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (rightAligned.includes(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd(),
  );
}

export function distributionLines(tallies: Tally[], total: number): string[] {
  const rows = [["count", "share", "route", "upstream", "cluster", "node"]];
  for (const { outcome: o, count } of tallies) {
    const share = `${((100 * count) / total).toFixed(total >= 100 ? 1 : 0)}%`;
    if (o.local_reply)
      rows.push([String(count), share, o.route ?? "-", o.upstream ?? "-", "-", `local reply ${o.local_reply.status} (${o.local_reply.details})`]);
    else rows.push([String(count), share, o.route ?? "-", o.upstream ?? "(inline)", o.cluster ?? "-", o.endpoint ?? "-"]);
  }
  return table(rows, [0, 1]);
}

export function detailLines(o: Outcome): string[] {
  const out: string[] = [];
  if (o.local_reply) {
    out.push(`local reply: ${o.local_reply.status} (${o.local_reply.details})`);
    if (o.route) out.push(`route: ${o.route}`);
    if (o.upstream) out.push(`upstream: ${o.upstream}`);
    const body = o.local_reply.body.trim();
    if (body.startsWith("{")) out.push(`body: ${body}`);
  } else {
    out.push(`route: ${o.route ?? "?"}`);
    out.push(`upstream: ${o.upstream ?? "(inline)"}`);
    out.push(`cluster: ${o.cluster}`);
    out.push(`endpoint: ${o.endpoint ?? "(none)"}`);
    if (o.retries) out.push(`retries: ${o.retries}`);
    const set = Object.entries(o.headers_set);
    if (set.length || o.headers_removed.length) {
      out.push("headers set:");
      for (const [k, v] of set) out.push(`  ${k}: ${v}`);
      for (const k of o.headers_removed) out.push(`  ${k}: (removed)`);
    }
  }
  if (o.logs.length) {
    out.push("logs:");
    for (const l of o.logs) out.push(`  [${l.level}] ${l.message}`);
  }
  return out;
}

/** Hints for outcomes whose cause is usually the way `try` was run. */
export function hints(o: Outcome, resolved: boolean): string[] {
  const h: string[] = [];
  const dns = o.logs.some((l) => /failed to (parse domain|get resolved)/.test(l.message)) || /dns_failed/.test(o.local_reply?.details ?? "");
  if (dns && !resolved) h.push("hint: domain nodes are not resolved unless you pass --resolve (the control plane resolves them; try does not by default)");
  if (o.local_reply?.status === 404 && !o.route) h.push('hint: no route matched: check uri, hosts (-H "Host: …"), methods, vars and remote_addrs');
  return h;
}
