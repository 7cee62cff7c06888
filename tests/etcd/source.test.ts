// EtcdSource against a real etcd (Debian's etcd-server): the documents it
// hands the controller for what APISIX's Admin API writes, and how it lives
// through compaction, an unreachable etcd, an etcd restart, auth and TLS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { EtcdClient } from "../../envoy/control-plane/etcd-client.ts";
import { EtcdSource, type EtcdDocument, type EtcdSourceOptions } from "../../envoy/control-plane/etcd.ts";
import { until } from "../e2e/stack.ts";
import { stored } from "./admin.ts";
import { CutProxy, EtcdServer, etcdMissing } from "./etcd.ts";

const skip = etcdMissing();

let etcd: EtcdServer;
let w: EtcdClient;
before(async () => {
  if (skip) return;
  etcd = await EtcdServer.start();
  w = new EtcdClient({ endpoints: [etcd.url] });
});
after(async () => {
  w?.close();
  await etcd?.stop();
});

interface Lines {
  info: string[];
  warn: string[];
  error: string[];
}

/** A started source plus everything it handed over and logged. */
async function source(prefix: string, extra: Partial<EtcdSourceOptions> = {}) {
  const docs: EtcdDocument[] = [];
  const lines: Lines = { info: [], warn: [], error: [] };
  const log = { info: (m: string) => lines.info.push(m), warn: (m: string) => lines.warn.push(m), error: (m: string) => lines.error.push(m) };
  const src = new EtcdSource({ endpoints: [etcd.url], prefix, log, debounceMs: 30, maxDelayMs: 300, backoffMs: 50, maxBackoffMs: 200, ...extra });
  await src.start((d) => docs.push(d));
  const last = () => docs[docs.length - 1];
  const waitFor = (what: string, pred: (d: EtcdDocument) => boolean, ms = 10_000) =>
    until(what, () => (docs.length && pred(last()) ? last() : undefined), ms, 10);
  return { src, docs, lines, last, waitFor };
}

const ids = (objs: Record<string, unknown>[]) => objs.map((o) => o.id);
const routeTo = (uri: string, node: string) => ({ uri, upstream: { type: "roundrobin", nodes: { [node]: 1 } } });

test("full read: the Admin API's objects, ids from the keys, in key order; other keys ignored", { skip }, async () => {
  const p = "/full";
  await w.put(`${p}/routes/`, "init_dir"); // APISIX's CLI marks each directory this way
  await w.put(`${p}/routes/2`, stored("routes", "2", routeTo("/b", "127.0.0.1:1981")));
  await w.put(`${p}/routes/1`, stored("routes", "1", { uri: "/a", upstream_id: "u1" }));
  await w.put(`${p}/upstreams/u1`, stored("upstreams", "u1", { nodes: { "127.0.0.1:1980": 1 } }));
  await w.put(`${p}/services/s1`, stored("services", "s1", { upstream_id: "u1" }));
  await w.put(`${p}/routes/3`, stored("routes", "other-id", routeTo("/c", "127.0.0.1:1982"))); // id in the value disagrees: the key wins, as in APISIX
  await w.put(`${p}/consumers/jack`, JSON.stringify({ username: "jack" }));
  await w.put(`${p}/plugin_metadata/x`, "{}");
  await w.put(`${p}/data_plane/server_info/abc`, "{}");
  await w.put(`${p}x/routes/9`, stored("routes", "9", routeTo("/x", "127.0.0.1:1"))); // shares the prefix's first bytes only
  const { src, docs, lines } = await source(p);
  try {
    assert.equal(docs.length, 1);
    const d = docs[0];
    assert.deepEqual(ids(d.routes), ["1", "2", "3"]);
    assert.deepEqual(ids(d.upstreams), ["u1"]);
    assert.deepEqual(ids(d.services), ["s1"]);
    assert.deepEqual(d.ssls, []);
    assert.equal(d.routes[0].upstream_id, "u1");
    assert.equal(d.routes[0].create_time, 1764547200, "Admin API fields are handed over as stored");
    assert.deepEqual(d.routes[1].upstream, { type: "roundrobin", hash_on: "vars", scheme: "http", pass_host: "pass", nodes: { "127.0.0.1:1981": 1 } });
    assert.match(d.origin, new RegExp(`^etcd ${etcd.url}/full rev \\d+$`));
    assert.equal(d.revision, src.revision);
    assert.deepEqual(lines.warn.filter((l) => /section/.test(l)).sort(), [
      "etcd: /full/consumers/ is an APISIX section this data plane does not use; its objects are ignored",
      "etcd: /full/plugin_metadata/ is an APISIX section this data plane does not use; its objects are ignored",
    ]);
    assert.deepEqual(lines.error, []);
  } finally {
    await src.stop();
  }
});

test("watch: create, update, delete each become a document; a burst of writes becomes one", { skip }, async () => {
  const p = "/watch";
  // 50 puts from one client land within a few ms; 150 ms of quiet is generous on a loaded CI machine
  const { src, docs, waitFor } = await source(p, { debounceMs: 150, maxDelayMs: 5000 });
  try {
    assert.deepEqual(docs[0].routes, []);
    await w.put(`${p}/routes/r1`, stored("routes", "r1", routeTo("/a", "127.0.0.1:1980")));
    await waitFor("create", (d) => d.routes.length === 1);
    await w.put(`${p}/routes/r1`, stored("routes", "r1", routeTo("/a", "127.0.0.1:1990")));
    const upd = await waitFor("update", (d) => JSON.stringify(d.routes[0]?.upstream).includes("1990"));
    assert.deepEqual(ids(upd.routes), ["r1"]);
    await w.delete(`${p}/routes/r1`);
    await waitFor("delete", (d) => d.routes.length === 0);

    const before = docs.length;
    const writes = [];
    for (let i = 0; i < 50; i++)
      writes.push(w.put(`${p}/routes/b${String(i).padStart(2, "0")}`, stored("routes", `b${i}`, routeTo(`/b${i}`, "127.0.0.1:1980"))));
    await Promise.all(writes);
    const doc = await waitFor("burst", (d) => d.routes.length === 50);
    await new Promise((r) => setTimeout(r, 150)); // a straggling second document would show up here
    assert.equal(docs.length - before, 1, `50 writes in a burst: ${docs.length - before} documents`);
    assert.equal(doc.routes[0].id, "b00");
    assert.equal(doc.revision, src.revision);
  } finally {
    await src.stop();
  }
});

test("constant writes still push at least once per maxDelay", { skip }, async () => {
  const p = "/steady";
  const { src, docs } = await source(p, { debounceMs: 100, maxDelayMs: 250 });
  try {
    const t0 = Date.now();
    for (let i = 0; Date.now() - t0 < 1000; i++) {
      await w.put(`${p}/routes/r`, stored("routes", "r", routeTo(`/v${i}`, "127.0.0.1:1980")));
      await new Promise((r) => setTimeout(r, 20)); // never 100 ms quiet
    }
    assert.ok(docs.length >= 4, `1 s of writes every 20 ms with maxDelay 250 ms: ${docs.length - 1} documents`);
  } finally {
    await src.stop();
  }
});

test("a slow sink gets one document at a time; changes meanwhile are coalesced into the next", { skip }, async () => {
  const p = "/slow";
  const seen: number[] = [];
  let busy = 0,
    overlapped = false;
  let gate: Promise<void> | undefined;
  let release = () => {};
  const src = new EtcdSource({ endpoints: [etcd.url], prefix: p, debounceMs: 10, log: { info() {}, warn() {}, error() {} } });
  await src.start(async (d) => {
    if (busy++) overlapped = true;
    seen.push(d.routes.length);
    await gate;
    busy--;
  });
  try {
    // the controller is busy applying the document with route 0 ...
    gate = new Promise((r) => (release = r));
    await w.put(`${p}/routes/0`, stored("routes", "0", routeTo("/0", "127.0.0.1:1980")));
    await until("the document with route 0 is being applied", () => seen.at(-1) === 1 || undefined, 5000, 5);
    // ... while three more writes arrive and their debounce runs out
    let last = 0;
    for (let i = 1; i < 4; i++) last = (await w.put(`${p}/routes/${i}`, stored("routes", String(i), routeTo(`/${i}`, "127.0.0.1:1980")))).revision;
    await until("the source saw the three writes", () => src.revision >= last || undefined, 5000, 5);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, [0, 1], "nothing is handed over while the sink is busy");
    release();
    await until("all four routes", () => seen.at(-1) === 4 || undefined, 5000, 5);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, [0, 1, 4], "the three writes arrive as one document");
    assert.equal(overlapped, false, "the sink never runs twice at once");
  } finally {
    release();
    await src.stop();
  }
});

test("an invalid value cancels that update: the previous value stays, others apply", { skip }, async () => {
  const p = "/invalid";
  await w.put(`${p}/routes/1`, stored("routes", "1", routeTo("/a", "127.0.0.1:1980")));
  await w.put(`${p}/routes/2`, "not json"); // no previous value: not served
  const { src, lines, waitFor, last } = await source(p);
  try {
    assert.deepEqual(ids(last().routes), ["1"]);
    assert.ok(
      lines.error.some((l) => l.startsWith(`etcd: ${p}/routes/2 (revision`) && l.includes("not JSON") && l.endsWith("; ignored")),
      lines.error.join("\n"),
    );
    await w.put(`${p}/routes/1`, "[1,2]");
    await w.put(`${p}/routes/3`, stored("routes", "3", routeTo("/c", "127.0.0.1:1980")));
    const d = await waitFor("route 3", (x) => x.routes.length === 2);
    assert.deepEqual(ids(d.routes), ["1", "3"]);
    assert.equal(d.routes[0].uri, "/a", "route 1 keeps its last valid value");
    assert.ok(
      lines.error.some((l) => l.includes(`${p}/routes/1`) && l.includes("it should be an object") && l.includes("keeping its previous value")),
      lines.error.join("\n"),
    );
  } finally {
    await src.stop();
  }
});

test("private keys stored encrypted by the Admin API are decrypted with the keyring; an unreadable one drops the object", { skip }, async () => {
  const p = "/keys";
  const pem = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n";
  const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  await w.put(`${p}/ssls/c1`, stored("ssls", "c1", { type: "client", cert, key: pem }));
  await w.put(`${p}/upstreams/u1`, stored("upstreams", "u1", { nodes: { "127.0.0.1:1980": 1 }, scheme: "https", tls: { client_cert: cert, client_key: pem } }));
  await w.put(
    `${p}/routes/r1`,
    stored("routes", "r1", { uri: "/r", upstream: { nodes: { "127.0.0.1:1980": 1 }, tls: { client_cert: cert, client_key: pem } } }),
  );
  // encrypted with a keyring entry this control plane was not given
  const foreign = JSON.parse(stored("ssls", "c2", { type: "client", cert, key: pem }));
  const { encryptPkey } = await import("../../envoy/control-plane/etcd-keyring.ts");
  foreign.key = encryptPkey(pem, ["0123456789abcdef"]);
  await w.put(`${p}/ssls/c2`, JSON.stringify(foreign));
  assert.ok(!JSON.parse(stored("ssls", "c1", { type: "client", cert, key: pem })).key.startsWith("---"), "the fixture stores ciphertext, as APISIX does");
  const { src, last, lines } = await source(p);
  try {
    const d = last();
    assert.deepEqual(ids(d.ssls), ["c1"]);
    assert.equal(d.ssls[0].key, pem);
    assert.equal((d.upstreams[0].tls as { client_key: string }).client_key, pem);
    assert.equal((d.routes[0].upstream as { tls: { client_key: string } }).tls.client_key, pem);
    assert.ok(
      lines.error.some((l) => l.includes(`${p}/ssls/c2`) && l.includes("key: no --data-encryption-keyring entry decrypts it")),
      lines.error.join("\n"),
    );
  } finally {
    await src.stop();
  }
});

test("etcd unreachable: last document stays, logged, reconnects with backoff; a compaction meanwhile means a full read", { skip }, async () => {
  const p = "/outage";
  const proxy = await CutProxy.start(etcd.clientPort);
  await w.put(`${p}/routes/keep`, stored("routes", "keep", routeTo("/keep", "127.0.0.1:1980")));
  await w.put(`${p}/routes/gone`, stored("routes", "gone", routeTo("/gone", "127.0.0.1:1980")));
  const { src, docs, lines, waitFor } = await source(p, { endpoints: [proxy.url] });
  try {
    proxy.cut();
    await until("the outage logged", () => lines.error.some((l) => l.includes("keeping the last snapshot")), 10_000, 10);
    const seen = docs.length;
    // meanwhile the Admin API goes on writing, and etcd compacts the history
    await w.delete(`${p}/routes/gone`);
    await w.put(`${p}/routes/new`, stored("routes", "new", routeTo("/new", "127.0.0.1:1980")));
    const h = await w.put(`${p}/routes/keep`, stored("routes", "keep", routeTo("/keep2", "127.0.0.1:1980")));
    await w.compact(h.revision);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(docs.length, seen, "nothing is handed over while etcd is unreachable");
    assert.ok(
      lines.warn.some((l) => /retry [2-9]/.test(l)),
      `retries logged:\n${lines.warn.join("\n")}`,
    );
    proxy.heal();
    const d = await waitFor("the state after the outage", (x) => x.routes.length === 2 && x.routes.some((r) => r.uri === "/keep2"));
    assert.deepEqual(ids(d.routes), ["keep", "new"]);
    assert.ok(
      lines.warn.some((l) => l.includes("was compacted") && l.includes("reading everything again")),
      lines.warn.join("\n"),
    );
    assert.equal(src.revision, d.revision);
    assert.ok(d.revision >= h.revision);
  } finally {
    await src.stop();
    await proxy.close();
  }
});

test("etcd restart (SIGKILL, same data): the watch resumes where it was, nothing lost", { skip }, async () => {
  const p = "/restart";
  await w.put(`${p}/upstreams/u1`, stored("upstreams", "u1", { nodes: { "127.0.0.1:1980": 1 } }));
  const { src, lines, waitFor } = await source(p);
  try {
    await etcd.restart();
    // the writer's own connection broke too: its first call may fail
    await until("a write after the restart", () => w.put(`${p}/upstreams/u2`, stored("upstreams", "u2", { nodes: { "127.0.0.1:1981": 1 } })), 10_000, 100);
    await waitFor("u2 after the restart", (d) => d.upstreams.length === 2, 20_000);
    assert.ok(
      lines.info.some((l) => l.startsWith(`etcd: connected to ${etcd.url}; watching ${p}/ from revision`)),
      lines.info.join("\n"),
    );
    assert.equal(lines.info.filter((l) => l.startsWith("etcd: read ")).length, 1, "resumed the watch, no second full read");
  } finally {
    await src.stop();
  }
});

test("several endpoints: a dead first endpoint fails over to the next", { skip }, async () => {
  const p = "/failover";
  await w.put(`${p}/routes/1`, stored("routes", "1", routeTo("/a", "127.0.0.1:1980")));
  const dead = await CutProxy.start(etcd.clientPort);
  dead.cut();
  const { src, last, lines } = await source(p, { endpoints: [dead.url, etcd.url] });
  try {
    assert.deepEqual(ids(last().routes), ["1"]);
    assert.ok(
      lines.error.some((l) => l.startsWith(`etcd: ${dead.url}:`)),
      lines.error.join("\n"),
    );
  } finally {
    await src.stop();
    await dead.close();
  }
});
