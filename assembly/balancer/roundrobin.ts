// roundrobin: lua-resty-balancer's interleaved weighted round robin, wrapped
// as apisix/balancer/roundrobin.lua does.
//
// State: the current weight level `cw` (starts at the max weight), the last
// picked node (starts at a random node), the gcd of the weights. find() walks
// on from the last node and returns the first with weight >= cw; at the end
// of the list cw drops by the gcd (wrapping to the max). Over one cycle each
// node is picked weight/gcd times; weight-0 nodes only when all weights are 0.
// The node order is the configuration's (Lua's `next` order over the map).

import { Node, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { randomInt } from "./random";

function gcd(a: i64, b: i64): i64 {
  while (b != 0) { const t = a % b; a = b; b = t; }
  return a;
}

// How many plain find() steps to spend when no untried node can ever be
// found (only weight-0 nodes left untried): APISIX spends Σ(weight+1) steps
// and returns the last, already tried, node.
const MAX_BLIND_STEPS: i64 = 4096;

export class RoundRobin extends Picker {
  nodes: Array<Node>;
  last: i32;
  cw: i64;
  step: i64;
  max: i64;
  // APISIX's safe_limit: Σ(weight + 1) calls of find() to skip tried nodes.
  safeLimit: i64 = 0;
  private savedLast: i32 = 0;
  private savedCw: i64 = 0;

  // `start`: index of the node taken as "last picked" (the first find()
  // looks at the one after it); -1 = random, as lua-resty-roundrobin does.
  constructor(nodes: Array<Node>, start: i32 = -1) {
    super();
    this.nodes = nodes;
    let g: i64 = 0, m: i64 = 0;
    for (let i = 0; i < nodes.length; i++) {
      const w = nodes[i].weight;
      g = i == 0 ? w : gcd(g, w);
      if (w > m) m = w;
      this.safeLimit += w + 1;
    }
    this.step = g;
    this.max = m;
    this.cw = m;
    this.last = start >= 0 && start < nodes.length ? start : randomInt(nodes.length);
  }

  // lua-resty-roundrobin find(); with `ctx`, tried nodes are passed over as
  // if find() had returned them and been called again (the state ends up
  // exactly where APISIX's skip loop leaves it), without spending one call
  // per skipped pick: once a full pass has shown the heaviest untried node,
  // levels that no untried node reaches are jumped.
  private scan(ctx: BalanceCtx | null): Node | null {
    const nodes = this.nodes;
    const n = nodes.length;
    if (n == 0) return null;
    if (n == 1) return unchecked(nodes[0]);
    let i = this.last;
    let cw = this.cw;
    // Pass 0 runs from after the last pick to the end of the list; pass 1 is
    // a full pass (it measures the heaviest untried weight); pass 2 runs at
    // a level that weight reaches, so it finds it.
    for (let pass = 0; pass < 3; pass++) {
      let heaviest: i64 = -1;
      while (true) {
        i++;
        if (i >= n) break;
        const nd = unchecked(nodes[i]);
        if (ctx !== null && ctx.isTried(nd)) continue;
        if (nd.weight >= cw) {
          this.cw = cw;
          this.last = i;
          return nd;
        }
        if (nd.weight > heaviest) heaviest = nd.weight;
      }
      i = -1;
      cw -= this.step;
      if (cw <= 0) cw = this.max;
      if (pass >= 1 && ctx !== null) {
        // Nothing untried, or only weight-0 nodes while others weigh more:
        // they are never found.
        if (heaviest < 0 || (heaviest == 0 && this.max > 0)) return null;
        if (cw > heaviest) cw = heaviest;
      }
    }
    return null;
  }

  find(): Node {
    const n = this.scan(null);
    return n !== null ? n : unchecked(this.nodes[0]);
  }

  get(ctx: BalanceCtx): Node | null {
    if (this.nodes.length == 0) { ctx.error = "no valid upstream node"; return null; }
    if (ctx.tried.length > 0 && ctx.triedCount == this.nodes.length) {
      ctx.error = "all upstream servers tried";
      return null;
    }
    if (ctx.tried.length == 0) return this.find();
    const found = this.scan(ctx);
    if (found !== null) return found;
    // Nothing untried can come out: APISIX gives up after safe_limit
    // find() calls and returns the last (tried) node.
    let server = this.find();
    const limit = this.safeLimit < MAX_BLIND_STEPS ? this.safeLimit : MAX_BLIND_STEPS;
    for (let i: i64 = 1; i < limit; i++) server = this.find();
    return server;
  }

  beginPlan(): void { this.savedLast = this.last; this.savedCw = this.cw; }
  endPlan(): void { this.last = this.savedLast; this.cw = this.savedCw; }
}

export class RoundRobinFactory extends PickerFactory {
  create(nodes: Array<Node>, upstream: Upstream, priority: i32): Picker { return new RoundRobin(nodes); }
}
