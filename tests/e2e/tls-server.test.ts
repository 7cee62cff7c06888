// APISIX's server ssls terminate TLS in the real Envoy: certificate per SNI
// (radixtree_sni's rules), HTTP/1.1 and HTTP/2 over TLS, mTLS, rotation
// without dropping connections, a bad ssl object isolated, fallback_sni.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import https from "node:https";
import tls from "node:tls";
import { stringify } from "yaml";
import { startHttpEcho } from "../../examples/upstreams/http-echo.ts";
import { readReply, type Reply, Stack, until } from "./stack.ts";
import { testPki, type Pem } from "./tls-certs.ts";

const pki = testPki();
let echo: Awaited<ReturnType<typeof startHttpEcho>>;
let echoVars: Awaited<ReturnType<typeof startHttpEcho>>;
let stack: Stack;

const ssl = (id: string, pem: Pem, snis: string[], extra: Record<string, unknown> = {}) => ({ id, cert: pem.cert, key: pem.key, snis, ...extra });

function config(ssls: Record<string, unknown>[]): string {
  return stringify({
    routes: [
      { id: "a", uri: "/*", hosts: ["a.example.com"], upstream: { nodes: { [`127.0.0.1:${echo.port}`]: 1 } } },
      { id: "m", uri: "/*", hosts: ["m.example.com"], upstream: { nodes: { [`127.0.0.1:${echo.port}`]: 1 } } },
      {
        id: "vars",
        uri: "/vars",
        hosts: ["m.example.com"],
        priority: 1,
        // nginx's $ssl_client_s_dn is RFC 2253 (last RDN first), as Envoy's subject
        vars: [
          ["ssl_client_verify", "==", "SUCCESS"],
          ["ssl_client_s_dn", "==", "O=tests,CN=client-1"],
          ["ssl_server_name", "==", "m.example.com"],
          ["ssl_protocol", "==", "TLSv1.3"],
        ],
        upstream: { nodes: { [`127.0.0.1:${echoVars.port}`]: 1 } },
      },
      { id: "any", uri: "/*", upstream: { nodes: { [`127.0.0.1:${echo.port}`]: 1 } } },
    ],
    ssls,
  });
}

const baseSsls = () => [
  ssl("a", pki.a, ["a.example.com"], { certs: [pki.aEcdsa.cert], keys: [pki.aEcdsa.key] }),
  ssl("wild", pki.wildOrg, ["*.example.org"]),
  ssl("exact", pki.exactOrg, ["x.example.org"]),
  ssl("m", pki.mtls, ["m.example.com"], { client: { ca: pki.clientCa.cert, depth: 1 } }),
  ssl("off", pki.fallback, ["off.example.net"], { status: 0 }),
];

interface Hello {
  ok: boolean;
  subject?: string;
  alpn?: string | false | null;
  error?: string;
  socket?: tls.TLSSocket;
}

/** One TLS handshake against the HTTPS listener; what certificate came back. */
function hello(servername: string | undefined, opts: tls.ConnectionOptions = {}, keep = false): Promise<Hello> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: "127.0.0.1",
      port: stack.tlsPort,
      servername,
      ca: pki.ca.cert,
      rejectUnauthorized: false,
      ALPNProtocols: ["h2", "http/1.1"],
      ...opts,
    });
    s.once("secureConnect", () => {
      const c = s.getPeerCertificate();
      const r: Hello = { ok: true, subject: `CN=${c.subject?.CN}${c.subject?.O ? `,O=${c.subject.O}` : ""}`, alpn: s.alpnProtocol };
      // TLS 1.3: a client certificate refusal arrives after the client's Finished
      s.once("error", (e) => resolve({ ok: false, error: e.message }));
      s.once("close", () => resolve({ ok: false, error: "closed" }));
      if (keep) resolve({ ...r, socket: s });
      else
        setTimeout(() => {
          s.destroy();
          resolve(r);
        }, 0);
    });
    s.once("error", (e) => resolve({ ok: false, error: e.message }));
    s.once("close", () => resolve({ ok: false, error: "closed before handshake" }));
  });
}

function get(
  servername: string,
  path: string,
  headers: Record<string, string> = {},
  opts: https.RequestOptions = {},
): Promise<Reply & { socketPort?: number }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port: stack.tlsPort, servername, path, headers: { host: servername, ...headers }, ca: pki.ca.cert, agent: false, ...opts },
      (res) => readReply(res).then((r) => resolve({ ...r, socketPort: res.socket?.localPort }), reject),
    );
    req.on("error", reject);
    req.end();
  });
}

async function listenerStat(name: string): Promise<number> {
  const r = await stack.admin(`/stats?filter=^listener_manager\\.${name}$`);
  const m = /: (\d+)/.exec(r.body);
  assert.ok(m, r.body);
  return Number(m[1]);
}

before(async () => {
  echo = await startHttpEcho({ name: "echo-tls", port: 0, host: "127.0.0.1" });
  echoVars = await startHttpEcho({ name: "echo-vars", port: 0, host: "127.0.0.1" });
  stack = await Stack.start({ config: config(baseSsls()) });
  await httpsReady();
});

/** Stack.start waits for the plain listener; the HTTPS one may still be warming (its SDS secrets). */
const httpsReady = () => until("the HTTPS listener", async () => ((await hello("x.example.org")).ok ? true : undefined));

after(async () => {
  await stack?.stop();
  await echo?.close();
  await echoVars?.close();
});

test("the certificate is chosen by SNI as radixtree_sni does: exact before *.wildcard, one label, case-insensitive; status 0 is not served", async () => {
  assert.equal((await hello("x.example.org")).subject, "CN=x.example.org");
  assert.equal((await hello("X.Example.ORG")).subject, "CN=x.example.org");
  assert.equal((await hello("y.example.org")).subject, "CN=*.example.org");
  assert.equal((await hello("a.example.com")).subject?.startsWith("CN=a.example.com"), true);
  // *.example.org covers one label only, and not example.org itself
  for (const sni of ["a.b.example.org", "example.org", "unknown.test", "off.example.net"]) {
    const h = await hello(sni);
    assert.equal(h.ok, false, `${sni} must fail the handshake, got ${h.subject}`);
  }
  // no SNI and no fallback_sni: no certificate, as in APISIX
  assert.equal((await hello(undefined)).ok, false);
});

test("certs/keys: an RSA and an ECDSA certificate for one SNI, each offered to the clients that want it; ALPN h2 and http/1.1", async () => {
  const rsa = await hello("a.example.com", { sigalgs: "rsa_pss_rsae_sha256:rsa_pkcs1_sha256", ALPNProtocols: ["http/1.1"] });
  assert.equal(rsa.subject, "CN=a.example.com,O=rsa");
  assert.equal(rsa.alpn, "http/1.1");
  const ec = await hello("a.example.com", { sigalgs: "ecdsa_secp256r1_sha256", ALPNProtocols: ["h2"] });
  assert.equal(ec.subject, "CN=a.example.com,O=ecdsa");
  assert.equal(ec.alpn, "h2");
});

test("HTTPS and HTTP/2 over TLS reach the upstream; routes match the Host, not the SNI", async () => {
  const r = await get("a.example.com", "/one");
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.server, "echo-tls");
  assert.equal(r.json.headers["x-forwarded-proto"], "https");

  const client = http2.connect(`https://127.0.0.1:${stack.tlsPort}`, { servername: "y.example.org", ca: pki.ca.cert, checkServerIdentity: () => undefined });
  try {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = client.request({ ":path": "/two", ":authority": "a.example.com" });
      let body = "",
        status = 0;
      req.on("response", (h) => (status = Number(h[":status"])));
      req.setEncoding("utf8");
      req.on("data", (c) => (body += c));
      req.on("end", () => resolve({ status, body }));
      req.on("error", reject);
    });
    assert.equal(res.status, 200, res.body);
    const j = JSON.parse(res.body);
    assert.equal(j.url, "/two");
    assert.equal(j.host, "a.example.com", "routed by the Host (:authority), with the SNI of another certificate");
  } finally {
    client.close();
  }
});

test("mTLS: client.ca SNI refuses a client without a certificate or with one from another CA, accepts one signed by client.ca", async () => {
  const none = await get("m.example.com", "/").catch((e: Error) => ({ status: 0, error: e.message }));
  assert.equal(none.status, 0, "no client certificate: no response");
  const stranger = await get("m.example.com", "/", {}, { cert: pki.strangerClient.cert, key: pki.strangerClient.key }).catch((e: Error) => ({
    status: 0,
    error: e.message,
  }));
  assert.equal(stranger.status, 0, "client certificate from an untrusted CA: no response");
  const ok = await get("m.example.com", "/", {}, { cert: pki.client.cert, key: pki.client.key });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.json.server, "echo-tls");
});

test("the verified client certificate reaches routing as $ssl_client_verify / $ssl_client_s_dn / $ssl_server_name / $ssl_protocol", async () => {
  const cert = { cert: pki.client.cert, key: pki.client.key };
  const r = await get("m.example.com", "/vars", {}, cert);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.server, "echo-vars");
  // the same path without a verified certificate (another SNI, Host of a non-mTLS ssl) misses the vars route
  const plain = await get("a.example.com", "/vars", { host: "m.example.org" }, { servername: "a.example.com" });
  assert.equal(plain.json?.server, "echo-tls", plain.body);
});

test("verify_https_client: the Host of an mTLS ssl reached through another SNI is APISIX's 400", async () => {
  const from = stack.envoy.out.length;
  const r = await get("y.example.org", "/", { host: "m.example.com" }, { servername: "y.example.org", checkServerIdentity: () => undefined });
  assert.equal(r.status, 400, r.body);
  await stack.envoy.waitFor(/client certificate was not present/, 5000, from);
  // a verified client on the mTLS SNI may still send the Host of a non-mTLS ssl (APISIX checks the Host's ssl only)
  const other = await get("m.example.com", "/", { host: "a.example.com" }, { cert: pki.client.cert, key: pki.client.key });
  assert.equal(other.status, 200, other.body);
});

test("rotating a certificate reaches new handshakes without dropping an established connection; so does adding another ssl", async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const opts = { agent, servername: "x.example.org" };
    const first = await get("a.example.com", "/before", {}, opts);
    assert.equal(first.status, 200);
    const cpFrom = stack.cp.out.length;
    const modified = await listenerStat("listener_modified");
    const inPlace = await listenerStat("listener_in_place_updated");
    const ssls = baseSsls();
    ssls[2] = ssl("exact", pki.exactOrg2, ["x.example.org"]);
    await stack.update(config(ssls));
    await until("the rotated certificate", async () => ((await hello("x.example.org")).subject === "CN=x.example.org,O=rotated" ? true : undefined));
    const again = await get("a.example.com", "/after", {}, opts);
    assert.equal(again.status, 200);
    assert.equal(again.socketPort, first.socketPort, "the keep-alive connection made before the rotation still serves");
    assert.doesNotMatch(stack.cp.out.slice(cpFrom), /NACK/);
    assert.equal(await listenerStat("listener_modified"), modified, "only the SDS secret changed, not the listener");

    // A new ssl changes the listener (one more chain, a new matcher), but
    // Envoy drains only changed chains: this connection is not among them.
    ssls.push(ssl("new", pki.fallback, ["fallback.example.net"]));
    await stack.update(config(ssls));
    await until("the new ssl's certificate", async () => ((await hello("fallback.example.net")).subject === "CN=fallback.example.net" ? true : undefined));
    assert.equal(await listenerStat("listener_modified"), modified + 1);
    assert.equal(await listenerStat("listener_in_place_updated"), inPlace + 1, "a filter-chain-only update");
    assert.equal(await listenerStat("total_filter_chains_draining"), 0, "no chain drains: only one was added");
    const third = await get("a.example.com", "/after-new-ssl", {}, opts);
    assert.equal(third.status, 200);
    assert.equal(third.socketPort, first.socketPort, "a listener update that leaves this chain alone keeps its connections");
  } finally {
    agent.destroy();
    await stack.update(config(baseSsls()));
  }
});

test("a bad certificate or key in one ssl object is rejected alone, with its name; the others keep serving and Envoy NACKs nothing", async () => {
  const cpFrom = stack.cp.out.length;
  const garbage = `-----BEGIN CERTIFICATE-----\n${"A".repeat(200)}\n-----END CERTIFICATE-----\n`;
  await stack.update(
    config([
      ...baseSsls(),
      ssl("mismatch", { cert: pki.exactOrg.cert, key: pki.wildOrg.key }, ["mismatch.example.net"]),
      ssl("garbage", { cert: garbage, key: pki.wildOrg.key }, ["garbage.example.net"]),
    ]),
  );
  const log = stack.cp.out.slice(cpFrom);
  assert.match(log, /config: ssls\[mismatch\]\.key: does not match the certificate/);
  assert.match(log, /config: ssls\[garbage\]\.cert: certificate 1 of the PEM does not parse/);
  assert.equal((await hello("mismatch.example.net")).ok, false);
  assert.equal((await hello("garbage.example.net")).ok, false);
  assert.equal((await hello("x.example.org")).subject, "CN=x.example.org");
  const r = await get("a.example.com", "/still");
  assert.equal(r.status, 200);
  assert.doesNotMatch(stack.cp.out.slice(cpFrom), /NACK/);
});

test("no SNI: the --fallback-sni certificate (APISIX's apisix.ssl.fallback_sni); an unknown SNI still fails", async () => {
  const s2 = await Stack.start({
    config: stringify({
      routes: [{ id: "any", uri: "/*", upstream: { nodes: { [`127.0.0.1:${echo.port}`]: 1 } } }],
      ssls: [ssl("fb", pki.fallback, ["fallback.example.net"]), ssl("wild", pki.wildOrg, ["*.example.org"])],
    }),
    controlPlaneArgs: ["--fallback-sni", "fallback.example.net"],
  });
  const prev = stack;
  stack = s2;
  try {
    await httpsReady(); // x.example.org: the wildcard here
    assert.equal((await hello(undefined)).subject, "CN=fallback.example.net");
    assert.equal((await hello("y.example.org")).subject, "CN=*.example.org");
    assert.equal((await hello("unknown.test")).ok, false);
    const r = await get("", "/no-sni", { host: "whatever.test" }, { checkServerIdentity: () => undefined }).catch((e: Error) => ({
      status: -1,
      body: e.message,
    }));
    assert.equal(r.status, 200, r.body);
  } finally {
    stack = prev;
    await s2.stop();
  }
});
