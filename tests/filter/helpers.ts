// Shared set-up for the filter tests: the real release .wasm in the
// proxy-wasm host, and small helpers to read a request's outcome.
import assert from "node:assert/strict";
import { LogLevel, ManualClock, ProxyWasmHost, type RequestDescription, type RequestResult, type RequestOptions } from "../../host/index.ts";
import { ORIGINAL_DST_KEY, withClusterNames, type DnsTable } from "../../envoy/control-plane/apisix/index.ts";
import { endpointsByCluster, translate } from "../../envoy/control-plane/translate.ts";

export const FILTER_WASM = new URL("../../build/filter.wasm", import.meta.url).pathname;
export const ORIGINAL_DST = ORIGINAL_DST_KEY;
/** Envoy's log levels (host/abi.ts), as the filter's proxy_log uses them. */
export const LOG = LogLevel;

export async function filterHost(config?: unknown): Promise<ProxyWasmHost> {
  const host = await ProxyWasmHost.load(FILTER_WASM, { rootId: "apisix-upstream" });
  if (config !== undefined) assert.equal(configure(host, config), true, `config accepted: ${errorLogs(host.logs).join("\n")}`);
  return host;
}

/**
 * Configures the filter as the control plane does: every upstream carries
 * the cluster name the control plane gives it (`_cluster`, envoy/control-plane/apisix/sites.ts), the
 * one owner of names. A string is sent as it is.
 */
export function configure(host: ProxyWasmHost, config: unknown): boolean {
  return host.configure(typeof config === "string" ? config : JSON.stringify(named(config)));
}

/**
 * A filter for the balancer and retry-plan suites: the config named as the
 * control plane names it, in the override-host cluster mode (envoy.lb_mode),
 * whose retries follow the filter's plan; on a clock that moves when told.
 */
export async function balancerHost(config: unknown, clock = new ManualClock(1_700_000_000_000)): Promise<ProxyWasmHost> {
  const clusters = new Map<string, string[]>();
  const host = await ProxyWasmHost.load(FILTER_WASM, { rootId: "apisix-upstream", clock, clusterEndpoints: (c) => clusters.get(c) });
  clustersOf.set(host, clusters);
  assert.equal(configureOverrideHost(host, config), true, `config accepted: ${errorLogs(host.logs).join("\n")}`);
  return host;
}

// The clusters' endpoints of each balancerHost, as its last configuration's
// clusters list them (the router's choice when the filter sends no plan).
const clustersOf = new WeakMap<ProxyWasmHost, Map<string, string[]>>();

/** Configures a balancerHost in override-host mode; its router model follows the new clusters. */
export function configureOverrideHost(host: ProxyWasmHost, config: unknown): boolean {
  const clusters = clustersOf.get(host);
  if (clusters && typeof config === "object" && config !== null) {
    const doc = config as Record<string, unknown>;
    clusters.clear();
    const snap = translate(doc, { lbMode: "override-host", dns: doc.dns as DnsTable | undefined });
    for (const [name, endpoints] of endpointsByCluster(snap.resources.clusters)) clusters.set(name, endpoints);
  }
  return host.configure(JSON.stringify(overrideHost(config)));
}

/** The document named as the control plane names it, for override-host clusters. */
export function overrideHost(config: unknown): unknown {
  return named({ ...(config as Record<string, unknown>), envoy: { lb_mode: "override-host" } });
}

/** One route r1 → upstream u1 with the given fields. */
export function oneUpstream(up: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { routes: [{ id: "r1", uri: "/*", upstream_id: "u1" }], upstreams: [{ id: "u1", ...up }], ...extra };
}

/** The document with the control plane's cluster names (objects only; anything else as it is). */
export function named(config: unknown): unknown {
  return typeof config === "object" && config !== null && !Array.isArray(config) ? withClusterNames(config as Record<string, unknown>) : config;
}

export function errorLogs(logs: { level: number; message: string }[]): string[] {
  return logs.filter((l) => l.level >= LOG.error).map((l) => l.message);
}

export function get(host: ProxyWasmHost, path = "/", extra: RequestDescription = {}, options: RequestOptions = {}): RequestResult {
  return host.request({ method: "GET", path, authority: "example.com", source: "127.0.0.1:40000", ...extra }, options);
}

/** The cluster and the node Envoy's router would connect to, or the local reply status. */
export function outcome(r: RequestResult): string {
  if (r.localReply) return String(r.localReply.status);
  return `${r.header("x-apisix-upstream")} ${r.endpoint}`;
}

export function assertHealthy(host: ProxyWasmHost): void {
  assert.equal(host.trapped, false, `the VM trapped: ${JSON.stringify(host.failure)}`);
  assert.ok(
    host.logs.every((l) => l.level >= 0 && l.level <= 5),
    "log levels stay within Envoy's 0-5",
  );
}

/** How often each item occurs, as a plain object (deepEqual-friendly). */
export function tally(items: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const i of items) m[i] = (m[i] ?? 0) + 1;
  return m;
}

export function count<T>(items: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}
