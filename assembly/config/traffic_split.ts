// The traffic-split plugin (apisix/plugins/traffic-split.lua): the one plugin
// this filter runs, because it decides the upstream (APISIX's
// `handle_upstream` (apisix/init.lua), its `api_ctx.upstream_id` path).
//
//   plugins:
//     traffic-split:
//       rules:
//         - match: [{vars: [["http_x_canary", "==", "1"]]}]   # any entry may match
//           weighted_upstreams:
//             - {upstream_id: canary, weight: 1}
//             - {weight: 9}                                   # the route's own upstream
//
// Rules are tried in order and the first whose `match` holds (or that has no
// `match`) chooses among its weighted upstreams with APISIX's weighted round
// robin; an entry without upstream/upstream_id keeps the route's upstream.

import { JsonValue } from "../json";
import { Issues, indexed, checkKeys, describe, intMember, readId } from "./errors";
import { Node, Upstream } from "./model";
import { DnsAnswer, parseUpstream } from "./upstream";
import { listOf } from "./schema";
import { Expr, VarSource, compileVars, holds } from "../expr/vars";
import { RoundRobin } from "../balancer/roundrobin";

// A weighted upstream; it is also the node the rule's round robin picks
// (Node's weight and index), so a rule needs no second object per target.
export class SplitTarget extends Node {
  upstreamId: string = "";
  upstream: Upstream | null = null;
  // Neither upstream nor upstream_id: the route's own upstream.
  get useRoute(): bool { return this.upstreamId.length == 0 && this.upstream === null; }
}

export class SplitRule {
  // OR of the `match` entries; empty = always.
  matches: Array<Expr> = new Array<Expr>();
  targets: Array<SplitTarget> = new Array<SplitTarget>();
  // Weighted round robin over the targets.
  picker: RoundRobin | null = null;

  applies(src: VarSource): bool {
    if (this.matches.length == 0) return true;
    for (let i = 0; i < this.matches.length; i++) if (holds(this.matches[i], src)) return true;
    return false;
  }

  choose(): SplitTarget {
    const p = this.picker!;
    return this.targets[p.find().index];
  }
}

// The target for this request from a route's traffic-split rules (a plain
// list: a class around it would be one more case in the collector's
// member visitor), or null when no rule applies.
export function chooseSplit(rules: Array<SplitRule>, src: VarSource): SplitTarget | null {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.applies(src)) return r.choose();
  }
  return null;
}

export function parseTrafficSplit(v: JsonValue, path: string, dns: Map<string, DnsAnswer>,
                                  upstreams: Map<string, Upstream>, issues: Issues): Array<SplitRule> | null {
  if (!v.isObject()) { issues.error(path, "expected an object {rules: [...]}"); return null; }
  const before = issues.count;
  checkKeys(v, listOf("rules _meta"), path, issues);
  const ts = new Array<SplitRule>();
  const rules = v.get("rules");
  if (rules === null) return ts;
  if (!rules.isArray()) { issues.error(path + ".rules", "expected an array"); return null; }
  for (let ri = 0; ri < rules.length; ri++) {
    const rv = rules.at(ri);
    const rp = indexed(path + ".rules", ri);
    if (!rv.isObject()) { issues.error(rp, "expected an object {match, weighted_upstreams}"); continue; }
    checkKeys(rv, listOf("match weighted_upstreams"), rp, issues);
    const rule = new SplitRule();
    const match = rv.get("match");
    if (match !== null) {
      if (!match.isArray()) issues.error(rp + ".match", "expected an array of {vars: [...]}");
      else for (let mi = 0; mi < match.length; mi++) {
        const m = match.at(mi);
        const mp = indexed(rp + ".match", mi);
        if (!m.isObject()) { issues.error(mp, "expected an object {vars: [...]}"); continue; }
        checkKeys(m, listOf("vars"), mp, issues);
        const vars = m.get("vars");
        if (vars === null) continue;
        const e = compileVars(vars, mp + ".vars", issues);
        if (e !== null) rule.matches.push(e);
      }
    }
    const wus = rv.get("weighted_upstreams");
    if (wus === null || !wus.isArray() || wus.length < 1) {
      issues.error(rp + ".weighted_upstreams", "expected a non-empty array of {upstream_id | upstream, weight}");
      continue;
    }
    for (let wi = 0; wi < wus.length; wi++) {
      const w = wus.at(wi);
      const wp = indexed(rp + ".weighted_upstreams", wi);
      if (!w.isObject()) { issues.error(wp, "expected an object"); continue; }
      checkKeys(w, listOf("upstream_id upstream weight"), wp, issues);
      const t = new SplitTarget();
      t.weight = intMember(w.get("weight"), "weight", wp, issues, 1, 0, 2147483647);
      t.upstreamId = readId(w.get("upstream_id"), wp + ".upstream_id", issues);
      // APISIX answers a missing one per request (502 failed to find upstream by id).
      if (t.upstreamId.length && !upstreams.has(t.upstreamId)) issues.warn(wp + ".upstream_id", "upstream " + describe(changetype<JsonValue>(w.get("upstream_id"))) + " does not exist (requests it is chosen for will get 502)");
      const up = w.get("upstream");
      if (up !== null) t.upstream = parseUpstream(up, wp + ".upstream", dns, issues);
      t.index = rule.targets.length;
      rule.targets.push(t);
    }
    // The targets are the round robin's nodes (an array of references either way).
    if (rule.targets.length) rule.picker = new RoundRobin(changetype<Array<Node>>(rule.targets));
    ts.push(rule);
  }
  return issues.count == before ? ts : null;
}
