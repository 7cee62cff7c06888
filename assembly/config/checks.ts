// `checks` (APISIX's health checker schema, schema_def.lua health_checker):
// validated here; the passive part is applied by the filter (balancer/health.ts),
// the active part is probed by the control plane and arrives as `health`.

import { JsonValue } from "../json";
import { Issues, checkKeys, describe, enumString, optBool, optInt, optString } from "./errors";

export class PassiveChecks {
  healthyStatuses: Array<i32> = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308];
  healthySuccesses: i32 = 5;
  unhealthyStatuses: Array<i32> = [429, 500, 503];
  httpFailures: i32 = 5;
  tcpFailures: i32 = 2;
  timeouts: i32 = 7;
}

function statuses(v: JsonValue | null, path: string, issues: Issues, def: Array<i32>): Array<i32> {
  if (v === null) return def;
  if (!v.isArray() || v.length < 1) { issues.error(path, "expected a non-empty array of HTTP status codes"); return def; }
  const out = new Array<i32>();
  for (let i = 0; i < v.length; i++) {
    const s = v.at(i);
    if (!s.isInteger() || s.num < 200 || s.num > 599) { issues.error(path + "[" + i.toString() + "]", "expected a status code 200-599, got " + describe(s)); continue; }
    const code = <i32>s.num;
    if (out.includes(code)) { issues.error(path, "status " + code.toString() + " listed twice"); continue; }
    out.push(code);
  }
  return out;
}

function section(v: JsonValue | null, path: string, issues: Issues, fields: Array<string>): JsonValue | null {
  if (v === null) return null;
  if (!v.isObject()) { issues.error(path, "expected an object, got " + v.typeName()); return null; }
  checkKeys(v, fields, path, issues);
  return v;
}

export function validateChecks(v: JsonValue, path: string, issues: Issues): PassiveChecks | null {
  if (!v.isObject()) { issues.error(path, "expected an object {active, passive}"); return null; }
  checkKeys(v, ["active", "passive"], path, issues);
  const active = section(v.get("active"), path + ".active", issues,
    ["type", "timeout", "concurrency", "host", "port", "http_path", "https_verify_certificate", "req_headers", "healthy", "unhealthy"]);
  if (v.get("active") === null) issues.error(path + ".active", "is required (APISIX needs active checks whenever checks is set)");
  if (active !== null) {
    const p = path + ".active";
    enumString(active, "type", ["http", "https", "tcp"], p, issues, "http");
    const t = active.get("timeout");
    if (t !== null && (!t.isNumber() || t.num <= 0)) issues.error(p + ".timeout", "expected a number > 0, got " + describe(t));
    optInt(active, "concurrency", p, issues, 10, 0, 2147483647);
    optString(active, "host", p, issues);
    optInt(active, "port", p, issues, 0, 1, 65535);
    optString(active, "http_path", p, issues, "/");
    optBool(active, "https_verify_certificate", p, issues, true);
    const rh = active.get("req_headers");
    if (rh !== null) {
      if (!rh.isArray()) issues.error(p + ".req_headers", "expected an array of \"Name: value\" strings");
      else for (let i = 0; i < rh.length; i++) if (!rh.at(i).isString()) issues.error(p + ".req_headers[" + i.toString() + "]", "expected a string");
    }
    const h = section(active.get("healthy"), p + ".healthy", issues, ["interval", "http_statuses", "successes"]);
    if (h !== null) {
      optInt(h, "interval", p + ".healthy", issues, 1, 1, 2147483647);
      statuses(h.get("http_statuses"), p + ".healthy.http_statuses", issues, []);
      optInt(h, "successes", p + ".healthy", issues, 2, 1, 254);
    }
    const u = section(active.get("unhealthy"), p + ".unhealthy", issues, ["interval", "http_statuses", "http_failures", "tcp_failures", "timeouts"]);
    if (u !== null) {
      optInt(u, "interval", p + ".unhealthy", issues, 1, 1, 2147483647);
      statuses(u.get("http_statuses"), p + ".unhealthy.http_statuses", issues, []);
      optInt(u, "http_failures", p + ".unhealthy", issues, 5, 1, 254);
      optInt(u, "tcp_failures", p + ".unhealthy", issues, 2, 1, 254);
      optInt(u, "timeouts", p + ".unhealthy", issues, 3, 1, 254);
    }
  }
  const pc = new PassiveChecks();
  const passive = section(v.get("passive"), path + ".passive", issues, ["type", "healthy", "unhealthy"]);
  if (passive === null) return null;
  const p = path + ".passive";
  enumString(passive, "type", ["http", "https", "tcp"], p, issues, "http");
  const h = section(passive.get("healthy"), p + ".healthy", issues, ["http_statuses", "successes"]);
  if (h !== null) {
    pc.healthyStatuses = statuses(h.get("http_statuses"), p + ".healthy.http_statuses", issues, pc.healthyStatuses);
    pc.healthySuccesses = <i32>optInt(h, "successes", p + ".healthy", issues, 5, 0, 254);
  }
  const u = section(passive.get("unhealthy"), p + ".unhealthy", issues, ["http_statuses", "http_failures", "tcp_failures", "timeouts"]);
  if (u !== null) {
    pc.unhealthyStatuses = statuses(u.get("http_statuses"), p + ".unhealthy.http_statuses", issues, pc.unhealthyStatuses);
    pc.httpFailures = <i32>optInt(u, "http_failures", p + ".unhealthy", issues, 5, 0, 254);
    pc.tcpFailures = <i32>optInt(u, "tcp_failures", p + ".unhealthy", issues, 2, 0, 254);
    pc.timeouts = <i32>optInt(u, "timeouts", p + ".unhealthy", issues, 7, 0, 254);
  }
  return pc;
}
