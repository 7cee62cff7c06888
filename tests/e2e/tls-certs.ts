// Certificates made when a test runs, with the openssl CLI (node:crypto can
// parse certificates but not issue them). Short validity, throwaway keys.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Pem {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** Subject CN (also the first DNS SAN unless sans is given). */
  cn: string;
  sans?: string[];
  /** rsa = RSA 2048, ec = ECDSA P-256 (default); the others are for rejection tests. */
  keyType?: "rsa" | "ec" | "rsa1024" | "ed25519";
  /** Signer; self-signed CA when absent. */
  ca?: Pem;
  /** Extra subject fields, e.g. "/O=tests". */
  subjectExtra?: string;
  usage?: "server" | "client" | "ca";
}

let serial = 1;

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
}

/** Issues one certificate (and its new key). */
export function issue(o: IssueOptions): Pem {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-certs-"));
  try {
    const keyArgs =
      o.keyType === "rsa"
        ? ["-newkey", "rsa:2048"]
        : o.keyType === "rsa1024"
          ? ["-newkey", "rsa:1024"]
          : o.keyType === "ed25519"
            ? ["-newkey", "ed25519"]
            : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    const subj = `/CN=${o.cn}${o.subjectExtra ?? ""}`;
    const usage = o.usage ?? (o.ca ? "server" : "ca");
    const ext =
      usage === "ca"
        ? "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        : `basicConstraints=CA:FALSE\nextendedKeyUsage=${usage === "server" ? "serverAuth" : "clientAuth"}\n` +
          (usage === "server" ? `subjectAltName=${(o.sans ?? [o.cn]).map((s) => `DNS:${s}`).join(",")}\n` : "");
    fs.writeFileSync(path.join(dir, "ext.cnf"), ext);
    if (!o.ca) {
      openssl(dir, [
        "req",
        "-x509",
        ...keyArgs,
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-subj",
        subj,
        "-days",
        "2",
        "-set_serial",
        String(serial++),
        "-extensions",
        "v3",
        "-config",
        writeReqConfig(dir, ext),
      ]);
    } else {
      fs.writeFileSync(path.join(dir, "ca.pem"), o.ca.cert);
      fs.writeFileSync(path.join(dir, "ca.key"), o.ca.key);
      openssl(dir, ["req", "-new", ...keyArgs, "-nodes", "-keyout", "k.pem", "-out", "r.csr", "-subj", subj]);
      openssl(dir, [
        "x509",
        "-req",
        "-in",
        "r.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        String(serial++),
        "-days",
        "2",
        "-out",
        "c.pem",
        "-extfile",
        "ext.cnf",
      ]);
    }
    return { cert: fs.readFileSync(path.join(dir, "c.pem"), "utf8"), key: fs.readFileSync(path.join(dir, "k.pem"), "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function writeReqConfig(dir: string, ext: string): string {
  const f = path.join(dir, "req.cnf");
  fs.writeFileSync(f, `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${ext}`);
  return f;
}

/** The set the TLS tests use: one CA for servers, one for clients. */
export function testPki() {
  const ca = issue({ cn: "apisix-wasm test CA", keyType: "ec" });
  const clientCa = issue({ cn: "apisix-wasm client CA", keyType: "ec" });
  return {
    ca,
    clientCa,
    /** a.example.com, RSA (the ECDSA pair below is its extra certs/keys pair). */
    a: issue({ cn: "a.example.com", keyType: "rsa", ca, subjectExtra: "/O=rsa" }),
    aEcdsa: issue({ cn: "a.example.com", keyType: "ec", ca, subjectExtra: "/O=ecdsa" }),
    wildOrg: issue({ cn: "*.example.org", keyType: "ec", ca }),
    exactOrg: issue({ cn: "x.example.org", keyType: "ec", ca }),
    /** x.example.org after a rotation. */
    exactOrg2: issue({ cn: "x.example.org", keyType: "ec", ca, subjectExtra: "/O=rotated" }),
    mtls: issue({ cn: "m.example.com", keyType: "ec", ca }),
    fallback: issue({ cn: "fallback.example.net", keyType: "ec", ca }),
    client: issue({ cn: "client-1", keyType: "ec", ca: clientCa, usage: "client", subjectExtra: "/O=tests" }),
    /** Signed by the server CA, which the mTLS ssl does not trust. */
    strangerClient: issue({ cn: "stranger", keyType: "ec", ca, usage: "client" }),
  };
}
