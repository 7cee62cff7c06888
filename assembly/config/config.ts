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

import { lowerAscii } from "../ascii";
import { JsonKind, JsonValue, parseJsonBytes } from "../json";
import { Issues, idChars, indexed, boolMember, checkKeys, checkPem, describe, enumString, intMember, optBool, readIdAt } from "./errors";
import { Ssl, Upstream } from "./model";
import { NO_HOSTS, Route, Service, methodBit, methodNames } from "./route";
import { DnsAnswer, parseDns, parseTimeout, parseUpstream, parsedClusters } from "./upstream";
import { compileVars } from "../expr/vars";
import { ROUTER_NAMES, Router } from "../router";
import { parseTrafficSplit } from "./traffic_split";
import { boolOf, check, checkObject, intOf, listOf, strOf } from "./schema";
import { Cidr } from "../net";
import { NameSet } from "../nameset";

// A route's members by field, found in one pass over its keys: a route may
// have any of 25 fields and usually has 3 to 5, and a JsonValue#get per
// field would scan the members once for each of them. F names the fields in
// the order of routeFields().
const enum F {
  id, name, desc, labels, uri, uris, host, hosts, remote_addr, remote_addrs, methods,
  vars, filter_func, priority, timeout, upstream, upstream_id, service_id, plugin_config_id,
  plugins, script, enable_websocket, status, create_time, update_time,
}

function routeFields(): Array<string> {
  return listOf("id name desc labels uri uris host hosts remote_addr remote_addrs methods vars filter_func priority timeout upstream upstream_id service_id plugin_config_id plugins script enable_websocket status create_time update_time");
}

// Each field's member position, -1 when absent; reused for every route
// (parseRoute does not nest).
const routeMembers = new StaticArray<i32>(F.update_time + 1);

// The route fields by name length: bit f of routeLengths[n] is set when
// field f's name has n characters (the longest has 16). A member name is
// compared only with the one to five fields of its length, no hashing.
const routeLengths = new StaticArray<u32>(17);
let routeNames: Array<string> | null = null;

// Position of a member name in routeFields(), -1 when it is none of them.
function routeField(name: string): i32 {
  let names = routeNames;
  if (names === null) {
    routeNames = names = routeFields();
    for (let i = 0; i < names.length; i++) unchecked(routeLengths[names[i].length] |= (<u32>1) << i);
  }
  const n = name.length;
  if (n >= routeLengths.length) return -1;
  for (let m = unchecked(routeLengths[n]); m != 0; m &= m - 1) {
    const f = <i32>ctz(m);
    if (unchecked(names[f]) == name) return f;
  }
  return -1;
}

export class Config {
  routes: Array<Route> = new Array<Route>();
  upstreams: Map<string, Upstream> = new Map<string, Upstream>();
  services: Map<string, Service> = new Map<string, Service>();
  ssls: Map<string, Ssl> = new Map<string, Ssl>();
  // Nodes the control plane's active checks found unhealthy: cluster → addresses.
  unhealthy: Map<string, NameSet> = new Map<string, NameSet>();
  router: Router = new Router();
  // The `envoy` section (what the control plane adds from its own flags):
  // `router_http` picks the router (APISIX's apisix.router.http), and
  // `lb_mode` says whether Envoy's retries follow the filter's try list
  // (control plane lb_mode "override-host") or return to the first pick
  // (lb_mode "original-dst", the default).
  envoyFollowsPlan: bool = false;
  // `filter_state_ids`: whether the matched route's and upstream's ids go
  // into filter state (wasm.apisix_route, wasm.apisix_upstream) for Envoy's
  // access log. Default true; the control plane says false when it
  // configures no access log, as Envoy spends two filter-state writes per
  // request on them (bench/README.md).
  filterStateIds: bool = true;
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
  // (cached pickers, passive health) may keep across reloads. The clusters
  // of the upstreams parseUpstream read (top-level, and inline in routes,
  // services and traffic-split rules), gathered while parsing.
  live: NameSet = new Map<string, i32>();

  clusters(): NameSet { return this.live; }
}

function normaliseSni(s: string): string {
  const l = lowerAscii(s);
  return l.endsWith(".") ? l.substring(0, l.length - 1) : l;
}

export class ConfigResult {
  config: Config | null = null;
  issues: Issues = new Issues();
}

function isRouteHost(s: string): bool {
  // schema_def host_def: ^\*?[0-9a-zA-Z-._]+$
  const i = s.length > 0 && s.charCodeAt(0) == 0x2a ? 1 : 0;
  return s == "*" || (i < s.length && idChars(s, i));
}

// The object's host or hosts members (positions in obj, -1 when absent),
// lower-cased; NO_HOSTS when it has neither.
function readHosts(obj: JsonValue, hostAt: i32, hostsAt: i32, issues: Issues): Array<string> {
  if (hostAt >= 0 && hostsAt >= 0) { issues.error("", "only one of host or hosts is allowed"); return NO_HOSTS; }
  if (hostAt >= 0) {
    const host = obj.strAt(hostAt);
    if (obj.kindAt(hostAt) != JsonKind.String || !isRouteHost(host)) { issues.error(".host", "invalid host " + describe(obj.at(hostAt))); return NO_HOSTS; }
    return [lowerAscii(host)];
  }
  if (hostsAt < 0) return NO_HOSTS;
  const hosts = obj.at(hostsAt);
  if (!hosts.isArray() || hosts.length < 1) { issues.error(".hosts", "expected a non-empty array of host names"); return NO_HOSTS; }
  const out = new Array<string>();
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts.strAt(i);
    if (hosts.kindAt(i) != JsonKind.String || !isRouteHost(h)) { issues.error(indexed(".hosts", i), "invalid host " + describe(hosts.at(i))); continue; }
    const l = lowerAscii(h);
    if (!out.includes(l)) out.push(l);
  }
  return out;
}

// Plugins other than traffic-split are not this filter's job: they are
// ignored with a warning naming them, never a failure.
function readPlugins(plugins: JsonValue | null, issues: Issues): void {
  if (plugins === null) return;
  if (!plugins.isObject()) { issues.error(".plugins", "expected an object {name: config}"); return; }
  for (let i = 0; i < plugins.length; i++) {
    if (plugins.keyAt(i) == "traffic-split") continue;
    issues.warn(".plugins." + plugins.keyAt(i), "plugin ignored: plugins are not run by this filter");
  }
}

function uriLengthOk(uri: string): bool {
  return uri.length >= 1 && uri.length <= 4096;
}

// An object's required id. Errors name the object by its position
// ("routes[3].id") until it has a valid id, and by that id from then on.
// `at` is the id's member position in obj, -1 when absent.
function identify(section: string, obj: JsonValue, at: i32, issues: Issues): string {
  if (at < 0) { issues.error(".id", "is required"); return ""; }
  const id = readIdAt(obj, at, ".id", issues, section);
  if (id.length) issues.named(id);
  return id;
}

// Paths inside parseRoute, parseService and parseSsl are relative to the
// object (see Issues.enter): "" is the object, ".uri" its uri.
function parseRoute(v: JsonValue, idx: i32, dns: Map<string, DnsAnswer>, upstreams: Map<string, Upstream>, issues: Issues): Route | null {
  if (!v.isObject()) { issues.got("", "expected a route object", v); return null; }
  const m = routeMembers;
  for (let i = 0; i < m.length; i++) unchecked(m[i] = -1);
  // A disabled route's upstreams are not proxied to (see Config#live).
  const clustersBefore = parsedClusters.length;
  let unknown = false;
  for (let i = 0, n = v.length; i < n; i++) {
    const f = routeField(v.keyAt(i));
    if (f >= 0) unchecked(m[f] = i);
    else unknown = true;
  }
  const r = new Route();
  const before = issues.count;
  r.id = identify("routes", v, unchecked(m[F.id]), issues);
  r.order = idx;
  if (unknown) checkKeys(v, routeFields(), "", issues);

  const uriAt = unchecked(m[F.uri]);
  const uris = member(v, unchecked(m[F.uris]));
  if ((uriAt < 0) == (uris === null)) issues.error("", "exactly one of uri or uris is required");
  if (uriAt >= 0) {
    const uri = v.strAt(uriAt);
    if (v.kindAt(uriAt) != JsonKind.String) issues.got(".uri", "expected a string", v.at(uriAt));
    else if (!uriLengthOk(uri)) issues.error(".uri", "uri length must be 1-4096");
    else r.uri = uri;
  }
  if (uris !== null) {
    if (!uris.isArray() || uris.length < 1) issues.error(".uris", "expected a non-empty array of uris");
    else {
      // Beside uri (an error already) a repeat of it is a duplicate, as it always was.
      const list = new Array<string>();
      if (r.uri.length) list.push(r.uri);
      for (let i = 0; i < uris.length; i++) {
        const u = uris.at(i);
        if (!u.isString()) { issues.got(indexed(".uris", i), "expected a string", u); continue; }
        if (list.includes(u.str)) { issues.error(indexed(".uris", i), "duplicate uri " + describe(u)); continue; }
        if (!uriLengthOk(u.str)) { issues.error(indexed(".uris", i), "uri length must be 1-4096"); continue; }
        list.push(u.str);
      }
      if (list.length) r.uri = list[0];
      if (list.length > 1) {
        // A loop, not slice(): nothing else instantiates Array<string>#slice.
        const more = new Array<string>();
        for (let i = 1; i < list.length; i++) more.push(list[i]);
        r.moreUris = more;
      }
    }
  }
  r.hosts = readHosts(v, unchecked(m[F.host]), unchecked(m[F.hosts]), issues);

  const methods = member(v, unchecked(m[F.methods]));
  if (methods !== null) {
    if (!methods.isArray()) issues.error(".methods", "expected an array of methods");
    else for (let i = 0; i < methods.length; i++) {
      const bit = methods.kindAt(i) == JsonKind.String ? methodBit(methods.strAt(i)) : 0;
      if (bit == 0) { issues.error(indexed(".methods", i), describe(methods.at(i)) + " matches none of the enum values [" + methodNames().join(", ") + "]"); continue; }
      if (r.methods & bit) { issues.error(".methods", "duplicate method " + methods.strAt(i)); continue; }
      r.methods |= bit;
    }
  }

  const ra = member(v, unchecked(m[F.remote_addr]));
  const ras = member(v, unchecked(m[F.remote_addrs]));
  if (ra !== null && ras !== null) issues.error("", "only one of remote_addr or remote_addrs is allowed");
  if (ra !== null || ras !== null) {
    const rasOk = ras !== null && ras.isArray() && ras.length >= 1;
    if (ras !== null && !rasOk) issues.error(".remote_addrs", "expected a non-empty array of IPs or CIDRs");
    const list = new Array<Cidr>();
    if (ra !== null) readCidr(ra, ".remote_addr", issues, list);
    // With remote_addr beside remote_addrs (an error already) every address
    // is named remote_addr, as it always was.
    if (rasOk) for (let i = 0, n = changetype<JsonValue>(ras).length; i < n; i++) readCidr(changetype<JsonValue>(ras).at(i), ra !== null ? ".remote_addr" : indexed(".remote_addrs", i), issues, list);
    if (list.length) r.remoteAddrs = list;
  }

  const vars = member(v, unchecked(m[F.vars]));
  // The members are read into locals before the nested parsers below run.
  const plugins = member(v, unchecked(m[F.plugins]));
  const priority = member(v, unchecked(m[F.priority]));
  const statusV = member(v, unchecked(m[F.status]));
  const to = member(v, unchecked(m[F.timeout]));
  const ws = member(v, unchecked(m[F.enable_websocket]));
  const upstreamIdAt = unchecked(m[F.upstream_id]);
  const serviceIdAt = unchecked(m[F.service_id]);
  const up = member(v, unchecked(m[F.upstream]));
  if (vars !== null) r.vars = compileVars(vars, ".vars", issues);
  if (unchecked(m[F.filter_func]) >= 0) issues.error(".filter_func", "Lua filter functions cannot run in the filter; express the condition with vars");
  if (unchecked(m[F.script]) >= 0) issues.error(".script", "Lua scripts cannot run in the filter");
  if (unchecked(m[F.plugin_config_id]) >= 0) issues.warn(".plugin_config_id", "ignored: plugins are not run by this filter");
  readPlugins(plugins, issues);
  const ts = plugins !== null && plugins.isObject() ? plugins.get("traffic-split") : null;
  if (ts !== null) r.split = parseTrafficSplit(ts, ".plugins.traffic-split", dns, upstreams, issues);

  r.priority = intMember(priority, "priority", "", issues, 0, -9007199254740991, 9007199254740991);
  const status = intMember(statusV, "status", "", issues, 1, 0, 1);
  if (to !== null) r.timeout = parseTimeout(to, ".timeout", issues);
  r.websocketSet = ws !== null;
  r.enableWebsocket = boolMember(ws, "enable_websocket", "", issues, false);

  r.upstreamId = readIdAt(v, upstreamIdAt, ".upstream_id", issues, "");
  r.serviceId = readIdAt(v, serviceIdAt, ".service_id", issues, "");
  if (up !== null) r.upstream = parseUpstream(up, ".upstream", dns, issues);
  if (up === null && r.upstreamId.length == 0 && r.serviceId.length == 0 && plugins === null) {
    issues.error("", "one of upstream, upstream_id, service_id or plugins is required");
  }
  if (issues.count != before) return null;
  // status 0 = disabled: validated, but never matched.
  if (status != 0) return r;
  parsedClusters.length = clustersBefore;
  return new Route();
}

// Member `at` of obj, null when absent (at < 0).
function member(obj: JsonValue, at: i32): JsonValue | null {
  return at < 0 ? null : obj.at(at);
}

function readCidr(a: JsonValue, path: string, issues: Issues, out: Array<Cidr>): void {
  const c = a.isString() ? Cidr.parse(a.str) : null;
  if (c === null) { issues.error(path, "expected an IPv4/IPv6 address or CIDR, got " + describe(a)); return; }
  out.push(c);
}

function parseService(v: JsonValue, dns: Map<string, DnsAnswer>, issues: Issues): Service | null {
  if (!v.isObject()) { issues.error("", "expected a service object"); return null; }
  const s = new Service();
  const before = issues.count;
  s.id = identify("services", v, v.find("id"), issues);
  checkKeys(v, listOf("id name desc labels upstream upstream_id plugins script enable_websocket hosts create_time update_time"), "", issues);
  s.upstreamId = readIdAt(v, v.find("upstream_id"), ".upstream_id", issues, "");
  const up = v.get("upstream");
  if (up !== null) s.upstream = parseUpstream(up, ".upstream", dns, issues);
  s.websocketSet = v.has("enable_websocket");
  s.enableWebsocket = optBool(v, "enable_websocket", "", issues, false);
  const hostsAt = v.find("hosts");
  if (hostsAt >= 0) s.hosts = readHosts(v, v.find("host"), hostsAt, issues);
  readPlugins(v.get("plugins"), issues);
  return issues.count == before ? s : null;
}

function parseSsl(v: JsonValue, issues: Issues): Ssl | null {
  if (!v.isObject()) { issues.error("", "expected an ssl object"); return null; }
  const s = new Ssl();
  const before = issues.count;
  s.id = identify("ssls", v, v.find("id"), issues);
  checkKeys(v, listOf("id type cert key certs keys sni snis client status ssl_protocols labels create_time update_time validity_start validity_end _redacted"), "", issues);
  // The control plane keeps private keys out of the document it sends Envoy
  // (its /config_dump prints this configuration in clear) and marks the
  // object `_redacted: true`; it validated the key before redacting it.
  check(v, "", issues, "type enum server client; _redacted boolean");
  s.type = strOf(v, "type", "server");
  const redacted = boolOf(v, "_redacted", false);
  const cert = v.get("cert");
  const key: JsonValue | null = redacted ? null : v.get("key");
  check(v, "", issues, redacted ? "cert certificate" : "cert certificate; key private-key");
  if (s.type == "client") {
    if (cert === null) issues.error(".cert", "is required for a client certificate");
    if (key === null && !redacted) issues.error(".key", "is required for a client certificate");
  } else {
    if (cert === null || (key === null && !redacted)) issues.error("", "a server certificate needs cert and key");
    const sni = v.get("sni");
    const snis = v.get("snis");
    if ((sni === null) == (snis === null)) issues.error("", "a server certificate needs exactly one of sni or snis");
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
  if (check(v, "", issues, "status integer 0 1") && intOf(v, "status", 1) == 0) s.snis = new Array<string>();
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
    const set: NameSet = new Map<string, i32>();
    for (let k = 0; k < nodes.length; k++) {
      const h = nodes.at(k);
      if (!h.isBool()) { issues.error(p + "[\"" + nodes.keyAt(k) + "\"]", "expected a boolean"); continue; }
      if (!h.bool) set.set(nodes.keyAt(k), 0);
    }
    cfg.unhealthy.set(cluster, set);
  }
}

function array(root: JsonValue, key: string, issues: Issues): JsonValue | null {
  const v = root.get(key);
  if (v === null) return null;
  if (!v.isArray()) { issues.got(key, "expected an array", v); return null; }
  return v;
}

// The route or upstream being parsed (JsonValue#view): no object per item.
const itemView = new JsonValue();

export function parseConfig(bytes: Uint8Array): ConfigResult {
  const res = new ConfigResult();
  const issues = res.issues;
  const parsed = parseJsonBytes(bytes);
  const root = parsed.value;
  if (root === null) { issues.error("configuration", "invalid JSON: " + parsed.error); return res; }
  if (!root.isObject()) { issues.got("configuration", "expected a JSON object {routes, upstreams, ssls}", root); return res; }
  for (let i = 0; i < root.length; i++) {
    const k = root.keyAt(i);
    if (listOf("routes upstreams ssls services dns health envoy").includes(k)) continue;
    // Other apisix.yaml sections are not this filter's job: they are ignored with
    // a warning rather than rejected, so one file can feed APISIX and Envoy.
    if (listOf("consumers consumer_groups global_rules plugin_configs plugin_metadata stream_routes protos secrets plugins stream_plugins credentials").includes(k)) issues.warn(k, "ignored: not used for upstream selection");
    else issues.error(k, "unknown section (expected routes, upstreams, ssls, services, dns, health, envoy)");
  }
  const cfg = new Config();
  parsedClusters.length = 0;
  // The upstreams[] objects with a client_cert_id, in order (their ssl is
  // looked up once all ssls are read).
  const certUpstreams = new Array<Upstream>();
  const dns = parseDns(root.get("dns"), issues);

  // The object sections, upstreams first (routes keep a reference to the
  // ones their traffic-split names). Each item is read through one view.
  const sections = listOf("upstreams ssls services routes");
  for (let sec = 0; sec < 4; sec++) {
    const name = unchecked(sections[sec]);
    const list = array(root, name, issues);
    // The ids of the valid objects so far: one hash instead of has() then add().
    const seen: NameSet = new Map<string, i32>();
    if (list !== null) for (let i = 0; i < list.length; i++) {
      issues.enter(name, i);
      const v = list.view(i, itemView);
      let id = "";
      let up: Upstream | null = null;
      let ssl: Ssl | null = null;
      let service: Service | null = null;
      let route: Route | null = null;
      if (sec == 0) {
        if (!v.isObject()) { issues.error("", "expected an upstream object"); continue; }
        id = identify(name, v, v.find("id"), issues);
        if (id.length == 0) continue;
        up = parseUpstream(v, "", dns, issues);
        if (up === null) continue;
      } else if (sec == 1) {
        ssl = parseSsl(v, issues);
        if (ssl === null) continue;
        id = ssl.id;
      } else if (sec == 2) {
        service = parseService(v, dns, issues);
        if (service === null) continue;
        id = service.id;
      } else {
        route = parseRoute(v, i, dns, cfg.upstreams, issues);
        if (route === null) continue;
        id = route.id;
        if (id.length == 0) continue; // disabled (status 0)
      }
      const known = seen.size;
      seen.set(id, 0);
      if (seen.size == known) { issues.error(".id", "duplicate id"); continue; }
      if (up !== null) {
        cfg.upstreams.set(id, up);
        if (up.clientCertId.length) certUpstreams.push(up);
      }
      else if (service !== null) cfg.services.set(id, service);
      else if (route !== null) cfg.routes.push(route);
      else if (ssl !== null) {
        cfg.ssls.set(id, ssl);
        for (let k = 0; k < ssl.snis.length; k++) if (!cfg.sslBySni.has(ssl.snis[k])) cfg.sslBySni.set(ssl.snis[k], ssl);
        if (ssl.mtls && ssl.snis.length > 0) cfg.anyMtls = true;
      }
    }
    issues.leave();
  }
  // The view must not keep the document's member table alive after the configure.
  itemView.doc = null;
  parseHealth(root.get("health"), cfg, issues);
  const envoy = root.get("envoy");
  if (envoy !== null) {
    if (!envoy.isObject()) issues.error("envoy", "expected an object {lb_mode, router_http, filter_state_ids}");
    else {
      // router_http's values are router.ts's ROUTER_NAMES, in the same order
      // (config-schema.spec.ts checks).
      checkObject(envoy, "envoy", issues, "\
        filter_state_ids boolean;\
        lb_mode enum original-dst override-host;\
        router_http enum radixtree_host_uri radixtree_uri radixtree_uri_with_parameter");
      cfg.filterStateIds = boolOf(envoy, "filter_state_ids", true);
      cfg.envoyFollowsPlan = strOf(envoy, "lb_mode", "") == "override-host";
      const kind = ROUTER_NAMES.indexOf(strOf(envoy, "router_http", ""));
      if (kind > 0) cfg.router = new Router(<u8>kind);
    }
  }
  if (!issues.ok) return res;

  // Dangling references are not errors (APISIX answers them per request:
  // 502 for a missing upstream or ssl, 404 for a missing service), but an
  // operator wants to hear about them when the config is loaded.
  for (let i = 0; i < cfg.routes.length; i++) {
    const r = cfg.routes[i];
    if (r.upstreamId.length && !cfg.upstreams.has(r.upstreamId)) issues.warn("routes[" + r.id + "].upstream_id", "upstream " + r.upstreamId + " does not exist (requests will get 502)");
    if (r.serviceId.length && !cfg.services.has(r.serviceId)) issues.warn("routes[" + r.id + "].service_id", "service " + r.serviceId + " does not exist (requests will get 404)");
    // A route inherits the service's hosts unless it has its own.
    let hosts = r.hosts;
    if (hosts.length == 0 && r.serviceId.length && cfg.services.has(r.serviceId)) hosts = cfg.services.get(r.serviceId).hosts;
    cfg.router.add(r, hosts);
  }
  for (let i = 0; i < certUpstreams.length; i++) {
    const up = certUpstreams[i];
    if (!cfg.ssls.has(up.clientCertId)) issues.warn(up.path + ".tls.client_cert_id", "ssl " + up.clientCertId + " does not exist (requests will get 502)");
  }
  cfg.router.seal();
  for (let i = 0; i < parsedClusters.length; i++) cfg.live.set(parsedClusters[i], 0);
  parsedClusters.length = 0;
  res.config = cfg;
  return res;
}
