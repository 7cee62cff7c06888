// Logging, time and the tick timer (cpp-host exports.cc, Envoy context.cc log).
import { WasmResult } from "../abi.ts";
import { EnvoyPanic } from "../context.ts";
import type { HostFunctions, HostInternals } from "./internals.ts";

export function loggingFunctions(h: HostInternals): HostFunctions {
  const R = WasmResult;
  const mem = () => h.memory;
  const u = (x: number) => x >>> 0;
  return {
    proxy_log: (level: number, ptr: number, len: number) => {
      level = u(level);
      if (level > 5) {
        // cpp-host src/exports.cc log: level > LogLevel::Max (critical) → BadArgument.
        if (h.options.panicOnInvalidLogLevel) throw new EnvoyPanic(`proxy_log with level ${level}: PANIC("not implemented") in Envoy context.cc log`);
        h.hostLog(3, `proxy_log called with invalid level ${level} (BadArgument)`);
        return R.BadArgument;
      }
      const msg = h.readStr(ptr, len);
      if (msg === null) return R.InvalidMemoryAccess;
      if (level === 5) h.lastCriticalLog = msg;
      h.record(level, msg, h.ctx().id);
      return R.Ok;
    },
    proxy_get_log_level: (ptr: number) => (mem().writeU32(u(ptr), h.options.logLevel ?? 0) ? R.Ok : R.InvalidMemoryAccess),
    proxy_get_current_time_nanoseconds: (ptr: number) => (mem().writeU64(u(ptr), h.clock.nowNs()) ? R.Ok : R.InvalidMemoryAccess),
    proxy_set_tick_period_milliseconds: (ms: number) => {
      // cpp-host setTimerPeriod: on the root context of the calling context.
      const root = h.rootOf(h.ctx());
      if (!root) return R.BadArgument;
      root.tickPeriodMs = u(ms);
      root.nextTickAtNs = h.clock.nowNs() + BigInt(u(ms)) * 1_000_000n;
      return R.Ok;
    },
  };
}
