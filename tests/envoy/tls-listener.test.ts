// The HTTPS listener and its SDS secrets from APISIX server ssls (pure
// translation, strict proto check). Behaviour in the real Envoy:
// tests/e2e/tls-server.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeSnapshot } from "../../envoy/control-plane/server.ts";
import { NO_CERTIFICATE, sniMatch } from "../../envoy/control-plane/tls-listener.ts";
import { translate, type Json } from "../../envoy/control-plane/translate.ts";
import { issue, type Pem } from "../e2e/tls-certs.ts";

const ca = issue({ cn: "unit CA" });
const a = issue({ cn: "a.example.com", ca });
const a2 = issue({ cn: "a.example.com", ca, subjectExtra: "/O=rotated" });
const wild = issue({ cn: "*.example.org", ca });
const clientCa = issue({ cn: "unit client CA" });

const ssl = (id: string, pem: Pem, snis: string[], extra: Json = {}) => ({ id, cert: pem.cert, key: pem.key, snis, ...extra });
const tlsOf = (s: ReturnType<typeof translate>): any => s.resources.listeners.find((l) => l.name === "apisix_https");
const matchers = (l: any): { value: any; chain: string }[] =>
  l.filter_chain_matcher.matcher_list.matchers.map((m: any) => ({
    value: m.predicate.single_predicate.value_match,
    chain: m.on_match.action.typed_config.value,
  }));

test("server ssls → HTTPS listener on 9443: one chain per ssl with the shared HCM, ALPN h2/http1.1, certificates only as SDS secrets; Envoy's protos accept it", () => {
  const s = translate({
    routes: [{ id: "r", uri: "/*", upstream: { nodes: { "127.0.0.1:1": 1 } } }],
    ssls: [
      ssl("a", a, ["A.example.com."]),
      ssl("w", wild, ["*.example.org"]),
      ssl("m", a2, ["m.example.com"], { client: { ca: clientCa.cert, depth: 2 }, ssl_protocols: ["TLSv1.3"] }),
      { id: "c", type: "client", cert: a.cert, key: a.key },
    ],
  });
  assert.deepEqual(s.issues, []);
  encodeSnapshot(s); // throws on anything Envoy's protos would not take
  const l = tlsOf(s);
  assert.deepEqual(l.address, { socket_address: { address: "0.0.0.0", port_value: 9443 } });
  assert.deepEqual(
    l.listener_filters.map((f: Json) => f.name),
    ["envoy.filters.listener.tls_inspector"],
  );
  assert.deepEqual(
    l.filter_chains.map((c: Json) => c.name),
    ["ssl.a", "ssl.w", "ssl.m"],
  );
  const plainHcm = s.resources.listeners[0].filter_chains as Json[];
  for (const c of l.filter_chains) {
    assert.deepEqual(c.filters, (plainHcm[0] as Json).filters, "same HCM (RDS, wasm filter, router) as the plain listener");
    assert.deepEqual(c.transport_socket.typed_config.common_tls_context.alpn_protocols, ["h2", "http/1.1"]);
  }
  assert.doesNotMatch(JSON.stringify(s.resources.listeners), /PRIVATE KEY/);
  assert.deepEqual(
    s.resources.secrets.map((x) => x.name),
    ["ssl.a.cert", "ssl.w.cert", "ssl.m.cert", "ssl.m.client-ca"],
  );
  assert.equal((s.resources.secrets[0].tls_certificate as Json).private_key !== undefined, true);
  const m = l.filter_chains[2].transport_socket.typed_config;
  assert.equal(m.require_client_certificate, true);
  assert.deepEqual(m.common_tls_context.tls_params, { tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_3" });
  assert.equal(m.common_tls_context.validation_context_sds_secret_config.name, "ssl.m.client-ca");
  assert.deepEqual(s.resources.secrets[3].validation_context, { trusted_ca: { inline_string: clientCa.cert }, max_verify_depth: 2 });
  assert.equal(l.filter_chains[0].transport_socket.typed_config.require_client_certificate, undefined);
  // exact (normalised: lower case, no trailing dot) → one-label wildcards → any other SNI: no certificate
  assert.deepEqual(
    matchers(l).map((x) => x.chain),
    ["ssl.a", "ssl.m", "ssl.w", NO_CERTIFICATE],
  );
  assert.deepEqual(matchers(l)[0].value, { exact: "a.example.com", ignore_case: true });
  assert.equal(l.filter_chain_matcher.on_no_match, undefined, "no SNI and no fallback_sni: handshake fails");
});

test("the wildcard regex covers exactly one label, like radixtree_sni", () => {
  const l = tlsOf(translate({ ssls: [ssl("w", wild, ["*.example.org"])] }));
  const re = matchers(l)[0].value.safe_regex.regex as string;
  const js = new RegExp(re.replace("(?i)", ""), "i");
  assert.equal(js.test("a.example.org"), true);
  assert.equal(js.test("A.Example.Org"), true);
  for (const n of ["a.b.example.org", "example.org", ".example.org", "a.example.org.evil", "aexample.org"]) assert.equal(js.test(n), false, n);
  assert.equal(sniMatch("a.example.org", ["*.example.org"]), "*.example.org");
  assert.equal(sniMatch("a.b.example.org", ["*.example.org"]), undefined);
  assert.equal(sniMatch("X.example.org.", ["x.example.org", "*.example.org"]), "x.example.org");
  assert.equal(sniMatch("anything", ["*"]), "*");
});

test("fallback_sni: connections without SNI get the chain that name selects; an unmatched fallback is a warning", () => {
  const ssls = [ssl("a", a, ["a.example.com"]), ssl("w", wild, ["*.example.org"])];
  const l = tlsOf(translate({ ssls }, { fallbackSni: "fb.example.org" }));
  assert.equal(l.filter_chain_matcher.on_no_match.action.typed_config.value, "ssl.w");
  const s = translate({ ssls }, { fallbackSni: "nope.test" });
  assert.equal(tlsOf(s).filter_chain_matcher.on_no_match, undefined);
  assert.deepEqual(
    s.issues.map((i) => [i.severity, i.path]),
    [["warning", "fallback_sni"]],
  );
});

test("`*` serves every SNI; the first ssl of an SNI wins (warning); status 0 and client ssls are not served", () => {
  const s = translate({
    ssls: [ssl("a", a, ["a.example.com"]), ssl("dup", a2, ["a.example.com"]), ssl("all", wild, ["*"]), ssl("off", a2, ["off.example.com"], { status: 0 })],
  });
  const l = tlsOf(s);
  assert.deepEqual(
    matchers(l).map((x) => x.chain),
    ["ssl.a", "ssl.all"],
  );
  assert.deepEqual(
    l.filter_chains.map((c: Json) => c.name),
    ["ssl.a", "ssl.dup", "ssl.all"],
  );
  assert.deepEqual(
    s.issues.map((i) => `${i.severity} ${i.path} ${i.message}`),
    ["warning ssls[dup].snis SNI a.example.com is already served by ssl a; that one is used"],
  );
  // no usable server ssl: no HTTPS listener, no secrets; and the listener can be switched off
  const none = translate({ ssls: [{ id: "c", type: "client", cert: a.cert, key: a.key }, ssl("off", a, ["a.example.com"], { status: 0 })] });
  assert.equal(tlsOf(none), undefined);
  assert.deepEqual(none.resources.secrets, []);
  const off = translate({ ssls: [ssl("a", a, ["a.example.com"])] }, { tlsListenerPort: null });
  assert.equal(tlsOf(off), undefined);
  assert.deepEqual(off.resources.secrets, []);
});

test("each invalid ssl object is rejected alone with an error naming it and the field; the good one still serves", () => {
  const rsa1024 = issue({ cn: "small.example.com", ca, keyType: "rsa1024" });
  const ed = issue({ cn: "ed.example.com", ca, keyType: "ed25519" });
  const garbage = `-----BEGIN CERTIFICATE-----\n${"A".repeat(200)}\n-----END CERTIFICATE-----\n`;
  const s = translate({
    ssls: [
      ssl("good", a, ["a.example.com"]),
      ssl("mismatch", a, ["m.example.com"], { key: wild.key }),
      ssl("garbage", a, ["g.example.com"], { cert: garbage }),
      ssl("nokey", a, ["n.example.com"], { key: "not a key at all, encrypted by a keyring maybe: 0123456789abcdef0123456789abcdef" }),
      ssl("small", rsa1024, ["s.example.com"]),
      ssl("ed", ed, ["e.example.com"]),
      ssl("badsni", a, ["a.*.example.com"]),
      { id: "both", cert: a.cert, key: a.key, sni: "x.example.com", snis: ["y.example.com"] },
      ssl("pairs", a, ["p.example.com"], { certs: [wild.cert], keys: [] }),
      ssl("pairbad", a, ["q.example.com"], { certs: [wild.cert], keys: [a.key] }),
      ssl("noca", a, ["c.example.com"], { client: { depth: 1 } }),
      ssl("depth", a, ["d.example.com"], { client: { ca: clientCa.cert, depth: -1 } }),
      ssl("proto", a, ["t.example.com"], { ssl_protocols: ["SSLv3"] }),
    ],
  });
  assert.deepEqual(
    tlsOf(s).filter_chains.map((c: Json) => c.name),
    ["ssl.good"],
  );
  assert.deepEqual(
    s.resources.secrets.map((x) => x.name),
    ["ssl.good.cert"],
  );
  assert.ok(
    s.issues.every((i) => i.severity === "error"),
    JSON.stringify(s.issues),
  );
  assert.deepEqual(
    s.issues.map((i) => i.path),
    [
      "ssls[mismatch].key",
      "ssls[garbage].cert",
      "ssls[nokey].key",
      "ssls[small].key",
      "ssls[ed].key",
      "ssls[badsni].snis[0]",
      "ssls[both]",
      "ssls[pairs].certs",
      "ssls[pairbad].keys[0]",
      "ssls[noca].client.ca",
      "ssls[depth].client.depth",
      "ssls[proto].ssl_protocols",
    ],
  );
  const msg = (p: string) => s.issues.find((i) => i.path === p)!.message;
  assert.match(msg("ssls[mismatch].key"), /does not match the certificate/);
  assert.match(msg("ssls[nokey].key"), /encrypted with apisix\.data_encryption/);
  assert.match(msg("ssls[small].key"), /1024 bits: Envoy needs at least 2048/);
  assert.match(msg("ssls[ed].key"), /ed25519/);
  encodeSnapshot(s);
});

test("rotating a certificate changes only the secret, not the listener (Envoy keeps its connections)", () => {
  const s1 = translate({ ssls: [ssl("a", a, ["a.example.com"])] });
  const s2 = translate({ ssls: [ssl("a", a2, ["a.example.com"])] });
  assert.equal(s2.versions.listeners, s1.versions.listeners);
  assert.notEqual(s2.versions.secrets, s1.versions.secrets);
});

test("private keys never reach the wasm filter's configuration (ECDS is shown verbatim by /config_dump)", () => {
  const s = translate({
    ssls: [ssl("a", a, ["a.example.com"], { certs: [wild.cert], keys: [wild.key] }), { id: "c", type: "client", cert: a.cert, key: a.key }],
  });
  const ecds = JSON.stringify(s.resources.extensionConfigs);
  assert.doesNotMatch(ecds, new RegExp(a.key.split("\n")[1].slice(0, 40).replace(/[+/]/g, "\\$&")));
  assert.doesNotMatch(ecds, new RegExp(wild.key.split("\n")[1].slice(0, 40).replace(/[+/]/g, "\\$&")));
  assert.match(ecds, /redacted/);
  assert.match(ecds, new RegExp(a.cert.split("\n")[1].slice(0, 40).replace(/[+/]/g, "\\$&")), "certificates stay (public)");
});
