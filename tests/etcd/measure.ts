// The scale-out measurement of docs/etcd.md (not part of npm test):
//
//   node --import tsx tests/etcd/measure.ts [--replicas 1,2,4] [--routes 10000] [--upstreams 1000] [--changes 10]
//
// One real etcd; N control-plane replicas (child processes, started as users
// start them: main.ts --etcd ...), each with one ADS client that ACKs like
// Envoy. Measured, per replica count:
//   cold start      replica process start -> first ECDS push holding every route
//   bulk write      first of 10,000 route puts -> the ECDS push holding all of them
//   one change      put of one route among 10,000 -> the ECDS push carrying it (each replica)
// and that all replicas serve the same ECDS/CDS versions.
import { TYPE_URL } from "../../envoy/control-plane/protos.ts";
import { EtcdClient } from "../../envoy/control-plane/etcd-client.ts";
import type { Proc } from "../e2e/stack.ts";
import type { Push } from "./ads-watcher.ts";
import { EtcdServer } from "./etcd.ts";
import { type Replica, startReplica } from "./replica.ts";
import { arg, countText, fmt, ms, putAll, route, upstream } from "./workload.ts";

const REPLICAS = arg("--replicas", "1,2,4").split(",").map(Number);
const ROUTES = Number(arg("--routes", "10000"));
const UPSTREAMS = Number(arg("--upstreams", "1000"));
const CHANGES = Number(arg("--changes", "10"));
const PREFIX = "/apisix";
const BULK = "/bulk";

const hasText = (p: Push, text: string) => p.resources.some((r) => Buffer.from(r.value).includes(text));

async function main() {
  const etcd = await EtcdServer.start();
  const w = new EtcdClient({ endpoints: [etcd.url] });
  const results: string[] = [];
  const say = (s: string) => {
    console.log(s);
    results.push(s);
  };
  try {
    say(`etcd ${etcd.url}; ${ROUTES} routes, ${UPSTREAMS} upstreams; node ${process.version}; ${(await import("node:os")).cpus().length} cores`);
    await putAll(
      w,
      Array.from({ length: UPSTREAMS }, (_, i) => [`${PREFIX}/upstreams/u${i}`, upstream(i)]),
    );

    await putAll(
      w,
      Array.from({ length: ROUTES }, (_, i) => [`${PREFIX}/routes/r${i}`, route(i, UPSTREAMS)]),
    );
    for (const n of REPLICAS) {
      const reps: Replica[] = [];
      const cold: number[] = [];
      const reads: number[] = [];
      await Promise.all(
        Array.from({ length: n }, async (_, k) => {
          const r = await startReplica(etcd, k + 1, PREFIX, running, 120_000);
          const p = await r.ads.waitFor((x) => x.typeUrl === TYPE_URL.extensionConfig && countText(x, '"/svc') === ROUTES, 300_000);
          cold.push(p.at - r.startedAt);
          const read = r.proc.out.match(/etcd: read \d+ keys .* in (\d+) ms/);
          if (read) reads.push(Number(read[1]));
          reps.push(r);
        }),
      );
      say(`${n} replica(s): cold start (process start -> first ECDS push with ${ROUTES} routes): ${fmt(cold)}; of which the etcd full read: ${fmt(reads)}`);
      const lat: number[] = [];
      for (let c = 0; c < CHANGES; c++) {
        const i = (c * 7919) % ROUTES;
        const tag = `change-${n}-${c}`;
        const from = reps.map((r) => r.ads.pushes.length);
        const t0 = performance.now();
        await w.put(`${PREFIX}/routes/r${i}`, route(i, UPSTREAMS, tag));
        const ps = await Promise.all(reps.map((r, k) => r.ads.waitFor((x) => x.typeUrl === TYPE_URL.extensionConfig && hasText(x, tag), 60_000, from[k])));
        for (const p of ps) lat.push(p.at - t0);
        // let every replica settle (ACKs) before the next change
        await new Promise((res) => setTimeout(res, 200));
      }
      say(`${n} replica(s): one route changed among ${ROUTES}: put -> ECDS push, every replica: ${fmt(lat)}`);
      const versions = new Set(reps.map((r) => `${r.ads.version(TYPE_URL.extensionConfig)}|${r.ads.version(TYPE_URL.cluster)}`));
      say(`${n} replica(s): ECDS|CDS versions served: ${[...versions].join(" / ")} (${versions.size === 1 ? "identical" : "DIFFERENT"})`);
      for (const r of reps) {
        r.ads.close();
        await r.proc.stop();
      }
    }
    // bulk: one replica running on an empty prefix, then 10,000 route puts (and the upstreams they use)
    await putAll(
      w,
      Array.from({ length: UPSTREAMS }, (_, i) => [`${BULK}/upstreams/u${i}`, upstream(i)]),
    );
    if (!process.argv.includes("--no-bulk")) {
      const r = await startReplica(etcd, 0, BULK, running, 120_000);
      await r.ads.waitFor((p) => p.typeUrl === TYPE_URL.extensionConfig);
      const from = r.ads.pushes.length;
      const t0 = performance.now();
      await putAll(
        w,
        Array.from({ length: ROUTES }, (_, i) => [`${BULK}/routes/r${i}`, route(i, UPSTREAMS)]),
      );
      const tWritten = performance.now();
      // every route's uri is "/svc<i>/*": the push holding ROUTES of them holds them all
      const p = await r.ads.waitFor((x) => x.typeUrl === TYPE_URL.extensionConfig && countText(x, '"/svc') === ROUTES, 900_000, from);
      const ecds = r.ads.pushes.slice(from).filter((x) => x.typeUrl === TYPE_URL.extensionConfig).length;
      say(
        `bulk write of ${ROUTES} routes: puts took ${ms(tWritten - t0)}; first put -> ECDS push with all routes ${ms(p.at - t0)} (last put -> push ${ms(p.at - tWritten)}); ${ecds} ECDS pushes on the way`,
      );
      await r.proc.stop();
      r.ads.close();
    }
  } finally {
    w.close();
    await etcd.stop();
  }
  console.log(`\n${results.join("\n")}`);
}

const running: Proc[] = [];
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    for (const p of running) console.error(`--- ${p.name} (last lines)\n${p.out.split("\n").slice(-15).join("\n")}`);
    process.exit(1);
  },
);
