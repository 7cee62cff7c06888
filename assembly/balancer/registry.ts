// Every balancer type APISIX ships, registered by name, and the host hooks
// the balancers use (logging, connection variables). Importing this module
// (the filter's entry does) is enough to make them available to pick_server;
// unit tests import the balancer modules directly and leave the hooks unset.
import { log, LogLevelValues } from "@solo-io/proxy-runtime/assembly";
import { registerBalancer } from "./index";
import { RoundRobinFactory } from "./roundrobin";
import { ChashFactory } from "./chash";
import { EwmaFactory } from "./ewma";
import { LeastConnFactory } from "./least_conn";
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN, setHostVar, setLogger } from "./hooks";
import { property, propertyInt } from "../envoy";

registerBalancer("roundrobin", new RoundRobinFactory());
registerBalancer("chash", new ChashFactory());
registerBalancer("ewma", new EwmaFactory());
registerBalancer("least_conn", new LeastConnFactory());

function envoyLog(level: i32, msg: string): void {
  const l = level == LOG_ERROR ? LogLevelValues.error : level == LOG_WARN ? LogLevelValues.warn :
    level == LOG_INFO ? LogLevelValues.info : level == LOG_DEBUG ? LogLevelValues.debug : LogLevelValues.trace;
  log(l, msg);
}

function ipOf(a: string): string {
  if (a.startsWith("[")) {
    const close = a.indexOf("]");
    return close > 0 ? a.substring(1, close) : a;
  }
  const colon = a.lastIndexOf(":");
  return colon > 0 && a.indexOf(":") == colon ? a.substring(0, colon) : a;
}

function envoyVar(name: string): string | null {
  if (name == "remote_port") {
    const p = propertyInt("source.port", -1);
    return p >= 0 ? p.toString() : null;
  }
  if (name == "server_port") {
    const p = propertyInt("destination.port", -1);
    return p >= 0 ? p.toString() : null;
  }
  if (name == "server_addr") {
    const a = property("destination.address");
    return a !== null ? ipOf(a) : null;
  }
  return null;
}

setLogger(envoyLog);
setHostVar(envoyVar);
