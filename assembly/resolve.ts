// Which upstream serves a matched route, as APISIX's access phase decides
// it before the balancer runs (apisix/init.lua handle_upstream,
// apisix/plugin.lua merge_service_route, apisix/upstream.lua set_upstream):
// the service merge, traffic-split's choice, the upstream by id or inline,
// DNS failures, the upstream's client certificate and the websocket gate.
// Each failure is APISIX's log line and the status it answers with; the
// filter sends the reply.

import { LogLevelValues } from "@solo-io/proxy-runtime/assembly";
import { Config } from "./config/config";
import { Upstream } from "./config/model";
import { Route, Service } from "./config/route";
import { chooseSplit } from "./config/traffic_split";
import { Request } from "./request";
import { regexBudgetExceeded } from "./expr/regex";
import * as envoy from "./envoy";

// The id of the upstreams[] object the route resolved to, as filter state
// for Envoy's access log and the CLI: %FILTER_STATE(wasm.apisix_upstream:PLAIN)%.
export const UPSTREAM_PROPERTY = "apisix_upstream";

// What resolution decided; one per filter object, reused by its requests.
export class Resolution {
  // null: APISIX answers `code` (Envoy's response code details: `details`).
  up: Upstream | null = null;
  // Defined inside the route, service or traffic-split rule (no id).
  inline: bool = false;
  // enable_websocket (route, else service), and whether the client asked.
  websocket: bool = false;
  upgrade: bool = false;
  code: u32 = 0;
  details: string = "";

  reset(): void {
    this.up = null;
    this.inline = false;
    this.websocket = false;
    this.upgrade = false;
    this.code = 0;
    this.details = "";
  }

  // APISIX answers instead of proxying; false for the caller to return.
  refuse(code: u32, details: string): bool {
    this.up = null;
    this.code = code;
    this.details = details;
    return false;
  }

  // Fills this from the route; false when APISIX would answer instead.
  resolve(cfg: Config, req: Request, route: Route): bool {
    this.reset();
    // Service merge (apisix/plugin.lua merge_service_route).
    let service: Service | null = null;
    if (route.serviceId.length) {
      if (!cfg.services.has(route.serviceId)) {
        envoy.logError("failed to fetch service configuration by id: " + route.serviceId);
        return this.refuse(404, "apisix_service_not_found");
      }
      service = cfg.services.get(route.serviceId);
    }
    let enableWebsocket = route.enableWebsocket;
    if (!route.websocketSet && service !== null) enableWebsocket = service.enableWebsocket;

    // Traffic-split's choice (handle_upstream: api_ctx.upstream_id), else the
    // route's upstream_id, which wins over an inline upstream.
    let upId = route.upstreamId;
    let up: Upstream | null = null;
    if (upId.length == 0 && route.upstream === null && service !== null) upId = service.upstreamId;
    const split = route.split;
    const target = split !== null ? chooseSplit(split, req) : null;
    warnRegexBudget();
    if (target !== null && !target.useRoute) {
      upId = target.upstreamId;
      up = target.upstream;
    }
    const inline = up !== null || upId.length == 0;
    if (!inline) {
      // The route's own upstream_id resolves to the same object for as long
      // as this config (which holds the route) serves.
      const own = upId === route.upstreamId;
      const known = own ? route.upstreamById : null;
      if (known !== null) up = known;
      else {
        if (!cfg.upstreams.has(upId)) {
          envoy.logError("failed to find upstream by id: " + upId);
          return this.refuse(502, "apisix_upstream_not_found");
        }
        up = cfg.upstreams.get(upId);
        if (own) route.upstreamById = up;
      }
      // Before the checks below: their 5xx replies name the upstream too.
      if (cfg.filterStateIds) envoy.setProperty(UPSTREAM_PROPERTY, upId);
    } else if (up === null) {
      up = route.upstream;
      if (up === null && service !== null) up = service.upstream;
    }
    // Domain nodes the control plane could not resolve (handle_upstream:
    // parse_domain_in_route / get_by_id re-resolution errors).
    if (up !== null && up.dnsError.length) {
      envoy.logError((inline ? "failed to get resolved route: " : "failed to get resolved upstream: ") + up.dnsError);
      return inline ? this.refuse(500, "apisix_route_dns_failed") : this.refuse(502, "apisix_upstream_dns_failed");
    }
    if (up === null) {
      envoy.logError("failed to set upstream: missing upstream configuration in Route or Service");
      return this.refuse(503, "apisix_missing_upstream");
    }
    for (let i = 0; i < up.dnsDropped.length; i++) envoy.logError(up.dnsDropped[i]);
    const infoOn = envoy.logLevel() <= LogLevelValues.info;

    // The upstream's client certificate (handle_upstream: client_cert_id).
    if (up.clientCertId.length) {
      const id = up.clientCertId;
      if (!cfg.ssls.has(id) || cfg.ssls.get(id).type != "client") {
        const err = cfg.ssls.has(id) ? "ssl type should be 'client'" : "ssl id [" + id + "] not exits";
        envoy.logError("failed to get ssl cert: " + err);
        return this.refuse(502, "apisix_upstream_ssl_invalid");
      }
      if (infoOn) envoy.logInfo("matched ssl: " + id);
    }

    // Websocket: without enable_websocket the upstream gets neither
    // Upgrade nor Connection (APISIX sets both variables to '').
    const upgrade = req.header("upgrade") !== null;
    if (enableWebsocket) {
      if (upgrade && infoOn) envoy.logInfo("enabled websocket for route: " + route.id);
    } else if (upgrade) {
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
      return this.refuse(503, "apisix_no_valid_upstream_node");
    }
    this.up = up;
    this.inline = inline;
    this.websocket = enableWebsocket;
    this.upgrade = upgrade;
    return true;
  }
}

// Once per request: a vars regex hit the work budget and failed closed.
export function warnRegexBudget(): void {
  if (regexBudgetExceeded()) envoy.logWarn("regex work budget exceeded: vars conditions with regexes failed closed for this request");
}
