// A real etcd for tests: Debian's etcd-server binary (ETCD_BIN overrides),
// on free loopback ports with a temporary data directory, stopped (and the
// directory removed) by stop(). restart() keeps ports and data, as an etcd
// coming back after a crash or an upgrade does.
//
//   const etcd = await EtcdServer.start();                 // http://127.0.0.1:<port>
//   const etcd = await EtcdServer.start({ tls: true });     // https, client certs required
//   await etcd.enableAuth("root", "secret");
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, until } from "../e2e/stack.ts";

export function etcdBinary(): string {
  return process.env.ETCD_BIN ?? "etcd";
}

/** The reason to skip etcd tests on a developer machine without etcd; CI (CI=true) never skips them. */
export function etcdMissing(): string | false {
  if (etcdAvailable() || process.env.CI) return false;
  return "etcd-server is not installed (apt-get install etcd-server etcd-client)";
}

export function etcdAvailable(): boolean {
  try {
    execFileSync(etcdBinary(), ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate (openssl CLI). */
export function makeTls(dir: string): TlsFiles {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=etcd-test-ca", "-keyout", f("ca.key"), "-out", f("ca.pem"));
  fs.writeFileSync(f("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
  fs.writeFileSync(f("client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const who of ["server", "client"]) {
    ssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${who === "server" ? "localhost" : "control-plane"}`,
      "-keyout",
      f(`${who}.key`),
      "-out",
      f(`${who}.csr`),
    );
    ssl(
      "x509",
      "-req",
      "-in",
      f(`${who}.csr`),
      "-CA",
      f("ca.pem"),
      "-CAkey",
      f("ca.key"),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      f(`${who}.ext`),
      "-out",
      f(`${who}.pem`),
    );
  }
  return { ca: f("ca.pem"), serverCert: f("server.pem"), serverKey: f("server.key"), clientCert: f("client.pem"), clientKey: f("client.key") };
}

export class EtcdServer {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "etcd-test-"));
  readonly dataDir = path.join(this.dir, "data");
  clientPort = 0;
  peerPort = 0;
  tls?: TlsFiles;
  out = "";
  private child?: ChildProcess;
  private exited?: Promise<void>;

  private constructor() {}

  static async start(opts: { tls?: boolean } = {}): Promise<EtcdServer> {
    const s = new EtcdServer();
    [s.clientPort, s.peerPort] = await Promise.all([freePort(), freePort()]);
    if (opts.tls) s.tls = makeTls(s.dir);
    await s.boot();
    return s;
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.clientPort}`;
  }

  private async boot(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      "--name",
      "test",
      "--data-dir",
      this.dataDir,
      "--listen-client-urls",
      this.url,
      "--advertise-client-urls",
      this.url,
      "--listen-peer-urls",
      peer,
      "--initial-advertise-peer-urls",
      peer,
      "--initial-cluster",
      `test=${peer}`,
      "--logger",
      "zap",
      "--log-level",
      "warn",
    ];
    if (this.tls) args.push("--cert-file", this.tls.serverCert, "--key-file", this.tls.serverKey, "--trusted-ca-file", this.tls.ca, "--client-cert-auth");
    const child = spawn(etcdBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    child.stdout!.on("data", (c: Buffer) => (this.out += c));
    child.stderr!.on("data", (c: Buffer) => (this.out += c));
    this.exited = new Promise((r) => child.once("exit", () => r()));
    let gone = false;
    void this.exited.then(() => (gone = true));
    await until(
      "etcd ready",
      () => {
        if (gone) throw new Error(`etcd exited:\n${this.out.slice(-2000)}`);
        return this.ctl(["endpoint", "health"], { quiet: true }) !== undefined || undefined;
      },
      20_000,
      100,
    );
  }

  /** etcdctl against this server; returns stdout, or undefined when quiet and it failed. */
  ctl(args: string[], o: { quiet?: boolean; user?: string } = {}): string | undefined {
    const conn = ["--endpoints", this.url, "--dial-timeout", "2s", "--command-timeout", "5s"];
    if (this.tls) conn.push("--cacert", this.tls.ca, "--cert", this.tls.clientCert, "--key", this.tls.clientKey);
    if (o.user) conn.push("--user", o.user);
    try {
      return execFileSync("etcdctl", [...conn, ...args], { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" }, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      if (o.quiet) return undefined;
      throw new Error(`etcdctl ${args.join(" ")}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
    }
  }

  /** A root user with this password, and authentication on (as APISIX deployments with deployment.etcd.user). */
  enableAuth(user: string, password: string): void {
    this.ctl(["user", "add", `${user}:${password}`]);
    if (user !== "root") this.ctl(["user", "grant-role", user, "root"]);
    if (user !== "root") this.ctl(["user", "add", "root:root-only"]);
    this.ctl(["auth", "enable"]);
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops the process (SIGKILL: no graceful goodbye to watchers); data stays. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.child!.kill("SIGKILL");
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.boot();
  }

  async stop(): Promise<void> {
    if (this.alive) {
      this.child!.kill("SIGTERM");
      const t = setTimeout(() => this.child?.kill("SIGKILL"), 3000);
      await this.exited;
      clearTimeout(t);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A loopback TCP proxy in front of etcd: cut() drops every connection and
 * refuses new ones (etcd unreachable from the control plane while it keeps
 * taking writes), heal() lets connections through again.
 */
export class CutProxy {
  port = 0;
  private open = true;
  private readonly sockets = new Set<net.Socket>();
  private server!: net.Server;

  static async start(targetPort: number): Promise<CutProxy> {
    const p = new CutProxy();
    p.server = net.createServer((client) => {
      if (!p.open) return client.destroy();
      const up = net.connect(targetPort, "127.0.0.1");
      p.sockets.add(client).add(up);
      const drop = () => {
        client.destroy();
        up.destroy();
        p.sockets.delete(client);
        p.sockets.delete(up);
      };
      client.on("error", drop).on("close", drop);
      up.on("error", drop).on("close", drop);
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((r) => p.server.listen(0, "127.0.0.1", () => r()));
    p.port = (p.server.address() as net.AddressInfo).port;
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.open = true;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}
