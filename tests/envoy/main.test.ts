// CLI flag parsing of the control plane (no network).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs } from "../../envoy/control-plane/main.ts";

test("main: defaults, --lb-mode, errors", () => {
  const d = parseArgs(["--config", "/c.yaml"]);
  assert.deepEqual(d, { config: "/c.yaml", port: 18000, host: "0.0.0.0", listenerPort: 9080, dnsInterval: 30, lbMode: "original-dst", accessLog: false, verbose: false });
  assert.equal(parseArgs(["--config", "c", "--lb-mode", "override-host"]).lbMode, "override-host");
  assert.equal(parseArgs(["--lb-mode", "original-dst", "--config", "c"]).lbMode, "original-dst");
  assert.throws(() => parseArgs(["--config", "c", "--lb-mode", "eds"]), /--lb-mode: eds is not one of original-dst, override-host/);
  assert.throws(() => parseArgs(["--config", "c", "--lb-mode"]), /--lb-mode needs a value/);
  assert.throws(() => parseArgs(["--lb-mode", "override-host"]), /--config is required/);
  assert.throws(() => parseArgs(["--config", "c", "--bogus"]), /unknown argument --bogus/);
});
