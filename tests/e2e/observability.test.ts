// What an Envoy operator sees of the filter, read from the real Envoy: the
// access log names the route, cluster and node; the filter's counters are
// Envoy stats with route/upstream/code tags in /stats and /stats/prometheus.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHttpEcho } from "../../examples/upstreams/http-echo.ts";
import { Stack, until } from "./stack.ts";

/** The value of the Prometheus sample `name{labels}`, whatever the label order. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^(\w+)\{(.*)\} (\d+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(got).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

type Echo = Awaited<ReturnType<typeof startHttpEcho>>;
let stack: Stack;
let echo: Echo;

before(async () => {
  echo = await startHttpEcho({ name: "echo-1", port: 0, host: "127.0.0.1" });
  stack = await Stack.start({
    config: `
routes:
  - id: api
    uri: /api/*
    upstream_id: u1
  - id: inline.v2
    uri: /v2/*
    upstream:
      nodes: {"127.0.0.1:${echo.port}": 1}
  - id: broken
    uri: /broken
    upstream_id: missing
upstreams:
  - id: u1
    nodes: {"127.0.0.1:${echo.port}": 1}
`,
  });
});

after(async () => {
  await stack?.stop();
  await echo?.close();
});

test("the access log names the route, the upstream cluster and the node", async () => {
  const from = stack.envoy.out.length;
  assert.equal((await stack.get("/api/one")).status, 200);
  assert.equal((await stack.get("/broken")).status, 502);
  assert.equal((await stack.get("/nowhere")).status, 404);
  const node = `127.0.0.1:${echo.port}`;
  // Envoy flushes its stdout access log on its own schedule: poll for the lines.
  const lines = await until("three access log lines", () => {
    const l = stack.envoy.out
      .slice(from)
      .split("\n")
      .filter((x) => /"GET \/(api\/one|broken|nowhere) /.test(x));
    return l.length >= 3 ? l : undefined;
  });
  const line = (p: string) => lines.find((l) => l.includes(`"GET ${p} `)) ?? "";
  assert.match(line("/api/one"), new RegExp(` 200 - via_upstream route=api upstream=upstream\\.u1 node=${node.replace(/\./g, "\\.")} upstream_id=u1 `));
  // A local reply after a route matched still names the route.
  assert.match(line("/broken"), / 502 - apisix_upstream_not_found route=broken upstream=- node=- upstream_id=- /);
  assert.match(line("/nowhere"), / 404 - apisix_route_not_found route=- upstream=- node=- upstream_id=- /);
});

test("per-route counters and local replies are Envoy stats with tags", async () => {
  for (let i = 0; i < 3; i++) assert.equal((await stack.get("/v2/x")).status, 200);
  assert.equal((await stack.get("/broken")).status, 502);
  // The filter counts in guest memory and flushes on its 1 s tick.
  const prom = await until(
    "tagged counters in /stats/prometheus",
    async () => {
      const body = (await stack.admin("/stats/prometheus")).body;
      return sample(body, "apisix_requests_total", { route: "inline.v2", upstream: "route.inline.v2" }) === 3 &&
        (sample(body, "apisix_local_replies_total", { route: "broken", code: "502" }) ?? 0) >= 1
        ? body
        : undefined;
    },
    10_000,
  );
  assert.ok((sample(prom, "apisix_local_replies_total", { route: "", code: "404" }) ?? 0) >= 1, "the 404 without a route");
  assert.match(prom, /# TYPE apisix_requests_total counter/);
  assert.match(prom, /apisix_upstream_requests_proxied\{\} [1-9]/);

  const stats = (await stack.admin("/stats?filter=apisix_requests_total")).body;
  assert.match(stats, /^wasmcustom\.route=\.=inline\.v2;\.;upstream=\.=route\.inline\.v2;\.;apisix_requests_total: 3$/m);
  // The JSON form carries the tag-extracted name, as Envoy's own stats do.
  const json = JSON.parse((await stack.admin("/stats?format=json&filter=apisix_local_replies_total")).body);
  const names = (json.stats as { name: string }[]).map((s) => s.name);
  assert.ok(names.includes("wasmcustom.code=.=502;.;route=.=broken;.;apisix_local_replies_total"), names.join("\n"));
});
