// One request's path through the filter, in APISIX's order (details in
// docs/request-flow.md):
//
//   streams.ts   proxy_on_request_headers → UpstreamFilter.onRequestHeaders
//   filter.ts    drop client-set steering headers; parse the request
//                (nginx.ts: nginx's $uri/$host, 400s); verify_https_client;
//                route match (router.ts; methods, remote_addrs, vars here)
//   resolve.ts   service merge, traffic-split, upstream by id or inline,
//                DNS failures, client certificate, websocket gate
//   dispatch.ts  pick_server (balancer/pick.ts), retry plan as Envoy retry
//                headers (balancer/steer.ts), endpoint filter state, cluster
//                header, pass_host, read timeout
//   filter.ts    count it (metrics.ts); any failure above is APISIX's local
//                reply, sent here
//   proxy_on_log → dispatch.ts finish(): passive health, balancer release
//
// Per-VM state (health, stats, balancer caches) is vm.ts; per-request state
// lives on the recycled filter object.

import { lowerAscii } from "./ascii";
import { Context, FilterHeadersStatusValues, LogLevelValues, RootContext } from "@solo-io/proxy-runtime/assembly";
import { Config } from "./config/config";
import { Upstream } from "./config/model";
import { Route, methodBit } from "./config/route";
import { RouteFilter } from "./router";
import { Header, HeaderBlock } from "./headers";
import { Request } from "./request";
import { holds } from "./expr/vars";
import { resetRegexBudget } from "./expr/regex";
import { BalanceCtx } from "./balancer/picker";
import { UPSTREAM_HOSTS_HEADER } from "./balancer/steer";
import { Resolution, warnRegexBudget } from "./resolve";
import { CLUSTER_HEADER, ORIGINAL_DST_HEADER, dispatch, finish } from "./dispatch";
import * as envoy from "./envoy";
import { connVar, remoteAddr } from "./connection";
import { Metrics } from "./metrics";
import { streamDone } from "./gc";

// The matched route's id as filter state for Envoy's access log and the
// CLI: %FILTER_STATE(wasm.apisix_route:PLAIN)% (the upstream's id is
// resolve.ts's; the cluster and node are Envoy's own %UPSTREAM_CLUSTER% and
// %UPSTREAM_HOST%).
export const ROUTE_PROPERTY = "apisix_route";
const STEERING_HEADERS: Array<string> = [CLUSTER_HEADER, ORIGINAL_DST_HEADER, UPSTREAM_HOSTS_HEADER];

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

// Matching is synchronous, one request at a time per VM: one filter object.
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
  const sni = raw !== null ? lowerAscii(raw) : "";
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
  private resolution: Resolution = new Resolution();
  private ownHeaders: HeaderBlock = new HeaderBlock(new ArrayBuffer(0));
  private ownRequest: Request = new Request();
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
    this.resolution.reset();
    this.ownHeaders.release();
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
    const headers = this.ownHeaders;
    envoy.readRequestHeaders(headers);

    // 1. A client never chooses the cluster, the endpoint or the retry hosts.
    for (let k = 0; k < STEERING_HEADERS.length; k++) {
      if (headers.find(STEERING_HEADERS[k]) >= 0) envoy.removeRequestHeader(STEERING_HEADERS[k]);
    }

    const cfg = (this.root_context as ConfigHolder).current();
    const req = this.ownRequest;
    req.load(headers, remoteAddr);
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
    matcher.req = req;
    const route = cfg.router.match(req.host, req.uri, matcher);
    matcher.req = null;
    if (route === null) { warnRegexBudget(); return this.notFound(); }
    this.route = route;
    // One host call: the access log can name the route for proxied requests
    // and for APISIX's 5xx local replies alike (when anything reads it).
    if (cfg.filterStateIds) envoy.setProperty(ROUTE_PROPERTY, route.id);

    // 3. The upstream (resolve.ts), 4. the node and Envoy's steering (dispatch.ts).
    const res = this.resolution;
    if (!res.resolve(cfg, req, route)) return this.exit(res.code, res.details);
    const node = dispatch(cfg, req, route, res, this.ownBalance);
    if (node === null) return this.exit(res.code, res.details);
    const up = res.up!;
    this.upstream = up;
    this.balance = this.ownBalance;
    this.metrics.proxied(route, up.cluster);
    // APISIX does not log proxied requests at its default level either;
    // the access log is where operators see them.
    if (envoy.logLevel() <= LogLevelValues.debug) {
      envoy.logDebug("proxy request to " + node.address + " (route " + route.id + ", cluster " + up.cluster + (res.inline ? ", inline upstream" : "") + ")");
    }
    return FilterHeadersStatusValues.Continue;
  }

  private notFound(): FilterHeadersStatusValues {
    envoy.logDebug("not find any matched route");
    return this.reply(404, "apisix_route_not_found", "{\"error_msg\":\"404 Route Not Found\"}\n", true);
  }

  // Log phase (dispatch.ts finish). Envoy runs it for every stream, local
  // replies and resets too; only a proxied request has a pick to release.
  onLog(): void {
    const up = this.upstream;
    const bctx = this.balance;
    if (up === null || bctx === null) return;
    this.upstream = null;
    this.balance = null;
    finish(up, bctx);
  }

  onDone(): bool { return true; }
  // The last call for the stream, with nothing of it left on the stack: a
  // safe point for the collector (gc.ts).
  onDelete(): void { streamDone(); }
}
