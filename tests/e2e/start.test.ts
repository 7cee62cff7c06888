// `npm start` brings the demo stack up (on shifted ports, so it never clashes
// with a developer's running demo), answers one request of each kind through
// the real Envoy, and Ctrl-C stops every process it started.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { parse } from "yaml";
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_PORTS, DEMO_UPSTREAMS, shiftPorts } from "../../scripts/start.ts";
import { WsClient, echoClient, unary } from "./clients.ts";
import { Proc, ROOT, request, until } from "./stack.ts";

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function freeOffset(): Promise<number> {
  const ports = [...Object.values(DEFAULT_PORTS), ...DEMO_UPSTREAMS.map((u) => u.port)];
  const max = 65535 - Math.max(...ports);
  for (let i = 0; i < 20; i++) {
    const off = 1000 + Math.floor(Math.random() * (max - 1000));
    if ((await Promise.all(ports.map((p) => canBind(p + off)))).every(Boolean)) return off;
  }
  throw new Error("no free port offset");
}

test("examples/local.yaml: every node is a loopback address where npm start runs a demo upstream", () => {
  const cfg = parse(fs.readFileSync(path.join(ROOT, "examples/local.yaml"), "utf8"));
  const nodes = new Set<string>();
  const visit = (u: { nodes?: Record<string, number> } | undefined) => Object.keys(u?.nodes ?? {}).forEach((n) => nodes.add(n));
  for (const r of cfg.routes) visit(r.upstream);
  for (const u of cfg.upstreams) visit(u);
  const demo = new Set(DEMO_UPSTREAMS.map((u) => `127.0.0.1:${u.port}`));
  assert.ok(nodes.size >= 5);
  for (const n of nodes) assert.ok(demo.has(n), `${n} is not a demo upstream`);
  assert.equal(shiftPorts('"127.0.0.1:8081": 1 # 127.0.0.10:80', 7), '"127.0.0.1:8088": 1 # 127.0.0.10:80');
});

test("npm start: http, gRPC and websocket through Envoy; SIGINT stops Envoy, the control plane and the upstreams", async () => {
  const off = await freeOffset();
  const gw = DEFAULT_PORTS.listener + off;
  // Its own process group, so that SIGINT goes to the group as a terminal's Ctrl-C does
  // (npm's `sh -c` does not pass a signal sent to npm alone on to node).
  const start = new Proc(
    "npm start",
    spawn("npm", ["start", "--", "--port-offset", String(off)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true }),
  );
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-start.child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  try {
    await start.waitFor(/Ctrl-C stops everything/, 120_000);
    const pids = [...start.out.matchAll(/(?:control-plane|envoy) pid (\d+)|in this process, pid (\d+)/g)].map((m) => Number(m[1] ?? m[2]));
    assert.equal(pids.length, 3, start.out);
    assert.match(start.out, /cluster mode (override-host|original-dst)\)/);
    assert.ok(pids.every(alive));

    const r = await request(gw, { path: "/echo/hello" });
    assert.equal(r.status, 200, r.body);
    assert.match(r.json.server, /^echo-[12]$/);

    const client = echoClient(`127.0.0.1:${gw}`);
    try {
      const g = await unary(client, "hi");
      assert.deepEqual([g.message, g.server], ["hi", "grpc-echo"]);
    } finally {
      client.close();
    }

    const ws = await WsClient.open(`ws://127.0.0.1:${gw}/ws`);
    try {
      assert.equal(JSON.parse(await ws.nth(0)).hello, "ws-echo");
      ws.ws.send("hi");
      assert.equal(await ws.nth(1), "hi");
    } finally {
      await ws.close();
    }

    group("SIGINT");
    await Promise.race([start.exit, new Promise((_, rej) => setTimeout(() => rej(new Error(`npm start did not exit:\n${start.out.slice(-2000)}`)), 20_000))]);
    // npm waits for its script, then ends itself by the same signal
    assert.match(start.out, /SIGINT: stopping/);
    assert.match(start.out, /\nstopped\n/);
    await until("every process npm start started to exit", () => pids.every((p) => !alive(p)) || undefined, 10_000).catch(() => {
      assert.fail(`still running: ${pids.filter(alive).join(", ")}`);
    });
    assert.ok(await canBind(gw), "the gateway port is free again");
    assert.ok(await canBind(DEMO_UPSTREAMS[0].port + off), "the demo upstream ports are free again");
  } finally {
    if (start.exited === undefined) {
      group("SIGKILL");
      await start.exit;
    }
  }
});
