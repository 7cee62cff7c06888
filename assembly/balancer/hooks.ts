// What the balancers need from the host, injected so that the balancer
// modules never import proxy-wasm functions themselves: the as-pect unit
// tests run them in a plain wasm instance without those imports. registry.ts
// (only imported by the real filter) installs the Envoy-backed versions.

export const LOG_DEBUG: i32 = 1;
export const LOG_INFO: i32 = 2;
export const LOG_WARN: i32 = 3;
export const LOG_ERROR: i32 = 4;

function noLog(_level: i32, _msg: string): void {}
function noVar(_name: string): string | null { return null; }

let logger: (level: i32, msg: string) => void = noLog;
let hostVarFn: (name: string) => string | null = noVar;

// Log lines recorded while no logger is installed (unit tests read them).
export const recorded: Array<string> = new Array<string>();
let recording = false;

export function setLogger(f: (level: i32, msg: string) => void): void { logger = f; }
export function setHostVar(f: (name: string) => string | null): void { hostVarFn = f; }
export function recordLogs(on: bool): void { recording = on; recorded.length = 0; }

export function balancerLog(level: i32, msg: string): void {
  if (recording) recorded.push(msg);
  logger(level, msg);
}

// Connection variables the request's headers do not carry (remote_port,
// server_addr, server_port): read from Envoy's properties by the filter.
export function hostVar(name: string): string | null { return hostVarFn(name); }
