// Fuzzing proxy_on_request_headers through the real build/filter.wasm
// (fast-check, fixed seed): garbage methods, paths with %, .., //, unicode,
// very long paths, huge and many headers, missing :authority, odd Host values,
// IPv6 sources. Every request ends either proxied to a node of the upstream
// named by x-apisix-upstream, or in one of APISIX's statuses with its log
// line; client-sent steering headers never survive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { ProxyWasmHost, type RequestDescription, type RequestResult } from "../../host/index.ts";
import { FILTER_WASM, LOG } from "../filter/helpers.ts";
import { hostPort, withClusterNames } from "../../envoy/control-plane/apisix/index.ts";
import { translate, type Json } from "../../envoy/control-plane/translate.ts";

const module = new WebAssembly.Module(readFileSync(FILTER_WASM));

const CERT = `-----BEGIN CERTIFICATE-----\n${"A".repeat(200)}\n-----END CERTIFICATE-----`;
const KEY = `-----BEGIN PRIVATE KEY-----\n${"B".repeat(100)}\n-----END PRIVATE KEY-----`;
const CONFIG = {
  routes: [
    { id: "exact", uri: "/api/users", upstream_id: "users" },
    { id: "prefix", uri: "/api/*", upstream_id: "api" },
    { id: "wild", uri: "/*", hosts: ["*.example.org"], upstream: { nodes: { "10.0.3.1:80": 1, "[2001:db8::3]:8080": 2 }, pass_host: "node" } },
    { id: "form", uri: "/form", methods: ["POST", "PUT"], upstream_id: "users" },
    {
      id: "vars",
      uri: "/v/*",
      vars: [
        ["http_x_env", "==", "beta"],
        ["arg_v", ">", 2],
      ],
      upstream_id: "api",
    },
    { id: "regex", uri: "/re/*", vars: [["http_user_agent", "~*", "^(curl|wget)/"]], upstream_id: "api" },
    { id: "lan", uri: "/lan/*", remote_addrs: ["10.0.0.0/8", "::1", "2001:db8::/32"], upstream_id: "users" },
    { id: "missing", uri: "/missing/*", upstream_id: "gone" },
    { id: "nonodes", uri: "/nonodes/*", upstream: { nodes: {} } },
    { id: "noup", uri: "/noup/*", plugins: { echo: {} } },
    { id: "deadinline", uri: "/deadinline/*", upstream: { nodes: { "gone.internal:80": 1 } } },
    { id: "deadid", uri: "/deadid/*", upstream_id: "dead" },
    { id: "svc", uri: "/svc/*", service_id: "s1" },
    { id: "nosvc", uri: "/nosvc/*", service_id: "nope" },
    { id: "hash", uri: "/hash/*", upstream_id: "hash" },
    { id: "hhash", uri: "/hhash/*", upstream: { type: "chash", hash_on: "header", key: "x-user", nodes: { "10.0.6.1:80": 1, "10.0.6.2:80": 1 } } },
    { id: "ws", uri: "/ws/*", enable_websocket: true, upstream: { nodes: { "10.0.4.1:80": 1 }, timeout: { connect: 1, send: 1, read: 2.5 } } },
    { id: "ssl", uri: "/ssl/*", upstream: { scheme: "https", nodes: { "10.0.5.1:443": 1 }, tls: { client_cert_id: "nope" } } },
    { id: "mtls", uri: "/mtls/*", upstream: { scheme: "https", nodes: { "10.0.5.2:443": 1 }, tls: { client_cert_id: "cli" } } },
    { id: "dnsok", uri: "/dns/*", upstream: { nodes: { "api.internal:8080": 1 }, pass_host: "node" } },
    { id: "ewma", uri: "/ewma/*", upstream: { type: "ewma", nodes: { "10.0.7.1:80": 1, "10.0.7.2:80": 3 } } },
    { id: "lc", uri: "/lc/*", upstream: { type: "least_conn", nodes: { "10.0.8.1:80": 1, "10.0.8.2:80": 1 } } },
  ],
  upstreams: [
    { id: "users", nodes: { "10.0.1.1:8080": 3, "10.0.1.2:8080": 1, "10.0.1.3:8080": 0 } },
    {
      id: "api",
      nodes: [
        { host: "10.0.2.1", port: 80, weight: 1 },
        { host: "[::1]", port: 9000, weight: 1 },
        { host: "10.0.2.3", port: 80, weight: 1, priority: -1 },
      ],
    },
    { id: "dead", nodes: { "gone.internal:80": 1 } },
    { id: "hash", type: "chash", hash_on: "vars", key: "remote_addr", nodes: { "10.0.9.1:80": 1, "10.0.9.2:80": 5, "10.0.9.3:80": 1 } },
  ],
  services: [{ id: "s1", upstream: { nodes: { "10.0.10.1:80": 1 } } }],
  ssls: [{ id: "cli", type: "client", cert: CERT, key: KEY }],
  dns: { "api.internal": { addresses: ["10.1.1.1"] }, "gone.internal": { error: "NXDOMAIN" } },
};

/**
 * cluster name → node addresses, from the control plane's own translation of
 * CONFIG (override-host clusters list their nodes as endpoints): the filter
 * may only ever name a cluster that translate() emits, and pick one of its
 * endpoints.
 */
const CLUSTERS = new Map<string, Set<string>>(
  translate(CONFIG, { dns: CONFIG.dns, lbMode: "override-host", tlsListenerPort: null }).resources.clusters.map((c) => {
    const eps = ((c.load_assignment as Json).endpoints as Json[]).flatMap((l) => l.lb_endpoints as Json[]);
    const addrs = eps.map((e) => ((e.endpoint as Json).address as Json).socket_address as { address: string; port_value: number });
    return [c.name as string, new Set(addrs.map((a) => hostPort(a.address, a.port_value)))];
  }),
);

/** What each APISIX status must be explained by (error log prefixes; 404 may be the debug line). */
const STATUS_LOGS: Record<number, RegExp> = {
  400: /^client sent invalid (request|host header)$/,
  404: /^(not find any matched route|failed to fetch service configuration by id: )/,
  500: /^failed to get resolved route: /,
  502: /^(failed to find upstream by id: |failed to get resolved upstream: |failed to get ssl cert: |failed to pick server: )/,
  503: /^failed to set upstream: /,
};

// ---------------------------------------------------------------- generators

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE"];
const method = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("get", "Post", "G E T", "é", "", "GET\u0000", "X".repeat(300))) },
);
const PREFIXES = [
  "/api/users",
  "/api/",
  "/api",
  "/form",
  "/v/",
  "/re/",
  "/lan/",
  "/missing/",
  "/nonodes/",
  "/noup/",
  "/deadinline/",
  "/deadid/",
  "/svc/",
  "/nosvc/",
  "/hash/",
  "/hhash/",
  "/ws/",
  "/ssl/",
  "/mtls/",
  "/dns/",
  "/ewma/",
  "/lc/",
  "/",
  "",
  "/nothing/",
];
const pathChar = fc.constantFrom(
  "a",
  "Z",
  "0",
  "/",
  "//",
  "%",
  "%2F",
  "%2e%2E",
  "%zz",
  "%00",
  "%u1234",
  "..",
  "/../",
  "./",
  ";",
  "?",
  "?v=3",
  "&v=9",
  "#frag",
  "~",
  "é",
  "路",
  "😀",
  "\u0000",
  " ",
  "\t",
  "+",
  "*",
  "[",
  "]",
  "\\",
  "'",
  '"',
);
const path = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...PREFIXES), fc.array(pathChar, { maxLength: 20 })).map(([p, cs]) => p + cs.join("")) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 80 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("/api/", "/", "/v/", "/nothing/"), fc.integer({ min: 1000, max: 70000 }), fc.constantFrom("a", "%", "/", "é"))
      .map(([p, n, c]) => p + c.repeat(n)),
  },
);
const authority = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("example.com", "x.example.org", "API.Example.ORG:8443", "example.org", "a.b.example.org.") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      undefined,
      "",
      " ",
      "[::1]:80",
      "[::1",
      "a:b:c",
      "host:99999",
      "h:-1",
      "ünï.example.org",
      "*.example.org",
      `${"x".repeat(5000)}.example.org`,
      "EXAMPLE.COM:",
      ":80",
      "\u0000.example.org",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);
const source = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `${a}:${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 })).map(([a, p]) => `[${a}]:${p}`),
  fc.constantFrom("10.1.2.3:4567", "[::1]:1", "[2001:db8::42]:443", "[::ffff:10.0.0.1]:80"),
);
const headerName = fc.oneof(
  fc.constantFrom(
    "x-apisix-upstream",
    "X-Apisix-Upstream",
    "X-APISIX-UPSTREAM",
    "x-apisix-upstream-hosts",
    "X-Apisix-Upstream-Hosts",
    "x-envoy-original-dst-host",
    "X-Envoy-Original-Dst-Host",
    "x-env",
    "user-agent",
    "cookie",
    "upgrade",
    "connection",
    "x-user",
    "host",
    "content-type",
    "x-envoy-upstream-rq-timeout-ms",
  ),
  fc.stringMatching(/^[a-z0-9-]{1,20}$/),
);
const headerValue = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom("beta", "curl/8.1", "Wget/1.0", "websocket", "Upgrade", "upstream.api", "169.254.169.254:80", "team=a; x=1", "") },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 65536 }).map((n) => "v".repeat(n)) },
);
const headers = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 }) },
  { weight: 1, arbitrary: fc.array(fc.tuple(headerName, fc.string({ maxLength: 8 })), { minLength: 100, maxLength: 400 }) },
);
const request = fc.record({ method, path, authority, source, headers });

// ---------------------------------------------------------------- the invariant

function check(r: RequestResult, context: string): void {
  const clusters = r.requestHeaders.getAll("x-apisix-upstream");
  const plan = r.requestHeaders.getAll("x-apisix-upstream-hosts");
  assert.equal(r.requestHeaders.getAll("x-envoy-original-dst-host").length, 0, `${context}: x-envoy-original-dst-host survived`);
  if (r.localReply) {
    const status = r.localReply.status;
    assert.ok(status in STATUS_LOGS, `${context}: unexpected local reply ${status} ${r.localReply.body}`);
    assert.equal(clusters.length, 0, `${context}: a local reply but x-apisix-upstream = ${clusters}`);
    assert.equal(r.endpoint, undefined, `${context}: a local reply but endpoint = ${r.endpoint}`);
    assert.equal(plan.length, 0, `${context}: a local reply but x-apisix-upstream-hosts = ${plan}`);
    const explained = r.logs.some((l) => STATUS_LOGS[status].test(l.message) && (status === 404 || status === 400 || l.level === LOG.error));
    assert.ok(explained, `${context}: ${status} without its log line; logs: ${JSON.stringify(r.logs.map((l) => l.message))}`);
    return;
  }
  assert.equal(r.forwarded, true, `${context}: neither proxied nor answered`);
  assert.equal(clusters.length, 1, `${context}: x-apisix-upstream values ${JSON.stringify(clusters)}`);
  const nodes = CLUSTERS.get(clusters[0]);
  assert.ok(nodes, `${context}: proxied to unknown cluster ${clusters[0]}`);
  assert.ok(r.endpoint !== undefined && nodes.has(r.endpoint), `${context}: ${r.endpoint} is not a node of ${clusters[0]}`);
  // The retry plan is the filter's, never the client's: one value, nodes of the cluster only.
  assert.ok(plan.length <= 1, `${context}: x-apisix-upstream-hosts values ${JSON.stringify(plan)}`);
  for (const hp of plan.length ? plan[0].split(",") : []) assert.ok(nodes.has(hp), `${context}: plan entry ${hp} is not a node of ${clusters[0]}`);
}

function run(
  host: ProxyWasmHost,
  q: { method: string; path: string; authority: string | undefined; source: string; headers: [string, string][] },
): RequestResult {
  const desc: RequestDescription = { method: q.method, path: q.path, authority: q.authority ?? "placeholder", source: q.source, headers: q.headers };
  const s = host.stream(desc);
  if (q.authority === undefined) s.requestHeaderMap.remove(":authority");
  return s.run();
}

const short = (q: unknown) => JSON.stringify(q, (_k, v) => (typeof v === "string" && v.length > 200 ? `${v.slice(0, 200)}…(${v.length})` : v));

test("fuzz: 4,000 random request heads end proxied to a node of the named cluster or in an APISIX status with its log", () => {
  const host = new ProxyWasmHost(module, { rootId: "apisix-upstream", maxLogs: 5000 });
  assert.equal(
    host.configure(JSON.stringify(withClusterNames(CONFIG))),
    true,
    host.logs
      .filter((l) => l.level >= LOG.error)
      .map((l) => l.message)
      .join("\n"),
  );
  const seen = new Map<string, number>();
  fc.assert(
    fc.property(request, (q) => {
      const r = run(host, q);
      const context = short(q);
      assert.equal(host.trapped, false, `trapped: ${JSON.stringify(host.failure)}\n${context}`);
      check(r, context);
      const k = r.localReply ? String(r.localReply.status) : r.header("x-apisix-upstream")!;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      if (host.logs.length > 4000) host.clearLogs();
    }),
    { seed: 0x5eed10, numRuns: 4000, endOnFailure: true },
  );
  // The generator reaches every outcome (guards against a generator that only produces 404s).
  for (const k of ["404", "500", "502", "503", "upstream.users", "upstream.api", "route.wild", "service.s1", "upstream.hash"]) {
    assert.ok((seen.get(k) ?? 0) > 0, `outcome ${k} never produced: ${JSON.stringify([...seen])}`);
  }
});

test("fuzz: steering headers sent by the client in any case and number never reach the router", () => {
  const host = new ProxyWasmHost(module, { rootId: "apisix-upstream", maxLogs: 5000 });
  assert.equal(host.configure(JSON.stringify(withClusterNames(CONFIG))), true);
  const steering = fc.array(
    fc.tuple(
      fc.constantFrom(
        "x-apisix-upstream",
        "X-Apisix-Upstream",
        "x-envoy-original-dst-host",
        "X-ENVOY-ORIGINAL-DST-HOST",
        "x-apisix-upstream-hosts",
        "X-APISIX-UPSTREAM-HOSTS",
      ),
      fc.constantFrom(
        "upstream.api",
        "route.ws",
        "169.254.169.254:80",
        "",
        "10.0.1.1:8080",
        "169.254.169.254:80,10.0.1.1:8080",
        "10.0.2.1:80,169.254.169.254:80",
      ),
    ),
    { minLength: 1, maxLength: 6 },
  );
  fc.assert(
    fc.property(fc.constantFrom(...PREFIXES), steering, source, (p, hs, src) => {
      const r = host.request({ method: "GET", path: `${p}x`, authority: "example.com", source: src, headers: hs });
      assert.equal(host.trapped, false);
      check(r, short({ p, hs, src }));
      if (host.logs.length > 1000) host.clearLogs();
    }),
    { seed: 0x5eed11, numRuns: 1000, endOnFailure: true },
  );
});
