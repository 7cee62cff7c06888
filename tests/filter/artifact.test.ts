// The artefact users deploy: what build/filter.wasm imports and exports, and
// that its memory stays flat under load (Wasm memory never shrinks, so any
// per-request leak would grow Envoy's RSS until the VM is killed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FILTER_WASM, filterHost, get, assertHealthy } from "./helpers.ts";

test("imports only what Envoy provides: env.proxy_* and WASI", () => {
  const mod = new WebAssembly.Module(readFileSync(FILTER_WASM));
  for (const i of WebAssembly.Module.imports(mod)) {
    const ok = (i.module === "env" && i.name.startsWith("proxy_")) || i.module === "wasi_snapshot_preview1";
    assert.ok(ok, `unexpected import ${i.module}.${i.name}`);
  }
  const exports = WebAssembly.Module.exports(mod).map((e) => e.name);
  for (const name of [
    "proxy_abi_version_0_2_1",
    "malloc",
    "_initialize",
    "memory",
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
    "proxy_on_request_headers",
    "proxy_on_log",
    "proxy_on_delete",
  ]) {
    assert.ok(exports.includes(name), `missing export ${name}`);
  }
  // Envoy enters every exported stream callback on every request (a call into
  // V8 each) and skips a missing one: only the ones the filter uses are there.
  assert.deepEqual(exports.filter((e) => /^proxy_on_(context_create|request_|response_|log|done|delete)/.test(e)).sort(), [
    "proxy_on_context_create",
    "proxy_on_delete",
    "proxy_on_log",
    "proxy_on_request_headers",
  ]);
});

test("a wrong root id is reported, the known one is apisix-upstream", async () => {
  const host = await filterHost({ routes: [] });
  assert.equal(host.rootId, "apisix-upstream");
});

test("wasm memory stays flat over 100,000 requests (host allocations are released)", async () => {
  const host = await filterHost({
    routes: [
      { id: "rr", uri: "/rr/*", vars: [["arg_k", "~~", "^[a-z]+$"]], upstream: { nodes: { "10.0.0.1:80": 3, "10.0.0.2:80": 2, "10.0.0.3:80": 1 } } },
      { id: "dns", uri: "/dns/*", upstream: { nodes: { "svc.internal:80": 1, "gone.internal:80": 1 }, pass_host: "node" } },
      { id: "ws", uri: "/ws", enable_websocket: true, upstream_id: "missing" },
    ],
    dns: { "svc.internal": { addresses: ["10.2.0.1"] }, "gone.internal": { error: "NXDOMAIN" } },
  });
  const requests = [
    () => get(host, "/rr/a?k=abc", { headers: { "x-apisix-upstream": "evil", cookie: "a=b" } }),
    () => get(host, "/dns/x"),
    () => get(host, "/ws", { headers: { upgrade: "websocket", connection: "upgrade" } }),
    () => get(host, "/nothing"),
  ];
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      requests[i % requests.length]();
      if ((i & 1023) === 0) host.clearLogs();
    }
  };
  run(10_000);
  const after10k = host.memoryBytes();
  run(90_000);
  const after100k = host.memoryBytes();
  assert.equal(after100k, after10k, `memory grew from ${after10k} to ${after100k} bytes`);
  assertHealthy(host);
});
