import { Node, Upstream } from "../config/model";
import { node } from "./nodes";
import { Header, HeaderBlock } from "../headers";
import { Request } from "../request";
import { BalanceCtx } from "../balancer/picker";
import { crc32 } from "../balancer/crc32";
import { ChashFactory, ChashPicker, Ring, chashKey, resolveTemplate } from "../balancer/chash";
import { Health } from "../balancer/health";
import { pickServer, planTries, registerBalancer, resetBalancers } from "../balancer/pick";
import { recordLogs, recorded } from "../balancer/hooks";

let clientIp = "127.0.0.1";
function remote(): string { return clientIp; }

function req(path: string, extra: Array<Header> = []): Request {
  const h = new Array<Header>();
  h.push(new Header(":method", "GET"));
  h.push(new Header(":path", path));
  h.push(new Header(":authority", "localhost"));
  for (let i = 0; i < extra.length; i++) h.push(extra[i]);
  return Request.fromHeaders(HeaderBlock.fromHeaders(h), remote);
}

function localNodes(ports: Array<i32>, weights: Array<i64>): Array<Node> {
  const out = new Array<Node>();
  for (let i = 0; i < ports.length; i++) out.push(node("127.0.0.1", ports[i], weights[i], i));
  return out;
}

function up(nodes: Array<Node>, hashOn: string, key: string, cluster: string = "c"): Upstream {
  const u = new Upstream();
  u.type = "chash"; u.hashOn = hashOn; u.key = key; u.nodes = nodes; u.cluster = cluster;
  u.fingerprint = cluster + "|" + hashOn + "|" + key;
  return u;
}

function pickPort(u: Upstream, r: Request): i32 {
  const p = new ChashPicker(u.nodes, u);
  return p.get(new BalanceCtx(r))!.port;
}

describe("crc32", () => {
  it("matches the IEEE check value and known strings", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
    expect(crc32("a")).toBe(0xe8b7be43);
    expect(crc32("The quick brown fox jumps over the lazy dog")).toBe(0x414fa339);
  });
});

describe("chash ring (lua-resty-chash)", () => {
  it("has weight*160 sorted points per node, gcd-reduced", () => {
    const r = new Ring(localNodes([1980, 1981, 1982], [1000000000, 2000000000, 1000000000]));
    expect(r.size).toBe(4 * 160);
    for (let i = 1; i < r.size; i++) expect(r.hashes[i] >= r.hashes[i - 1]).toBe(true);
    const r0 = new Ring(localNodes([1980, 1981], [0, 0]));
    expect(r0.size).toBe(0);
    expect(r0.find(123)).toBe(-1);
  });

  it("chash-balance.t: key remote_addr 127.0.0.1", () => {
    expect(pickPort(up(localNodes([1980, 1981], [1, 1]), "vars", "remote_addr"), req("/server_port"))).toBe(1980);
    expect(pickPort(up(localNodes([1980, 1981, 1982], [1, 1, 1]), "vars", "remote_addr"), req("/server_port"))).toBe(1982);
    expect(pickPort(up(localNodes([1980, 1981, 1982], [1, 0, 0]), "vars", "remote_addr"), req("/server_port"))).toBe(1980);
  });

  it("chash-balance.t: 180 device ids over 3 equal nodes are balanced within 20%", () => {
    const u = up(localNodes([1980, 1981, 1982], [1, 1, 1]), "vars", "arg_device_id");
    const p = new ChashPicker(u.nodes, u);
    const c = [0, 0, 0];
    for (let i = 1; i <= 180; i++) {
      const k = p.get(new BalanceCtx(req("/server_port?device_id=" + i.toString())))!.index;
      c[k] = c[k] + 1;
    }
    const s = c.slice(0).sort((a: i32, b: i32): i32 => a - b);
    expect(<f64>(s[2] - s[0]) / <f64>s[1] <= 0.2).toBe(true);
  });

  it("chash-hashon.t: header, cookie, consumer, vars_combinations", () => {
    const nodes = localNodes([1980, 1981], [1, 1]);
    expect(pickPort(up(nodes, "header", "custom_header"), req("/", [new Header("custom_header", "custom-one")]))).toBe(1980);
    expect(pickPort(up(nodes, "header", "custom_header"), req("/"))).toBe(1980);
    expect(pickPort(up(nodes, "cookie", "custom-cookie"), req("/", [new Header("cookie", "custom-cookie=cuscookie")]))).toBe(1981);
    expect(pickPort(up(nodes, "cookie", "custom-cookie"), req("/"))).toBe(1980);
    const vc = up(nodes, "vars_combinations", "$http_custom_header-$http_custom_header_second");
    expect(pickPort(vc, req("/", [new Header("custom_header", "custom-one"), new Header("custom_header_second", "custom-two")]))).toBe(1980);
    expect(pickPort(vc, req("/"))).toBe(1980);
    // consumer: jack -> 1981, tom -> 1980 (hash of the consumer name)
    const cu = up(nodes, "consumer", "");
    const p = new ChashPicker(nodes, cu);
    const ctx = new BalanceCtx(req("/"));
    ctx.consumer = "jack";
    expect(p.get(ctx)!.port).toBe(1981);
    const ctx2 = new BalanceCtx(req("/"));
    ctx2.consumer = "tom";
    expect(p.get(ctx2)!.port).toBe(1980);
  });

  it("chash-hashon.t: X-Sessionid chash_val_1..6 -> 1,4,6 on 1981; 2,3,5 on 1980", () => {
    const u = up(localNodes([1980, 1981], [1, 1]), "header", "X-Sessionid");
    const got = new Array<string>();
    for (let i = 1; i <= 6; i++) got.push(pickPort(u, req("/", [new Header("x-sessionid", "chash_val_" + i.toString())])).toString());
    expect(got.join(",")).toBe("1981,1980,1980,1981,1980,1981");
  });

  it("nil key falls back to remote_addr with APISIX's warning", () => {
    recordLogs(true);
    clientIp = "10.1.2.3";
    const u = up(localNodes([1980, 1981], [1, 1]), "vars", "arg_missing");
    const p = new ChashPicker(u.nodes, u);
    const a = p.get(new BalanceCtx(req("/")))!;
    expect(recorded.length).toBe(1);
    expect(recorded[0]).toBe("chash_key fetch is nil, use default chash_key remote_addr: 10.1.2.3");
    const b = p.get(new BalanceCtx(req("/?x=1")))!;
    expect(a.port).toBe(b.port);
    // consumer hashing without a consumer uses the same fallback
    const c = new ChashPicker(u.nodes, up(u.nodes, "consumer", ""));
    expect(c.get(new BalanceCtx(req("/")))!.port).toBe(a.port);
    expect(recorded.length).toBe(3);
    clientIp = "127.0.0.1";
    recordLogs(false);
  });

  it("vars_combinations templates resolve like core.utils.resolve_var", () => {
    const r = req("/p/q?a=1&b=", [new Header("x-h", "hv")]);
    const ctx = new BalanceCtx(r);
    expect(resolveTemplate(ctx, "$remote_addr$uri")!).toBe("127.0.0.1/p/q");
    expect(resolveTemplate(ctx, "${arg_a}-${ http_x_h }")!).toBe("1-hv");
    expect(resolveTemplate(ctx, "${arg_zz ?? dflt}/$arg_a")!).toBe("dflt/1");
    expect(resolveTemplate(ctx, "x$arg_zz-y")).toBeNull();          // nothing resolved
    expect(resolveTemplate(ctx, "plain")).toBeNull();                // no variable at all
    expect(resolveTemplate(ctx, "$arg_zz$arg_a")!).toBe("1");      // missing -> ""
    expect(resolveTemplate(ctx, "\\$arg_a $arg_b")!).toBe("\\$arg_a ");    // escaped; empty value counts
    expect(resolveTemplate(ctx, "$arg_a.")).toBeNull();                // [\w.]+ takes the dot: no such var
    expect(resolveTemplate(ctx, "${unclosed $arg_a")!).toBe("${unclosed 1");
    expect(resolveTemplate(ctx, "$ $")).toBeNull();
  });

  it("retries walk the ring to the next untried node", () => {
    const nodes = localNodes([1980, 1981, 1982, 1983], [1, 1, 1, 1]);
    const u = up(nodes, "vars", "remote_addr");
    const p = new ChashPicker(nodes, u);
    const ctx = new BalanceCtx(req("/"));
    const seen = new Array<i32>();
    for (let i = 0; i < 4; i++) {
      const n = p.get(ctx)!;
      expect(seen.includes(n.port)).toBe(false);
      seen.push(n.port);
      ctx.server = n;
      p.afterBalance(ctx, true);
    }
    expect(p.get(ctx)).toBeNull();
    expect(ctx.error).toBe("all upstream servers tried");
  });

  it("removing 1 of n nodes moves only that node's keys (about 1/n)", () => {
    const n = 5;
    const ports = new Array<i32>(), w = new Array<i64>();
    for (let i = 0; i < n; i++) { ports.push(2000 + i); w.push(1); }
    const all = localNodes(ports, w);
    const fewer = new Array<Node>();
    for (let i = 0; i < n - 1; i++) fewer.push(all[i]);
    const ra = new Ring(all), rb = new Ring(fewer);
    let moved = 0, onRemoved = 0;
    const keys = 2000;
    for (let i = 0; i < keys; i++) {
      const h = crc32("key-" + i.toString());
      const a = ra.nodeAt(ra.find(h)), b = rb.nodeAt(rb.find(h));
      if (a.port == 2000 + n - 1) onRemoved++;
      else if (a.port != b.port) moved++;
    }
    expect(moved).toBe(0);
    expect(<f64>onRemoved / <f64>keys < 1.5 / <f64>n).toBe(true);
    expect(<f64>onRemoved / <f64>keys > 0.5 / <f64>n).toBe(true);
  });
});

describe("chash in pick_server", () => {
  it("chash-healthcheck-stable-ring.t: an unhealthy node is skipped, healthy keys never move", () => {
    registerBalancer("chash", new ChashFactory());
    resetBalancers();
    const nodes = localNodes([16730, 16731, 16732], [3, 6, 10]);
    const u = up(nodes, "vars", "arg_k", "stable");
    const health = new Health();
    const before = new Array<i32>();
    for (let i = 0; i < 120; i++) before.push(pickServer(u, new BalanceCtx(req("/?k=" + i.toString())), health)!.port);
    const down = new Map<string, Map<string, i32>>();
    const s = new Map<string, i32>(); s.set("127.0.0.1:16730", 0);
    down.set("stable", s);
    health.setActive(down);
    let onBad = 0;
    for (let i = 0; i < 120; i++) {
      const p = pickServer(u, new BalanceCtx(req("/?k=" + i.toString())), health)!.port;
      if (p == 16730) onBad++;
      if (before[i] != 16730) expect(p).toBe(before[i]);
    }
    expect(onBad).toBe(0);
  });

  it("all nodes unhealthy: warn and use them all", () => {
    resetBalancers();
    recordLogs(true);
    const nodes = localNodes([1980, 1981], [1, 1]);
    const u = up(nodes, "vars", "remote_addr", "alldown");
    const health = new Health();
    const down = new Map<string, Map<string, i32>>();
    const s = new Map<string, i32>(); s.set("127.0.0.1:1980", 0); s.set("127.0.0.1:1981", 0);
    down.set("alldown", s);
    health.setActive(down);
    expect(pickServer(u, new BalanceCtx(req("/")), health)!.port).toBe(1980);
    expect(recorded.includes("all upstream nodes is unhealthy, use default")).toBe(true);
    recordLogs(false);
  });

  it("priority-balancer/sanity.t chash: .1 .2 .4 .3", () => {
    resetBalancers();
    const nodes = new Array<Node>();
    nodes.push(node("127.0.0.1", 1979, 2, 0, 1));
    nodes.push(node("127.0.0.2", 1979, 1, 1, 1));
    nodes.push(node("127.0.0.3", 1979, 2, 2, -1));
    nodes.push(node("127.0.0.4", 1979, 1, 3, -1));
    const u = up(nodes, "vars", "remote_addr", "prio-chash");
    const health = new Health();
    const ctx = new BalanceCtx(req("/hello"));
    pickServer(u, ctx, health);
    const plan = planTries(u, ctx, health);
    const got = new Array<string>();
    for (let i = 0; i < plan.length; i++) got.push(plan[i].host);
    expect(got.join(",")).toBe("127.0.0.1,127.0.0.2,127.0.0.4,127.0.0.3");
  });

  it("healthcheck.t: chash with both nodes down and retries 3 tries 1960 then 1961", () => {
    resetBalancers();
    const nodes = localNodes([1960, 1961], [1, 1]);
    const u = up(nodes, "vars", "remote_addr", "hc-chash");
    u.retries = 3;
    const health = new Health();
    const ctx = new BalanceCtx(req("/"));
    pickServer(u, ctx, health);
    const plan = planTries(u, ctx, health);
    expect(plan.length).toBe(2);
    expect(plan[0].port).toBe(1960);
    expect(plan[1].port).toBe(1961);
  });
});
