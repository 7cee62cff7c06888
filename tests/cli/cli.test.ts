// The operator CLI drives the real filter.wasm through the same host as the tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../cli/apisix-wasm.ts";

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  return main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }).then((code) => ({ code, out: out.join("\n"), err: err.join("\n") }));
}

const dir = mkdtempSync(join(tmpdir(), "apisix-wasm-cli-"));
const good = join(dir, "good.yaml");
writeFileSync(good, `routes:
  - id: api
    uri: /api/*
    hosts: ["*.example.com"]
    upstream_id: u1
upstreams:
  - id: u1
    nodes:
      "10.0.0.1:8080": 1
    pass_host: rewrite
    upstream_host: backend.internal
#END
`);
const bad = join(dir, "bad.yaml");
writeFileSync(bad, `upstreams:\n  - id: u1\n    nodes: {"10.0.0.1:80": -1}\n`);

test("validate: a valid file exits 0", async () => {
  const r = await run(["validate", good]);
  assert.equal(r.code, 0);
  assert.match(r.out, /good\.yaml: valid$/);
});

test("validate: field-named errors and a non-zero exit", async () => {
  const r = await run(["validate", bad]);
  assert.equal(r.code, 1);
  assert.match(r.out, /upstreams\[u1\]\.nodes\["10\.0\.0\.1:80"\]: expected -1 to be at least 0/);
  assert.match(r.out, /bad\.yaml: rejected$/);
});

test("validate: YAML syntax errors are reported", async () => {
  const broken = join(dir, "broken.yaml");
  writeFileSync(broken, "routes: [\n");
  const r = await run(["validate", broken]);
  assert.equal(r.code, 1);
  assert.match(r.err, /invalid YAML/);
});

test("try: prints route, cluster, endpoint and the headers the filter set", async () => {
  const r = await run(["try", good, "GET /api/x?y=1", "-H", "Host: a.example.com", "-H", "x-apisix-upstream: evil"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^route: api$/m);
  assert.match(r.out, /^cluster: upstream\.u1$/m);
  assert.match(r.out, /^endpoint: 10\.0\.0\.1:8080$/m);
  assert.match(r.out, /^  :authority: backend\.internal$/m);
});

test("try: a local reply with its log lines", async () => {
  const r = await run(["try", good, "GET /nope", "-H", "Host: a.example.com"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /^local reply: 404 \(apisix_route_not_found\)$/m);
  assert.match(r.out, /^body: \{"error_msg":"404 Route Not Found"\}$/m);
});

test("usage errors exit 2", async () => {
  assert.equal((await run(["frobnicate"])).code, 2);
  assert.equal((await run(["try", good])).code, 2);
});

test("try --lb-mode override-host: the retry plan Envoy would follow", async () => {
  const multi = join(dir, "multi.yaml");
  writeFileSync(multi, `routes:\n  - {id: r, uri: /*, upstream: {nodes: {"10.0.0.1:80": 1, "10.0.0.2:80": 1}}}\n`);
  const od = await run(["try", multi, "GET /"]);
  assert.match(od.out, /^  x-envoy-max-retries: 0$/m);
  const oh = await run(["try", multi, "GET /", "--lb-mode", "override-host"]);
  assert.match(oh.out, /^  x-envoy-max-retries: 1$/m);
  assert.match(oh.out, /^  x-apisix-upstream-hosts: 10\.0\.0\.[12]:80,10\.0\.0\.[12]:80$/m);
  assert.equal((await run(["try", multi, "GET /", "--lb-mode", "eds"])).code, 2);
});
