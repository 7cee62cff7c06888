// Host building blocks that need no Wasm: pairs, header map, IP:port parsing, protobuf args.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  HeaderMap,
  decodePairs,
  encodePairs,
  pairsSize,
  parseIpPort,
  encodeSetEnvoyFilterStateArgs,
  decodeSetEnvoyFilterStateArgs,
  type Pair,
} from "../../host/index.ts";

test("pairs: round trip, exact layout, sizes", () => {
  const pairs: Pair[] = [
    [":path", "/a"],
    ["x-k", ""],
    ["ünï", "välue"],
  ];
  const b = encodePairs(pairs);
  assert.equal(b.length, pairsSize(pairs));
  const dv = new DataView(b.buffer);
  assert.equal(dv.getUint32(0, true), 3);
  assert.equal(dv.getUint32(4, true), 5); // ":path"
  assert.equal(dv.getUint32(8, true), 2); // "/a"
  // Data area: ":path\0/a\0x-k\0\0..."
  assert.equal(Buffer.from(b.subarray(28, 37)).toString("latin1"), ":path\0/a\0");
  assert.deepEqual(decodePairs(b), pairs);
  assert.deepEqual(decodePairs(encodePairs([])), []);
});

test("pairs: malformed input decodes to no pairs (cpp-host toPairs)", () => {
  const good = encodePairs([["a", "b"]]);
  assert.deepEqual(decodePairs(good.subarray(0, good.length - 1)), []); // missing final NUL
  assert.deepEqual(decodePairs(new Uint8Array([1, 0])), []);
  const tooMany = new Uint8Array(4);
  new DataView(tooMany.buffer).setUint32(0, 1025, true);
  assert.deepEqual(decodePairs(tooMany), []);
  assert.deepEqual(decodePairs(new Uint8Array(0)), []);
});

test("header map: lower-cased keys, first-value get, add/set/remove, byteSize", () => {
  const m = new HeaderMap([
    ["X-Dup", "1"],
    ["x-dup", "2"],
    ["Other", "z"],
  ]);
  assert.equal(m.get("x-DUP"), "1");
  assert.deepEqual(m.getAll("x-dup"), ["1", "2"]);
  m.set("x-dup", "3");
  assert.deepEqual(m.pairs(), [
    ["other", "z"],
    ["x-dup", "3"],
  ]);
  m.remove("absent");
  m.remove("OTHER");
  m.add("x-dup", "4");
  assert.deepEqual(m.joined(), [["x-dup", "3,4"]]);
  assert.equal(m.byteSize(), "x-dup".length * 2 + 2);
});

test("IP:port parsing as Envoy's original_dst factory accepts it", () => {
  assert.equal(parseIpPort("10.0.0.1:80"), "10.0.0.1:80");
  assert.equal(parseIpPort("0.0.0.0:0"), "0.0.0.0:0");
  assert.equal(parseIpPort("[2001:db8:0::1]:8443"), "[2001:db8::1]:8443");
  assert.equal(parseIpPort("[::1]:65535"), "[::1]:65535");
  for (const bad of [
    "10.0.0.1",
    "10.0.0.1:",
    "10.0.0.1:65536",
    "backend.local:80",
    "010.0.0.1:80",
    "1.2.3:80",
    "::1:80",
    "[::1]80",
    "10.0.0.1:8a",
    "[fe80::1%eth0]:80",
    " 10.0.0.1:80",
  ]) {
    assert.equal(parseIpPort(bad), null, bad);
  }
});

test("SetEnvoyFilterStateArguments protobuf round trip and rejection of garbage", () => {
  const b = encodeSetEnvoyFilterStateArgs("envoy.network.transport_socket.original_dst_address", "10.0.0.1:80", 1);
  const a = decodeSetEnvoyFilterStateArgs(b);
  assert.equal(a.path, "envoy.network.transport_socket.original_dst_address");
  assert.equal(Buffer.from(a.value).toString(), "10.0.0.1:80");
  assert.equal(a.span, 1);
  assert.throws(() => decodeSetEnvoyFilterStateArgs(Uint8Array.of(0x0a, 0x7f)));
  assert.throws(() => decodeSetEnvoyFilterStateArgs(Uint8Array.of(0x0f)));
  // Unknown fields are skipped.
  const withExtra = Uint8Array.of(...b, 0x20, 0x01);
  assert.equal(decodeSetEnvoyFilterStateArgs(withExtra).span, 1);
});
