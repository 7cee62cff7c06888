// Per request, what APISIX's handle_upstream does (apisix/init.lua), ending
// not in a proxy_pass but in the headers and filter state that make Envoy's
// own router proxy to the picked node.

import { Context, FilterHeadersStatusValues, LogLevelValues, RootContext } from "@solo-io/proxy-runtime/assembly";
import { Config } from "./config/config";
import { PassHost, Upstream } from "./config/model";
import { Route, Service, methodBit } from "./config/route";
import { RouteFilter } from "./router";
import { Header, Request } from "./request";
import { holds } from "./expr/vars";
import { regexBudgetExceeded, resetRegexBudget } from "./expr/regex";
import { BalanceCtx } from "./balancer/picker";
import { afterBalance, finishRequest, pickServer, planTries } from "./balancer/pick";
import { Outcome, UPSTREAM_HOSTS_HEADER, emitTries, readOutcome } from "./balancer/steer";
import { Health } from "./balancer/health";
import * as envoy from "./envoy";
import { connVar, remoteAddr } from "./connection";
import { Metrics } from "./metrics";
import { streamDone } from "./gc";

// The request headers the filter uses to steer Envoy. Whatever a client sent
// in them is removed before anything else happens.
export const CLUSTER_HEADER = "x-apisix-upstream";
export const ORIGINAL_DST_HEADER = "x-envoy-original-dst-host";
export const TIMEOUT_HEADER = "x-envoy-upstream-rq-timeout-ms";
// What the filter decided, as filter state for Envoy's access log and for
// the CLI: the matched route's id, %FILTER_STATE(wasm.apisix_route:PLAIN)%,
// and the id of the upstreams[] object it resolved to (none for an inline
// upstream), %FILTER_STATE(wasm.apisix_upstream:PLAIN)%. The cluster and
// node are Envoy's own %UPSTREAM_CLUSTER% and %UPSTREAM_HOST%.
export const ROUTE_PROPERTY = "apisix_route";
export const UPSTREAM_PROPERTY = "apisix_upstream";
const STEERING_HEADERS: Array<string> = [CLUSTER_HEADER, ORIGINAL_DST_HEADER, UPSTREAM_HOSTS_HEADER];

// Shared by every root context of this VM: node health outlives config reloads.
export const health = new Health();

export abstract class ConfigHolder extends RootContext {
  abstract current(): Config | null;
}

class MatchFilter extends RouteFilter {
  req: Request | null = null;

  accept(route: Route): bool {
    if (route.methods != 0) {
      const bit = methodBit(this.req!.method);
      if ((route.methods & bit) == 0) return false;
    }
    if (route.remoteAddrs.length) {
      const ip = this.req!.remoteAddr();
      let any = false;
      for (let i = 0; i < route.remoteAddrs.length; i++) if (route.remoteAddrs[i].contains(ip)) { any = true; break; }
      if (!any) return false;
    }
    const vars = route.vars;
    if (vars !== null && !holds(vars, this.req!)) return false;
    return true;
  }
}

const matcher = new MatchFilter();

function statusText(code: u32): string {
  switch (code) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Temporarily Unavailable";
    case 504: return "Gateway Time-out";
    default: return "Error";
  }
}

// core.response.exit(code) without a body answers with nginx's error page.
function errorPage(code: u32): string {
  const title = code.toString() + " " + statusText(code);
  return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
    "</h1></center>\r\n<hr><center>APISIX</center>\r\n</body>\r\n</html>\r\n";
}

// APISIX's verify_https_client (apisix/init.lua, access phase, before the
// router): over TLS, when the Host belongs to an ssl with client.ca, the
// client certificate must have been verified and the SNI must be that Host;
// otherwise 400. Without it a client could handshake with the SNI of a
// non-mTLS certificate and reach an mTLS host's routes by its Host header.
function httpsClientRejected(cfg: Config, req: Request): bool {
  const version = envoy.property("connection.tls_version");
  if (version === null || version.length == 0) return false;
  const ssl = cfg.sslForHost(req.host);
  if (ssl === null || !ssl.mtls) return false;
  if (!envoy.propertyBool("connection.mtls")) {
    envoy.logError("client certificate was not present");
    return true;
  }
  const raw = envoy.property("connection.requested_server_name");
  const sni = raw !== null ? raw.toLowerCase() : "";
  if (sni != req.host) {
    envoy.logError("client certificate verified with SNI " + sni + ", but the host is " + req.host);
    return true;
  }
  return false;
}

export class UpstreamFilter extends Context {
  // Kept for the log phase: the balancer releases the pick and passive
  // health checks read the response code.
  private upstream: Upstream | null = null;
  private balance: BalanceCtx | null = null;
  // Reused by every request this (recycled) filter object serves.
  private ownBalance: BalanceCtx = new BalanceCtx(null);
  // For the per-route local-reply counters.
  private route: Route | null = null;

  constructor(context_id: u32, root: ConfigHolder, public metrics: Metrics) {
    super(context_id, root);
  }

  // Streams reuse filter objects (streams.ts): nothing of the last stream stays.
  recycle(context_id: u32, root: ConfigHolder): void {
    this.context_id = context_id;
    this.root_context = root;
    this.upstream = null;
    this.balance = null;
    this.route = null;
    this.ownBalance.reset(null);
  }

  private reply(code: u32, details: string, body: string, json: bool): FilterHeadersStatusValues {
    const headers = new Array<Header>();
    headers.push(new Header("content-type", json ? "text/plain; charset=utf-8" : "text/html; charset=utf-8"));
    envoy.sendLocalResponse(code, details, body, headers);
    this.metrics.localReply(code, this.route);
    // After a local reply Envoy treats any return value as a stop.
    return FilterHeadersStatusValues.StopIteration;
  }

  private exit(code: u32, details: string): FilterHeadersStatusValues {
    return this.reply(code, details, errorPage(code), false);
  }

  onRequestHeaders(_n: u32, _eos: bool): FilterHeadersStatusValues {
    const headers = envoy.requestHeaders();

    // 1. A client never chooses the cluster, the endpoint or the retry hosts.
    for (let k = 0; k < STEERING_HEADERS.length; k++) {
      if (headers.find(STEERING_HEADERS[k]) >= 0) envoy.removeRequestHeader(STEERING_HEADERS[k]);
    }

    const cfg = (this.root_context as ConfigHolder).current();
    const req = Request.fromHeaders(headers, remoteAddr);
    req.connVar = connVar;

    // nginx rejects these before APISIX runs (bad escapes, ".." above the
    // root, an invalid Host).
    if (req.invalid.length) {
      envoy.logInfo(req.invalid);
      return this.exit(400, "apisix_bad_request");
    }

    if (cfg !== null && cfg.anyMtls && httpsClientRejected(cfg, req)) return this.exit(400, "apisix_https_client_rejected");

    // 2. Route.
    if (cfg === null) return this.notFound();
    resetRegexBudget();
    // One filter object per VM: matching is synchronous, one request at a time.
    matcher.req = req;
    const route = cfg.router.match(req.host, req.uri, matcher);
    matcher.req = null;
    if (route === null) { this.warnBudget(); return this.notFound(); }
    this.route = route;
    // One host call: the access log can name the route for proxied requests
    // and for APISIX's 5xx local replies alike.
    envoy.setProperty(ROUTE_PROPERTY, route.id);
    return this.handleUpstream(cfg, req, route);
  }

  // Once per request: a vars regex hit the work budget and failed closed.
  private warnBudget(): void {
    if (regexBudgetExceeded()) envoy.logWarn("regex work budget exceeded: vars conditions with regexes failed closed for this request");
  }

  private notFound(): FilterHeadersStatusValues {
    envoy.logDebug("not find any matched route");
    return this.reply(404, "apisix_route_not_found", "{\"error_msg\":\"404 Route Not Found\"}\n", true);
  }

  private handleUpstream(cfg: Config, req: Request, route: Route): FilterHeadersStatusValues {
    // Service merge (apisix/plugin.lua merge_service_route).
    let service: Service | null = null;
    if (route.serviceId.length) {
      if (!cfg.services.has(route.serviceId)) {
        envoy.logError("failed to fetch service configuration by id: " + route.serviceId);
        return this.exit(404, "apisix_service_not_found");
      }
      service = cfg.services.get(route.serviceId);
    }
    let enableWebsocket = route.enableWebsocket;
    if (!route.websocketSet && service !== null) enableWebsocket = service.enableWebsocket;

    // 3. Upstream: traffic-split's choice (APISIX's `handle_upstream` (apisix/init.lua): api_ctx.upstream_id),
    // else the route's upstream_id, which wins over an inline upstream.
    let upId = route.upstreamId;
    let up: Upstream | null = null;
    if (upId.length == 0 && route.upstream === null && service !== null) upId = service.upstreamId;
    const split = route.split;
    const target = split !== null ? split.choose(req) : null;
    this.warnBudget();
    if (target !== null && !target.useRoute) {
      upId = target.upstreamId;
      up = target.upstream;
    }
    const inline = up !== null || upId.length == 0;
    if (!inline) {
      if (!cfg.upstreams.has(upId)) {
        envoy.logError("failed to find upstream by id: " + upId);
        return this.exit(502, "apisix_upstream_not_found");
      }
      up = cfg.upstreams.get(upId);
      // Before the checks below: their 5xx replies name the upstream too.
      envoy.setProperty(UPSTREAM_PROPERTY, upId);
    } else if (up === null) {
      up = route.upstream;
      if (up === null && service !== null) up = service.upstream;
    }
    // Domain nodes the control plane could not resolve (APISIX's `handle_upstream` (apisix/init.lua):
    // parse_domain_in_route / get_by_id re-resolution errors).
    if (up !== null && up.dnsError.length) {
      envoy.logError((inline ? "failed to get resolved route: " : "failed to get resolved upstream: ") + up.dnsError);
      return inline ? this.exit(500, "apisix_route_dns_failed") : this.exit(502, "apisix_upstream_dns_failed");
    }
    if (up === null) {
      envoy.logError("failed to set upstream: missing upstream configuration in Route or Service");
      return this.exit(503, "apisix_missing_upstream");
    }
    for (let i = 0; i < up.dnsDropped.length; i++) envoy.logError(up.dnsDropped[i]);

    const level = envoy.logLevel();
    const infoOn = level <= LogLevelValues.info;
    const debugOn = level <= LogLevelValues.debug;

    // 4. Client certificate.
    if (up.clientCertId.length) {
      const id = up.clientCertId;
      if (!cfg.ssls.has(id) || cfg.ssls.get(id).type != "client") {
        const err = cfg.ssls.has(id) ? "ssl type should be 'client'" : "ssl id [" + id + "] not exits";
        envoy.logError("failed to get ssl cert: " + err);
        return this.exit(502, "apisix_upstream_ssl_invalid");
      }
      if (infoOn) envoy.logInfo("matched ssl: " + id);
    }

    // 5. Websocket: without enable_websocket the upstream gets neither
    // Upgrade nor Connection (APISIX sets both variables to '').
    const upgrade = req.header("upgrade");
    if (enableWebsocket) {
      if (upgrade !== null && infoOn) envoy.logInfo("enabled websocket for route: " + route.id);
    } else if (upgrade !== null) {
      envoy.removeRequestHeader("upgrade");
      envoy.removeRequestHeader("connection");
      // Envoy's HTTP/1 codec already took the client's headers as an upgrade:
      // the request stays open and would go upstream chunked, never ending.
      // nginx reads such a request as having no body; say so explicitly.
      if (req.header("content-length") === null && req.header("transfer-encoding") === null) envoy.replaceRequestHeader("content-length", "0");
    }

    // set_upstream's checks.
    if (up.nodes.length == 0) {
      envoy.logError("failed to set upstream: no valid upstream node");
      return this.exit(503, "apisix_no_valid_upstream_node");
    }

    // 6. Pick a node.
    const bctx = this.ownBalance;
    bctx.reset(req);
    // The clock only matters to ewma (score decay) and passive health
    // (revival times, latency); other upstreams never read it.
    if (up.type == "ewma" || up.passive !== null) {
      bctx.startNs = envoy.nowNanos();
      bctx.now = <f64>bctx.startNs / 1e9;
    }
    const node = pickServer(up, bctx, health);
    if (node === null) {
      envoy.logError("failed to pick server: " + bctx.error);
      return this.exit(502, "apisix_pick_server_failed");
    }
    this.upstream = up;
    this.balance = bctx;
    // APISIX's retries become Envoy retries over the try list APISIX would
    // walk (balancer/RETRIES.md): x-apisix-upstream-hosts for the
    // override_host policy, x-envoy-max-retries, x-envoy-retry-on.
    emitTries(planTries(up, bctx, health, cfg.envoyFollowsPlan), req.method, req.headers, cfg.envoyFollowsPlan);

    // 7. Steer Envoy's router: the cluster by header (route cluster_header),
    // the endpoint of that ORIGINAL_DST cluster by filter state.
    const rc = envoy.setFilterState(envoy.ORIGINAL_DST_KEY, node.address);
    if (rc != 0) {
      envoy.logError("failed to set upstream endpoint " + node.address + " in filter state " + envoy.ORIGINAL_DST_KEY + ": result " + rc.toString());
      afterBalance(up, bctx, health, false);
      this.upstream = null;
      return this.exit(503, "apisix_set_endpoint_failed");
    }
    envoy.replaceRequestHeader(CLUSTER_HEADER, up.cluster);
    if (up.passHost == PassHost.Node) envoy.replaceRequestHeader(":authority", node.hostHeader);
    else if (up.passHost == PassHost.Rewrite) envoy.replaceRequestHeader(":authority", up.upstreamHost);

    // APISIX's read timeout bounds the wait for the response; streams
    // (websocket, gRPC) are left to the route's stream timeouts.
    const timeout = route.timeout !== null ? route.timeout : up.timeout;
    const streaming = (enableWebsocket && upgrade !== null) || up.scheme == "grpc" || up.scheme == "grpcs";
    if (timeout !== null && !streaming) {
      // Envoy keeps the value as milliseconds in a std::chrono duration; cap it
      // (at ~24.8 days) so an absurd `read` cannot overflow Envoy's arithmetic.
      const ms = Math.min(Math.ceil(timeout.read * 1000), 2147483647);
      envoy.replaceRequestHeader(TIMEOUT_HEADER, (<i64>ms).toString());
    }
    // No clear_route_cache: the header edits above already cleared it (envoy.ts).
    this.metrics.proxied(route, up.cluster);
    // APISIX does not log proxied requests at its default level either;
    // the access log is where operators see them.
    if (debugOn) {
      envoy.logDebug("proxy request to " + node.address + " (route " + route.id + ", cluster " + up.cluster + (inline ? ", inline upstream" : "") + ")");
    }
    return FilterHeadersStatusValues.Continue;
  }

  // Log phase: passive health reports from Envoy's view of the stream, then
  // after_balance(ctx, false) (least_conn releases, ewma learns the
  // latency). Envoy runs it for every stream, local replies and resets too.
  onLog(): void {
    const up = this.upstream;
    const bctx = this.balance;
    if (up === null || bctx === null) return;
    this.upstream = null;
    this.balance = null;
    // Envoy's view of the stream matters to passive health checks and to
    // ewma (latency); least_conn only releases its count; the others
    // (roundrobin, chash) keep nothing per request.
    if (up.passive !== null || up.type == "ewma") finishRequest(up, bctx, health, readOutcome(bctx.startNs));
    else if (up.type == "least_conn") finishRequest(up, bctx, health, new Outcome());
  }

  onDone(): bool { return true; }
  // The last call for the stream, with nothing of it left on the stack: a
  // safe point for the collector (gc.ts).
  onDelete(): void { streamDone(); }
}
