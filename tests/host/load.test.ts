// Loading: what Envoy refuses at load time, the no-op baseline, the canary validation.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ProxyWasmHost, WasmLoadError } from "../../host/index.ts";
import { ROOT, buildFixture, logLine } from "./helpers.ts";

let probe: string;
const noop = join(ROOT, "build/noop.wasm");

before(async () => {
  probe = await buildFixture("probe");
  if (!existsSync(noop)) {
    await promisify(execFile)(join(ROOT, "node_modules/.bin/asc"), ["bench/noop/noop.ts", "--config", "asconfig.json", "--target", "noop"], { cwd: ROOT });
  }
});

/**
 * A hand-assembled module: one `() -> ()` function exported under each given
 * name, and `imports` ("module.name") as `() -> ()` functions.
 */
function tinyModule(exportNames: string[], imports: string[] = []): Uint8Array {
  const bytes: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]) => bytes.push(id, body.length, ...body);
  const name = (s: string) => [s.length, ...Buffer.from(s)];
  section(1, [0x01, 0x60, 0x00, 0x00]); // one type: () -> ()
  if (imports.length) {
    const imp: number[] = [imports.length];
    for (const full of imports) {
      const [mod, field] = full.split(".");
      imp.push(...name(mod), ...name(field), 0x00, 0x00); // a function of type 0
    }
    section(2, imp);
  }
  section(3, [0x01, 0x00]); // one function of type 0 (index: after the imports)
  const exp: number[] = [exportNames.length];
  for (const n of exportNames) exp.push(...name(n), 0x00, imports.length);
  section(7, exp);
  section(10, [0x01, 0x02, 0x00, 0x0b]); // body: end
  return Uint8Array.from(bytes);
}

// A proxy-wasm 0.2.1 module importing env.proxy_clear_route_cache, which a
// host links only for ABI 0.1.0 modules (what an SDK's clear_route_cache()
// call compiles to): refused at load, as Envoy refuses it.
const badimport = tinyModule(["proxy_abi_version_0_2_1", "malloc"], ["env.proxy_clear_route_cache"]);

test("a module importing a function Envoy does not provide is refused at load", async () => {
  await assert.rejects(ProxyWasmHost.load(badimport, { rootId: "badimport", moduleName: "badimport.wasm" }), (e: Error) => {
    assert.ok(e instanceof WasmLoadError);
    assert.match(e.message, /missing import: env\.proxy_clear_route_cache/);
    assert.match(e.message, /badimport\.wasm/);
    return true;
  });
});

test("a module without an ABI version export, or without malloc, is refused", async () => {
  await assert.rejects(ProxyWasmHost.load(tinyModule([]), { rootId: "x" }), /Missing or unknown Proxy-Wasm ABI version/);
  await assert.rejects(ProxyWasmHost.load(tinyModule(["proxy_abi_version_0_2_1"]), { rootId: "x" }), /missing malloc function/);
  await assert.rejects(ProxyWasmHost.load(Uint8Array.of(1, 2, 3), { rootId: "x", moduleName: "junk" }), /junk: Failed to compile/);
});

test("build/noop.wasm: configure, request, nothing trapped", async () => {
  const host = await ProxyWasmHost.load(noop, { rootId: "noop" });
  assert.equal(host.abiVersion, "0.2.1");
  assert.equal(host.configure("{}"), true);
  assert.equal(host.rootContextId, 1);
  const r = host.request({ path: "/x" }, { upstream: { status: 204 } });
  assert.equal(r.status, 204);
  assert.equal(r.forwarded, true);
  assert.equal(r.contextId, 2);
  assert.equal(host.trapped, false);
  assert.ok(host.memoryBytes() >= 65536 && host.memoryBytes() % 65536 === 0);
});

test("requests before any accepted configuration are a usage error", async () => {
  const host = await ProxyWasmHost.load(noop, { rootId: "noop" });
  assert.throws(() => host.request({}), /no accepted configuration/);
});

test("validate (canary): accepted, rejected, load error, wrong root id", async () => {
  const ok = await ProxyWasmHost.validate(probe, "fine", { rootId: "probe" });
  assert.equal(ok.accepted, true);
  assert.ok(logLine(ok.logs, "configure ctx=1 config=fine"));

  const no = await ProxyWasmHost.validate(probe, "reject", { rootId: "probe" });
  assert.equal(no.accepted, false);
  assert.equal(no.failure, undefined);

  const bad = await ProxyWasmHost.validate(badimport, "{}", { rootId: "badimport" });
  assert.equal(bad.accepted, false);
  assert.match(bad.error ?? "", /missing import/);

  // The AssemblyScript runtime throws for an unregistered root id: a trap in on_context_create.
  const wrong = await ProxyWasmHost.validate(probe, "{}", { rootId: "not-registered" });
  assert.equal(wrong.accepted, false);
  assert.equal(wrong.failure?.callback, "proxy_on_context_create");
  assert.match(wrong.failure?.lastCriticalLog ?? "", /Missing root context factory for root id: not-registered/);
});
