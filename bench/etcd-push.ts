// Push latency from APISIX's etcd to ADS clients (issue 11 §2; not part of
// npm test or npm run bench):
//
//   node --import tsx bench/etcd-push.ts [--replicas 2] [--routes 10000] [--upstreams 1000] [--changes 10]
//
// One real etcd (Debian's etcd-server, as tests/etcd start it) and N
// control-plane replicas started as users start them (main.ts --etcd, child
// processes), each with one ADS client that subscribes and ACKs like Envoy.
// Measured from the etcd write (the put is sent) to the DiscoveryResponse
// (ECDS) that carries it, at every replica's client:
//   bulk        10,000 route puts in one burst (64 in flight, as an Admin API
//               client importing a config would) -> the push holding all of them
//   one change  one route's put among 10,000 -> the push carrying it
// and that all replicas serve the same ECDS/CDS versions. The machine's load
// average is printed with the figures: they are wall-clock times. So is the
// CPU time each replica process used meanwhile (all its threads, from
// /proc/<pid>/stat), which moves much less with the load: on an idle machine
// a change cannot take less wall time than its CPU time minus what the main
// thread and the validation worker overlap, plus the 100 ms debounce.
import fs from "node:fs";
import os from "node:os";
import { EtcdClient } from "../envoy/control-plane/etcd-client.ts";
import { TYPE_URL } from "../envoy/control-plane/protos.ts";
import type { Proc } from "../tests/e2e/stack.ts";
import type { Push } from "../tests/etcd/ads-watcher.ts";
import { EtcdServer } from "../tests/etcd/etcd.ts";
import { startReplica } from "../tests/etcd/replica.ts";
import { arg, countText, fmt, ms, putAll, route, upstream } from "../tests/etcd/workload.ts";

const REPLICAS = Number(arg("--replicas", "2"));
const ROUTES = Number(arg("--routes", "10000"));
const UPSTREAMS = Number(arg("--upstreams", "1000"));
const CHANGES = Number(arg("--changes", "10"));
const PREFIX = "/apisix";

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
const TICK_MS = 10; // USER_HZ = 100 on Linux
/** CPU time (user + system, every thread) a process has used, in ms. */
const cpuMs = (pid: number) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
};
const ecds = (p: Push) => p.typeUrl === TYPE_URL.extensionConfig;

const running: Proc[] = [];

async function main() {
  const etcd = await EtcdServer.start();
  const w = new EtcdClient({ endpoints: [etcd.url] });
  const out: string[] = [];
  const say = (s: string) => {
    console.log(s);
    out.push(s);
  };
  try {
    say(
      `${REPLICAS} replicas on one etcd; ${ROUTES} routes over ${UPSTREAMS} upstreams; node ${process.version}; ${os.cpus().length} cores (${os.cpus()[0]?.model}); load average at start ${load()}`,
    );
    await putAll(
      w,
      Array.from({ length: UPSTREAMS }, (_, i) => [`${PREFIX}/upstreams/u${i}`, upstream(i)]),
    );
    const reps = await Promise.all(Array.from({ length: REPLICAS }, (_, k) => startReplica(etcd, k + 1, PREFIX, running, 300_000)));
    await Promise.all(reps.map((r) => r.ads.waitFor(ecds, 300_000)));

    // (a) bulk
    const from = reps.map((r) => r.ads.pushes.length);
    const cpu0 = reps.map((r) => cpuMs(r.proc.child.pid!));
    const t0 = performance.now();
    await putAll(
      w,
      Array.from({ length: ROUTES }, (_, i) => [`${PREFIX}/routes/r${i}`, route(i, UPSTREAMS)]),
    );
    const tLast = performance.now();
    const all = await Promise.all(reps.map((r, k) => r.ads.waitFor((p) => ecds(p) && countText(p, '"/svc') === ROUTES, 900_000, from[k])));
    const pushes = reps.map((r, k) => r.ads.pushes.slice(from[k]).filter(ecds).length);
    const bulkCpu = reps.map((r, k) => cpuMs(r.proc.child.pid!) - cpu0[k]);
    say(
      `(a) bulk: ${ROUTES} route puts took ${ms(tLast - t0)}; first put -> the ECDS push holding all of them: ${all.map((p) => ms(p.at - t0)).join(", ")} (last put -> push: ${all.map((p) => ms(p.at - tLast)).join(", ")}); ECDS pushes on the way: ${pushes.join(", ")}; CPU time per replica meanwhile: ${bulkCpu.map(ms).join(", ")}; load average ${load()}`,
    );
    // let the replicas settle (pushes ACKed) before timing single changes
    await new Promise((r) => setTimeout(r, 2000));

    // (b) one change among ROUTES
    const lat: number[] = [];
    const cpu: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      const i = (c * 7919) % ROUTES;
      const tag = `change-${c}`;
      const from = reps.map((r) => r.ads.pushes.length);
      const c0 = reps.map((r) => cpuMs(r.proc.child.pid!));
      const t = performance.now();
      await w.put(`${PREFIX}/routes/r${i}`, route(i, UPSTREAMS, tag));
      const ps = await Promise.all(reps.map((r, k) => r.ads.waitFor((p) => ecds(p) && countText(p, tag) > 0, 120_000, from[k])));
      for (const p of ps) lat.push(p.at - t);
      reps.forEach((r, k) => cpu.push(cpuMs(r.proc.child.pid!) - c0[k]));
      await new Promise((r) => setTimeout(r, 300));
    }
    say(
      `(b) one route changed among ${ROUTES}: put -> ECDS push at every replica's client: ${fmt(lat)}; CPU time per replica and change: ${fmt(cpu)}; load average ${load()}`,
    );
    const versions = new Set(reps.map((r) => `${r.ads.version(TYPE_URL.extensionConfig)}|${r.ads.version(TYPE_URL.cluster)}`));
    say(`ECDS|CDS versions served: ${[...versions].join(" / ")} (${versions.size === 1 ? "identical on every replica" : "DIFFERENT"})`);
    for (const r of reps) {
      r.ads.close();
      await r.proc.stop();
    }
  } finally {
    w.close();
    await etcd.stop();
  }
  console.log(`\n${out.join("\n")}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    for (const p of running) console.error(`--- ${p.name} (last lines)\n${p.out.split("\n").slice(-15).join("\n")}`);
    process.exit(1);
  },
);
