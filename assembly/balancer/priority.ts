// Priority levels (apisix/balancer/priority.lua): nodes grouped by
// `priority`, levels tried from the highest down; a lower level is used only
// when the current one has no node left to give (all tried or unhealthy).

import { Node, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { LOG_INFO, balancerLog } from "./hooks";
import { sortByKey } from "./keysort";

export class PriorityPicker extends Picker {
  levels: Array<Picker> = new Array<Picker>();
  priorities: Array<i32> = new Array<i32>();

  constructor(nodes: Array<Node>, upstream: Upstream, factory: PickerFactory) {
    super();
    // Levels from the highest priority down, each with its nodes in config
    // order: the key turns i32 descending into u32 ascending, and the sort is
    // stable.
    const n = nodes.length;
    const keys = new Uint32Array(n);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      unchecked(keys[i] = <u32>(nodes[i].priority ^ 0x7fffffff));
      unchecked(idx[i] = i);
    }
    sortByKey(keys, idx);
    for (let i = 0; i < n; ) {
      const p = nodes[unchecked(idx[i])].priority;
      const level = new Array<Node>();
      while (i < n && nodes[unchecked(idx[i])].priority == p) level.push(nodes[unchecked(idx[i++])]);
      this.levels.push(factory.create(level, upstream, p));
      this.priorities.push(p);
    }
  }

  get(ctx: BalanceCtx): Node | null {
    const start = ctx.priorityIdx < 0 ? 0 : ctx.priorityIdx;
    for (let i = start; i < this.levels.length; i++) {
      const picker = this.levels[i];
      ctx.error = "";
      const server = picker.get(ctx);
      if (server !== null) {
        ctx.priorityIdx = i;
        return server;
      }
      balancerLog(LOG_INFO, "failed to get server from current priority " + this.priorities[i].toString() +
        ", try next one, err: " + (ctx.error.length ? ctx.error : "nil"));
      picker.beforeRetryNextPriority(ctx);
    }
    ctx.error = "all servers tried";
    return null;
  }

  afterBalance(ctx: BalanceCtx, beforeRetry: bool): void {
    const i = ctx.priorityIdx;
    if (i >= 0 && i < this.levels.length) this.levels[i].afterBalance(ctx, beforeRetry);
  }

  beginPlan(): void { for (let i = 0; i < this.levels.length; i++) this.levels[i].beginPlan(); }
  endPlan(): void { for (let i = 0; i < this.levels.length; i++) this.levels[i].endPlan(); }
}
