// APISIX's verify_https_client and the $ssl_* variables, through the real
// filter.wasm in the proxy-wasm host (the real Envoy: tests/e2e/tls-server.test.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { filterHost, get, outcome, errorLogs, assertHealthy } from "./helpers.ts";

const PEM = `-----BEGIN CERTIFICATE-----\n${"A".repeat(140)}\n-----END CERTIFICATE-----\n`;
const KEY = `-----BEGIN PRIVATE KEY-----\n${"B".repeat(80)}\n-----END PRIVATE KEY-----\n`;
const NODE = { "10.0.0.1:8080": 1 };
const config = {
  routes: [
    {
      id: "vars",
      uri: "/vars",
      priority: 1,
      vars: [
        ["ssl_client_verify", "==", "SUCCESS"],
        ["ssl_client_s_dn", "~~", "CN=client-1"],
        ["ssl_server_name", "==", "m.example.com"],
        ["ssl_protocol", "==", "TLSv1.3"],
      ],
      upstream: { nodes: { "10.0.0.2:80": 1 } },
    },
    { id: "any", uri: "/*", upstream: { nodes: NODE } },
  ],
  ssls: [
    { id: "m", cert: PEM, key: KEY, snis: ["M.example.com."], client: { ca: PEM } },
    { id: "w", cert: PEM, key: KEY, sni: "*.example.org" },
    { id: "off", cert: PEM, key: KEY, sni: "off.example.net", client: { ca: PEM }, status: 0 },
  ],
};
const tls = (sni: string, peer?: string) => ({ tlsVersion: "TLSv1.3", requestedServerName: sni, mtls: peer !== undefined, peerSubject: peer ?? "" });

test("verify_https_client: a Host of an mTLS ssl needs a verified client certificate and the same SNI, else 400 with APISIX's log line", async () => {
  const host = await filterHost(config);
  const ok = get(host, "/x", { authority: "m.example.com", ...tls("m.example.com", "CN=client-1,O=tests") });
  assert.equal(outcome(ok), "route.any 10.0.0.1:8080");

  host.logs.length = 0;
  const noCert = get(host, "/x", { authority: "m.example.com", ...tls("y.example.org") });
  assert.equal(noCert.localReply?.status, 400);
  assert.match(noCert.localReply!.body, /400 Bad Request/);
  assert.deepEqual(errorLogs(host.logs), ["client certificate was not present"]);

  host.logs.length = 0;
  const otherSni = get(host, "/x", { authority: "M.example.com:9443", ...tls("other.example.com", "CN=client-1") });
  assert.equal(otherSni.localReply?.status, 400);
  assert.deepEqual(errorLogs(host.logs), ["client certificate verified with SNI other.example.com, but the host is m.example.com"]);

  // not an mTLS host, plain text, or a disabled ssl: no check
  assert.equal(outcome(get(host, "/x", { authority: "a.example.org", ...tls("a.example.org") })), "route.any 10.0.0.1:8080");
  assert.equal(outcome(get(host, "/x", { authority: "m.example.com" })), "route.any 10.0.0.1:8080");
  assert.equal(outcome(get(host, "/x", { authority: "off.example.net", ...tls("a.example.org") })), "route.any 10.0.0.1:8080");
  assertHealthy(host);
});

test("$ssl_client_verify, $ssl_client_s_dn, $ssl_server_name, $ssl_protocol in route vars; absent over plain text", async () => {
  const host = await filterHost(config);
  assert.equal(outcome(get(host, "/vars", { authority: "m.example.com", ...tls("m.example.com", "CN=client-1,O=tests") })), "route.vars 10.0.0.2:80");
  assert.equal(outcome(get(host, "/vars", { authority: "m.example.com", ...tls("m.example.com", "CN=client-2,O=tests") })), "route.any 10.0.0.1:8080");
  assert.equal(outcome(get(host, "/vars", { authority: "a.example.org", ...tls("a.example.org") })), "route.any 10.0.0.1:8080");
  assert.equal(
    outcome(get(host, "/vars", { authority: "a.example.org", mtls: true, requestedServerName: "m.example.com", peerSubject: "CN=client-1" })),
    "route.any 10.0.0.1:8080",
    "plain text: no $ssl_* at all",
  );
  assertHealthy(host);
});
