// The operator CLI drives the real filter.wasm through the same host as the tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../cli/apisix-wasm.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [],
    err: string[] = [];
  return main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }).then((code) => ({ code, out: out.join("\n"), err: err.join("\n") }));
}

const dir = mkdtempSync(join(tmpdir(), "apisix-wasm-cli-"));
function file(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
const good = file(
  "good.yaml",
  `routes:
  - id: api
    uri: /api/*
    hosts: ["*.example.com"]
    upstream_id: u1
  - id: rr
    uri: /rr
    upstream_id: weighted
  - id: split
    uri: /split
    upstream_id: u1
    plugins:
      traffic-split:
        rules:
          - weighted_upstreams: [{upstream_id: weighted, weight: 1}, {weight: 4}]
upstreams:
  - id: u1
    nodes:
      "10.0.0.1:8080": 1
    pass_host: rewrite
    upstream_host: backend.internal
  - id: weighted
    nodes:
      "10.0.0.2:80": 3
      "10.0.0.3:80": 1
#END
`,
);
const bad = file("bad.yaml", `upstreams:\n  - id: u1\n    nodes: {"10.0.0.1:80": -1}\n#END\n`);

test("--help: stdout, exit 0, says what each command does, with examples", async () => {
  for (const argv of [["--help"], ["-h"], ["help"], ["try", "--help"]]) {
    const r = await run(argv);
    assert.equal(r.code, 0, argv.join(" "));
    assert.equal(r.err, "");
    assert.match(r.out, /^ {2}validate {3}Run the filter's configuration checks/m);
    assert.match(r.out, /^ {2}try {8}Configure the filter/m);
    assert.match(r.out, /^examples:\n {2}apisix-wasm validate examples\/local\.yaml$/m);
    assert.match(r.out, /exit codes: 0 valid \/ all proxied, 1 .*, 2 usage error/);
  }
});

test("--version names the package version and the filter that would run", async () => {
  const r = await run(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^apisix-wasm \d+\.\d+\.\d+$/m);
  assert.match(r.out, /^filter: .*build\/filter\.wasm \(\d+ bytes, sha256 [0-9a-f]{12}, built /m);
});

test("usage errors exit 2 with one message on stderr; an unknown command is named", async () => {
  const unknown = await run(["frobnicate", good]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^apisix-wasm: unknown command "frobnicate": commands are validate and try$/m);
  assert.equal(unknown.out, "");
  assert.equal((await run([])).code, 2);
  assert.equal((await run(["try", good])).code, 2);
  assert.equal((await run(["try", good, "GET /", "--count", "0"])).code, 2);
  assert.equal((await run(["try", good, "GET /", "--bogus"])).code, 2);
  assert.equal((await run(["validate", good, "-H", "a: b"])).code, 2);
});

test("validate: a valid file exits 0", async () => {
  const r = await run(["validate", good]);
  assert.equal(r.code, 0);
  assert.match(r.out, /good\.yaml: valid$/);
});

test("validate: field-named errors, exit 1", async () => {
  const r = await run(["validate", bad]);
  assert.equal(r.code, 1);
  assert.match(r.out, /^error: upstreams\[u1\]\.nodes\["10\.0\.0\.1:80"\]: expected -1 to be at least 0$/m);
  assert.match(r.out, /bad\.yaml: 1 object dropped \(upstreams\[u1\]\), the rest is served, 1 error(, \d+ warnings?)?$/);
});

test("validate: without the #END trailer the control plane would not apply the file, exit 1", async () => {
  const r = await run(["validate", file("noend.yaml", `routes:\n  - {id: r, uri: /x, upstream: {nodes: {"127.0.0.1:80": 1}}}\n`)]);
  assert.equal(r.code, 1);
  assert.match(r.out, /^error: no #END trailer: the control plane does not apply a standalone file without it/m);
  assert.match(r.out, /noend\.yaml: not applied, 1 error$/);
});

test("try: an invalid object is dropped as the control plane drops it, and the rest answers", async () => {
  const mixed = file(
    "mixed.yaml",
    `routes:
  - {id: broken, uri: /b, upstream: {nodes: {"127.0.0.1:99999": 1}}}
  - {id: fine, uri: /f, upstream: {nodes: {"127.0.0.1:8080": 1}}}
#END
`,
  );
  const ok = await run(["try", mixed, "GET /f"]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /^config errors \(dropped: routes\[broken\]\):\n {2}routes\[broken\]\.upstream\.nodes\["127\.0\.0\.1:99999"\]: invalid port 99999$/m);
  assert.match(ok.out, /^route: fine$/m);
  const gone = await run(["try", mixed, "GET /b"]);
  assert.equal(gone.code, 1);
  assert.match(gone.out, /404/);
});

test("validate: an error says 'invalid configuration' at most once", async () => {
  const port = file("port.yaml", `routes:\n  - id: r1\n    uri: /x\n    upstream:\n      nodes: {"127.0.0.1:99999": 1}\n`);
  const r = await run(["validate", port]);
  assert.equal(r.code, 1);
  assert.match(r.out, /^error: routes\[r1\]\.upstream\.nodes\["127\.0\.0\.1:99999"\]: invalid port 99999$/m);
  assert.doesNotMatch(r.out + r.err, /invalid configuration:.*invalid configuration/);
});

test("validate --json: verdict, errors and warnings for scripts", async () => {
  const r = await run(["validate", bad, "--json"]);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.out);
  assert.equal(j.valid, false);
  assert.deepEqual(j.errors, ['upstreams[u1].nodes["10.0.0.1:80"]: expected -1 to be at least 0']);
  assert.deepEqual(j.dropped, ["upstreams[u1]"]);
});

test("a .json file is the filter's own document: one that is not an object gets the filter's verdict", async () => {
  for (const text of ["null", "[]", "7"]) {
    const r = await run(["try", file("doc.json", text), "GET /"]);
    assert.equal(r.code, 1, text);
    assert.match(r.out, /^error: expected a JSON object \{routes, upstreams, ssls\}, got /m, text);
    assert.match(r.out, /rejected, 1 error/, text);
    assert.equal(r.err, "", text);
  }
});

test("YAML syntax: only the first error, with file, line and column", async () => {
  const broken = file("broken.yaml", "routes:\n  - id: r1\n   uri: /x # c\n  upstream: [\n");
  const r = await run(["validate", broken]);
  assert.equal(r.code, 1);
  const first = r.err.split("\n")[0];
  assert.match(first, /broken\.yaml:3:\d+: invalid YAML: /);
  assert.doesNotMatch(r.err, /Comments must be separated|; /);
  assert.match(r.err, /^ {2} {3}uri: \/x # c$/m);
});

test("a binary file is refused, not parsed or echoed", async () => {
  const bin = file("filter.wasm.yaml", Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff, 0xfe]));
  const r = await run(["validate", bin]);
  assert.equal(r.code, 1);
  assert.match(r.err, /not a text file \(expected APISIX YAML or JSON\)/);
  assert.ok(!r.err.includes("\u0000"));
});

test("a missing filter.wasm says how to build it", async () => {
  const r = await run(["validate", good, "--wasm", join(dir, "nope.wasm")]);
  assert.equal(r.code, 1);
  assert.match(r.err, /nope\.wasm: no such file/);
});

test("try: route, upstream, cluster, endpoint and the headers the filter set; exit 0", async () => {
  const r = await run(["try", good, "GET /api/x?y=1", "-H", "Host: a.example.com", "-H", "x-apisix-upstream: evil"]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /^route: api$/m);
  assert.match(r.out, /^upstream: u1$/m);
  assert.match(r.out, /^cluster: upstream\.u1$/m);
  assert.match(r.out, /^endpoint: 10\.0\.0\.1:8080$/m);
  assert.match(r.out, /^ {2}:authority: backend\.internal$/m);
});

test("try: a local reply exits 1, with a hint when no route matched", async () => {
  const r = await run(["try", good, "GET /nope", "-H", "Host: a.example.com"]);
  assert.equal(r.code, 1);
  assert.match(r.out, /^local reply: 404 \(apisix_route_not_found\)$/m);
  assert.match(r.out, /^body: \{"error_msg":"404 Route Not Found"\}$/m);
  assert.match(r.out, /^hint: no route matched/m);
});

test("try: the config's warnings are shown", async () => {
  const warn = file("warn.yaml", `routes:\n  - id: r\n    uri: /*\n    plugins: {proxy-rewrite: {uri: /x}}\n    upstream: {nodes: {"10.0.0.1:80": 1}}\n`);
  const r = await run(["try", warn, "GET /a"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^config warnings:\n {2}routes\[r\]\.plugins\.proxy-rewrite: plugin ignored/m);
  assert.deepEqual(JSON.parse((await run(["try", warn, "GET /a", "--json"])).out).warnings.length, 1);
});

test("try: a domain node without --resolve gets the DNS error and a hint to use --resolve", async () => {
  const dns = file("dns.yaml", `routes:\n  - id: r\n    uri: /*\n    upstream: {nodes: {"backend.invalid:80": 1}}\n`);
  const r = await run(["try", dns, "GET /"]);
  assert.equal(r.code, 1);
  assert.match(r.out, /^local reply: 500 /m);
  assert.match(r.out, /^hint: .*--resolve/m);
});

test("try: the upstream id comes from the filter (filter state), for a local reply after the upstream was found too", async () => {
  const dns = file("dns-id.yaml", `routes:\n  - id: r\n    uri: /*\n    upstream_id: far\nupstreams:\n  - id: far\n    nodes: {"backend.invalid:80": 1}\n`);
  const r = await run(["try", dns, "GET /"]);
  assert.match(r.out, /^local reply: 502 \(apisix_upstream_dns_failed\)$/m);
  assert.match(r.out, /^upstream: far$/m);
  const j = JSON.parse((await run(["try", dns, "GET /", "--json"])).out);
  assert.equal(j.results[0].outcomes[0].upstream, "far");
});

test("try --count: round robin 3:1 over 8 requests is exactly 6 and 2", async () => {
  const r = await run(["try", good, "GET /rr", "--count", "8"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^GET \/rr {2}× 8$/m);
  assert.match(r.out, /^ +6 +75% +rr +weighted +upstream\.weighted +10\.0\.0\.2:80$/m);
  assert.match(r.out, /^ +2 +25% +rr +weighted +upstream\.weighted +10\.0\.0\.3:80$/m);
});

test("try --count --json: traffic-split 1:4 is seen as 10 and 40 of 50", async () => {
  const r = await run(["try", good, "GET /split", "--count", "50", "--json"]);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.out);
  const byUpstream: Record<string, number> = {};
  for (const o of j.results[0].outcomes as { upstream: string; count: number }[]) byUpstream[o.upstream] = (byUpstream[o.upstream] ?? 0) + o.count;
  assert.deepEqual(byUpstream, { u1: 40, weighted: 10 });
  assert.equal(j.results[0].count, 50);
  assert.equal(j.exit_code, 0);
});

test("try --requests: several requests from a file; --json carries route, upstream, endpoint and local reply", async () => {
  const reqs = file("reqs.txt", `# two requests\nGET /api/x\nHost: a.example.com\n\nPOST /nope\n`);
  const r = await run(["try", good, "--requests", reqs, "--json"]);
  assert.equal(r.code, 1, "one of them is a local reply");
  const j = JSON.parse(r.out);
  assert.equal(j.results.length, 2);
  const [a, b] = j.results.map((x: { outcomes: unknown[] }) => x.outcomes[0]);
  assert.deepEqual([a.route, a.upstream, a.cluster, a.endpoint, a.local_reply], ["api", "u1", "upstream.u1", "10.0.0.1:8080", null]);
  assert.equal(a.headers_set[":authority"], "backend.internal");
  assert.deepEqual([b.route, b.local_reply.status], [null, 404]);
  assert.equal(j.results[1].request.method, "POST");
  const broken = file("reqs-bad.txt", "GET /a\nnot a header\n");
  const e = await run(["try", good, "--requests", broken]);
  assert.equal(e.code, 1);
  assert.match(e.err, /reqs-bad\.txt:2: expected a header line/);
});

test("try --lb-mode: the retry plan Envoy would follow; override-host by default, as the control plane", async () => {
  const multi = file("multi.yaml", `routes:\n  - {id: r, uri: /*, upstream: {nodes: {"10.0.0.1:80": 1, "10.0.0.2:80": 1}}}\n`);
  const od = await run(["try", multi, "GET /", "--lb-mode", "original-dst"]);
  // original-dst: Envoy could only retry the same node, so no retry is asked for.
  assert.doesNotMatch(od.out, /x-envoy-max-retries/);
  assert.doesNotMatch(od.out, /^retries:/m);
  assert.match((await run(["try", multi, "GET /"])).out, /^retries: 1$/m, "the default is override-host");
  const oh = await run(["try", multi, "GET /", "--lb-mode", "override-host"]);
  assert.match(oh.out, /^retries: 1$/m);
  assert.match(oh.out, /^ {2}x-envoy-retry-on: connect-failure,refused-stream,reset$/m);
  assert.match(oh.out, /^ {2}x-apisix-upstream-hosts: 10\.0\.0\.[12]:80,10\.0\.0\.[12]:80$/m);
  assert.equal((await run(["try", multi, "GET /", "--lb-mode", "eds"])).code, 2);
});

// What `npx apisix-wasm` executes: package.json's bin, a node script that loads
// the TypeScript CLI through tsx. (Run as a child so exit codes cross a real process.)
test("the package's bin entry runs the CLI: help on stdout, exit codes through the process", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const bin = join(ROOT, pkg.bin["apisix-wasm"]);
  assert.match(readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);
  const help = spawnSync(process.execPath, [bin, "--help"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage:/m);
  const bad = spawnSync(process.execPath, [bin, "frobnicate"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(bad.status, 2);
  const local = spawnSync(process.execPath, [bin, "try", good, "GET /nope"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(local.status, 1);
  assert.match(execFileSync(process.execPath, [bin, "try", good, "GET /rr"], { cwd: ROOT, encoding: "utf8" }), /^cluster: upstream\.weighted$/m);
});
