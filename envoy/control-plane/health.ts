// Active health checks (`checks.active` on an upstream), probed by the
// control plane with APISIX's defaults and lua-resty-healthcheck's counting:
//   - targets start healthy;
//   - a probe result is a success (HTTP status in healthy.http_statuses, or a
//     TCP connect for type tcp), an http failure (status in
//     unhealthy.http_statuses), a tcp failure (connect error), a timeout, or
//     ignored (any other status);
//   - a success clears the failure counters, a failure clears the success
//     counter; reaching a threshold flips the state and clears all counters;
//     a threshold of 0 never trips;
//   - healthy targets are probed every healthy.interval, unhealthy ones every
//     unhealthy.interval (0 = not probed).
// The result is the filter's `health` table: cluster → "ip:port" → false.
// Clock and probe are injectable, so the state machine is testable without a
// network or real time.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { DnsTable, HealthTable } from "./apisix/index.ts";
import { hostPort, isIpLiteral, nodeAddress, upstreamNodes } from "./apisix/index.ts";
import type { UpstreamSite } from "./apisix/index.ts";

export interface ActiveCheck {
  type: "http" | "https" | "tcp";
  timeout: number; // seconds
  concurrency: number;
  http_path: string;
  http_method: string;
  host?: string;
  port?: number;
  https_verify_certificate: boolean;
  req_headers: string[];
  healthy: { interval: number; http_statuses: number[]; successes: number };
  unhealthy: { interval: number; http_statuses: number[]; http_failures: number; tcp_failures: number; timeouts: number };
}

/** APISIX's schema defaults for checks.active (schema_def.lua). */
export function activeCheckConfig(active: Record<string, unknown> = {}): ActiveCheck {
  const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);
  const obj = (v: unknown) => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const statuses = (v: unknown, d: number[]) => (Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : d);
  const h = obj(active.healthy);
  const u = obj(active.unhealthy);
  const type = active.type === "https" || active.type === "tcp" ? active.type : "http";
  return {
    type,
    timeout: num(active.timeout, 1),
    concurrency: Math.max(1, num(active.concurrency, 10)),
    http_path: typeof active.http_path === "string" ? active.http_path : "/",
    http_method: typeof active.http_method === "string" ? active.http_method : "GET",
    host: typeof active.host === "string" ? active.host : undefined,
    port: typeof active.port === "number" ? active.port : undefined,
    https_verify_certificate: active.https_verify_certificate !== false,
    req_headers: Array.isArray(active.req_headers) ? active.req_headers.filter((x): x is string => typeof x === "string") : [],
    healthy: { interval: num(h.interval, 1), http_statuses: statuses(h.http_statuses, [200, 302]), successes: num(h.successes, 2) },
    unhealthy: {
      interval: num(u.interval, 1),
      http_statuses: statuses(u.http_statuses, [429, 404, 500, 501, 502, 503, 504, 505]),
      http_failures: num(u.http_failures, 5),
      tcp_failures: num(u.tcp_failures, 2),
      timeouts: num(u.timeouts, 3),
    },
  };
}

export type ProbeResult =
  | { kind: "status"; status: number } // an HTTP response arrived
  | { kind: "connected" } // tcp check: connect succeeded
  | { kind: "tcp_error"; error: string }
  | { kind: "timeout" };

export interface ProbeTarget {
  cluster: string;
  /** Node address the filter uses, "ip:port" (the health table key). */
  key: string;
  ip: string;
  port: number; // node port
  /** Host header / SNI for http(s) checks. */
  hostname: string;
  check: ActiveCheck;
}

export type Probe = (t: ProbeTarget) => Promise<ProbeResult>;

export interface TargetState {
  healthy: boolean;
  successes: number;
  httpFailures: number;
  tcpFailures: number;
  timeouts: number;
  /** Clock value (ms) when the next probe is due. */
  nextAt: number;
}

export const initialState = (now: number): TargetState => ({ healthy: true, successes: 0, httpFailures: 0, tcpFailures: 0, timeouts: 0, nextAt: now });

/** The pure transition: new state after one probe result. */
export function applyResult(s: TargetState, r: ProbeResult, c: ActiveCheck): TargetState {
  const n = { ...s };
  const trip = (count: number, limit: number) => limit > 0 && count >= limit;
  const reset = (x: TargetState) => Object.assign(x, { successes: 0, httpFailures: 0, tcpFailures: 0, timeouts: 0 });
  let outcome: "success" | "http" | "tcp" | "timeout" | "ignore";
  if (r.kind === "connected") outcome = "success";
  else if (r.kind === "tcp_error") outcome = "tcp";
  else if (r.kind === "timeout") outcome = "timeout";
  else if (c.healthy.http_statuses.includes(r.status)) outcome = "success";
  else if (c.unhealthy.http_statuses.includes(r.status)) outcome = "http";
  else outcome = "ignore";
  switch (outcome) {
    case "ignore":
      return n;
    case "success":
      n.httpFailures = n.tcpFailures = n.timeouts = 0;
      n.successes++;
      if (!n.healthy && trip(n.successes, c.healthy.successes)) reset(Object.assign(n, { healthy: true }));
      return n;
    default:
      n.successes = 0;
      if (outcome === "http") n.httpFailures++;
      if (outcome === "tcp") n.tcpFailures++;
      if (outcome === "timeout") n.timeouts++;
      if (
        n.healthy &&
        (trip(n.httpFailures, c.unhealthy.http_failures) || trip(n.tcpFailures, c.unhealthy.tcp_failures) || trip(n.timeouts, c.unhealthy.timeouts))
      )
        reset(Object.assign(n, { healthy: false }));
      return n;
  }
}

/** Probe targets for every upstream with checks.active, from node list + DNS. */
export function probeTargets(sites: UpstreamSite[], dns: DnsTable): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const site of sites) {
    const checks = site.upstream.checks as Record<string, unknown> | undefined;
    const active = checks && typeof checks.active === "object" && checks.active !== null ? (checks.active as Record<string, unknown>) : undefined;
    if (!active) continue;
    const check = activeCheckConfig(active);
    for (const n of upstreamNodes(site.upstream, site.path)) {
      const addr = nodeAddress(n.host, dns);
      if ("why" in addr) continue; // unresolved: the filter drops the node anyway
      const ip = addr.ip;
      const key = hostPort(ip, n.port);
      if (out.some((t) => t.cluster === site.cluster && t.key === key)) continue;
      out.push({ cluster: site.cluster, key, ip, port: n.port, hostname: check.host ?? n.host, check });
    }
  }
  return out;
}

/** Real probes: HTTP(S) request or TCP connect, bounded by check.timeout. */
export const networkProbe: Probe = (t) => {
  const c = t.check;
  const port = c.port ?? t.port;
  const timeoutMs = Math.max(1, c.timeout * 1000);
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    const finish = (r: ProbeResult) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        resolve(r);
      }
    };
    const timer = setTimeout(() => {
      finish({ kind: "timeout" });
      cleanup();
    }, timeoutMs);
    let cleanup = () => {};
    if (c.type === "tcp") {
      const sock = net.connect({ host: t.ip, port });
      cleanup = () => sock.destroy();
      sock.once("connect", () => {
        finish({ kind: "connected" });
        sock.destroy();
      });
      sock.once("error", (e) => finish({ kind: "tcp_error", error: e.message }));
      return;
    }
    const headers: Record<string, string> = {
      host: port === (c.type === "https" ? 443 : 80) ? t.hostname : `${t.hostname}:${port}`,
      "user-agent": "apisix-wasm-upstream-healthcheck",
    };
    for (const h of c.req_headers) {
      const i = h.indexOf(":");
      if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
    }
    const mod = c.type === "https" ? https : http;
    const req = mod.request({
      host: t.ip,
      port,
      method: c.http_method,
      path: c.http_path,
      headers,
      agent: false,
      ...(c.type === "https" ? { servername: isIpLiteral(t.hostname) ? undefined : t.hostname, rejectUnauthorized: c.https_verify_certificate } : {}),
    });
    cleanup = () => req.destroy();
    req.once("response", (res) => {
      finish({ kind: "status", status: res.statusCode ?? 0 });
      res.resume();
      res.once("end", () => req.destroy());
    });
    req.once("error", (e) => finish({ kind: "tcp_error", error: e.message }));
    req.end();
  });
};

export interface CheckerOptions {
  probe?: Probe;
  /** Clock in ms. */
  now?: () => number;
  /** Upper bound of probes in flight across all targets. */
  maxInFlight?: number;
  onChange?: (health: HealthTable) => void;
}

/** Runs due probes on tick(); keeps per-target state across target list updates. */
export class ActiveHealthChecker {
  private targets = new Map<string, { target: ProbeTarget; state: TargetState; running: boolean }>();
  private readonly probe: Probe;
  private readonly now: () => number;
  private readonly maxInFlight: number;
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  onChange?: (health: HealthTable) => void;

  constructor(opts: CheckerOptions = {}) {
    this.probe = opts.probe ?? networkProbe;
    this.now = opts.now ?? Date.now;
    this.maxInFlight = opts.maxInFlight ?? 64;
    this.onChange = opts.onChange;
  }

  private static id(t: ProbeTarget) {
    return `${t.cluster}\u0000${t.key}\u0000${JSON.stringify(t.check)}\u0000${t.hostname}`;
  }

  /** Replaces the target list; unchanged targets keep their state. */
  setTargets(list: ProbeTarget[]): void {
    const next = new Map<string, { target: ProbeTarget; state: TargetState; running: boolean }>();
    for (const t of list) {
      const id = ActiveHealthChecker.id(t);
      next.set(id, this.targets.get(id) ?? { target: t, state: initialState(this.now()), running: false });
    }
    const before = JSON.stringify(this.health());
    this.targets = next;
    if (JSON.stringify(this.health()) !== before) this.onChange?.(this.health());
  }

  health(): HealthTable {
    const out: HealthTable = {};
    const entries = [...this.targets.values()]
      .filter((e) => !e.state.healthy)
      .sort((a, b) => (a.target.cluster + a.target.key < b.target.cluster + b.target.key ? -1 : 1));
    for (const e of entries) (out[e.target.cluster] ??= {})[e.target.key] = false;
    return out;
  }

  stateOf(cluster: string, key: string): TargetState | undefined {
    for (const e of this.targets.values()) if (e.target.cluster === cluster && e.target.key === key) return e.state;
    return undefined;
  }

  /** Probes every due target (bounded by each check's concurrency and maxInFlight); resolves when they finished. */
  async tick(): Promise<void> {
    const now = this.now();
    const perCluster = new Map<string, number>();
    const jobs: Promise<void>[] = [];
    for (const e of this.targets.values()) {
      if (e.running || e.state.nextAt > now) continue;
      const interval = e.state.healthy ? e.target.check.healthy.interval : e.target.check.unhealthy.interval;
      if (!(interval > 0)) continue;
      const n = perCluster.get(e.target.cluster) ?? 0;
      if (n >= e.target.check.concurrency || this.inFlight >= this.maxInFlight) continue;
      perCluster.set(e.target.cluster, n + 1);
      e.running = true;
      this.inFlight++;
      jobs.push(
        this.probe(e.target)
          .catch((err): ProbeResult => ({ kind: "tcp_error", error: String(err) }))
          .then((r) => {
            const before = e.state.healthy;
            e.state = applyResult(e.state, r, e.target.check);
            const iv = e.state.healthy ? e.target.check.healthy.interval : e.target.check.unhealthy.interval;
            e.state.nextAt = this.now() + iv * 1000;
            if (before !== e.state.healthy && this.targets.has(ActiveHealthChecker.id(e.target))) this.onChange?.(this.health());
          })
          .finally(() => {
            e.running = false;
            this.inFlight--;
          }),
      );
    }
    await Promise.all(jobs);
  }

  start(tickMs = 200): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), tickMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
