// Envoy cluster names for APISIX upstream objects. This file is their one
// owner: the control plane emits one cluster per name and ships each name to
// the filter as the upstream's `_cluster` field in the ECDS document
// (withClusterNames); the filter sets `x-apisix-upstream: <_cluster>` and
// never derives a name itself.
//
//   upstream object           upstream.<upstream id>
//   route's inline upstream   route.<route id>
//   service's inline upstream service.<service id>
//   traffic-split inline      split.<route id>.<rule index>.<upstream index>
//     (plugins["traffic-split"].rules[i].weighted_upstreams[j].upstream)
//
// Unique by construction: the prefix names the kind of site, and an id is
// unique within its section; for split names the last two dot-separated
// parts are always the two indexes, so the route id before them is read back
// unambiguously even when it contains dots (route "a.0" rule 1 index 2 is
// split.a.0.1.2; route "a" can only give split.a.<r>.<i>). Ids are APISIX's
// ([a-zA-Z0-9-_.], integers, or config_yaml's "routes#3").
import { arr, hasId, isObj } from "./document.ts";

export type ClusterRef =
  | { kind: "upstream"; upstreamId: string | number }
  | { kind: "route"; routeId: string | number }
  | { kind: "service"; serviceId: string | number }
  | { kind: "split"; routeId: string | number; rule: number; index: number };

export function clusterName(ref: ClusterRef): string {
  switch (ref.kind) {
    case "upstream":
      return `upstream.${ref.upstreamId}`;
    case "route":
      return `route.${ref.routeId}`;
    case "service":
      return `service.${ref.serviceId}`;
    case "split":
      return `split.${ref.routeId}.${ref.rule}.${ref.index}`;
  }
}

/** One upstream definition that becomes one Envoy cluster. */
export interface UpstreamSite {
  cluster: string;
  ref: ClusterRef;
  /** JSON path of the upstream object in the APISIX config, for messages. */
  path: string;
  upstream: Record<string, unknown>;
  /** Route owning an inline upstream (its `timeout` applies to that upstream). */
  route?: Record<string, unknown>;
}

/**
 * The one walk over every upstream object of a document, in a stable order:
 * upstreams, services, routes (inline, then traffic-split). `ref` is
 * undefined where the owner has no usable id (no cluster can be named after
 * it; validation reports those), but the object is still visited: its nodes
 * still need DNS.
 */
export function forEachUpstream(
  apisix: Record<string, unknown>,
  visit: (upstream: Record<string, unknown>, at: { ref: ClusterRef | undefined; path: string; route?: Record<string, unknown> }) => void,
): void {
  arr(apisix.upstreams).forEach((u, i) => {
    if (isObj(u)) visit(u, { ref: hasId(u.id) ? { kind: "upstream", upstreamId: u.id as string } : undefined, path: `upstreams[${i}]` });
  });
  arr(apisix.services).forEach((s, i) => {
    if (isObj(s) && isObj(s.upstream))
      visit(s.upstream, { ref: hasId(s.id) ? { kind: "service", serviceId: s.id as string } : undefined, path: `services[${i}].upstream` });
  });
  arr(apisix.routes).forEach((r, i) => {
    if (!isObj(r)) return;
    const routeId = hasId(r.id) ? (r.id as string) : undefined;
    if (isObj(r.upstream)) visit(r.upstream, { ref: routeId !== undefined ? { kind: "route", routeId } : undefined, path: `routes[${i}].upstream`, route: r });
    const ts = isObj(r.plugins) ? r.plugins["traffic-split"] : undefined;
    if (!isObj(ts)) return;
    arr(ts.rules).forEach((rule, ri) => {
      if (!isObj(rule)) return;
      arr(rule.weighted_upstreams).forEach((wu, wi) => {
        if (isObj(wu) && isObj(wu.upstream))
          visit(wu.upstream, {
            ref: routeId !== undefined ? { kind: "split", routeId, rule: ri, index: wi } : undefined,
            path: `routes[${i}].plugins.traffic-split.rules[${ri}].weighted_upstreams[${wi}].upstream`,
            route: r,
          });
      });
    });
  });
}

/**
 * Every upstream definition that gets a cluster, with its name, in
 * forEachUpstream's order. Objects without a usable id are skipped.
 */
export function upstreamSites(apisix: Record<string, unknown>): UpstreamSite[] {
  const out: UpstreamSite[] = [];
  forEachUpstream(apisix, (upstream, { ref, path, route }) => {
    if (ref) out.push({ cluster: clusterName(ref), ref, path, upstream, ...(route ? { route } : {}) });
  });
  return out;
}

/**
 * A copy of the document in which every upstream definition carries its
 * cluster name as `_cluster` (whatever `_cluster` the input had is replaced:
 * the control plane owns names). Objects are copied only along the way to
 * an upstream, so the input is never modified.
 */
export function withClusterNames<T extends Record<string, unknown>>(doc: T): T {
  const out: Record<string, unknown> = { ...doc };
  for (const s of ["upstreams", "services", "routes"]) if (Array.isArray(doc[s])) out[s] = (doc[s] as unknown[]).map((x) => (isObj(x) ? { ...x } : x));
  const name = (u: Record<string, unknown>, cluster: string) => ({ ...u, _cluster: cluster });
  arr(out.upstreams).forEach((u, i, list) => {
    if (isObj(u) && hasId(u.id)) list[i] = name(u, clusterName({ kind: "upstream", upstreamId: u.id as string }));
  });
  arr(out.services).forEach((s) => {
    if (isObj(s) && hasId(s.id) && isObj(s.upstream)) s.upstream = name(s.upstream, clusterName({ kind: "service", serviceId: s.id as string }));
  });
  arr(out.routes).forEach((r) => {
    if (!isObj(r) || !hasId(r.id)) return;
    const routeId = r.id as string;
    if (isObj(r.upstream)) r.upstream = name(r.upstream, clusterName({ kind: "route", routeId }));
    if (!isObj(r.plugins) || !isObj(r.plugins["traffic-split"])) return;
    const ts = { ...r.plugins["traffic-split"] };
    r.plugins = { ...r.plugins, "traffic-split": ts };
    if (!Array.isArray(ts.rules)) return;
    ts.rules = ts.rules.map((rule, ri) => {
      if (!isObj(rule) || !Array.isArray(rule.weighted_upstreams)) return rule;
      return {
        ...rule,
        weighted_upstreams: rule.weighted_upstreams.map((wu, wi) =>
          isObj(wu) && isObj(wu.upstream) ? { ...wu, upstream: name(wu.upstream, clusterName({ kind: "split", routeId, rule: ri, index: wi })) } : wu,
        ),
      };
    });
  });
  return out as T;
}
