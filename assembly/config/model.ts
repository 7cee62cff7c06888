// The compiled configuration: APISIX's objects after validation, normalised
// the way APISIX normalises them at load time (apisix/upstream.lua
// filter_upstream, fill_node_info) so the request path does no parsing.
// Upstreams, nodes and ssls here; routes and services, which refer to
// upstreams and to traffic-split, in route.ts (the balancers import this
// file, traffic-split imports a balancer: one file would be an import cycle).

import { JsonValue } from "../json";
import { PassiveChecks } from "./checks";

const NO_LINES: Array<string> = [];
const NO_NODES: Array<Node> = [];

export class Node {
  // IP literal Envoy connects to (a domain node carries the address the
  // control plane resolved).
  host: string = "";
  port: i32 = 0;
  weight: i64 = 1;
  priority: i32 = 0;
  // The original hostname of a resolved domain node, "" for IP nodes.
  domain: string = "";
  // "ip:port" / "[v6]:port": the value for Envoy's original-destination filter state.
  address: string = "";
  // Host header for pass_host "node" (balancer.lua: domain or host, plus the
  // port unless it is the scheme's standard one).
  hostHeader: string = "";
  // Position in the upstream's node list; pickers and tried-sets use it.
  index: i32 = 0;
}

export class Timeout {
  connect: f64 = 0;
  send: f64 = 0;
  read: f64 = 0;
}

export const enum PassHost { Pass, Node, Rewrite }

// The balancer's cache entry for an upstream (balancer/pick.ts), also held
// by the Upstream object itself so that a request reaches it without
// hashing the cluster name.
export abstract class PickerSlot {}

export class Upstream {
  // Envoy cluster this upstream is proxied through: the control plane's
  // `_cluster`, else the upstream's path (upstream.ts clusterOf).
  cluster: string = "";
  id: string = "";
  // "upstreams[u1]" or "routes[r1].upstream": for log lines.
  path: string = "";
  type: string = "roundrobin";
  hashOn: string = "vars";
  key: string = "";
  scheme: string = "http";
  passHost: PassHost = PassHost.Pass;
  upstreamHost: string = "";
  // parseUpstream gives each upstream its own array; an Upstream built
  // otherwise starts with the shared NO_NODES, which is never pushed to.
  nodes: Array<Node> = NO_NODES;
  // One "failed to parse domain: <host>, error: <err>" line per domain node
  // the control plane could not resolve (those nodes are dropped). Mostly
  // none: then the shared NO_LINES, which is never pushed to.
  dnsDropped: Array<string> = NO_LINES;
  // Set when the upstream had domain nodes and none of them resolved.
  dnsError: string = "";
  timeout: Timeout | null = null;
  retries: i32 = -1;           // -1: APISIX's default, #nodes - 1
  retryTimeout: f64 = 0;
  clientCertId: string = "";
  hasInlineClientCert: bool = false;
  checks: JsonValue | null = null;
  passive: PassiveChecks | null = null;
  // Identity of everything a balancer depends on; pickers are cached by
  // cluster + fingerprint so a config reload that leaves an upstream
  // unchanged keeps its round-robin position and connection counts.
  fingerprint: string = "";
  pickerSlot: PickerSlot | null = null;
}

export class Ssl {
  id: string = "";
  type: string = "server";
  // Server ssls: normalised SNIs (lower case, no trailing dot) and whether
  // the ssl asks for client certificates (client.ca); see Config.sslForHost.
  snis: Array<string> = new Array<string>();
  mtls: bool = false;
}

export function standardPort(scheme: string): i32 {
  if (scheme == "https" || scheme == "grpcs") return 443;
  return 80;
}
