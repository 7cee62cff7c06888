// roundrobin: lua-resty-balancer's interleaved weighted round robin, wrapped
// as apisix/balancer/roundrobin.lua does.
//
// State: the current weight level `cw` (starts at the max weight), the last
// picked node (starts at a random node), the gcd of the weights. find() walks
// on from the last node and returns the first with weight >= cw; at the end
// of the list cw drops by the gcd (wrapping to the max). Over one cycle each
// node is picked weight/gcd times; weight-0 nodes only when all weights are 0.

import { Node, Upstream } from "../config/model";
import { BalanceCtx, Picker, PickerFactory } from "./picker";
import { randomInt } from "./random";

function gcd(a: i64, b: i64): i64 {
  while (b != 0) { const t = a % b; a = b; b = t; }
  return a;
}

export class RoundRobin extends Picker {
  nodes: Array<Node>;
  last: i32;
  cw: i64;
  step: i64;
  max: i64;
  // APISIX's safe_limit: Σ(weight + 1) calls of find() to skip tried nodes.
  safeLimit: i64 = 0;

  constructor(nodes: Array<Node>) {
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
    this.last = randomInt(nodes.length);
  }

  find(): Node {
    const nodes = this.nodes;
    const n = nodes.length;
    let i = this.last;
    let cw = this.cw;
    // Bounded: at most (max/gcd + 1) passes over the list find a node.
    while (true) {
      i++;
      if (i >= n) {
        i = 0;
        cw -= this.step;
        if (cw <= 0) cw = this.max;
      }
      if (unchecked(nodes[i]).weight >= cw) {
        this.cw = cw;
        this.last = i;
        return unchecked(nodes[i]);
      }
    }
  }

  get(ctx: BalanceCtx): Node | null {
    if (ctx.tried.length > 0) {
      let triedHere = 0;
      for (let i = 0; i < this.nodes.length; i++) if (ctx.isTried(this.nodes[i])) triedHere++;
      if (triedHere == this.nodes.length) { ctx.error = "all upstream servers tried"; return null; }
    }
    let server = this.find();
    if (ctx.tried.length == 0) return server;
    for (let i: i64 = 1; i < this.safeLimit && ctx.isTried(server); i++) server = this.find();
    return server;
  }
}

export class RoundRobinFactory extends PickerFactory {
  create(nodes: Array<Node>, upstream: Upstream): Picker { return new RoundRobin(nodes); }
}
