// Envoy cluster names for APISIX upstream objects. The wasm filter computes
// the same names at request time (it sets `x-apisix-upstream: <name>`), so
// this file is the single definition both sides mirror:
//
//   upstream object           upstream.<upstream id>
//   route's inline upstream   route.<route id>
//   service's inline upstream service.<service id>
//   traffic-split inline      route.<route id>.split.<rule index>.<upstream index>
//     (plugins["traffic-split"].rules[i].weighted_upstreams[j].upstream)
//
// Ids are used verbatim (APISIX ids are [a-zA-Z0-9-_.] strings or integers).

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
      return `route.${ref.routeId}.split.${ref.rule}.${ref.index}`;
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

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const hasId = (v: unknown) => typeof v === "string" ? v.length > 0 : typeof v === "number";

/**
 * Every upstream definition in an APISIX config with its cluster name, in a
 * stable order: upstreams, services, routes (inline, then traffic-split).
 * Objects without a usable id are skipped (translate() reports them).
 */
export function upstreamSites(apisix: Record<string, unknown>): UpstreamSite[] {
  const out: UpstreamSite[] = [];
  arr(apisix.upstreams).forEach((u, i) => {
    if (isObj(u) && hasId(u.id)) out.push({ cluster: clusterName({ kind: "upstream", upstreamId: u.id as string }), ref: { kind: "upstream", upstreamId: u.id as string }, path: `upstreams[${i}]`, upstream: u });
  });
  arr(apisix.services).forEach((s, i) => {
    if (isObj(s) && hasId(s.id) && isObj(s.upstream))
      out.push({ cluster: clusterName({ kind: "service", serviceId: s.id as string }), ref: { kind: "service", serviceId: s.id as string }, path: `services[${i}].upstream`, upstream: s.upstream });
  });
  arr(apisix.routes).forEach((r, i) => {
    if (!isObj(r) || !hasId(r.id)) return;
    const routeId = r.id as string;
    if (isObj(r.upstream))
      out.push({ cluster: clusterName({ kind: "route", routeId }), ref: { kind: "route", routeId }, path: `routes[${i}].upstream`, upstream: r.upstream, route: r });
    const ts = isObj(r.plugins) ? r.plugins["traffic-split"] : undefined;
    if (!isObj(ts)) return;
    arr(ts.rules).forEach((rule, ri) => {
      if (!isObj(rule)) return;
      arr(rule.weighted_upstreams).forEach((wu, wi) => {
        if (isObj(wu) && isObj(wu.upstream)) {
          const ref: ClusterRef = { kind: "split", routeId, rule: ri, index: wi };
          out.push({ cluster: clusterName(ref), ref, path: `routes[${i}].plugins.traffic-split.rules[${ri}].weighted_upstreams[${wi}].upstream`, upstream: wu.upstream, route: r });
        }
      });
    });
  });
  return out;
}
