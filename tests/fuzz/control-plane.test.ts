// The control plane fuzzed: random APISIX standalone YAML (mostly plausible
// objects, some fields garbage) through what the control plane runs on a
// file: parseStandalone, the filter's object-by-object validation, translate().
// Properties: only ConfigError ever escapes (with a message), every emitted
// resource passes the strict proto check, the snapshot is consistent (every
// cluster the filter can name is in it), and the real filter accepts the
// exact ECDS configuration the control plane would publish.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { stringify } from "yaml";
import { parseStandalone } from "../../envoy/control-plane/standalone.ts";
import { ConfigError } from "../../envoy/control-plane/source.ts";
import { WasmValidator, type Verdict } from "../../envoy/control-plane/validate.ts";
import { ecdsConfiguration, translate, KIND_TYPE_URL, type ResourceKind } from "../../envoy/control-plane/translate.ts";
import { checkMessage } from "../../envoy/control-plane/protos.ts";
import { consistent } from "../../envoy/control-plane/snapshot.ts";
import { FILTER_WASM } from "../filter/helpers.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

const id = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("a", "b", "c", "u1", "u2", "s1", "x.y", "split.a.0.0", "route.a") },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(""), fc.string({ maxLength: 5 })) },
);
const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 6 }),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
/** A plausible value most of the time, junk sometimes. */
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 9, arbitrary: a }, { weight: 1, arbitrary: junk as fc.Arbitrary<unknown> });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(maybe(a), { nil: undefined, freq: 2 });

const hostPort = fc.constantFrom("10.0.0.1:80", "10.0.0.2:8080", "[::1]:9000", "api.internal:80", "10.0.0.3", "bad host:1", "10.0.0.1:0", "10.0.0.1:70000");
const nodes = fc.oneof(
  fc.dictionary(hostPort, fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(-1)), { minKeys: 0, maxKeys: 3 }),
  fc.array(
    fc.record(
      {
        host: fc.constantFrom("10.0.0.1", "10.0.0.2", "api.internal", "::1", "[::1]"),
        port: fc.integer({ min: 0, max: 70000 }),
        weight: fc.integer({ min: 0, max: 10 }),
        priority: fc.integer({ min: -2, max: 2 }),
      },
      { requiredKeys: ["host", "weight"] },
    ),
    { maxLength: 3 },
  ),
);
const upstream = fc.record(
  {
    nodes: maybe(nodes),
    type: opt(fc.constantFrom("roundrobin", "chash", "ewma", "least_conn", "random")),
    key: opt(fc.constantFrom("remote_addr", "uri", "arg_x", "http_x", "bogus")),
    hash_on: opt(fc.constantFrom("vars", "header", "cookie", "consumer", "vars_combinations")),
    scheme: opt(fc.constantFrom("http", "https", "grpc", "grpcs", "tcp", "kafka")),
    pass_host: opt(fc.constantFrom("pass", "node", "rewrite")),
    upstream_host: opt(fc.constantFrom("h.example", "")),
    retries: opt(fc.integer({ min: -1, max: 40 })),
    timeout: opt(
      fc.record({
        connect: fc.double({ min: 0, max: 100, noNaN: true }),
        send: fc.integer({ min: 1, max: 10 }),
        read: fc.double({ min: -1, max: 1e6, noNaN: true }),
      }),
    ),
    tls: opt(fc.record({ client_cert_id: id })),
    checks: opt(
      fc.record(
        {
          active: fc.record({ type: fc.constantFrom("http", "tcp"), http_path: fc.constant("/healthz") }),
          passive: fc.record({ unhealthy: fc.record({ http_statuses: fc.constant([500]), http_failures: fc.integer({ min: 0, max: 3 }) }) }),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);
const vars = fc.array(
  fc.oneof(
    fc.tuple(
      fc.constantFrom("arg_x", "http_x_env", "uri", "remote_addr"),
      fc.constantFrom("==", "~=", ">", "in", "~~", "~*", "ipmatch"),
      fc.oneof(fc.constantFrom("1", "beta", "^a+$", "(", "(?:.{0,100}){60}Q", "10.0.0.0/8"), fc.integer(), fc.constant(["a", "b"])),
    ),
    fc.constant(["OR", ["arg_a", "==", "1"], ["arg_b", "==", "2"]]),
  ),
  { maxLength: 3 },
);
const route = fc.record(
  {
    id,
    uri: opt(fc.constantFrom("/*", "/a", "/a/*", `/${"p".repeat(3000)}*`, "", "no-slash", "/%zz")),
    uris: opt(fc.uniqueArray(fc.constantFrom("/b", "/c/*", "/*"), { maxLength: 2 })),
    host: opt(fc.constantFrom("a.example.com", "*.example.com", "bad host", "a.example.com.")),
    hosts: opt(fc.array(fc.constantFrom("x.example.org", "*.org", "*"), { maxLength: 2 })),
    methods: opt(fc.array(fc.constantFrom("GET", "POST", "get", "BREW"), { maxLength: 2 })),
    priority: opt(fc.integer({ min: -5, max: 5 })),
    vars: opt(vars),
    upstream_id: opt(id),
    upstream: opt(upstream),
    service_id: opt(id),
    enable_websocket: opt(fc.boolean()),
    status: opt(fc.constantFrom(0, 1)),
    plugins: opt(
      fc.oneof(
        fc.constant({ "proxy-rewrite": { uri: "/x" } }),
        fc.record({
          "traffic-split": fc.record({
            rules: fc.array(
              fc.record({
                weighted_upstreams: fc.array(
                  fc.oneof(
                    fc.record({ upstream_id: id, weight: fc.integer({ min: 0, max: 5 }) }),
                    fc.record({ upstream, weight: fc.integer({ min: 0, max: 5 }) }),
                    fc.record({ weight: fc.integer({ min: 0, max: 5 }) }),
                  ),
                  { maxLength: 3 },
                ),
              }),
              { maxLength: 2 },
            ),
          }),
        }),
      ),
    ),
  },
  { requiredKeys: [] },
);
const doc = fc.record(
  {
    routes: fc.array(route, { maxLength: 6 }),
    upstreams: fc.array(
      fc.tuple(id, upstream).map(([i, u]) => ({ id: i, ...u })),
      { maxLength: 4 },
    ),
    services: fc.array(
      fc.record(
        { id, upstream_id: opt(id), upstream: opt(upstream), enable_websocket: opt(fc.boolean()), hosts: opt(fc.constant(["s.example.com"])) },
        { requiredKeys: ["id"] },
      ),
      { maxLength: 2 },
    ),
    ssls: fc.array(
      fc.record(
        {
          id,
          type: fc.constantFrom("client", "server"),
          cert: fc.constantFrom(CERT, "not a cert"),
          key: fc.constant(KEY),
          snis: fc.constant(["a.example.com"]),
        },
        { requiredKeys: ["id", "cert", "key"] },
      ),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);

test("control plane fuzz: 120 random APISIX files: ConfigError or a snapshot that passes the proto check and that the filter accepts", async () => {
  const validator = await WasmValidator.load(FILTER_WASM);
  const seen = { configError: 0, published: 0, dropped: 0 };
  // whole-document damage, sometimes: what a half-written or hostile file looks like
  const damage = fc.oneof(
    { weight: 6, arbitrary: fc.constant("none") },
    { weight: 1, arbitrary: fc.constantFrom("unknown-section", "reserved-section", "not-a-list", "no-end", "bad-utf8", "bad-yaml", "anchors") },
  );
  const cases = fc.sample(fc.tuple(doc, damage), { seed: 0xc0a7e1, numRuns: 120 });
  for (const [n, [d, dmg]] of cases.entries()) {
    const context = `case ${n} (${dmg}): ${JSON.stringify(d).slice(0, 1500)}`;
    let body: Record<string, unknown> = d;
    if (dmg === "unknown-section") body = { ...d, plugin_configs: [] };
    if (dmg === "reserved-section") body = { ...d, dns: { "api.internal": { addresses: ["169.254.169.254"] } } };
    if (dmg === "not-a-list") body = { ...d, routes: "all of them" };
    let bytes = new TextEncoder().encode(stringify(body) + (dmg === "no-end" ? "" : "#END\n"));
    if (dmg === "bad-utf8") bytes = new Uint8Array([...bytes.slice(0, 5), 0xf0, 0x2f, ...bytes.slice(5)]);
    if (dmg === "bad-yaml") bytes = new TextEncoder().encode("routes: [\n  {id: a,\n#END\n");
    if (dmg === "anchors") bytes = new TextEncoder().encode("a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nroutes: [*c]\n#END\n");
    let objects: Verdict["objects"];
    try {
      const raw = parseStandalone(bytes, "fuzz.yaml");
      const verdict = await validator.check(raw, { lb_mode: "original-dst" });
      objects = verdict.objects;
      seen.dropped += verdict.dropped.length;
    } catch (e) {
      assert.ok(e instanceof ConfigError, `${context}\nnot a ConfigError: ${(e as Error).stack}`);
      assert.ok((e as Error).message.length > 0, context);
      seen.configError++;
      continue;
    }
    const snap = translate(
      { routes: objects.routes, upstreams: objects.upstreams, services: objects.services, ssls: objects.ssls },
      { dns: { "api.internal": { addresses: ["10.1.1.1"] } } },
    );
    for (const kind of Object.keys(snap.resources) as ResourceKind[])
      for (const r of snap.resources[kind]) assert.deepEqual(checkMessage(KIND_TYPE_URL[kind], r), [], `${context}\n${kind} ${r.name}`);
    // The seam's contract: every cluster the filter's document names (and
    // every name LDS/RDS use) is in the same translation.
    assert.deepEqual(consistent(snap), [], context);
    const verdict = await validator.accepts(ecdsConfiguration(snap));
    assert.ok(verdict.ok, `${context}\nthe filter rejects what the control plane would publish: ${verdict.errors.join("; ")}`);
    seen.published++;
  }
  console.log(`# ${JSON.stringify(seen)}`);
  // the generator reaches both outcomes, and object-level drops
  assert.ok(seen.published > 20 && seen.dropped > 20 && seen.configError > 5, JSON.stringify(seen));
});
