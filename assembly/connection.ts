// The connection's side of APISIX's ctx.var: the variables nginx takes from
// the socket and the TLS session rather than from the request head, read
// from Envoy's connection attributes only when a route or a balancer asks.

import * as envoy from "./envoy";
import { i64Text } from "./f64text";

// The IP of an Envoy address property ("1.2.3.4:80", "[::1]:80").
export function ipOf(a: string): string {
  if (a.startsWith("[")) {
    const close = a.indexOf("]");
    return close > 0 ? a.substring(1, close) : a;
  }
  // One colon, not first (String#lastIndexOf would be its only caller).
  const colon = a.indexOf(":");
  return colon > 0 && a.indexOf(":", colon + 1) < 0 ? a.substring(0, colon) : a;
}

// $remote_addr: the client's IP (Envoy's source.address).
export function remoteAddr(): string {
  const a = envoy.property("source.address");
  return a !== null ? ipOf(a) : "";
}

function port(path: string): string | null {
  const p = envoy.propertyInt(path, -1);
  return p >= 0 ? i64Text(p) : null;
}

// $remote_port, $server_addr, $server_port and nginx's $ssl_* variables.
// Every client certificate Envoy accepts was verified against the chain's
// client.ca (the control plane sets require_client_certificate with the CA;
// chains without client.ca don't ask for one), so a peer certificate means
// SUCCESS, none means NONE.
export function connVar(name: string): string | null {
  if (name == "remote_port") return port("source.port");
  if (name == "server_port") return port("destination.port");
  if (name == "server_addr") {
    const a = envoy.property("destination.address");
    return a !== null ? ipOf(a) : null;
  }
  const version = envoy.property("connection.tls_version");
  if (version === null || version.length == 0) return null;
  if (name == "ssl_protocol") return version;
  if (name == "ssl_server_name") {
    const sni = envoy.property("connection.requested_server_name");
    return sni !== null && sni.length > 0 ? sni : null;
  }
  if (name == "ssl_client_verify") return envoy.propertyBool("connection.mtls") ? "SUCCESS" : "NONE";
  if (name == "ssl_client_s_dn") return envoy.propertyBool("connection.mtls") ? envoy.property("connection.subject_peer_certificate") : null;
  return null;
}
