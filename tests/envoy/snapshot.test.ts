// The server's consistency check (envoy/control-plane/snapshot.ts): every
// name LDS, RDS or the filter's document refers to is a resource of the same
// snapshot, or the snapshot is logged and not published.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AdsServer, InconsistentSnapshotError } from "../../envoy/control-plane/server.ts";
import { Controller } from "../../envoy/control-plane/controller.ts";
import { consistent, references, type Json, type Snapshot } from "../../envoy/control-plane/snapshot.ts";
import { translate } from "../../envoy/control-plane/translate.ts";
import type { RawDocument } from "../../envoy/control-plane/source.ts";
import { issue } from "../e2e/tls-certs.ts";
import { PushSource, quietLog } from "./fixtures.ts";

const pem = issue({ cn: "a.example", ca: issue({ cn: "snapshot CA" }) });
const APISIX = {
  upstreams: [{ id: "u", nodes: { "10.0.0.1:80": 1 } }],
  services: [{ id: "s", upstream: { nodes: { "10.0.0.2:80": 1 } } }],
  routes: [
    { id: "r", uri: "/r", upstream: { nodes: { "10.0.0.3:80": 1 } } },
    {
      id: "t",
      uri: "/t",
      upstream_id: "u",
      plugins: { "traffic-split": { rules: [{ weighted_upstreams: [{ upstream: { nodes: { "10.0.0.4:80": 1 } }, weight: 1 }, { weight: 1 }] }] } },
    },
  ],
  ssls: [{ id: "srv", snis: ["a.example"], cert: pem.cert, key: pem.key, client: { ca: pem.cert } }],
};

/** A copy of `s` with `kind`'s resources passed through `edit`. */
const withResources = (s: Snapshot, kind: keyof Snapshot["resources"], edit: (rs: Json[]) => Json[]): Snapshot => ({
  ...s,
  version: `${s.version}-edited`,
  resources: { ...s.resources, [kind]: edit(structuredClone(s.resources[kind])) },
});

test("translate()'s snapshot is consistent, and the check sees every kind of reference in it", () => {
  const s = translate(APISIX);
  assert.deepEqual(consistent(s), []);
  const refs = references(s);
  assert.deepEqual([...refs.clusters].sort(), ["route.r", "service.s", "split.t.0.0", "upstream.u"]);
  assert.deepEqual([...refs.routes], ["apisix"]);
  assert.deepEqual([...refs.extensionConfigs], ["apisix-upstream"]);
  assert.equal(refs.secrets.size, 2, "the HTTPS listener names its certificate and its client CA");
  for (const name of refs.secrets) assert.ok(s.resources.secrets.some((x) => x.name === name));
});

test("a missing cluster the filter names, a missing RDS, ECDS or SDS name: each is reported by name", () => {
  const s = translate(APISIX);
  assert.deepEqual(consistent(withResources(s, "clusters", (cs) => cs.filter((c) => c.name !== "split.t.0.0"))), [
    'clusters "split.t.0.0" named by the routes or the filter\'s configuration is not in the snapshot',
  ]);
  assert.deepEqual(consistent(withResources(s, "routes", () => [])), ['routes "apisix" named by a listener is not in the snapshot']);
  assert.deepEqual(consistent(withResources(s, "extensionConfigs", (es) => es.map((e) => ({ ...e, name: "other" })))), [
    'extensionConfigs "apisix-upstream" named by a listener is not in the snapshot',
  ]);
  const noSecrets = consistent(withResources(s, "secrets", () => []));
  assert.ok(noSecrets.length >= 1 && noSecrets.every((p) => /^secrets ".+" named by a listener is not in the snapshot$/.test(p)), noSecrets.join("\n"));
  // A route naming a cluster directly is checked too (translate() uses cluster_header only).
  const direct = withResources(s, "routes", (rs) => {
    ((rs[0].virtual_hosts as Json[])[0].routes as Json[])[0].route = { cluster: "nowhere" };
    return rs;
  });
  assert.deepEqual(consistent(direct), ['clusters "nowhere" named by the routes or the filter\'s configuration is not in the snapshot']);
});

test("the server refuses an inconsistent snapshot: logged, thrown, the published one stays", () => {
  const log = quietLog();
  const server = new AdsServer({ log });
  const good = translate(APISIX);
  server.setSnapshot(good);
  const bad = withResources(good, "clusters", (cs) => cs.filter((c) => c.name !== "upstream.u"));
  assert.throws(
    () => server.setSnapshot(bad),
    (e: unknown) => e instanceof InconsistentSnapshotError && e.problems.length === 1 && /"upstream\.u"/.test(e.message),
  );
  assert.equal(server.version, good.version);
  assert.ok(
    log.lines.some((l) => l.startsWith("error xds: snapshot") && l.includes("is inconsistent, not published") && l.includes('"upstream.u"')),
    log.lines.join("\n"),
  );
});

test("the controller publishes nothing when translation yields an inconsistent snapshot", async () => {
  const log = quietLog();
  const server = new AdsServer({ log });
  const doc: RawDocument = { origin: "test", routes: [], upstreams: [{ id: "u", nodes: { "127.0.0.1:80": 1 } }], services: [], ssls: [] };
  const c = new Controller({
    source: new PushSource(doc),
    server,
    log,
    dnsIntervalMs: 0,
    healthTickMs: 0,
    offThread: false,
    // a translation bug: the filter is told about a cluster CDS lacks
    translateImpl: (a, o) => withResources(translate(a, o), "clusters", () => []),
  });
  try {
    await c.start();
    assert.equal(server.version, undefined, "nothing published");
    assert.ok(
      log.lines.some((l) => l.includes("not published") && l.includes('"upstream.u"')),
      log.lines.join("\n"),
    );
  } finally {
    c.stop();
  }
});
