// translate(): APISIX objects → LDS/RDS/CDS/ECDS, all strictly proto-valid.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { checkMessage, decodeMessage, encodeAny, encodeMessage } from "../../envoy/control-plane/protos.ts";
import { translate, KIND_TYPE_URL, seconds, type Json, type ResourceKind, type Snapshot } from "../../envoy/control-plane/translate.ts";
import { clusterName, upstreamSites } from "../../envoy/control-plane/apisix/index.ts";
import { ConfigError, dnsHostnames, filterConfigJson, loadApisixYaml } from "../../envoy/control-plane/apisix/index.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
const HPO = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

function assertAllValid(s: Snapshot) {
  for (const kind of Object.keys(s.resources) as ResourceKind[])
    for (const r of s.resources[kind]) assert.deepEqual(checkMessage(KIND_TYPE_URL[kind], r), [], `${kind} ${r.name} must pass the strict proto check`);
}
const cluster = (s: Snapshot, name: string) => {
  const c = s.resources.clusters.find((c) => c.name === name);
  assert.ok(c, `cluster ${name} emitted (have: ${s.resources.clusters.map((c) => c.name).join(", ")})`);
  return c as Json & Record<string, any>;
};
const get = (o: unknown, path: string): any => path.split(".").reduce((x: any, k) => (x == null ? undefined : x[k]), o);

interface Case {
  name: string;
  apisix: Record<string, unknown>;
  check: (s: Snapshot) => void;
}

const cases: Case[] = [
  {
    name: "one ORIGINAL_DST cluster per upstream, inline route, service, traffic-split upstream",
    apisix: {
      upstreams: [
        { id: "u1", nodes: { "127.0.0.1:1980": 1 } },
        { id: 7, nodes: [{ host: "10.0.0.1", port: 80, weight: 1 }] },
      ],
      services: [{ id: "s1", upstream: { nodes: { "127.0.0.1:1981": 1 } } }],
      routes: [
        { id: "r1", uri: "/a", upstream: { nodes: { "127.0.0.1:1982": 1 } } },
        {
          id: "r2",
          uri: "/b",
          upstream_id: "u1",
          plugins: {
            "traffic-split": {
              rules: [{ weighted_upstreams: [{ upstream: { nodes: { "127.0.0.1:1983": 1 } }, weight: 1 }, { weight: 1 }, { upstream_id: 7, weight: 1 }] }],
            },
          },
        },
      ],
    },
    check: (s) => {
      assert.deepEqual(
        s.resources.clusters.map((c) => c.name),
        ["upstream.u1", "upstream.7", "service.s1", "route.r1", "split.r2.0.0"],
      );
      for (const c of s.resources.clusters) {
        assert.equal(c.type, "ORIGINAL_DST");
        assert.equal(c.lb_policy, "CLUSTER_PROVIDED");
        assert.equal(c.load_assignment, undefined);
        assert.deepEqual(c.original_dst_lb_config, { use_http_header: false });
      }
      assert.deepEqual(s.issues, []);
    },
  },
  {
    name: "http → explicit HTTP/1.1, no TLS; grpc → HTTP/2 prior knowledge",
    apisix: {
      upstreams: [
        { id: "h", nodes: { "127.0.0.1:80": 1 } },
        { id: "g", scheme: "grpc", nodes: { "127.0.0.1:50051": 1 } },
      ],
    },
    check: (s) => {
      const h = cluster(s, "upstream.h");
      assert.deepEqual(h.typed_extension_protocol_options[HPO].explicit_http_config, { http_protocol_options: {} });
      assert.equal(h.transport_socket, undefined);
      const g = cluster(s, "upstream.g");
      assert.deepEqual(g.typed_extension_protocol_options[HPO].explicit_http_config, { http2_protocol_options: {} });
      assert.equal(g.transport_socket, undefined);
    },
  },
  {
    name: "https/grpcs → UpstreamTlsContext with auto SNI; grpcs also ALPN h2; rewrite gives a static SNI",
    apisix: {
      upstreams: [
        { id: "s", scheme: "https", pass_host: "rewrite", upstream_host: "api.example.com", nodes: { "127.0.0.1:443": 1 } },
        { id: "gs", scheme: "grpcs", nodes: { "127.0.0.1:443": 1, "127.0.0.2:443": 1 } },
        { id: "n", scheme: "https", pass_host: "node", nodes: { "backend.internal:8443": 1 } },
      ],
    },
    check: (s) => {
      const tls = cluster(s, "upstream.s").transport_socket;
      assert.equal(tls.name, "envoy.transport_sockets.tls");
      assert.equal(tls.typed_config["@type"], "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
      assert.equal(tls.typed_config.sni, "api.example.com");
      assert.equal(tls.typed_config.common_tls_context.validation_context, undefined, "APISIX does not verify upstream certs");
      assert.deepEqual(cluster(s, "upstream.s").typed_extension_protocol_options[HPO].upstream_http_protocol_options, { auto_sni: true });
      const gs = cluster(s, "upstream.gs");
      assert.deepEqual(gs.transport_socket.typed_config.common_tls_context.alpn_protocols, ["h2"]);
      assert.deepEqual(gs.typed_extension_protocol_options[HPO].explicit_http_config, { http2_protocol_options: {} });
      assert.equal(gs.transport_socket.typed_config.sni, undefined, "pass_host pass: SNI comes from the request Host");
      assert.equal(cluster(s, "upstream.n").transport_socket.typed_config.sni, "backend.internal");
    },
  },
  {
    name: "client certificate from a client ssl (client_cert_id) and inline client_cert/client_key",
    apisix: {
      ssls: [
        { id: "c1", type: "client", cert: CERT, key: KEY },
        { id: "srv", type: "server", cert: CERT, key: KEY, snis: ["a.example"] },
      ],
      upstreams: [
        { id: "m1", scheme: "https", tls: { client_cert_id: "c1" }, nodes: { "127.0.0.1:443": 1 } },
        { id: "m2", scheme: "grpcs", tls: { client_cert: CERT, client_key: KEY }, nodes: { "127.0.0.1:443": 1 } },
        { id: "m3", scheme: "https", tls: { client_cert_id: "missing" }, nodes: { "127.0.0.1:443": 1 } },
        { id: "m4", scheme: "https", tls: { client_cert_id: "srv" }, nodes: { "127.0.0.1:443": 1 } },
      ],
    },
    check: (s) => {
      const certs = (n: string) => cluster(s, n).transport_socket.typed_config.common_tls_context.tls_certificates;
      assert.deepEqual(certs("upstream.m1"), [{ certificate_chain: { inline_string: CERT }, private_key: { inline_string: KEY } }]);
      assert.deepEqual(certs("upstream.m2"), [{ certificate_chain: { inline_string: CERT }, private_key: { inline_string: KEY } }]);
      // dangling / wrong-type ssl: cluster still emitted (TLS, no client cert); the filter answers 502
      assert.equal(certs("upstream.m3"), undefined);
      assert.equal(certs("upstream.m4"), undefined);
      // (the server ssl's placeholder certificate is tls-listener.test.ts's business)
      assert.deepEqual(
        s.issues.filter((i) => i.path.startsWith("upstreams")).map((i) => [i.severity, i.path]),
        [
          ["warning", "upstreams[2].tls.client_cert_id"],
          ["warning", "upstreams[3].tls.client_cert_id"],
        ],
      );
      assert.match(s.issues.filter((i) => i.path.startsWith("upstreams"))[1].message, /type "server", not "client"/);
    },
  },
  {
    name: "connect timeout: upstream timeout.connect, route timeout wins for inline upstreams, 60s default",
    apisix: {
      upstreams: [
        { id: "t", timeout: { connect: 0.25, send: 1, read: 1 }, nodes: { "127.0.0.1:1": 1 } },
        { id: "d", nodes: { "127.0.0.1:1": 1 } },
      ],
      routes: [
        { id: "r", uri: "/", timeout: { connect: 2, send: 3, read: 4 }, upstream: { timeout: { connect: 9, send: 9, read: 9 }, nodes: { "127.0.0.1:1": 1 } } },
      ],
    },
    check: (s) => {
      assert.equal(cluster(s, "upstream.t").connect_timeout, "0.250s");
      assert.equal(cluster(s, "upstream.d").connect_timeout, "60s");
      assert.equal(cluster(s, "route.r").connect_timeout, "2s");
    },
  },
  {
    name: "keepalive_pool maps to connection idle timeout, requests per connection and host cleanup",
    apisix: {
      upstreams: [
        { id: "k", keepalive_pool: { size: 10, idle_timeout: 30, requests: 50 }, nodes: { "127.0.0.1:1": 1 } },
        { id: "d", nodes: { "127.0.0.1:1": 1 } },
      ],
    },
    check: (s) => {
      assert.deepEqual(cluster(s, "upstream.k").typed_extension_protocol_options[HPO].common_http_protocol_options, {
        idle_timeout: "30s",
        max_requests_per_connection: 50,
      });
      assert.equal(cluster(s, "upstream.k").cleanup_interval, "30s");
      assert.deepEqual(cluster(s, "upstream.d").typed_extension_protocol_options[HPO].common_http_protocol_options, {
        idle_timeout: "60s",
        max_requests_per_connection: 1000,
      });
    },
  },
  {
    name: "listener: port, websocket upgrade (h1 and h2 CONNECT), path normalisation, header stripping, ECDS then router",
    apisix: {},
    check: (s) => {
      assert.equal(s.resources.listeners.length, 1);
      const l = s.resources.listeners[0];
      assert.deepEqual(get(l, "address.socket_address"), { address: "0.0.0.0", port_value: 9080 });
      const hcm = get(l, "filter_chains.0.filters.0.typed_config");
      assert.deepEqual(hcm.upgrade_configs, [{ upgrade_type: "websocket" }]);
      assert.equal(hcm.http2_protocol_options.allow_connect, true);
      assert.equal(hcm.codec_type, "AUTO");
      assert.equal(hcm.normalize_path, true);
      assert.equal(hcm.merge_slashes, true);
      assert.equal(hcm.path_with_escaped_slashes_action, "UNESCAPE_AND_FORWARD");
      assert.equal(hcm.internal_address_config, undefined);
      assert.deepEqual(hcm.rds, { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: "apisix" });
      const removed = get(hcm, "early_header_mutation_extensions.0.typed_config.mutations").map((m: Json) => m.remove);
      assert.deepEqual(removed.slice(0, 3), ["x-apisix-upstream", "x-envoy-original-dst-host", "x-apisix-upstream-hosts"]);
      for (const h of [
        "x-envoy-upstream-rq-timeout-ms",
        "x-envoy-upstream-rq-per-try-timeout-ms",
        "x-envoy-max-retries",
        "x-envoy-retry-on",
        "x-envoy-retry-grpc-on",
        "x-envoy-internal",
      ])
        assert.ok(removed.includes(h), h);
      assert.deepEqual(
        hcm.http_filters.map((f: Json) => f.name),
        ["apisix-upstream", "envoy.filters.http.router"],
      );
      assert.deepEqual(hcm.http_filters[0].config_discovery, {
        config_source: { ads: {}, resource_api_version: "V3" },
        type_urls: ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"],
      });
      const rc = s.resources.routes[0];
      assert.equal(rc.name, "apisix");
      const route = get(rc, "virtual_hosts.0.routes.0");
      assert.deepEqual(get(rc, "virtual_hosts.0.domains"), ["*"]);
      assert.deepEqual(route.match, { prefix: "/" });
      assert.equal(route.route.cluster_header, "x-apisix-upstream");
      assert.equal(route.route.cluster_not_found_response_code, "SERVICE_UNAVAILABLE");
      assert.equal(route.route.timeout, "0s");
      assert.equal(route.route.retry_policy, undefined);
      assert.deepEqual(route.request_headers_to_remove, ["x-apisix-upstream"]);
    },
  },
];

for (const c of cases) {
  test(`translate: ${c.name}`, () => {
    const s = translate(c.apisix, { lbMode: "original-dst" });
    c.check(s);
    assertAllValid(s);
  });
}

test("proto encoding: Struct values of every JSON kind survive the round trip", () => {
  const value = { s: "x", n: 1.5, b: true, z: null, l: ["a", 2, { k: [] }], o: { p: { q: "r" } } };
  const back = decodeMessage("google.protobuf.Struct", encodeMessage("google.protobuf.Struct", value));
  const plain = (v: any): unknown => {
    const k = Object.keys(v)[0];
    if (k === "nullValue" || k === "null_value") return null;
    if (k === "listValue" || k === "list_value") return (v[k].values ?? []).map(plain);
    if (k === "structValue" || k === "struct_value") return Object.fromEntries(Object.entries(v[k].fields ?? {}).map(([f, x]) => [f, plain(x)]));
    return v[k];
  };
  assert.deepEqual(plain({ structValue: back }), value);
});

test("listener: Envoy's own upstream failures answer like nginx (502/504 pages), except for gRPC", () => {
  const s = translate({});
  const hcm = get(s.resources.listeners[0], "filter_chains.0.filters.0.typed_config");
  const mappers = hcm.local_reply_config.mappers;
  assert.deepEqual(
    mappers.map((m: Json) => [get(m, "filter.and_filter.filters.0.response_flag_filter.flags"), m.status_code]),
    [
      [["UF", "URX", "UC", "UR"], 502],
      [["UT"], 504],
    ],
  );
  assert.match(mappers[0].body.inline_string, /<title>502 Bad Gateway<\/title>/);
  assert.match(mappers[1].body.inline_string, /<title>504 Gateway Time-out<\/title>/);
  assert.equal(get(mappers[0], "body_format_override.content_type"), "text/html; charset=utf-8");
  assert.match(JSON.stringify(get(mappers[0], "filter.and_filter.filters.1")), /application\/grpc/);
});

test("clusters: the request leaves for the node without the filter's try plan (upstream header_mutation, then the codec)", () => {
  const apisix = {
    upstreams: [
      { id: "u", nodes: { "127.0.0.1:80": 1, "127.0.0.2:80": 1 } },
      { id: "g", scheme: "grpcs", nodes: { "127.0.0.1:443": 1, "127.0.0.2:443": 1 } },
      { id: "one", nodes: { "127.0.0.1:80": 1 } },
    ],
  };
  for (const lbMode of ["override-host", "original-dst"] as const) {
    const s = translate(apisix, { lbMode });
    assertAllValid(s);
    for (const c of s.resources.clusters) {
      const filters = (c as any).typed_extension_protocol_options[HPO].http_filters;
      if (lbMode === "original-dst" || c.name === "upstream.one") {
        // no plan reaches these clusters (ORIGINAL_DST ignores it, one node needs none), so nothing strips one
        assert.equal(filters, undefined, `${lbMode} ${c.name}`);
        continue;
      }
      assert.deepEqual(
        filters.map((f: Json) => f.name),
        ["envoy.filters.http.header_mutation", "envoy.filters.http.upstream_codec"],
        `${lbMode} ${c.name}`,
      );
      assert.deepEqual(get(filters[0], "typed_config.mutations.request_mutations"), [{ remove: "x-apisix-upstream-hosts" }]);
    }
    // the route must not remove it: override_host reads it again on every try
    assert.deepEqual(get(s.resources.routes[0], "virtual_hosts.0.routes.0.request_headers_to_remove"), ["x-apisix-upstream"]);
  }
});

test("ECDS: wasm filter config carries the APISIX objects, dns and health; VM identity is stable", () => {
  const apisix = { routes: [{ id: "r", uri: "/x", upstream_id: "u" }], upstreams: [{ id: "u", nodes: { "echo:8080": 1 } }], ssls: [], services: [] };
  const dns = { echo: { addresses: ["10.0.0.5"] } };
  const health = { "upstream.u": { "10.0.0.5:8080": false as const } };
  const s1 = translate(apisix, { dns, health, wasmPath: "/w/f.wasm", lbMode: "original-dst" });
  assertAllValid(s1);
  const ext = s1.resources.extensionConfigs[0];
  assert.equal(ext.name, "apisix-upstream");
  const wasm = get(ext, "typed_config");
  assert.equal(wasm["@type"], "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
  assert.equal(wasm.config.root_id, "apisix-upstream");
  assert.deepEqual(wasm.config.vm_config, { vm_id: "apisix-upstream", runtime: "envoy.wasm.runtime.v8", code: { local: { filename: "/w/f.wasm" } } });
  assert.equal(wasm.config.configuration["@type"], "type.googleapis.com/google.protobuf.StringValue");
  const cfg = JSON.parse(wasm.config.configuration.value);
  assert.deepEqual(Object.keys(cfg), ["routes", "upstreams", "ssls", "services", "dns", "health", "envoy"]);
  // No access log configured: nothing reads the ids, the filter is told not to write them.
  assert.deepEqual(cfg.envoy, { lb_mode: "original-dst", filter_state_ids: false });
  const logged = JSON.parse(
    get(translate(apisix, { dns, health, wasmPath: "/w/f.wasm", lbMode: "original-dst", accessLog: true }).resources.extensionConfigs[0], "typed_config").config
      .configuration.value,
  );
  assert.deepEqual(logged.envoy, { lb_mode: "original-dst" });
  assert.deepEqual(cfg.routes, apisix.routes);
  assert.deepEqual(cfg.dns, dns);
  assert.deepEqual(cfg.health, health);

  // a DNS change only changes the ECDS version; vm_config is untouched
  const s2 = translate(apisix, { dns: { echo: { addresses: ["10.0.0.6"] } }, health, wasmPath: "/w/f.wasm", lbMode: "original-dst" });
  assert.notEqual(s2.version, s1.version);
  assert.notEqual(s2.versions.extensionConfigs, s1.versions.extensionConfigs);
  for (const k of ["clusters", "listeners", "routes"] as const) assert.equal(s2.versions[k], s1.versions[k]);
  assert.deepEqual(get(s2.resources.extensionConfigs[0], "typed_config.config.vm_config"), wasm.config.vm_config);
  // deterministic
  assert.deepEqual(translate(apisix, { dns, health, wasmPath: "/w/f.wasm", lbMode: "original-dst" }), s1);
});

test("examples/config.yaml translates cleanly", () => {
  const apisix = loadApisixYaml(fs.readFileSync(new URL("../../examples/config.yaml", import.meta.url), "utf8"));
  const s = translate(apisix, { lbMode: "original-dst" });
  assert.deepEqual(s.issues, []);
  assertAllValid(s);
  assert.deepEqual(
    s.resources.clusters.map((c) => c.name),
    ["upstream.echo", "route.echo-rewrite", "route.grpc", "route.ws"],
  );
  assert.deepEqual(dnsHostnames(apisix), ["echo-1", "echo-2", "grpc-echo", "ws-echo"]);
});

test("cluster names: one function, the control plane's", () => {
  assert.equal(clusterName({ kind: "upstream", upstreamId: 1 }), "upstream.1");
  assert.equal(clusterName({ kind: "route", routeId: "r" }), "route.r");
  assert.equal(clusterName({ kind: "service", serviceId: "s" }), "service.s");
  assert.equal(clusterName({ kind: "split", routeId: "r", rule: 2, index: 0 }), "split.r.2.0");
  const sites = upstreamSites({ routes: [{ id: "x", upstream: {} }], upstreams: [{ id: "u" }, { nodes: {} }] });
  assert.deepEqual(
    sites.map((s) => [s.cluster, s.path]),
    [
      ["upstream.u", "upstreams[0]"],
      ["route.x", "routes[0].upstream"],
    ],
  );
});

test("loadApisixYaml: #END trailer, sections, errors; filterConfigJson shape", () => {
  const a = loadApisixYaml("routes:\n  - id: 1\n    uri: /\nupstreams: []\n#END\n");
  assert.deepEqual(a.routes, [{ id: 1, uri: "/" }]);
  assert.deepEqual([a.upstreams, a.ssls, a.services], [[], [], []]);
  assert.deepEqual(loadApisixYaml("").routes, []);
  assert.throws(() => loadApisixYaml("routes: [\n"), ConfigError);
  assert.throws(() => loadApisixYaml("routes: {a: 1}\n"), /"routes" must be a list/);
  assert.throws(() => loadApisixYaml("- 1\n"), /mapping/);
  assert.throws(() => loadApisixYaml("a: 1\na: 2\n"), ConfigError);
  assert.deepEqual(JSON.parse(filterConfigJson(a, { h: { error: "x" } })), {
    routes: a.routes,
    upstreams: [],
    ssls: [],
    services: [],
    dns: { h: { error: "x" } },
    health: {},
  });
});

test("seconds() formats APISIX seconds as a Duration", () => {
  assert.deepEqual([seconds(60), seconds(0.5), seconds(1.25), seconds(0.0001)], ["60s", "0.500s", "1.250s", "0.001s"]);
});

// ---------------------------------------------------------------------------
// lbMode "override-host": STATIC clusters + the override_host LB policy

const OVERRIDE_HOST_URL = "type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost";
const lbEndpoints = (c: Json) =>
  ((c as any).load_assignment.endpoints as Json[]).map((e: any) => ({
    priority: e.priority ?? 0,
    eps: e.lb_endpoints.map(
      (l: any) => `${l.endpoint.address.socket_address.address}:${l.endpoint.address.socket_address.port_value}/${l.load_balancing_weight}`,
    ),
  }));

/**
 * Hand check of the OverrideHost value carried in the TypedStruct: the
 * vendored protos predate the message, so the strict checker sees only a
 * Struct. Field set per envoyproxy/envoy api/envoy/extensions/
 * load_balancing_policies/override_host/v3/override_host.proto:
 * override_host_sources (min 1; each exactly one of header|metadata),
 * selected_host_key (optional), fallback_policy (required LoadBalancingPolicy,
 * which the vendored protos do have, so it gets the strict check).
 */
function assertOverrideHostShape(policy: unknown): Json {
  const p = policy as any;
  assert.deepEqual(checkMessage("envoy.config.cluster.v3.LoadBalancingPolicy", p), [], "load_balancing_policy (TypedStruct wrapper) passes the strict check");
  assert.equal(p.policies.length, 1);
  const ext = p.policies[0].typed_extension_config;
  assert.equal(ext.name, "envoy.load_balancing_policies.override_host");
  assert.equal(ext.typed_config["@type"], "type.googleapis.com/xds.type.v3.TypedStruct");
  assert.equal(ext.typed_config.type_url, OVERRIDE_HOST_URL);
  const v = ext.typed_config.value;
  for (const k of Object.keys(v)) assert.ok(["override_host_sources", "selected_host_key", "fallback_policy"].includes(k), `OverrideHost has no field ${k}`);
  assert.ok(Array.isArray(v.override_host_sources) && v.override_host_sources.length >= 1, "override_host_sources: at least one");
  for (const src of v.override_host_sources) {
    for (const k of Object.keys(src)) assert.ok(["header", "metadata"].includes(k), `OverrideHostSource has no field ${k}`);
    assert.equal(Object.keys(src).length, 1, "exactly one of header/metadata");
    if ("header" in src) assert.ok(typeof src.header === "string" && src.header.length > 0);
  }
  assert.ok(v.fallback_policy, "fallback_policy is required");
  assert.deepEqual(
    checkMessage("envoy.config.cluster.v3.LoadBalancingPolicy", v.fallback_policy),
    [],
    "fallback_policy passes the strict check (RoundRobin is in the vendored protos)",
  );
  return v;
}

test("override-host: STATIC clusters with the nodes as endpoints and the override_host policy (TypedStruct) reading x-apisix-upstream-hosts", () => {
  const apisix = {
    upstreams: [
      { id: "map", nodes: { "127.0.0.1:1980": 2, "127.0.0.2:1980": 1 } },
      { id: "tls", scheme: "https", nodes: [{ host: "127.0.0.3", weight: 1 }] },
    ],
    routes: [{ id: "r", uri: "/", upstream: { scheme: "grpc", nodes: { "[::1]:50051": 1, "[::1]:50052": 1 } } }],
  };
  const s = translate(apisix, { lbMode: "override-host" });
  assertAllValid(s);
  assert.deepEqual(s.issues, []);
  assert.deepEqual(
    s.resources.clusters.map((c) => c.name),
    ["upstream.map", "upstream.tls", "route.r"],
  );
  for (const c of s.resources.clusters) {
    assert.equal(c.type, "STATIC");
    for (const k of ["lb_policy", "original_dst_lb_config", "cleanup_interval"]) assert.equal(c[k], undefined, `${c.name}: no ${k}`);
    assert.equal((c as any).load_assignment.cluster_name, c.name);
    if (c.name === "upstream.tls") {
      // one node: no plan from the filter, Envoy's default load balancer has one endpoint to pick
      assert.equal(c.load_balancing_policy, undefined);
      continue;
    }
    const v = assertOverrideHostShape(c.load_balancing_policy);
    assert.deepEqual(v.override_host_sources, [{ header: "x-apisix-upstream-hosts" }]);
    assert.deepEqual(v.fallback_policy, {
      policies: [
        {
          typed_extension_config: {
            name: "envoy.load_balancing_policies.round_robin",
            typed_config: { "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin" },
          },
        },
      ],
    });
  }
  // encodes (what the ADS server sends): TypedStruct → protobuf bytes, value as
  // a Struct whose fields survive (an empty Struct made Envoy NACK the CDS)
  for (const c of s.resources.clusters.filter((c) => c.load_balancing_policy !== undefined)) {
    const back = decodeMessage(KIND_TYPE_URL.clusters, encodeAny(KIND_TYPE_URL.clusters, c).value);
    const any = get(back, "load_balancing_policy.policies.0.typed_extension_config.typed_config");
    assert.equal(any.type_url, "type.googleapis.com/xds.type.v3.TypedStruct");
    const ts = decodeMessage("xds.type.v3.TypedStruct", Buffer.from(any.value, "base64"));
    const hdr = get(ts, "value.fields.override_host_sources");
    assert.equal(
      get(hdr.listValue ?? hdr.list_value, "values.0.structValue.fields.header.stringValue") ??
        get(hdr.list_value, "values.0.struct_value.fields.header.string_value"),
      "x-apisix-upstream-hosts",
    );
  }
  // the default mode
  assert.deepEqual(translate(apisix).resources.clusters, s.resources.clusters);
  assert.deepEqual(lbEndpoints(cluster(s, "upstream.map")), [{ priority: 0, eps: ["127.0.0.1:1980/2", "127.0.0.2:1980/1"] }]);
  assert.deepEqual(lbEndpoints(cluster(s, "upstream.tls")), [{ priority: 0, eps: ["127.0.0.3:443/1"] }], "scheme default port");
  assert.deepEqual(lbEndpoints(cluster(s, "route.r")), [{ priority: 0, eps: ["::1:50051/1", "::1:50052/1"] }]);

  // everything but the endpoint choice is the same as in original-dst mode
  const od = translate(apisix, { lbMode: "original-dst" });
  const strip = (c: Json) =>
    Object.fromEntries(
      Object.entries(c).filter(
        ([k]) => !["type", "lb_policy", "original_dst_lb_config", "cleanup_interval", "load_assignment", "load_balancing_policy"].includes(k),
      ),
    );
  // ... and the upstream filter that strips the plan, which only clusters following a plan have
  const planStripped = s.resources.clusters.map((c) => {
    const x = structuredClone(c) as any;
    delete x.typed_extension_protocol_options[HPO].http_filters;
    return x;
  });
  assert.deepEqual(planStripped.map(strip), od.resources.clusters.map(strip));
  for (const k of ["listeners", "routes"] as const) assert.deepEqual(s.resources[k], od.resources[k]);
  // the filter config differs only in telling the filter which mode Envoy runs
  const filterCfg = (x: typeof s) => JSON.parse(get(x.resources.extensionConfigs[0], "typed_config.config.configuration.value"));
  assert.deepEqual({ ...filterCfg(s), envoy: undefined }, { ...filterCfg(od), envoy: undefined });
  assert.deepEqual(filterCfg(s).envoy, { lb_mode: "override-host", filter_state_ids: false });
  // same route in both modes: cluster by header, no retry policy or host predicate (override_host walks the plan itself)
  assert.equal(get(s.resources.routes[0], "virtual_hosts.0.routes.0.route.retry_policy"), undefined);
});

test("override-host: priorities become Envoy levels (highest first), weight-0 nodes a last level, duplicate addresses listed once", () => {
  const s = translate(
    {
      upstreams: [
        {
          id: "p",
          nodes: [
            { host: "127.0.0.1", port: 1, weight: 1, priority: -1 },
            { host: "127.0.0.2", port: 1, weight: 5, priority: 10 },
            { host: "127.0.0.3", port: 1, weight: 0 },
            { host: "127.0.0.4", port: 1, weight: 1 },
            { host: "127.0.0.2", port: 1, weight: 1, priority: 0 },
            { host: "[::1]", port: 1, weight: 1 },
          ],
        },
      ],
    },
    { lbMode: "override-host" },
  );
  assertAllValid(s);
  assert.deepEqual(s.issues, []);
  assert.deepEqual(lbEndpoints(cluster(s, "upstream.p")), [
    { priority: 0, eps: ["127.0.0.2:1/5"] },
    { priority: 1, eps: ["127.0.0.4:1/1", "::1:1/1"] },
    { priority: 2, eps: ["127.0.0.1:1/1"] },
    { priority: 3, eps: ["127.0.0.3:1/1"] },
  ]);
});

test("override-host: domain nodes take the DNS table's first address; unresolved or failed names give no endpoint and a warning", () => {
  const apisix = {
    upstreams: [
      { id: "d", nodes: { "echo-1:8080": 1, "echo-2:8080": 1, "gone:8080": 1, "new:8080": 1, "127.0.0.9:8080": 1 } },
      { id: "all-failed", nodes: [{ host: "gone", port: 80, weight: 1 }] },
      { id: "v6", nodes: { "[0:0::1]:80": 1 } },
    ],
  };
  const dns = { "echo-1": { addresses: ["127.0.0.11", "127.0.0.12"] }, "echo-2": { addresses: ["127.0.0.12"] }, gone: { error: "queryA ENOTFOUND gone" } };
  const s = translate(apisix, { lbMode: "override-host", dns });
  assertAllValid(s);
  assert.deepEqual(lbEndpoints(cluster(s, "upstream.d")), [{ priority: 0, eps: ["127.0.0.11:8080/1", "127.0.0.12:8080/1", "127.0.0.9:8080/1"] }]);
  assert.deepEqual((cluster(s, "upstream.all-failed") as any).load_assignment, { cluster_name: "upstream.all-failed", endpoints: [] });
  assert.deepEqual(
    s.issues.map((i) => [i.severity, i.path]),
    [
      ["warning", 'upstreams[0].nodes["gone:8080"]'],
      ["warning", 'upstreams[0].nodes["new:8080"]'],
      ["warning", "upstreams[1].nodes[0]"],
      ["warning", 'upstreams[2].nodes["[0:0::1]:80"]'],
    ],
  );
  assert.match(s.issues[0].message, /ENOTFOUND/);
  assert.match(s.issues[1].message, /not resolved/);
  assert.match(s.issues[3].message, /canonical form \(::1\)/);
  // the endpoint is still emitted as written (the filter's plan uses the same text)
  assert.deepEqual(lbEndpoints(cluster(s, "upstream.v6")), [{ priority: 0, eps: ["0:0::1:80/1"] }]);
  // original-dst mode doesn't care about DNS for clusters
  assert.deepEqual(translate(apisix, { dns, lbMode: "original-dst" }).issues, []);
});

test("override-host: a DNS change re-sends the affected clusters (and ECDS); a health change only ECDS", () => {
  const apisix = {
    upstreams: [
      { id: "u", nodes: { "echo:8080": 1 } },
      { id: "ip", nodes: { "127.0.0.1:1": 1 } },
    ],
  };
  const h0 = {};
  const s1 = translate(apisix, { lbMode: "override-host", dns: { echo: { addresses: ["127.0.0.5"] } }, health: h0 });
  const s2 = translate(apisix, { lbMode: "override-host", dns: { echo: { addresses: ["127.0.0.6"] } }, health: h0 });
  assert.notEqual(s2.versions.clusters, s1.versions.clusters);
  assert.notEqual(s2.versions.extensionConfigs, s1.versions.extensionConfigs);
  assert.deepEqual(cluster(s2, "upstream.ip"), cluster(s1, "upstream.ip"));
  assert.deepEqual(lbEndpoints(cluster(s2, "upstream.u")), [{ priority: 0, eps: ["127.0.0.6:8080/1"] }]);
  const s3 = translate(apisix, { lbMode: "override-host", dns: { echo: { addresses: ["127.0.0.6"] } }, health: { "upstream.u": { "127.0.0.6:8080": false } } });
  assert.equal(s3.versions.clusters, s2.versions.clusters, "unhealthy nodes stay endpoints: the filter leaves them out of its plan");
  assert.notEqual(s3.versions.extensionConfigs, s2.versions.extensionConfigs);
});

test("override-host: examples/config.yaml with a DNS table translates cleanly; an unknown lbMode throws", () => {
  const apisix = loadApisixYaml(fs.readFileSync(new URL("../../examples/config.yaml", import.meta.url), "utf8"));
  const dns = Object.fromEntries(dnsHostnames(apisix).map((h, i) => [h, { addresses: [`127.0.0.${i + 10}`] }]));
  const s = translate(apisix, { lbMode: "override-host", dns });
  assert.deepEqual(s.issues, []);
  assertAllValid(s);
  assert.deepEqual(lbEndpoints(cluster(s, "upstream.echo")), [{ priority: 0, eps: ["127.0.0.10:8080/1", "127.0.0.11:8080/1"] }]);
  assert.throws(() => translate(apisix, { lbMode: "eds" as never }), /unknown lbMode "eds"/);
});
