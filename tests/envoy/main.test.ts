// CLI flag parsing of the control plane (no network).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs } from "../../envoy/control-plane/main.ts";

test("main: defaults, --lb-mode, errors", () => {
  const d = parseArgs(["--config", "/c.yaml"]);
  assert.deepEqual(d, {
    config: "/c.yaml",
    port: 18000,
    host: "127.0.0.1",
    listenerPort: 9080,
    tlsListenerPort: 9443,
    maxConfigBytes: 16 * 1024 * 1024,
    dnsInterval: 30,
    lbMode: "override-host",
    accessLog: false,
    verbose: false,
  });
  assert.equal(parseArgs(["--config", "c", "--lb-mode", "override-host"]).lbMode, "override-host");
  assert.equal(parseArgs(["--config", "c", "--tls-listener-port", "8443"]).tlsListenerPort, 8443);
  assert.equal(parseArgs(["--config", "c", "--tls-listener-port", "off"]).tlsListenerPort, null);
  assert.equal(parseArgs(["--config", "c", "--fallback-sni", "a.example.com"]).fallbackSni, "a.example.com");
  assert.equal(parseArgs(["--lb-mode", "original-dst", "--config", "c"]).lbMode, "original-dst");
  assert.throws(() => parseArgs(["--config", "c", "--lb-mode", "eds"]), /--lb-mode: eds is not one of original-dst, override-host/);
  assert.throws(() => parseArgs(["--config", "c", "--lb-mode"]), /--lb-mode needs a value/);
  assert.throws(() => parseArgs(["--lb-mode", "override-host"]), /--config is required/);
  assert.throws(() => parseArgs(["--config", "c", "--bogus"]), /unknown argument --bogus/);
  const tls = parseArgs(["--config", "c", "--ads-tls-cert", "c.pem", "--ads-tls-key", "k.pem", "--ads-tls-ca", "ca.pem"]);
  assert.deepEqual([tls.adsTlsCert, tls.adsTlsKey, tls.adsTlsCa], ["c.pem", "k.pem", "ca.pem"]);
  assert.throws(() => parseArgs(["--config", "c", "--ads-tls-cert", "c.pem"]), /--ads-tls-cert and --ads-tls-key go together/);
  assert.throws(() => parseArgs(["--config", "c", "--ads-tls-ca", "ca.pem"]), /--ads-tls-ca needs --ads-tls-cert and --ads-tls-key/);
});
