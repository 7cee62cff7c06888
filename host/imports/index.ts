// Every `env` and WASI import a proxy-wasm module may link, by area.
import { foreignFunctions } from "./foreign.ts";
import { headerFunctions } from "./headers.ts";
import type { HostFunctions, HostInternals } from "./internals.ts";
import { loggingFunctions } from "./logging.ts";
import { metricFunctions } from "./metrics.ts";
import { otherFunctions } from "./other.ts";
import { propertyFunctions } from "./properties.ts";
import { sharedFunctions } from "./shared.ts";
import { streamFunctions } from "./stream.ts";

export type { AnyContext, CallFrame, HostFunction, HostFunctions, HostInternals } from "./internals.ts";
export { MetricStore } from "./metrics.ts";
export { SharedQueues } from "./shared.ts";
export { wasiFunctions } from "./wasi.ts";

/** The `env` module: proxy_* host functions and the extras Envoy links. */
export function envFunctions(h: HostInternals): HostFunctions {
  return {
    ...loggingFunctions(h),
    ...propertyFunctions(h),
    ...headerFunctions(h),
    ...streamFunctions(h),
    ...foreignFunctions(h),
    ...sharedFunctions(h),
    ...metricFunctions(h),
    ...otherFunctions(h),
  };
}
