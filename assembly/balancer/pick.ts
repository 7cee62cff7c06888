// pick_server (apisix/balancer.lua): the single-node fast path, health
// filtering, priority levels and the pick loop, over pickers cached per
// upstream so their state (round-robin position, in-flight counts) survives
// requests and unchanged config reloads. Also the retry plan (RETRIES.md)
// and the log phase (passive health, ewma feedback, release) from the
// Outcome that steer.ts reads back from Envoy.

import { Node, PickerSlot, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { PriorityPicker } from "./priority";
import { RoundRobinFactory } from "./roundrobin";
import { Health, Report } from "./health";
import { Outcome, outcomeKind } from "./steer";
import { LOG_WARN, balancerLog } from "./hooks";
import { NameSet } from "../nameset";

const roundrobin = new RoundRobinFactory();
const factories = new Map<string, PickerFactory>();

// Balancer modules register themselves by APISIX type name.
export function registerBalancer(type: string, factory: PickerFactory): void {
  factories.set(type, factory);
}

function factoryFor(type: string): PickerFactory {
  return factories.has(type) ? factories.get(type) : roundrobin;
}

class CachedPicker extends PickerSlot {
  // chash only: every node is unhealthy (then none is skipped).
  allUnhealthy: bool = false;
  // When it was last found current for the Upstream that holds it:
  // cacheGeneration, the Health and its change count then.
  generation: u32 = 0;
  health: Health | null = null;
  healthChanges: u32 = 0;
  constructor(public fingerprint: string, public healthVersion: u32, public picker: Picker) { super(); }
}

// Keyed by cluster name; the fingerprint and health version decide reuse.
const cache = new Map<string, CachedPicker>();
// Moves when entries are dropped, so that none stays reachable from an
// Upstream object.
let cacheGeneration: u32 = 0;

export function resetBalancers(): void { cache.clear(); cacheGeneration++; }

// Drops the pickers of clusters that left the configuration. Without this a
// config that renames its upstreams on every update (route ids, traffic-split
// rules) grows the VM until it traps. In-flight requests keep their own
// picker reference, so nothing they hold is freed under them.
export function pruneBalancers(live: NameSet): void {
  const keys = cache.keys();
  for (let i = 0; i < keys.length; i++) if (!live.has(keys[i])) cache.delete(keys[i]);
  cacheGeneration++;
}

// One entry per address within a priority level: APISIX turns the nodes into
// a {"host:port" = weight} map per level, so a repeated address keeps the
// last weight.
function dedupe(nodes: Array<Node>): Array<Node> {
  let dup = false;
  const seen = new Map<string, i32>();
  for (let i = 0; i < nodes.length; i++) {
    const k = nodes[i].address + "#" + nodes[i].priority.toString();
    if (seen.has(k)) { dup = true; break; }
    seen.set(k, i);
  }
  if (!dup) return nodes;
  const out = new Array<Node>();
  const at = new Map<string, i32>();
  for (let i = 0; i < nodes.length; i++) {
    const k = nodes[i].address + "#" + nodes[i].priority.toString();
    if (at.has(k)) out[at.get(k)] = nodes[i];
    else { at.set(k, out.length); out.push(nodes[i]); }
  }
  return out;
}

function allUnhealthy(up: Upstream, health: Health): bool {
  for (let i = 0; i < up.nodes.length; i++) if (health.isHealthy(up, up.nodes[i])) return false;
  return true;
}

function buildPicker(up: Upstream, health: Health): Picker {
  let nodes = up.nodes;
  // chash keeps unhealthy nodes on the ring so healthy keys never move; the
  // pick loop skips them instead.
  if (up.type != "chash") {
    const healthy = new Array<Node>();
    for (let i = 0; i < nodes.length; i++) if (health.isHealthy(up, nodes[i])) healthy.push(nodes[i]);
    if (healthy.length == 0) balancerLog(LOG_WARN, "all upstream nodes is unhealthy, use default");
    else nodes = healthy;
  }
  nodes = dedupe(nodes);
  const factory = factoryFor(up.type);
  let multi = false;
  for (let i = 1; i < nodes.length; i++) if (nodes[i].priority != nodes[0].priority) { multi = true; break; }
  if (multi) return new PriorityPicker(nodes, up, factory);
  return factory.create(nodes, up, nodes.length ? nodes[0].priority : 0);
}

// The cached picker of this upstream, rebuilt when its config changed or,
// except for chash (whose ring does not depend on health), when node health
// changed. chash only re-checks whether every node is down.
function cachedFor(up: Upstream, health: Health): CachedPicker {
  const slot = up.pickerSlot;
  if (slot !== null) {
    const held = <CachedPicker>slot;
    if (held.generation == cacheGeneration && held.health === health && held.healthChanges == health.changes) return held;
  }
  const c = lookupPicker(up, health);
  c.generation = cacheGeneration;
  c.health = health;
  c.healthChanges = health.changes;
  up.pickerSlot = c;
  return c;
}

function lookupPicker(up: Upstream, health: Health): CachedPicker {
  const hv = health.version(up);
  let c: CachedPicker | null = cache.has(up.cluster) ? cache.get(up.cluster) : null;
  if (c !== null && c.fingerprint == up.fingerprint && c.healthVersion == hv) return c;
  if (c === null || c.fingerprint != up.fingerprint || up.type != "chash") {
    c = new CachedPicker(up.fingerprint, hv, buildPicker(up, health));
    cache.set(up.cluster, c);
  }
  c.healthVersion = hv;
  if (up.type == "chash") {
    c.allUnhealthy = allUnhealthy(up, health);
    if (c.allUnhealthy) balancerLog(LOG_WARN, "all upstream nodes is unhealthy, use default");
  }
  return c;
}

// The pick loop of pick_server (after the fast path and picker lookup).
function pickLoop(up: Upstream, ctx: BalanceCtx, health: Health, picker: Picker, skipUnhealthy: bool): Node | null {
  const n = up.nodes.length;
  for (let i = 0; i < n; i++) {
    ctx.error = "";
    const server = picker.get(ctx);
    if (server === null) {
      ctx.error = "failed to find valid upstream server, " + (ctx.error.length ? ctx.error : "no valid upstream node");
      return null;
    }
    if (skipUnhealthy && !health.isHealthy(up, server)) {
      ctx.server = server;
      picker.afterBalance(ctx, true);
      continue;
    }
    ctx.server = server;
    return server;
  }
  ctx.error = "failed to find valid upstream server, all upstream servers tried";
  return null;
}

// Returns the node to proxy to, or null with ctx.error set (the caller logs
// "failed to pick server: <error>" and answers 502).
export function pickServer(up: Upstream, ctx: BalanceCtx, health: Health): Node | null {
  const nodes = up.nodes;
  if (nodes.length == 1 && up.type != "least_conn") {
    ctx.server = nodes[0];
    return nodes[0];
  }
  if (nodes.length == 0) {
    ctx.error = "failed to find valid upstream server, no valid upstream node";
    return null;
  }
  health.tick(up, ctx.now);
  const c = cachedFor(up, health);
  ctx.picker = c.picker;
  return pickLoop(up, ctx, health, c.picker, up.type == "chash" && !c.allUnhealthy);
}

// APISIX's retries: upstream.retries, absent → #nodes - 1.
export function retriesOf(up: Upstream): i32 {
  return up.retries < 0 ? up.nodes.length - 1 : up.retries;
}

// Longest try list the filter hands to Envoy (first pick + retries).
export const MAX_TRIES: i32 = 32;

// The ordered list [first pick, retry 1, ..., retry N] APISIX would walk if
// every try failed: after each try the picker releases it (after_balance
// with before_retry) and picks again, skipping tried nodes. Computed right
// after pickServer, without touching state that only real tries change
// (round-robin position, least_conn counts), and stopping where APISIX's
// next retry would fail with "all upstream servers tried". See RETRIES.md.
//
// `envoyFollowsPlan` is false when Envoy's clusters are ORIGINAL_DST (the
// control plane's default lb_mode): a retry there can only return to the
// first pick, so only the single-node case (where APISIX retries the same
// node too) gets retries; a multi-node upstream gets none rather than N tries
// of one possibly dead node.
export function planTries(up: Upstream, ctx: BalanceCtx, health: Health, envoyFollowsPlan: bool = true): Array<Node> {
  const list = ctx.planBuffer();
  const first = ctx.server;
  ctx.plan = list;
  if (first === null) return list;
  list.push(first);
  let retries = retriesOf(up);
  if (retries > MAX_TRIES - 1) retries = MAX_TRIES - 1;
  if (retries <= 0) return list;
  const n = up.nodes.length;
  const picker = ctx.picker;
  if (picker === null) {
    // Single-node fast path: every retry lands on the same node.
    for (let i = 0; i < retries; i++) list.push(first);
    return list;
  }
  if (!envoyFollowsPlan) return list;
  const savedIdx = ctx.priorityIdx, savedChash = ctx.chashIdx, savedCount = ctx.triedCount;
  ctx.saveTried();
  ctx.planning = true;
  picker.beginPlan();
  // pickServer reached the picker through cachedFor, which left its entry
  // on the Upstream: no second lookup by cluster name.
  const held = up.pickerSlot;
  const skip = up.type == "chash" && held !== null && !(<CachedPicker>held).allUnhealthy;
  for (let i = 0; i < retries; i++) {
    // Marked tried only when another node exists (balancer.lua).
    picker.afterBalance(ctx, n > 1);
    const next = pickLoop(up, ctx, health, picker, skip);
    if (next === null) break;
    list.push(next);
  }
  picker.endPlan();
  ctx.planning = false;
  ctx.server = first;
  ctx.priorityIdx = savedIdx;
  ctx.chashIdx = savedChash;
  ctx.restoreTried(savedCount);
  ctx.error = "";
  ctx.plan = list;
  return list;
}

// The log phase: passive health reports, then after_balance(ctx, false)
// (least_conn releases, ewma learns the latency). ctx.plan is the try list
// the request was sent with.
export function finishRequest(up: Upstream, ctx: BalanceCtx, health: Health, o: Outcome): void {
  const plan = ctx.plan;
  ctx.now = o.now;
  let attempts = o.attempts;
  if (attempts < 1) attempts = 1;
  // Which node answered the last try: Envoy's upstream.address, else the
  // plan's entry for that attempt.
  let last = o.upstreamAddr;
  const planAt = attempts <= plan.length ? attempts - 1 : plan.length - 1;
  if (last.length == 0 && planAt >= 0) last = plan[planAt].address;
  if (up.passive !== null) {
    // Failed earlier tries (Envoy only retries on connection-level
    // failures): APISIX reports them before each retry. With the override
    // host list the tries followed the plan; with ORIGINAL_DST alone all of
    // them went to the first pick.
    const followsPlan = planAt >= 0 && plan[planAt].address == last;
    for (let a = 0; a < attempts - 1 && a < MAX_TRIES; a++) {
      const addr = followsPlan && a < plan.length ? plan[a].address : last;
      health.report(up, addr, Report.TcpFailure, 0, o.now);
    }
  }
  const kind = outcomeKind(o);
  if (up.passive !== null && kind >= 0 && last.length) health.report(up, last, <Report>kind, o.code, o.now);
  // ewma learns only from tries that reached (or failed at) a node.
  ctx.upstreamAddr = o.upstreamAddr.length ? o.upstreamAddr : kind >= 0 ? last : "";
  ctx.rtt = o.duration >= 0 ? o.duration : 0;
  const picker = ctx.picker;
  if (picker !== null) picker.afterBalance(ctx, false);
}

// Releases the pick of a finished try without an outcome (a request that
// ends before it reaches Envoy's router).
export function afterBalance(up: Upstream, ctx: BalanceCtx, health: Health, beforeRetry: bool): void {
  const picker = ctx.picker;
  if (picker !== null) picker.afterBalance(ctx, beforeRetry);
}
