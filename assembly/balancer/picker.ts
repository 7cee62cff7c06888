// The shape every balancer shares, after APISIX's apisix/balancer/*.lua: a
// picker is built from one priority level's nodes and the upstream, then
// `get(ctx)` picks a node and `afterBalance(ctx, beforeRetry)` releases it
// (marking it tried when a retry follows).

import { Node, Upstream } from "../config/model";
import { Request } from "../request";

// Per-request balancer state (APISIX keeps it in api_ctx).
export class BalanceCtx {
  // The node of the current try (api_ctx.balancer_server).
  server: Node | null = null;
  // Node indices tried so far (balancer_tried_servers); cleared when the
  // priority picker moves to the next level.
  tried: Array<i32> = new Array<i32>();
  // Index of the priority level in use (priority_balancer_picker_idx).
  priorityIdx: i32 = 0;
  // chash: ring position of the last pick, for walking on retries.
  chashIdx: i32 = -1;
  // Why get() returned null.
  error: string = "";
  // Consumer name for chash hash_on=consumer (no auth plugins here: empty).
  consumer: string = "";
  constructor(public req: Request | null) {}

  isTried(n: Node): bool { return this.tried.includes(n.index); }
  markTried(n: Node): void { if (!this.tried.includes(n.index)) this.tried.push(n.index); }
  clearTried(): void { this.tried.length = 0; }
}

export abstract class Picker {
  abstract get(ctx: BalanceCtx): Node | null;

  afterBalance(ctx: BalanceCtx, beforeRetry: bool): void {
    const s = ctx.server;
    if (!beforeRetry) { ctx.clearTried(); return; }
    if (s !== null) ctx.markTried(s);
  }

  beforeRetryNextPriority(ctx: BalanceCtx): void {
    ctx.clearTried();
  }
}

export abstract class PickerFactory {
  abstract create(nodes: Array<Node>, upstream: Upstream): Picker;
}
