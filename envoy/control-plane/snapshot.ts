// The snapshot the ADS server publishes: one version of every xDS resource
// kind, and the check that it hangs together before anyone sees it.
//
// Owned by the serving side (server.ts publishes only what consistent()
// passes), after go-control-plane's Snapshot.Consistent: a client that gets
// a listener naming a route configuration, an ECDS filter or a secret the
// snapshot lacks waits for it forever (Envoy keeps the listener warming); a
// filter naming a cluster CDS does not have answers 503 for every request on
// that upstream. translate() builds snapshots; nothing here knows APISIX
// beyond the filter document's `_cluster` fields.
import { TYPE_URL } from "./protos.ts";
import { isObj, upstreamSites } from "./apisix/index.ts";

export type Json = Record<string, unknown>;

export interface Issue {
  severity: "error" | "warning";
  /** Field path in the APISIX config, e.g. `upstreams[0].timeout.connect`. */
  path: string;
  message: string;
}

export type ResourceKind = "clusters" | "listeners" | "routes" | "extensionConfigs" | "secrets";

export interface Snapshot {
  /** Hash of all resources; changes iff any resource changes. */
  version: string;
  /** Per-type versions (hash of that type's resources), so unchanged types are not re-sent. */
  versions: Record<ResourceKind, string>;
  resources: Record<ResourceKind, Json[]>;
  issues: Issue[];
}

export const KIND_TYPE_URL: Record<ResourceKind, string> = {
  clusters: TYPE_URL.cluster,
  listeners: TYPE_URL.listener,
  routes: TYPE_URL.route,
  extensionConfigs: TYPE_URL.extensionConfig,
  secrets: TYPE_URL.secret,
};

/** The filter's JSON configuration inside a snapshot's ECDS resource (the first one). */
export function ecdsConfiguration(s: Snapshot): string {
  const tc = s.resources.extensionConfigs[0].typed_config as Json;
  return ((tc.config as Json).configuration as Json).value as string;
}

/** What one resource kind names of another, by kind. */
export interface References {
  /** RDS names from listeners (HCM rds.route_config_name). */
  routes: Set<string>;
  /** ECDS names from listeners (HTTP filters with config_discovery). */
  extensionConfigs: Set<string>;
  /** SDS names from listeners (TLS certificate and validation context secrets). */
  secrets: Set<string>;
  /** Cluster names from RDS (route.cluster, weighted_clusters) and from the filter's document (`_cluster`). */
  clusters: Set<string>;
}

/** Every name a snapshot's resources refer to, collected by walking them. */
export function references(s: Snapshot): References {
  const refs: References = { routes: new Set(), extensionConfigs: new Set(), secrets: new Set(), clusters: new Set() };
  // An explicit stack: resources nest deeply but no input controls the depth
  // of what translate() writes; still, no recursion that grows with input.
  const walk = (root: unknown, visit: (o: Json) => void) => {
    const stack: unknown[] = [root];
    while (stack.length) {
      const v = stack.pop();
      if (Array.isArray(v)) stack.push(...v);
      else if (isObj(v)) {
        visit(v);
        stack.push(...Object.values(v));
      }
    }
  };
  walk(s.resources.listeners, (o) => {
    if (isObj(o.rds) && typeof o.rds.route_config_name === "string") refs.routes.add(o.rds.route_config_name);
    if (isObj(o.config_discovery) && typeof o.name === "string") refs.extensionConfigs.add(o.name);
    if (Array.isArray(o.tls_certificate_sds_secret_configs))
      for (const c of o.tls_certificate_sds_secret_configs) if (isObj(c) && typeof c.name === "string") refs.secrets.add(c.name);
    if (isObj(o.validation_context_sds_secret_config) && typeof o.validation_context_sds_secret_config.name === "string")
      refs.secrets.add(o.validation_context_sds_secret_config.name);
  });
  walk(s.resources.routes, (o) => {
    if (isObj(o.route) && typeof o.route.cluster === "string") refs.clusters.add(o.route.cluster);
    if (isObj(o.weighted_clusters) && Array.isArray(o.weighted_clusters.clusters))
      for (const c of o.weighted_clusters.clusters) if (isObj(c) && typeof c.name === "string") refs.clusters.add(c.name);
  });
  for (const e of s.resources.extensionConfigs) {
    const doc = filterDocument(e);
    if (doc) for (const site of upstreamSites(doc)) if (typeof site.upstream._cluster === "string") refs.clusters.add(site.upstream._cluster);
  }
  return refs;
}

/** The APISIX document inside an ECDS wasm resource, if it carries one. */
function filterDocument(e: Json): Json | undefined {
  const tc = e.typed_config;
  const cfg = isObj(tc) && isObj(tc.config) ? tc.config : undefined;
  const value = cfg && isObj(cfg.configuration) ? cfg.configuration.value : undefined;
  if (typeof value !== "string") return undefined;
  try {
    const doc: unknown = JSON.parse(value);
    return isObj(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a snapshot before it may be published: every name a
 * resource refers to must be a resource of the same snapshot. [] = consistent.
 */
export function consistent(s: Snapshot): string[] {
  const refs = references(s);
  const problems: string[] = [];
  const names = (kind: ResourceKind) => new Set(s.resources[kind].map((r) => String(r.name)));
  const check = (kind: ResourceKind, by: string) => {
    const have = names(kind);
    for (const n of [...refs[kind as keyof References]].sort()) if (!have.has(n)) problems.push(`${kind} "${n}" named by ${by} is not in the snapshot`);
  };
  check("routes", "a listener");
  check("extensionConfigs", "a listener");
  check("secrets", "a listener");
  check("clusters", "the routes or the filter's configuration");
  return problems;
}
