// proxy_call_foreign_function (Envoy foreign.cc): set_envoy_filter_state and
// clear_route_cache; anything else is not registered.
import { WasmResult } from "../abi.ts";
import { decodeSetEnvoyFilterStateArgs, type SetEnvoyFilterStateArgs } from "../foreign.ts";
import { utf8 } from "../pairs.ts";
import type { HostFunctions, HostInternals } from "./internals.ts";

export function foreignFunctions(h: HostInternals): HostFunctions {
  const R = WasmResult;
  const mem = () => h.memory;
  const u = (x: number) => x >>> 0;
  return {
    // ---- foreign functions (Envoy foreign.cc)
    proxy_call_foreign_function: (nPtr: number, nLen: number, aPtr: number, aLen: number, rPtrPtr: number, rSizePtr: number) => {
      const name = h.readStr(nPtr, nLen);
      if (name === null) return R.InvalidMemoryAccess;
      const args = mem().read(u(aPtr), u(aLen));
      if (args === null) return R.InvalidMemoryAccess;
      const res = foreign(h, name, args);
      if (res === null) return R.NotFound;
      // No function here returns data: results ptr/size are written as 0 when asked for.
      if (u(rPtrPtr) !== 0 && !mem().writeU32(u(rPtrPtr), 0)) return R.InvalidMemoryAccess;
      if (u(rSizePtr) !== 0 && !mem().writeU32(u(rSizePtr), 0)) return R.InvalidMemoryAccess;
      return res;
    },
  };
}

/** Foreign functions; null = not registered (NotFound). */
function foreign(h: HostInternals, name: string, args: Uint8Array): number | null {
  const c = h.ctx();
  switch (name) {
    case "set_envoy_filter_state": {
      let a: SetEnvoyFilterStateArgs;
      try {
        a = decodeSetEnvoyFilterStateArgs(args);
      } catch {
        return WasmResult.BadArgument;
      }
      // Envoy context.cc setEnvoyFilterState: unknown key → NotFound, unparsable
      // value → BadArgument, no stream info → NotFound.
      const factory = h.filterStateFactories.get(a.path);
      if (!factory) return WasmResult.NotFound;
      const obj = factory(a.value);
      if (obj === null) return WasmResult.BadArgument;
      if (c.kind !== "stream") return WasmResult.NotFound;
      c.setFilterState(a.path, utf8(obj), a.span);
      return WasmResult.Ok;
    }
    case "clear_route_cache":
      // Registered since Envoy 1.33 (envoy#36671).
      if (h.envoyVersion < 1033) return null;
      if (c.kind === "stream") c.routeCacheCleared++;
      return WasmResult.Ok;
    default:
      return null;
  }
}
