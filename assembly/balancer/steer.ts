// The Envoy side of the balancer: the request headers that carry APISIX's
// retry plan to Envoy's router (see RETRIES.md) and what the log phase reads
// back from Envoy's stream info (Outcome, response flags). The host
// functions here are only reached from the filter; the unit-tested balancer
// modules use Outcome and outcomeKind alone, which call none.

import { Node } from "../config/model";
import { Report } from "./health";
import * as envoy from "../envoy";
import { HeaderBlock } from "../headers";

// The ordered try list "ip:port,ip:port,..." for Envoy's override_host load
// balancing policy (header source). Set by the filter on every proxied
// request; whatever a client sent under this name is removed first.
export const UPSTREAM_HOSTS_HEADER = "x-apisix-upstream-hosts";
export const MAX_RETRIES_HEADER = "x-envoy-max-retries";
export const RETRY_ON_HEADER = "x-envoy-retry-on";

// nginx's proxy_next_upstream default is "error timeout": connection
// errors and timeouts while connecting, sending or reading the response
// header, never a response status. Requests with a non-idempotent method
// (POST, LOCK, PATCH) are not passed on once they were sent upstream.
export const RETRY_ON = "connect-failure,refused-stream,reset";
export const RETRY_ON_NON_IDEMPOTENT = "connect-failure,refused-stream,reset-before-request";

export function retryOn(method: string): string {
  return method == "POST" || method == "LOCK" || method == "PATCH" ? RETRY_ON_NON_IDEMPOTENT : RETRY_ON;
}

function putHostsValue(plan: Array<Node>): void {
  envoy.valueStart();
  for (let i = 0; i < plan.length; i++) {
    if (i) envoy.valueAppendByte(0x2c); // ","
    envoy.valueAppend(unchecked(plan[i]).address);
  }
}

// Writes the plan into the request: the host list, the retry count (the
// plan's length - 1: APISIX's retries, cut where its picker would run out)
// and the retry conditions. Without a retry nothing is written (Envoy's
// route has no retry policy, so no header means no retry) except the host
// list an override_host cluster needs for its first pick; retry headers a
// client sent are removed (`sent`: the request head as received).
// An upstream of one node has no host list: its cluster holds that one
// endpoint (or none: the control plane never adds an endpoint the filter
// lacks), which Envoy's fallback picks for every try.
export function emitTries(plan: Array<Node>, method: string, sent: HeaderBlock, hostsAlways: bool, oneNode: bool): void {
  const retries = plan.length > 0 ? plan.length - 1 : 0;
  if (!oneNode && (hostsAlways || retries > 0)) {
    putHostsValue(plan);
    envoy.replaceRequestHeaderBuilt(UPSTREAM_HOSTS_HEADER);
  }
  if (retries > 0) {
    // One retry (two nodes, APISIX's default) is what Envoy's router does
    // when x-envoy-retry-on comes without x-envoy-max-retries (its
    // documented default; no route here has a retry policy): one host call
    // less. A count a client sent is still overwritten.
    if (retries > 1 || sent.find(MAX_RETRIES_HEADER) >= 0) {
      envoy.valueStart();
      envoy.valueAppendInt(<u32>retries);
      envoy.replaceRequestHeaderBuilt(MAX_RETRIES_HEADER);
    }
    envoy.replaceRequestHeaderConst(RETRY_ON_HEADER, retryOn(method));
    return;
  }
  if (sent.find(MAX_RETRIES_HEADER) >= 0) envoy.removeRequestHeader(MAX_RETRIES_HEADER);
  if (sent.find(RETRY_ON_HEADER) >= 0) envoy.removeRequestHeader(RETRY_ON_HEADER);
}

// Envoy response flags (StreamInfo::CoreResponseFlag, `response.flags`).
export const RF_NO_HEALTHY_UPSTREAM: i64 = 0x2;       // UH
export const RF_UPSTREAM_TIMEOUT: i64 = 0x4;          // UT
export const RF_LOCAL_RESET: i64 = 0x8;               // LR
export const RF_UPSTREAM_RESET: i64 = 0x10;           // UR
export const RF_UPSTREAM_CONN_FAILURE: i64 = 0x20;    // UF
export const RF_UPSTREAM_CONN_TERMINATION: i64 = 0x40; // UC
export const RF_UPSTREAM_OVERFLOW: i64 = 0x80;        // UO
export const RF_NO_ROUTE: i64 = 0x100;                // NR
export const RF_DOWNSTREAM_TERMINATION: i64 = 0x4000; // DC
export const RF_RETRY_LIMIT: i64 = 0x8000;            // URX
export const RF_NO_CLUSTER: i64 = 0x1000000;          // NC

// What Envoy tells the log phase about the stream.
export class Outcome {
  code: i32 = 0;            // response.code (0: none)
  flags: i64 = 0;           // response.flags
  attempts: i32 = 0;        // upstream.request_attempt_count (0: unknown)
  upstreamAddr: string = ""; // upstream.address of the last try ("" unknown)
  duration: f64 = -1;       // seconds; request.duration or measured
  now: f64 = 0;             // seconds
}

// How APISIX's passive health check would count the stream: a Report kind,
// or -1 when the failure was not the node's (no healthy upstream, a local
// reset, the client leaving, ...).
export function outcomeKind(o: Outcome): i32 {
  const f = o.flags;
  if ((f & RF_UPSTREAM_TIMEOUT) != 0) return Report.Timeout;
  if ((f & (RF_UPSTREAM_CONN_FAILURE | RF_UPSTREAM_CONN_TERMINATION | RF_UPSTREAM_RESET | RF_RETRY_LIMIT)) != 0) return Report.TcpFailure;
  const notNode = RF_NO_HEALTHY_UPSTREAM | RF_LOCAL_RESET | RF_UPSTREAM_OVERFLOW | RF_NO_ROUTE | RF_DOWNSTREAM_TERMINATION | RF_NO_CLUSTER;
  if ((f & notNode) != 0) return -1;
  if (o.code == 503 && o.upstreamAddr.length == 0) return Report.TcpFailure;
  if (o.code == 504 && o.upstreamAddr.length == 0) return Report.Timeout;
  if (o.code > 0) return Report.HttpStatus;
  return -1;
}

// Envoy's view of the finished stream (proxy_on_log).
export function readOutcome(startNs: u64): Outcome {
  const o = new Outcome();
  const nowNs = envoy.nowNanos();
  o.now = <f64>nowNs / 1e9;
  o.code = <i32>envoy.propertyInt("response.code", 0);
  o.flags = envoy.propertyInt("response.flags", 0);
  o.attempts = <i32>envoy.propertyInt("upstream.request_attempt_count", 0);
  const a = envoy.property("upstream.address");
  o.upstreamAddr = a !== null ? a : "";
  const d = envoy.propertyInt("request.duration", -1);
  if (d >= 0) o.duration = <f64>d / 1e9;
  else if (startNs > 0 && nowNs >= startNs) o.duration = <f64>(nowNs - startNs) / 1e9;
  return o;
}
