// Two control-plane replicas behind one real etcd, each serving its own ADS
// client: through create, update, delete, an invalid object, an invalid
// update (the previous version keeps serving, as in APISIX), a compaction
// one replica missed and an etcd restart, both serve the same xDS versions,
// and those versions carry the change.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Controller } from "../../envoy/control-plane/controller.ts";
import { EtcdClient } from "../../envoy/control-plane/etcd-client.ts";
import { EtcdSource } from "../../envoy/control-plane/etcd.ts";
import { TYPE_URL } from "../../envoy/control-plane/protos.ts";
import { AdsServer, type Logger } from "../../envoy/control-plane/server.ts";
import { until } from "../e2e/stack.ts";
import { AdsWatcher } from "./ads-watcher.ts";
import { stored } from "./admin.ts";
import { CutProxy, EtcdServer, etcdMissing } from "./etcd.ts";

const skip = etcdMissing();
const P = "/apisix";
const TYPES = [TYPE_URL.listener, TYPE_URL.route, TYPE_URL.cluster, TYPE_URL.extensionConfig];

interface Replica {
  name: string;
  server: AdsServer;
  controller: Controller;
  ads: AdsWatcher;
  lines: string[];
}

let etcd: EtcdServer;
let proxy: CutProxy;
let w: EtcdClient;
const reps: Replica[] = [];

async function replica(name: string, endpoint: string): Promise<Replica> {
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const server = new AdsServer({ log });
  const source = new EtcdSource({ endpoints: [endpoint], prefix: P, log, debounceMs: 30, backoffMs: 50, maxBackoffMs: 200 });
  const controller = new Controller({ source, server, log, dnsIntervalMs: 0, healthTickMs: 0 });
  await controller.start();
  const port = await server.listen("127.0.0.1:0");
  return { name, server, controller, lines, ads: new AdsWatcher(port, `envoy-${name}`) };
}

before(async () => {
  if (skip) return;
  etcd = await EtcdServer.start();
  proxy = await CutProxy.start(etcd.clientPort);
  w = new EtcdClient({ endpoints: [etcd.url] });
  await w.put(`${P}/upstreams/u1`, stored("upstreams", "u1", { nodes: { "127.0.0.1:1980": 1 } }));
  await w.put(`${P}/routes/r1`, stored("routes", "r1", { uri: "/one", upstream_id: "u1" }));
  // replica b reaches etcd through a proxy the compaction test cuts
  reps.push(await replica("a", etcd.url), await replica("b", proxy.url));
});
after(async () => {
  for (const r of reps) {
    r.ads.close();
    r.controller.stop();
    await r.server.close();
  }
  w?.close();
  await proxy?.close();
  await etcd?.stop();
});

const ecdsHas = (r: Replica, text: string) => {
  const p = r.ads.lastPush(TYPE_URL.extensionConfig);
  return !!p && p.resources.some((x) => Buffer.from(x.value).includes(text));
};

/** Waits until both replicas' ADS clients hold a push with `text` (absent: without it), then checks they agree. */
async function converge(what: string, text: string, present = true): Promise<string[]> {
  await until(`both replicas: ${what}`, () => reps.every((r) => ecdsHas(r, text) === present) || undefined, 20_000, 20);
  // the other types of the same snapshot follow within the push order
  await until(
    `both replicas on one version: ${what}`,
    () => {
      const v = reps.map((r) => TYPES.map((t) => r.ads.version(t)).join("|"));
      return v[0] === v[1] ? v : undefined;
    },
    10_000,
    20,
  );
  const versions = TYPES.map((t) => reps[0].ads.version(t)!);
  for (const r of reps)
    assert.deepEqual(
      TYPES.map((t) => r.ads.version(t)),
      versions,
      `${r.name}: ${what}`,
    );
  return versions;
}

test("two replicas, one etcd: the same versions through create, update, delete and an invalid object", { skip }, async () => {
  const v0 = await converge("initial", '"r1"');
  assert.ok(v0.every(Boolean));

  await w.put(`${P}/routes/r2`, stored("routes", "r2", { uri: "/two", upstream_id: "u1" }));
  const v1 = await converge("create r2", '"r2"');
  assert.notEqual(v1[3], v0[3], "a new ECDS version");

  await w.put(`${P}/upstreams/u2`, stored("upstreams", "u2", { nodes: { "127.0.0.1:1981": 1 } }));
  await w.put(`${P}/routes/r2`, stored("routes", "r2", { uri: "/two-v2", upstream_id: "u2" }));
  const v2 = await converge("update r2", "/two-v2");
  assert.notEqual(v2[2], v1[2], "a new CDS version for upstream u2");

  await w.delete(`${P}/routes/r1`);
  await converge("delete r1", '"r1"', false);

  // schema-invalid (the filter's validator drops it) and not JSON (the source keeps the previous value)
  await w.put(`${P}/routes/bad`, stored("routes", "bad", { uri: "/bad", upstream_id: "u1", methods: ["FETCH"] }));
  await w.put(`${P}/routes/r2`, "{not json");
  await w.put(`${P}/routes/r3`, stored("routes", "r3", { uri: "/three", upstream_id: "u1" }));
  await converge("r3 after the invalid writes", '"r3"');
  for (const r of reps) {
    assert.ok(!ecdsHas(r, '"bad"'), `${r.name}: the invalid route is not published`);
    assert.ok(ecdsHas(r, "/two-v2"), `${r.name}: r2 keeps its last valid value`);
    assert.ok(
      r.lines.some((l) => l.startsWith("error ") && l.includes("bad") && l.includes("methods")),
      `${r.name}: the dropped route is logged with its field:\n${r.lines.join("\n")}`,
    );
  }
});

test("an invalid update of an existing object keeps its previous version, logged with object and field (APISIX's config_etcd)", { skip }, async () => {
  await w.put(`${P}/upstreams/u3`, stored("upstreams", "u3", { nodes: { "127.0.0.1:1983": 1 } }));
  await w.put(`${P}/routes/r6`, stored("routes", "r6", { uri: "/six", upstream_id: "u3" }));
  await converge("r6", "/six");
  const mark = reps.map((r) => r.lines.length);
  // schema-invalid updates of both: APISIX keeps serving the previous values
  await w.put(`${P}/routes/r6`, stored("routes", "r6", { uri: "/six-v2", upstream_id: "u3", methods: ["FETCH"] }));
  await w.put(`${P}/upstreams/u3`, stored("upstreams", "u3", { nodes: { "127.0.0.1:1984": 1 }, type: "chash", key: "not_a_var" }));
  await w.put(`${P}/routes/r7`, stored("routes", "r7", { uri: "/seven", upstream_id: "u3" }));
  await converge("r7 after the invalid updates", '"r7"');
  reps.forEach((r, i) => {
    const log = r.lines.slice(mark[i]).join("\n");
    assert.ok(ecdsHas(r, "/six") && !ecdsHas(r, "/six-v2"), `${r.name}: r6's previous version serves`);
    assert.ok(ecdsHas(r, "127.0.0.1:1983") && !ecdsHas(r, "127.0.0.1:1984"), `${r.name}: u3's previous version serves`);
    assert.match(log, /error config: etcd .*: routes\[r6\]\.methods\[0\]: "FETCH" matches none/);
    assert.match(log, /error config: etcd .*: the update of routes\[r6\] is invalid; its previous version keeps serving/);
    assert.match(log, /error config: etcd .*: upstreams\[u3\]\.key: /);
    assert.match(log, /the update of upstreams\[u3\] is invalid; its previous version keeps serving/);
    assert.doesNotMatch(log, /upstream u3 does not exist/, "u3 still serves, so r6 and r7 name an existing upstream");
  });
  // a valid update replaces the kept version
  await w.put(`${P}/routes/r6`, stored("routes", "r6", { uri: "/six-v3", upstream_id: "u3" }));
  await w.put(`${P}/upstreams/u3`, stored("upstreams", "u3", { nodes: { "127.0.0.1:1985": 1 } }));
  // Wait for the later of the two puts: the watch delivers them in revision
  // order, but possibly in two events (and two pushes).
  await converge("r6 and u3 valid again", "127.0.0.1:1985");
  for (const r of reps) assert.ok(ecdsHas(r, "/six-v3"), r.name);
});

test("a compaction one replica missed, then an etcd restart: the replicas converge again", { skip }, async () => {
  const b = reps[1];
  proxy.cut();
  await until("b notices the outage", () => b.lines.some((l) => l.includes("keeping the last snapshot")) || undefined, 10_000, 20);
  await w.put(`${P}/routes/r4`, stored("routes", "r4", { uri: "/four", upstream_id: "u1" }));
  const h = await w.put(`${P}/routes/r3`, stored("routes", "r3", { uri: "/three-v2", upstream_id: "u1" }));
  await w.compact(h.revision);
  await until("a sees r4", () => ecdsHas(reps[0], "/three-v2") || undefined, 20_000, 20);
  assert.ok(!ecdsHas(b, '"r4"'), "b, cut off, still serves its last snapshot");
  proxy.heal();
  await converge("after the compaction", "/three-v2");
  assert.ok(
    b.lines.some((l) => l.includes("was compacted") && l.includes("reading everything again")),
    b.lines.join("\n"),
  );

  await etcd.restart();
  await until("a write after the restart", () => w.put(`${P}/routes/r5`, stored("routes", "r5", { uri: "/five", upstream_id: "u1" })), 10_000, 100);
  await converge("after the etcd restart", '"r5"');
});
