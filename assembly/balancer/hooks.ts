// What the balancers need from the host, injected so that the balancer
// modules never import proxy-wasm functions themselves: the as-pect unit
// tests run them in a plain wasm instance without those imports. registry.ts
// (only imported by the real filter) installs the Envoy-backed logger.

export const LOG_DEBUG: i32 = 1;
export const LOG_INFO: i32 = 2;
export const LOG_WARN: i32 = 3;
export const LOG_ERROR: i32 = 4;

function noLog(_level: i32, _msg: string): void {}

let logger: (level: i32, msg: string) => void = noLog;

// Log lines recorded while no logger is installed (unit tests read them).
export const recorded: Array<string> = new Array<string>();
let recording = false;

export function setLogger(f: (level: i32, msg: string) => void): void { logger = f; }
export function recordLogs(on: bool): void { recording = on; recorded.length = 0; }

export function balancerLog(level: i32, msg: string): void {
  if (recording) recorded.push(msg);
  logger(level, msg);
}
