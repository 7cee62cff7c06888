// Upstream objects: APISIX's schema (schema_def.lua `upstream`) plus the
// Admin API's extra checks (check_upstream_conf), normalised as
// filter_upstream / fill_node_info do.

import { JsonKind, JsonValue } from "../json";
import { Issues, indexed, checkKeys, describe, enumString, optBool, optString, readId, readIdAt, subPath } from "./errors";
import { check, checkObject, intOf, listOf, numOf, strOf } from "./schema";
import { text } from "./text";
import { Node, PassHost, Timeout, Upstream, standardPort } from "./model";
import { HostPort, formatAddress, isHostPattern, isIP, splitHostPort } from "../net";
import { validateChecks } from "./checks";

// What the control plane resolved for each domain name (the `dns` section).
export class DnsAnswer {
  addresses: Array<string> = new Array<string>();
  error: string = "";
}

export function parseTimeout(v: JsonValue, path: string, issues: Issues): Timeout | null {
  if (!v.isObject()) { issues.got(path, "expected an object {connect, send, read}", v); return null; }
  if (!checkObject(v, path, issues, "connect seconds; send seconds; read seconds")) return null;
  const t = new Timeout();
  t.connect = numOf(v, "connect", 0);
  t.send = numOf(v, "send", 0);
  t.read = numOf(v, "read", 0);
  return t;
}

function vetHashKey(up: Upstream, path: string, issues: Issues): void {
  if (up.type != "chash") return;
  if (up.hashOn == "consumer") return;
  if (up.key.length == 0) { issues.error(path + ".key", "missing key (required for type chash unless hash_on is consumer)"); return; }
  const k = up.key;
  if (up.hashOn == "vars") {
    let ok = listOf("uri server_name server_addr request_uri remote_port remote_addr query_string host hostname mqtt_client_id").includes(k);
    if (!ok && k.startsWith("arg_") && k.length > 4) {
      ok = true;
      for (let i = 4; i < k.length; i++) {
        const c = k.charCodeAt(i);
        // APISIX's pattern is arg_[0-9a-zA-z_-]+ (sic: A-z also admits [\]^_`).
        if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x7a) || c == 0x2d)) { ok = false; break; }
      }
    }
    if (!ok) issues.error(path + ".key", "failed to match pattern \"^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$\" with \"" + k + "\"");
  } else if (up.hashOn == "header" || up.hashOn == "cookie") {
    for (let i = 0; i < k.length; i++) {
      const c = k.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f)) {
        issues.error(path + ".key", "failed to match pattern \"^[a-zA-Z0-9-_]+$\" with \"" + k + "\"");
        return;
      }
    }
  }
}

// What is wrong with a node's weight, "" when nothing is (the caller names
// the node only then).
function weightError(v: JsonValue): string {
  if (!v.isInteger()) return "expected an integer weight, got " + describe(v);
  if (v.num < 0) return "expected " + describe(v) + " to be at least 0";
  // Weights beyond 2^31 would not fit the balancers' arithmetic; APISIX's
  // tests go up to 4e9 and reduce by the gcd, which we do as well.
  if (v.num > 4294967295) return "weight " + describe(v) + " is too large";
  return "";
}

function nodeKeyPath(path: string, key: string): string {
  return subPath(path, ".nodes") + "[\"" + key + "\"]";
}

const split = new HostPort();

// The cluster of every upstream parsed since parseConfig began: the
// clusters its configuration can proxy to (Config#live).
export const parsedClusters = new Array<string>();

// Reads `nodes` in either form into raw (unresolved) nodes; `path` is the
// upstream's.
function readNodes(v: JsonValue, path: string, issues: Issues, out: Array<Node>): void {
  if (v.isObject()) {
    for (let i = 0; i < v.length; i++) {
      const key = v.keyAt(i);
      const hp = splitHostPort(key, split);
      if (hp.error.length) { issues.error(nodeKeyPath(path, key), hp.error); continue; }
      if (!isHostPattern(hp.host)) { issues.error(nodeKeyPath(path, key), "invalid host " + hp.host); continue; }
      // The usual weight, a small integer, is read without its JsonValue.
      const w = v.numAt(i);
      if (!(v.kindAt(i) == JsonKind.Number && w >= 0 && w <= 4294967295 && Math.floor(w) == w)) {
        issues.error(nodeKeyPath(path, key), weightError(v.at(i)));
        continue;
      }
      const n = new Node();
      n.host = hp.host; n.port = hp.port; n.weight = <i64>w;
      // "10.0.0.1:8080" is the node's address already (see parseUpstream).
      if (hp.canonical) n.address = key;
      out.push(n);
    }
    return;
  }
  const np = subPath(path, ".nodes");
  if (!v.isArray()) { issues.got(np, "expected a map {\"host:port\": weight} or an array of nodes", v); return; }
  // Paths below are relative to the node (Issues.enterItem).
  for (let i = 0; i < v.length; i++) {
    issues.enterItem(np, i);
    const n = readNode(v.at(i), issues);
    if (n !== null) out.push(n);
  }
  issues.leaveItem();
}

// One node of the list form, {host, port, weight, priority, metadata}.
function readNode(item: JsonValue, issues: Issues): Node | null {
  if (!item.isObject()) { issues.got("", "expected a node object {host, port, weight}", item); return null; }
  checkKeys(item, listOf("host port weight priority metadata"), "", issues);
  const h = item.get("host");
  if (h === null || !h.isString()) { issues.error(".host", h === null ? "is required" : "expected a string"); return null; }
  let host = h.str;
  if (host.length > 2 && host.charCodeAt(0) == 0x5b && host.charCodeAt(host.length - 1) == 0x5d) host = host.substring(1, host.length - 1);
  else if (host.indexOf(":") >= 0) { issues.error(".host", "IPv6 address must be enclosed with '[' and ']'"); return null; }
  if (!isHostPattern(host)) { issues.error(".host", "invalid host " + describe(h)); return null; }
  const n = new Node();
  n.host = host;
  check(item, "", issues, "port integer 1 65535");
  n.port = <i32>intOf(item, "port", 0);
  const wv = item.get("weight");
  if (wv === null) { issues.error(".weight", "is required"); return null; }
  const werr = weightError(wv);
  if (werr.length) { issues.error(".weight", werr); return null; }
  n.weight = <i64>wv.num;
  check(item, "", issues, "priority integer -2147483648 2147483647; metadata object bare");
  n.priority = <i32>intOf(item, "priority", 0);
  return n;
}

// Host header for pass_host "node": balancer.lua's domain or host, plus the
// port unless it is the scheme's standard one.
function nodeHostHeader(n: Node, scheme: string): string {
  const h = n.domain.length ? n.domain : n.host;
  const v6 = h.indexOf(":") >= 0;
  if (n.port == standardPort(scheme)) return v6 ? "[" + h + "]" : h;
  // An IP node's host:port is its address, built already.
  return n.domain.length == 0 ? n.address : formatAddress(h, n.port);
}

// Parses one upstream object (top-level, or inline in a route, service or
// traffic-split rule; `path` names it relative to the object being parsed,
// see Issues.enter: "" for a top-level upstream, ".upstream" inline).
export function parseUpstream(v: JsonValue, path: string, dns: Map<string, DnsAnswer>, issues: Issues): Upstream | null {
  if (!v.isObject()) { issues.got(path, "expected an upstream object", v); return null; }
  const before = issues.count;
  checkKeys(v, listOf("id name desc labels nodes retries retry_timeout timeout tls keepalive_pool type checks hash_on key scheme discovery_type discovery_args pass_host upstream_host service_name create_time update_time _cluster"), path, issues);
  const up = new Upstream();
  up.path = issues.pathOf(path);
  up.cluster = clusterOf(v, path, up.path, issues);
  const idAt = v.find("id");
  if (idAt >= 0) up.id = readIdAt(v, idAt, subPath(path, ".id"), issues, "upstreams");

  const tAt = v.find("type");
  if (tAt >= 0) {
    const t = v.strAt(tAt);
    if (v.kindAt(tAt) != JsonKind.String) issues.got(path + ".type", "expected a string", v.at(tAt));
    else if (!listOf("roundrobin chash ewma least_conn").includes(t)) issues.error(path + ".type", "unknown balancer " + describe(v.at(tAt)) + " (supported: roundrobin, chash, ewma, least_conn)");
    else up.type = t;
  }
  up.hashOn = enumString(v, "hash_on", listOf("vars header cookie consumer vars_combinations"), path, issues, "vars");
  up.key = optString(v, "key", path, issues);
  vetHashKey(up, path, issues);

  up.scheme = enumString(v, "scheme", listOf("http https grpc grpcs tcp tls udp kafka"), path, issues, "http");
  if (up.scheme == "tcp" || up.scheme == "udp" || up.scheme == "tls") {
    issues.error(path + ".scheme", "\"" + up.scheme + "\" is a stream (L4) scheme; this filter handles HTTP routes (use http, https, grpc or grpcs)");
  } else if (up.scheme == "kafka") {
    issues.error(path + ".scheme", "\"kafka\" (APISIX pubsub) is not supported by this filter (use http, https, grpc or grpcs)");
  }

  const ph = enumString(v, "pass_host", listOf("pass node rewrite"), path, issues, "pass");
  up.passHost = ph == "node" ? PassHost.Node : ph == "rewrite" ? PassHost.Rewrite : PassHost.Pass;
  up.upstreamHost = optString(v, "upstream_host", path, issues);
  if (up.upstreamHost.length && !isHostPattern(up.upstreamHost)) issues.error(path + ".upstream_host", "invalid host " + up.upstreamHost);
  if (up.passHost == PassHost.Rewrite && up.upstreamHost.length == 0) issues.error(path + ".upstream_host", "`upstream_host` can't be empty when `pass_host` is `rewrite`");

  const to = v.get("timeout");
  if (to !== null) up.timeout = parseTimeout(to, subPath(path, ".timeout"), issues);
  if (check(v, path, issues, "retries integer 0 2147483647; retry_timeout number >= 0")) {
    up.retries = <i32>intOf(v, "retries", -1);
    up.retryTimeout = numOf(v, "retry_timeout", 0);
  }

  const tls = v.get("tls");
  if (tls !== null) {
    const p = path + ".tls";
    if (!tls.isObject()) issues.got(p, "expected an object", tls);
    else {
      checkKeys(tls, listOf("client_cert client_key client_cert_id verify _redacted"), p, issues);
      up.clientCertId = readId(tls.get("client_cert_id"), p + ".client_cert_id", issues);
      // `_redacted: true`: the control plane validated client_key and left
      // it out of what Envoy's /config_dump can print (see config.ts, ssls).
      const redacted = optBool(tls, "_redacted", p, issues, false);
      const hasCert = tls.has("client_cert"), hasKey = redacted || tls.has("client_key");
      if (hasCert != hasKey) issues.error(p, "client_cert and client_key require each other");
      if (hasCert && up.clientCertId.length) issues.error(p, "client_cert_id can't be used together with client_cert and client_key");
      check(tls, p, issues, redacted ? "client_cert certificate; verify boolean bare" : "client_cert certificate; client_key private-key; verify boolean bare");
      up.hasInlineClientCert = hasCert;
    }
  }

  check(v, path, issues, "\
    keepalive_pool object bare {\
      size integer 1 2147483647;\
      requests integer 1 2147483647;\
      idle_timeout number >= 0 bare;\
    }");
  const checks = v.get("checks");
  if (checks !== null) {
    up.checks = checks.detached();
    up.passive = validateChecks(checks, path + ".checks", issues);
  }

  if (v.has("service_name") || v.has("discovery_type")) {
    issues.error(path + ".service_name", "service discovery is not supported by the filter: list `nodes` (domain names are resolved by the control plane)");
  }
  const nodesV = v.get("nodes");
  const raw = new Array<Node>();
  if (nodesV === null) {
    if (!v.has("service_name")) issues.error(subPath(path, ".nodes"), "is required");
  } else {
    readNodes(nodesV, path, issues, raw);
  }
  if (issues.count != before) return null;

  // Resolve domain nodes with the control plane's answers (APISIX resolves
  // them per request with its own resolver; Envoy's wasm sandbox has no DNS).
  // The nodes kept are moved to the front of `raw`, which becomes up.nodes.
  let domains = 0, kept = 0;
  let errs: Array<string> | null = null;
  for (let i = 0; i < raw.length; i++) {
    const n = raw[i];
    if (n.port == 0) n.port = standardPort(up.scheme);
    if (!isIP(n.host)) {
      domains++;
      const name = n.host;
      const ans = dns.has(name) ? dns.get(name) : null;
      let err = "";
      if (ans === null) err = "not resolved by the control plane";
      else if (ans.error.length) err = ans.error;
      else if (ans.addresses.length == 0) err = "no address";
      if (err.length) {
        if (errs === null) { errs = new Array<string>(); up.dnsDropped = new Array<string>(); }
        up.dnsDropped.push("failed to parse domain: " + name + ", error: " + err);
        errs.push(name + ": " + err);
        continue;
      }
      n.domain = name;
      n.host = changetype<DnsAnswer>(ans).addresses[0];
      n.address = "";
    }
    if (n.address.length == 0) n.address = formatAddress(n.host, n.port);
    n.hostHeader = nodeHostHeader(n, up.scheme);
    n.index = kept;
    raw[kept++] = n;
  }
  raw.length = kept;
  up.nodes = raw;
  if (domains > 0 && kept == 0) up.dnsError = changetype<Array<string>>(errs).join("; ");

  up.fingerprint = fingerprint(up);
  parsedClusters.push(up.cluster);
  return up;
}

// The Envoy cluster an upstream is proxied through is named by the control
// plane, which emits that cluster, and arrives as `_cluster`: one owner of
// names (envoy/control-plane/apisix/sites.ts). A document without it (a test, the
// CLI on raw JSON) has no Envoy clusters at all; such an upstream is known
// by its path, which is unique, so its balancer and health state stay its own.
function clusterOf(v: JsonValue, path: string, fullPath: string, issues: Issues): string {
  const c = v.get("_cluster");
  if (c === null) return fullPath;
  if (!c.isString() || c.str.length < 1 || c.str.length > 255) { issues.error(path + "._cluster", "expected a cluster name of 1-255 characters"); return fullPath; }
  const s = c.str;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    // It travels as the value of the x-apisix-upstream header.
    if (ch <= 0x20 || ch >= 0x7f) { issues.error(path + "._cluster", "a cluster name is printable ASCII without spaces"); return fullPath; }
  }
  return s;
}

function fingerprint(up: Upstream): string {
  // Before the builder starts: one string at a time (text.ts).
  const c = up.checks;
  const checks = c !== null ? c.toJSON() : "";
  const b = text.reset().add(up.type).add("|").add(up.hashOn).add("|").add(up.key).add("|").add(up.scheme);
  for (let i = 0; i < up.nodes.length; i++) {
    const n = up.nodes[i];
    b.add("|").add(n.address).add("/").addInt(n.weight).add("/").addInt(n.priority).add("/").add(n.domain);
  }
  if (c !== null) b.add("|").add(checks);
  return b.take();
}

export function parseDns(v: JsonValue | null, issues: Issues): Map<string, DnsAnswer> {
  const m = new Map<string, DnsAnswer>();
  if (v === null) return m;
  if (!v.isObject()) { issues.error("dns", "expected an object {hostname: {addresses: [...]} | {error: ...}}"); return m; }
  for (let i = 0; i < v.length; i++) {
    const name = v.keyAt(i);
    const e = v.at(i);
    const p = "dns[\"" + name + "\"]";
    if (!e.isObject()) { issues.error(p, "expected {addresses: [...]} or {error: \"...\"}"); continue; }
    checkKeys(e, listOf("addresses error ttl"), p, issues);
    const a = new DnsAnswer();
    a.error = optString(e, "error", p, issues);
    const addrs = e.get("addresses");
    if (addrs !== null) {
      if (!addrs.isArray()) issues.error(p + ".addresses", "expected an array of IP addresses");
      else for (let k = 0; k < addrs.length; k++) {
        const ip = addrs.at(k);
        if (!ip.isString() || !isIP(ip.str)) { issues.error(indexed(p + ".addresses", k), "expected an IP address, got " + describe(ip)); continue; }
        a.addresses.push(ip.str);
      }
    }
    m.set(name, a);
  }
  return m;
}
