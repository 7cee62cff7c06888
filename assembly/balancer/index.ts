// pick_server (apisix/balancer.lua): the single-node fast path, health
// filtering, priority levels and the pick loop, over pickers cached per
// upstream so their state (round-robin position, in-flight counts) survives
// requests and unchanged config reloads.

import { Node, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { PriorityPicker } from "./priority";
import { RoundRobinFactory } from "./roundrobin";
import { Health } from "./health";
import { log, LogLevelValues } from "@solo-io/proxy-runtime/assembly";

const roundrobin = new RoundRobinFactory();
const factories = new Map<string, PickerFactory>();

// Balancer modules register themselves by APISIX type name.
export function registerBalancer(type: string, factory: PickerFactory): void {
  factories.set(type, factory);
}

function factoryFor(type: string): PickerFactory {
  return factories.has(type) ? factories.get(type) : roundrobin;
}

class CachedPicker {
  constructor(public fingerprint: string, public healthVersion: u32, public picker: Picker) {}
}

// Keyed by cluster name; the fingerprint and health version decide reuse.
const cache = new Map<string, CachedPicker>();

export function resetBalancers(): void { cache.clear(); }

function buildPicker(up: Upstream, health: Health): Picker {
  let nodes = up.nodes;
  // chash keeps unhealthy nodes on the ring so healthy keys never move; the
  // pick loop skips them instead.
  if (up.type != "chash") {
    const healthy = new Array<Node>();
    for (let i = 0; i < nodes.length; i++) if (health.isHealthy(up, nodes[i])) healthy.push(nodes[i]);
    if (healthy.length == 0) log(LogLevelValues.warn, "all upstream nodes is unhealthy, use default");
    else nodes = healthy;
  }
  const factory = factoryFor(up.type);
  let multi = false;
  for (let i = 1; i < nodes.length; i++) if (nodes[i].priority != nodes[0].priority) { multi = true; break; }
  if (multi) return new PriorityPicker(nodes, up, factory);
  return factory.create(nodes, up);
}

export function pickerFor(up: Upstream, health: Health): Picker {
  const hv = up.type == "chash" ? 0 : health.version(up);
  if (cache.has(up.cluster)) {
    const c = cache.get(up.cluster);
    if (c.fingerprint == up.fingerprint && c.healthVersion == hv) return c.picker;
  }
  const p = buildPicker(up, health);
  cache.set(up.cluster, new CachedPicker(up.fingerprint, hv, p));
  return p;
}

// Returns the node to proxy to, or null with ctx.error set (the caller logs
// "failed to pick server: <error>" and answers 502).
export function pickServer(up: Upstream, ctx: BalanceCtx, health: Health): Node | null {
  const nodes = up.nodes;
  if (nodes.length == 1 && up.type != "least_conn") {
    ctx.server = nodes[0];
    return nodes[0];
  }
  const picker = pickerFor(up, health);
  for (let i = 0; i < nodes.length; i++) {
    const server = picker.get(ctx);
    if (server === null) {
      ctx.error = "failed to find valid upstream server, " + (ctx.error.length ? ctx.error : "no valid upstream node");
      return null;
    }
    if (up.type == "chash" && !health.isHealthy(up, server)) {
      ctx.server = server;
      ctx.markTried(server);
      continue;
    }
    ctx.server = server;
    return server;
  }
  ctx.error = "failed to find valid upstream server, all upstream servers tried";
  return null;
}

// Releases the pick of a finished try (log phase: beforeRetry = false).
export function afterBalance(up: Upstream, ctx: BalanceCtx, health: Health, beforeRetry: bool): void {
  if (up.nodes.length == 1 && up.type != "least_conn") return;
  const key = up.cluster;
  if (!cache.has(key)) return;
  cache.get(key).picker.afterBalance(ctx, beforeRetry);
}
