// The real Envoy accepts the project's bootstrap, and the filter runs in it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { startHttpEcho } from "../../examples/upstreams/http-echo.ts";
import { ROOT, Stack, envoyBinary } from "./stack.ts";

test("envoy --mode validate accepts envoy/envoy.yaml (Envoy 1.40)", () => {
  const out = execFileSync(envoyBinary(), ["--mode", "validate", "-c", "envoy/envoy.yaml"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  assert.match(out, /configuration 'envoy\/envoy.yaml' OK/);
  assert.match(execFileSync(envoyBinary(), ["--version"], { encoding: "utf8" }), /\/1\.40\.\d+\//);
});

test("a request through the real Envoy reaches the node the filter picked; a miss is APISIX's 404", async () => {
  const echo = await startHttpEcho({ name: "echo-1", port: 0, host: "127.0.0.1" });
  const stack = await Stack.start({
    config: `
routes:
  - id: api
    uri: /api/*
    hosts: ["*.example.com"]
    upstream:
      nodes: {"127.0.0.1:${echo.port}": 1}
`,
  });
  try {
    const r = await stack.get("/api/x?y=1", { host: "a.example.com" });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.server, "echo-1");
    assert.equal(r.json.url, "/api/x?y=1");
    const miss = await stack.get("/other", { host: "a.example.com" });
    assert.equal(miss.status, 404);
    assert.equal(miss.body.trim(), '{"error_msg":"404 Route Not Found"}');
  } finally {
    await stack.stop();
    await echo.close();
  }
});
