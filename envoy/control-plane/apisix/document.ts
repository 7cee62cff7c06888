// APISIX documents: the four sections, reading YAML, the filter's JSON
// configuration, and the JSON shape tests every reader here uses.
import { parseDocument } from "yaml";
import { ConfigError } from "../source.ts";

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

/** A JSON object (not null, not an array): the one test every walk over a document uses. */
export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** A list, or nothing to walk. */
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** An APISIX id a cluster can be named after: a non-empty string or a number. */
export const hasId = (v: unknown): boolean => (typeof v === "string" ? v.length > 0 : typeof v === "number");

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
  /** Whether the filter writes the route's and upstream's ids into filter state
   *  (wasm.apisix_route, wasm.apisix_upstream) for the access log; absent: true. */
  filter_state_ids?: boolean;
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
