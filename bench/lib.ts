// Measuring helpers for bench/run.ts: a clock, medians, and an instrumented
// ProxyWasmHost that splits wall time into "inside the guest" (the .wasm's
// exports, including malloc called by the host) and "inside host functions"
// (the JS emulation of Envoy's ABI), without touching host/.
import { ProxyWasmHost, type HostOptions, type RequestDescription } from "../host/index.ts";

export const now = (): number => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- time split

const JS = 0,
  GUEST = 1,
  HOST = 2;

/**
 * Attributes wall time to the innermost of: host JS (the emulator's own code),
 * guest (wasm), host function (JS called by the guest). Each boundary crossing
 * reads the clock once; `bias` (measured by calibrate()) is the clock cost
 * that lands in every segment and is subtracted per segment.
 */
export class Meter {
  readonly ns = [0, 0, 0];
  readonly segments = [0, 0, 0];
  readonly hostCalls = new Map<string, number>();
  mallocs = 0;
  guestCalls = 0;
  bias = 0;
  private stack: number[] = [JS];
  private last = now();

  enter(cat: number): void {
    const t = now();
    const top = this.stack[this.stack.length - 1];
    this.ns[top] += (t - this.last) * 1e6;
    this.segments[top]++;
    this.last = t;
    this.stack.push(cat);
  }
  leave(): void {
    const t = now();
    const top = this.stack.pop()!;
    this.ns[top] += (t - this.last) * 1e6;
    this.segments[top]++;
    this.last = t;
  }
  reset(): void {
    this.ns.fill(0);
    this.segments.fill(0);
    this.hostCalls.clear();
    this.mallocs = 0;
    this.guestCalls = 0;
    this.stack = [JS];
    this.last = now();
  }
  /** Guest ns with the clock's own cost removed. */
  guestNs(): number {
    return Math.max(0, this.ns[GUEST] - this.segments[GUEST] * this.bias);
  }
  hostFnNs(): number {
    return Math.max(0, this.ns[HOST] - this.segments[HOST] * this.bias);
  }
  /** ns one empty segment costs (two clock reads and the bookkeeping). */
  calibrate(): number {
    const n = 200_000;
    this.reset();
    for (let i = 0; i < n; i++) {
      this.enter(HOST);
      this.leave();
    }
    const perSegment = this.ns[HOST] / this.segments[HOST];
    this.reset();
    this.bias = perSegment;
    return perSegment;
  }
}

type Fn = (...a: any[]) => any;

function wrapGuest(meter: Meter, fn: Fn): Fn {
  return (...a: any[]) => {
    meter.enter(GUEST);
    meter.guestCalls++;
    try {
      return fn(...a);
    } finally {
      meter.leave();
    }
  };
}

function wrapHost(meter: Meter, name: string, fn: Fn): Fn {
  return (...a: any[]) => {
    meter.enter(HOST);
    meter.hostCalls.set(name, (meter.hostCalls.get(name) ?? 0) + 1);
    try {
      return fn(...a);
    } finally {
      meter.leave();
    }
  };
}

/**
 * A ProxyWasmHost whose guest calls and host functions are timed. It reuses
 * the host's own code: only the (TypeScript-private) methods that hand out
 * host functions and call guest exports are wrapped, on a subclass.
 */
export function timedHost(module: WebAssembly.Module, options: HostOptions, meter: Meter): ProxyWasmHost {
  class Timed extends ProxyWasmHost {}
  const P = Timed.prototype as any;
  const base = ProxyWasmHost.prototype as any;
  const wrapAll = (fns: Record<string, Fn>, prefix: string) => {
    const out: Record<string, Fn> = {};
    for (const [k, f] of Object.entries(fns)) out[k] = f ? wrapHost(meter, prefix + k, f) : f;
    return out;
  };
  P.hostFunctions = function () {
    return wrapAll(base.hostFunctions.call(this), "");
  };
  P.wasiFunctions = function () {
    return wrapAll(base.wasiFunctions.call(this), "wasi:");
  };
  P.invoke = function (name: string, ctx: unknown, fn: Fn, args: unknown[]) {
    return base.invoke.call(this, name, ctx, wrapGuest(meter, fn), args);
  };
  const host = new Timed(module, options) as any;
  const malloc: Fn = host.malloc;
  host.malloc = (n: number) => {
    meter.mallocs++;
    meter.enter(GUEST);
    try {
      return malloc(n);
    } finally {
      meter.leave();
    }
  };
  return host as ProxyWasmHost;
}

/** The guest's exports (for the allocation counter globals of an instrumented build). */
export function guestExports(host: ProxyWasmHost): Record<string, unknown> {
  return (host as any).exports;
}

// ---------------------------------------------------------------- loops

export interface Subject {
  name: string;
  host: ProxyWasmHost;
  reqs: RequestDescription[];
  /** Set for a timedHost: the guest / host-function split is collected too. */
  meter?: Meter;
}

export interface Measured {
  /** Wall ns per request through the host (median over rounds). */
  ns: number;
  rounds: number[];
  requestsPerRound: number;
  guestNs?: number;
  hostFnNs?: number;
  guestCallsPerRequest?: number;
  hostCallsPerRequest?: number;
  mallocsPerRequest?: number;
  hostCalls?: Record<string, number>;
}

/**
 * Measure several subjects with their rounds interleaved (A B C A B C …), so
 * load from other processes on a shared machine hits all of them alike.
 * Each subject first warms up for `warmMs`, which also sizes its rounds to
 * about `roundMs`.
 */
export function interleaved(subjects: Subject[], rounds: number, roundMs: number, warmMs: number): Map<string, Measured> {
  const state = subjects.map((s) => ({
    s,
    k: 0,
    n: 0,
    wall: [] as number[],
    guest: [] as number[],
    hostFn: [] as number[],
    last: undefined as Measured | undefined,
  }));
  const run = (st: (typeof state)[number], n: number) => {
    const { host, reqs } = st.s;
    for (let i = 0; i < n; i++) {
      host.request(reqs[st.k++ % reqs.length]);
      if ((st.k & 1023) === 0) host.clearLogs();
    }
  };
  for (const st of state) {
    const t = now();
    let done = 0;
    while (now() - t < warmMs || done < 20) {
      run(st, 10);
      done += 10;
    }
    const per = (now() - t) / done;
    st.n = Math.max(20, Math.round(roundMs / per));
  }
  for (let r = 0; r < rounds; r++) {
    for (const st of state) {
      const m = st.s.meter;
      m?.reset();
      const t = now();
      run(st, st.n);
      st.wall.push(((now() - t) * 1e6) / st.n);
      if (m) {
        st.guest.push(m.guestNs() / st.n);
        st.hostFn.push(m.hostFnNs() / st.n);
        const names: Record<string, number> = {};
        let hc = 0;
        for (const [name, c] of m.hostCalls) {
          names[name] = +(c / st.n).toFixed(2);
          hc += c;
        }
        st.last = {
          ns: 0,
          rounds: [],
          requestsPerRound: st.n,
          guestCallsPerRequest: m.guestCalls / st.n,
          hostCallsPerRequest: hc / st.n,
          mallocsPerRequest: m.mallocs / st.n,
          hostCalls: names,
        };
      }
    }
  }
  const out = new Map<string, Measured>();
  for (const st of state) {
    if (st.s.host.trapped) throw new Error(`${st.s.name}: the guest trapped: ${JSON.stringify(st.s.host.failure)}`);
    const res: Measured = { ...(st.last ?? {}), ns: median(st.wall), rounds: st.wall.map((x) => Math.round(x)), requestsPerRound: st.n };
    if (st.s.meter) {
      res.guestNs = median(st.guest);
      res.hostFnNs = median(st.hostFn);
    }
    out.set(st.s.name, res);
  }
  return out;
}
