// least_conn: apisix/balancer/least_conn.lua. Score = (1 + in_flight) /
// weight, lowest wins (weight 0: infinite score, picked only when nothing
// else is left); +1 on pick, -1 when the try is released (before a retry or
// in the log phase, which Envoy runs for every stream, local replies and
// resets included).
//
// The in-flight counts live per cluster and priority level, outside the
// picker, so a picker rebuilt for a config or health change keeps counting
// the requests its predecessor routed (APISIX #12217). APISIX keeps them per
// nginx worker; here they are per wasm VM, i.e. per Envoy worker thread.
//
// Selection is a linear scan (upstreams have at most a few hundred nodes;
// the scan is one pass of integer compares, cheaper than maintaining a heap
// on every +1/-1). Ties go to the earlier node in configuration order, which
// is what a fresh binary heap built in that order returns.

import { Node, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { LOG_ERROR, balancerLog } from "./hooks";

// "cluster#priority" → address → in-flight count (only positive counts).
const states = new Map<string, Map<string, i32>>();

export function resetLeastConn(): void { states.clear(); }

export function stateFor(cluster: string, priority: i32): Map<string, i32> {
  const key = cluster + "#" + priority.toString();
  if (states.has(key)) return states.get(key);
  const m = new Map<string, i32>();
  states.set(key, m);
  return m;
}

export function inFlight(cluster: string, priority: i32, address: string): i32 {
  const m = stateFor(cluster, priority);
  return m.has(address) ? m.get(address) : 0;
}

// a better than b: (1+ca)/wa < (1+cb)/wb, exactly, in integers.
// @ts-ignore: decorator
@inline
function better(ca: i64, wa: i64, cb: i64, wb: i64): bool {
  if (wa == 0) return false;
  if (wb == 0) return true;
  return (1 + ca) * wb < (1 + cb) * wa;
}

export class LeastConn extends Picker {
  conns: Map<string, i32>;

  constructor(public nodes: Array<Node>, cluster: string, priority: i32) {
    super();
    // An upstream without a cluster name has no stable identity: private state.
    this.conns = cluster.length ? stateFor(cluster, priority) : new Map<string, i32>();
  }

  count(n: Node): i32 { return this.conns.has(n.address) ? this.conns.get(n.address) : 0; }

  get(ctx: BalanceCtx): Node | null {
    const nodes = this.nodes;
    let best: Node | null = null;
    let bc: i64 = 0, bw: i64 = 0;
    for (let i = 0; i < nodes.length; i++) {
      const n = unchecked(nodes[i]);
      if (ctx.tried.length > 0 && ctx.isTried(n)) continue;
      const c = <i64>this.count(n);
      if (best === null || better(c, n.weight, bc, bw)) { best = n; bc = c; bw = n.weight; }
    }
    if (best === null) { ctx.error = "all upstream servers tried"; return null; }
    if (!ctx.planning) this.conns.set(best.address, <i32>bc + 1);
    return best;
  }

  afterBalance(ctx: BalanceCtx, beforeRetry: bool): void {
    const s = ctx.server;
    if (s !== null && !ctx.planning) {
      const c = this.count(s) - 1;
      if (c < 0) balancerLog(LOG_ERROR, "released a connection never picked on " + s.address);
      if (c > 0) this.conns.set(s.address, c);
      else if (this.conns.has(s.address)) this.conns.delete(s.address);
      // The release ends the request's hold on the node: a second release
      // (a retry path and the log phase both calling) finds nothing.
      ctx.server = null;
    }
    if (!beforeRetry) { ctx.clearTried(); return; }
    if (s !== null) ctx.markTried(s);
  }

  beforeRetryNextPriority(ctx: BalanceCtx): void {
    ctx.clearTried();
  }
}

export class LeastConnFactory extends PickerFactory {
  create(nodes: Array<Node>, upstream: Upstream, priority: i32): Picker {
    return new LeastConn(nodes, upstream.cluster, priority);
  }
}
