// ewma: apisix/balancer/ewma.lua (peak-EWMA after Finagle), power of two
// choices over the level's nodes minus the tried ones; the lower decayed
// latency wins, a tie keeps the first draw. Weights are ignored.
//
// Score(node) = stored ewma decayed to now with a zero sample:
//   w = exp(-Δt / DECAY_TIME), ewma' = ewma·w + rtt·(1 − w)
// Updated only in the log phase with the finished request's upstream
// latency, keyed by the upstream address ("ip:port").
//
// APISIX keeps the values in shared dicts (one view for all nginx workers,
// 60 s TTL). Envoy runs one wasm VM per worker thread and proxy-wasm has no
// equivalent of a locked shdict read-modify-write on the hot path, so here
// each VM (worker) keeps its own table, with the same 60 s expiry.

import { Node, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { randomInt } from "./random";

export const DECAY_TIME: f64 = 10;   // seconds
export const SHM_TTL: f64 = 60;      // seconds

class Stat {
  constructor(public ewma: f64, public touched: f64) {}
}

const stats = new Map<string, Stat>();
let lastSweep: f64 = 0;

export function resetEwma(): void { stats.clear(); lastSweep = 0; }

export function decayEwma(ewma: f64, lastTouched: f64, rtt: f64, now: f64): f64 {
  let td = now - lastTouched;
  if (td < 0 || isNaN(td)) td = 0;
  const w = Math.exp(-td / DECAY_TIME);
  return ewma * w + rtt * (1.0 - w);
}

function stored(addr: string, now: f64): Stat | null {
  if (!stats.has(addr)) return null;
  const s = stats.get(addr);
  // shdict TTL: an entry untouched for 60 s is gone.
  if (now - s.touched > SHM_TTL) { stats.delete(addr); return null; }
  return s;
}

// get_or_update_ewma(addr, 0, false).
export function ewmaScore(addr: string, now: f64): f64 {
  const s = stored(addr, now);
  if (s === null) return decayEwma(0, 0, 0, now);
  return decayEwma(s.ewma, s.touched, 0, now);
}

// get_or_update_ewma(addr, rtt, true): the log-phase update.
export function ewmaUpdate(addr: string, rtt: f64, now: f64): f64 {
  if (!(rtt >= 0) || !isFinite(rtt)) rtt = 0;
  const s = stored(addr, now);
  const e = s === null ? decayEwma(0, 0, rtt, now) : decayEwma(s.ewma, s.touched, rtt, now);
  if (s === null) stats.set(addr, new Stat(e, now));
  else { s.ewma = e; s.touched = now; }
  // Drop expired entries now and then so addresses that left the config
  // do not accumulate.
  if (now - lastSweep > SHM_TTL) {
    lastSweep = now;
    const keys = stats.keys();
    for (let i = 0; i < keys.length; i++) {
      const st = stats.get(keys[i]);
      if (now - st.touched > SHM_TTL) stats.delete(keys[i]);
    }
  }
  return e;
}

export class EwmaPicker extends Picker {
  constructor(public nodes: Array<Node>) { super(); }

  get(ctx: BalanceCtx): Node | null {
    const nodes = this.nodes;
    if (nodes.length == 0) { ctx.error = "up_nodes empty"; return null; }
    if (ctx.tried.length > 0 && ctx.triedCount == nodes.length) { ctx.error = "all upstream servers tried"; return null; }
    const anyTried = ctx.tried.length > 0;
    let count = nodes.length;
    if (anyTried) {
      count = 0;
      for (let i = 0; i < nodes.length; i++) if (!ctx.isTried(unchecked(nodes[i]))) count++;
      // The count may say otherwise when a node was marked twice.
      if (count == 0) { ctx.error = "all upstream servers tried"; return null; }
    }
    if (count == 1) return this.candidate(ctx, anyTried, 0);
    const a = randomInt(count);
    let b = randomInt(count - 1);
    if (b >= a) b++;
    let endpoint = this.candidate(ctx, anyTried, a);
    const other = this.candidate(ctx, anyTried, b);
    if (ewmaScore(endpoint.address, ctx.now) > ewmaScore(other.address, ctx.now)) endpoint = other;
    return endpoint;
  }

  // The k-th node not tried yet, in node order.
  private candidate(ctx: BalanceCtx, anyTried: bool, k: i32): Node {
    const nodes = this.nodes;
    if (!anyTried) return unchecked(nodes[k]);
    for (let i = 0; i < nodes.length; i++) {
      const n = unchecked(nodes[i]);
      if (ctx.isTried(n)) continue;
      if (k == 0) return n;
      k--;
    }
    return unchecked(nodes[0]);
  }

  afterBalance(ctx: BalanceCtx, beforeRetry: bool): void {
    const s = ctx.server;
    if (beforeRetry) {
      if (s !== null) ctx.markTried(s);
      return;
    }
    ctx.clearTried();
    if (ctx.planning) return;
    // No upstream address: nothing answered ("no upstream addr found").
    const addr = ctx.upstreamAddr;
    if (addr.length == 0) return;
    ewmaUpdate(addr, ctx.rtt, ctx.now);
  }
}

export class EwmaFactory extends PickerFactory {
  create(nodes: Array<Node>, upstream: Upstream, priority: i32): Picker { return new EwmaPicker(nodes); }
}
