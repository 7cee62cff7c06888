// The host driven with the probe filter (tests/host/fixtures/probe.ts): each request
// header names ABI calls for the probe to make; results come back as headers and logs.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { EnvoyPanic, ManualClock, ORIGINAL_DST_ADDRESS_KEY, ProxyWasmHost, SharedDataStore, decodePairs, type HostOptions } from "../../host/index.ts";
import { buildFixture, hexToText, leHexToBigInt, logLine, logLines } from "./helpers.ts";

let module: WebAssembly.Module;
const T0 = 1_700_000_000_000; // ms

before(async () => {
  const path = await buildFixture("probe");
  module = await WebAssembly.compile(await import("node:fs").then((fs) => fs.readFileSync(path)));
});

function probe(opts: Partial<HostOptions> = {}, config = "cfg"): ProxyWasmHost {
  const host = new ProxyWasmHost(module, { rootId: "probe", clock: new ManualClock(T0), ...opts });
  assert.equal(host.configure(config), true);
  return host;
}

/** "prop <path> rc=<rc> hex=<hex>" lines → { rc, hex } by path. */
function props(lines: string[], prefix = "prop "): Map<string, { rc: number; hex: string }> {
  const out = new Map<string, { rc: number; hex: string }>();
  for (const l of lines) {
    const m = new RegExp(`^${prefix}(\\S+) rc=(\\d+) hex=(\\S*)$`).exec(l);
    if (m) out.set(m[1], { rc: Number(m[2]), hex: m[3] });
  }
  return out;
}

test("lifecycle: root start/configure, stream callbacks in Envoy's order, increasing context ids", () => {
  const host = probe();
  assert.deepEqual(host.calls, ["proxy_on_context_create(1)", "proxy_on_vm_start(1)", "proxy_on_configure(1)"]);
  const r = host.request({ path: "/x" });
  assert.equal(r.contextId, 2);
  // Envoy: access log (on_log) first, then the filter is destroyed (on_done, on_delete).
  assert.deepEqual(r.calls, [
    "proxy_on_context_create",
    "proxy_on_request_headers",
    "proxy_on_response_headers",
    "proxy_on_log",
    "proxy_on_done",
    "proxy_on_delete",
  ]);
  const order = r.logs.map((l) => l.message.split(" ")[0]).filter((w) => ["req_headers", "resp_headers", "log", "done", "delete"].includes(w));
  assert.deepEqual(order, ["req_headers", "resp_headers", "log", "done", "delete"]);
  assert.equal(host.request({}).contextId, 3);
  assert.ok(r.logs.every((l) => l.contextId === 2));
});

test("header map phases: request headers are gone in the response phase, read-only in on_log", () => {
  const host = probe();
  const r = host.request({ path: "/p" }, { upstream: { status: 201, headers: { "x-up": "1" } } });
  // Envoy context.cc: request_headers_ is dropped once the headers continued → BadArgument.
  assert.equal(logLine(r.logs, "resp_headers"), "resp_headers status=201 rc=0 req-read rc=2 add rc=0");
  assert.equal(r.responseHeader("x-probe-resp"), "1");
  assert.equal(r.status, 201);
  // on_log: const maps readable, mutation refused.
  assert.equal(logLine(r.logs, "log ctx="), `log ctx=${r.contextId} path=/p rc=0 add rc=2 resp rc=0 status=201`);
});

test("get_header_map_value returns the first value only; missing → NotFound; keys case-insensitive", () => {
  const host = probe();
  const r = host.request({
    headers: [
      ["x-dup", "first"],
      ["x-dup", "second"],
      ["x-echo", "X-DUP"],
    ],
  });
  assert.equal(r.header("x-r-echo-rc"), "0");
  assert.equal(r.header("x-r-echo"), "first");
  const miss = host.request({ headers: { "x-echo": "x-nope" } });
  assert.equal(miss.header("x-r-echo-rc"), "1");
  assert.equal(miss.header("x-r-echo"), undefined);
});

test("header mutations: add appends, replace removes all then sets, remove is Ok when absent; each clears the route cache", () => {
  const host = probe();
  const r = host.request({
    headers: [
      ["x-multi", "a"],
      ["x-multi", "b"],
      ["x-gone", "1"],
      ["x-gone", "2"],
      ["x-mutate", "1"],
    ],
  });
  assert.equal(logLine(r.logs, "mutate"), "mutate rc=0,0,0,0,0");
  assert.deepEqual(r.requestHeaders.getAll("x-added"), ["1", "2"]);
  assert.deepEqual(r.requestHeaders.getAll("x-multi"), ["replaced"]);
  assert.equal(r.header("x-gone"), undefined);
  assert.equal(r.routeCacheCleared, 5);
  assert.equal(host.request({}).routeCacheCleared, 0);
});

test("get_header_map_pairs / size: pairs format, Envoy byte size, empty map hands over nothing", () => {
  const host = probe();
  const r = host.request({ path: "/pp", headers: { "x-pairs": "1" }, requestId: "rid" });
  const line = logLine(r.logs, "pairs ")!;
  const m = /^pairs rc=0 len=(\d+) count=(\d+) size=(\d+) hex=([0-9a-f]+)$/.exec(line);
  assert.ok(m, line);
  const pairs = decodePairs(Buffer.from(m[4], "hex"));
  assert.deepEqual(pairs, r.requestHeaders.pairs());
  assert.deepEqual(pairs.slice(0, 4), [
    [":authority", "localhost"],
    [":path", "/pp"],
    [":method", "GET"],
    [":scheme", "http"],
  ]);
  assert.equal(Number(m[2]), pairs.length);
  assert.equal(Number(m[1]), m[4].length / 2);
  assert.equal(Number(m[3]), r.requestHeaders.byteSize());
  // No request trailers: Ok with ptr 0 / len 0 (cpp-host copyToPointerSize allocates nothing for "").
  assert.equal(logLine(r.logs, "trailer pairs"), "trailer pairs rc=0 ptr=0 len=0");
});

test("set_header_map_pairs replaces the whole map (keys lower-cased) and clears the route cache", () => {
  const host = probe();
  const r = host.request({ headers: { "x-set-pairs": "1", "x-drop": "1" } });
  assert.equal(logLine(r.logs, "set-pairs"), "set-pairs rc=0");
  assert.deepEqual(r.requestHeaders.pairs(), [
    [":authority", "set.example"],
    [":path", "/set"],
    [":method", "PUT"],
    [":scheme", "https"],
    ["x-set", "yes"],
  ]);
  assert.equal(r.routeCacheCleared, 1);
});

test("properties: request/source/destination/connection/plugin values with Envoy's encodings", () => {
  const host = probe({ vmId: "vm1", pluginName: "probe-plugin" });
  const paths = [
    "request.path",
    "request.url_path",
    "request.query",
    "request.host",
    "request.scheme",
    "request.method",
    "request.protocol",
    "request.id",
    "request.time",
    "request.headers.x-multi",
    "request.headers",
    "source.address",
    "source.port",
    "destination.address",
    "destination.port",
    "connection.id",
    "connection.mtls",
    "plugin_root_id",
    "plugin_name",
    "plugin_vm_id",
    "response.code",
    "upstream.address",
    "request.duration",
    "nope.nothing",
  ];
  const r = host.request({
    method: "POST",
    path: "/api/x?y=1",
    authority: "a.com",
    scheme: "https",
    protocol: "HTTP/2",
    source: "10.1.2.3:5555",
    destination: "10.0.0.9:8443",
    connectionId: 77,
    mtls: true,
    requestId: "rid-1",
    headers: [
      ["x-multi", "a"],
      ["x-multi", "b"],
      ["x-props", paths.join(";")],
    ],
  });
  const p = props(logLines(r.logs, "prop "));
  const text = (k: string) => {
    assert.equal(p.get(k)?.rc, 0, k);
    return hexToText(p.get(k)!.hex);
  };
  const num = (k: string) => {
    assert.equal(p.get(k)?.rc, 0, k);
    assert.equal(p.get(k)!.hex.length, 16, `${k} is 8 bytes`);
    return leHexToBigInt(p.get(k)!.hex);
  };
  assert.equal(text("request.path"), "/api/x?y=1");
  assert.equal(text("request.url_path"), "/api/x");
  assert.equal(text("request.query"), "y=1");
  assert.equal(text("request.host"), "a.com");
  assert.equal(text("request.scheme"), "https");
  assert.equal(text("request.method"), "POST");
  assert.equal(text("request.protocol"), "HTTP/2");
  assert.equal(text("request.id"), "rid-1");
  assert.equal(num("request.time"), BigInt(T0) * 1_000_000n);
  assert.equal(text("request.headers.x-multi"), "a,b");
  const hdrs = decodePairs(Buffer.from(p.get("request.headers")!.hex, "hex"));
  assert.deepEqual(
    hdrs.find(([k]) => k === "x-multi"),
    ["x-multi", "a,b"],
  );
  assert.equal(text("source.address"), "10.1.2.3:5555");
  assert.equal(num("source.port"), 5555n);
  assert.equal(text("destination.address"), "10.0.0.9:8443");
  assert.equal(num("destination.port"), 8443n);
  assert.equal(num("connection.id"), 77n);
  assert.equal(p.get("connection.mtls")?.hex, "01");
  assert.equal(text("plugin_root_id"), "probe");
  assert.equal(text("plugin_name"), "probe-plugin");
  assert.equal(text("plugin_vm_id"), "vm1");
  // Not available before the response / the end of the stream, or unknown.
  for (const k of ["response.code", "upstream.address", "request.duration", "nope.nothing"]) assert.equal(p.get(k)?.rc, 1, k);
});

test("properties in on_log: response code/details, duration, upstream, attempt count, flags", () => {
  const host = probe();
  const r = host.request(
    { headers: { "x-probe-log": "1", "x-set-dst": "10.0.0.1:80" } },
    { upstream: (req) => ({ status: req.originalDst === "10.0.0.1:80" ? 200 : 503 }), completion: { durationMs: 12 } },
  );
  const p = props(logLines(r.logs, "logprop "), "logprop ");
  assert.equal(leHexToBigInt(p.get("response.code")!.hex), 200n);
  assert.equal(hexToText(p.get("response.code_details")!.hex), "via_upstream");
  assert.equal(leHexToBigInt(p.get("request.duration")!.hex), 12_000_000n);
  assert.equal(hexToText(p.get("upstream.address")!.hex), "10.0.0.1:80");
  assert.equal(leHexToBigInt(p.get("upstream.port")!.hex), 80n);
  assert.equal(leHexToBigInt(p.get("upstream.request_attempt_count")!.hex), 1n);
  assert.equal(leHexToBigInt(p.get("response.flags")!.hex), 0n);
  // response.code is already known while the response headers pass through the filter.
  const r2 = host.request({ headers: { "x-probe-response": "1" } }, { upstream: { status: 418 } });
  assert.match(logLine(r2.logs, "resp prop response.code")!, /rc=0 hex=a201000000000000$/);
});

test("set_property writes filter state wasm.<key>, readable back as a property", () => {
  const host = probe();
  const r = host.request({ headers: { "x-set-prop": "my_key=my_val" } });
  assert.equal(logLine(r.logs, "set-prop"), `set-prop rc=0 get rc=0 hex=${Buffer.from("my_val").toString("hex")}`);
  assert.equal(r.filterState.get("wasm.my_key"), "my_val");
});

test("set_envoy_filter_state: original_dst accepts a literal IP:port only; unknown keys NotFound", () => {
  const host = probe();
  const ok = host.request({ headers: { "x-set-dst": "10.0.0.1:80" } });
  assert.equal(ok.header("x-r-dst-rc"), "0");
  assert.equal(ok.filterState.get(ORIGINAL_DST_ADDRESS_KEY), "10.0.0.1:80");
  assert.equal(ok.originalDst, "10.0.0.1:80");
  const v6 = host.request({ headers: { "x-set-dst": "[2001:db8:0::1]:8443" } });
  assert.equal(v6.originalDst, "[2001:db8::1]:8443");
  for (const bad of ["backend.local:80", "10.0.0.1", "10.0.0.1:70000", "010.0.0.1:80"]) {
    const r = host.request({ headers: { "x-set-dst": bad } });
    assert.equal(r.header("x-r-dst-rc"), "2", bad); // BadArgument
    assert.equal(r.filterState.has(ORIGINAL_DST_ADDRESS_KEY), false);
  }
  assert.equal(host.request({ headers: { "x-set-fs": "some.unregistered.key=v" } }).header("x-r-fs-rc"), "1");
  assert.equal(host.request({ headers: { "x-foreign-garbage": "1" } }).header("x-r-foreign-rc"), "2");
  assert.equal(host.request({ headers: { "x-foreign": "no_such_function" } }).header("x-r-foreign-rc"), "1");
});

test("connection-scoped filter state outlives the request, on the same connection only", () => {
  const host = probe();
  host.request({ connectionId: 5, headers: { "x-set-conn-dst": "10.0.0.2:81" } });
  assert.equal(host.request({ connectionId: 5 }).originalDst, "10.0.0.2:81");
  assert.equal(host.request({ connectionId: 6 }).originalDst, undefined);
});

test("clear_route_cache foreign function: Ok from Envoy 1.33, NotFound before", () => {
  const r = probe().request({ headers: { "x-foreign": "clear_route_cache" } });
  assert.equal(r.header("x-r-foreign-rc"), "0");
  assert.equal(r.routeCacheCleared, 2); // the call + the probe's own header add
  const old = probe({ envoyVersion: "1.32" }).request({ headers: { "x-foreign": "clear_route_cache" } });
  assert.equal(old.header("x-r-foreign-rc"), "1");
  assert.equal(old.routeCacheCleared, 1);
});

test("local reply: deferred to the end of the callback, details sanitised, router never runs", () => {
  const host = probe();
  const r = host.request(
    { headers: { "x-local-reply": "403" } },
    {
      upstream: () => {
        throw new Error("the router must not run");
      },
    },
  );
  assert.equal(logLine(r.logs, "after-local"), "after-local add rc=0"); // still editable inside the callback
  assert.equal(r.status, 403);
  assert.equal(r.forwarded, false);
  assert.equal(r.localReply?.body, "blocked");
  assert.equal(r.localReply?.details, "denied_by_probe");
  assert.equal(r.localReply?.grpcStatus, undefined);
  assert.equal(r.localReply?.origin, "filter");
  assert.equal(r.responseHeader("x-local"), "1");
  assert.equal(r.responseHeader("content-type"), "text/plain");
  // The reply passes through the encoder side of the filter, then the stream ends normally.
  assert.equal(logLine(r.logs, "resp_headers"), "resp_headers status=403 rc=0 req-read rc=2 add rc=0");
  assert.deepEqual(r.calls.slice(-3), ["proxy_on_log", "proxy_on_done", "proxy_on_delete"]);
});

test("local reply: the callback's Continue counts as stop; gRPC requests get grpc-status", () => {
  const host = probe();
  const s = host.stream({ headers: { "x-local-reply": "429" } });
  assert.equal(s.requestHeaders(true), "StopAllIterationAndWatermark");
  s.complete();
  const g = host.request({ headers: { "x-local-reply": "403", "x-grpc": "7", "content-type": "application/grpc" } });
  assert.equal(g.status, 200);
  assert.equal(g.localReply?.status, 403);
  assert.equal(g.localReply?.grpcStatus, 7);
  assert.equal(g.responseHeader("grpc-status"), "7");
  const none = host.request({ headers: { "x-local-reply": "403", "x-grpc": "99" } });
  assert.equal(none.localReply?.grpcStatus, undefined);
});

test("return values: StopIteration becomes StopAll (cpp-host#143), out of range = stop, unless allowed", () => {
  const host = probe();
  const ret = (v: string) => {
    const s = host.stream({ headers: { "x-ret": v } });
    const st = s.requestHeaders(true);
    s.complete();
    return st;
  };
  assert.equal(ret("0"), "Continue");
  assert.equal(ret("1"), "StopAllIterationAndWatermark");
  assert.equal(ret("2"), "ContinueAndEndStream");
  assert.equal(ret("7"), "StopAllIterationAndWatermark");
  const allow = probe({ allowOnHeadersStopIteration: true }).stream({ headers: { "x-stop": "1" } });
  assert.equal(allow.requestHeaders(true), "StopIteration");
  // A stopped request that is never continued stalls; the stream still ends with log/done/delete.
  const stalled = host.request({ headers: { "x-stop": "1" } });
  assert.equal(stalled.stalled, true);
  assert.equal(stalled.status, undefined);
  assert.deepEqual(stalled.calls.slice(-3), ["proxy_on_log", "proxy_on_done", "proxy_on_delete"]);
});

test("continue_stream(Request): the stream resumes, later request-header edits are BadArgument", () => {
  const host = probe();
  const s = host.stream({ headers: { "x-continue": "1" }, body: "abc" });
  assert.equal(s.requestHeaders(false), "StopAllIterationAndWatermark");
  assert.equal(s.forwarded, true);
  assert.equal(logLine(s.logs, "continue"), "continue rc=0 add-after rc=2");
  assert.equal(s.requestBody("abc", true), "Continue");
  assert.match(logLine(s.logs, "req_body")!, /text=abc add rc=2$/);
  const r = host.request({ headers: { "x-continue": "1" } });
  assert.equal(r.status, 200);
  assert.equal(r.header("x-after-continue"), undefined);
});

test("request body: buffering across chunks, set_buffer_bytes rewrites what the router forwards", () => {
  const host = probe();
  const s = host.stream({ method: "POST", headers: { "x-buffer": "1" } });
  assert.equal(s.requestHeaders(false), "Continue");
  assert.equal(s.requestBody("hel", false), "StopIterationAndBuffer");
  assert.equal(s.requestBody("lo", true), "Continue");
  assert.match(logLines(s.logs, "req_body").at(-1)!, /len=5 eos=1 text=hello add rc=2$/);
  assert.equal(Buffer.from(s.forwardedBody).toString(), "REWRITTEN");
  s.complete();
  const r = host.request({ method: "POST", body: "payload" });
  assert.equal(Buffer.from(r.forwardedBody).toString(), "payload");
  assert.match(logLine(r.logs, "req_body")!, /^req_body rc=0 len=7 eos=1 text=payload/);
  // While the filter holds the headers, Envoy buffers the body without calling the filter.
  const held = host.stream({ headers: { "x-stop": "1" } });
  held.requestHeaders(false);
  assert.equal(held.requestBody("zzz", true), "Buffered");
  assert.equal(logLine(held.logs, "req_body"), undefined);
});

test("config update: a rejected config keeps the old root context; an accepted one retires it", () => {
  const host = probe({}, "cfg1");
  assert.equal(host.rootContextId, 1);
  assert.equal(host.configure("reject"), false);
  assert.equal(host.rootContextId, 1);
  assert.ok(logLine(host.logs, "root done ctx=2") && logLine(host.logs, "root delete ctx=2"));
  assert.equal(logLine(host.logs, "root done ctx=1"), undefined);
  host.clearLogs();
  assert.equal(host.configure("cfg2"), true);
  assert.equal(host.rootContextId, 3);
  assert.deepEqual(host.calls.slice(-5), [
    "proxy_on_context_create(3)",
    "proxy_on_vm_start(3)",
    "proxy_on_configure(3)",
    "proxy_on_done(1)",
    "proxy_on_delete(1)",
  ]);
  const r = host.request({});
  assert.equal(r.contextId, 4);
  assert.equal(r.stream.root.id, 3);
  assert.equal(host.configure("trap"), false); // a trap in on_configure is a rejection too
  assert.equal(host.trapped, true);
});

test("trap: recorded with the abort message; the VM fails and later streams get 503 wasm_fail_stream", () => {
  const host = probe();
  const r1 = host.request({ headers: { "x-trap": "1" } });
  assert.equal(r1.failed, true);
  assert.equal(r1.status, 503);
  assert.equal(r1.localReply?.details, "wasm_fail_stream");
  assert.equal(r1.localReply?.grpcStatus, 14);
  assert.equal(host.trapped, true);
  assert.equal(host.failure?.callback, "proxy_on_request_headers");
  assert.equal(host.failure?.contextId, r1.contextId);
  assert.match(host.failure?.lastCriticalLog ?? "", /probe trap/);
  assert.equal(host.failure?.exitCode, 255);
  assert.ok(host.vmErrors.includes("wasi_unstable proc_exit"));
  assert.deepEqual(r1.calls, ["proxy_on_context_create", "proxy_on_request_headers"]);
  const r2 = host.request({});
  assert.equal(r2.status, 503);
  assert.equal(r2.failed, true);
  assert.deepEqual(r2.calls, []); // the failed VM is never entered
});

test("failure policies: FAIL_OPEN skips the filter, FAIL_RELOAD starts a new VM", () => {
  const open = probe({ failurePolicy: "FAIL_OPEN" });
  open.request({ headers: { "x-trap": "1" } });
  const o = open.request({ headers: { "x-mutate": "1" } });
  assert.equal(o.status, 200);
  assert.deepEqual(o.calls, []);
  assert.equal(o.header("x-added"), undefined);

  const reload = probe({ failurePolicy: "FAIL_RELOAD" });
  reload.request({ headers: { "x-trap": "1" } });
  const n = reload.request({ headers: { "x-mutate": "1" } });
  assert.equal(reload.reloads, 1);
  assert.equal(reload.trapped, false);
  assert.equal(n.status, 200);
  assert.equal(n.header("x-added"), "1");
  assert.equal(reload.rootContextId, 1); // a new VM numbers contexts from 1 again
});

test("proxy_log level 6: BadArgument as cpp-host, or EnvoyPanic when asked to be strict", () => {
  const lenient = probe();
  const r = lenient.request({ headers: { "x-panic": "1" } });
  assert.equal(logLine(r.logs, "panic rc="), "panic rc=2");
  assert.equal(lenient.trapped, false);

  const strict = probe({ panicOnInvalidLogLevel: true });
  assert.throws(
    () => strict.request({ headers: { "x-panic": "1" } }),
    (e: Error) => e instanceof EnvoyPanic && /level 6/.test(e.message),
  );
  assert.throws(() => strict.request({}), /Envoy crashed/);
});

test("invalid guest pointers → InvalidMemoryAccess, never a host crash", () => {
  const host = probe();
  const r = host.request({ headers: { "x-bad-ptr": "1" } });
  assert.equal(logLine(r.logs, "badptr"), "badptr rc=6,6,6");
  assert.equal(host.trapped, false);
});

test("shared data: get returns value and cas, CAS mismatch, unconditional set, shared per vm_id", () => {
  const store = new SharedDataStore();
  const host = probe({ sharedData: store, vmId: "vm" });
  const req = (h: Record<string, string>) => host.request({ headers: h }).logs.map((l) => l.message);
  assert.ok(req({ "x-shared-get": "k" }).includes("shared-get rc=1 value= cas=-"));
  assert.ok(req({ "x-shared-set": "k=v1" }).includes("shared-set k rc=0"));
  const got = req({ "x-shared-get": "k" }).find((m) => m.startsWith("shared-get"))!;
  const cas = Number(/cas=(\d+)$/.exec(got)![1]);
  assert.match(got, /^shared-get rc=0 value=v1 cas=\d+$/);
  assert.ok(req({ "x-shared-set": `k=v2@${cas + 1000}` }).includes("shared-set k rc=8"));
  assert.ok(req({ "x-shared-set": `k=v2@${cas}` }).includes("shared-set k rc=0"));
  assert.ok(req({ "x-shared-set": "k=v3@0" }).includes("shared-set k rc=0"));
  // Another "worker" (VM) with the same vm_id sees it; another vm_id does not.
  const worker2 = probe({ sharedData: store, vmId: "vm" });
  assert.ok(worker2.request({ headers: { "x-shared-get": "k" } }).logs.some((l) => /^shared-get rc=0 value=v3 cas=\d+$/.test(l.message)));
  const other = probe({ sharedData: store, vmId: "other" });
  assert.ok(other.request({ headers: { "x-shared-get": "k" } }).logs.some((l) => l.message === "shared-get rc=1 value= cas=-"));
});

test("metrics: counter/gauge/histogram with Envoy's id scheme and argument checks", () => {
  const host = probe();
  host.request({});
  const r = host.request({ headers: { "x-metrics": "1" } });
  // gauge -5 ok, histogram record ok, counter +0 BadArgument, get counter ok, get histogram BadArgument, unknown id NotFound
  assert.equal(logLine(r.logs, "metrics"), "metrics rc=0,0,2,0,2,1 counter=2");
  assert.equal(host.metric("probe_requests")?.value, 2n);
  assert.equal(host.metric("probe_gauge")?.value, -5n);
  assert.deepEqual(host.metric("probe_hist")?.samples, [42n]);
});

test("ticks and the clock: period set in on_configure, advanceClock fires due ticks", () => {
  const clock = new ManualClock(T0);
  const host = probe({ clock }, "tick:1000");
  assert.equal(host.tickPeriodMs(), 1000);
  host.advanceClock(3500);
  assert.equal(logLines(host.logs, "tick ctx=1").length, 3);
  assert.equal(host.metric("probe_requests")?.value, 300n);
  host.tick();
  assert.equal(logLines(host.logs, "tick ctx=1").length, 4);
  const r = host.request({ headers: { "x-time": "1" } });
  assert.equal(logLine(r.logs, "time ns="), `time ns=${BigInt(T0 + 3500) * 1_000_000n}`);
});

test("memory: grows with guest allocations, stays flat over many requests (host buffers are freed)", () => {
  const host = probe();
  const headers = { "x-echo": "x-dup", "x-dup": "v", "x-pairs": "1", "x-props": "request.path;request.headers;source.address" };
  for (let i = 0; i < 200; i++) host.request({ headers });
  const warm = host.memoryBytes();
  for (let i = 0; i < 1500; i++) host.request({ headers });
  assert.equal(host.memoryBytes(), warm);
  host.request({ headers: { "x-alloc": String(4 * 1024 * 1024) } });
  assert.ok(host.memoryBytes() >= warm + 4 * 1024 * 1024);
  assert.equal(host.trapped, false);
});
