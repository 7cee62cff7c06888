// vm.ts: one reset forgets everything a VM learnt between requests.
import { Node, Upstream } from "../config/model";
import { node } from "./nodes";
import { BalanceCtx } from "../balancer/picker";
import { LeastConnFactory, inFlight } from "../balancer/least_conn";
import { pickServer, registerBalancer } from "../balancer/pick";
import { vm } from "../vm";

function up(nodes: Array<Node>): Upstream {
  const u = new Upstream();
  u.type = "least_conn"; u.nodes = nodes; u.cluster = "vm1"; u.fingerprint = "vm1#1";
  return u;
}

describe("VmState.reset", () => {
  it("clears health, balancer state and acceptance", () => {
    registerBalancer("least_conn", new LeastConnFactory());
    const nodes = [node("10.0.0.1", 80, 1, 0), node("10.0.0.2", 80, 1, 1)];
    const u = up(nodes);
    const down = new Map<string, Map<string, i32>>();
    const addrs = new Map<string, i32>();
    addrs.set("10.0.0.2:80", 0);
    down.set("vm1", addrs);
    vm.health.setActive(down);
    vm.accepted = true;
    // 10.0.0.2 is down: both picks go to 10.0.0.1 and stay in flight.
    expect(pickServer(u, new BalanceCtx(null), vm.health)!.address).toBe("10.0.0.1:80");
    expect(pickServer(u, new BalanceCtx(null), vm.health)!.address).toBe("10.0.0.1:80");
    expect(inFlight("vm1", 0, "10.0.0.1:80")).toBe(2);

    vm.reset();
    expect(vm.accepted).toBe(false);
    expect(vm.health.isHealthy(u, nodes[1])).toBe(true);
    expect(inFlight("vm1", 0, "10.0.0.1:80")).toBe(0);
    // Nothing in flight, both healthy: the least loaded first node, then the other.
    const a = pickServer(u, new BalanceCtx(null), vm.health)!.address;
    const b = pickServer(u, new BalanceCtx(null), vm.health)!.address;
    expect(a == b).toBe(false);
  });
});
