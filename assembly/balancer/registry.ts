// Every balancer type APISIX ships, registered by name, and the host hook
// the balancers use (logging). Importing this module
// (the filter's entry does) is enough to make them available to pick_server;
// unit tests import the balancer modules directly and leave the hooks unset.
import { log, LogLevelValues } from "@solo-io/proxy-runtime/assembly";
import { registerBalancer } from "./pick";
import { RoundRobinFactory } from "./roundrobin";
import { ChashFactory } from "./chash";
import { EwmaFactory } from "./ewma";
import { LeastConnFactory } from "./least_conn";
import { LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN, setLogger } from "./hooks";

registerBalancer("roundrobin", new RoundRobinFactory());
registerBalancer("chash", new ChashFactory());
registerBalancer("ewma", new EwmaFactory());
registerBalancer("least_conn", new LeastConnFactory());

function envoyLog(level: i32, msg: string): void {
  const l = level == LOG_ERROR ? LogLevelValues.error : level == LOG_WARN ? LogLevelValues.warn :
    level == LOG_INFO ? LogLevelValues.info : level == LOG_DEBUG ? LogLevelValues.debug : LogLevelValues.trace;
  log(l, msg);
}

setLogger(envoyLog);
