// APISIX config → one xDS snapshot (listeners, routes, clusters, ECDS), pure.
//
// Shape of what Envoy gets (design notes in envoy/README-control-plane.md):
//   LDS  one listener, HCM: path normalisation, websocket upgrades (h1 and
//        RFC 8441 over h2), early header mutation stripping client-sent
//        x-apisix-upstream / x-envoy-original-dst-host / x-apisix-upstream-hosts,
//        then the wasm filter
//        (ECDS "apisix-upstream") and the router. Routes come from RDS via ADS.
//   RDS  one catch-all route: cluster from the `x-apisix-upstream` header the
//        filter sets; unknown/missing cluster → 503; no route timeout.
//   CDS  one cluster per APISIX upstream definition, in one of two modes
//        (opts.lbMode):
//          override-host (default) STATIC with the upstream's nodes as
//                        endpoints and the override_host LB policy reading
//                        the filter's try plan x-apisix-upstream-hosts
//                        (Envoy >= 1.35; retries walk APISIX's order, as
//                        tests/e2e/retries.test.ts shows in Envoy 1.40).
//          original-dst  ORIGINAL_DST, no endpoints; the filter pins the
//                        endpoint with the original_dst_address filter state
//                        (any Envoy with wasm; retries go back to that node).
//        Each cluster's upstream filters drop the try plan from the request
//        as it leaves for the node.
//   ECDS the wasm filter with the APISIX objects (+dns, +health) as its JSON.
import { createHash } from "node:crypto";
import net from "node:net";
import { TYPE_URL } from "./protos.ts";
import { CLUSTER_HEADER, ORIGINAL_DST_HEADER, PLAN_HEADER } from "./apisix/index.ts";
import { clusterName, isObj, upstreamSites, withClusterNames, type UpstreamSite } from "./apisix/index.ts";
import type { Issue, Json, Snapshot } from "./snapshot.ts";
import { TLS_DEFAULTS, tlsListener } from "./tls-listener.ts";
import {
  DEFAULT_PORTS,
  filterConfigJson,
  hostPort,
  isIpLiteral,
  splitHostPort,
  stripBrackets,
  upstreamNodes,
  type ApisixConfig,
  type DnsTable,
  type EnvoySide,
  type HealthTable,
  type RouterHttp,
} from "./apisix/index.ts";

export const FILTER_NAME = "apisix-upstream";
export { CLUSTER_HEADER, ORIGINAL_DST_HEADER, PLAN_HEADER } from "./apisix/index.ts";
// --access-log's line: Envoy's usual fields plus what the filter decided.
// The route id and the upstreams[] id are filter state the filter writes
// (wasm.apisix_route, wasm.apisix_upstream);
// the upstream is Envoy's cluster (upstream.<id>, route.<id>, …; names.ts)
// and the node the address Envoy really connected to (the filter's pick,
// or the next try after a retry). docs/operations.md explains each field.
export const ACCESS_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  "%RESPONSE_CODE_DETAILS% route=%FILTER_STATE(wasm.apisix_route:PLAIN)% upstream=%UPSTREAM_CLUSTER% " +
  "node=%UPSTREAM_HOST% upstream_id=%FILTER_STATE(wasm.apisix_upstream:PLAIN)% %DURATION%ms\n";

/**
 * x-envoy-* request headers through which a client could steer Envoy: the
 * router's timeouts, retries and hedging, and the HCM's tracing and
 * internal-request markers. Removed from every request before any filter,
 * whether or not Envoy treats the client as internal (internal_address_config
 * decides that, and its default moved between releases; docs/security.md).
 * The filter then sets the timeout and retry headers the APISIX config asks for.
 */
export const CLIENT_ENVOY_HEADERS = [
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-upstream-stream-duration-ms",
  "x-envoy-max-retries",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-hedge-on-per-try-timeout",
  "x-envoy-is-timeout-retry",
  "x-envoy-attempt-count",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-force-trace",
  "x-envoy-internal",
  "x-envoy-external-address",
  "x-envoy-decorator-operation",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
  "x-envoy-ip-tags",
  "x-envoy-original-path",
];

const T = {
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

// The snapshot's types live with the server that publishes it; re-exported
// here because translate() is what builds them.
export { KIND_TYPE_URL, ecdsConfiguration, type Issue, type Json, type ResourceKind, type Snapshot } from "./snapshot.ts";

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

const SCHEMES = new Set(["http", "https", "grpc", "grpcs"]);

/** Seconds (APISIX number) → proto3 JSON Duration, millisecond precision, ≥1ms. */
export function seconds(s: number): string {
  const ms = Math.max(1, Math.round(s * 1000));
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}s`;
}

function hashOf(v: unknown): string {
  return createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 16);
}

/**
 * Translates APISIX objects that the filter's validation accepted (see
 * validate.ts: the control plane never translates anything else, so this
 * file has no rules of its own about what is valid) into a snapshot.
 * Throws on what can only be a bug (two upstreams with one cluster name).
 */
/** The filter config's `envoy` section for these options: what validation and the ECDS document both use. */
export function envoySide(o: { lbMode?: LbMode; routerHttp?: RouterHttp }): EnvoySide {
  return { lb_mode: o.lbMode ?? DEFAULTS.lbMode, ...(o.routerHttp ? { router_http: o.routerHttp } : {}) };
}

export function translate(apisix: Partial<ApisixConfig>, opts: TranslateOptions = {}): Snapshot {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & TranslateOptions;
  if (!LB_MODES.includes(o.lbMode)) throw new Error(`unknown lbMode ${JSON.stringify(o.lbMode)} (one of ${LB_MODES.join(", ")})`);
  const issues: Issue[] = [];
  const named = withClusterNames(apisix as Json) as Partial<ApisixConfig>;

  const clusters: Json[] = [];
  const seen = new Map<string, string>();
  for (const site of upstreamSites(named as Json)) {
    const prev = seen.get(site.cluster);
    if (prev !== undefined) throw new Error(`cluster name "${site.cluster}" of ${site.path} is also the name of ${prev}`);
    seen.set(site.cluster, site.path);
    clusters.push(clusterFor(site, named, o, issues));
  }

  const hcm = httpConnectionManager(o);
  const listeners = [listener(o, hcm)];
  let secrets: Json[] = [];
  if (o.tlsListenerPort !== null) {
    const tls = tlsListener(apisix, { port: o.tlsListenerPort, address: o.listenerAddress, fallbackSni: o.fallbackSni, hcm });
    if (tls.listener) listeners.push(tls.listener);
    secrets = tls.secrets;
    issues.push(...tls.issues);
  }
  const routes = [routeConfiguration(o)];
  const extensionConfigs = [extensionConfig(named, o)];
  const resources = { clusters, listeners, routes, extensionConfigs, secrets };
  const versions = {
    clusters: hashOf(clusters),
    listeners: hashOf(listeners),
    routes: hashOf(routes),
    extensionConfigs: hashOf(extensionConfigs),
    secrets: hashOf(secrets),
  };
  return { version: hashOf(versions), versions, resources, issues };
}

// ---------------------------------------------------------------------------
// LDS

/** The HTTP connection manager; the plain and the HTTPS listener share it. */
function httpConnectionManager(o: typeof DEFAULTS & TranslateOptions): Json {
  const hcm: Json = {
    "@type": T.hcm,
    stat_prefix: "apisix",
    codec_type: "AUTO",
    rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: o.routeConfigName },
    // APISIX (nginx) matches on the decoded, normalised URI, where %2F is a
    // slash and %2E%2E a dot segment. Envoy decodes %2F/%5C first, then
    // resolves dot segments and merges slashes, so the path Envoy routes on,
    // the path the filter matches and the path the upstream gets are one and
    // the same (the filter then decodes the remaining escapes as nginx
    // does). Without the unescape, "/a%2F..%2Fb" reached the upstream as is
    // while the filter chose the route for "/b". docs/security.md
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: "UNESCAPE_AND_FORWARD",
    // internal_address_config stays unset: in Envoy 1.40 no client is then
    // internal. (A message with no cidr_ranges would make loopback and
    // RFC 1918 clients internal again.) The early header mutation below
    // removes the x-envoy-* headers regardless.
    // Websocket over HTTP/1.1 Upgrade and, for h2 clients, RFC 8441 extended
    // CONNECT (needs allow_connect). The filter strips upgrade/connection
    // for routes without enable_websocket, so the upgrade never happens there.
    upgrade_configs: [{ upgrade_type: "websocket" }],
    http2_protocol_options: { allow_connect: true },
    stream_idle_timeout: DEFAULTS.streamIdleTimeout,
    // Edge proxy: the client address is the peer address (APISIX's
    // X-Real-IP/X-Forwarded-For come from $remote_addr).
    use_remote_address: true,
    // Defence in depth: a client must never choose the cluster or the
    // endpoint (the override_host policy of lbMode "override-host" reads the
    // filter's x-apisix-upstream-hosts plan; a header-based ORIGINAL_DST is
    // never configured). Early header mutation runs before route matching
    // and before every HTTP filter, so the only x-apisix-upstream(-hosts)
    // the router can see is what the wasm filter wrote (the filter also
    // replaces the plan header on every proxied request).
    early_header_mutation_extensions: [
      {
        name: "envoy.http.early_header_mutation.header_mutation",
        typed_config: {
          "@type": T.earlyHeaderMutation,
          mutations: [CLUSTER_HEADER, ORIGINAL_DST_HEADER, PLAN_HEADER, ...CLIENT_ENVOY_HEADERS].map((h) => ({ remove: h })),
        },
      },
    ],
    http_filters: [
      {
        name: FILTER_NAME,
        config_discovery: {
          config_source: { ads: {}, resource_api_version: "V3" },
          type_urls: [T.wasm],
        },
      },
      { name: "envoy.filters.http.router", typed_config: { "@type": T.router } },
    ],
    local_reply_config: localReplyConfig(),
  };
  if (o.accessLog) hcm.access_log = [{ name: "envoy.access_loggers.stdout", typed_config: { "@type": T.stdoutLog, log_format: { text_format_source: { inline_string: ACCESS_LOG_FORMAT } } } }];
  return hcm;
}

const STATUS_TEXT: Record<number, string> = { 502: "Bad Gateway", 504: "Gateway Time-out" };
/** nginx's error page for `code`, as the filter's local replies carry it (assembly/filter.ts errorPage). */
export function nginxErrorPage(code: 502 | 504): string {
  const title = `${code} ${STATUS_TEXT[code]}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>APISIX</center>\r\n</body>\r\n</html>\r\n`;
}

/**
 * Envoy's own answers when the node fails, as nginx gives them in APISIX: a
 * refused or broken connection (after the last retry) is 502 Bad Gateway,
 * not Envoy's 503 "upstream connect error ..."; a read timeout is nginx's 504
 * page. The filter's own local replies carry no response flag and pass
 * unchanged. gRPC requests are left alone: Envoy turns their local replies
 * into grpc-status (UNAVAILABLE / DEADLINE_EXCEEDED) and an HTML page would
 * become the grpc-message.
 */
function localReplyConfig(): Json {
  const notGrpc = {
    or_filter: {
      filters: [
        { header_filter: { header: { name: "content-type", present_match: false } } },
        { header_filter: { header: { name: "content-type", string_match: { prefix: "application/grpc" }, invert_match: true } } },
      ],
    },
  };
  const mapper = (flags: string[], code: 502 | 504) => ({
    filter: { and_filter: { filters: [{ response_flag_filter: { flags } }, notGrpc] } },
    status_code: code,
    body: { inline_string: nginxErrorPage(code) },
    body_format_override: { text_format_source: { inline_string: "%LOCAL_REPLY_BODY%" }, content_type: "text/html; charset=utf-8" },
  });
  return { mappers: [mapper(["UF", "URX", "UC", "UR"], 502), mapper(["UT"], 504)] };
}

function listener(o: typeof DEFAULTS & TranslateOptions, hcm: Json): Json {
  return {
    "@type": TYPE_URL.listener,
    name: o.listenerName,
    address: { socket_address: { address: o.listenerAddress, port_value: o.listenerPort } },
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }] }],
  };
}

// ---------------------------------------------------------------------------
// RDS

function routeConfiguration(o: typeof DEFAULTS & TranslateOptions): Json {
  return {
    "@type": TYPE_URL.route,
    name: o.routeConfigName,
    virtual_hosts: [
      {
        name: "apisix",
        domains: ["*"],
        routes: [
          {
            name: "apisix-upstream",
            match: { prefix: "/" },
            route: {
              cluster_header: CLUSTER_HEADER,
              // Only reached when the filter named a cluster CDS doesn't
              // have (yet): a transient "service unavailable", like APISIX's
              // 503s for upstreams it can't use. The filter answers APISIX's
              // own 404/502/503 cases itself.
              cluster_not_found_response_code: "SERVICE_UNAVAILABLE",
              // No overall deadline: gRPC streams and websockets live long.
              // The per-upstream read timeout arrives per request via
              // x-envoy-upstream-rq-timeout-ms set by the filter.
              timeout: "0s",
            },
            // The upstream need not see the internal routing header. Removal
            // happens when the router builds the upstream request, after the
            // cluster was chosen; retries reuse that cluster.
            request_headers_to_remove: [CLUSTER_HEADER],
          },
        ],
      },
    ],
  };
}

// ---------------------------------------------------------------------------
// ECDS

function extensionConfig(apisix: Partial<ApisixConfig>, o: typeof DEFAULTS & TranslateOptions): Json {
  return {
    "@type": TYPE_URL.extensionConfig,
    name: FILTER_NAME,
    typed_config: {
      "@type": T.wasm,
      config: {
        name: FILTER_NAME,
        root_id: FILTER_NAME,
        // vm_id and code never change between versions: a config-only update
        // keeps the VMs (changing them leaks V8 memory, istio#27671).
        vm_config: {
          vm_id: FILTER_NAME,
          runtime: "envoy.wasm.runtime.v8",
          code: { local: { filename: o.wasmPath } },
        },
        configuration: { "@type": T.stringValue, value: filterConfigJson(redactKeys(apisix), o.dns ?? {}, o.health ?? {}, envoySide(o)) },
      },
    },
  };
}

/**
 * The objects without private keys: Envoy's /config_dump prints the wasm
 * configuration in clear (it redacts only its own secret fields), and the
 * filter needs ids and types, nothing secret. `_redacted: true` tells the
 * filter the key was there and was validated before it was removed. The
 * keys still reach Envoy where they are needed, inside the clusters' TLS
 * contexts, which /config_dump redacts.
 */
export function redactKeys(apisix: Partial<ApisixConfig>): Partial<ApisixConfig> {
  const tlsOf = (u: unknown): unknown => {
    if (!isObj(u) || !isObj(u.tls) || u.tls.client_key === undefined) return u;
    const { client_key: _k, ...tls } = u.tls;
    return { ...u, tls: { ...tls, _redacted: true } };
  };
  const ssls = (apisix.ssls ?? []).map((x) => {
    if (!isObj(x) || (x.key === undefined && x.keys === undefined)) return x;
    const { key: _k, keys: _ks, ...rest } = x;
    return { ...rest, _redacted: true };
  });
  const mapUpstreams = (list: unknown[] | undefined, inline: boolean) =>
    (list ?? []).map((x) => {
      if (!inline) return tlsOf(x);
      if (!isObj(x)) return x;
      let y: Json = x;
      if (isObj(y.upstream) && isObj((y.upstream as Json).tls)) y = { ...y, upstream: tlsOf(y.upstream) };
      const ts = isObj(y.plugins) ? (y.plugins as Json)["traffic-split"] : undefined;
      if (isObj(ts) && Array.isArray(ts.rules))
        y = {
          ...y,
          plugins: {
            ...(y.plugins as Json),
            "traffic-split": {
              ...ts,
              rules: ts.rules.map((r) =>
                isObj(r) && Array.isArray(r.weighted_upstreams) ? { ...r, weighted_upstreams: r.weighted_upstreams.map((w) => (isObj(w) && isObj(w.upstream) ? { ...w, upstream: tlsOf(w.upstream) } : w)) } : r,
              ),
            },
          },
        };
      return y;
    });
  return {
    routes: mapUpstreams(apisix.routes, true) as Json[],
    upstreams: mapUpstreams(apisix.upstreams, false) as Json[],
    services: mapUpstreams(apisix.services, true) as Json[],
    ssls: ssls as Json[],
  };
}

// ---------------------------------------------------------------------------
// CDS

function clusterFor(site: UpstreamSite, apisix: Partial<ApisixConfig>, o: typeof DEFAULTS & TranslateOptions, issues: Issue[]): Json {
  const u = site.upstream;
  const p = site.path;
  const scheme = typeof u.scheme === "string" ? u.scheme : "http";
  if (!SCHEMES.has(scheme)) throw new Error(`${p}.scheme: ${scheme} passed validation but has no HTTP cluster`);

  // connect timeout: the owning route's timeout wins (APISIX: route.timeout
  // replaces upstream.timeout), else the upstream's, else nginx's 60 s.
  let connect = o.defaultConnectTimeout;
  const fromUp = timeoutConnect(u.timeout);
  if (fromUp !== undefined) connect = fromUp;
  if (site.route) {
    const fromRoute = timeoutConnect(site.route.timeout);
    if (fromRoute !== undefined) connect = fromRoute;
  }

  const pool = isObj(u.keepalive_pool) ? u.keepalive_pool : {};
  const idle = typeof pool.idle_timeout === "number" && pool.idle_timeout >= 0 ? pool.idle_timeout : DEFAULTS.keepaliveIdleTimeout;
  const requests = typeof pool.requests === "number" && pool.requests >= 1 ? Math.floor(pool.requests) : DEFAULTS.keepaliveRequests;
  const tls = scheme === "https" || scheme === "grpcs";
  const h2 = scheme === "grpc" || scheme === "grpcs";

  const protocolOptions: Json = {
    "@type": T.httpProtocolOptions,
    common_http_protocol_options: {
      // keepalive_pool.idle_timeout 0 = no keepalive in nginx → one request per connection.
      ...(idle > 0 ? { idle_timeout: seconds(idle) } : {}),
      max_requests_per_connection: idle > 0 ? requests : 1,
    },
    // grpc/grpcs: HTTP/2 (h2c prior knowledge / ALPN h2). http/https:
    // HTTP/1.1 like APISIX's proxy_pass (proxy_http_version 1.1); websocket
    // from h2 clients is converted to an HTTP/1.1 Upgrade by Envoy.
    explicit_http_config: h2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
    // The try plan must stay on the request until Envoy's last host choice:
    // Envoy 1.40's override_host re-reads the header on every try, and the
    // route's request_headers_to_remove is applied before the retries choose
    // (tried: they fell back to round robin). Upstream filters run per try,
    // after the host was chosen, so the node never sees the plan (it would
    // learn the other nodes' addresses).
    http_filters: [
      { name: "envoy.filters.http.header_mutation", typed_config: { "@type": T.headerMutation, mutations: { request_mutations: [{ remove: PLAN_HEADER }] } } },
      { name: "envoy.filters.http.upstream_codec", typed_config: { "@type": T.upstreamCodec } },
    ],
  };
  // SNI = the Host the filter put on the request (APISIX: proxy_ssl_name
  // $upstream_host), so it follows pass_host in every mode.
  if (tls) protocolOptions.upstream_http_protocol_options = { auto_sni: true };

  const endpointChoice: Json =
    o.lbMode === "override-host"
      ? {
          // The filter picks; Envoy only needs to know the nodes so that
          // override_host can find the plan's addresses (it skips addresses
          // not in the endpoint set). Endpoints change with the config or
          // DNS, and then CDS is re-sent (the cluster is rebuilt).
          type: "STATIC",
          load_assignment: loadAssignment(site, o, issues),
          load_balancing_policy: overrideHostPolicy(),
        }
      : {
          type: "ORIGINAL_DST",
          lb_policy: "CLUSTER_PROVIDED",
          // The endpoint comes from the filter state
          // envoy.network.transport_socket.original_dst_address set by the filter;
          // the x-envoy-original-dst-host header is never trusted.
          original_dst_lb_config: { use_http_header: false },
          // Hosts unused for this long are dropped with their connection pools:
          // keep them as long as APISIX keeps idle keepalive connections.
          cleanup_interval: seconds(Math.max(idle, 5)),
        };
  const cluster: Json = {
    "@type": TYPE_URL.cluster,
    name: site.cluster,
    ...endpointChoice,
    connect_timeout: seconds(connect),
    // nginx has no per-upstream concurrency cap; Envoy's default is 1024.
    circuit_breakers: {
      thresholds: [{ priority: "DEFAULT", max_connections: 1000000, max_pending_requests: 1000000, max_requests: 1000000, max_retries: 1000 }],
    },
    typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": protocolOptions },
  };

  if (tls) cluster.transport_socket = { name: "envoy.transport_sockets.tls", typed_config: upstreamTls(u, p, apisix, h2, issues) };
  else if (isObj(u.tls) && (u.tls.client_cert !== undefined || u.tls.client_cert_id !== undefined))
    issues.push({ severity: "warning", path: `${p}.tls`, message: `client certificate ignored: scheme ${scheme} is not TLS` });
  return cluster;
}

// ---------------------------------------------------------------------------
// override-host mode: endpoints and the LB policy

/**
 * The cluster's `load_balancing_policy` in override-host mode:
 * envoy.load_balancing_policies.override_host reading the filter's try plan
 * (`x-apisix-upstream-hosts: ip:port,ip:port,...`, first = the filter's pick),
 * falling back to round robin when the header is absent or its addresses run
 * out. Per Envoy's override_host.proto, "the request is forwarded to the first
 * address and subsequent addresses are used for request retries", so no route
 * retry host predicate is needed: Envoy reads the list once (first pick) into
 * request filter state and each retry consumes the next address.
 *
 * The OverrideHost message (Envoy >= 1.35) is newer than the protos vendored
 * by @grpc/grpc-js-xds, so it travels as an xds.type.v3.TypedStruct (Envoy
 * looks the factory up by TypedStruct.type_url and converts `value` through
 * JSON). The strict proto check validates the TypedStruct wrapper only; the
 * inner `value` is a free-form Struct to it. Its shape was checked by hand
 * against envoyproxy/envoy api/envoy/extensions/load_balancing_policies/
 * override_host/v3/override_host.proto (override_host_sources[{header}],
 * selected_host_key, fallback_policy: config.cluster.v3.LoadBalancingPolicy,
 * required) and is asserted in tests/envoy/translate.test.ts.
 */
export function overrideHostPolicy(): Json {
  return {
    policies: [
      {
        typed_extension_config: {
          name: "envoy.load_balancing_policies.override_host",
          typed_config: {
            "@type": T.typedStruct,
            type_url: T.overrideHost,
            value: {
              override_host_sources: [{ header: PLAN_HEADER }],
              fallback_policy: {
                policies: [{ typed_extension_config: { name: "envoy.load_balancing_policies.round_robin", typed_config: { "@type": T.roundRobin } } }],
              },
            },
          },
        },
      },
    ],
  };
}

/** Upper bound for an endpoint weight (Envoy: per-locality sum must fit in uint32). */
const MAX_ENDPOINT_WEIGHT = 1_000_000;

/**
 * The upstream's nodes as endpoints: IP nodes as given, domain nodes with the
 * first resolved address (the address the filter uses). Same ip:port twice →
 * listed once (the first). APISIX priorities (higher = first) become Envoy
 * priority levels 0, 1, ... in descending order; weight-0 nodes (never picked
 * by APISIX's balancers) go to one extra, last level with weight 1, so the
 * round-robin fallback won't reach them while higher levels are healthy but
 * override_host (which searches every level) still finds them. A domain that
 * did not resolve gives no endpoint and a warning; the filter drops that node
 * too.
 */
function loadAssignment(site: UpstreamSite, o: typeof DEFAULTS & TranslateOptions, issues: Issue[]): Json {
  const dns = o.dns ?? {};
  const eps: { addr: string; ip: string; port: number; weight: number; priority: number }[] = [];
  const seen = new Set<string>();
  for (const n of nodeEntries(site.upstream, site.path)) {
    if (!Number.isInteger(n.port) || n.port < 1 || n.port > 65535) continue; // reported by checkNodes
    let ip = n.host;
    if (!isIpLiteral(n.host)) {
      const ans = dns[n.host];
      const why = ans === undefined ? "not resolved by the control plane (yet)" : "error" in ans ? ans.error : ans.addresses.length === 0 ? "no address" : "";
      if (why) {
        issues.push({ severity: "warning", path: n.path, message: `host ${n.host}: ${why}; no endpoint in cluster ${site.cluster} (the filter drops this node too)` });
        continue;
      }
      ip = (ans as { addresses: string[] }).addresses[0];
    } else if (net.isIPv6(ip)) {
      // override_host matches the plan's "[v6]:port" text against Envoy's
      // own formatting of the endpoint address, which is canonical.
      const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
      if (canonical !== ip.toLowerCase())
        issues.push({ severity: "warning", path: n.path, message: `IPv6 address ${ip} is not in canonical form (${canonical}); override_host will not find it in the filter's plan, so tries to it use the round-robin fallback` });
    }
    const addr = hostPort(ip, n.port);
    if (seen.has(addr)) continue;
    seen.add(addr);
    eps.push({ addr, ip, port: n.port, weight: n.weight, priority: n.priority });
  }
  const levels = [...new Set(eps.filter((e) => e.weight > 0).map((e) => e.priority))].sort((a, b) => b - a);
  const zeroLevel = levels.length;
  const byLevel = new Map<number, Json[]>();
  for (const e of eps) {
    const level = e.weight > 0 ? levels.indexOf(e.priority) : zeroLevel;
    const list = byLevel.get(level) ?? [];
    list.push({
      endpoint: { address: { socket_address: { address: e.ip, port_value: e.port } } },
      load_balancing_weight: Math.min(Math.max(1, Math.floor(e.weight)), MAX_ENDPOINT_WEIGHT),
    });
    byLevel.set(level, list);
  }
  const endpoints = [...byLevel.keys()]
    .sort((a, b) => a - b)
    .map((level, i) => ({ ...(i > 0 ? { priority: i } : {}), lb_endpoints: byLevel.get(level)! }));
  return { cluster_name: site.cluster, endpoints };
}

/** upstreamNodes() with each node's APISIX field path (for issues). */
function nodeEntries(u: Json, p: string): { path: string; host: string; port: number; weight: number; priority: number }[] {
  const scheme = typeof u.scheme === "string" ? u.scheme : "http";
  const defPort = DEFAULT_PORTS[scheme] ?? 80;
  const out: { path: string; host: string; port: number; weight: number; priority: number }[] = [];
  if (Array.isArray(u.nodes)) {
    u.nodes.forEach((n, i) => {
      if (!isObj(n) || typeof n.host !== "string" || !n.host) return;
      out.push({
        path: `${p}.nodes[${i}]`,
        host: stripBrackets(n.host),
        port: n.port === undefined ? defPort : (n.port as number),
        weight: typeof n.weight === "number" ? n.weight : 1,
        priority: typeof n.priority === "number" ? n.priority : 0,
      });
    });
  } else if (isObj(u.nodes)) {
    for (const [k, w] of Object.entries(u.nodes)) {
      const { host, port } = splitHostPort(k);
      if (!host) continue;
      out.push({ path: `${p}.nodes[${JSON.stringify(k)}]`, host, port: port ?? defPort, weight: typeof w === "number" ? w : 1, priority: 0 });
    }
  }
  return out;
}

function upstreamTls(u: Json, p: string, apisix: Partial<ApisixConfig>, h2: boolean, issues: Issue[]): Json {
  // Envoy's TLS client stops at TLS 1.2 unless told otherwise; nginx's
  // proxy_ssl_protocols offers 1.3 too (an upstream that only speaks 1.3
  // must work as it does behind APISIX).
  const common: Json = { tls_params: { tls_maximum_protocol_version: "TLSv1_3" } };
  // APISIX does not verify upstream certificates for https/grpcs
  // (proxy_ssl_verify off); no validation_context = no verification.
  if (h2) common.alpn_protocols = ["h2"];
  const tls = isObj(u.tls) ? u.tls : undefined;
  let cert: string | undefined, key: string | undefined;
  if (tls) {
    if (tls.client_cert_id !== undefined) {
      const id = tls.client_cert_id;
      const ssl = (apisix.ssls ?? []).find((s) => isObj(s) && s.id !== undefined && String(s.id) === String(id));
      if (!ssl) {
        issues.push({ severity: "warning", path: `${p}.tls.client_cert_id`, message: `ssl "${id}" not found: cluster emitted without a client certificate; the filter answers 502 for this upstream` });
      } else if ((ssl.type ?? "server") !== "client") {
        issues.push({ severity: "warning", path: `${p}.tls.client_cert_id`, message: `ssl "${id}" has type ${JSON.stringify(ssl.type ?? "server")}, not "client": cluster emitted without a client certificate; the filter answers 502 for this upstream` });
      } else if (typeof ssl.cert !== "string" || typeof ssl.key !== "string") {
        issues.push({ severity: "warning", path: `${p}.tls.client_cert_id`, message: `ssl "${id}" lacks cert/key strings: cluster emitted without a client certificate` });
      } else {
        cert = ssl.cert;
        key = ssl.key;
      }
    } else if (tls.client_cert !== undefined || tls.client_key !== undefined) {
      if (typeof tls.client_cert === "string" && typeof tls.client_key === "string") {
        cert = tls.client_cert;
        key = tls.client_key;
      } else {
        issues.push({ severity: "warning", path: `${p}.tls`, message: "client_cert and client_key must both be strings: cluster emitted without a client certificate" });
      }
    }
  }
  if (cert !== undefined && key !== undefined)
    common.tls_certificates = [{ certificate_chain: { inline_string: cert }, private_key: { inline_string: key } }];
  const out: Json = { "@type": T.upstreamTls, common_tls_context: common };
  const sni = staticSni(u);
  if (sni) out.sni = sni;
  return out;
}

/** SNI known at config time (fallback when the request Host is an IP). */
function staticSni(u: Json): string | undefined {
  const strip = (h: string) => splitHostPort(h).host;
  if (u.pass_host === "rewrite" && typeof u.upstream_host === "string" && u.upstream_host) {
    const h = strip(u.upstream_host);
    return isIpLiteral(h) ? undefined : h;
  }
  if (u.pass_host === "node") {
    const hosts = new Set(upstreamNodes(u).map((n) => n.host));
    if (hosts.size === 1) {
      const [h] = [...hosts];
      return isIpLiteral(h) ? undefined : h;
    }
  }
  return undefined;
}

function timeoutConnect(t: unknown): number | undefined {
  return isObj(t) && typeof t.connect === "number" && t.connect > 0 ? t.connect : undefined;
}

export { clusterName };
