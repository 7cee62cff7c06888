// Shared data and shared queues, keyed by vm_id (cpp-host shared_data.cc,
// shared_queue.cc): process-wide in Envoy, in-process here.
import { WasmResult } from "../abi.ts";
import type { HostFunctions, HostInternals } from "./internals.ts";

/** The shared queues one host registered: token → queue. */
export class SharedQueues {
  readonly byToken = new Map<number, { name: string; vmId: string; rootId: number; items: Uint8Array[] }>();
  nextToken = 1;
}

export function sharedFunctions(h: HostInternals): HostFunctions {
  const R = WasmResult;
  const mem = () => h.memory;
  const u = (x: number) => x >>> 0;
  return {
    // ---- shared data (cpp-host shared_data.cc, keyed by vm_id)
    proxy_get_shared_data: (kPtr: number, kLen: number, vPtrPtr: number, vSizePtr: number, casPtr: number) => {
      const key = h.readStr(kPtr, kLen);
      if (key === null) return R.InvalidMemoryAccess;
      const e = h.sharedData.get(h.vmId, key);
      if (!e) return R.NotFound;
      const r = h.copyOut(e.value, vPtrPtr, vSizePtr);
      if (r !== R.Ok) return r;
      return mem().writeU32(u(casPtr), e.cas) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_shared_data: (kPtr: number, kLen: number, vPtr: number, vLen: number, cas: number) => {
      const key = h.readStr(kPtr, kLen);
      const value = mem().read(u(vPtr), u(vLen));
      if (key === null || value === null) return R.InvalidMemoryAccess;
      return h.sharedData.set(h.vmId, key, value, u(cas));
    },

    // ---- shared queues (minimal, in-process)
    proxy_register_shared_queue: (nPtr: number, nLen: number, tokenPtr: number) => {
      const name = h.readStr(nPtr, nLen);
      if (name === null) return R.InvalidMemoryAccess;
      const root = h.rootOf(h.ctx());
      let token = [...h.queues.byToken].find(([, q]) => q.name === name && q.vmId === h.vmId)?.[0];
      if (token === undefined) {
        token = h.queues.nextToken++;
        h.queues.byToken.set(token, { name, vmId: h.vmId, rootId: root?.id ?? 0, items: [] });
      } else h.queues.byToken.get(token)!.rootId = root?.id ?? 0;
      return mem().writeU32(u(tokenPtr), token) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_resolve_shared_queue: (vPtr: number, vLen: number, nPtr: number, nLen: number, tokenPtr: number) => {
      const vm = h.readStr(vPtr, vLen);
      const name = h.readStr(nPtr, nLen);
      if (vm === null || name === null) return R.InvalidMemoryAccess;
      const vmId = vm === "" ? h.vmId : vm;
      const token = [...h.queues.byToken].find(([, q]) => q.name === name && q.vmId === vmId)?.[0];
      if (token === undefined) return R.NotFound;
      return mem().writeU32(u(tokenPtr), token) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_enqueue_shared_queue: (token: number, ptr: number, len: number) => {
      const data = mem().read(u(ptr), u(len));
      if (data === null) return R.InvalidMemoryAccess;
      const q = h.queues.byToken.get(u(token));
      if (!q) return R.NotFound;
      q.items.push(data);
      const root = h.rootById(q.rootId);
      // onQueueReady is posted to the registering root context's thread: run it after this call.
      if (root && h.frame) h.frame.after.push(() => void h.callRoot(root, "proxy_on_queue_ready", [root.id, u(token)]));
      return R.Ok;
    },
    proxy_dequeue_shared_queue: (token: number, ptrPtr: number, sizePtr: number) => {
      const q = h.queues.byToken.get(u(token));
      if (!q) return R.NotFound;
      const item = q.items.shift();
      if (!item) return R.Empty;
      return h.copyOut(item, ptrPtr, sizePtr);
    },
  };
}
