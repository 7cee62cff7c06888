// Route matching through the real Envoy, table-driven with APISIX's
// expectations (radixtree_host_uri): each route's upstream is an echo that
// names itself, so the answer says which route matched.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LB_MODES, Stack, startStacks, startUpstreams, type LbMode, type TestUpstream } from "./stack.ts";

const NAMES = ["e1", "e2", "e3", "e4", "e5", "e6"];
let stacks: Record<LbMode, Stack>;
let up: Record<string, TestUpstream>;

const node = (name: string) => `{"${up[name].addr}": 1}`;

function config(): string {
  return `
upstreams:
  - {id: u5, nodes: ${node("e5")}}
  - {id: canary, nodes: ${node("e6")}}
services:
  - {id: s1, upstream: {nodes: ${node("e4")}}}
  - {id: s-hosts, hosts: [svc.example.org], upstream: {nodes: ${node("e4")}}}
routes:
  # hosts: exact before wildcard before host-less, whatever the order here
  - {id: h-none, uri: /h, upstream: {nodes: ${node("e3")}}}
  - {id: h-wild, uri: /h, hosts: ["*.example.com"], upstream: {nodes: ${node("e2")}}}
  - {id: h-exact, uri: /h, host: a.example.com, upstream: {nodes: ${node("e1")}}}
  # uris: exact before prefix, longer prefix first
  - {id: u-prefix, uri: /exact*, upstream: {nodes: ${node("e2")}}}
  - {id: u-exact, uri: /exact, upstream: {nodes: ${node("e1")}}}
  - {id: p-short, uri: /p/*, upstream: {nodes: ${node("e1")}}}
  - {id: p-long, uri: /p/q/*, priority: -5, upstream: {nodes: ${node("e2")}}}
  - {id: uris, uris: [/one, /two/*], upstream: {nodes: ${node("e3")}}}
  # methods: a route that fails its methods lets the next candidate try
  - {id: m-post, uri: /m, methods: [POST, PUT], upstream: {nodes: ${node("e1")}}}
  - {id: m-get, uri: /m, methods: [GET], upstream: {nodes: ${node("e2")}}}
  # vars, including a regex and a negation
  - {id: v-env, uri: /v, priority: 3, vars: [["http_x_env", "==", "beta"]], upstream: {nodes: ${node("e1")}}}
  - {id: v-re, uri: /v, priority: 2, vars: [["arg_id", "~~", "^[0-9]+$"], ["http_x_block", "!", "~*", "^yes$"]], upstream: {nodes: ${node("e2")}}}
  - {id: v-any, uri: /v, priority: 1, upstream: {nodes: ${node("e3")}}}
  # priority: higher first on the same uri, whatever the document order
  - {id: prio-low, uri: /prio, priority: 1, upstream: {nodes: ${node("e1")}}}
  - {id: prio-high, uri: /prio, priority: 10, upstream: {nodes: ${node("e2")}}}
  # services: the service's upstream; the route's upstream_id overrides it; the service's hosts
  - {id: svc, uri: /svc, service_id: s1}
  - {id: svc-own, uri: /svc-own, service_id: s1, upstream_id: u5}
  - {id: svc-hosts, uri: /svc-hosts, service_id: s-hosts}
  # a disabled route is not there
  - {id: off, uri: /off, status: 0, upstream: {nodes: ${node("e1")}}}
  # traffic-split: the first matching rule's upstream, else the route's
  - id: split
    uri: /split
    upstream: {nodes: ${node("e1")}}
    plugins:
      traffic-split:
        rules:
          - match: [{vars: [["http_x_canary", "==", "1"]]}, {vars: [["arg_beta", "==", "yes"]]}]
            weighted_upstreams: [{upstream_id: canary}]
          - match: [{vars: [["http_x_inline", "==", "1"]]}]
            weighted_upstreams: [{upstream: {nodes: ${node("e5")}}}]
`;
}

interface Case {
  req: string; // "METHOD /path?query"
  headers?: Record<string, string>;
  /** Echo that must answer, or 404 for APISIX's route miss. */
  want: string | 404;
}

// host defaults to localhost-ish "127.0.0.1:port" (no host route matches it)
const CASES: Case[] = [
  { req: "GET /h", headers: { host: "a.example.com" }, want: "e1" },
  { req: "GET /h", headers: { host: "a.example.com:9080" }, want: "e1" },
  { req: "GET /h", headers: { host: "A.Example.COM" }, want: "e1" },
  { req: "GET /h", headers: { host: "b.example.com" }, want: "e2" },
  { req: "GET /h", headers: { host: "x.y.example.com" }, want: "e2" },
  { req: "GET /h", headers: { host: "example.com" }, want: "e3" },
  { req: "GET /h", headers: { host: "a.example.org" }, want: "e3" },
  { req: "GET /h", want: "e3" },
  { req: "GET /exact", want: "e1" },
  { req: "GET /exact?x=1", want: "e1" },
  { req: "GET /exactly", want: "e2" },
  { req: "GET /exact/", want: "e2" },
  { req: "GET /p/x", want: "e1" },
  { req: "GET /p/q", want: "e1" },
  { req: "GET /p/q/r", want: "e2" },
  { req: "GET /p", want: 404 },
  { req: "GET /one", want: "e3" },
  { req: "GET /two/x", want: "e3" },
  { req: "GET /one/x", want: 404 },
  { req: "POST /m", want: "e1" },
  { req: "PUT /m", want: "e1" },
  { req: "GET /m", want: "e2" },
  { req: "DELETE /m", want: 404 },
  { req: "GET /v", headers: { "x-env": "beta" }, want: "e1" },
  { req: "GET /v?id=42", want: "e2" },
  { req: "GET /v?id=42", headers: { "x-block": "YES" }, want: "e3" },
  { req: "GET /v?id=4x2", want: "e3" },
  { req: "GET /v?id=42", headers: { "x-env": "beta" }, want: "e1" },
  { req: "GET /prio", want: "e2" },
  { req: "GET /svc", want: "e4" },
  { req: "GET /svc-own", want: "e5" },
  { req: "GET /svc-hosts", headers: { host: "svc.example.org" }, want: "e4" },
  { req: "GET /svc-hosts", want: 404 },
  { req: "GET /off", want: 404 },
  { req: "GET /split", want: "e1" },
  { req: "GET /split", headers: { "x-canary": "1" }, want: "e6" },
  { req: "GET /split?beta=yes", want: "e6" },
  { req: "GET /split", headers: { "x-inline": "1" }, want: "e5" },
  { req: "GET /nothing", want: 404 },
  { req: "GET /", want: 404 },
];

before(async () => {
  up = await startUpstreams(NAMES);
  stacks = await startStacks({ config: config() });
});
after(async () => {
  await Promise.all(Object.values(stacks ?? {}).map((s) => s.stop()));
  await Promise.all(Object.values(up ?? {}).map((u) => u.close()));
});

for (const mode of LB_MODES) {
  describe(`route matching (${mode})`, () => {
    test("each request reaches the upstream of the route APISIX would match; a miss is APISIX's 404", async () => {
      const stack = stacks[mode];
      const wrong: string[] = [];
      for (const c of CASES) {
        const [method, p] = c.req.split(" ");
        const r = await stack.request({ method, path: p, headers: c.headers });
        const got = r.status === 200 ? r.json?.server : r.status;
        if (got !== c.want) wrong.push(`${c.req} ${JSON.stringify(c.headers ?? {})}: want ${c.want}, got ${got} ${r.status === 200 ? "" : r.body.trim()}`);
        else if (c.want === 404) assert.equal(r.body.trim(), '{"error_msg":"404 Route Not Found"}', c.req);
        else assert.equal(r.json.url, p, `${c.req}: the upstream got the client's path`);
      }
      assert.deepEqual(wrong, []);
    });
  });
}

// apisix.router.http: radixtree_uri_with_parameter, given to the control plane
// with --router-http: `:name` and `*name` segments, hosts as a per-route
// condition (t/router/radixtree-uri-with-parameter*.t).
describe("route matching (radixtree_uri_with_parameter)", () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start({
      controlPlaneArgs: ["--router-http", "radixtree_uri_with_parameter"],
      config: `
services:
  - {id: s-bar, hosts: [bar.com]}
routes:
  - {id: profile, uri: "/user/:name/profile", upstream: {nodes: ${node("e1")}}}
  - {id: me, uri: /user/me/profile, upstream: {nodes: ${node("e2")}}}
  - {id: files, uri: "/files/*path", upstream: {nodes: ${node("e3")}}}
  - {id: hello-bar, uri: "/:name/hello", service_id: s-bar, upstream: {nodes: ${node("e4")}}}
  - {id: hello-any, uri: "/:name/hello", priority: -1, upstream: {nodes: ${node("e5")}}}
`,
    });
  });
  after(async () => {
    await stack?.stop();
  });

  const PARAM_CASES: { req: string; headers?: Record<string, string>; want: string | number }[] = [
    { req: "GET /user/jo/profile", want: "e1" },
    { req: "GET /user/with%20space/profile", want: "e1" },
    { req: "GET /user/me/profile", want: "e2" },
    { req: "GET /user//profile", want: 404 },
    { req: "GET /user/jo/profile/x", want: 404 },
    { req: "GET /files/a/b/c.txt", want: "e3" },
    { req: "GET /files/", want: "e3" },
    { req: "GET /files", want: 404 },
    { req: "GET /john/hello", headers: { host: "bar.com" }, want: "e4" },
    { req: "GET /john/hello", headers: { host: "www.foo.com" }, want: "e5" },
    { req: "GET /john/x/hello", want: 404 },
  ];

  test("uri parameters and per-route hosts, as APISIX's radixtree_uri_with_parameter", async () => {
    const wrong: string[] = [];
    for (const c of PARAM_CASES) {
      const [method, p] = c.req.split(" ");
      const r = await stack.request({ method, path: p, headers: c.headers });
      const got = r.status === 200 ? r.json?.server : r.status;
      if (got !== c.want) wrong.push(`${c.req} ${JSON.stringify(c.headers ?? {})}: want ${c.want}, got ${got} ${r.status === 200 ? "" : r.body.trim()}`);
    }
    assert.deepEqual(wrong, []);
    assert.match(stack.cp.out, /router radixtree_uri_with_parameter/);
  });
});
