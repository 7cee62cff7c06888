// HTTP/1.1 upgrade requests as real Envoy hands them to filters (observed with
// Envoy 1.40, tests/e2e/protocols.test.ts): the codec enters upgrade mode on
// the client's headers, so decodeHeaders has end_stream false and the
// request stays open (later connection bytes are its body), whatever a filter
// does to the Upgrade/Connection headers afterwards.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { ManualClock, ProxyWasmHost, type RequestDescription } from "../../host/index.ts";
import { buildFixture, logLine } from "./helpers.ts";

let module: WebAssembly.Module;
before(async () => {
  module = await WebAssembly.compile(fs.readFileSync(await buildFixture("probe")));
});

function probe(): ProxyWasmHost {
  const host = new ProxyWasmHost(module, { rootId: "probe", clock: new ManualClock(1_700_000_000_000) });
  assert.equal(host.configure("cfg"), true);
  return host;
}

test("an HTTP/1.1 upgrade request reaches the filter with end_stream false and never completes; the upstream still answers", () => {
  const host = probe();
  const r = host.request({ path: "/ws", headers: { upgrade: "websocket", connection: "keep-alive, Upgrade" } });
  assert.equal(logLine(r.logs, "req_headers")?.endsWith("eos=0"), true, logLine(r.logs, "req_headers"));
  assert.equal(r.forwarded, true);
  assert.equal(r.stream.decodeComplete, false);
  assert.equal(r.stalled, false);
  assert.equal(r.status, 200);
  // bytes after the headers are request body, still not the end of the request
  const b = host.request({ method: "POST", path: "/ws", headers: { upgrade: "websocket", connection: "upgrade" }, body: "abc" });
  assert.match(logLine(b.logs, "req_body") ?? "", /len=3 eos=0/);
  assert.equal(b.stream.decodeComplete, false);
});

test("not an upgrade: Upgrade without Connection: upgrade (or the reverse) ends with its headers", () => {
  const host = probe();
  for (const req of <RequestDescription[]>[
    { path: "/a", headers: { upgrade: "websocket" } },
    { path: "/b", headers: { connection: "upgrade" } },
    { path: "/d" },
  ]) {
    const r = host.request(req);
    assert.equal(logLine(r.logs, "req_headers")?.endsWith("eos=1"), true, `${req.path}: ${logLine(r.logs, "req_headers")}`);
    assert.equal(r.stream.decodeComplete, true, req.path);
  }
});

test("the HCM drops an Upgrade header that is no upgrade, and h2c upgrade attempts, before filters run", () => {
  const host = probe();
  const lone = host.request({ path: "/a", headers: { upgrade: "websocket" } });
  assert.equal(lone.header("upgrade"), undefined);
  const h2c = host.request({ path: "/b", headers: { upgrade: "h2c", connection: "Upgrade, HTTP2-Settings", "http2-settings": "AAMAAABkAARAAAAAAAIAAAAA" } });
  assert.equal(h2c.header("upgrade"), undefined);
  assert.equal(h2c.stream.decodeComplete, true);
  const ws = host.request({ path: "/c", headers: { upgrade: "websocket", connection: "upgrade" } });
  assert.equal(ws.header("upgrade"), "websocket");
  // envoyHeaders: false hands the filter exactly what the test wrote
  assert.equal(host.request({ path: "/d", envoyHeaders: false, headers: { upgrade: "websocket" } }).header("upgrade"), "websocket");
});
