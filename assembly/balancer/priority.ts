// Priority levels (apisix/balancer/priority.lua): nodes grouped by
// `priority`, levels tried from the highest down; a lower level is used only
// when the current one has no node left to give (all tried or unhealthy).

import { Node, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { LOG_INFO, balancerLog } from "./hooks";

export class PriorityPicker extends Picker {
  levels: Array<Picker> = new Array<Picker>();
  priorities: Array<i32> = new Array<i32>();

  constructor(nodes: Array<Node>, upstream: Upstream, factory: PickerFactory) {
    super();
    const prios = new Array<i32>();
    for (let i = 0; i < nodes.length; i++) if (!prios.includes(nodes[i].priority)) prios.push(nodes[i].priority);
    prios.sort((a: i32, b: i32): i32 => a > b ? -1 : a < b ? 1 : 0);
    for (let p = 0; p < prios.length; p++) {
      const level = new Array<Node>();
      for (let i = 0; i < nodes.length; i++) if (nodes[i].priority == prios[p]) level.push(nodes[i]);
      this.levels.push(factory.create(level, upstream, prios[p]));
      this.priorities.push(prios[p]);
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
