// LDS: the plain listener and the HTTP connection manager it shares with the
// HTTPS listener (tls-listener.ts).
import { CLUSTER_HEADER, ORIGINAL_DST_HEADER, PLAN_HEADER, ROUTE_STATE_KEY, UPSTREAM_STATE_KEY } from "../apisix/index.ts";
import { TYPE_URL } from "../protos.ts";
import type { Json } from "../snapshot.ts";
import { DEFAULTS, FILTER_NAME, T, type Resolved } from "./options.ts";

// --access-log's line: Envoy's usual fields plus what the filter decided.
// The route id and the upstreams[] id are filter state the filter writes
// (wasm.apisix_route, wasm.apisix_upstream; apisix/steering.ts);
// the upstream is Envoy's cluster (upstream.<id>, route.<id>, …; apisix/sites.ts)
// and the node the address Envoy really connected to (the filter's pick,
// or the next try after a retry). docs/operations.md explains each field.
export const ACCESS_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  `%RESPONSE_CODE_DETAILS% route=%FILTER_STATE(${ROUTE_STATE_KEY}:PLAIN)% upstream=%UPSTREAM_CLUSTER% ` +
  `node=%UPSTREAM_HOST% upstream_id=%FILTER_STATE(${UPSTREAM_STATE_KEY}:PLAIN)% %DURATION%ms\n`;

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

/** The HTTP connection manager; the plain and the HTTPS listener share it. */
export function httpConnectionManager(o: Resolved): Json {
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
  if (o.accessLog)
    hcm.access_log = [
      { name: "envoy.access_loggers.stdout", typed_config: { "@type": T.stdoutLog, log_format: { text_format_source: { inline_string: ACCESS_LOG_FORMAT } } } },
    ];
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

export function listener(o: Resolved, hcm: Json): Json {
  return {
    "@type": TYPE_URL.listener,
    name: o.listenerName,
    address: { socket_address: { address: o.listenerAddress, port_value: o.listenerPort } },
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }] }],
  };
}
