// ADS over a real gRPC connection on 127.0.0.1 (ephemeral port).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type grpc from "@grpc/grpc-js";
import { AdsServer, adsClient, type AdsEvent, type DiscoveryRequest } from "../../envoy/control-plane/server.ts";
import { quietLog } from "./fixtures.ts";
import { Controller } from "../../envoy/control-plane/controller.ts";
import { decodeMessage, TYPE_URL } from "../../envoy/control-plane/protos.ts";
import { translate } from "../../envoy/control-plane/translate.ts";
import type { ApisixConfig } from "../../envoy/control-plane/apisix/index.ts";

interface Resp {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: { type_url: string; value: Buffer }[];
}

class Client {
  private stream: grpc.ClientDuplexStream<DiscoveryRequest, Record<string, unknown>>;
  private client: ReturnType<typeof adsClient>;
  private queue: Resp[] = [];
  private waiters: ((r: Resp) => void)[] = [];
  ended = false;
  constructor(
    port: number,
    readonly nodeId: string,
  ) {
    this.client = adsClient(`127.0.0.1:${port}`);
    this.stream = this.client.StreamAggregatedResources();
    this.stream.on("data", (r: Record<string, unknown>) => {
      const w = this.waiters.shift();
      if (w) w(r as unknown as Resp);
      else this.queue.push(r as unknown as Resp);
    });
    this.stream.on("error", () => {});
    this.stream.on("end", () => (this.ended = true));
  }
  send(typeUrl: string, o: { version?: string; nonce?: string; names?: string[]; error?: string; node?: boolean } = {}) {
    this.stream.write({
      version_info: o.version ?? "",
      node: o.node ? { id: this.nodeId, cluster: "test" } : null,
      resource_names: o.names ?? [],
      type_url: typeUrl,
      response_nonce: o.nonce ?? "",
      error_detail: o.error ? { code: 3, message: o.error } : null,
    });
  }
  next(ms = 3000): Promise<Resp> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.nodeId}: no response within ${ms} ms`)), ms);
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
  async none(ms = 200) {
    await new Promise((r) => setTimeout(r, ms));
    assert.deepEqual(
      this.queue.map((r) => r.type_url),
      [],
      `${this.nodeId}: unexpected responses`,
    );
  }
  ack(r: Resp, names?: string[]) {
    this.send(r.type_url, { version: r.version_info, nonce: r.nonce, names });
  }
  close() {
    this.stream.end();
    this.client.close();
  }
}

const names = (r: Resp) => r.resources.map((a) => String(decodeMessage(a.type_url, a.value).name));
const cfg = (extra: string[] = []): Partial<ApisixConfig> => ({
  routes: [{ id: "r", uri: "/", upstream_id: "u" }],
  upstreams: [{ id: "u", nodes: { "127.0.0.1:1980": 1 } }, ...extra.map((id) => ({ id, nodes: { "127.0.0.1:1981": 1 } }))],
});
const once = (server: AdsServer, ev: string) => new Promise<AdsEvent>((r) => server.once(ev, r));

async function withServer(fn: (server: AdsServer, port: number, log: ReturnType<typeof quietLog>) => Promise<void>) {
  const log = quietLog();
  const server = new AdsServer({ log });
  const port = await server.listen("127.0.0.1:0");
  try {
    await fn(server, port, log);
  } finally {
    await server.close();
  }
}

/** CDS+LDS wildcard, then RDS+ECDS by name, everything ACKed (Envoy's order: CDS is ACKed before LDS is answered). */
async function subscribeAll(c: Client) {
  c.send(TYPE_URL.cluster, { node: true });
  const cds = await c.next();
  c.send(TYPE_URL.listener);
  await c.none(50); // held until the clusters are taken
  c.ack(cds);
  const lds = await c.next();
  c.ack(lds);
  c.send(TYPE_URL.route, { names: ["apisix"] });
  const rds = await c.next();
  c.send(TYPE_URL.extensionConfig, { names: ["apisix-upstream"] });
  const ecds = await c.next();
  c.ack(rds, ["apisix"]);
  c.ack(ecds, ["apisix-upstream"]);
  return { cds, lds, rds, ecds };
}

test("ADS: subscribe LDS/CDS (full sets), RDS/ECDS by name, ACKs recorded", async () => {
  await withServer(async (server, port) => {
    const snap = translate(cfg(["u2"]));
    server.setSnapshot(snap);
    const c = new Client(port, "envoy-a");
    const acks: AdsEvent[] = [];
    server.on("ack", (e) => acks.push(e));
    const { cds, lds, rds, ecds } = await subscribeAll(c);
    assert.equal(cds.type_url, TYPE_URL.cluster);
    assert.deepEqual(names(cds), ["upstream.u", "upstream.u2"]);
    assert.equal(cds.version_info, snap.versions.clusters);
    assert.deepEqual(names(lds), ["apisix_http"]);
    assert.deepEqual(names(rds), ["apisix"]);
    assert.deepEqual(names(ecds), ["apisix-upstream"]);
    const ext = decodeMessage(TYPE_URL.extensionConfig, ecds.resources[0].value) as { typed_config: { type_url: string } };
    assert.equal(ext.typed_config.type_url, "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
    assert.ok(new Set([cds.nonce, lds.nonce, rds.nonce, ecds.nonce]).size === 4, "fresh nonce per response");
    await c.none();
    assert.equal(acks.length, 4);
    const st = server.clientStatus()[0];
    assert.equal(st.node, "envoy-a");
    assert.deepEqual(st.acked, {
      [TYPE_URL.cluster]: snap.versions.clusters,
      [TYPE_URL.listener]: snap.versions.listeners,
      [TYPE_URL.route]: snap.versions.routes,
      [TYPE_URL.extensionConfig]: snap.versions.extensionConfigs,
    });
    // an unknown route name: answered, but with no resources
    c.send(TYPE_URL.route, { names: ["apisix", "other"], version: rds.version_info, nonce: rds.nonce });
    const rds2 = await c.next();
    assert.deepEqual(names(rds2), ["apisix"]);
    c.close();
  });
});

test("ADS: push order CDS → LDS → RDS → ECDS, unchanged types not resent, stale nonces ignored", async () => {
  await withServer(async (server, port) => {
    server.setSnapshot(translate(cfg()));
    const c = new Client(port, "envoy-b");
    const first = await subscribeAll(c);
    await c.none();
    // every type changes: clusters + config (new upstream), listener port, and a
    // hand-edited route configuration (translate() output is plain data)
    const s2 = translate(cfg(["n1"]), { listenerPort: 9081 });
    (s2.resources.routes[0] as { virtual_hosts: { name: string }[] }).virtual_hosts[0].name = "changed";
    s2.versions.routes = "routes-v2";
    server.setSnapshot(s2);
    const cds2 = await c.next();
    assert.equal(cds2.type_url, TYPE_URL.cluster);
    await c.none(50); // nothing that may name the new clusters before they are ACKed
    c.ack(cds2);
    const order = [cds2, await c.next(), await c.next(), await c.next()];
    assert.deepEqual(
      order.map((r) => r.type_url),
      [TYPE_URL.cluster, TYPE_URL.listener, TYPE_URL.route, TYPE_URL.extensionConfig],
    );
    for (const r of order.slice(1))
      c.ack(r, r.type_url === TYPE_URL.extensionConfig ? ["apisix-upstream"] : r.type_url === TYPE_URL.route ? ["apisix"] : undefined);
    await c.none();
    // only the listener changes: only LDS is pushed
    server.setSnapshot(translate(cfg(["n1"]), { listenerPort: 9082 }));
    const lds = await c.next();
    assert.equal(lds.type_url, TYPE_URL.listener);
    c.ack(lds);
    const rds = await c.next(); // routes go back to the translated content
    assert.equal(rds.type_url, TYPE_URL.route);
    c.ack(rds, ["apisix"]);
    await c.none();
    // a late ACK carrying the old nonce is stale: ignored, no response
    const stale = once(server, "stale");
    c.ack(first.cds);
    assert.equal((await stale).nonce, first.cds.nonce);
    await c.none();
    c.close();
  });
});

test("ADS: only the changed type is pushed (ECDS after a DNS change, original-dst clusters)", async () => {
  await withServer(async (server, port) => {
    // (override-host clusters list the resolved endpoints, so there CDS changes too)
    const apisix = { upstreams: [{ id: "u", nodes: { "echo:80": 1 } }] };
    server.setSnapshot(translate(apisix, { dns: { echo: { addresses: ["127.0.0.1"] } }, lbMode: "original-dst" }));
    const c = new Client(port, "envoy-c");
    await subscribeAll(c);
    server.setSnapshot(translate(apisix, { dns: { echo: { addresses: ["127.0.0.2"] } }, lbMode: "original-dst" }));
    const r = await c.next();
    assert.equal(r.type_url, TYPE_URL.extensionConfig);
    await c.none();
    c.close();
  });
});

test("ADS: NACK is logged with error_detail, the ACKed version stays, next snapshot is sent", async () => {
  await withServer(async (server, port, log) => {
    const s1 = translate(cfg());
    server.setSnapshot(s1);
    const c = new Client(port, "envoy-d");
    const { cds } = await subscribeAll(c);
    const s2 = translate(cfg(["x"]));
    server.setSnapshot(s2);
    const pushed = await c.next();
    assert.equal(pushed.type_url, TYPE_URL.cluster);
    assert.equal(pushed.version_info, s2.versions.clusters);
    const nack = once(server, "nack");
    // Envoy's NACK: previous good version, the nonce of the rejected response, error_detail
    c.send(TYPE_URL.cluster, { version: cds.version_info, nonce: pushed.nonce, error: "cluster upstream.x: bad thing" });
    const ev = await nack;
    assert.equal(ev.error, "cluster upstream.x: bad thing");
    assert.equal(ev.version, s2.versions.clusters);
    assert.ok(
      log.lines.some((l) => l.startsWith("warn ads: NACK from envoy-d") && l.includes("bad thing")),
      log.lines.join("\n"),
    );
    assert.equal(server.clientStatus()[0].acked[TYPE_URL.cluster], s1.versions.clusters);
    // answered: the filter config follows (Envoy kept the clusters it could build)
    const ecds = await c.next();
    assert.equal(ecds.type_url, TYPE_URL.extensionConfig);
    c.ack(ecds, ["apisix-upstream"]);
    await c.none(); // the rejected version is not resent
    const s3 = translate(cfg(["x", "y"]));
    server.setSnapshot(s3);
    const again = await c.next();
    assert.equal(again.version_info, s3.versions.clusters);
    const acked = once(server, "ack");
    c.ack(again);
    await acked;
    assert.equal(server.clientStatus()[0].acked[TYPE_URL.cluster], s3.versions.clusters);
    const ecds3 = await c.next(); // the filter config listing the new upstreams follows the ACK
    assert.equal(ecds3.type_url, TYPE_URL.extensionConfig);
    assert.equal(ecds3.version_info, s3.versions.extensionConfigs);
    c.close();
  });
});

test("ADS: two clients at once, and a client reconnecting gets the current snapshot", async () => {
  await withServer(async (server, port) => {
    server.setSnapshot(translate(cfg()));
    const a = new Client(port, "envoy-1");
    const b = new Client(port, "envoy-2");
    await Promise.all([subscribeAll(a), subscribeAll(b)]);
    assert.deepEqual(
      server
        .clientStatus()
        .map((s) => s.node)
        .sort(),
      ["envoy-1", "envoy-2"],
    );
    const s2 = translate(cfg(["both"]));
    server.setSnapshot(s2);
    const [ra, rb] = [await a.next(), await b.next()];
    assert.deepEqual(names(ra), ["upstream.u", "upstream.both"]);
    assert.deepEqual(names(rb), ["upstream.u", "upstream.both"]);
    a.ack(ra);
    b.ack(rb);
    await Promise.all([a.next(), b.next()]); // ECDS follows the ACK
    // reconnect: a new stream from the same node, starting with its last version
    const gone = once(server, "disconnect");
    a.close();
    await gone;
    const a2 = new Client(port, "envoy-1");
    a2.send(TYPE_URL.cluster, { node: true, version: ra.version_info });
    const r = await a2.next();
    assert.equal(r.version_info, s2.versions.clusters);
    assert.deepEqual(names(r), ["upstream.u", "upstream.both"]);
    assert.equal(server.clientStatus().length, 2);
    a2.close();
    b.close();
  });
});

test("ADS: make before break: a renamed upstream's old cluster stays until the new filter config is ACKed; a NACKed one keeps it", async () => {
  await withServer(async (server, port) => {
    server.setSnapshot(translate(cfg(["old"])));
    const c = new Client(port, "envoy-mbb");
    await subscribeAll(c);
    const renamed = translate(cfg(["new"]));
    server.setSnapshot(renamed);
    const grow = await c.next();
    assert.equal(grow.type_url, TYPE_URL.cluster);
    assert.deepEqual(names(grow).sort(), ["upstream.new", "upstream.old", "upstream.u"], "old and new clusters while the old filter config runs");
    c.ack(grow);
    const ecds = await c.next();
    assert.equal(ecds.type_url, TYPE_URL.extensionConfig);
    await c.none(50); // nothing is removed before the filter config is taken
    // Envoy NACKs the filter config: it keeps the old one, which names "old"
    c.send(TYPE_URL.extensionConfig, { version: "", nonce: ecds.nonce, names: ["apisix-upstream"], error: "rejected" });
    await c.none(50);
    // the next snapshot (say a DNS change of the same objects) is taken
    const again = translate(cfg(["new"]), { listenerPort: 9099 });
    (again.resources.extensionConfigs[0] as { name: string }).name = "apisix-upstream";
    again.versions.extensionConfigs = "ecds-v3";
    server.setSnapshot(again);
    const lds = await c.next();
    assert.equal(lds.type_url, TYPE_URL.listener);
    c.ack(lds);
    const ecds3 = await c.next();
    assert.equal(ecds3.version_info, "ecds-v3");
    c.ack(ecds3, ["apisix-upstream"]);
    const shrink = await c.next();
    assert.equal(shrink.type_url, TYPE_URL.cluster);
    assert.equal(shrink.version_info, renamed.versions.clusters);
    assert.deepEqual(names(shrink).sort(), ["upstream.new", "upstream.u"], "the old cluster goes once nothing names it");
    c.ack(shrink);
    await c.none();
    c.close();
  });
});

test("ADS: a request before any snapshot is answered once one arrives", async () => {
  await withServer(async (server, port) => {
    const c = new Client(port, "early");
    c.send(TYPE_URL.cluster, { node: true });
    await once(server, "request");
    await c.none(100);
    server.setSnapshot(translate(cfg()));
    assert.deepEqual(names(await c.next()), ["upstream.u"]);
    c.close();
  });
});

test("controller: reloads on config file change (temp dir), keeps the last snapshot on invalid YAML", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apisix-cp-"));
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, 'upstreams:\n  - id: a\n    nodes: {"svc-a:80": 1}\n#END\n');
  const log = quietLog();
  const server = new AdsServer({ log });
  const lookups: string[] = [];
  const controller = new Controller({
    configPath: file,
    server,
    log,
    lookup: async (h) => {
      lookups.push(h);
      if (h === "svc-a") return ["127.0.0.1"];
      throw new Error(`getaddrinfo ENOTFOUND ${h}`);
    },
    dnsIntervalMs: 0,
    debounceMs: 50,
    pollMs: 100,
    healthTickMs: 0,
  });
  const port = await server.listen("127.0.0.1:0");
  try {
    await controller.start();
    const c = new Client(port, "watcher");
    const { cds, ecds } = await subscribeAll(c);
    assert.deepEqual(names(cds), ["upstream.a"]);
    const ecdsJson = (r: Resp) => {
      const ext = decodeMessage(TYPE_URL.extensionConfig, r.resources[0].value) as { typed_config: { value: string } };
      const wasm = decodeMessage("envoy.extensions.filters.http.wasm.v3.Wasm", Buffer.from(ext.typed_config.value, "base64")) as {
        config: { configuration: { value: string } };
      };
      const sv = decodeMessage("google.protobuf.StringValue", Buffer.from(wasm.config.configuration.value, "base64")) as { value: string };
      return JSON.parse(sv.value);
    };
    assert.deepEqual(ecdsJson(ecds).dns, { "svc-a": { addresses: ["127.0.0.1"] } });

    // edit the file: a new upstream whose name does not resolve
    fs.writeFileSync(file, 'upstreams:\n  - id: a\n    nodes: {"svc-a:80": 1}\n  - id: b\n    nodes: {"svc-b:80": 1}\n#END\n');
    const cds2 = await c.next(5000);
    assert.equal(cds2.type_url, TYPE_URL.cluster);
    assert.deepEqual(names(cds2), ["upstream.a", "upstream.b"]);
    c.ack(cds2);
    const ecds2 = await c.next(5000);
    assert.equal(ecds2.type_url, TYPE_URL.extensionConfig);
    assert.deepEqual(ecdsJson(ecds2).dns["svc-b"], { error: "getaddrinfo ENOTFOUND svc-b" });
    c.ack(ecds2, ["apisix-upstream"]);

    // broken YAML: logged, nothing pushed, last snapshot kept
    const version = server.version;
    fs.writeFileSync(file, "upstreams: [\n  - id: c\n#END\n");
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(
      log.lines.some((l) => l.startsWith("error config:") && l.includes("invalid YAML")),
      log.lines.join("\n"),
    );
    assert.equal(server.version, version);
    // half-written (no #END yet): not applied either
    fs.writeFileSync(file, 'upstreams:\n  - id: a\n    nodes: {"svc-a:80": 1}\n');
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(
      log.lines.some((l) => l.startsWith("error config:") && l.includes("missing the #END trailer")),
      log.lines.join("\n"),
    );
    assert.equal(server.version, version);
    await c.none(0);
    assert.ok(lookups.includes("svc-b"));
    c.close();
  } finally {
    controller.stop();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
