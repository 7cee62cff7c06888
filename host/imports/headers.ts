// Header and trailer maps (cpp-host exports.cc + Envoy context.cc): a stream's
// maps exist only while the callback that owns them runs (HttpStream.headerMap).
import { MapType, WasmResult } from "../abi.ts";
import { valueFromBytes, type HeaderMap, type HeaderValue } from "../headers.ts";
import { decodePairsWith } from "../pairs.ts";
import type { HostFunctions, HostInternals } from "./internals.ts";

export function headerFunctions(h: HostInternals): HostFunctions {
  const R = WasmResult;
  const mem = () => h.memory;
  const u = (x: number) => x >>> 0;
  const headerMap = (type: number, mutable: boolean) => {
    const c = h.ctx();
    return c.kind === "stream" ? c.headerMap(type, mutable) : null;
  };

  return {
    proxy_get_header_map_value: (type: number, kPtr: number, kLen: number, vPtrPtr: number, vSizePtr: number) => {
      if (u(type) > MapType.MAX) return R.BadArgument;
      const key = h.readStr(kPtr, kLen);
      if (key === null) return R.InvalidMemoryAccess;
      const c = h.ctx();
      const map = headerMap(type, false);
      if (!map) {
        // Envoy getHeaderMapValue: a missing map is NotFound in the access-log phase,
        // BadArgument otherwise.
        return c.kind === "stream" && c.inAccessLog ? R.NotFound : R.BadArgument;
      }
      const v = map.getBytes(key);
      if (v === undefined) return R.NotFound;
      return h.copyOut(v, vPtrPtr, vSizePtr);
    },
    proxy_get_header_map_pairs: (type: number, ptrPtr: number, sizePtr: number) => {
      if (u(type) > MapType.MAX) return R.BadArgument;
      const map = headerMap(type, false);
      // An empty (or unavailable) map is handed over as nothing: ptr 0, size 0.
      return h.copyOut(map?.size ? map.encode() : new Uint8Array(0), ptrPtr, sizePtr);
    },
    proxy_get_header_map_size: (type: number, ptr: number) => {
      if (u(type) > MapType.MAX) return R.BadArgument;
      const map = headerMap(type, true);
      if (!map) return R.BadArgument;
      return mem().writeU32(u(ptr), map.byteSize()) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_add_header_map_value: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) =>
      mutateHeaders(h, type, kPtr, kLen, vPtr, vLen, (m, k, v) => m.add(k, v)),
    proxy_replace_header_map_value: (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) =>
      mutateHeaders(h, type, kPtr, kLen, vPtr, vLen, (m, k, v) => m.set(k, v)),
    proxy_remove_header_map_value: (type: number, kPtr: number, kLen: number) => mutateHeaders(h, type, kPtr, kLen, 0, 0, (m, k) => m.remove(k)),
    proxy_set_header_map_pairs: (type: number, ptr: number, len: number) => {
      if (u(type) > MapType.MAX) return R.BadArgument;
      const data = mem().read(u(ptr), u(len));
      if (data === null) return R.InvalidMemoryAccess;
      const c = h.ctx();
      const map = headerMap(type, true);
      if (!map || c.kind !== "stream") return R.BadArgument;
      map.replaceAll(decodePairsWith(data, valueFromBytes));
      c.onHeadersModified(u(type));
      return R.Ok;
    },
  };
}

function mutateHeaders(
  h: HostInternals,
  type: number,
  kPtr: number,
  kLen: number,
  vPtr: number,
  vLen: number,
  op: (m: HeaderMap, k: string, v: HeaderValue) => void,
): number {
  if (type >>> 0 > MapType.MAX) return WasmResult.BadArgument;
  const key = h.readStr(kPtr, kLen);
  const bytes = h.memory.read(vPtr >>> 0, vLen >>> 0);
  if (key === null || bytes === null) return WasmResult.InvalidMemoryAccess;
  const value = valueFromBytes(bytes);
  const c = h.ctx();
  if (c.kind !== "stream") return WasmResult.BadArgument;
  const map = c.headerMap(type >>> 0, true);
  if (!map) return WasmResult.BadArgument;
  op(map, key, value);
  c.onHeadersModified(type >>> 0);
  return WasmResult.Ok;
}
