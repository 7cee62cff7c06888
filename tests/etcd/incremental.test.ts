// The incremental validator (validate.ts IncrementalValidator) against the
// filter's full check: document after document, the same objects served,
// the same objects dropped with the same errors, the same warnings, while
// only the changed objects (and those whose references moved) go through
// the filter again. No etcd needed: the documents are what a source hands over.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { EnvoySide } from "../../envoy/control-plane/apisix/index.ts";
import type { RawDocument } from "../../envoy/control-plane/source.ts";
import { IncrementalValidator, WasmValidator, type Verdict } from "../../envoy/control-plane/validate.ts";

const FILTER_WASM = new URL("../../build/filter.wasm", import.meta.url).pathname;
const full = await WasmValidator.load(FILTER_WASM);
const ENVOY: EnvoySide = { lb_mode: "override-host" };

type Obj = Record<string, unknown>;
type State = Record<"routes" | "upstreams" | "services" | "ssls", Map<string, Obj>>;
const SECTIONS = ["routes", "upstreams", "services", "ssls"] as const;

const docOf = (s: State, keepPrevious?: Set<string>): RawDocument => ({
  origin: "test",
  routes: [...s.routes.values()],
  upstreams: [...s.upstreams.values()],
  services: [...s.services.values()],
  ssls: [...s.ssls.values()],
  keepPrevious,
});

/** A verdict in a form two verdicts can be compared by (order of warnings aside). */
const shape = (v: Verdict) => ({
  objects: Object.fromEntries(SECTIONS.map((s) => [s, v.objects[s].map((o) => JSON.stringify(o))])),
  dropped: v.dropped.map((d) => `${d.section}[${d.id}] #${d.index}: ${d.errors.join(" | ")}`).sort(),
  warnings: [...v.warnings].sort(),
});

const PEM_CERT = `-----BEGIN CERTIFICATE-----\n${"A".repeat(200)}\n-----END CERTIFICATE-----`;
const PEM_KEY = `-----BEGIN PRIVATE KEY-----\n${"B".repeat(100)}\n-----END PRIVATE KEY-----`;

test("a changed upstream: the route naming it is served either way, and its 'does not exist' warning follows the upstream", async () => {
  const inc = new IncrementalValidator(full);
  const s: State = { routes: new Map(), upstreams: new Map(), services: new Map(), ssls: new Map() };
  s.upstreams.set("u1", { id: "u1", nodes: { "127.0.0.1:1980": 1 } });
  for (let i = 0; i < 20; i++) s.routes.set(`r${i}`, { id: `r${i}`, uri: `/r${i}`, upstream_id: i === 0 ? "u1" : "u2" });
  s.upstreams.set("u2", { id: "u2", nodes: { "127.0.0.1:1981": 1 } });
  const step = async (what: string) => {
    const a = await inc.check(docOf(s), ENVOY);
    const b = await full.check(docOf(s), ENVOY);
    assert.deepEqual(shape(a), shape(b), what);
    return a;
  };
  const first = await step("initial");
  assert.equal(first.checked, 22);
  assert.ok(!first.warnings.some((w) => w.startsWith("routes[r0]")), first.warnings.join("\n"));

  // u1 becomes invalid: dropped, and r0 (unchanged) now names a missing upstream
  s.upstreams.set("u1", { id: "u1", nodes: { "127.0.0.1:1980": 1 }, type: "chash", key: "not_a_var" });
  const broken = await step("u1 invalid");
  assert.deepEqual(
    broken.dropped.map((d) => d.id),
    ["u1"],
  );
  assert.ok(
    broken.objects.routes.some((r) => r.id === "r0"),
    "a route's validity does not depend on its upstream (APISIX answers 502 per request)",
  );
  assert.ok(
    broken.warnings.some((w) => w.startsWith("routes[r0].upstream_id: upstream u1 does not exist")),
    broken.warnings.join("\n"),
  );
  assert.ok(broken.checked <= 3, `only u1 and r0 (with what they name) went through the filter, not ${broken.checked} objects`);

  // fixed again: the warning goes
  s.upstreams.set("u1", { id: "u1", nodes: { "127.0.0.1:1982": 1 } });
  const fixed = await step("u1 fixed");
  assert.ok(!fixed.warnings.some((w) => w.startsWith("routes[r0]")), fixed.warnings.join("\n"));

  // an invalid update the source watched (etcd): u1's previous value keeps serving, r0 keeps its upstream
  s.upstreams.set("u1", { id: "u1", nodes: { "127.0.0.1:1983": 1 }, type: "chash", key: "not_a_var" });
  const kept = await inc.check(docOf(s, new Set(["upstreams/u1"])), ENVOY);
  assert.deepEqual(kept.dropped, []);
  assert.deepEqual(
    kept.kept.map((k) => `${k.section}[${k.id}]`),
    ["upstreams[u1]"],
  );
  assert.match(kept.kept[0].errors.join("\n"), /upstreams\[u1\]\.key: /);
  const u1 = kept.objects.upstreams.find((u) => u.id === "u1")!;
  assert.deepEqual(u1.nodes, { "127.0.0.1:1982": 1 }, "the previous valid value");
  assert.ok(!kept.warnings.some((w) => w.startsWith("routes[r0]")), kept.warnings.join("\n"));

  // deleting it: r0 dangles
  s.upstreams.delete("u1");
  const gone = await step("u1 deleted");
  assert.ok(
    gone.warnings.some((w) => w.startsWith("routes[r0].upstream_id: upstream u1 does not exist")),
    gone.warnings.join("\n"),
  );
  assert.ok(gone.checked <= 2, `${gone.checked}`);

  // nothing changed: nothing goes through the filter
  const same = await step("unchanged");
  assert.equal(same.checked, 0);
});

test("random changes: the incremental verdict equals the full check's after every document", async () => {
  let seed = 20261201;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.floor(seed / 65536) % n; // the high bits: an LCG's low bits repeat quickly
  };
  const pick = <T>(xs: T[]) => xs[rnd(xs.length)];
  const uid = () => `u${rnd(4)}`;
  const variants: Record<keyof State, (id: string) => Obj[]> = {
    upstreams: (id) => [
      { id, nodes: { "127.0.0.1:1980": 1 } },
      { id, nodes: { "127.0.0.1:1981": 2 }, type: "chash", key: "remote_addr" },
      { id, nodes: { "127.0.0.1:1980": 1 }, type: "chash", key: "not_a_var" }, // invalid
      { id, nodes: { "127.0.0.1:1980": 1 }, scheme: "https", tls: { client_cert_id: `c${rnd(2)}` } },
      { id, service_name: "x", discovery_type: "dns", nodes: { "127.0.0.1:1": 1 } }, // invalid
    ],
    routes: (id) => [
      { id, uri: `/${id}`, upstream_id: uid() },
      { id, uri: `/${id}/*`, service_id: `s${rnd(3)}` },
      { id, uri: `/${id}`, methods: ["FETCH"], upstream_id: uid() }, // invalid
      {
        id,
        uri: `/${id}`,
        upstream: { nodes: { "127.0.0.1:1990": 1 }, type: "roundrobin" },
        plugins: { "traffic-split": { rules: [{ weighted_upstreams: [{ upstream_id: uid(), weight: 1 }, { weight: 1 }] }] } },
      },
      { id, uri: `/${id}`, upstream_id: uid(), plugins: { "limit-count": { count: 1 } } },
    ],
    services: (id) => [
      { id, upstream_id: uid() },
      { id, upstream: { nodes: { "127.0.0.1:1995": 1 }, type: "roundrobin" }, hosts: ["a.example.com"] },
      { id, upstream_id: 0 }, // invalid
    ],
    ssls: (id) => [
      { id, type: "client", cert: PEM_CERT, key: PEM_KEY },
      { id, type: "client", cert: "not pem", key: PEM_KEY }, // invalid
    ],
  };
  const names: Record<keyof State, string[]> = {
    routes: ["r0", "r1", "r2", "r3", "r4", "r5"],
    upstreams: ["u0", "u1", "u2", "u3"],
    services: ["s0", "s1", "s2"],
    ssls: ["c0", "c1"],
  };
  const inc = new IncrementalValidator(full);
  const s: State = { routes: new Map(), upstreams: new Map(), services: new Map(), ssls: new Map() };
  for (const sec of SECTIONS) for (const id of names[sec]) s[sec].set(id, variants[sec](id)[0]);
  let checkedTotal = 0,
    objectsTotal = 0;
  for (let step = 0; step < 60; step++) {
    const changes = 1 + rnd(3);
    for (let c = 0; c < changes; c++) {
      const sec = pick([...SECTIONS]);
      const id = pick(names[sec]);
      if (rnd(6) === 0) s[sec].delete(id);
      else s[sec].set(id, pick(variants[sec](id)));
    }
    const a = await inc.check(docOf(s), ENVOY);
    const b = await full.check(docOf(s), ENVOY);
    assert.deepEqual(shape(a), shape(b), `step ${step}`);
    checkedTotal += a.checked;
    objectsTotal += SECTIONS.reduce((n, sec) => n + s[sec].size, 0);
  }
  assert.ok(checkedTotal < objectsTotal, `incremental: ${checkedTotal} objects checked for ${objectsTotal} in the documents`);
});

test("the final check of the ECDS document: only changed objects go through again, and a bad one is still refused", async () => {
  const calls: string[] = [];
  const spy = {
    check: full.check.bind(full),
    accepts: (json: string) => {
      calls.push(json);
      return full.accepts(json);
    },
  };
  const inc = new IncrementalValidator(spy);
  const routes = Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, uri: `/r${i}`, upstream_id: "u1" }));
  const ecds = (rs: Obj[], dns: Obj = {}) =>
    JSON.stringify({
      routes: rs,
      upstreams: [{ id: "u1", nodes: { "127.0.0.1:1980": 1 }, _cluster: "upstream.u1" }],
      services: [],
      ssls: [],
      dns,
      health: {},
      envoy: ENVOY,
    });
  assert.equal((await inc.accepts(ecds(routes))).ok, true);
  const changed = routes.map((r, i) => (i === 7 ? { ...r, uri: "/seven" } : r));
  assert.equal((await inc.accepts(ecds(changed))).ok, true);
  assert.equal(JSON.parse(calls[1]).routes.length, 1, "only the changed route");
  const bad = changed.map((r, i) => (i === 9 ? { ...r, methods: ["FETCH"] } : r));
  const r = await inc.accepts(ecds(bad));
  assert.equal(r.ok, false);
  assert.match(r.errors.join("\n"), /routes\[r9\]\.methods/);
  // refused: the accepted state stays the last good one, so the same bad document is refused again
  assert.equal((await inc.accepts(ecds(bad))).ok, false);
  // another table (dns): everything is checked again
  assert.equal((await inc.accepts(ecds(changed, { "a.example.com": { addresses: ["127.0.0.1"] } }))).ok, true);
  assert.equal(JSON.parse(calls[calls.length - 1]).routes.length, 50);
});
