// Fuzzing proxy_on_configure through the real build/filter.wasm (fast-check,
// fixed seeds): generated valid configurations are always accepted; mutated
// ones (wrong types, missing fields, huge numbers, unicode ids, deep nesting,
// garbage JSON) never trap, are rejected with an error naming the field, and
// leave the previous configuration serving. 10,000 cases in all.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProxyWasmHost } from "../../host/index.ts";
import { FILTER_WASM, LOG, errorLogs } from "../filter/helpers.ts";
import { withClusterNames } from "../../envoy/control-plane/apisix/index.ts";

const module = new WebAssembly.Module(await import("node:fs").then((fs) => fs.readFileSync(FILTER_WASM)));
const newHost = () => new ProxyWasmHost(module, { rootId: "apisix-upstream", logLevel: LOG.warn, maxLogs: 2000 });

// ---------------------------------------------------------------- the config every case falls back to

const BASE = {
  routes: [{ id: "known", uri: "/known/*", upstream_id: "known" }],
  upstreams: [{ id: "known", nodes: { "10.255.0.1:80": 1 } }],
};
// Named as the control plane names upstreams (`_cluster`, apisix/sites.ts).
const BASE_JSON = JSON.stringify(withClusterNames(BASE));

function assertBaseServes(host: ProxyWasmHost, context: string): void {
  const r = host.request({ method: "GET", path: "/known/x", authority: "example.com", source: "127.0.0.1:1000" });
  assert.equal(r.localReply, undefined, `${context}: the previous config no longer serves /known/x (got ${r.localReply?.status})`);
  assert.equal(r.header("x-apisix-upstream"), "upstream.known", context);
  assert.equal(r.endpoint, "10.255.0.1:80", context);
}

// ---------------------------------------------------------------- valid configurations

const ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
const idString = fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 24 });
/** APISIX ids: a string of [a-zA-Z0-9-_.]{1,64} or an integer >= 1 (normalised to its decimal text). */
const anyId = fc.oneof({ weight: 4, arbitrary: idString }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 ** 31 }) });
const uniqueIds = (min: number, max: number) => fc.uniqueArray(anyId, { minLength: min, maxLength: max, selector: (id) => String(id) });

const HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-.";
const hostName = fc
  .tuple(fc.boolean(), fc.string({ unit: fc.constantFrom(...HOST_CHARS), minLength: 1, maxLength: 30 }))
  .map(([wild, h]) => (wild ? `*${h}` : h));
const port = fc.integer({ min: 1, max: 65535 });
const weight = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(4294967295));
const ipv6 = fc.ipV6();
const ip = fc.oneof({ weight: 3, arbitrary: fc.ipV4() }, { weight: 1, arbitrary: ipv6 });
const bracket = (a: string) => (a.includes(":") ? `[${a}]` : a);
const uri = fc
  .oneof(
    fc.webPath().map((p) => (p.startsWith("/") ? p : `/${p}`)),
    fc.string({ minLength: 1, maxLength: 60 }).map((s) => `/${s}`),
    fc.stringMatching(/^\/[a-z0-9-]{1,10}\/\*$/),
    fc.constant("/*"),
  )
  .filter((u) => u.length >= 1 && u.length <= 4096);
const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE"];
const text = fc.string({ unit: "grapheme", maxLength: 40 });
const timeout = fc.record({
  connect: fc.double({ min: 0.001, max: 600, noNaN: true }),
  send: fc.double({ min: 0.001, max: 600, noNaN: true }),
  read: fc.double({ min: 0.001, max: 600, noNaN: true }),
});
const HASH_VARS = ["uri", "server_name", "server_addr", "request_uri", "remote_port", "remote_addr", "query_string", "host", "hostname"];
const balancer = fc.oneof(
  fc.constant({}),
  fc.constant({ type: "roundrobin" }),
  fc.constant({ type: "ewma" }),
  fc.constant({ type: "least_conn" }),
  fc.constantFrom(...HASH_VARS).map((key) => ({ type: "chash", hash_on: "vars", key })),
  fc.stringMatching(/^[a-z0-9_]{1,12}$/).map((k) => ({ type: "chash", key: `arg_${k}` })),
  fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/).map((key) => ({ type: "chash", hash_on: "header", key })),
  fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/).map((key) => ({ type: "chash", hash_on: "cookie", key })),
  fc.constant({ type: "chash", hash_on: "consumer" }),
);
const CHECKS = {
  active: { type: "http", http_path: "/status", healthy: { interval: 2, successes: 1 }, unhealthy: { interval: 1, http_failures: 2 } },
  passive: { healthy: { http_statuses: [200, 201], successes: 3 }, unhealthy: { http_statuses: [500, 503], http_failures: 3, tcp_failures: 3 } },
};

/** Nodes in map or array form, with control-plane DNS answers for domain nodes. */
const nodes = fc.oneof(
  fc
    .uniqueArray(fc.tuple(ip, port, weight), { maxLength: 6, selector: ([a, p]) => `${bracket(a)}:${p}` })
    .map((ns) => ({ nodes: Object.fromEntries(ns.map(([a, p, w]) => [`${bracket(a)}:${p}`, w])), dns: {} as Record<string, unknown> })),
  fc
    .array(
      fc.record({ host: ip, port: fc.option(port, { nil: undefined }), weight, priority: fc.option(fc.integer({ min: -5, max: 5 }), { nil: undefined }) }),
      { maxLength: 6 },
    )
    .map((ns) => ({ nodes: ns.map((n) => ({ ...n, host: bracket(n.host) })), dns: {} as Record<string, unknown> })),
  fc.tuple(fc.stringMatching(/^[a-z]{1,10}$/), port, fc.option(fc.ipV4(), { nil: undefined })).map(([name, p, addr]) => ({
    nodes: { [`${name}.internal:${p}`]: 1 },
    dns: { [`${name}.internal`]: addr ? { addresses: [addr] } : { error: "NXDOMAIN" } },
  })),
);

const upstreamBody = fc
  .record({
    nodes,
    balancer,
    scheme: fc.option(fc.constantFrom("http", "https", "grpc", "grpcs"), { nil: undefined }),
    pass_host: fc.option(
      fc.oneof(
        fc.constant({ pass_host: "pass" }),
        fc.constant({ pass_host: "node" }),
        hostName.map((h) => ({ pass_host: "rewrite", upstream_host: h.replace(/^\*/, "") })),
      ),
      { nil: undefined },
    ),
    timeout: fc.option(timeout, { nil: undefined }),
    retries: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
    retry_timeout: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
    name: fc.option(text, { nil: undefined }),
    desc: fc.option(text, { nil: undefined }),
    keepalive_pool: fc.option(
      fc.record({
        size: fc.integer({ min: 1, max: 1000 }),
        idle_timeout: fc.double({ min: 0, max: 100, noNaN: true }),
        requests: fc.integer({ min: 1, max: 1000 }),
      }),
      { nil: undefined },
    ),
    checks: fc.option(fc.constant(CHECKS), { nil: undefined }),
    verify: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map((u) => {
    const out: Record<string, unknown> = { ...u.balancer, nodes: u.nodes.nodes };
    if (u.scheme) out.scheme = u.scheme;
    if (u.pass_host) Object.assign(out, u.pass_host);
    for (const k of ["timeout", "retries", "retry_timeout", "name", "desc", "keepalive_pool", "checks"] as const) if (u[k] !== undefined) out[k] = u[k];
    if (u.verify !== undefined) out.tls = { verify: u.verify };
    return { upstream: out, dns: u.nodes.dns };
  });

const VAR_NAMES = ["arg_x", "arg_page", "http_x_env", "http_user_agent", "cookie_team", "uri", "host", "remote_addr", "request_method"];
const rule = fc.oneof(
  fc.tuple(fc.constantFrom(...VAR_NAMES), fc.constantFrom("==", "~="), fc.oneof(text, fc.integer())).map(([v, o, x]) => [v, o, x]),
  fc.tuple(fc.constantFrom(...VAR_NAMES), fc.constantFrom(">", "<", ">=", "<="), fc.integer({ min: -1000, max: 1000 })).map(([v, o, x]) => [v, o, x]),
  fc.tuple(fc.constantFrom(...VAR_NAMES), fc.array(text, { maxLength: 4 })).map(([v, l]) => [v, "in", l]),
  fc.tuple(fc.constantFrom(...VAR_NAMES), fc.constantFrom("^a.*b$", "beta", "^/api/(v1|v2)/", "[0-9]+", "^curl/")).map(([v, re]) => [v, "~~", re]),
  fc.tuple(fc.constantFrom(...VAR_NAMES), fc.constantFrom("a", "^A")).map(([v, re]) => [v, "!", "~*", re]),
  fc
    .tuple(
      fc.constant("remote_addr"),
      fc.array(
        fc.oneof(
          fc.ipV4(),
          fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, m]) => `${a}/${m}`),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([v, l]) => [v, "ipmatch", l]),
);
const vars = fc.oneof(
  fc.array(rule, { minLength: 1, maxLength: 3 }),
  fc.tuple(fc.constantFrom("AND", "OR", "!AND", "!OR"), fc.array(rule, { minLength: 1, maxLength: 3 })).map(([l, rs]) => [l, ...rs]),
);
const cidr = fc.oneof(
  fc.ipV4(),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, m]) => `${a}/${m}`),
  ipv6,
  fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, m]) => `${a}/${m}`),
);

interface Generated {
  config: Record<string, unknown>;
}

const validConfig: fc.Arbitrary<Generated> = fc.tuple(uniqueIds(0, 4), uniqueIds(0, 2), uniqueIds(0, 6)).chain(([upIds, svcIds, routeIds]) => {
  const ref = (ids: (string | number)[]) => (ids.length ? fc.constantFrom(...ids) : fc.constant(undefined));
  const upstreamArb = upIds.length ? fc.tuple(...upIds.map((id) => upstreamBody.map((b) => ({ ...b, upstream: { id, ...b.upstream } })))) : fc.constant([]);
  const serviceArb = svcIds.length
    ? fc.tuple(
        ...svcIds.map((id) =>
          fc
            .record({
              upstream_id: fc.option(ref(upIds), { nil: undefined }),
              upstream: fc.option(upstreamBody, { nil: undefined }),
              enable_websocket: fc.option(fc.boolean(), { nil: undefined }),
              hosts: fc.option(fc.array(hostName, { minLength: 1, maxLength: 3 }), { nil: undefined }),
              name: fc.option(text, { nil: undefined }),
            })
            .map((s) => ({ ...s, id })),
        ),
      )
    : fc.constant([]);
  const routeArb = routeIds.length
    ? fc.tuple(
        ...routeIds.map((id) =>
          fc
            .record({
              match: fc.oneof(
                uri.map((u) => ({ uri: u })),
                fc.uniqueArray(uri, { minLength: 1, maxLength: 4 }).map((uris) => ({ uris })),
              ),
              hosts: fc.option(
                fc.oneof(
                  hostName.map((host) => ({ host })),
                  fc.array(hostName, { minLength: 1, maxLength: 3 }).map((hosts) => ({ hosts })),
                ),
                { nil: undefined },
              ),
              methods: fc.option(fc.uniqueArray(fc.constantFrom(...METHODS), { minLength: 1, maxLength: 4 }), { nil: undefined }),
              remote: fc.option(
                fc.oneof(
                  cidr.map((remote_addr) => ({ remote_addr })),
                  fc.array(cidr, { minLength: 1, maxLength: 3 }).map((remote_addrs) => ({ remote_addrs })),
                ),
                { nil: undefined },
              ),
              vars: fc.option(vars, { nil: undefined }),
              priority: fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: undefined }),
              status: fc.option(fc.constantFrom(0, 1), { nil: undefined }),
              enable_websocket: fc.option(fc.boolean(), { nil: undefined }),
              timeout: fc.option(timeout, { nil: undefined }),
              name: fc.option(text, { nil: undefined }),
              target: fc.oneof(
                ref(upIds).map((upstream_id) => (upstream_id === undefined ? { plugins: { echo: {} } } : { upstream_id })),
                upstreamBody.map((b) => ({ upstream: b.upstream, dns: b.dns })),
                ref(svcIds).map((service_id) => (service_id === undefined ? { upstream_id: "dangling" } : { service_id })),
                fc.constant({ plugins: { "limit-count": { count: 1 } } }),
              ),
            })
            .map((r) => {
              const out: Record<string, unknown> = { id, ...r.match };
              if (r.hosts) Object.assign(out, r.hosts);
              if (r.remote) Object.assign(out, r.remote);
              for (const k of ["methods", "vars", "priority", "status", "enable_websocket", "timeout", "name"] as const) if (r[k] !== undefined) out[k] = r[k];
              const { dns, ...target } = r.target as Record<string, unknown>;
              Object.assign(out, target);
              return { route: out, dns: (dns ?? {}) as Record<string, unknown> };
            }),
        ),
      )
    : fc.constant([]);
  return fc.tuple(upstreamArb, serviceArb, routeArb).map(([ups, svcs, routes]) => {
    const dns: Record<string, unknown> = {};
    const config: Record<string, unknown> = {};
    // Later DNS answers for the same name win in JSON.parse; fine as long as each is valid.
    for (const u of ups) Object.assign(dns, u.dns);
    for (const r of routes) Object.assign(dns, r.dns);
    const services = svcs.map((s) => {
      const out: Record<string, unknown> = { id: s.id };
      if (s.upstream_id !== undefined) out.upstream_id = s.upstream_id;
      if (s.upstream) {
        out.upstream = s.upstream.upstream;
        Object.assign(dns, s.upstream.dns);
      }
      if (s.enable_websocket !== undefined) out.enable_websocket = s.enable_websocket;
      if (s.hosts) out.hosts = s.hosts;
      if (s.name !== undefined) out.name = s.name;
      return out;
    });
    if (ups.length) config.upstreams = ups.map((u) => u.upstream);
    if (services.length) config.services = services;
    if (routes.length) config.routes = routes.map((r) => r.route);
    if (Object.keys(dns).length) config.dns = dns;
    return { config };
  });
});

// ---------------------------------------------------------------- mutations

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const nest = (v: Json, depth: number): Json => {
  let x = v;
  for (let i = 0; i < depth; i++) x = [x];
  return x;
};
const REPLACEMENTS: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0.5,
  2 ** 53 + 2,
  1e308,
  -1e308,
  4294967296,
  2 ** 31,
  -(2 ** 31) - 1,
  "",
  "x",
  "路由😀",
  "\u0000",
  "a\u0000b",
  "\ud83d",
  " ",
  "x".repeat(5000),
  "10.0.0.1:80",
  "/*",
  "chash",
  [],
  {},
  [1, "a", null],
  { a: 1 },
  { id: "x" },
  [[[]]],
  nest(1, 200),
  nest("deep", 127),
];
const SECTIONS = ["routes", "upstreams", "services", "ssls", "dns", "health"];

function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === "object") for (const k of Object.keys(v)) paths(v[k], [...at, k], out);
  return out;
}

interface Mutated {
  doc: Json;
  section: string | null;
  what: string;
}

function mutate(config: Json, pick: number, op: number, choice: number): Mutated {
  const doc = structuredClone(config) as Json;
  const all = paths(doc);
  const path = all[pick % all.length];
  const section = path.length ? String(path[0]) : null;
  const parentOf = (p: (string | number)[]) => p.slice(0, -1).reduce<Json>((o, k) => (o as Record<string, Json>)[k as string], doc);
  const set = (p: (string | number)[], v: Json): Json => {
    if (!p.length) return v;
    (parentOf(p) as Record<string, Json>)[p[p.length - 1] as string] = v;
    return doc;
  };
  const get = (p: (string | number)[]) => p.reduce<Json>((o, k) => (o as Record<string, Json>)[k as string], doc);
  const cur = get(path);
  const where = path.join(".") || "(root)";
  switch (op % 7) {
    case 0: {
      // wrong type / odd value
      const v = REPLACEMENTS[choice % REPLACEMENTS.length];
      return { doc: set(path, v), section, what: `set ${where} = ${JSON.stringify(v).slice(0, 40)}` };
    }
    case 1: {
      // remove a field or element
      if (!path.length) return { doc: [], section: null, what: "root → []" };
      const parent = parentOf(path);
      if (Array.isArray(parent)) parent.splice(path[path.length - 1] as number, 1);
      else delete (parent as Record<string, Json>)[path[path.length - 1] as string];
      return { doc, section, what: `delete ${where}` };
    }
    case 2: {
      // unknown field
      if (cur !== null && typeof cur === "object" && !Array.isArray(cur)) {
        (cur as Record<string, Json>)[["bogus", "Uri", "node", "路由", ""][choice % 5]] = 1;
        return { doc, section: section ?? ["bogus", "Uri", "node", "路由", ""][choice % 5], what: `add unknown key under ${where}` };
      }
      return { doc: set(path, { bogus: cur }), section, what: `wrap ${where} in an object` };
    }
    case 3: // deep nesting
      return { doc: set(path, nest(cur, [3, 20, 127, 128, 129, 1000][choice % 6])), section, what: `nest ${where}` };
    case 4: {
      // huge / negative / fractional numbers
      // 2^53 + 1 is not a double: what a JSON writer sends for it, and the JSON parser's rounding, are the point
      // biome-ignore lint/correctness/noPrecisionLoss: see above
      const v = [1e308, -1e308, 2 ** 64, -1, 0, 0.5, 65536, 4294967296, 9007199254740993, -9007199254740993][choice % 10];
      return { doc: set(path, v), section, what: `set ${where} = ${v}` };
    }
    case 5: {
      // unicode / long / control strings
      const v = ["ünïcödé", "\u202e\u0000", "😀".repeat(100), "a".repeat(70), "a b", "*", "[::1", "1.2.3.4.5:80", "..", "%00"][choice % 10];
      return { doc: set(path, v), section, what: `set ${where} = ${JSON.stringify(v).slice(0, 30)}` };
    }
    default: {
      // duplicate an array element (duplicate ids)
      const parent = path.length ? parentOf(path) : null;
      if (Array.isArray(parent)) {
        parent.push(structuredClone(parent[path[path.length - 1] as number]));
        return { doc, section, what: `duplicate ${where}` };
      }
      if (Array.isArray(cur) && cur.length) {
        cur.push(structuredClone(cur[0]));
        return { doc, section, what: `duplicate ${where}[0]` };
      }
      return { doc: set(path, [cur, cur]), section, what: `double ${where}` };
    }
  }
}

/** Garbage JSON: byte-level edits of a valid document. */
function garble(json: string, edits: [number, number, string][]): string {
  let s = json;
  for (const [pos, kind, text] of edits) {
    const p = s.length ? pos % (s.length + 1) : 0;
    if (kind % 4 === 0)
      s = s.slice(0, p) + s.slice(p + 1 + (kind % 7)); // delete
    else if (kind % 4 === 1)
      s = s.slice(0, p) + text + s.slice(p); // insert
    else if (kind % 4 === 2)
      s = s.slice(0, p); // truncate
    else s = s.slice(0, p) + text + s.slice(p + text.length); // overwrite
  }
  return s;
}

// ---------------------------------------------------------------- checks

const PATH_RE = /^invalid configuration: (configuration|routes|upstreams|services|ssls|dns|health)(\[[^\]]*\]|\.|:|$)/;

function checkRejected(host: ProxyWasmHost, from: number, section: string | null, context: string): void {
  const errors = errorLogs(host.logs.slice(from));
  const named = errors.filter((m) => m.startsWith("invalid configuration: "));
  assert.ok(named.length > 0, `${context}: rejected without an "invalid configuration: <path>" error; logs:\n${errors.join("\n")}`);
  assert.ok(
    errors.some((m) => /^configuration rejected \(\d+ error\(s\)\)/.test(m)),
    `${context}: no "configuration rejected" summary`,
  );
  const pathOk = (m: string) => PATH_RE.test(m) || / unknown section \(expected /.test(m);
  assert.ok(named.every(pathOk), `${context}: an error does not name a field path:\n${named.filter((m) => !pathOk(m)).join("\n")}`);
  if (section !== null && SECTIONS.includes(section)) {
    assert.ok(
      named.some((m) => m.startsWith(`invalid configuration: ${section}`) || m.startsWith("invalid configuration: configuration")),
      `${context}: mutation in ${section} but the errors name other sections:\n${named.join("\n")}`,
    );
  }
}

function applyBase(host: ProxyWasmHost): void {
  assert.equal(host.configure(BASE_JSON), true, `BASE accepted: ${errorLogs(host.logs).slice(-3).join("\n")}`);
}

function fresh(): ProxyWasmHost {
  const host = newHost();
  applyBase(host);
  return host;
}

// ---------------------------------------------------------------- properties

test("fuzz: 3,000 generated valid configurations are all accepted (and serve without trapping)", () => {
  const host = fresh();
  fc.assert(
    fc.property(validConfig, ({ config }) => {
      const json = JSON.stringify(config);
      const from = host.logs.length;
      const ok = host.configure(json);
      assert.equal(host.trapped, false, `trapped on a valid config: ${JSON.stringify(host.failure)}\n${json}`);
      assert.equal(ok, true, `valid config rejected:\n${errorLogs(host.logs.slice(from)).join("\n")}\n${json}`);
      // Each route's first uri can be requested without trapping.
      for (const r of (config.routes as Record<string, unknown>[] | undefined) ?? []) {
        const u = (r.uri as string | undefined) ?? (r.uris as string[])[0];
        const path = u.replace(/\*$/, "x");
        if (!/^\/[\x21-\x7e]*$/.test(path)) continue;
        host.request({ method: ((r.methods as string[] | undefined) ?? ["GET"])[0], path, authority: "example.com", source: "192.0.2.1:1234" });
        assert.equal(host.trapped, false, `trapped serving ${path}: ${JSON.stringify(host.failure)}\n${json}`);
      }
      if (host.logs.length > 1500) host.clearLogs();
    }),
    { seed: 0x5eed01, numRuns: 3000, endOnFailure: true },
  );
});

test("fuzz: 5,000 mutated configurations: no trap; rejected ones name the field and the previous config keeps serving", () => {
  let host = fresh();
  let accepted = 0,
    rejected = 0;
  fc.assert(
    fc.property(validConfig, fc.nat(), fc.nat(), fc.nat(), ({ config }, pick, op, choice) => {
      const m = mutate(config as Json, pick, op, choice);
      const json = JSON.stringify(m.doc);
      const from = host.logs.length;
      const ok = host.configure(json);
      const context = `${m.what}\n${json.slice(0, 2000)}`;
      assert.equal(host.trapped, false, `trapped: ${JSON.stringify(host.failure)}\n${context}`);
      if (ok) {
        accepted++;
        applyBase(host);
      } else {
        rejected++;
        checkRejected(host, from, m.section, context);
        assertBaseServes(host, context);
      }
      if (host.logs.length > 1500) host.clearLogs();
    }),
    { seed: 0x5eed02, numRuns: 5000, endOnFailure: true },
  );
  assert.ok(rejected > 2500, `most mutations should be rejected (accepted ${accepted}, rejected ${rejected})`);
  host = undefined as never;
});

test("fuzz: 2,000 garbled JSON documents: no trap; rejected with a path; the previous config keeps serving", () => {
  const host = fresh();
  const edit = fc.tuple(
    fc.nat(),
    fc.nat(),
    fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom("{", "}", "[", "]", '"', ",", ":", "\\", "\\u", "\\ud800", "1e999", "-", "\u0000", "\xff", "😀", "null"),
    ),
  );
  let rejected = 0;
  fc.assert(
    fc.property(validConfig, fc.array(edit, { minLength: 1, maxLength: 4 }), ({ config }, edits) => {
      const json = garble(JSON.stringify(config), edits);
      const from = host.logs.length;
      const ok = host.configure(json);
      assert.equal(host.trapped, false, `trapped: ${JSON.stringify(host.failure)}\n${json.slice(0, 2000)}`);
      if (ok) applyBase(host);
      else {
        rejected++;
        checkRejected(host, from, null, json.slice(0, 2000));
        assertBaseServes(host, json.slice(0, 2000));
      }
      if (host.logs.length > 1500) host.clearLogs();
    }),
    { seed: 0x5eed03, numRuns: 2000, endOnFailure: true },
  );
  assert.ok(rejected > 1000, `most garbled documents should be rejected (${rejected})`);
});
