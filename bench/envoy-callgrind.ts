// Instructions per request of the whole proxy Envoy process (its C++, V8's
// builtins and the wasm code V8 compiled), counted by valgrind's callgrind:
// the real-Envoy figure that machine load does not move, where wrk's
// requests/s on two shared cores move by ±15% between rounds.
//
//   node --import tsx bench/envoy-callgrind.ts            (all variants, 1,000 requests each)
//   VARIANTS=noop,filter-10 REQUESTS=2000 node --import tsx bench/envoy-callgrind.ts
//   CALLGRIND_KEEP=/tmp/cg …   keeps each variant's dump as /tmp/cg/callgrind.<variant>
//
// Same proxies as bench/envoy.ts (proxyBootstrap), one at a time under
// callgrind, the upstream Envoy outside it. After start-up and 400 warm-up
// requests (connections, V8 tier-up) the counters are zeroed
// (callgrind_control -z), the measured requests are sent over 4 keep-alive
// connections, and the counters are dumped (-d): instructions of that window
// ÷ requests. Timers and idle work in the window are counted too; they are
// the same for every variant and small against 1,000 requests.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envoyBinary, freePort, until } from "../tests/e2e/stack.ts";
import { proxyBootstrap, upstreamBootstrap } from "./envoy.ts";

export interface EnvoyInstructions {
  variant: string;
  requests: number;
  instructionsPerRequest: number;
  /** By object: the Envoy binary, libc, and "jit" (V8's builtins and the compiled wasm, anonymous memory). */
  byObject: Record<string, number>;
}

// The 10,000-route variants are left to bench/envoy.ts: under valgrind the
// proxy did not answer within 5 minutes of start-up (the filter's VMs apply
// the 10,000 routes, V8 compiles, all some 50× slower).
export const CALLGRIND_VARIANTS = ["static", "empty", "noop", "filter-10", "filter-10-1node"];

// Self cost per object ("ob=" lines) of a callgrind dump; call lines carry
// inclusive costs of callees and are skipped.
function costByObject(text: string): Record<string, number> {
  const names = new Map<string, string>();
  const out: Record<string, number> = {};
  let ob = "?";
  let skipNext = false;
  for (const line of text.split("\n")) {
    const obm = /^ob=\((\d+)\)(?: (.*))?$/.exec(line);
    if (obm) {
      if (obm[2]) names.set(obm[1], obm[2]);
      ob = names.get(obm[1]) ?? obm[1];
      continue;
    }
    const cob = /^cob=\((\d+)\) (.*)$/.exec(line);
    if (cob) names.set(cob[1], cob[2]);
    if (line.startsWith("calls=")) {
      skipNext = true;
      continue;
    }
    if (/^[0-9+\-*]/.test(line)) {
      const cost = Number(line.split(" ")[1] ?? 0);
      if (skipNext) skipNext = false;
      else if (Number.isFinite(cost)) {
        const key = ob === "???" ? "jit" : ob.includes("/envoy") ? "envoy" : (ob.split("/").pop() ?? ob);
        out[key] = (out[key] ?? 0) + cost;
      }
    }
  }
  return out;
}

export async function runEnvoyCallgrind(opts: { variants?: string[]; requests?: number; log?: (s: string) => void } = {}): Promise<EnvoyInstructions[]> {
  const variants = opts.variants ?? CALLGRIND_VARIANTS;
  const n = opts.requests ?? 1000;
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = mkdtempSync(join(tmpdir(), "envoy-callgrind-"));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const get = (port: number, path: string) =>
    new Promise<number>((resolve, reject) => {
      const r = http.get({ host: "127.0.0.1", port, path, agent, headers: { host: "bench" } }, (m) => {
        m.resume();
        m.on("end", () => resolve(m.statusCode ?? 0));
      });
      r.on("error", reject);
    });
  const burst = async (port: number, path: string, count: number) => {
    for (let i = 0; i < count; i += 4) {
      const codes = await Promise.all([0, 1, 2, 3].map(() => get(port, path)));
      const bad = codes.filter((c) => c !== 200);
      if (bad.length) throw new Error(`non-200 answers: ${bad.join(", ")}`);
    }
  };
  const upPort = await freePort();
  writeFileSync(join(dir, "upstream.json"), upstreamBootstrap(upPort));
  const envoyArgs = (file: string, baseId: number) => [
    "-c",
    file,
    "--concurrency",
    "1",
    "--disable-hot-restart",
    "--log-level",
    "warn",
    "--base-id",
    String(baseId),
  ];
  const upstream = spawn(envoyBinary(), envoyArgs(join(dir, "upstream.json"), 900), { stdio: "ignore" });
  const out: EnvoyInstructions[] = [];
  try {
    for (const [i, v] of variants.entries()) {
      const port = await freePort();
      const b = proxyBootstrap(v, port, upPort);
      const file = join(dir, `${v}.json`);
      writeFileSync(file, b.yaml);
      const prefix = join(dir, `cg.${v}`);
      const proxy = spawn(
        "valgrind",
        ["--tool=callgrind", `--callgrind-out-file=${prefix}.%p`, "--smc-check=all-non-file", envoyBinary(), ...envoyArgs(file, 901 + i)],
        {
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let err = "";
      proxy.stderr!.on("data", (c: Buffer) => {
        err = (err + c.toString()).slice(-2000);
      });
      const exited = new Promise((r) => proxy.on("exit", r));
      try {
        await until(
          `${v} under callgrind answering 200`,
          () =>
            get(port, b.path).then(
              (c) => c === 200,
              () => false,
            ),
          // Start-up under valgrind takes minutes on a loaded machine.
          900_000,
          1000,
        );
        await burst(port, b.path, 400);
        spawnSync("callgrind_control", ["-z", String(proxy.pid)]);
        await burst(port, b.path, n);
        spawnSync("callgrind_control", ["-d", String(proxy.pid)]);
      } catch (e) {
        throw new Error(`${v}: ${(e as Error).message}\n${err}`);
      } finally {
        proxy.kill("SIGTERM");
        await exited;
      }
      // The -d dump is "<prefix>.<pid>.1" (part 1); the final one at exit is "<prefix>.<pid>".
      const dump = readdirSync(dir).find((f) => f.startsWith(`cg.${v}.`) && f.endsWith(".1"));
      if (!dump) throw new Error(`${v}: no callgrind dump`);
      // CALLGRIND_KEEP=dir keeps the dumps, for callgrind_annotate by function.
      if (process.env.CALLGRIND_KEEP) copyFileSync(join(dir, dump), join(process.env.CALLGRIND_KEEP, `callgrind.${v}`));
      const text = readFileSync(join(dir, dump), "utf8");
      const total = Number(/^(?:summary|totals):\s*(\d+)/m.exec(text)?.[1] ?? NaN);
      const byObject = Object.fromEntries(Object.entries(costByObject(text)).map(([k, c]) => [k, Math.round(c / n)]));
      const fig = { variant: v, requests: n, instructionsPerRequest: Math.round(total / n), byObject };
      log(`  ${v.padEnd(10)} ${fig.instructionsPerRequest.toLocaleString("en-US").padStart(9)} instructions/request  ${JSON.stringify(byObject)}`);
      out.push(fig);
    }
  } finally {
    upstream.kill("SIGTERM");
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const variants = process.env.VARIANTS?.split(",");
  runEnvoyCallgrind({ variants, requests: Number(process.env.REQUESTS ?? 1000) }).then(
    (figs) => console.log(JSON.stringify(figs, null, 1)),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
