// proxy_get_property / proxy_set_property: the attribute tree (../properties.ts)
// and set_property's CelState in filter state (Envoy context.cc).
import { WasmResult } from "../abi.ts";
import { serialize } from "../properties.ts";
import type { HostFunctions, HostInternals } from "./internals.ts";

export function propertyFunctions(h: HostInternals): HostFunctions {
  const R = WasmResult;
  const mem = () => h.memory;
  const u = (x: number) => x >>> 0;
  return {
    proxy_get_property: (pathPtr: number, pathLen: number, valuePtrPtr: number, valueSizePtr: number) => {
      const path = h.readStr(pathPtr, pathLen);
      if (path === null) return R.InvalidMemoryAccess;
      const segments = path.split("\0");
      if (segments.length && segments[segments.length - 1] === "") segments.pop();
      const c = h.ctx();
      const v = c.kind === "stream" ? c.property(segments) : h.propertyForRoot(segments);
      if (!v) return R.NotFound;
      return h.copyOut(serialize(v), valuePtrPtr, valueSizePtr);
    },
    proxy_set_property: (kPtr: number, kLen: number, vPtr: number, vLen: number) => {
      const key = h.readStr(kPtr, kLen);
      const value = mem().read(u(vPtr), u(vLen));
      if (key === null || value === null) return R.InvalidMemoryAccess;
      // Envoy context.cc setProperty: a CelState under "wasm.<path>" in the request's
      // filter state; no stream info (root context) → NotFound.
      const c = h.ctx();
      if (c.kind !== "stream") return R.NotFound;
      c.setFilterState(`wasm.${key}`, value, 0);
      return R.Ok;
    },
  };
}
