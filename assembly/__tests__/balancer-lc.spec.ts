import { Node, Upstream } from "../config/model";
import { node } from "./nodes";
import { PassiveChecks } from "../config/checks";
import { parseJson } from "../json";
import { BalanceCtx } from "../balancer/picker";
import { LeastConn, LeastConnFactory, inFlight, resetLeastConn } from "../balancer/least_conn";
import { EwmaFactory, EwmaPicker, decayEwma, ewmaScore, ewmaUpdate, resetEwma } from "../balancer/ewma";
import { Health, Report, reviveDelay } from "../balancer/health";
import { finishRequest, pickServer, planTries, registerBalancer, resetBalancers } from "../balancer/pick";
import { Outcome, RF_UPSTREAM_CONN_FAILURE, RF_UPSTREAM_TIMEOUT } from "../balancer/steer";
import { RoundRobinFactory } from "../balancer/roundrobin";
import { seedRandom } from "../balancer/random";

function up(type: string, nodes: Array<Node>, cluster: string): Upstream {
  const u = new Upstream();
  u.type = type; u.nodes = nodes; u.cluster = cluster; u.fingerprint = cluster + "#1";
  return u;
}

function ports(list: Array<Node>): string {
  const out = new Array<string>();
  for (let i = 0; i < list.length; i++) out.push(list[i].address);
  return out.join(",");
}

describe("least_conn", () => {
  it("least_conn.t: {1980:2, 1981:1} picks 1980 first", () => {
    resetLeastConn();
    const nodes = [node("127.0.0.1", 1980, 2, 0), node("127.0.0.1", 1981, 1, 1)];
    const p = new LeastConn(nodes, "lc1", 0);
    expect(p.get(new BalanceCtx(null))!.port).toBe(1980);
  });

  it("least_conn.t: {127.0.0.1:1980:3, 0.0.0.0:1980:2}, 3 concurrent -> 127, 0.0.0.0, 127", () => {
    resetLeastConn();
    const nodes = [node("127.0.0.1", 1980, 3, 0), node("0.0.0.0", 1980, 2, 1)];
    const p = new LeastConn(nodes, "lc2", 0);
    const got = new Array<string>();
    for (let i = 0; i < 3; i++) got.push(p.get(new BalanceCtx(null))!.host);
    expect(got.join(",")).toBe("127.0.0.1,0.0.0.0,127.0.0.1");
  });

  it("least_conn3.t: 4 held on {1980,1981}, add 1982 -> 1982, 1982", () => {
    resetLeastConn();
    const two = [node("127.0.0.1", 1980, 1, 0), node("127.0.0.1", 1981, 1, 1)];
    const p = new LeastConn(two, "lc3", 0);
    for (let i = 0; i < 4; i++) p.get(new BalanceCtx(null));
    expect(inFlight("lc3", 0, "127.0.0.1:1980")).toBe(2);
    const three = [two[0], two[1], node("127.0.0.1", 1982, 1, 2)];
    const p2 = new LeastConn(three, "lc3", 0); // rebuilt picker, same counts
    expect(p2.get(new BalanceCtx(null))!.port).toBe(1982);
    expect(p2.get(new BalanceCtx(null))!.port).toBe(1982);
  });

  it("least_conn3.t: 1 held on each, re-weight {1980:10, 1981:1} -> 1980 x3", () => {
    resetLeastConn();
    const two = [node("127.0.0.1", 1980, 1, 0), node("127.0.0.1", 1981, 1, 1)];
    const p = new LeastConn(two, "lc4", 0);
    p.get(new BalanceCtx(null)); p.get(new BalanceCtx(null));
    const re = [node("127.0.0.1", 1980, 10, 0), node("127.0.0.1", 1981, 1, 1)];
    const p2 = new LeastConn(re, "lc4", 0);
    for (let i = 0; i < 3; i++) expect(p2.get(new BalanceCtx(null))!.port).toBe(1980);
  });

  it("release decrements, floors at 0 and never double-releases", () => {
    resetLeastConn();
    const nodes = [node("10.0.0.1", 80, 1, 0), node("10.0.0.2", 80, 1, 1)];
    const p = new LeastConn(nodes, "lc5", 0);
    const ctx = new BalanceCtx(null);
    ctx.server = p.get(ctx);
    expect(inFlight("lc5", 0, "10.0.0.1:80")).toBe(1);
    p.afterBalance(ctx, false);
    p.afterBalance(ctx, false);
    expect(inFlight("lc5", 0, "10.0.0.1:80")).toBe(0);
  });

  it("retries: all tried -> nil; single node still counted and retried on itself", () => {
    registerBalancer("least_conn", new LeastConnFactory());
    resetBalancers(); resetLeastConn();
    const health = new Health();
    const two = up("least_conn", [node("127.0.0.1", 1980, 1, 0), node("127.0.0.1", 1981, 1, 1)], "lc6");
    two.retries = 3;
    let ctx = new BalanceCtx(null);
    pickServer(two, ctx, health);
    expect(planTries(two, ctx, health).length).toBe(2);       // then "all upstream servers tried"
    expect(inFlight("lc6", 0, ctx.server!.address)).toBe(1);  // planning counted nothing
    const one = up("least_conn", [node("127.0.0.1", 1999, 1, 0)], "lc7");
    one.retries = 2;
    ctx = new BalanceCtx(null);
    pickServer(one, ctx, health);
    expect(ports(planTries(one, ctx, health))).toBe("127.0.0.1:1999,127.0.0.1:1999,127.0.0.1:1999");
    expect(inFlight("lc7", 0, "127.0.0.1:1999")).toBe(1);
    finishRequest(one, ctx, health, new Outcome());
    expect(inFlight("lc7", 0, "127.0.0.1:1999")).toBe(0);
  });

  it("priority-balancer/sanity.t least_conn: .1 .2 .3 .4 then 1980; all-failed 1, 2, 1", () => {
    resetBalancers(); resetLeastConn();
    const health = new Health();
    const nodes = [
      node("127.0.0.1", 1979, 2, 0, 1), node("127.0.0.2", 1979, 1, 1, 1),
      node("127.0.0.3", 1979, 2, 2, 0), node("127.0.0.4", 1979, 1, 3, 0),
      node("127.0.0.1", 1980, 2, 4, -1)];
    const u = up("least_conn", nodes, "lc-prio");
    for (let rep = 0; rep < 2; rep++) {
      const ctx = new BalanceCtx(null);
      pickServer(u, ctx, health);
      expect(ports(planTries(u, ctx, health))).toBe("127.0.0.1:1979,127.0.0.2:1979,127.0.0.3:1979,127.0.0.4:1979,127.0.0.1:1980");
      finishRequest(u, ctx, health, new Outcome());
    }
    const u2 = up("least_conn", [node("127.0.0.1", 1979, 2, 0, 1), node("127.0.0.2", 1979, 1, 1, 0), node("127.0.0.1", 1979, 2, 2, -1)], "lc-prio2");
    const ctx = new BalanceCtx(null);
    pickServer(u2, ctx, health);
    expect(ports(planTries(u2, ctx, health))).toBe("127.0.0.1:1979,127.0.0.2:1979,127.0.0.1:1979");
  });
});

describe("ewma", () => {
  it("decays with DECAY_TIME 10 s", () => {
    expect(Math.abs(decayEwma(1, 0, 0, 10) - Math.exp(-1)) < 1e-12).toBe(true);
    expect(Math.abs(decayEwma(0.5, 100, 0.1, 105) - (0.5 * Math.exp(-0.5) + 0.1 * (1 - Math.exp(-0.5)))) < 1e-12).toBe(true);
    expect(decayEwma(2, 50, 7, 50)).toBe(2);        // Δt = 0: old value kept
    expect(decayEwma(2, 60, 7, 50)).toBe(2);        // clock went back: Δt floored at 0
    resetEwma();
    const now = 1700000000.0;
    // first sample of a never-touched node ≈ the sample itself
    expect(Math.abs(ewmaUpdate("a:1", 0.005, now) - 0.005) < 1e-12).toBe(true);
    expect(Math.abs(ewmaScore("a:1", now + 10) - 0.005 * Math.exp(-1)) < 1e-12).toBe(true);
    const e2 = ewmaUpdate("a:1", 0.001, now + 5);
    expect(Math.abs(e2 - (0.005 * Math.exp(-0.5) + 0.001 * (1 - Math.exp(-0.5)))) < 1e-12).toBe(true);
    // 60 s TTL
    expect(ewmaScore("a:1", now + 70)).toBe(0);
  });

  it("ewma.t: 1 ms vs 5 ms over 12 sequential requests -> 11 / 1", () => {
    for (let seed: u64 = 1; seed < 20; seed++) {
      seedRandom(seed);
      resetEwma();
      const nodes = [node("127.0.0.1", 1980, 100, 0), node("127.0.0.1", 1981, 100, 1)];
      const p = new EwmaPicker(nodes);
      let fast = 0;
      let now = 1700000000.0;
      for (let i = 0; i < 12; i++) {
        const ctx = new BalanceCtx(null);
        ctx.now = now;
        const n = p.get(ctx)!;
        ctx.server = n;
        if (n.port == 1980) fast++;
        now += n.port == 1980 ? 0.001 : 0.005;
        ctx.now = now;
        ctx.upstreamAddr = n.address;
        ctx.rtt = n.port == 1980 ? 0.001 : 0.005;
        p.afterBalance(ctx, false);
      }
      expect(fast).toBe(11);
    }
  });

  it("skips tried nodes and reports all tried", () => {
    const nodes = [node("10.0.0.1", 80, 1, 0), node("10.0.0.2", 80, 1, 1), node("10.0.0.3", 80, 1, 2)];
    const p = new EwmaPicker(nodes);
    const ctx = new BalanceCtx(null);
    const seen = new Array<i32>();
    for (let i = 0; i < 3; i++) {
      const n = p.get(ctx)!;
      expect(seen.includes(n.index)).toBe(false);
      seen.push(n.index);
      ctx.server = n;
      p.afterBalance(ctx, true);
    }
    expect(p.get(ctx)).toBeNull();
    expect(ctx.error).toBe("all upstream servers tried");
  });

  it("priority-balancer/sanity.t ewma: one node per level -> .1 .2 .3", () => {
    registerBalancer("ewma", new EwmaFactory());
    resetBalancers();
    const health = new Health();
    const u = up("ewma", [node("127.0.0.1", 1979, 2, 0, 1), node("127.0.0.2", 1979, 1, 1, 0), node("127.0.0.3", 1979, 2, 2, -1)], "ew-prio");
    const ctx = new BalanceCtx(null);
    pickServer(u, ctx, health);
    expect(ports(planTries(u, ctx, health))).toBe("127.0.0.1:1979,127.0.0.2:1979,127.0.0.3:1979");
  });
});

function passiveUp(cluster: string): Upstream {
  const u = up("roundrobin", [node("10.0.0.1", 80, 1, 0), node("10.0.0.2", 80, 1, 1)], cluster);
  const pc = new PassiveChecks();
  pc.httpFailures = 3; pc.tcpFailures = 2; pc.timeouts = 2; pc.healthySuccesses = 2;
  u.passive = pc;
  u.checks = parseJson("{\"active\":{\"healthy\":{\"successes\":3},\"unhealthy\":{\"interval\":2}},\"passive\":{}}").value;
  return u;
}

describe("passive health (lua-resty-healthcheck counters)", () => {
  it("counts unhealthy statuses, resets on success, marks down at the limit", () => {
    const h = new Health();
    const u = passiveUp("ph1");
    const a = "10.0.0.1:80";
    h.report(u, a, Report.HttpStatus, 500, 1);
    h.report(u, a, Report.HttpStatus, 500, 1);
    expect(h.isHealthy(u, u.nodes[0])).toBe(true);      // mostly_healthy
    h.report(u, a, Report.HttpStatus, 200, 1);           // success clears failures
    expect(h.passiveCounters(u, a)[2]).toBe(0);
    h.report(u, a, Report.HttpStatus, 404, 1);           // in neither list: ignored
    const v0 = h.version(u);
    for (let i = 0; i < 3; i++) h.report(u, a, Report.HttpStatus, 503, 2);
    expect(h.isHealthy(u, u.nodes[0])).toBe(false);
    expect(h.version(u)).toBe(v0 + 1);
    // failures on a fully unhealthy node are not counted
    h.report(u, a, Report.HttpStatus, 500, 2);
    expect(h.passiveCounters(u, a)[2]).toBe(3);
    // successes bring it back
    h.report(u, a, Report.HttpStatus, 200, 3);
    expect(h.isHealthy(u, u.nodes[0])).toBe(false);     // mostly_unhealthy
    h.report(u, a, Report.HttpStatus, 201, 3);
    expect(h.isHealthy(u, u.nodes[0])).toBe(true);
  });

  it("tcp failures and timeouts have their own limits", () => {
    const h = new Health();
    const u = passiveUp("ph2");
    h.report(u, "10.0.0.2:80", Report.TcpFailure, 0, 1);
    expect(h.isHealthy(u, u.nodes[1])).toBe(true);
    h.report(u, "10.0.0.2:80", Report.Timeout, 0, 1);
    expect(h.isHealthy(u, u.nodes[1])).toBe(true);
    h.report(u, "10.0.0.2:80", Report.TcpFailure, 0, 1);
    expect(h.isHealthy(u, u.nodes[1])).toBe(false);
    // unknown address and upstreams without passive checks are ignored
    h.report(u, "10.9.9.9:80", Report.TcpFailure, 0, 1);
    const plain = up("roundrobin", [node("10.0.0.1", 80, 1, 0)], "ph3");
    h.report(plain, "10.0.0.1:80", Report.TcpFailure, 0, 1);
    h.report(plain, "10.0.0.1:80", Report.TcpFailure, 0, 1);
    expect(h.isHealthy(plain, plain.nodes[0])).toBe(true);
  });

  it("a passively failed node comes back after the active prober's time", () => {
    const h = new Health();
    const u = passiveUp("ph4");
    expect(reviveDelay(u)).toBe(6);   // unhealthy.interval 2 × healthy.successes 3
    h.report(u, "10.0.0.1:80", Report.TcpFailure, 0, 100);
    h.report(u, "10.0.0.1:80", Report.TcpFailure, 0, 100);
    h.tick(u, 105);
    expect(h.isHealthy(u, u.nodes[0])).toBe(false);
    h.tick(u, 106);
    expect(h.isHealthy(u, u.nodes[0])).toBe(true);
    // a config change of the upstream starts from a fresh checker
    h.report(u, "10.0.0.1:80", Report.TcpFailure, 0, 200);
    h.report(u, "10.0.0.1:80", Report.TcpFailure, 0, 200);
    expect(h.isHealthy(u, u.nodes[0])).toBe(false);
    u.fingerprint = "changed";
    expect(h.isHealthy(u, u.nodes[0])).toBe(true);
  });

  it("the log phase reports failed tries and the final status", () => {
    registerBalancer("roundrobin", new RoundRobinFactory());
    resetBalancers();
    const h = new Health();
    const u = passiveUp("ph5");
    const ctx = new BalanceCtx(null);
    ctx.now = 10;
    pickServer(u, ctx, h);
    const plan = planTries(u, ctx, h);
    expect(plan.length).toBe(2);
    const o = new Outcome();
    o.now = 10;
    o.attempts = 2;
    o.code = 200;
    o.upstreamAddr = plan[1].address;
    finishRequest(u, ctx, h, o);
    expect(h.passiveCounters(u, plan[0].address)[3]).toBe(1);  // tcp failure on try 1
    // final try connect failure (UF) counts as tcp failure, UT as timeout
    const o2 = new Outcome();
    o2.now = 10; o2.code = 503; o2.flags = RF_UPSTREAM_CONN_FAILURE; o2.upstreamAddr = plan[0].address;
    const ctx2 = new BalanceCtx(null);
    pickServer(u, ctx2, h);
    planTries(u, ctx2, h);
    finishRequest(u, ctx2, h, o2);
    expect(h.isHealthy(u, plan[0])).toBe(false);
    const o3 = new Outcome();
    o3.now = 10; o3.code = 504; o3.flags = RF_UPSTREAM_TIMEOUT; o3.upstreamAddr = plan[1].address;
    const ctx3 = new BalanceCtx(null);
    pickServer(u, ctx3, h);
    expect(ctx3.server!.address).toBe(plan[1].address);   // only healthy node left
    planTries(u, ctx3, h);
    finishRequest(u, ctx3, h, o3);
    expect(h.passiveCounters(u, plan[1].address)[4]).toBe(1);
  });

  it("non-chash pickers are rebuilt without the down node; all down -> all nodes", () => {
    resetBalancers();
    const h = new Health();
    const u = passiveUp("ph6");
    for (let i = 0; i < 2; i++) h.report(u, "10.0.0.1:80", Report.TcpFailure, 0, 1);
    for (let i = 0; i < 6; i++) {
      const ctx = new BalanceCtx(null); ctx.now = 1;
      expect(pickServer(u, ctx, h)!.address).toBe("10.0.0.2:80");
      expect(planTries(u, ctx, h).length).toBe(1);
    }
    for (let i = 0; i < 2; i++) h.report(u, "10.0.0.2:80", Report.TcpFailure, 0, 1);
    let seen1 = false, seen2 = false;
    for (let i = 0; i < 4; i++) {
      const ctx = new BalanceCtx(null); ctx.now = 1;
      const a = pickServer(u, ctx, h)!.address;
      if (a == "10.0.0.1:80") seen1 = true; else seen2 = true;
    }
    expect(seen1 && seen2).toBe(true);
  });
});
