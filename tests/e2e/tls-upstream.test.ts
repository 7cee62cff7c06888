// https/grpcs upstreams with APISIX's client certificates, through the real
// Envoy: the upstream demands a certificate signed by its CA (made when the
// test runs). The client certificate comes from an `ssls` object of type
// client (tls.client_cert_id) or inline (tls.client_cert/client_key); a
// missing or non-client ssl is the filter's 502; SNI follows the Host the
// filter set (auto_sni), as APISIX's proxy_ssl_name $upstream_host does.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { startHttpsEcho } from "../../examples/upstreams/https-echo.ts";
import { startGrpcEcho } from "../../examples/upstreams/grpc-echo.ts";
import { makePki } from "./certs.ts";
import { echoClient, repeat, unary } from "./clients.ts";
import { LB_MODES, type Stack, startStacks, type LbMode } from "./stack.ts";

let stacks: Record<LbMode, Stack>;
let mtls: Awaited<ReturnType<typeof startHttpsEcho>>;
let grpcs: Awaited<ReturnType<typeof startGrpcEcho>>;

before(async () => {
  const pki = makePki({ dns: ["mtls.example"], ips: ["127.0.0.1"] });
  const serverTls = { ...pki.server, ca: pki.ca.cert };
  [mtls, grpcs] = await Promise.all([
    startHttpsEcho({ name: "mtls-1", port: 0, host: "127.0.0.1", tls: serverTls }),
    startGrpcEcho({ name: "grpcs-1", port: 0, host: "127.0.0.1", tls: serverTls }),
  ]);
  const https = (extra: object) => ({ scheme: "https", nodes: { [`127.0.0.1:${mtls.port}`]: 1 }, ...extra });
  const config = {
    routes: [
      { id: "pass", uri: "/pass/*", upstream_id: "mtls" },
      { id: "rewrite", uri: "/rewrite/*", upstream: https({ tls: { client_cert_id: "client" }, pass_host: "rewrite", upstream_host: "mtls.example" }) },
      { id: "node", uri: "/node/*", upstream: https({ tls: { client_cert_id: "client" }, pass_host: "node" }) },
      { id: "inline", uri: "/inline/*", upstream: https({ tls: { client_cert: pki.client.cert, client_key: pki.client.key } }) },
      { id: "missing", uri: "/missing/*", upstream: https({ tls: { client_cert_id: "nope" } }) },
      { id: "server-type", uri: "/server-type/*", upstream: https({ tls: { client_cert_id: "srv" } }) },
      { id: "nocert", uri: "/nocert/*", upstream: https({}) },
      { id: "stranger", uri: "/stranger/*", upstream: https({ tls: { client_cert_id: "stranger" } }) },
      { id: "grpcs", uri: "/echo.Echo/*", upstream: { scheme: "grpcs", nodes: { [`127.0.0.1:${grpcs.port}`]: 1 }, tls: { client_cert_id: "client" } } },
    ],
    upstreams: [{ id: "mtls", ...https({ tls: { client_cert_id: "client" } }) }],
    ssls: [
      { id: "client", type: "client", cert: pki.client.cert, key: pki.client.key },
      { id: "stranger", type: "client", cert: pki.stranger.cert, key: pki.stranger.key },
      { id: "srv", type: "server", cert: pki.server.cert, key: pki.server.key, snis: ["mtls.example"] },
    ],
  };
  stacks = await startStacks({ config: stringify(config) });
});

after(async () => {
  await Promise.all(Object.values(stacks ?? {}).map((s) => s.stop()));
  await Promise.all([mtls?.close(), grpcs?.close()]);
});

// Every test runs against both cluster modes (one stack each, booted side by side).
for (const mode of LB_MODES)
  describe(mode, () => {
    let stack: Stack;
    before(() => {
      stack = stacks[mode];
    });

    test("https + tls.client_cert_id: the mTLS upstream verified APISIX's client certificate; SNI is the Host without its port", async () => {
      for (const [host, sni] of [
        ["a.example.com", "a.example.com"],
        ["b.example.com:9080", "b.example.com"],
      ]) {
        const r = await stack.get("/pass/x", { host });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.json.server, "mtls-1");
        assert.equal(r.json.host, host);
        assert.equal(r.json.tls.client_cert, "apisix-client");
        assert.equal(r.json.tls.sni, sni, `Host ${host}`);
      }
    });

    test("SNI follows the :authority the filter rewrote (pass_host rewrite); an IP Host sends no SNI (pass_host node)", async () => {
      const rw = await stack.get("/rewrite/x", { host: "a.example.com" });
      assert.equal(rw.status, 200, rw.body);
      assert.equal(rw.json.host, "mtls.example");
      assert.equal(rw.json.tls.sni, "mtls.example");
      const node = await stack.get("/node/x", { host: "a.example.com" });
      assert.equal(node.status, 200, node.body);
      assert.equal(node.json.host, `127.0.0.1:${mtls.port}`);
      assert.equal(node.json.tls.sni, null);
      assert.equal(node.json.tls.client_cert, "apisix-client");
    });

    test("an inline tls.client_cert/client_key is presented too", async () => {
      const r = await stack.get("/inline/x", { host: "c.example.com" });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.tls.client_cert, "apisix-client");
    });

    test("upstream TLS may negotiate TLS 1.3 (Envoy's client default stops at 1.2; nginx offers 1.3)", async () => {
      const r = await stack.get("/pass/v", { host: "a.example.com" });
      assert.equal(r.json.tls.protocol, "TLSv1.3");
    });

    test("client_cert_id of a missing ssl or of a server ssl: the filter's 502 with APISIX's log line", async () => {
      for (const [p, log] of [
        ["/missing/x", /failed to get ssl cert: ssl id \[nope\] not exits/],
        ["/server-type/x", /failed to get ssl cert: ssl type should be 'client'/],
      ] as const) {
        const r = await stack.get(p, { host: "a.example.com" });
        assert.equal(r.status, 502, p);
        assert.match(r.body, /<title>502 Bad Gateway<\/title>/);
        await stack.envoy.waitFor(log, 5000);
      }
    });

    test("no client certificate, or one the upstream's CA did not sign: the handshake is refused and nothing reaches the upstream", async () => {
      const before = mtls.handshakeErrors.length;
      for (const p of ["/nocert/x", "/stranger/x"]) {
        const r = await stack.get(p, { host: "a.example.com" });
        // an upstream connection failure: nginx's 502 (the listener's local_reply_config)
        assert.equal(r.status, 502, `${p}: ${r.body}`);
        assert.match(r.body, /<title>502 Bad Gateway<\/title>/);
      }
      assert.ok(mtls.handshakeErrors.length >= before + 2, mtls.handshakeErrors.join("\n"));
    });

    test("grpcs + tls.client_cert_id: unary and server streaming over TLS (ALPN h2) to the mTLS gRPC upstream", async () => {
      const client = echoClient(`127.0.0.1:${stack.port}`);
      try {
        const r = await unary(client, "secure");
        assert.deepEqual(r, { message: "secure", server: "grpcs-1", authority: `127.0.0.1:${stack.port}`, client_cert: "apisix-client" });
        const s = await repeat(client, "s", 3);
        assert.deepEqual(
          s.map((x) => `${x.message}/${x.client_cert}`),
          ["s 1/apisix-client", "s 2/apisix-client", "s 3/apisix-client"],
        );
      } finally {
        client.close();
      }
    });
  });
