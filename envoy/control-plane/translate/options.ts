// What translate() is asked for, and the constants every resource kind uses.
import type { DnsTable, EnvoySide, HealthTable, RouterHttp } from "../apisix/index.ts";
import { TLS_DEFAULTS } from "../tls-listener.ts";

export const FILTER_NAME = "apisix-upstream";

/** Type URLs of the typed configs inside the resources. */
export const T = {
  hcm: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  router: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
  wasm: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
  earlyHeaderMutation: "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
  typedStruct: "type.googleapis.com/xds.type.v3.TypedStruct",
  overrideHost: "type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost",
  roundRobin: "type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin",
  httpProtocolOptions: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
  upstreamTls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  stringValue: "type.googleapis.com/google.protobuf.StringValue",
  stdoutLog: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
  headerMutation: "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
  upstreamCodec: "type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec",
};

/** How clusters pick the endpoint; see envoy/README-control-plane.md "Cluster modes". */
export type LbMode = "original-dst" | "override-host";
export const LB_MODES: readonly LbMode[] = ["original-dst", "override-host"];

export interface TranslateOptions {
  /**
   * "override-host" (default): STATIC clusters with the nodes as endpoints
   * and the override_host LB policy (Envoy >= 1.35); retries follow APISIX's
   * order.
   * "original-dst": ORIGINAL_DST clusters, endpoint pinned by the filter
   * state; works on any Envoy with wasm, retries stay on the first pick.
   */
  lbMode?: LbMode;
  /** APISIX's apisix.router.http (default radixtree_host_uri). */
  routerHttp?: RouterHttp;
  /** Listener port; APISIX's default HTTP port. */
  listenerPort?: number;
  listenerAddress?: string;
  /** Where Envoy finds the compiled filter. */
  wasmPath?: string;
  dns?: DnsTable;
  health?: HealthTable;
  /** Seconds; used when neither the upstream nor the route sets timeout.connect. */
  defaultConnectTimeout?: number;
  routeConfigName?: string;
  listenerName?: string;
  /** Add an stdout access log to the listener. */
  accessLog?: boolean;
  /** HTTPS listener port for the server ssls (APISIX's 9443); null = no HTTPS listener. See tls-listener.ts. */
  tlsListenerPort?: number | null;
  /** APISIX's apisix.ssl.fallback_sni: the SNI assumed when a client sends none. */
  fallbackSni?: string;
}

export const DEFAULTS = {
  lbMode: "override-host" as LbMode,
  listenerPort: 9080,
  listenerAddress: "0.0.0.0",
  wasmPath: "/etc/envoy/filter.wasm",
  // nginx's proxy_connect_timeout default, which APISIX inherits when neither
  // route nor upstream sets `timeout`.
  defaultConnectTimeout: 60,
  routeConfigName: "apisix",
  listenerName: "apisix_http",
  tlsListenerPort: TLS_DEFAULTS.port as number | null,
  // keepalive_pool defaults of APISIX (nginx_config.http.upstream).
  keepaliveIdleTimeout: 60,
  keepaliveRequests: 1000,
  // HCM stream idle timeout (Envoy's default, stated explicitly).
  streamIdleTimeout: "300s",
};

/** Seconds (APISIX number) → proto3 JSON Duration, millisecond precision, ≥1ms. */
export function seconds(s: number): string {
  const ms = Math.max(1, Math.round(s * 1000));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}s`;
}

/** The options with every default filled in. */
export type Resolved = typeof DEFAULTS & TranslateOptions;

/** The filter config's `envoy` section for these options: what validation and the ECDS document both use. */
export function envoySide(o: { lbMode?: LbMode; routerHttp?: RouterHttp; accessLog?: boolean }): EnvoySide {
  return {
    lb_mode: o.lbMode ?? DEFAULTS.lbMode,
    ...(o.routerHttp ? { router_http: o.routerHttp } : {}),
    // Only the access log reads the ids; without it Envoy would still pay
    // two filter-state writes per request for them.
    ...(o.accessLog ? {} : { filter_state_ids: false }),
  };
}
