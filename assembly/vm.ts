// What one wasm VM keeps between requests and across configuration
// updates, in one place. Envoy gives each worker thread its own VM, so all
// of it is per worker, like an nginx worker's Lua state in APISIX.
//
// Here: node health (outlives config reloads, as APISIX's checkers do), the
// stats counters and whether any configuration was ever accepted. The
// balancers' own per-VM state stays in their modules, because the unit tests
// drive those modules without a VM: the picker cache (balancer/pick.ts),
// ewma's scores (ewma.ts) and least_conn's in-flight counts (least_conn.ts);
// reset() clears them with the rest. The configuration itself belongs to a
// root context (Envoy keeps the old one serving when a new one is rejected).

import { Health } from "./balancer/health";
import { resetBalancers } from "./balancer/pick";
import { resetEwma } from "./balancer/ewma";
import { resetLeastConn } from "./balancer/least_conn";
import { Metrics } from "./metrics";

export class VmState {
  health: Health = new Health();
  // Whether a configuration was ever accepted: "is something serving" is a
  // property of the VM, not of the root context being configured.
  accepted: bool = false;
  private stats: Metrics | null = null;

  // Created on first use, once the host can define metrics.
  get metrics(): Metrics {
    let m = this.stats;
    if (m === null) { m = new Metrics(); this.stats = m; }
    return m;
  }

  // Forgets everything the VM learnt: health, balancer state, acceptance.
  // Counters stay: Envoy owns the metrics once defined, and their ids stay valid.
  reset(): void {
    this.health = new Health();
    this.accepted = false;
    resetBalancers();
    resetEwma();
    resetLeastConn();
  }
}

export const vm = new VmState();
