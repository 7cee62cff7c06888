// main.ts's --etcd options, shaped like APISIX's deployment.etcd.
import assert from "node:assert/strict";
import { test } from "node:test";
import { etcdSourceFromArgs } from "../../envoy/control-plane/etcd.ts";
import { parseArgs } from "../../envoy/control-plane/main.ts";

const quiet = { info() {}, warn() {}, error() {} };

test("--etcd and its options; --config and --etcd exclude each other", () => {
  const a = parseArgs([
    "--etcd",
    "http://10.0.0.1:2379, https://etcd-2:2379",
    "--etcd-prefix",
    "/gw",
    "--etcd-user",
    "root",
    "--etcd-password",
    "pw",
    "--etcd-cacert",
    "/ca.pem",
    "--etcd-cert",
    "/c.pem",
    "--etcd-key",
    "/k.pem",
    "--etcd-sni",
    "etcd.internal",
    "--etcd-timeout",
    "5",
    "--data-encryption-keyring",
    "0123456789abcdef,0123456789abcdef0123456789abcdef",
  ]);
  assert.equal(a.config, "");
  assert.deepEqual(a.etcd, {
    endpoints: ["http://10.0.0.1:2379", "https://etcd-2:2379"],
    prefix: "/gw",
    user: "root",
    password: "pw",
    cacert: "/ca.pem",
    cert: "/c.pem",
    key: "/k.pem",
    sni: "etcd.internal",
    timeoutSecs: 5,
    keyring: ["0123456789abcdef", "0123456789abcdef0123456789abcdef"],
  });
  assert.equal(parseArgs(["--config", "c.yaml"]).etcd, undefined, "file configs are unchanged");
  assert.equal(parseArgs(["--etcd", "127.0.0.1:2379"]).etcd?.prefix, "/apisix", "APISIX's default prefix");
  assert.throws(() => parseArgs(["--config", "c.yaml", "--etcd", "http://127.0.0.1:2379"]), /--config and --etcd exclude each other/);
  assert.throws(() => parseArgs(["--etcd-prefix", "/x"]), /--etcd is required with --etcd-\* options/);
  assert.throws(() => parseArgs([]), /--config is required, or --etcd/);
  assert.throws(() => parseArgs(["--etcd", "http://h:2379", "--etcd-timeout", "0"]), /--etcd-timeout: not a positive number: 0/);
  assert.throws(
    () => parseArgs(["--etcd", "http://h:2379", "--data-encryption-keyring", "short"]),
    /an entry is 5 bytes; APISIX accepts 16 \(AES-128\) or 32 \(AES-256\)/,
  );
  assert.throws(() => parseArgs(["--etcd", "http://h:2379", "--etcd-bogus", "1"]), /unknown argument --etcd-bogus/);
});

test("the source from the options: password from ETCD_PASSWORD, bad shapes refused before any connection", () => {
  const base = parseArgs(["--etcd", "http://127.0.0.1:2379", "--etcd-user", "root"]).etcd!;
  const src = etcdSourceFromArgs(base, quiet, { ETCD_PASSWORD: "from-env" });
  assert.equal(src.description, "etcd http://127.0.0.1:2379/apisix");
  assert.throws(() => etcdSourceFromArgs(base, quiet, {}), /--etcd-user and --etcd-password go together/);
  assert.throws(() => etcdSourceFromArgs(parseArgs(["--etcd", "http://h:2379", "--etcd-prefix", "apisix"]).etcd!, quiet), /--etcd-prefix must start with "\/"/);
  assert.throws(
    () => etcdSourceFromArgs(parseArgs(["--etcd", "http://h:2379", "--etcd-cert", "/c.pem"]).etcd!, quiet),
    /--etcd-cert and --etcd-key go together/,
  );
  src.client.close();
});
