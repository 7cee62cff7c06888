// The shape every balancer shares, after APISIX's apisix/balancer/*.lua: a
// picker is built from one priority level's nodes and the upstream, then
// `get(ctx)` picks a node and `afterBalance(ctx, beforeRetry)` releases it
// (marking it tried when a retry follows).

import { Node, Upstream } from "../config/model";
import { Request } from "../request";

const NO_PLAN = new Array<Node>(0);
const NO_MARKS = new Uint8Array(0);

// Per-request balancer state (APISIX keeps it in api_ctx).
export class BalanceCtx {
  // The node of the current try (api_ctx.balancer_server).
  server: Node | null = null;
  // Node indices tried so far (balancer_tried_servers); cleared when the
  // priority picker moves to the next level.
  tried: Array<i32> = new Array<i32>();
  // balancer_tried_servers_count: bumped on every markTried (even for a node
  // already in the set), reset only when moving to the next priority level.
  triedCount: i32 = 0;
  // Index of the priority level in use (priority_balancer_picker_idx).
  priorityIdx: i32 = 0;
  // chash: ring position of the last pick, for walking on retries.
  chashIdx: i32 = -1;
  // Why get() returned null.
  error: string = "";
  // Consumer name for chash hash_on=consumer (no auth plugins here: empty).
  consumer: string = "";
  // Current time in seconds (ewma decays scores to it; passive health
  // revival compares with it). Set by the caller.
  now: f64 = 0;
  // Set while the retry plan is computed (see pick.ts planTries): pickers
  // must not change shared state that only a real try would change
  // (least_conn's in-flight counts).
  planning: bool = false;
  // The picker of this request's tries (APISIX: ctx.server_picker), so the
  // log phase releases on the picker that counted the pick.
  picker: Picker | null = null;
  // Log phase inputs for ewma: the upstream that answered the last try
  // ("ip:port", $upstream_addr) and its latency in seconds.
  upstreamAddr: string = "";
  rtt: f64 = 0;
  // The try list sent to Envoy: [first pick, retry 1, ...] (planTries,
  // which replaces the shared empty placeholder; it is never pushed to).
  plan: Array<Node> = NO_PLAN;
  // When the request was picked (ns), for measuring latency when Envoy does
  // not give the request duration.
  startNs: u64 = 0;
  constructor(public req: Request | null) {}

  // A stream's filter keeps one BalanceCtx for every request it serves
  // (streams.ts recycles filters): back to the state of a new one.
  reset(req: Request | null): void {
    this.req = req;
    this.server = null;
    this.clearTried();
    this.triedCount = 0;
    this.priorityIdx = 0;
    this.chashIdx = -1;
    this.error = "";
    this.consumer = "";
    this.now = 0;
    this.planning = false;
    this.picker = null;
    this.upstreamAddr = "";
    this.rtt = 0;
    this.plan = NO_PLAN;
    const b = this.planBuf;
    if (b !== null) b.length = 0;
    this.startNs = 0;
  }

  // The array planTries fills, reused by the next request of a recycled ctx.
  private planBuf: Array<Node> | null = null;
  planBuffer(): Array<Node> {
    const b = this.planBuf;
    if (b !== null) { b.length = 0; return b; }
    const n = new Array<Node>();
    this.planBuf = n;
    return n;
  }

  // One byte per node index: O(1) isTried for the pickers' scans. Starts
  // as a shared empty array (never written: any mark grows a new one).
  private marks: Uint8Array = NO_MARKS;

  isTried(n: Node): bool {
    const i = n.index;
    return i >= 0 && i < this.marks.length && unchecked(this.marks[i]) != 0;
  }
  markTried(n: Node): void {
    const i = n.index;
    if (i >= 0 && !this.isTried(n)) {
      if (i >= this.marks.length) {
        const grown = new Uint8Array(i + 16 > this.marks.length * 2 ? i + 16 : this.marks.length * 2);
        grown.set(this.marks);
        this.marks = grown;
      }
      this.marks[i] = 1;
      this.tried.push(i);
    }
    this.triedCount++;
  }
  // after_balance(ctx, false): the tried table goes, the count stays.
  clearTried(): void {
    for (let k = 0; k < this.tried.length; k++) {
      const i = unchecked(this.tried[k]);
      if (i < this.marks.length) this.marks[i] = 0;
    }
    if (this.tried.length) this.tried.length = 0;
  }
  // before_retry_next_priority.
  resetTried(): void { this.clearTried(); this.triedCount = 0; }
  // The tried set while a retry plan is computed (saveTried/restoreTried),
  // reused by every request of a recycled ctx.
  private savedTried: Array<i32> = new Array<i32>();
  saveTried(): void {
    const saved = this.savedTried;
    saved.length = 0;
    for (let k = 0; k < this.tried.length; k++) saved.push(unchecked(this.tried[k]));
  }
  // Puts back the tried set saveTried kept, with its count.
  restoreTried(count: i32): void {
    this.clearTried();
    const saved = this.savedTried;
    for (let k = 0; k < saved.length; k++) {
      const i = saved[k];
      if (i >= this.marks.length) {
        const grown = new Uint8Array(i + 16);
        grown.set(this.marks);
        this.marks = grown;
      }
      this.marks[i] = 1;
      this.tried.push(i);
    }
    this.triedCount = count;
  }
}

export abstract class Picker {
  abstract get(ctx: BalanceCtx): Node | null;

  afterBalance(ctx: BalanceCtx, beforeRetry: bool): void {
    const s = ctx.server;
    if (!beforeRetry) { ctx.clearTried(); return; }
    if (s !== null) ctx.markTried(s);
  }

  beforeRetryNextPriority(ctx: BalanceCtx): void {
    ctx.resetTried();
  }

  // Bracket the computation of a retry plan: a picker whose get() moves
  // shared state (round robin's position) saves it in beginPlan and puts it
  // back in endPlan, so planning retries that may never happen does not
  // change what the next request gets.
  beginPlan(): void {}
  endPlan(): void {}
}

export abstract class PickerFactory {
  // `cluster` and `priority` identify state that outlives one picker
  // (least_conn's connection counts).
  abstract create(nodes: Array<Node>, upstream: Upstream, priority: i32): Picker;
}
