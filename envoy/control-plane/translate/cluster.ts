// CDS: one cluster per APISIX upstream definition, in the chosen cluster mode.
import net from "node:net";
import { hostPort, isIpLiteral, isObj, nodeAddress, PLAN_HEADER, splitHostPort, upstreamNodes, type ApisixConfig, type UpstreamSite } from "../apisix/index.ts";
import { TYPE_URL } from "../protos.ts";
import type { Issue, Json } from "../snapshot.ts";
import { DEFAULTS, seconds, T, type Resolved } from "./options.ts";

const SCHEMES = new Set(["http", "https", "grpc", "grpcs"]);

export function clusterFor(site: UpstreamSite, apisix: Partial<ApisixConfig>, o: Resolved, issues: Issue[]): Json {
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

  const assignment = o.lbMode === "override-host" ? loadAssignment(site, o, issues) : undefined;
  // The filter sends a try plan only to an override-host cluster of more than
  // one node (assembly/balancer/steer.ts emitTries): an ORIGINAL_DST cluster
  // ignores it, and a cluster of one node has one endpoint for every try. Only
  // a cluster that gets a plan has the override_host policy reading it and
  // the upstream filter stripping it; each costs Envoy work on every request.
  const followsPlan = assignment !== undefined && assignment.nodes > 1;

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
    ...(followsPlan
      ? {
          http_filters: [
            {
              name: "envoy.filters.http.header_mutation",
              typed_config: { "@type": T.headerMutation, mutations: { request_mutations: [{ remove: PLAN_HEADER }] } },
            },
            { name: "envoy.filters.http.upstream_codec", typed_config: { "@type": T.upstreamCodec } },
          ],
        }
      : {}),
  };
  // SNI = the Host the filter put on the request (APISIX: proxy_ssl_name
  // $upstream_host), so it follows pass_host in every mode.
  if (tls) protocolOptions.upstream_http_protocol_options = { auto_sni: true };

  const endpointChoice: Json =
    assignment !== undefined
      ? {
          // The filter picks; Envoy only needs to know the nodes so that
          // override_host can find the plan's addresses (it skips addresses
          // not in the endpoint set). Endpoints change with the config or
          // DNS, and then CDS is re-sent (the cluster is rebuilt).
          type: "STATIC",
          load_assignment: assignment.json,
          ...(followsPlan ? { load_balancing_policy: overrideHostPolicy() } : {}),
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
 * too. `nodes` counts the nodes kept, as the filter keeps them (before equal
 * addresses merge).
 */
function loadAssignment(site: UpstreamSite, o: Resolved, issues: Issue[]): { json: Json; nodes: number } {
  const dns = o.dns ?? {};
  const eps: { addr: string; ip: string; port: number; weight: number; priority: number }[] = [];
  const seen = new Set<string>();
  let nodes = 0;
  for (const n of upstreamNodes(site.upstream, site.path)) {
    if (!Number.isInteger(n.port) || n.port < 1 || n.port > 65535) continue; // reported by checkNodes
    const resolved = nodeAddress(n.host, dns);
    if ("why" in resolved) {
      issues.push({
        severity: "warning",
        path: n.path,
        message: `host ${n.host}: ${resolved.why}; no endpoint in cluster ${site.cluster} (the filter drops this node too)`,
      });
      continue;
    }
    const ip = resolved.ip;
    if (isIpLiteral(n.host) && net.isIPv6(ip)) {
      // override_host matches the plan's "[v6]:port" text against Envoy's
      // own formatting of the endpoint address, which is canonical.
      const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
      if (canonical !== ip.toLowerCase())
        issues.push({
          severity: "warning",
          path: n.path,
          message: `IPv6 address ${ip} is not in canonical form (${canonical}); override_host will not find it in the filter's plan, so tries to it use the round-robin fallback`,
        });
    }
    nodes++;
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
  const endpoints = [...byLevel.keys()].sort((a, b) => a - b).map((level, i) => ({ ...(i > 0 ? { priority: i } : {}), lb_endpoints: byLevel.get(level)! }));
  return { json: { cluster_name: site.cluster, endpoints }, nodes };
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
        issues.push({
          severity: "warning",
          path: `${p}.tls.client_cert_id`,
          message: `ssl "${id}" not found: cluster emitted without a client certificate; the filter answers 502 for this upstream`,
        });
      } else if ((ssl.type ?? "server") !== "client") {
        issues.push({
          severity: "warning",
          path: `${p}.tls.client_cert_id`,
          message: `ssl "${id}" has type ${JSON.stringify(ssl.type ?? "server")}, not "client": cluster emitted without a client certificate; the filter answers 502 for this upstream`,
        });
      } else if (typeof ssl.cert !== "string" || typeof ssl.key !== "string") {
        issues.push({
          severity: "warning",
          path: `${p}.tls.client_cert_id`,
          message: `ssl "${id}" lacks cert/key strings: cluster emitted without a client certificate`,
        });
      } else {
        cert = ssl.cert;
        key = ssl.key;
      }
    } else if (tls.client_cert !== undefined || tls.client_key !== undefined) {
      if (typeof tls.client_cert === "string" && typeof tls.client_key === "string") {
        cert = tls.client_cert;
        key = tls.client_key;
      } else {
        issues.push({
          severity: "warning",
          path: `${p}.tls`,
          message: "client_cert and client_key must both be strings: cluster emitted without a client certificate",
        });
      }
    }
  }
  if (cert !== undefined && key !== undefined) common.tls_certificates = [{ certificate_chain: { inline_string: cert }, private_key: { inline_string: key } }];
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

/**
 * Each cluster's endpoints ("ip:port", as the filter writes addresses) from
 * translated clusters: what Envoy's load balancer chooses from when the
 * filter pins no endpoint (an upstream of one node). The CLI and the filter
 * tests hand it to host/ (HostOptions.clusterEndpoints).
 */
export function endpointsByCluster(clusters: readonly Json[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of clusters) {
    const levels = (c.load_assignment as Json | undefined)?.endpoints as Json[] | undefined;
    if (!levels) continue;
    const addrs: string[] = [];
    for (const level of levels)
      for (const lb of level.lb_endpoints as Json[]) {
        const sa = ((lb.endpoint as Json).address as Json).socket_address as Json;
        addrs.push(hostPort(sa.address as string, sa.port_value as number));
      }
    out.set(c.name as string, addrs);
  }
  return out;
}
