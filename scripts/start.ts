// npm start — the demo stack on this machine, without Docker: the demo
// upstreams (in this process), the control plane on examples/local.yaml and
// the real Envoy from `npm run envoy:install` (child processes), all on
// loopback. Prints the URLs and commands to try; Ctrl-C (SIGINT) or SIGTERM
// stops every process it started.
//
//   npm start                          # Envoy :9080, admin :9901, xDS :18000
//   npm start -- --port-offset 1000    # every port (and every node port in the config) + 1000
//   npm start -- --config my.yaml --lb-mode original-dst
//
// Options: --config PATH (examples/local.yaml), --port-offset N (env
// START_PORT_OFFSET; 0), --lb-mode override-host|original-dst (the control
// plane's default when absent).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { startHttpEcho } from "../examples/upstreams/http-echo.ts";
import { startGrpcEcho } from "../examples/upstreams/grpc-echo.ts";
import { startWsEcho } from "../examples/upstreams/ws-echo.ts";
import { bootstrapFor, envoyBinary, ROOT, WASM } from "../tests/e2e/stack.ts";

/** The demo upstreams; examples/local.yaml's nodes are exactly these addresses. */
export const DEMO_UPSTREAMS = [
  { kind: "http", name: "echo-1", port: 8081 },
  { kind: "http", name: "echo-2", port: 8082 },
  { kind: "http", name: "echo-3", port: 8083 },
  { kind: "ws", name: "ws-echo", port: 8090 },
  { kind: "grpc", name: "grpc-echo", port: 50051 },
] as const;
export const DEFAULT_PORTS = { listener: 9080, tls: 9443, admin: 9901, ads: 18000 };
const HOST = "127.0.0.1";

interface Options {
  config: string;
  offset: number;
  lbMode?: string;
}

function parse(argv: string[]): Options {
  const o: Options = { config: path.join(ROOT, "examples/local.yaml"), offset: Number(process.env.START_PORT_OFFSET ?? 0) };
  for (let i = 0; i < argv.length; i++) {
    const v = () => {
      if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case "--config":
        o.config = path.resolve(v());
        break;
      case "--port-offset":
        o.offset = Number(v());
        break;
      case "--lb-mode":
        o.lbMode = v();
        break;
      default:
        throw new Error(`unknown argument ${argv[i]} (--config PATH, --port-offset N, --lb-mode MODE)`);
    }
  }
  const maxPort = Math.max(...DEMO_UPSTREAMS.map((u) => u.port), ...Object.values(DEFAULT_PORTS));
  if (!Number.isInteger(o.offset) || o.offset < 0 || maxPort + o.offset > 65535)
    throw new Error(`--port-offset must be an integer from 0 to ${65535 - maxPort}`);
  return o;
}

/** The config with every loopback node port shifted by `offset` (what the control plane reads when offset > 0). */
export function shiftPorts(yamlText: string, offset: number): string {
  return offset === 0 ? yamlText : yamlText.replace(/\b127\.0\.0\.1:(\d{1,5})\b/g, (_, p: string) => `${HOST}:${Number(p) + offset}`);
}

class Child {
  tail = "";
  exited = false;
  readonly exit: Promise<void>;
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    echo: (line: string) => boolean,
  ) {
    let partial = "";
    const onData = (c: Buffer) => {
      const text = partial + c.toString("utf8");
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) {
        this.tail = `${this.tail + l}\n`.slice(-20_000);
        if (echo(l)) console.log(`[${name}] ${l}`);
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    this.exit = new Promise((r) =>
      proc.once("exit", () => {
        this.exited = true;
        r();
      }),
    );
  }
  async stop(): Promise<void> {
    if (this.exited) return;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.exit;
    clearTimeout(t);
  }
}

function get(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: HOST, port, path: p, agent: false, timeout: 2000 }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject)
      .on("timeout", function (this: http.ClientRequest) {
        this.destroy(new Error("timeout"));
      });
  });
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const ports = Object.fromEntries(Object.entries(DEFAULT_PORTS).map(([k, v]) => [k, v + o.offset])) as typeof DEFAULT_PORTS;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apisix-start-"));
  const children: Child[] = [];
  const upstreams: { close(): Promise<void> }[] = [];
  let watching = false;
  let stopping: Promise<void> | undefined;
  const stop = (code: number, why: string) =>
    (stopping ??= (async () => {
      console.log(`\n${why}: stopping envoy, control plane and demo upstreams`);
      if (watching) fs.unwatchFile(o.config);
      await Promise.all(children.map((c) => c.stop()));
      // grpc's tryShutdown waits for open streams: do not wait for ever
      await Promise.race([Promise.all(upstreams.map((u) => u.close())), new Promise((r) => setTimeout(r, 3000))]);
      fs.rmSync(dir, { recursive: true, force: true });
      console.log("stopped");
      process.exit(code);
    })());
  process.once("SIGINT", () => void stop(0, "SIGINT"));
  process.once("SIGTERM", () => void stop(0, "SIGTERM"));

  try {
    if (!fs.existsSync(WASM)) {
      console.log("build/filter.wasm is missing: npm run build (about a minute)");
      if (spawnSync("npm", ["run", "-s", "build"], { cwd: ROOT, stdio: "inherit" }).status !== 0) throw new Error("build failed");
    }
    const envoy = envoyBinary();

    // The control plane reads the config itself (and reloads it on change);
    // with a port offset it reads a shifted copy kept in step with the original.
    let configPath = o.config;
    if (o.offset !== 0) {
      configPath = path.join(dir, "apisix.yaml");
      const copy = () => {
        const tmp = `${configPath}.tmp`;
        fs.writeFileSync(tmp, shiftPorts(fs.readFileSync(o.config, "utf8"), o.offset));
        fs.renameSync(tmp, configPath);
      };
      copy();
      fs.watchFile(o.config, { interval: 500 }, copy);
      watching = true;
    }

    for (const u of DEMO_UPSTREAMS) {
      const opts = { name: u.name, port: u.port + o.offset, host: HOST };
      upstreams.push(await (u.kind === "http" ? startHttpEcho(opts) : u.kind === "ws" ? startWsEcho(opts) : startGrpcEcho(opts)));
    }

    const cp = new Child(
      "control-plane",
      spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          path.join(ROOT, "envoy/control-plane/main.ts"),
          "--config",
          configPath,
          "--host",
          HOST,
          "--port",
          String(ports.ads),
          "--listener-address",
          HOST,
          "--listener-port",
          String(ports.listener),
          // HTTPS listener, only emitted when the config has server ssls
          "--tls-listener-port",
          String(ports.tls),
          "--wasm",
          WASM,
          ...(o.lbMode ? ["--lb-mode", o.lbMode] : []),
          "--access-log",
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      ),
      () => true,
    );
    children.push(cp);
    await waitUntil(
      "the control plane's ADS server",
      () => cp.tail.includes("ads: listening on"),
      () => cp,
    );

    const bootstrap = path.join(dir, "envoy.yaml");
    fs.writeFileSync(bootstrap, bootstrapFor({ adsPort: ports.ads, adminPort: ports.admin }));
    // Envoy's own log at warning, the filter's lines (wasm) at info, and the
    // listener's access log: one line per request plus the filter's decision.
    const ev = new Child(
      "envoy",
      spawn(envoy, ["-c", bootstrap, "--disable-hot-restart", "--concurrency", "1", "-l", "warning", "--component-log-level", "wasm:info"], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      }),
      (l) => !/Thread-Local Wasm|deprecated runtime key|no configured limit/.test(l),
    );
    children.push(ev);
    await waitUntil(
      "Envoy's listener with the filter's configuration",
      async () => {
        if (!ev.tail.includes("configuration accepted")) return false;
        return (await get(ports.admin, "/ready").catch(() => ({ status: 0 }))).status === 200;
      },
      () => ev,
    );

    for (const c of children)
      void c.exit.then(() => {
        if (!stopping) void stop(1, `${c.name} exited unexpectedly:\n${c.tail.slice(-3000)}`);
      });
    console.log(banner(o, ports, children));
  } catch (e) {
    await stop(1, `start failed: ${(e as Error).message}`);
  }
}

async function waitUntil(what: string, ready: () => boolean | Promise<boolean>, proc: () => Child, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ready())) {
    const c = proc();
    if (c.exited) throw new Error(`${c.name} exited while waiting for ${what}:\n${c.tail.slice(-3000)}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function banner(o: Options, ports: typeof DEFAULT_PORTS, children: Child[]): string {
  const gw = `${HOST}:${ports.listener}`;
  const rel = path.relative(process.cwd(), o.config) || o.config;
  const ups = DEMO_UPSTREAMS.map((u) => `${u.name} :${u.port + o.offset}`).join(", ");
  return `
apisix-wasm-upstream demo is running (real Envoy, cluster mode ${children[0].tail.match(/cluster mode (\S+)/)?.[1] ?? "?"})
  gateway    http://${gw}   (https://${HOST}:${ports.tls} too when the config has server ssls)
  admin      http://${HOST}:${ports.admin}   (/config_dump, /stats?filter=wasmcustom)
  xDS (ADS)  ${HOST}:${ports.ads}
  config     ${rel}   (edit it: the control plane reloads it${o.offset ? ", port-shifted" : ""})
  upstreams  ${ups}   (on ${HOST}, in this process, pid ${process.pid})
  processes  ${children.map((c) => `${c.name} pid ${c.proc.pid}`).join(", ")}

Try:
  curl -s http://${gw}/echo/hello                          # echo-1, then echo-2 (round robin)
  curl -s http://${gw}/rewrite/x                           # echo-2 sees "host": "rewritten.example"
  curl -s http://${gw}/api/x -H 'Host: a.example.com'      # echo-1:echo-2 = 3:1, Host api.internal
  curl -s http://${gw}/shop/cart -H 'x-canary: 1' -H 'x-user: alice'   # canary upstream, same node per user
  curl -s http://${gw}/nothing                             # 404 {"error_msg":"404 Route Not Found"}
  curl -s --http2-prior-knowledge http://${gw}/echo/h2     # HTTP/2 to Envoy, HTTP/1.1 upstream
  grpcurl -plaintext -import-path examples/upstreams -proto echo.proto -d '{"message":"hi"}' ${gw} echo.Echo/Echo
  grpcurl -plaintext -import-path examples/upstreams -proto echo.proto -d '{"message":"hi","count":3}' ${gw} echo.Echo/Repeat
  npx wscat -c ws://${gw}/ws                                # websocket echo
  node -e "const w=new (require('ws'))('ws://${gw}/ws');w.on('message',m=>{console.log(String(m));w.close()})"
  npm run cli -- try ${rel} "GET /api/x" -H "Host: a.example.com"   # the filter's decision, without Envoy

Ctrl-C stops everything.
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`start: ${(e as Error).message}`);
    process.exit(1);
  });
}
