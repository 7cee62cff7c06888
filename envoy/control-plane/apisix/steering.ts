// The names through which the filter steers Envoy, as the TypeScript side
// uses them (translate.ts, the CLI, tests). The filter (AssemblyScript) holds
// its own copies, since the two languages share no module: this file is their
// documented mirror, and tests/envoy/steering.test.ts reads the assembly/
// sources and fails when a value here and there differ.

/** Request header naming the cluster; the router's cluster_header. */
export const CLUSTER_HEADER = "x-apisix-upstream";
/** The filter's try plan, "ip:port,ip:port,…": read by the override_host LB policy. */
export const PLAN_HEADER = "x-apisix-upstream-hosts";
/** Envoy's ORIGINAL_DST header: never trusted, always stripped from clients. */
export const ORIGINAL_DST_HEADER = "x-envoy-original-dst-host";
/** The filter-state key with the picked node for ORIGINAL_DST clusters (an Envoy name; host/ registers its factory). */
export { ORIGINAL_DST_ADDRESS_KEY as ORIGINAL_DST_KEY } from "../../../host/foreign.ts";
/** The filter property with the matched route's id (set_property "apisix_route"). */
export const ROUTE_PROPERTY = "apisix_route";
/** The same, as Envoy's filter state and access log see it (a CelState under "wasm."). */
export const ROUTE_STATE_KEY = `wasm.${ROUTE_PROPERTY}`;
/** The filter property with the upstreams[] id the request resolved to (set_property "apisix_upstream"). */
export const UPSTREAM_PROPERTY = "apisix_upstream";
/** The same in filter state and the access log. */
export const UPSTREAM_STATE_KEY = `wasm.${UPSTREAM_PROPERTY}`;
