// Bodies, stream control, local replies, the effective context and proxy_done:
// the calls that steer a stream or a root context (cpp-host exports.cc, Envoy context.cc).
import { BufferType, StreamType, WasmResult } from "../abi.ts";
import { decodePairs } from "../pairs.ts";
import type { AnyContext, HostFunctions, HostInternals } from "./internals.ts";

export function streamFunctions(h: HostInternals): HostFunctions {
  const R = WasmResult;
  const mem = () => h.memory;
  const u = (x: number) => x >>> 0;
  return {
    // ---- buffers
    proxy_get_buffer_bytes: (type: number, start: number, length: number, ptrPtr: number, sizePtr: number) => {
      if (u(type) > BufferType.MAX) return R.BadArgument;
      const buf = buffer(h, u(type));
      if (!buf) return R.NotFound;
      const s = u(start);
      let n = u(length);
      if (s > buf.length) n = 0;
      else if (s + n > buf.length) n = buf.length - s;
      return h.copyOut(n === 0 ? new Uint8Array(0) : buf.subarray(s, s + n), ptrPtr, sizePtr);
    },
    proxy_get_buffer_status: (type: number, lenPtr: number, flagsPtr: number) => {
      if (u(type) > BufferType.MAX) return R.BadArgument;
      const buf = buffer(h, u(type));
      if (!buf) return R.NotFound;
      // cpp-host always reports flags 0.
      if (!mem().writeU32(u(lenPtr), buf.length) || !mem().writeU32(u(flagsPtr), 0)) return R.InvalidMemoryAccess;
      return R.Ok;
    },
    proxy_set_buffer_bytes: (type: number, start: number, length: number, ptr: number, len: number) => {
      if (u(type) > BufferType.MAX) return R.BadArgument;
      const c = h.ctx();
      const data = mem().read(u(ptr), u(len));
      if (data === null) return R.InvalidMemoryAccess;
      if (c.kind !== "stream") return buffer(h, u(type)) ? R.BadArgument : R.NotFound;
      return c.setBody(u(type), u(start), u(length), data);
    },

    // ---- stream control
    proxy_continue_stream: (type: number) => continueStream(h, type),
    proxy_close_stream: (type: number) => {
      if (u(type) > StreamType.MAX) return R.BadArgument;
      const c = h.ctx();
      return c.kind === "stream" ? c.closeStream(u(type), h.frame!) : R.Ok;
    },
    proxy_send_local_response: (code: number, dPtr: number, dLen: number, bPtr: number, bLen: number, hPtr: number, hLen: number, grpc: number) => {
      const details = h.readStr(dPtr, dLen);
      const body = mem().read(u(bPtr), u(bLen));
      const hdrs = mem().read(u(hPtr), u(hLen));
      if (details === null || body === null || hdrs === null) return R.InvalidMemoryAccess;
      const c = h.ctx();
      if (c.kind === "stream") c.queueLocalReply(h.frame!, u(code), body, decodePairs(hdrs), grpc | 0, details);
      // cpp-host exports.cc: the current callback's return value now counts as "stop".
      if (h.frame) h.frame.stopNext = true;
      return R.Ok;
    },
    proxy_get_status: (codePtr: number, ptrPtr: number, sizePtr: number) => {
      if (!mem().writeU32(u(codePtr), 0)) return R.InvalidMemoryAccess;
      return h.copyOut(new Uint8Array(0), ptrPtr, sizePtr);
    },

    // ---- contexts
    proxy_set_effective_context: (id: number) => {
      const cid = u(id);
      const target: AnyContext | undefined = h.contextById(cid);
      if (!target) return R.BadArgument;
      if (h.frame) h.frame.effective = target;
      return R.Ok;
    },
    proxy_done: () => {
      // cpp-host WasmBase::done: only a root context waiting after on_done=false.
      const c = h.ctx();
      if (c.kind !== "root" || !c.pendingDone) return R.NotFound;
      c.pendingDone = false;
      h.frame?.after.push(() => h.deleteRoot(c));
      return R.Ok;
    },
  };
}

/** proxy_continue_stream, also behind ABI 0.1.0's continue_request / continue_response. */
export function continueStream(h: HostInternals, type: number): number {
  if (type >>> 0 > StreamType.MAX) return WasmResult.BadArgument;
  const c = h.ctx();
  return c.kind === "stream" ? c.continueStream(type >>> 0, h.frame!) : WasmResult.Ok;
}

/** Envoy context.cc getBuffer. */
export function buffer(h: HostInternals, type: number): Uint8Array | null {
  const c = h.ctx();
  switch (type) {
    case BufferType.VmConfiguration:
      return h.vmConfiguration;
    case BufferType.PluginConfiguration: {
      const root = h.rootOf(c);
      return c.kind === "root" && root?.configuring ? root.configuration : null;
    }
    case BufferType.HttpRequestBody:
    case BufferType.HttpResponseBody:
      return c.kind === "stream" ? c.bodyBuffer(type) : new Uint8Array(0);
    case BufferType.CallData:
      return new Uint8Array(0);
    default:
      return null;
  }
}
