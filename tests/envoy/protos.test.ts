// The strict proto3-JSON checker over Envoy's real protos.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { parse } from "yaml";
import { checkMessage, checkResource, decodeMessage, encodeAny, ProtoCheckError, TYPE_URL } from "../../envoy/control-plane/protos.ts";

const goodCluster = {
  "@type": TYPE_URL.cluster,
  name: "upstream.x",
  type: "ORIGINAL_DST",
  lb_policy: "CLUSTER_PROVIDED",
  connect_timeout: "1.5s",
  original_dst_lb_config: { use_http_header: false },
  typed_extension_protocol_options: {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
      explicit_http_config: { http2_protocol_options: {} },
    },
  },
};

test("a valid cluster passes and round-trips through protobuf bytes", () => {
  checkResource(TYPE_URL.cluster, goodCluster);
  const any = encodeAny(TYPE_URL.cluster, goodCluster);
  assert.equal(any.type_url, TYPE_URL.cluster);
  const back = decodeMessage(TYPE_URL.cluster, any.value);
  assert.equal(back.name, "upstream.x");
  assert.equal(back.type, "ORIGINAL_DST");
  assert.deepEqual(back.connect_timeout, { seconds: "1", nanos: 500000000 });
  const opts = back.typed_extension_protocol_options as Record<string, { type_url: string }>;
  assert.equal(
    opts["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].type_url,
    "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
  );
});

test("camelCase JSON names are accepted like Envoy's JSON parser does", () => {
  assert.deepEqual(checkMessage(TYPE_URL.cluster, { name: "a", connectTimeout: "1s", lbPolicy: "CLUSTER_PROVIDED" }), []);
});

const rejects: [string, unknown, RegExp][] = [
  ["unknown top-level field", { ...goodCluster, bogus_field: 1 }, /bogus_field: unknown field/],
  [
    "unknown field inside an Any",
    {
      ...goodCluster,
      typed_extension_protocol_options: {
        k: {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          explicit_http_config: { http2_protocol_options: { nope: true } },
        },
      },
    },
    /http2_protocol_options\.nope: unknown field/,
  ],
  ["string field given a number", { ...goodCluster, name: 42 }, /name: expected string, got number/],
  ["bool field given a string", { ...goodCluster, original_dst_lb_config: { use_http_header: "yes" } }, /use_http_header: expected boolean/],
  ["uint32 wrapper given a string", { ...goodCluster, per_connection_buffer_limit_bytes: "lots" }, /per_connection_buffer_limit_bytes: expected integer/],
  ["negative uint32", { ...goodCluster, per_connection_buffer_limit_bytes: -1 }, /out of range/],
  ["Duration given a number", { ...goodCluster, connect_timeout: 5 }, /connect_timeout: expected Duration/],
  ["unknown enum name", { ...goodCluster, type: "ORIGINAL_DESTINATION" }, /type: unknown envoy\.config\.cluster\.v3\.Cluster\.DiscoveryType value/],
  ["message given an array", { ...goodCluster, original_dst_lb_config: [] }, /expected object/],
  ["repeated given a scalar", { name: "l", filter_chains: {} }, /filter_chains: expected array/],
  ["two members of one oneof", { ...goodCluster, cluster_type: { name: "x" } }, /oneof "cluster_discovery_type" has more than one member/],
  ["Any with an unknown type URL", { ...goodCluster, typed_extension_protocol_options: { k: { "@type": "type.googleapis.com/no.Such" } } }, /unknown type URL/],
  ["wrong @type at the top", { ...goodCluster, "@type": TYPE_URL.listener }, /"@type" is/],
  [
    "missing required (validate) field",
    {
      name: "l",
      filter_chains: [
        {
          filters: [
            {
              name: "f",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                stat_prefix: "x",
                rds: { route_config_name: "r" },
              },
            },
          ],
        },
      ],
    },
    /config_source: required field/,
  ],
];

for (const [name, json, re] of rejects) {
  test(`strict check rejects: ${name}`, () => {
    const url = (json as { filter_chains?: unknown }).filter_chains !== undefined ? TYPE_URL.listener : TYPE_URL.cluster;
    assert.throws(
      () => checkResource(url, json),
      (e: unknown) => {
        assert.ok(e instanceof ProtoCheckError);
        assert.match(e.message, re);
        return true;
      },
    );
    // and nothing that fails the check can be encoded
    assert.throws(() => encodeAny(url, json), ProtoCheckError);
  });
}

test("well-known types: Struct, Value, wrappers, Duration precision", () => {
  // Struct inside an Any (TypedStruct carries a Struct)
  const ts = { "@type": "type.googleapis.com/xds.type.v3.TypedStruct", type_url: "x", value: { a: [1, "b", null, { c: true }] } };
  assert.deepEqual(checkMessage("google.protobuf.Any", ts), []);
  assert.deepEqual(checkMessage("google.protobuf.Any", { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "x" }), []);
  assert.match(checkMessage("google.protobuf.Any", { "@type": "type.googleapis.com/google.protobuf.StringValue", value: 1 })[0].message, /expected string/);
  assert.match(
    checkMessage("google.protobuf.Any", { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "x", extra: 1 })[0].message,
    /unknown field "extra"/,
  );
  assert.match(checkMessage(TYPE_URL.cluster, { connect_timeout: "1.0000000001s" })[0].message, /Duration/);
  assert.deepEqual(checkMessage(TYPE_URL.cluster, { connect_timeout: "0.000000001s" }), []);
});

test("envoy/envoy.yaml decodes strictly as envoy.config.bootstrap.v3.Bootstrap", () => {
  const y = parse(fs.readFileSync(new URL("../../envoy/envoy.yaml", import.meta.url), "utf8"));
  assert.deepEqual(checkMessage("envoy.config.bootstrap.v3.Bootstrap", y), []);
  // the ADS cluster is where compose runs the control plane
  const ep = y.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  assert.deepEqual([ep.address, ep.port_value], ["control-plane", 18000]);
  assert.equal(y.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name, y.static_resources.clusters[0].name);
});
