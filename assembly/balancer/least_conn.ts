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

// In-flight count of one node address; shared by every picker generation.
export class Conns {
  n: i32 = 0;
}

// "cluster#priority" → address → in-flight count.
const states = new Map<string, Map<string, Conns>>();

export function resetLeastConn(): void { states.clear(); }

export function stateFor(cluster: string, priority: i32): Map<string, Conns> {
  const key = cluster + "#" + priority.toString();
  if (states.has(key)) return states.get(key);
  const m = new Map<string, Conns>();
  states.set(key, m);
  return m;
}

export function inFlight(cluster: string, priority: i32, address: string): i32 {
  const m = stateFor(cluster, priority);
  return m.has(address) ? m.get(address).n : 0;
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
  // The shared counter of each node, resolved once per picker.
  counters: Array<Conns>;

  constructor(public nodes: Array<Node>, cluster: string, priority: i32) {
    super();
    // An upstream without a cluster name has no stable identity: private state.
    const m = cluster.length ? stateFor(cluster, priority) : new Map<string, Conns>();
    // Forget addresses that left the level and hold nothing (sync_nodes).
    const keys = m.keys();
    for (let i = 0; i < keys.length; i++) {
      let present = false;
      for (let k = 0; k < nodes.length; k++) if (nodes[k].address == keys[i]) { present = true; break; }
      if (!present && m.get(keys[i]).n == 0) m.delete(keys[i]);
    }
    this.counters = new Array<Conns>(nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      const a = nodes[i].address;
      let c: Conns;
      if (m.has(a)) c = m.get(a);
      else { c = new Conns(); m.set(a, c); }
      this.counters[i] = c;
    }
  }

  private counterOf(n: Node): Conns | null {
    const nodes = this.nodes;
    for (let i = 0; i < nodes.length; i++) if (unchecked(nodes[i]) === n) return unchecked(this.counters[i]);
    for (let i = 0; i < nodes.length; i++) if (unchecked(nodes[i]).address == n.address) return unchecked(this.counters[i]);
    return null;
  }

  get(ctx: BalanceCtx): Node | null {
    const nodes = this.nodes;
    let best = -1;
    let bc: i64 = 0, bw: i64 = 0;
    const anyTried = ctx.tried.length > 0;
    for (let i = 0; i < nodes.length; i++) {
      const n = unchecked(nodes[i]);
      if (anyTried && ctx.isTried(n)) continue;
      const c = <i64>unchecked(this.counters[i]).n;
      if (best < 0 || better(c, n.weight, bc, bw)) { best = i; bc = c; bw = n.weight; }
    }
    if (best < 0) { ctx.error = "all upstream servers tried"; return null; }
    if (!ctx.planning) unchecked(this.counters[best]).n++;
    return unchecked(nodes[best]);
  }

  afterBalance(ctx: BalanceCtx, beforeRetry: bool): void {
    const s = ctx.server;
    if (s !== null && !ctx.planning) {
      const c = this.counterOf(s);
      if (c !== null) {
        if (c.n <= 0) { balancerLog(LOG_ERROR, "released a connection never picked on " + s.address); c.n = 0; }
        else c.n--;
      }
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
