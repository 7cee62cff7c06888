import { Node, Upstream } from "../config/model";
import { node } from "./nodes";
import { BalanceCtx } from "../balancer/picker";
import { RoundRobin } from "../balancer/roundrobin";
import { PriorityPicker } from "../balancer/priority";
import { RoundRobinFactory } from "../balancer/roundrobin";
import { Health } from "../balancer/health";
import { pickServer, planTries, registerBalancer, resetBalancers } from "../balancer/pick";

// Names a, b, c, ... on port 80 with the given weights.
function named(names: Array<string>, weights: Array<i64>): Array<Node> {
  const out = new Array<Node>();
  for (let i = 0; i < names.length; i++) out.push(node(names[i], 80, weights[i], i));
  return out;
}

function seq(p: RoundRobin, n: i32): string {
  const ctx = new BalanceCtx(null);
  const out = new Array<string>();
  for (let i = 0; i < n; i++) out.push(p.get(ctx)!.host);
  return out.join(" ");
}

function counts(p: RoundRobin, n: i32, nodes: Array<Node>): Array<i32> {
  const c = new Array<i32>(nodes.length);
  const ctx = new BalanceCtx(null);
  for (let i = 0; i < n; i++) { const k = p.get(ctx)!.index; c[k] = c[k] + 1; }
  return c;
}

describe("roundrobin (lua-resty-roundrobin)", () => {
  it("weights a=5,b=1,c=1 in order a,b,c: fresh start then steady cycle a a a a a b c", () => {
    // start = a (index 0): the cw=5 level is lost once.
    const p = new RoundRobin(named(["a", "b", "c"], [5, 1, 1]), 0);
    expect(seq(p, 6)).toBe("a a a a b c");
    expect(seq(p, 7)).toBe("a a a a a b c");
    expect(seq(p, 7)).toBe("a a a a a b c");
  });

  it("any random start gives a a a a b c first", () => {
    for (let s = 0; s < 3; s++) {
      const p = new RoundRobin(named(["a", "b", "c"], [5, 1, 1]), s);
      expect(seq(p, 13)).toBe("a a a a b c a a a a a b c");
    }
  });

  it("order b,a,c: steady cycle a a a a b a c", () => {
    const p = new RoundRobin(named(["b", "a", "c"], [1, 5, 1]), 2);
    // start after c: wraps, cw drops to 4 first: a a a b a c, then steady.
    expect(seq(p, 6)).toBe("a a a b a c");
    expect(seq(p, 7)).toBe("a a a a b a c");
    expect(seq(p, 14)).toBe("a a a a b a c a a a a b a c");
  });

  it("rr-balance.t distributions", () => {
    let nodes = named(["n1980", "n1981"], [1, 1]);
    let c = counts(new RoundRobin(nodes, 1), 12, nodes);
    expect(c[0]).toBe(6); expect(c[1]).toBe(6);

    nodes = named(["n1980", "n1981", "n1982"], [1, 1, 1]);
    const p3 = new RoundRobin(nodes, 0);
    p3.get(new BalanceCtx(null)); // warm-up
    c = counts(p3, 12, nodes);
    expect(c[0]).toBe(4); expect(c[1]).toBe(4); expect(c[2]).toBe(4);

    nodes = named(["n1980", "n1981", "n1982"], [3, 2, 1]);
    c = counts(new RoundRobin(nodes, 2), 12, nodes);
    expect(c[0]).toBe(6); expect(c[1]).toBe(4); expect(c[2]).toBe(2);

    nodes = named(["n1980", "n1981", "n1982"], [3, 0, 1]);
    c = counts(new RoundRobin(nodes, 2), 12, nodes);
    expect(c[0]).toBe(9); expect(c[1]).toBe(0); expect(c[2]).toBe(3);
  });

  it("weight 0 is never picked unless all weights are 0 (then all rotate)", () => {
    let nodes = named(["a", "b", "c"], [0, 2, 0]);
    let c = counts(new RoundRobin(nodes, 0), 30, nodes);
    expect(c[0]).toBe(0); expect(c[1]).toBe(30); expect(c[2]).toBe(0);
    nodes = named(["a", "b", "c"], [0, 0, 0]);
    c = counts(new RoundRobin(nodes, 0), 30, nodes);
    expect(c[0]).toBe(10); expect(c[1]).toBe(10); expect(c[2]).toBe(10);
  });

  it("reduces by the gcd and survives huge weights", () => {
    const nodes = named(["a", "b"], [1000000000, 3000000000]);
    const c = counts(new RoundRobin(nodes, 0), 8, nodes);
    expect(c[0]).toBe(2); expect(c[1]).toBe(6);
    // tried-skipping over a 4e9 level gap must not loop 4e9 times
    const big = named(["a", "b"], [4000000000, 1]);
    const p = new RoundRobin(big, 0);
    const ctx = new BalanceCtx(null);
    const first = p.get(ctx)!;
    expect(first.host).toBe("a");
    ctx.server = first;
    p.afterBalance(ctx, true);
    expect(p.get(ctx)!.host).toBe("b");
  });

  it("skips tried servers and reports all tried", () => {
    const nodes = named(["a", "b", "c"], [1, 1, 1]);
    const p = new RoundRobin(nodes, 2);
    const ctx = new BalanceCtx(null);
    const got = new Array<string>();
    for (let i = 0; i < 3; i++) {
      const n = p.get(ctx)!;
      got.push(n.host);
      ctx.server = n;
      p.afterBalance(ctx, true);
    }
    expect(got.join(",")).toBe("a,b,c");
    expect(p.get(ctx)).toBeNull();
    expect(ctx.error).toBe("all upstream servers tried");
  });

  it("skip loop leaves the state where repeated find() would", () => {
    // Reference: plain find() calls skipping a tried node by hand.
    const ref = new RoundRobin(named(["a", "b", "c"], [3, 2, 1]), 0);
    const fast = new RoundRobin(named(["a", "b", "c"], [3, 2, 1]), 0);
    const ctx = new BalanceCtx(null);
    ctx.server = fast.nodes[0];
    fast.afterBalance(ctx, true); // a tried
    for (let round = 0; round < 5; round++) {
      let r = ref.find();
      while (r.host == "a") r = ref.find();
      expect(fast.get(ctx)!.host).toBe(r.host);
      expect(fast.cw).toBe(ref.cw);
      expect(fast.last).toBe(ref.last);
    }
  });
});

function up(type: string, nodes: Array<Node>, cluster: string): Upstream {
  const u = new Upstream();
  u.type = type; u.nodes = nodes; u.cluster = cluster; u.fingerprint = cluster + "#fp";
  return u;
}

describe("priority (priority-balancer/sanity.t, roundrobin)", () => {
  it("tries .1 .2 (priority 1) then .3 .4 (priority -1), then gives up", () => {
    registerBalancer("roundrobin", new RoundRobinFactory());
    resetBalancers();
    const nodes = new Array<Node>();
    nodes.push(node("127.0.0.1", 1979, 1000, 0, 1));
    nodes.push(node("127.0.0.2", 1979, 1, 1, 1));
    nodes.push(node("127.0.0.3", 1979, 1000, 2, -1));
    nodes.push(node("127.0.0.4", 1979, 1, 3, -1));
    const u = up("roundrobin", nodes, "prio-rr");
    const health = new Health();
    for (let rep = 0; rep < 2; rep++) {
      const ctx = new BalanceCtx(null);
      expect(pickServer(u, ctx, health)!.address).toBe("127.0.0.1:1979");
      const plan = planTries(u, ctx, health);
      const got = new Array<string>();
      for (let i = 0; i < plan.length; i++) got.push(plan[i].address);
      expect(got.join(",")).toBe("127.0.0.1:1979,127.0.0.2:1979,127.0.0.3:1979,127.0.0.4:1979");
      // the plan leaves the request on its first pick
      expect(ctx.server!.address).toBe("127.0.0.1:1979");
      expect(ctx.priorityIdx).toBe(0);
    }
  });

  it("levels are sorted descending and missing priority is 0", () => {
    const nodes = new Array<Node>();
    nodes.push(node("a", 1, 1, 0, -5));
    nodes.push(node("b", 1, 1, 1, 0));
    nodes.push(node("c", 1, 1, 2, 7));
    const p = new PriorityPicker(nodes, up("roundrobin", nodes, "x"), new RoundRobinFactory());
    expect(p.priorities.join(",")).toBe("7,0,-5");
  });

  it("planning retries does not move the round-robin position", () => {
    resetBalancers();
    const nodes = named(["a", "b"], [1, 1]);
    const u = up("roundrobin", nodes, "plan-rr");
    const health = new Health();
    const got = new Array<string>();
    for (let i = 0; i < 6; i++) {
      const ctx = new BalanceCtx(null);
      got.push(pickServer(u, ctx, health)!.host);
      const plan = planTries(u, ctx, health);
      expect(plan.length).toBe(2);
      expect(plan[1].host).not.toBe(plan[0].host);
    }
    // strict alternation whatever the random start
    for (let i = 1; i < 6; i++) expect(got[i]).not.toBe(got[i - 1]);
  });
});

import { nextRandom, seedRandom } from "../balancer/random";

describe("roundrobin skip equivalence (property)", () => {
  it("matches APISIX's find()-until-untried loop for random weights and tried sets", () => {
    seedRandom(12345);
    for (let round = 0; round < 300; round++) {
      const n = 2 + <i32>(nextRandom() % 5);
      const w = new Array<i64>();
      for (let i = 0; i < n; i++) w.push(<i64>(nextRandom() % 4) * (round % 3 == 0 ? 1 : 2));
      const names = new Array<string>();
      for (let i = 0; i < n; i++) names.push("n" + i.toString());
      const start = <i32>(nextRandom() % <u64>n);
      const ref = new RoundRobin(named(names, w), start);
      const fast = new RoundRobin(named(names, w), start);
      // advance both a little
      const warm = <i32>(nextRandom() % 7);
      for (let i = 0; i < warm; i++) { ref.find(); fast.find(); }
      const ctx = new BalanceCtx(null);
      for (let i = 0; i < n; i++) if (nextRandom() % 3 == 0) ctx.markTried(fast.nodes[i]);
      if (ctx.tried.length == 0) continue;
      // Reference: APISIX's loop, up to safe_limit find() calls.
      let r = ref.find();
      for (let k: i64 = 1; k < ref.safeLimit && ctx.isTried(r); k++) r = ref.find();
      const f = fast.get(ctx);
      if (ctx.triedCount == n) { expect(f).toBeNull(); continue; }
      expect(f).not.toBeNull();
      expect(f!.index).toBe(r.index);
      if (!ctx.isTried(r)) {
        expect(fast.cw).toBe(ref.cw);
        expect(fast.last).toBe(ref.last);
      }
    }
  });
});
