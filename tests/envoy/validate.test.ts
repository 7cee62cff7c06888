// The control plane's one validator is the filter: objects are checked by the
// real build/filter.wasm, one by one as APISIX's config_yaml does, through the
// shared pipeline every config source feeds (Controller.apply).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProxyWasmHost } from "../../host/index.ts";
import { AdsServer } from "../../envoy/control-plane/server.ts";
import { Controller } from "../../envoy/control-plane/controller.ts";
import { ecdsConfiguration } from "../../envoy/control-plane/translate.ts";
import { WasmValidator, assignIds } from "../../envoy/control-plane/validate.ts";
import type { RawDocument } from "../../envoy/control-plane/source.ts";
import { PushSource, quietLog } from "./fixtures.ts";

const FILTER_WASM = new URL("../../build/filter.wasm", import.meta.url).pathname;
const validator = await WasmValidator.load(FILTER_WASM);

const doc = (d: Partial<RawDocument>): RawDocument => ({ origin: "test", routes: [], upstreams: [], services: [], ssls: [], ...d });

async function controllerWith(first: RawDocument) {
  const log = quietLog();
  const server = new AdsServer({ log });
  const source = new PushSource(first);
  const c = new Controller({ source, server, log, validator, dnsIntervalMs: 0, healthTickMs: 0, lookup: async () => ["127.0.0.1"] });
  await c.start();
  assert.ok(source.firstApplied, "first document not applied");
  return { c, log, source };
}

/** The filter, configured with exactly what the control plane published in ECDS. */
async function filterFrom(c: Controller) {
  const host = await ProxyWasmHost.load(FILTER_WASM, { rootId: "apisix-upstream" });
  assert.equal(host.configure(ecdsConfiguration(c.snapshot!)), true, host.logs.map((l) => l.message).join("\n"));
  return (path: string) => {
    const r = host.request({ method: "GET", path, authority: "example.com", source: "127.0.0.1:40000" });
    return r.localReply ? `${r.localReply.status}` : `${r.header("x-apisix-upstream")}`;
  };
}

test("APISIX's own test-suite cases: each invalid object is dropped with its field named, the rest is served", async () => {
  const { c, log } = await controllerWith(
    doc({
      upstreams: [
        { id: "ok", nodes: { "127.0.0.1:1980": 1 } },
        { id: "both", service_name: "svc", discovery_type: "dns", nodes: { "127.0.0.1:1980": 1 } },
        { id: "badkey", type: "chash", hash_on: "vars", key: "not_a_var", nodes: { "127.0.0.1:1980": 1 } },
      ],
      routes: [
        { id: "good", uri: "/good", upstream_id: "ok" },
        { id: "badvars", uri: "/vars", vars: [["arg_x", "~~", "(unclosed"]], upstream_id: "ok" },
        { id: "refs-dropped", uri: "/gone", upstream_id: "badkey" },
      ],
    }),
  );
  const dropped = c.lastVerdict!.dropped.map((d) => `${d.section}[${d.id}]`);
  assert.deepEqual(dropped.sort(), ["routes[badvars]", "upstreams[badkey]", "upstreams[both]"]);
  const text = log.lines.join("\n");
  assert.match(text, /error config: test: upstreams\[both\]\.service_name: /);
  assert.match(text, /error config: test: upstreams\[badkey\]\.key: failed to match pattern/);
  assert.match(text, /error config: test: routes\[badvars\]\.vars\[0\]: invalid regex/);
  assert.match(text, /routes\[badvars\] \(routes #2\) is invalid and dropped/);
  assert.deepEqual(
    c.snapshot!.resources.clusters.map((x) => x.name),
    ["upstream.ok"],
  );

  const get = await filterFrom(c);
  assert.equal(get("/good"), "upstream.ok");
  assert.equal(get("/vars"), "404"); // the dropped route does not exist
  assert.equal(get("/gone"), "502"); // APISIX: failed to find upstream by id
  c.stop();
});

test("ids as APISIX's config_yaml gives them: <section>#<position from 1>, kept when present", async () => {
  const ids = assignIds(doc({ routes: [{ uri: "/a" }, { id: 5, uri: "/b" }, { uri: "/c" }], upstreams: [{ nodes: {} }] }));
  assert.deepEqual(
    ids.routes.map((r) => (r as { id: unknown }).id),
    ["routes#1", 5, "routes#3"],
  );
  assert.equal((ids.upstreams[0] as { id: unknown }).id, "upstreams#1");

  // APISIX's documented standalone example has no ids: it is served
  const { c } = await controllerWith(doc({ routes: [{ uri: "/hello", upstream: { nodes: { "127.0.0.1:1980": 1 }, type: "roundrobin" } }] }));
  assert.deepEqual(c.lastVerdict!.dropped, []);
  assert.deepEqual(
    c.snapshot!.resources.clusters.map((x) => x.name),
    ["route.routes#1"],
  );
  const get = await filterFrom(c);
  assert.equal(get("/hello"), "route.routes#1");
  // a user cannot give such an id to a reference's target by hand... but the filter accepts it as an own id only
  const v = await validator.check(doc({ routes: [{ id: "upstreams#1", uri: "/", upstream: { nodes: { "127.0.0.1:1": 1 } } }] }), { lb_mode: "original-dst" });
  assert.equal(v.dropped.length, 1, "an id of another section's form is not an own id");
  c.stop();
});

test("top-level sections: APISIX's unused ones warn, an unknown one or a reserved one rejects the document", async () => {
  const v = await validator.check(doc({ routes: [], otherSections: ["consumers", "global_rules", "plugin_metadata"] }), { lb_mode: "original-dst" });
  assert.deepEqual(
    v.warnings.filter((w) => /ignored/.test(w)).map((w) => w.split(":")[0]),
    ["consumers", "global_rules", "plugin_metadata"],
  );
  await assert.rejects(validator.check(doc({ otherSections: ["route"] }), { lb_mode: "original-dst" }), /route: unknown section/);
  await assert.rejects(validator.check(doc({ otherSections: ["dns"] }), { lb_mode: "original-dst" }), /dns: unknown section/);

  // a rejected document changes nothing that is served
  const { c, source, log } = await controllerWith(doc({ routes: [{ id: "r", uri: "/", upstream: { nodes: { "127.0.0.1:1": 1 } } }] }));
  const before = c.snapshot!.version;
  assert.equal(await source.push(doc({ routes: [], otherSections: ["route"] })), false);
  assert.equal(c.snapshot!.version, before);
  assert.match(log.lines.join("\n"), /error config: test: rejected by the filter: route: unknown section.*the last good config keeps serving/);
  c.stop();
});

test("inline tls.client_cert/client_key that are not PEM: the upstream is dropped with a clear error (Envoy would NACK the whole CDS)", async () => {
  const v = await validator.check(
    doc({
      upstreams: [
        { id: "notpem", scheme: "https", nodes: { "127.0.0.1:1": 1 }, tls: { client_cert: "x".repeat(200), client_key: "y".repeat(100) } },
        { id: "fine", nodes: { "127.0.0.1:1": 1 } },
      ],
    }),
    { lb_mode: "original-dst" },
  );
  assert.deepEqual(
    v.dropped.map((d) => d.id),
    ["notpem"],
  );
  assert.match(v.dropped[0].errors.join("\n"), /upstreams\[notpem\]\.tls\.client_cert: not PEM/);
  assert.match(v.dropped[0].errors.join("\n"), /upstreams\[notpem\]\.tls\.client_key: not PEM/);
});
