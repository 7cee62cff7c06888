// APISIX's deployment.etcd with TLS (mutual) and a user/password, against a
// real etcd that requires both.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { EtcdClient } from "../../envoy/control-plane/etcd-client.ts";
import { EtcdSource, type EtcdDocument } from "../../envoy/control-plane/etcd.ts";
import { until } from "../e2e/stack.ts";
import { stored } from "./admin.ts";
import { EtcdServer, etcdMissing } from "./etcd.ts";

const skip = etcdMissing();

let etcd: EtcdServer;
before(async () => {
  if (skip) return;
  etcd = await EtcdServer.start({ tls: true });
  etcd.enableAuth("root", "s3cret");
});
after(async () => {
  await etcd?.stop();
});

const tlsOpts = () => ({ endpoints: [etcd.url], cacert: etcd.tls!.ca, cert: etcd.tls!.clientCert, key: etcd.tls!.clientKey });

test("https endpoint with a client certificate and user/password: read, watch, token renewal after a restart", { skip }, async () => {
  const w = new EtcdClient({ ...tlsOpts(), user: "root", password: "s3cret" });
  await w.put("/apisix/routes/1", stored("routes", "1", { uri: "/a", upstream: { nodes: { "127.0.0.1:1980": 1 } } }));
  const docs: EtcdDocument[] = [];
  const errors: string[] = [];
  const src = new EtcdSource({
    ...tlsOpts(),
    user: "root",
    password: "s3cret",
    debounceMs: 20,
    backoffMs: 50,
    maxBackoffMs: 200,
    log: { info: () => {}, warn: () => {}, error: (m) => errors.push(m) },
  });
  try {
    await src.start((d) => docs.push(d));
    assert.deepEqual(
      docs[0].routes.map((r) => r.id),
      ["1"],
    );
    // simple tokens live in etcd's memory: after a restart the old one is rejected and must be renewed
    await etcd.restart();
    await w.put("/apisix/routes/2", stored("routes", "2", { uri: "/b", upstream: { nodes: { "127.0.0.1:1980": 1 } } })).catch(async () => {
      await w.put("/apisix/routes/2", stored("routes", "2", { uri: "/b", upstream: { nodes: { "127.0.0.1:1980": 1 } } }));
    });
    await until("route 2 after the restart", () => docs.at(-1)!.routes.length === 2 || undefined, 20_000, 20);
  } finally {
    await src.stop();
    w.close();
  }
});

test("a wrong password or a missing client certificate is logged, and nothing is served", { skip }, async () => {
  for (const [what, opts, expect] of [
    ["wrong password", { ...tlsOpts(), user: "root", password: "nope" }, /authentication failed/],
    ["no client certificate", { endpoints: [etcd.url], cacert: etcd.tls!.ca, user: "root", password: "s3cret" }, /UNAVAILABLE|certificate|handshake/i],
  ] as const) {
    const errors: string[] = [];
    let docs = 0;
    const src = new EtcdSource({
      ...opts,
      backoffMs: 50,
      maxBackoffMs: 100,
      log: { info: () => {}, warn: (m) => errors.push(m), error: (m) => errors.push(m) },
    });
    void src.start(() => docs++);
    try {
      await until(`${what} logged`, () => errors.length >= 2 || undefined, 10_000, 20);
      assert.match(errors[0], expect, `${what}: ${errors[0]}`);
      assert.match(errors[0], /nothing to serve yet; retry 1 in 50 ms$/);
      assert.equal(docs, 0);
    } finally {
      await src.stop();
    }
  }
});

test("option shapes: TLS files need https, user and password go together", () => {
  assert.throws(() => new EtcdClient({ endpoints: ["http://127.0.0.1:2379"], cacert: "/dev/null" }), /need https:\/\/ endpoints/);
  assert.throws(() => new EtcdClient({ endpoints: ["http://127.0.0.1:2379"], user: "root" }), /--etcd-user and --etcd-password go together/);
  assert.throws(() => new EtcdClient({ endpoints: ["ftp://x"] }), /scheme must be http or https/);
  assert.throws(() => new EtcdClient({ endpoints: ["https://127.0.0.1:2379"], cacert: "/nonexistent/ca.pem" }), /--etcd-cacert: cannot read/);
});
