// The filter's own answers through the real Envoy: APISIX's status codes,
// bodies (nginx's error page, as core.response.exit(code) sends) and log
// texts in Envoy's log; pass_host as the upstream saw it; the read timeout.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LB_MODES, type Stack, closedPort, startStacks, startUpstreams, until, type LbMode, type TestUpstream } from "./stack.ts";

let stacks: Record<LbMode, Stack>;
let up: Record<string, TestUpstream>;
let releaseSlow: (() => void) | undefined;

const TITLES: Record<number, string> = {
  500: "500 Internal Server Error",
  502: "502 Bad Gateway",
  503: "503 Service Temporarily Unavailable",
  504: "504 Gateway Time-out",
};
const page = (code: number) =>
  `<html>\r\n<head><title>${TITLES[code]}</title></head>\r\n<body>\r\n<center><h1>${TITLES[code]}</h1></center>\r\n<hr><center>APISIX</center>\r\n</body>\r\n</html>\r\n`;

before(async () => {
  up = await startUpstreams(["echo", "slow"]);
  // the slow node never answers while the suite runs
  releaseSlow = up.slow.hold();
  const echo = up.echo.addr;
  const dead = `127.0.0.1:${await closedPort()}`;
  stacks = await startStacks({
    config: `
upstreams:
  - {id: no-nodes, nodes: {}}
  - {id: dns-bad, nodes: {"nowhere.invalid:80": 1}}
  - {id: needs-cert, scheme: https, tls: {client_cert_id: missing-ssl}, nodes: {"${echo}": 1}}
services:
  - {id: s-empty, hosts: [empty.example]}
routes:
  - {id: missing-up, uri: /missing-up, upstream_id: nope}
  - {id: missing-svc, uri: /missing-svc, service_id: nope}
  - {id: no-upstream, uri: /no-upstream, hosts: [empty.example], service_id: s-empty}
  - {id: no-nodes, uri: /no-nodes, upstream_id: no-nodes}
  - {id: dns-inline, uri: /dns-inline, upstream: {nodes: {"nowhere.invalid:80": 1}}}
  - {id: dns-up, uri: /dns-up, upstream_id: dns-bad}
  - {id: cert, uri: /cert, upstream_id: needs-cert}
  - {id: dead, uri: /dead, upstream: {nodes: {"${dead}": 1}}}
  - {id: pass, uri: /pass, upstream: {nodes: {"${echo}": 1}, pass_host: pass}}
  - {id: node, uri: /node, upstream: {nodes: {"localhost:${up.echo.port}": 1}, pass_host: node}}
  - {id: node-ip, uri: /node-ip, upstream: {nodes: {"${echo}": 1}, pass_host: node}}
  - {id: rewrite, uri: /rewrite, upstream: {nodes: {"${echo}": 1}, pass_host: rewrite, upstream_host: rewritten.example}}
  - {id: slow, uri: /slow, upstream: {nodes: {"${up.slow.addr}": 1}, timeout: {connect: 2, send: 2, read: 0.4}}}
  - {id: slow-route, uri: /slow-route, timeout: {connect: 2, send: 2, read: 0.4}, upstream: {nodes: {"${up.slow.addr}": 1}, timeout: {connect: 2, send: 2, read: 30}}}
`,
  });
});
after(async () => {
  releaseSlow?.();
  await Promise.all(Object.values(stacks ?? {}).map((s) => s.stop()));
  await Promise.all(Object.values(up ?? {}).map((u) => u.close()));
});

interface ReplyCase {
  path: string;
  host?: string;
  status: number;
  /** APISIX's error log line, expected in Envoy's log at error level. */
  log: string;
}

const REPLIES: ReplyCase[] = [
  { path: "/missing-up", status: 502, log: "failed to find upstream by id: nope" },
  { path: "/cert", status: 502, log: "failed to get ssl cert: ssl id [missing-ssl] not exits" },
  { path: "/dns-up", status: 502, log: "failed to get resolved upstream: " },
  { path: "/dns-inline", status: 500, log: "failed to get resolved route: " },
  { path: "/no-upstream", host: "empty.example", status: 503, log: "failed to set upstream: missing upstream configuration in Route or Service" },
  { path: "/no-nodes", status: 503, log: "failed to set upstream: no valid upstream node" },
];

for (const mode of LB_MODES) {
  describe(`replies, pass_host, timeouts (${mode})`, () => {
    let stack: Stack;
    before(() => void (stack = stacks[mode]));

    test("APISIX's status, body and error log line for each failure", async () => {
      for (const c of REPLIES) {
        const from = stack.envoy.out.length;
        const r = await stack.get(c.path, c.host ? { host: c.host } : {});
        assert.equal(r.status, c.status, `${c.path}: ${r.body}`);
        assert.equal(r.body, page(c.status), c.path);
        assert.match(String(r.headers["content-type"]), /^text\/html/);
        const line = await until(`log line for ${c.path}`, () =>
          stack.envoy.out
            .slice(from)
            .split("\n")
            .find((l) => l.includes(c.log)),
        );
        assert.match(line, /\[error\]\[wasm\]/, `${c.path}: logged at error level by the wasm filter`);
      }
      // a missing service: APISIX's 404 (route found, service not)
      const from = stack.envoy.out.length;
      const r = await stack.get("/missing-svc");
      assert.equal(r.status, 404);
      await until("service log", () => stack.envoy.out.slice(from).includes("failed to fetch service configuration by id: nope") || undefined);
    });

    test("a node refusing the connection: nginx's 502 page (Envoy's own 503 text only for gRPC, as grpc-status)", async () => {
      const r = await stack.get("/dead");
      assert.equal(r.status, 502, r.body);
      assert.equal(r.body, page(502));
      assert.match(String(r.headers["content-type"]), /^text\/html/);
      const g = await stack.get("/dead", { "content-type": "application/grpc" });
      assert.equal(g.headers["grpc-status"], "14", "UNAVAILABLE");
      assert.doesNotMatch(String(g.headers["grpc-message"]), /html/);
    });

    test("pass_host: the Host the upstream saw", async () => {
      const host = (r: { json?: { host?: string } }) => r.json?.host;
      assert.equal(host(await stack.get("/pass", { host: "client.example" })), "client.example");
      assert.equal(host(await stack.get("/node", { host: "client.example" })), `localhost:${up.echo.port}`);
      assert.equal(host(await stack.get("/node-ip", { host: "client.example" })), up.echo.addr);
      assert.equal(host(await stack.get("/rewrite", { host: "client.example" })), "rewritten.example");
    });

    test("timeout.read against a slow upstream ends in 504; the route's timeout wins over the upstream's", async () => {
      for (const p of ["/slow", "/slow-route"]) {
        const t0 = Date.now();
        const r = await stack.get(p);
        const took = Date.now() - t0;
        assert.equal(r.status, 504, `${p}: ${r.body}`);
        assert.equal(r.body, page(504), `${p}: nginx's 504 page, not Envoy's text`);
        assert.ok(took >= 350 && took < 10_000, `${p}: answered after ${took} ms (read timeout 0.4 s; the upstream's own is 30 s on /slow-route)`);
      }
    });
  });
}
