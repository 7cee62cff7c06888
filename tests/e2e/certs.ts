// Certificates made when a test runs (openssl, EC P-256: fast), so no key
// material lives in the repository. One CA signs a server certificate (with
// the given DNS names and IPs as SANs) and a client certificate; a second,
// unrelated CA signs a "stranger" client certificate that a server trusting
// only the first CA must refuse.
//
//   const pki = makePki({ dns: ["mtls.example"], ips: ["127.0.0.1"] });
//   https.createServer({ ...pki.server, ca: pki.ca.cert, requestCert: true }, ...)
//   // APISIX: ssls: [{ id: "c", type: "client", cert: pki.client.cert, key: pki.client.key }]
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface KeyPair {
  cert: string;
  key: string;
}
export interface Pki {
  ca: KeyPair;
  server: KeyPair;
  /** Signed by `ca`, CN "apisix-client", extendedKeyUsage clientAuth. */
  client: KeyPair;
  /** Signed by another CA, CN "stranger": what a server trusting `ca` refuses. */
  stranger: KeyPair;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function newKey(dir: string, name: string): void {
  // PKCS#8 PEM ("BEGIN PRIVATE KEY"): what Envoy, Node and APISIX all read.
  openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`]);
}

function selfSignedCa(dir: string, name: string, cn: string): void {
  newKey(dir, name);
  openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${cn}`,
    "-days",
    "2",
    "-sha256",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    `${name}.pem`,
  ]);
}

function signed(dir: string, name: string, cn: string, ca: string, ext: string[]): void {
  newKey(dir, name);
  openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), `${ext.join("\n")}\n`);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-sha256",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
}

export function makePki(opts: { dns?: string[]; ips?: string[] } = {}): Pki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apisix-pki-"));
  try {
    selfSignedCa(dir, "ca", "apisix-e2e-ca");
    const san = [...(opts.dns ?? ["localhost"]).map((d) => `DNS:${d}`), ...(opts.ips ?? ["127.0.0.1"]).map((ip) => `IP:${ip}`)];
    signed(dir, "server", (opts.dns ?? ["localhost"])[0] ?? "server", "ca", [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${san.join(",")}`,
    ]);
    const clientExt = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth"];
    signed(dir, "client", "apisix-client", "ca", clientExt);
    selfSignedCa(dir, "other-ca", "other-ca");
    signed(dir, "stranger", "stranger", "other-ca", clientExt);
    const pair = (n: string): KeyPair => ({
      cert: fs.readFileSync(path.join(dir, `${n}.pem`), "utf8"),
      key: fs.readFileSync(path.join(dir, `${n}.key`), "utf8"),
    });
    return { ca: pair("ca"), server: pair("server"), client: pair("client"), stranger: pair("stranger") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
