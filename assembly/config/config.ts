// The whole plugin configuration: APISIX's objects as the Admin API and the
// standalone apisix.yaml define them, plus what the control plane adds (the
// `dns` answers for domain nodes and the `health` of actively checked nodes).
//
//   {"routes": [...], "upstreams": [...], "ssls": [...], "services": [...],
//    "dns": {"api.example.com": {"addresses": ["10.0.0.5"]}},
//    "health": {"upstream.u1": {"10.0.0.5:80": false}}}
//
// A document is accepted or rejected as a whole: one invalid field rejects
// it, and the caller keeps serving the previous configuration.

import { JsonValue, parseJsonBytes } from "../json";
import { Issues, checkKeys, checkPem, describe, enumString, optBool, optInt, readId, readOwnId } from "./errors";
import { Ssl, Upstream } from "./model";
import { METHODS, Route, Service, methodBit } from "./route";
import { DnsAnswer, parseDns, parseTimeout, parseUpstream } from "./upstream";
import { compileVars } from "../expr/vars";
import { ROUTER_HOST_URI, ROUTER_NAMES, Router } from "../router";
import { parseTrafficSplit } from "./traffic_split";
import { Cidr } from "../net";

const TOP_FIELDS: Array<string> = ["routes", "upstreams", "ssls", "services", "dns", "health", "envoy"];
// Other apisix.yaml sections are not this filter's job: they are ignored with
// a warning rather than rejected, so one file can feed APISIX and Envoy.
const FOREIGN_SECTIONS: Array<string> = [
  "consumers", "consumer_groups", "global_rules", "plugin_configs", "plugin_metadata", "stream_routes",
  "protos", "secrets", "plugins", "stream_plugins", "credentials",
];
const ROUTE_FIELDS: Array<string> = [
  "id", "name", "desc", "labels", "uri", "uris", "host", "hosts", "remote_addr", "remote_addrs", "methods",
  "vars", "filter_func", "priority", "timeout", "upstream", "upstream_id", "service_id", "plugin_config_id",
  "plugins", "script", "enable_websocket", "status", "create_time", "update_time",
];
const SERVICE_FIELDS: Array<string> = [
  "id", "name", "desc", "labels", "upstream", "upstream_id", "plugins", "script", "enable_websocket", "hosts",
  "create_time", "update_time",
];
const SSL_FIELDS: Array<string> = [
  "id", "type", "cert", "key", "certs", "keys", "sni", "snis", "client", "status", "ssl_protocols", "labels",
  "create_time", "update_time", "validity_start", "validity_end", "_redacted",
];

export class Config {
  routes: Array<Route> = new Array<Route>();
  upstreams: Map<string, Upstream> = new Map<string, Upstream>();
  services: Map<string, Service> = new Map<string, Service>();
  ssls: Map<string, Ssl> = new Map<string, Ssl>();
  // Nodes the control plane's active checks found unhealthy: cluster → addresses.
  unhealthy: Map<string, Set<string>> = new Map<string, Set<string>>();
  router: Router = new Router();
  // The `envoy` section (what the control plane adds from its own flags):
  // `router_http` picks the router (APISIX's apisix.router.http), and
  // `lb_mode` says whether Envoy's retries follow the filter's try list
  // (control plane lb_mode "override-host") or return to the first pick
  // (lb_mode "original-dst", the default).
  envoyFollowsPlan: bool = false;
  // Enabled server ssls by SNI (first ssl of an SNI wins), for APISIX's
  // verify_https_client; anyMtls = some enabled server ssl has client.ca, so
  // the per-request check costs nothing otherwise.
  sslBySni: Map<string, Ssl> = new Map<string, Ssl>();
  anyMtls: bool = false;

  // apisix/ssl/router/radixtree_sni.lua: exact name, then the one-label
  // wildcard, then "*".
  sslForHost(host: string): Ssl | null {
    if (this.sslBySni.has(host)) return this.sslBySni.get(host);
    const dot = host.indexOf(".");
    if (dot > 0) {
      const w = "*" + host.substring(dot);
      if (this.sslBySni.has(w)) return this.sslBySni.get(w);
    }
    return this.sslBySni.has("*") ? this.sslBySni.get("*") : null;
  }

  // Every Envoy cluster this config can proxy to: what per-cluster state
  // (cached pickers, passive health) may keep across reloads.
  clusters(): Set<string> {
    const out = new Set<string>();
    const ups = this.upstreams.values();
    for (let i = 0; i < ups.length; i++) out.add(ups[i].cluster);
    const svcs = this.services.values();
    for (let i = 0; i < svcs.length; i++) {
      const u = svcs[i].upstream;
      if (u !== null) out.add(u.cluster);
    }
    for (let i = 0; i < this.routes.length; i++) {
      const r = this.routes[i];
      const u = r.upstream;
      if (u !== null) out.add(u.cluster);
      const split = r.split;
      if (split === null) continue;
      for (let k = 0; k < split.rules.length; k++) {
        const ts = split.rules[k].targets;
        for (let j = 0; j < ts.length; j++) {
          const tu = ts[j].upstream;
          if (tu !== null) out.add(tu.cluster);
        }
      }
    }
    return out;
  }
}

function normaliseSni(s: string): string {
  const l = s.toLowerCase();
  return l.endsWith(".") ? l.substring(0, l.length - 1) : l;
}

export class ConfigResult {
  config: Config | null = null;
  issues: Issues = new Issues();
}

function isRouteHost(s: string): bool {
  // schema_def host_def: ^\*?[0-9a-zA-Z-._]+$
  let i = 0;
  if (s.length > 0 && s.charCodeAt(0) == 0x2a) i = 1;
  if (s == "*") return true;
  if (i >= s.length) return false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e || c == 0x5f)) return false;
  }
  return true;
}

function readHosts(obj: JsonValue, path: string, issues: Issues, out: Array<string>): void {
  const host = obj.get("host");
  const hosts = obj.get("hosts");
  if (host !== null && hosts !== null) { issues.error(path, "only one of host or hosts is allowed"); return; }
  if (host !== null) {
    if (!host.isString() || !isRouteHost(host.str)) { issues.error(path + ".host", "invalid host " + describe(host)); return; }
    out.push(host.str.toLowerCase());
  }
  if (hosts !== null) {
    if (!hosts.isArray() || hosts.length < 1) { issues.error(path + ".hosts", "expected a non-empty array of host names"); return; }
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts.at(i);
      if (!h.isString() || !isRouteHost(h.str)) { issues.error(path + ".hosts[" + i.toString() + "]", "invalid host " + describe(h)); continue; }
      const lower = h.str.toLowerCase();
      if (!out.includes(lower)) out.push(lower);
    }
  }
}

// Plugins other than traffic-split are not this filter's job: they are
// ignored with a warning naming them, never a failure.
function readPlugins(obj: JsonValue, path: string, issues: Issues): void {
  const plugins = obj.get("plugins");
  if (plugins === null) return;
  if (!plugins.isObject()) { issues.error(path + ".plugins", "expected an object {name: config}"); return; }
  for (let i = 0; i < plugins.length; i++) {
    if (plugins.keyAt(i) == TRAFFIC_SPLIT) continue;
    issues.warn(path + ".plugins." + plugins.keyAt(i), "plugin ignored: plugins are not run by this filter");
  }
}

const TRAFFIC_SPLIT = "traffic-split";

function readUri(uri: string, path: string, issues: Issues): bool {
  if (uri.length < 1 || uri.length > 4096) { issues.error(path, "uri length must be 1-4096"); return false; }
  return true;
}

// An object's required id, and the path errors name it by: "routes[r1]", or
// "routes[3]" (its index) when it has no usable id.
class Identity {
  id: string = "";
  path: string = "";
}

function identify(section: string, v: JsonValue, idx: i32, issues: Issues): Identity {
  const r = new Identity();
  const at = section + "[" + idx.toString() + "]";
  const idv = v.get("id");
  r.id = readOwnId(idv, section, at + ".id", issues);
  if (idv === null) issues.error(at + ".id", "is required");
  r.path = r.id.length ? section + "[" + r.id + "]" : at;
  return r;
}

function parseRoute(v: JsonValue, idx: i32, dns: Map<string, DnsAnswer>, upstreamIds: Set<string>, issues: Issues): Route | null {
  if (!v.isObject()) { issues.error("routes[" + idx.toString() + "]", "expected a route object, got " + v.typeName()); return null; }
  const r = new Route();
  const before = issues.count;
  const who = identify("routes", v, idx, issues);
  r.id = who.id;
  const path = who.path;
  r.path = path;
  r.order = idx;
  checkKeys(v, ROUTE_FIELDS, path, issues);

  const uri = v.get("uri");
  const uris = v.get("uris");
  if ((uri === null) == (uris === null)) issues.error(path, "exactly one of uri or uris is required");
  if (uri !== null) {
    if (!uri.isString()) issues.error(path + ".uri", "expected a string, got " + uri.typeName());
    else if (readUri(uri.str, path + ".uri", issues)) r.uris.push(uri.str);
  }
  if (uris !== null) {
    if (!uris.isArray() || uris.length < 1) issues.error(path + ".uris", "expected a non-empty array of uris");
    else for (let i = 0; i < uris.length; i++) {
      const u = uris.at(i);
      const p = path + ".uris[" + i.toString() + "]";
      if (!u.isString()) { issues.error(p, "expected a string, got " + u.typeName()); continue; }
      if (r.uris.includes(u.str)) { issues.error(p, "duplicate uri " + describe(u)); continue; }
      if (readUri(u.str, p, issues)) r.uris.push(u.str);
    }
  }
  readHosts(v, path, issues, r.hosts);

  const methods = v.get("methods");
  if (methods !== null) {
    if (!methods.isArray()) issues.error(path + ".methods", "expected an array of methods");
    else for (let i = 0; i < methods.length; i++) {
      const m = methods.at(i);
      const bit = m.isString() ? methodBit(m.str) : 0;
      if (bit == 0) { issues.error(path + ".methods[" + i.toString() + "]", describe(m) + " matches none of the enum values [" + METHODS.join(", ") + "]"); continue; }
      if (r.methods & bit) { issues.error(path + ".methods", "duplicate method " + m.str); continue; }
      r.methods |= bit;
    }
  }

  const ra = v.get("remote_addr");
  const ras = v.get("remote_addrs");
  if (ra !== null && ras !== null) issues.error(path, "only one of remote_addr or remote_addrs is allowed");
  const addrList = new Array<JsonValue>();
  if (ra !== null) addrList.push(ra);
  if (ras !== null) {
    if (!ras.isArray() || ras.length < 1) issues.error(path + ".remote_addrs", "expected a non-empty array of IPs or CIDRs");
    else for (let i = 0; i < ras.length; i++) addrList.push(ras.at(i));
  }
  for (let i = 0; i < addrList.length; i++) {
    const a = addrList[i];
    const c = a.isString() ? Cidr.parse(a.str) : null;
    if (c === null) { issues.error(path + (ra !== null ? ".remote_addr" : ".remote_addrs[" + i.toString() + "]"), "expected an IPv4/IPv6 address or CIDR, got " + describe(a)); continue; }
    r.remoteAddrs.push(c);
  }

  const vars = v.get("vars");
  if (vars !== null) r.vars = compileVars(vars, path + ".vars", issues);
  if (v.has("filter_func")) issues.error(path + ".filter_func", "Lua filter functions cannot run in the filter; express the condition with vars");
  if (v.has("script")) issues.error(path + ".script", "Lua scripts cannot run in the filter");
  if (v.has("plugin_config_id")) issues.warn(path + ".plugin_config_id", "ignored: plugins are not run by this filter");
  readPlugins(v, path, issues);
  const plugins = v.get("plugins");
  const ts = plugins !== null && plugins.isObject() ? plugins.get(TRAFFIC_SPLIT) : null;
  if (ts !== null) r.split = parseTrafficSplit(ts, path + ".plugins.traffic-split", dns, upstreamIds, issues);

  r.priority = optInt(v, "priority", path, issues, 0, -9007199254740991, 9007199254740991);
  const status = optInt(v, "status", path, issues, 1, 0, 1);
  const to = v.get("timeout");
  if (to !== null) r.timeout = parseTimeout(to, path + ".timeout", issues);
  r.websocketSet = v.has("enable_websocket");
  r.enableWebsocket = optBool(v, "enable_websocket", path, issues, false);

  r.upstreamId = readId(v.get("upstream_id"), path + ".upstream_id", issues);
  r.serviceId = readId(v.get("service_id"), path + ".service_id", issues);
  const up = v.get("upstream");
  if (up !== null) r.upstream = parseUpstream(up, path + ".upstream", dns, issues);
  if (up === null && r.upstreamId.length == 0 && r.serviceId.length == 0 && !v.has("plugins")) {
    issues.error(path, "one of upstream, upstream_id, service_id or plugins is required");
  }
  if (issues.count != before) return null;
  // status 0 = disabled: validated, but never matched.
  return status == 0 ? new Route() : r;
}

function parseService(v: JsonValue, idx: i32, dns: Map<string, DnsAnswer>, issues: Issues): Service | null {
  if (!v.isObject()) { issues.error("services[" + idx.toString() + "]", "expected a service object"); return null; }
  const s = new Service();
  const before = issues.count;
  const who = identify("services", v, idx, issues);
  s.id = who.id;
  const path = who.path;
  checkKeys(v, SERVICE_FIELDS, path, issues);
  s.upstreamId = readId(v.get("upstream_id"), path + ".upstream_id", issues);
  const up = v.get("upstream");
  if (up !== null) s.upstream = parseUpstream(up, path + ".upstream", dns, issues);
  s.websocketSet = v.has("enable_websocket");
  s.enableWebsocket = optBool(v, "enable_websocket", path, issues, false);
  const hosts = v.get("hosts");
  if (hosts !== null) readHosts(v, path, issues, s.hosts);
  readPlugins(v, path, issues);
  return issues.count == before ? s : null;
}

function parseSsl(v: JsonValue, idx: i32, issues: Issues): Ssl | null {
  if (!v.isObject()) { issues.error("ssls[" + idx.toString() + "]", "expected an ssl object"); return null; }
  const s = new Ssl();
  const before = issues.count;
  const who = identify("ssls", v, idx, issues);
  s.id = who.id;
  const path = who.path;
  checkKeys(v, SSL_FIELDS, path, issues);
  const t = v.get("type");
  if (t !== null) {
    if (!t.isString() || (t.str != "server" && t.str != "client")) issues.error(path + ".type", describe(t) + " matches none of the enum values [server, client]");
    else s.type = t.str;
  }
  const cert = v.get("cert");
  // The control plane keeps private keys out of the document it sends Envoy
  // (its /config_dump prints this configuration in clear) and marks the
  // object `_redacted: true`; it validated the key before redacting it.
  const redacted = optBool(v, "_redacted", path, issues, false);
  const key: JsonValue | null = redacted ? null : v.get("key");
  if (cert !== null) checkPem(cert, "CERTIFICATE", 128, path + ".cert", issues);
  if (key !== null) checkPem(key, "PRIVATE KEY", 64, path + ".key", issues);
  if (s.type == "client") {
    if (cert === null) issues.error(path + ".cert", "is required for a client certificate");
    if (key === null && !redacted) issues.error(path + ".key", "is required for a client certificate");
  } else {
    if (cert === null || (key === null && !redacted)) issues.error(path, "a server certificate needs cert and key");
    const sni = v.get("sni");
    const snis = v.get("snis");
    if ((sni === null) == (snis === null)) issues.error(path, "a server certificate needs exactly one of sni or snis");
    // Shape errors here are the control plane's to report (it drops that
    // ssl from the HTTPS listener); the filter only keeps the usable names.
    if (sni !== null && sni.isString()) s.snis.push(normaliseSni(sni.str));
    if (snis !== null && snis.isArray()) {
      for (let i = 0; i < snis.length; i++) {
        const x = snis.at(i);
        if (x.isString()) s.snis.push(normaliseSni(x.str));
      }
    }
    const client = v.get("client");
    s.mtls = client !== null && client.isObject();
  }
  if (optInt(v, "status", path, issues, 1, 0, 1) == 0) s.snis = new Array<string>();
  return issues.count == before ? s : null;
}

function parseHealth(v: JsonValue | null, cfg: Config, issues: Issues): void {
  if (v === null) return;
  if (!v.isObject()) { issues.error("health", "expected an object {cluster: {\"ip:port\": false}}"); return; }
  for (let i = 0; i < v.length; i++) {
    const cluster = v.keyAt(i);
    const nodes = v.at(i);
    const p = "health[\"" + cluster + "\"]";
    if (!nodes.isObject()) { issues.error(p, "expected an object {\"ip:port\": healthy}"); continue; }
    const set = new Set<string>();
    for (let k = 0; k < nodes.length; k++) {
      const h = nodes.at(k);
      if (!h.isBool()) { issues.error(p + "[\"" + nodes.keyAt(k) + "\"]", "expected a boolean"); continue; }
      if (!h.bool) set.add(nodes.keyAt(k));
    }
    cfg.unhealthy.set(cluster, set);
  }
}

function array(root: JsonValue, key: string, issues: Issues): JsonValue | null {
  const v = root.get(key);
  if (v === null) return null;
  if (!v.isArray()) { issues.error(key, "expected an array, got " + v.typeName()); return null; }
  return v;
}

export function parseConfig(bytes: Uint8Array): ConfigResult {
  const res = new ConfigResult();
  const issues = res.issues;
  const parsed = parseJsonBytes(bytes);
  const root = parsed.value;
  if (root === null) { issues.error("configuration", "invalid JSON: " + parsed.error); return res; }
  if (!root.isObject()) { issues.error("configuration", "expected a JSON object {routes, upstreams, ssls}, got " + root.typeName()); return res; }
  for (let i = 0; i < root.length; i++) {
    const k = root.keyAt(i);
    if (TOP_FIELDS.includes(k)) continue;
    if (FOREIGN_SECTIONS.includes(k)) issues.warn(k, "ignored: not used for upstream selection");
    else issues.error(k, "unknown section (expected routes, upstreams, ssls, services, dns, health, envoy)");
  }
  const cfg = new Config();
  const dns = parseDns(root.get("dns"), issues);

  const ups = array(root, "upstreams", issues);
  if (ups !== null) for (let i = 0; i < ups.length; i++) {
    issues.current = "upstreams/" + i.toString();
    const v = ups.at(i);
    const idv = v.isObject() ? v.get("id") : null;
    const idPath = "upstreams[" + i.toString() + "].id";
    if (idv === null) { issues.error(v.isObject() ? idPath : "upstreams[" + i.toString() + "]", v.isObject() ? "is required" : "expected an upstream object"); continue; }
    const id = readOwnId(idv, "upstreams", idPath, issues);
    if (id.length == 0) continue;
    const up = parseUpstream(v, "upstreams[" + id + "]", dns, issues);
    if (up === null) continue;
    if (cfg.upstreams.has(id)) { issues.error("upstreams[" + id + "].id", "duplicate id"); continue; }
    cfg.upstreams.set(id, up);
  }

  const ssls = array(root, "ssls", issues);
  if (ssls !== null) for (let i = 0; i < ssls.length; i++) {
    issues.current = "ssls/" + i.toString();
    const s = parseSsl(ssls.at(i), i, issues);
    if (s === null) continue;
    if (cfg.ssls.has(s.id)) { issues.error("ssls[" + s.id + "].id", "duplicate id"); continue; }
    cfg.ssls.set(s.id, s);
    for (let k = 0; k < s.snis.length; k++) if (!cfg.sslBySni.has(s.snis[k])) cfg.sslBySni.set(s.snis[k], s);
    if (s.mtls && s.snis.length > 0) cfg.anyMtls = true;
  }

  const services = array(root, "services", issues);
  if (services !== null) for (let i = 0; i < services.length; i++) {
    issues.current = "services/" + i.toString();
    const s = parseService(services.at(i), i, dns, issues);
    if (s === null) continue;
    if (cfg.services.has(s.id)) { issues.error("services[" + s.id + "].id", "duplicate id"); continue; }
    cfg.services.set(s.id, s);
  }

  const upstreamIds = new Set<string>();
  const upKeys = cfg.upstreams.keys();
  for (let i = 0; i < upKeys.length; i++) upstreamIds.add(upKeys[i]);
  const routes = array(root, "routes", issues);
  const seen = new Set<string>();
  if (routes !== null) for (let i = 0; i < routes.length; i++) {
    issues.current = "routes/" + i.toString();
    const r = parseRoute(routes.at(i), i, dns, upstreamIds, issues);
    if (r === null) continue;
    if (r.id.length == 0) continue; // disabled (status 0)
    if (seen.has(r.id)) { issues.error("routes[" + r.id + "].id", "duplicate id"); continue; }
    seen.add(r.id);
    cfg.routes.push(r);
  }
  issues.current = "";
  parseHealth(root.get("health"), cfg, issues);
  const envoy = root.get("envoy");
  if (envoy !== null) {
    if (!envoy.isObject()) issues.error("envoy", "expected an object {lb_mode, router_http}");
    else {
      checkKeys(envoy, ["lb_mode", "router_http"], "envoy", issues);
      cfg.envoyFollowsPlan = enumString(envoy, "lb_mode", ["original-dst", "override-host"], "envoy", issues, "original-dst") == "override-host";
      const router = enumString(envoy, "router_http", ROUTER_NAMES, "envoy", issues, ROUTER_NAMES[ROUTER_HOST_URI]);
      const kind = ROUTER_NAMES.indexOf(router);
      if (kind > 0) cfg.router = new Router(<u8>kind);
    }
  }
  if (!issues.ok) return res;

  // Dangling references are not errors (APISIX answers them per request:
  // 502 for a missing upstream or ssl, 404 for a missing service), but an
  // operator wants to hear about them when the config is loaded.
  for (let i = 0; i < cfg.routes.length; i++) {
    const r = cfg.routes[i];
    if (r.upstreamId.length && !cfg.upstreams.has(r.upstreamId)) issues.warn(r.path + ".upstream_id", "upstream " + r.upstreamId + " does not exist (requests will get 502)");
    if (r.serviceId.length && !cfg.services.has(r.serviceId)) issues.warn(r.path + ".service_id", "service " + r.serviceId + " does not exist (requests will get 404)");
    // A route inherits the service's hosts unless it has its own.
    let hosts = r.hosts;
    if (hosts.length == 0 && r.serviceId.length && cfg.services.has(r.serviceId)) hosts = cfg.services.get(r.serviceId).hosts;
    cfg.router.add(r, hosts);
  }
  const all = cfg.upstreams.values();
  for (let i = 0; i < all.length; i++) {
    const up = all[i];
    if (up.clientCertId.length && !cfg.ssls.has(up.clientCertId)) issues.warn(up.path + ".tls.client_cert_id", "ssl " + up.clientCertId + " does not exist (requests will get 502)");
  }
  cfg.router.seal();
  res.config = cfg;
  return res;
}
