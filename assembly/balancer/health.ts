// Node health as the balancer sees it. Two sources:
//  - active: nodes the control plane's active checks found down (the
//    config's `health` section, applied by setActive);
//  - passive: what this filter saw of real responses (`checks.passive`),
//    counted per node the way lua-resty-healthcheck does.
// A node is healthy when neither source has it down.
//
// Passive counting (lua-resty-healthcheck incr_counter): four counters per
// node (success, http failure, tcp failure, timeout). A success clears the
// failure counters, a failure clears the success counter; a counter reaching
// its limit moves the node to healthy / unhealthy; a limit of 0 disables
// that counter; reports agreeing with a settled state are not counted.
// "mostly_healthy" (healthy with some failures) balances as healthy,
// "mostly_unhealthy" as unhealthy.
//
// Revival: lua-resty-healthcheck brings a passively failed node back only
// through successes, which in APISIX come from its active probes (APISIX
// requires `checks.active` whenever `checks` is set). Here the active probes
// run in the control plane, which reports only the nodes it finds down. So a
// passively failed node that the control plane does not report down is
// taken back after the time lua-resty-healthcheck's prober would need to
// see it healthy: active.unhealthy.interval × active.healthy.successes
// seconds (defaults 1 × 2). Real traffic that still reaches it (the
// all-unhealthy fallback) revives it sooner after `passive.healthy.successes`
// healthy statuses. A config change of the upstream (new fingerprint)
// starts from a fresh checker, as APISIX's checker is rebuilt per version.

import { Node, Upstream } from "../config/model";
import { PassiveChecks } from "../config/checks";
import { JsonValue } from "../json";
import { f64Text } from "../f64text";
import { LOG_WARN, balancerLog } from "./hooks";
import { NameSet } from "../nameset";

export const enum Report { HttpStatus, TcpFailure, Timeout }

const HEALTHY: i32 = 0;
const MOSTLY_HEALTHY: i32 = 1;
const MOSTLY_UNHEALTHY: i32 = 2;
const UNHEALTHY: i32 = 3;

function isUp(state: i32): bool { return state == HEALTHY || state == MOSTLY_HEALTHY; }

class NodeHealth {
  state: i32 = HEALTHY;
  success: i32 = 0;
  http: i32 = 0;
  tcp: i32 = 0;
  timeout: i32 = 0;
  downSince: f64 = 0;
}

class PassiveState {
  nodes: Map<string, NodeHealth> = new Map<string, NodeHealth>();
  down: i32 = 0;
  constructor(public fingerprint: string, public reviveAfter: f64) {}
}

function intAt(v: JsonValue | null, a: string, b: string, c: string, def: f64): f64 {
  if (v === null) return def;
  const x = v.get(a);
  if (x === null) return def;
  const y = x.get(b);
  if (y === null) return def;
  const z = y.get(c);
  if (z === null || !z.isNumber()) return def;
  return z.num;
}

// Seconds lua-resty-healthcheck's active prober needs to turn an unhealthy
// node healthy: unhealthy targets are probed every active.unhealthy.interval
// and need active.healthy.successes good answers.
export function reviveDelay(up: Upstream): f64 {
  const c = up.checks;
  const interval = intAt(c, "active", "unhealthy", "interval", 1);
  const successes = intAt(c, "active", "healthy", "successes", 2);
  const d = interval * successes;
  return d > 0 && isFinite(d) ? d : 2;
}

export class Health {
  // cluster → unhealthy "ip:port"
  active: Map<string, NameSet> = new Map<string, NameSet>();
  private versions: Map<string, u32> = new Map<string, u32>();
  // cluster → passive counters
  private passive: Map<string, PassiveState> = new Map<string, PassiveState>();

  isHealthy(up: Upstream, n: Node): bool {
    if (this.active.has(up.cluster) && this.active.get(up.cluster).has(n.address)) return false;
    if (this.passive.has(up.cluster)) {
      const ps = this.passive.get(up.cluster);
      if (ps.down > 0 && ps.fingerprint == up.fingerprint && ps.nodes.has(n.address)) {
        return isUp(ps.nodes.get(n.address).state);
      }
    }
    return true;
  }

  // Bumped whenever a node of this upstream changes state, so cached
  // pickers built on the healthy set are rebuilt.
  version(up: Upstream): u32 {
    return this.versions.has(up.cluster) ? this.versions.get(up.cluster) : 0;
  }

  // Applies the `health` section of a new configuration, bumping the version
  // of every cluster whose set of down nodes changed.
  setActive(next: Map<string, NameSet>): void {
    const old = this.active.keys();
    for (let i = 0; i < old.length; i++) {
      const k = old[i];
      if (!next.has(k) || !sameSet(this.active.get(k), next.get(k))) this.bumpCluster(k);
    }
    const keys = next.keys();
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (!this.active.has(k)) this.bumpCluster(k);
    }
    this.active = next;
  }

  // Forgets passive counters and versions of clusters that left the config
  // (versions of the active set are kept with it, so a cluster that comes
  // back still sees its version move on).
  prune(live: NameSet): void {
    const p = this.passive.keys();
    for (let i = 0; i < p.length; i++) if (!live.has(p[i])) this.passive.delete(p[i]);
    const v = this.versions.keys();
    for (let i = 0; i < v.length; i++) if (!live.has(v[i]) && !this.active.has(v[i])) this.versions.delete(v[i]);
    this.changes++;
  }

  // Moves whenever any cluster's version moves (or versions are dropped):
  // a picker cached on an Upstream object is current while this has not
  // moved, without hashing the cluster name per request (pick.ts cachedFor).
  changes: u32 = 0;

  private bumpCluster(cluster: string): void {
    this.versions.set(cluster, (this.versions.has(cluster) ? this.versions.get(cluster) : 0) + 1);
    this.changes++;
  }

  bump(up: Upstream): void {
    this.versions.set(up.cluster, this.version(up) + 1);
    this.changes++;
  }

  private stateFor(up: Upstream): PassiveState {
    if (this.passive.has(up.cluster)) {
      const ps = this.passive.get(up.cluster);
      if (ps.fingerprint == up.fingerprint) return ps;
      if (ps.down > 0) this.bump(up);
    }
    const ps = new PassiveState(up.fingerprint, reviveDelay(up));
    this.passive.set(up.cluster, ps);
    return ps;
  }

  // Called before picking: drops passive state of an older config of this
  // upstream and revives nodes whose probe time has passed.
  tick(up: Upstream, now: f64): void {
    // Without passive checks nothing of this config version is counted (a
    // state left by an older version is ignored: its fingerprint differs).
    if (up.passive === null || !this.passive.has(up.cluster)) return;
    const ps = this.stateFor(up);
    if (ps.down == 0) return;
    const keys = ps.nodes.keys();
    for (let i = 0; i < keys.length; i++) {
      const nh = ps.nodes.get(keys[i]);
      if (isUp(nh.state) || now - nh.downSince < ps.reviveAfter) continue;
      // The control plane's prober has had its chance: a node it reports
      // down stays down (active wins anyway), the others come back.
      nh.state = HEALTHY;
      nh.success = 0; nh.http = 0; nh.tcp = 0; nh.timeout = 0;
      ps.down--;
      this.bump(up);
      balancerLog(LOG_WARN, "passive health check: " + keys[i] + " of " + up.cluster + " is healthy again (revived after " + f64Text(ps.reviveAfter) + "s, the active checker's probe time)");
    }
  }

  // Passive report for the node at `address` (healthcheck_passive plus the
  // failures APISIX reports before a retry).
  report(up: Upstream, address: string, kind: Report, status: i32, now: f64): void {
    const pc = up.passive;
    if (pc === null) return;
    let known = false;
    for (let i = 0; i < up.nodes.length; i++) if (up.nodes[i].address == address) { known = true; break; }
    if (!known) return;
    const ps = this.stateFor(up);
    let nh: NodeHealth;
    if (ps.nodes.has(address)) nh = ps.nodes.get(address);
    else { nh = new NodeHealth(); ps.nodes.set(address, nh); }

    let healthy = false;
    let limit = 0;
    let which = 0; // 0 success, 1 http, 2 tcp, 3 timeout
    if (kind == Report.HttpStatus) {
      if (pc.healthyStatuses.includes(status)) { healthy = true; limit = pc.healthySuccesses; which = 0; }
      else if (pc.unhealthyStatuses.includes(status) || status == 0) { limit = pc.httpFailures; which = 1; }
      else return;
    } else if (kind == Report.TcpFailure) { limit = pc.tcpFailures; which = 2; }
    else { limit = pc.timeouts; which = 3; }
    if (limit == 0) return;
    // Fully healthy nodes do not count successes; fully unhealthy ones do
    // not count failures.
    if (healthy && nh.state == HEALTHY) return;
    if (!healthy && nh.state == UNHEALTHY) return;

    let ctr = 0;
    if (which == 0) { ctr = ++nh.success; nh.http = 0; nh.tcp = 0; nh.timeout = 0; }
    else {
      nh.success = 0;
      if (which == 1) ctr = ++nh.http;
      else if (which == 2) ctr = ++nh.tcp;
      else ctr = ++nh.timeout;
    }
    const wasUp = isUp(nh.state);
    let next = nh.state;
    if (ctr >= limit) next = healthy ? HEALTHY : UNHEALTHY;
    else if (nh.state == HEALTHY && !healthy) next = MOSTLY_HEALTHY;
    else if (nh.state == UNHEALTHY && healthy) next = MOSTLY_UNHEALTHY;
    if (next == nh.state) return;
    nh.state = next;
    const nowUp = isUp(next);
    if (wasUp == nowUp) return;
    if (nowUp) { ps.down--; }
    else { ps.down++; nh.downSince = now; }
    this.bump(up);
    const what = which == 0 ? "successes" : which == 1 ? "http_failures" : which == 2 ? "tcp_failures" : "timeouts";
    balancerLog(LOG_WARN, "passive health check: " + address + " of " + up.cluster + " is " + (nowUp ? "healthy" : "unhealthy") +
      " (" + what + " " + ctr.toString() + "/" + limit.toString() + ")");
  }

  // Counters of a node, for tests: [state, success, http, tcp, timeout].
  passiveCounters(up: Upstream, address: string): Array<i32> {
    if (!this.passive.has(up.cluster)) return [HEALTHY, 0, 0, 0, 0];
    const ps = this.passive.get(up.cluster);
    if (!ps.nodes.has(address)) return [HEALTHY, 0, 0, 0, 0];
    const nh = ps.nodes.get(address);
    return [nh.state, nh.success, nh.http, nh.tcp, nh.timeout];
  }
}

function sameSet(a: NameSet, b: NameSet): bool {
  if (a.size != b.size) return false;
  const v = a.keys();
  for (let i = 0; i < v.length; i++) if (!b.has(v[i])) return false;
  return true;
}

// Keeps the import used when PassiveChecks is only a type here.
export type PassiveConfig = PassiveChecks;
