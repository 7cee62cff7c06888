// The control plane documents its options in --help, and the help matches the parser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { HELP, parseArgs } from "../../envoy/control-plane/main.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const cp = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "envoy/control-plane/main.ts", ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });

test("control plane --help: stdout, exit 0, every option", () => {
  const r = cp("--help");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), HELP.trim());
  for (const o of [
    "--config",
    "--port",
    "--host",
    "--listener-port",
    "--listener-address",
    "--wasm",
    "--dns-interval",
    "--lb-mode",
    "--access-log",
    "--verbose",
  ]) {
    assert.match(r.stdout, new RegExp(`^  ${o}\\b`, "m"), o);
  }
});

test("every option --help lists is one the parser accepts, and the parser knows no undocumented one", () => {
  const documented = [...HELP.matchAll(/^ {2}(--[a-z-]+)(?: (\S+))?/gm)].map((m) => ({ flag: m[1], takesValue: m[2] !== undefined }));
  const sample: Record<string, string> = {
    "--lb-mode": "override-host",
    "--host": "127.0.0.1",
    "--listener-address": "127.0.0.1",
    "--wasm": "/f.wasm",
    "--config": "c.yaml",
    "--data-encryption-keyring": "0123456789abcdef",
    "--router-http": "radixtree_uri_with_parameter",
  };
  for (const { flag, takesValue } of documented) {
    if (flag === "--help") continue;
    // ADS TLS options only make sense together.
    const partners = flag.startsWith("--ads-tls-") ? ["--ads-tls-cert", "c.pem", "--ads-tls-key", "k.pem"] : [];
    // the etcd source's options go with --etcd, which excludes --config
    const source = flag.startsWith("--etcd") || flag === "--data-encryption-keyring" ? ["--etcd", "http://127.0.0.1:2379"] : ["--config", "c.yaml"];
    const argv =
      flag === "--config" || flag === "--etcd"
        ? [flag, flag === "--etcd" ? "http://127.0.0.1:2379" : "c.yaml"]
        : [...source, ...partners, flag, ...(takesValue ? [sample[flag] ?? "5"] : [])];
    assert.doesNotThrow(() => parseArgs(argv), flag);
  }
  assert.ok(documented.length >= 10, `${documented.length} options documented`);
  // Flags added to the parser later must be added to HELP too.
  const source = readFileSync(new URL("../../envoy/control-plane/main.ts", import.meta.url), "utf8");
  const parsed = [...source.matchAll(/case "(--[a-z-]+)"/g)].map((m) => m[1]);
  const undocumented = parsed.filter((f) => f !== "--help" && !documented.some((d) => d.flag === f));
  assert.deepEqual(undocumented, [], "options parseArgs accepts but --help does not list");
});

test("control plane: an unknown option is a usage error (exit 2) that points at --help", () => {
  const r = cp("--config", "x.yaml", "--bogus");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown argument --bogus \(--help lists the options\)/);
});
