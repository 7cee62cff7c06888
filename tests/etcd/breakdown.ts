// Where the time of "one route changed among 10,000" goes, in one process
// (not part of npm test):
//
//   node --import tsx tests/etcd/breakdown.ts [--routes 10000] [--changes 5]
//
// put -> the watch event -> the source hands the document over -> the
// controller has validated, translated and published it -> the ADS client
// holds the push.
import { Controller } from "../../envoy/control-plane/controller.ts";
import { EtcdClient } from "../../envoy/control-plane/etcd-client.ts";
import { EtcdSource, type EtcdDocument } from "../../envoy/control-plane/etcd.ts";
import { TYPE_URL } from "../../envoy/control-plane/protos.ts";
import { AdsServer, type Logger } from "../../envoy/control-plane/server.ts";
import { AdsWatcher } from "./ads-watcher.ts";
import { stored } from "./admin.ts";
import { EtcdServer } from "./etcd.ts";
import { arg, route } from "./workload.ts";

const ROUTES = Number(arg("--routes", "10000"));
const UPSTREAMS = Math.max(1, Math.round(ROUTES / 10));
const CHANGES = Number(arg("--changes", "5"));

async function main() {
  const etcd = await EtcdServer.start();
  const w = new EtcdClient({ endpoints: [etcd.url] });
  const put = async (items: [string, string][]) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (i < items.length) {
          const [k, v] = items[i++];
          await w.put(k, v);
        }
      }),
    );
  };
  await put(
    Array.from({ length: UPSTREAMS }, (_, i) => [`/apisix/upstreams/u${i}`, stored("upstreams", `u${i}`, { nodes: { [`127.0.0.1:${20000 + i}`]: 1 } })]),
  );
  await put(Array.from({ length: ROUTES }, (_, i) => [`/apisix/routes/r${i}`, route(i, UPSTREAMS)]));

  const marks: { at: number; what: string }[] = [];
  const mark = (what: string) => marks.push({ at: performance.now(), what });
  const log: Logger = { info: (m) => mark(m), warn: (m) => mark(m), error: (m) => mark(m) };
  const server = new AdsServer({ log });
  const source = new EtcdSource({ endpoints: [etcd.url], log });
  let sinkAt = 0;
  // the controller's own sink, with a timestamp when the document is handed over
  const controller = new Controller({
    source: {
      description: source.description,
      stop: () => void source.stop(),
      start: (sink) =>
        source.start((d: EtcdDocument) => {
          sinkAt = performance.now();
          return sink(d);
        }),
    },
    server,
    log,
    dnsIntervalMs: 0,
    healthTickMs: 0,
  });
  const t0 = performance.now();
  await controller.start();
  const port = await server.listen("127.0.0.1:0");
  const ads = new AdsWatcher(port, "envoy");
  await ads.waitFor((p) => p.typeUrl === TYPE_URL.extensionConfig);
  console.log(`start with ${ROUTES} routes: ${Math.round(performance.now() - t0)} ms`);
  for (const m of marks) console.log(`  +${Math.round(m.at - t0)} ms ${m.what.slice(0, 140)}`);
  for (let c = 0; c < CHANGES; c++) {
    const tag = `chg${c}`;
    marks.length = 0;
    const from = ads.pushes.length;
    const t = performance.now();
    await w.put(`/apisix/routes/r${c * 17}`, route(c * 17, UPSTREAMS, tag));
    const p = await ads.waitFor((x) => x.typeUrl === TYPE_URL.extensionConfig && x.resources.some((r) => Buffer.from(r.value).includes(tag)), 120_000, from);
    const loaded = marks.find((m) => m.what.startsWith("config: loaded"));
    const snap = marks.find((m) => m.what.startsWith("xds: snapshot"));
    const rel = (x?: number) => (x ? `${Math.round(x - t)} ms` : "?");
    console.log(
      `change ${c}: document handed over ${rel(sinkAt)}, validated ("config: loaded") ${rel(loaded?.at)}, snapshot set ${rel(snap?.at)}, ECDS push received ${rel(p.at)}`,
    );
  }
  ads.close();
  controller.stop();
  await server.close();
  w.close();
  await etcd.stop();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
