// `checks` (APISIX's health checker schema, schema_def.lua health_checker):
// validated here; the passive part is applied by the filter (balancer/health.ts),
// the active part is probed by the control plane and arrives as `health`.

import { JsonValue } from "../json";
import { Issues, checkKeys } from "./errors";
import { check, intOf, listOf, statusCodes } from "./schema";

export class PassiveChecks {
  healthyStatuses: Array<i32> = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308];
  healthySuccesses: i32 = 5;
  unhealthyStatuses: Array<i32> = [429, 500, 503];
  httpFailures: i32 = 5;
  tcpFailures: i32 = 2;
  timeouts: i32 = 7;
}

export function validateChecks(v: JsonValue, path: string, issues: Issues): PassiveChecks | null {
  if (!v.isObject()) { issues.error(path, "expected an object {active, passive}"); return null; }
  const before = issues.count;
  checkKeys(v, listOf("active passive"), path, issues);
  check(v, path, issues, "\
    active object {\
      type enum http https tcp;\
      timeout number > 0;\
      concurrency integer 0 2147483647;\
      host string;\
      port integer 1 65535;\
      http_path string;\
      https_verify_certificate boolean;\
      req_headers header-lines;", "\
      healthy object {\
        interval integer 1 2147483647;\
        http_statuses status-codes;\
        successes integer 1 254;\
      }", "\
      unhealthy object {\
        interval integer 1 2147483647;\
        http_statuses status-codes;\
        http_failures integer 1 254;\
        tcp_failures integer 1 254;\
        timeouts integer 1 254;\
      }\
    }");
  if (v.get("active") === null) issues.error(path + ".active", "is required (APISIX needs active checks whenever checks is set)");
  check(v, path, issues, "\
    passive object {\
      type enum http https tcp;\
      healthy object {\
        http_statuses status-codes;\
        successes integer 0 254;\
      }", "\
      unhealthy object {\
        http_statuses status-codes;\
        http_failures integer 0 254;\
        tcp_failures integer 0 254;\
        timeouts integer 0 254;\
      }\
    }");
  const passive = v.get("passive");
  // A checks object with an error is rejected with its upstream: nothing to read then.
  if (passive === null || issues.count != before) return null;
  const pc = new PassiveChecks();
  const h = passive.get("healthy");
  if (h !== null) {
    const codes = h.get("http_statuses");
    if (codes !== null) pc.healthyStatuses = statusCodes(codes, "", issues);
    pc.healthySuccesses = <i32>intOf(h, "successes", 5);
  }
  const u = passive.get("unhealthy");
  if (u !== null) {
    const codes = u.get("http_statuses");
    if (codes !== null) pc.unhealthyStatuses = statusCodes(codes, "", issues);
    pc.httpFailures = <i32>intOf(u, "http_failures", 5);
    pc.tcpFailures = <i32>intOf(u, "tcp_failures", 2);
    pc.timeouts = <i32>intOf(u, "timeouts", 7);
  }
  return pc;
}
