// Sending the request on, as APISIX's balancer phase would (apisix/balancer.lua
// run: pick_server, set the peer, retries), except that nginx's proxy_pass is
// Envoy's router here: the filter picks the node and tells the router where
// to go through request headers and filter state. Then the log phase:
// passive health and the balancers' release of the pick.

import { Config } from "./config/config";
import { Node, PassHost, Upstream } from "./config/model";
import { Route } from "./config/route";
import { Request } from "./request";
import { BalanceCtx } from "./balancer/picker";
import { afterBalance, finishRequest, pickServer, planTries } from "./balancer/pick";
import { Outcome, emitTries, readOutcome } from "./balancer/steer";
import { Resolution } from "./resolve";
import { vm } from "./vm";
import * as envoy from "./envoy";
import { i64Text } from "./f64text";

// The request headers the filter steers Envoy's router with. Whatever a
// client sent in them is removed before anything else happens (filter.ts).
export const CLUSTER_HEADER = "x-apisix-upstream";
export const ORIGINAL_DST_HEADER = "x-envoy-original-dst-host";
export const TIMEOUT_HEADER = "x-envoy-upstream-rq-timeout-ms";

// Picks a node of res.up and steers Envoy to it; the node, or null with
// res.code/res.details set to APISIX's reply. bctx keeps the pick for finish().
export function dispatch(cfg: Config, req: Request, route: Route, res: Resolution, bctx: BalanceCtx): Node | null {
  const up = res.up!;
  const health = vm.health;
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
    res.refuse(502, "apisix_pick_server_failed");
    return null;
  }
  // APISIX's retries become Envoy retries over the try list APISIX would
  // walk (balancer/RETRIES.md): x-apisix-upstream-hosts for the
  // override_host policy, x-envoy-max-retries, x-envoy-retry-on.
  emitTries(planTries(up, bctx, health, cfg.envoyFollowsPlan), req.method, req.headers, cfg.envoyFollowsPlan, up.nodes.length == 1);

  // The cluster by header (route cluster_header); the endpoint by filter
  // state for ORIGINAL_DST clusters. override_host clusters read the plan
  // header instead, and the filter state would be dead weight there: in the
  // real Envoy it is the costliest host call of a request (a protobuf decode,
  // an address parse and a filter-state object; bench/README.md).
  const rc = cfg.envoyFollowsPlan ? 0 : envoy.setFilterState(envoy.ORIGINAL_DST_KEY, node.address);
  if (rc != 0) {
    envoy.logError("failed to set upstream endpoint " + node.address + " in filter state " + envoy.ORIGINAL_DST_KEY + ": result " + rc.toString());
    afterBalance(up, bctx, health, false);
    res.refuse(503, "apisix_set_endpoint_failed");
    return null;
  }
  envoy.replaceRequestHeader(CLUSTER_HEADER, up.cluster);
  if (up.passHost == PassHost.Node) envoy.replaceRequestHeader(":authority", node.hostHeader);
  else if (up.passHost == PassHost.Rewrite) envoy.replaceRequestHeader(":authority", up.upstreamHost);

  // APISIX's read timeout bounds the wait for the response; streams
  // (websocket, gRPC) are left to the route's stream timeouts.
  const timeout = route.timeout !== null ? route.timeout : up.timeout;
  const streaming = (res.websocket && res.upgrade) || up.scheme == "grpc" || up.scheme == "grpcs";
  if (timeout !== null && !streaming) {
    // Envoy keeps the value as milliseconds in a std::chrono duration; cap it
    // (at ~24.8 days) so an absurd `read` cannot overflow Envoy's arithmetic.
    const ms = Math.min(Math.ceil(timeout.read * 1000), 2147483647);
    envoy.replaceRequestHeader(TIMEOUT_HEADER, i64Text(<i64>ms));
  }
  // No clear_route_cache: the header edits above already cleared it (envoy.ts).
  return node;
}

// Log phase: passive health reports from Envoy's view of the stream, then
// after_balance(ctx, false) (least_conn releases, ewma learns the latency).
// Only ewma and passive health need Envoy's view; least_conn only releases
// its count; roundrobin and chash keep nothing per request.
export function finish(up: Upstream, bctx: BalanceCtx): void {
  if (up.passive !== null || up.type == "ewma") finishRequest(up, bctx, vm.health, readOutcome(bctx.startNs));
  else if (up.type == "least_conn") finishRequest(up, bctx, vm.health, new Outcome());
}
