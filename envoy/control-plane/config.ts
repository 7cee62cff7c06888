// APISIX standalone config (apisix.yaml) → the filter's JSON configuration.
// Reusable by the control plane and by operator tools (validate/try), so it
// has no Envoy or network dependencies.
import net from "node:net";
import { parseDocument } from "yaml";
import { ConfigError } from "./source.ts";

export interface ApisixConfig {
  routes: Record<string, unknown>[];
  upstreams: Record<string, unknown>[];
  ssls: Record<string, unknown>[];
  services: Record<string, unknown>[];
  [key: string]: unknown;
}

/** `dns` section of the filter config: every non-IP node host. */
export type DnsTable = Record<string, { addresses: string[] } | { error: string }>;
/** `health` section: cluster → "ip:port" → false, unhealthy nodes only. */
export type HealthTable = Record<string, Record<string, false>>;

export { ConfigError };

const SECTIONS = ["routes", "upstreams", "ssls", "services"] as const;

/**
 * Parses APISIX YAML into objects (the `#END` trailer is a YAML comment and
 * is allowed, not required). A helper for tests and tools: the control plane
 * and the CLI read standalone files with standalone.ts, which applies
 * APISIX's rules for them (#END, size, UTF-8, JSON).
 */
export function loadApisixYaml(text: string): ApisixConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(`invalid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
  const data: unknown = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw new ConfigError("APISIX config must be a mapping at the top level");
  const obj = data as Record<string, unknown>;
  const out: ApisixConfig = { ...obj, routes: [], upstreams: [], ssls: [], services: [] };
  for (const s of SECTIONS) {
    const v = obj[s];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v)) throw new ConfigError(`"${s}" must be a list`);
    v.forEach((item, i) => {
      if (typeof item !== "object" || item === null || Array.isArray(item)) throw new ConfigError(`${s}[${i}] must be a mapping`);
    });
    out[s] = v as Record<string, unknown>[];
  }
  return out;
}

/** APISIX's `apisix.router.http` values; the filter's validator (assembly/router.ts
 *  ROUTER_NAMES) is the owner, tests/envoy/router-http.test.ts checks this mirror. */
export const ROUTER_HTTP_NAMES = ["radixtree_host_uri", "radixtree_uri", "radixtree_uri_with_parameter"] as const;
export type RouterHttp = (typeof ROUTER_HTTP_NAMES)[number];

/** What the filter must know about the deployment: the filter config's `envoy` section,
 *  filled from the control plane's flags. */
export interface EnvoySide {
  /** The control plane's cluster mode: with "override-host" Envoy's retries follow the
   *  filter's x-apisix-upstream-hosts list; with "original-dst" they would return to the
   *  first node, so the filter asks for retries only when they target that node anyway. */
  lb_mode: "original-dst" | "override-host";
  /** The router (APISIX's apisix.router.http in config.yaml); absent: radixtree_host_uri. */
  router_http?: RouterHttp;
}

/** The JSON string the filter reads in proxy_on_configure. */
export function filterConfigJson(apisix: Partial<ApisixConfig>, dns: DnsTable = {}, health: HealthTable = {}, envoy?: EnvoySide): string {
  return JSON.stringify({
    routes: apisix.routes ?? [],
    upstreams: apisix.upstreams ?? [],
    ssls: apisix.ssls ?? [],
    services: apisix.services ?? [],
    dns,
    health,
    ...(envoy ? { envoy } : {}),
  });
}

// ---------------------------------------------------------------------------
// Node helpers shared by translate, DNS and health checks.

export interface NodeSpec {
  host: string; // without IPv6 brackets
  port: number;
  weight: number;
  priority: number;
}

export const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, grpc: 80, grpcs: 443 };

export const stripBrackets = (h: string) => (h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h);
export const isIpLiteral = (h: string) => net.isIP(stripBrackets(h)) !== 0;
/** "ip:port" with IPv6 bracketed, as ORIGINAL_DST and the health table want it. */
export const hostPort = (ip: string, port: number) => (net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Splits "host[:port]" / "[v6][:port]"; port undefined when absent. */
export function splitHostPort(s: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : undefined };
  const i = s.lastIndexOf(":");
  if (i > 0 && s.indexOf(":") === i && /^\d+$/.test(s.slice(i + 1))) return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  return { host: s };
}

/** Normalised nodes of an upstream (invalid entries are skipped; translate reports them). */
export function upstreamNodes(upstream: Record<string, unknown>): NodeSpec[] {
  const scheme = typeof upstream.scheme === "string" ? upstream.scheme : "http";
  const defPort = DEFAULT_PORTS[scheme] ?? 80;
  const nodes = upstream.nodes;
  const out: NodeSpec[] = [];
  if (Array.isArray(nodes)) {
    for (const n of nodes) {
      if (typeof n !== "object" || n === null || typeof (n as { host?: unknown }).host !== "string") continue;
      const node = n as { host: string; port?: unknown; weight?: unknown; priority?: unknown };
      out.push({
        host: stripBrackets(node.host),
        port: typeof node.port === "number" ? node.port : defPort,
        weight: typeof node.weight === "number" ? node.weight : 1,
        priority: typeof node.priority === "number" ? node.priority : 0,
      });
    }
  } else if (typeof nodes === "object" && nodes !== null) {
    for (const [k, w] of Object.entries(nodes)) {
      const { host, port } = splitHostPort(k);
      out.push({ host, port: port ?? defPort, weight: typeof w === "number" ? w : 1, priority: 0 });
    }
  }
  return out;
}

/** Every upstream object in the config (top-level, services, routes, traffic-split). */
export function allUpstreamObjects(apisix: Partial<ApisixConfig>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  for (const u of apisix.upstreams ?? []) if (isObj(u)) out.push(u);
  for (const s of apisix.services ?? []) if (isObj(s) && isObj(s.upstream)) out.push(s.upstream);
  for (const r of apisix.routes ?? []) {
    if (!isObj(r)) continue;
    if (isObj(r.upstream)) out.push(r.upstream);
    const ts = isObj(r.plugins) ? r.plugins["traffic-split"] : undefined;
    if (isObj(ts) && Array.isArray(ts.rules))
      for (const rule of ts.rules)
        if (isObj(rule) && Array.isArray(rule.weighted_upstreams))
          for (const wu of rule.weighted_upstreams) if (isObj(wu) && isObj(wu.upstream)) out.push(wu.upstream);
  }
  return out;
}

/** Node host names that need DNS (not IP literals), sorted and unique. */
export function dnsHostnames(apisix: Partial<ApisixConfig>): string[] {
  const set = new Set<string>();
  for (const u of allUpstreamObjects(apisix)) for (const n of upstreamNodes(u)) if (!isIpLiteral(n.host)) set.add(n.host);
  return [...set].sort();
}
