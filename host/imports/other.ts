// The rest of the env imports: outbound calls (not modelled: this stand-in has no
// clusters), ABI 0.1.0 leftovers, and the extras cpp-host and Envoy link.
import { StreamType, WasmResult } from "../abi.ts";
import type { HostFunctions, HostInternals } from "./internals.ts";
import { continueStream } from "./stream.ts";

export function otherFunctions(h: HostInternals): HostFunctions {
  const R = WasmResult;
  return {
    // ---- outbound calls: no clusters in this stand-in
    proxy_http_call: () => R.Unimplemented,
    proxy_grpc_call: () => R.Unimplemented,
    proxy_grpc_stream: () => R.Unimplemented,
    proxy_grpc_send: () => R.Unimplemented,
    proxy_grpc_cancel: () => R.Unimplemented,
    proxy_grpc_close: () => R.Unimplemented,

    // ---- ABI 0.1.0 leftovers (only linkable by 0.1.0 modules)
    proxy_get_configuration: (ptrPtr: number, sizePtr: number) => {
      const c = h.ctx();
      const root = h.rootOf(c);
      return h.copyOut(root?.configuring ? root.configuration : h.vmConfiguration, ptrPtr, sizePtr);
    },
    proxy_continue_request: () => continueStream(h, StreamType.Request),
    proxy_continue_response: () => continueStream(h, StreamType.Response),
    proxy_clear_route_cache: () => {
      const c = h.ctx();
      if (c.kind === "stream") c.routeCacheCleared++;
      return R.Ok;
    },

    // ---- cpp-host / Envoy extras
    emscripten_notify_memory_growth: () => undefined,
    pthread_equal: (a: number, b: number) => (a === b ? 1 : 0),
    envoy_resolve_dns: () => R.Unimplemented,
  };
}
