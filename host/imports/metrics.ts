// Metrics (Envoy context.cc defineMetric, incrementMetric, recordMetric, getMetric).
import { MetricType, WasmResult } from "../abi.ts";
import type { MetricRecord } from "../context.ts";
import type { HostFunctions, HostInternals } from "./internals.ts";

/** Metrics by name (they outlive a VM reload, as Envoy's stats do) and by the id the guest holds. */
export class MetricStore {
  readonly byName = new Map<string, MetricRecord>();
  readonly byId = new Map<number, MetricRecord>();
  /** Envoy wasm.h: ids carry the type in the low 2 bits. */
  nextId = [0, 1, 2];
  /** A new VM: ids start again, the named metrics stay. */
  resetIds(): void {
    this.byId.clear();
    this.nextId = [0, 1, 2];
  }
}

export function metricFunctions(h: HostInternals): HostFunctions {
  const R = WasmResult;
  const mem = () => h.memory;
  const u = (x: number) => x >>> 0;
  return {
    // ---- metrics (Envoy context.cc defineMetric etc.)
    proxy_define_metric: (type: number, nPtr: number, nLen: number, idPtr: number) => {
      const t = u(type);
      if (t > MetricType.MAX) return R.BadArgument;
      const name = h.readStr(nPtr, nLen);
      if (name === null) return R.InvalidMemoryAccess;
      const kind = (["counter", "gauge", "histogram"] as const)[t];
      let rec = h.metrics.byName.get(name);
      if (!rec || rec.type !== kind) {
        rec = { name, type: kind, value: 0n, samples: [] };
        h.metrics.byName.set(name, rec);
      }
      const id = h.metrics.nextId[t];
      h.metrics.nextId[t] += 4;
      h.metrics.byId.set(id, rec);
      return mem().writeU32(u(idPtr), id) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_increment_metric: (id: number, offset: bigint) => {
      const t = u(id) & 3;
      const rec = h.metrics.byId.get(u(id));
      if (t === MetricType.Counter) {
        if (!rec) return R.NotFound;
        if (offset <= 0n) return R.BadArgument;
        rec.value += offset;
        return R.Ok;
      }
      if (t === MetricType.Gauge) {
        if (!rec) return R.NotFound;
        rec.value += offset;
        return R.Ok;
      }
      return R.BadArgument;
    },
    proxy_record_metric: (id: number, value: bigint) => {
      const rec = h.metrics.byId.get(u(id));
      if (!rec) return R.NotFound;
      const v = BigInt.asUintN(64, value);
      if (rec.type === "counter") rec.value += v;
      else if (rec.type === "gauge") rec.value = v;
      else rec.samples.push(v);
      return R.Ok;
    },
    proxy_get_metric: (id: number, ptr: number) => {
      const t = u(id) & 3;
      if (t === MetricType.Histogram || t === 3) return R.BadArgument;
      const rec = h.metrics.byId.get(u(id));
      if (!rec) return R.NotFound;
      return mem().writeU64(u(ptr), rec.value) ? R.Ok : R.InvalidMemoryAccess;
    },
  };
}
