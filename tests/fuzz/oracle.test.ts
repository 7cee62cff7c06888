// A route oracle: a small reference matcher written here from APISIX's and
// nginx's rules (not from assembly/), which every fuzzed request must agree
// with. Requests are raw bytes (host/ carries them): encoded slashes and dots,
// dot segments, overlong and invalid UTF-8, %25, bad escapes, trailing dots and
// odd Host values. Also asserted: time and memory budgets per configure and
// per request, long prefixes, large regexes and config churn across cluster names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { ProxyWasmHost } from "../../host/index.ts";
import { FILTER_WASM, LOG, named } from "../filter/helpers.ts";

const module = new WebAssembly.Module(readFileSync(FILTER_WASM));

// ---------------------------------------------------------------- the reference

/** nginx's $uri over bytes (ngx_http_parse_complex_uri, merge_slashes on), null = 400. */
function refUri(target: Buffer): Buffer | null {
  // 1. cut at the first raw ? or #, decode escapes; decoded %, # and ? are plain data
  type Tok = { b: number; data: boolean };
  const toks: Tok[] = [];
  for (let i = 0; i < target.length; i++) {
    const c = target[i];
    if (c === 0x3f || c === 0x23) break;
    if (c !== 0x25) {
      toks.push({ b: c, data: false });
      continue;
    }
    const hex = target.subarray(i + 1, i + 3).toString("latin1");
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
    const d = parseInt(hex, 16);
    if (d === 0) return null;
    toks.push({ b: d, data: d === 0x25 || d === 0x23 || d === 0x3f });
    i += 2;
  }
  // 2. segments between (non-data) slashes
  const segs: number[][] = [[]];
  for (const t of toks) {
    if (t.b === 0x2f && !t.data) segs.push([]);
    else segs[segs.length - 1].push(t.b);
  }
  const lead = segs.shift()!; // before the first slash: "" for origin-form targets
  const out: number[][] = [];
  let trailing = false;
  for (let k = 0; k < segs.length; k++) {
    const s = Buffer.from(segs[k]).toString("latin1");
    const last = k === segs.length - 1;
    trailing = last && (s === "" || s === "." || s === "..");
    if (s === "" || s === ".") continue;
    if (s === "..") {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(segs[k]);
  }
  if (lead.length) return null; // generator only makes origin-form targets
  const parts: number[] = [];
  for (const s of out) parts.push(0x2f, ...s);
  if (trailing || parts.length === 0) parts.push(0x2f);
  return Buffer.from(parts);
}

/** nginx's $host, null = 400 (only what the generator produces needs covering). */
function refHost(authority: string): string | null {
  const m = /^([A-Za-z0-9._-]*)(?::(\d*))?$/.exec(authority);
  if (!m) return null;
  if (m[2] !== undefined && m[2] !== "" && Number(m[2]) > 65535) return null;
  let h = m[1];
  if (h.includes("..")) return null;
  if (h.endsWith(".")) h = h.slice(0, -1);
  if (h === "") return null;
  return h.toLowerCase();
}

interface R {
  id: string;
  uris: string[];
  hosts: string[];
  methods?: string[];
  priority: number;
  order: number;
}

/** APISIX radixtree_host_uri: host routes (exact, then wildcards longest first, then "*"), then host-less. */
function refRoute(routes: R[], host: string, uri: Buffer, method: string): string | null {
  const byUri = (cands: R[]): string | null => {
    const ok = (r: R) => !r.methods || r.methods.includes(method);
    const order = (a: R, b: R) => b.priority - a.priority || a.order - b.order;
    const exact = cands.filter((r) => r.uris.some((u) => !u.endsWith("*") && Buffer.from(u).equals(uri))).sort(order);
    for (const r of exact) if (ok(r)) return r.id;
    // prefixes: longest first; a route with several matching prefixes sits at each
    const lens = new Set<number>();
    for (const r of cands)
      for (const u of r.uris) if (u.endsWith("*") && uri.subarray(0, u.length - 1).equals(Buffer.from(u.slice(0, -1)))) lens.add(u.length - 1);
    for (const len of [...lens].sort((a, b) => b - a)) {
      const at = cands
        .filter((r) => r.uris.some((u) => u.endsWith("*") && u.length - 1 === len && uri.subarray(0, len).equals(Buffer.from(u.slice(0, -1)))))
        .sort(order);
      for (const r of at) if (ok(r)) return r.id;
    }
    return null;
  };
  if (host) {
    const exact = routes.filter((r) => r.hosts.includes(host));
    const hit = exact.length ? byUri(exact) : null;
    if (hit) return hit;
    for (let dot = host.indexOf("."); dot >= 0; dot = host.indexOf(".", dot + 1)) {
      const w = routes.filter((r) => r.hosts.includes(`*${host.slice(dot)}`));
      const h = w.length ? byUri(w) : null;
      if (h) return h;
    }
  }
  const star = routes.filter((r) => r.hosts.includes("*"));
  const s = star.length ? byUri(star) : null;
  if (s) return s;
  return byUri(routes.filter((r) => r.hosts.length === 0));
}

// ---------------------------------------------------------------- generators

const SEGS = ["a", "b", "api", "internal", "x", "A", ".", "..", "", "~u", "a.b", "..a"];
const URI_SEGS = ["a", "b", "api", "internal", "x", "A", "~u", "a.b", "..a"];
const configUri = fc
  .tuple(fc.array(fc.constantFrom(...URI_SEGS), { minLength: 0, maxLength: 3 }), fc.constantFrom("", "*", "/*"))
  .map(([segs, tail]) => `/${segs.join("/")}${tail}`.replace(/\/\/\*$/, "/*"));
const hostName = fc.constantFrom("a.example.com", "b.example.com", "*.example.com", "*.com", "*", "example.org");
const METHODS = ["GET", "POST", "PUT", "DELETE"];
const route = fc.record({
  uris: fc.uniqueArray(configUri, { minLength: 1, maxLength: 3 }),
  hosts: fc.oneof({ weight: 2, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.uniqueArray(hostName, { minLength: 1, maxLength: 2 }) }),
  methods: fc.option(fc.uniqueArray(fc.constantFrom(...METHODS), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  priority: fc.integer({ min: -2, max: 2 }),
});
const routesArb = fc.array(route, { minLength: 1, maxLength: 12 }).map((rs) => rs.map((r, i): R => ({ ...r, id: `r${i}`, order: i })));

/** One path piece as bytes: text, an escape, or bytes that are not UTF-8. */
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...SEGS).map((s) => Buffer.from(s)) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(
        "/",
        "//",
        "%2F",
        "%2f",
        "%2E",
        "%2e%2E",
        "%25",
        "%252F",
        "%41",
        "%C0%AF",
        "%E0%80%AF",
        "%F0",
        "%F0%9F%98%80",
        "%C3%A9",
        "%zz",
        "%",
        "%0",
        "%00",
        "?q=../x",
        "#f",
        "+",
        ";",
      )
      .map((s) => Buffer.from(s)),
  },
  { weight: 1, arbitrary: fc.constantFrom([0xf0], [0xc0, 0xaf], [0xe2, 0x82], [0xc3, 0xa9], [0xff]).map((b) => Buffer.from(b)) },
);
const target = fc.array(piece, { maxLength: 10 }).map((ps) => Buffer.concat([Buffer.from("/"), ...ps]));
const authority = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "a.example.com",
      "A.EXAMPLE.COM",
      "a.example.com.",
      "b.example.com.:8080",
      "c.example.com",
      "x.y.example.com",
      "example.org",
      "example.org.",
      "other.net",
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom("a..example.com", ".", "a.example.com:99999", "a.example.com..", "a_b.example.com", "-x.example.com") },
);

// ---------------------------------------------------------------- the properties

/** fc.assert, but the failure names the assertion first (the counterexamples are long). */
function check<T>(prop: fc.IProperty<T>, opts: fc.Parameters<T>): void {
  const out = fc.check(prop, opts);
  if (!out.failed) return;
  const err = out.errorInstance as Error | undefined;
  throw new Error(`${err?.message ?? "property failed"}\nseed ${out.seed}, path ${out.counterexamplePath}`);
}

function cfgOf(routes: R[]): unknown {
  return {
    routes: routes.map((r) => ({
      id: r.id,
      uris: r.uris,
      ...(r.hosts.length ? { hosts: r.hosts } : {}),
      ...(r.methods ? { methods: r.methods } : {}),
      priority: r.priority,
      upstream: { nodes: { "10.0.0.1:80": 1 } },
    })),
  };
}

test("oracle: 3,000 fuzzed requests (raw bytes) over 150 fuzzed route sets pick the route APISIX would, or nginx's 400, or 404", () => {
  const host = new ProxyWasmHost(module, { rootId: "apisix-upstream", logLevel: LOG.warn, maxLogs: 1000 });
  const seen = new Map<string, number>();
  let slowest = 0;
  check(
    fc.property(routesArb, fc.array(fc.tuple(target, authority, fc.constantFrom(...METHODS)), { minLength: 20, maxLength: 20 }), (routes, reqs) => {
      const t0 = performance.now();
      assert.equal(host.configure(JSON.stringify(named(cfgOf(routes)))), true, host.logs.map((l) => l.message).join("\n"));
      const tc = performance.now() - t0;
      assert.ok(tc < 1000, `configure took ${tc.toFixed(0)} ms`);
      for (const [path, auth, method] of reqs) {
        const t1 = performance.now();
        const r = host.request({ method, pathBytes: path, authority: auth, source: "10.1.1.1:1000" });
        slowest = Math.max(slowest, performance.now() - t1);
        assert.equal(host.trapped, false);
        const uri = refUri(path);
        const h = refHost(auth);
        const want = uri === null || h === null ? "400" : (refRoute(routes, h, uri, method) ?? "404");
        const got = r.localReply ? String(r.localReply.status) : r.header("x-apisix-upstream")!.replace(/^route\./, "");
        const ctx = `${JSON.stringify(path.toString("latin1"))} host ${auth} ${method} → $uri ${uri === null ? "400" : JSON.stringify(uri.toString("latin1"))}\nroutes ${JSON.stringify(routes)}`;
        assert.equal(got, want, ctx);
        const kind = want === "400" || want === "404" ? want : "route";
        seen.set(kind, (seen.get(kind) ?? 0) + 1);
      }
      host.clearLogs();
    }),
    { seed: 0x0dac1e, numRuns: 150, endOnFailure: true },
  );
  for (const k of ["400", "404", "route"]) assert.ok((seen.get(k) ?? 0) > 100, `outcome ${k}: ${JSON.stringify([...seen])}`);
  // a request is well under a millisecond; 1 s leaves room for GC pauses on a loaded CI machine
  assert.ok(slowest < 1000, `slowest request ${slowest.toFixed(0)} ms`);
  assert.ok(host.memoryBytes() <= 64 * 1024 * 1024, `memory ${host.memoryBytes()}`);
});

test("budgets: long prefixes, large regexes and churn across cluster names keep configure and requests bounded", () => {
  const host = new ProxyWasmHost(module, { rootId: "apisix-upstream", logLevel: LOG.warn, maxLogs: 1000 });
  const prefix = fc.tuple(fc.constantFrom("a", "b", "-"), fc.integer({ min: 1000, max: 4090 })).map(([c, n]) => `/${c.repeat(n)}`);
  const bigRegex = fc.constantFrom("a{0,200}b", "x.{1000}y", "(?:a|b|c|d){0,300}e", "[a-z]{1,1000}", "(?:.{0,40}){20}Q", "^(?:ab){500}$");
  check(
    fc.property(
      fc.array(prefix, { minLength: 1, maxLength: 4 }),
      bigRegex,
      fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom("a", "b", "c") }),
      fc.integer({ min: 1000, max: 60000 }),
      (prefixes, re, name, n) => {
        const cfg = {
          routes: [
            ...prefixes.map((p, i) => ({
              id: `${name}-p${i}`,
              uri: `${p}*`,
              upstream: { type: "chash", key: "uri", nodes: { "10.0.0.1:80": 1, "10.0.0.2:80": 2 } },
            })),
            { id: `${name}-re`, uri: "/re", vars: [["http_x_a", "~~", re]], upstream: { type: "roundrobin", nodes: { "10.0.0.3:80": 1, "10.0.0.4:80": 1 } } },
          ],
        };
        let t = performance.now();
        assert.equal(host.configure(JSON.stringify(named(cfg))), true, host.logs.map((l) => l.message).join("\n"));
        assert.ok(performance.now() - t < 1000, "configure under 1 s");
        for (const p of prefixes) {
          const r = host.request({ path: `${p}/x`, authority: "h" });
          assert.equal(r.localReply, undefined);
        }
        t = performance.now();
        const r = host.request({ path: "/re", authority: "h", headers: { "x-a": "a".repeat(n) } });
        const ms = performance.now() - t;
        assert.ok(ms < 1500, `${re} over ${n} bytes took ${ms.toFixed(0)} ms`);
        assert.equal(host.trapped, false);
        assert.ok(r.localReply === undefined || r.localReply.status === 404);
        host.clearLogs();
      },
    ),
    { seed: 0xb0d9e7, numRuns: 60, endOnFailure: true },
  );
  // 60 KB headers, 4,096-character tries and 60 renamed configs: a few MiB, not growth per config
  assert.ok(host.memoryBytes() <= 32 * 1024 * 1024, `memory ${host.memoryBytes()}`);
});
