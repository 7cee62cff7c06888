// The real thing on loopback: the project's control plane (a child process,
// started as users start it) and the real Envoy from `npm run envoy:install`,
// booted from a bootstrap derived from envoy/envoy.yaml (only the xDS
// address, the admin address and nothing else differ).
//
//   const stack = await Stack.start({ config: yamlText });
//   const r = await stack.get("/api/x", { host: "a.example.com" });
//   await stack.stop();
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const WASM = path.join(ROOT, "build/filter.wasm");

let cachedBinary: string | undefined;
/** ENVOY_BIN, else the binary `npm run envoy:install` put into .envoy/. */
export function envoyBinary(): string {
  if (cachedBinary) return cachedBinary;
  if (process.env.ENVOY_BIN) return (cachedBinary = process.env.ENVOY_BIN);
  const out = execFileSync(process.execPath, [path.join(ROOT, "scripts/envoy-install.mjs")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return (cachedBinary = out.split("\n")[0].trim());
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** envoy/envoy.yaml with the xDS cluster and admin on loopback ports. */
export function bootstrapFor(opts: { adsPort: number; adminPort: number }): string {
  const b: any = parse(fs.readFileSync(path.join(ROOT, "envoy/envoy.yaml"), "utf8"));
  b.admin.address.socket_address = { address: "127.0.0.1", port_value: opts.adminPort };
  const xds = b.static_resources.clusters.find((c: { name: string }) => c.name === "xds_cluster");
  xds.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = { address: "127.0.0.1", port_value: opts.adsPort };
  return stringify(b);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(everyMs);
  }
}

/** A child process with its combined output kept in memory (and its exit). */
export class Proc {
  out = "";
  exited?: number | null;
  readonly exit: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (c: Buffer) => (this.out += c.toString("utf8")));
    child.stderr?.on("data", (c: Buffer) => (this.out += c.toString("utf8")));
    this.exit = new Promise((resolve) => child.once("exit", (code, sig) => resolve((this.exited = code ?? (sig ? -1 : null)))));
  }
  static spawn(name: string, cmd: string, args: string[], env: Record<string, string> = {}): Proc {
    return new Proc(name, spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] }));
  }
  /** Resolves with the first match of re in the output from `from` on. */
  waitFor(re: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    return until(
      `${this.name}: ${re}`,
      () => {
        if (this.exited !== undefined) throw new Error(`${this.name} exited with ${this.exited}:\n${this.out.slice(-3000)}`);
        return this.out.slice(from).match(re) ?? undefined;
      },
      timeoutMs,
    );
  }
  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await this.exit;
    clearTimeout(t);
  }
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The demo http-echo's JSON, when the body is one. */
  json?: any;
}

/** A response read to its end (HTTP or HTTPS), JSON bodies parsed. */
export function readReply(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (c) => (body += c));
    res.on("error", reject);
    res.on("end", () => {
      let json: unknown;
      if (/json/.test(String(res.headers["content-type"] ?? ""))) {
        try {
          json = JSON.parse(body);
        } catch {
          /* not JSON after all */
        }
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
    });
  });
}

export function request(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string | string[]> | [string, string][]; body?: string; timeoutMs?: number },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // Raw [name, value] pairs keep their case and repetition; Node adds no
    // Host header to them, so one is supplied unless given.
    const pairs = Array.isArray(opts.headers) ? opts.headers : undefined;
    const headers: http.OutgoingHttpHeaders | string[] | undefined = pairs
      ? [...(pairs.some(([k]) => k.toLowerCase() === "host") ? [] : [["host", `127.0.0.1:${port}`]]), ...pairs].flat()
      : (opts.headers as http.OutgoingHttpHeaders | undefined);
    const req = http.request(
      { host: "127.0.0.1", port, method: opts.method ?? "GET", path: opts.path, headers, agent: false, timeout: opts.timeoutMs ?? 10_000 },
      (res) => readReply(res).then(resolve, reject),
    );
    req.on("timeout", () => req.destroy(new Error(`request ${opts.path} timed out`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

// ---------------------------------------------------------------------------
// Upstreams for the e2e suites

/** The two cluster modes of the control plane; every core suite runs in both. */
export const LB_MODES = ["override-host", "original-dst"] as const;
export type LbMode = (typeof LB_MODES)[number];

/**
 * An HTTP/1.1 upstream that answers like examples/upstreams/http-echo.ts
 * (JSON naming itself, with the request line and headers it saw) and can be
 * told, while a test runs, to answer another status or to answer late.
 * `/healthz` answers `healthStatus`, so active and passive health checks can
 * be steered apart.
 */
export interface TestUpstream {
  readonly name: string;
  readonly port: number;
  /** "127.0.0.1:port", as it appears in node lists and Envoy's host stats. */
  readonly addr: string;
  status: number;
  healthStatus: number;
  delayMs: number;
  /** Requests answered (not counting /healthz). */
  hits: number;
  /** Request headers of every answered request, oldest first. */
  readonly seen: http.IncomingHttpHeaders[];
  /** Holds every answer (not /healthz) until the returned function is called. */
  hold(): () => void;
  close(): Promise<void>;
}

export function startUpstream(name: string, opts: { status?: number; delayMs?: number } = {}): Promise<TestUpstream> {
  const server = http.createServer((req, res) => {
    const health = req.url === "/healthz";
    if (!health) {
      u.hits++;
      u.seen.push(req.headers);
    }
    const status = health ? u.healthStatus : u.status;
    const body = JSON.stringify({ server: name, method: req.method, url: req.url, host: req.headers.host ?? null, headers: req.headers });
    const answer = () => {
      if (!res.destroyed) res.writeHead(status, { "content-type": "application/json", "x-upstream-name": name }).end(`${body}\n`);
    };
    req.resume();
    req.on("end", () => {
      if (health) return answer();
      void gate.then(() => (u.delayMs > 0 ? setTimeout(answer, u.delayMs) : answer()));
    });
  });
  let gate = Promise.resolve();
  const u: TestUpstream = {
    name,
    port: 0,
    addr: "",
    status: opts.status ?? 200,
    healthStatus: 200,
    delayMs: opts.delayMs ?? 0,
    hits: 0,
    seen: [],
    hold: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = Promise.resolve();
        release();
      };
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      Object.assign(u, { port, addr: `127.0.0.1:${port}` });
      resolve(u);
    });
  });
}

/** Several named upstreams, keyed by name. */
export async function startUpstreams(names: string[]): Promise<Record<string, TestUpstream>> {
  const list = await Promise.all(names.map((n) => startUpstream(n)));
  return Object.fromEntries(list.map((u) => [u.name, u]));
}

const handedOut = new Set<number>();
/** A loopback port nothing listens on (connections are refused); never the same twice. */
export async function closedPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (!handedOut.has(p)) {
      handedOut.add(p);
      return p;
    }
  }
}

/** A counter of one endpoint of one cluster from Envoy's /clusters (0 when absent). */
export async function hostStat(stack: Stack, cluster: string, addr: string, stat: string): Promise<number> {
  const r = await stack.admin("/clusters");
  const line = r.body.split("\n").find((l) => l === `${cluster}::${addr}::${stat}` || l.startsWith(`${cluster}::${addr}::${stat}::`));
  return line ? Number(line.split("::").pop()) : 0;
}

/** The `server` names of n sequential GETs (the status instead, for any answer but a 200). */
export async function sequence(stack: Stack, n: number, p: string, headers: Record<string, string> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await stack.get(p, headers);
    out.push(r.status === 200 && r.json?.server ? r.json.server : String(r.status));
  }
  return out;
}

const BOOT_TIMEOUT_MS = 90_000;

export interface StackOptions {
  /** APISIX standalone YAML (the `#END` trailer is added when missing); omit it when controlPlaneArgs name another source (--etcd). */
  config?: string;
  /** The control plane's --lb-mode; its own default when absent. */
  lbMode?: LbMode;
  /** Extra control-plane arguments. */
  controlPlaneArgs?: string[];
  /** Envoy worker threads (1 keeps balancer sequences in one VM). */
  concurrency?: number;
}

/** Control plane + Envoy on free loopback ports, with a temporary config file. */
export class Stack {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "apisix-e2e-"));
  readonly configPath = path.join(this.dir, "apisix.yaml");
  cp!: Proc;
  envoy!: Proc;
  adsPort = 0;
  adminPort = 0;
  port = 0;
  /** The HTTPS listener's port (present when the config has a usable server ssl). */
  tlsPort = 0;

  private constructor(readonly opts: StackOptions) {}

  static async start(opts: StackOptions): Promise<Stack> {
    const s = new Stack(opts);
    try {
      await s.boot();
    } catch (e) {
      await s.stop();
      throw e;
    }
    return s;
  }

  private async boot(): Promise<void> {
    [this.adsPort, this.adminPort, this.port, this.tlsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    if (this.opts.config !== undefined) this.writeConfig(this.opts.config);
    this.cp = Proc.spawn("control-plane", process.execPath, [
      "--import",
      "tsx",
      "envoy/control-plane/main.ts",
      ...(this.opts.config !== undefined ? ["--config", this.configPath] : []),
      "--host",
      "127.0.0.1",
      "--port",
      String(this.adsPort),
      "--listener-address",
      "127.0.0.1",
      "--listener-port",
      String(this.port),
      "--tls-listener-port",
      String(this.tlsPort),
      "--wasm",
      WASM,
      ...(this.opts.lbMode ? ["--lb-mode", this.opts.lbMode] : []),
      "--access-log",
      ...(this.opts.controlPlaneArgs ?? []),
    ]);
    // Generous: a boot takes ~5 s alone but far longer on a shared, loaded machine.
    await this.cp.waitFor(/ads: listening on/, BOOT_TIMEOUT_MS);
    const bootstrap = path.join(this.dir, "envoy.yaml");
    fs.writeFileSync(bootstrap, bootstrapFor({ adsPort: this.adsPort, adminPort: this.adminPort }));
    this.envoy = Proc.spawn("envoy", envoyBinary(), [
      "-c",
      bootstrap,
      "--disable-hot-restart",
      "--concurrency",
      String(this.opts.concurrency ?? 1),
      "-l",
      "info",
      "--component-log-level",
      "wasm:debug",
    ]);
    await until(
      "envoy listener",
      async () => {
        if (this.envoy.exited !== undefined) throw new Error(`envoy exited with ${this.envoy.exited}:\n${this.envoy.out.slice(-3000)}`);
        const r = await request(this.adminPort, { path: "/ready" });
        if (r.status !== 200) return undefined;
        const l = await request(this.adminPort, { path: "/listeners?format=json" });
        return l.body.includes("apisix_http") || undefined;
      },
      BOOT_TIMEOUT_MS,
    );
    await this.envoy.waitFor(/configuration accepted/, BOOT_TIMEOUT_MS);
  }

  writeConfig(yamlText: string): void {
    const text = /#END\s*$/.test(yamlText) ? yamlText : `${yamlText.replace(/\s*$/, "\n")}#END\n`;
    // write-then-rename: the control plane never sees a half-written file
    const tmp = `${this.configPath}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, this.configPath);
  }

  /** Writes a new config and waits until every Envoy wasm VM accepted it. */
  async update(yamlText: string): Promise<void> {
    const from = this.envoy.out.length;
    const cpFrom = this.cp.out.length;
    this.writeConfig(yamlText);
    await this.cp.waitFor(/xds: snapshot \S+/, 15_000, cpFrom);
    await this.envoy.waitFor(/configuration accepted/, 15_000, from);
    // the main thread applies first, then each worker; give workers a moment
    await until(
      "all wasm VMs updated",
      () => {
        const n = (this.envoy.out.slice(from).match(/configuration accepted/g) ?? []).length;
        return n >= (this.opts.concurrency ?? 1) + 1 || undefined;
      },
      15_000,
    );
  }

  request(opts: Parameters<typeof request>[1]): Promise<Reply> {
    return request(this.port, opts);
  }

  get(p: string, headers: Record<string, string | string[]> = {}): Promise<Reply> {
    return request(this.port, { path: p, headers });
  }

  admin(p: string): Promise<Reply> {
    return request(this.adminPort, { path: p });
  }

  async stop(): Promise<void> {
    await Promise.all([this.envoy?.stop(), this.cp?.stop()]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One Stack per cluster mode with the same options, booted side by side (a
 * boot is mostly waiting: the control plane's startup, Envoy's wasm compile).
 */
export async function startStacks(opts: Omit<StackOptions, "lbMode">): Promise<Record<LbMode, Stack>> {
  const started = await Promise.allSettled(LB_MODES.map((lbMode) => Stack.start({ ...opts, lbMode })));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) {
    await Promise.all(started.map((s) => (s.status === "fulfilled" ? s.value.stop() : undefined)));
    throw failed.reason;
  }
  return Object.fromEntries(LB_MODES.map((m, i) => [m, (started[i] as PromiseFulfilledResult<Stack>).value])) as Record<LbMode, Stack>;
}
