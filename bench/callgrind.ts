// Instructions per request, counted by valgrind's callgrind: bench/count.ts
// (a lean host) runs each subject twice, with a small and a large number of
// requests; the difference of the two totals divided by the difference of
// the request counts is the steady-state cost of one request, start-up,
// compilation and configuration cancelling out. Instruction counts do not
// move with the machine's load, unlike wall time.
//
// The counts cover the whole process: the guest plus the lean host's
// handling of its host calls plus V8's JS→wasm entries. The empty module
// (bench/noop/empty.ts: the stream exports, no SDK) is the floor; "over
// empty" is what a filter adds.
//
// V8 runs with fixed flags (V8_FLAGS): wasm compiled once by TurboFan (what
// Envoy runs after tier-up) instead of Liftoff first and a tier-up landing
// somewhere in the window, and seeded hashing and randomness, so that two
// runs agree within a few instructions instead of moving by thousands.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./wasm.ts";

export interface CallgrindFigure {
  subject: string;
  instructionsPerRequest: number;
  runs: { requests: number; instructions: number }[];
  hostCallsPerRequest: Record<string, number>;
  hostCalls: number;
}

export function valgrindAvailable(): boolean {
  return spawnSync("valgrind", ["--version"]).status === 0;
}

// count.ts bundled to plain JS once, so that valgrind does not also count tsx compiling it.
export function bundleCount(dir: string): string {
  const out = join(dir, "count.mjs");
  const r = spawnSync(
    join(ROOT, "node_modules/.bin/esbuild"),
    [join(ROOT, "bench/count.ts"), "--bundle", "--platform=node", "--format=esm", `--outfile=${out}`],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`esbuild: ${r.stderr}`);
  return out;
}

export const V8_FLAGS = ["--no-liftoff", "--no-wasm-tier-up", "--predictable", "--hash-seed=7", "--random-seed=7"];

function countOnce(script: string, subject: string, requests: number, dir: string, wasm?: string): number {
  const out = join(dir, `${subject}-${requests}.out`);
  const r = spawnSync(
    "valgrind",
    ["--tool=callgrind", `--callgrind-out-file=${out}`, process.execPath, "--single-threaded", ...V8_FLAGS, script, subject, String(requests)],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26, env: wasm ? { ...process.env, COUNT_WASM: wasm } : process.env },
  );
  if (r.status !== 0) throw new Error(`callgrind ${subject} ${requests}: ${r.stderr.slice(-2000)}`);
  const m = /^summary:\s*(\d+)/m.exec(readFileSync(out, "utf8")) ?? /^totals:\s*(\d+)/m.exec(readFileSync(out, "utf8"));
  if (!m) throw new Error(`callgrind ${subject}: no totals in ${out}`);
  return Number(m[1]);
}

export function hostCalls(subject: string, wasm?: string): Record<string, number> {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "bench/count.ts"), subject, "2000", "--calls"], {
    cwd: ROOT,
    encoding: "utf8",
    env: wasm ? { ...process.env, COUNT_WASM: wasm } : process.env,
  });
  if (r.status !== 0) throw new Error(`count.ts ${subject}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!).hostCallsPerRequest;
}

export function measure(subject: string, small = 1000, large = 6000, wasm?: string): CallgrindFigure {
  wasm ??= join(ROOT, subject === "noop" ? "build/noop.wasm" : subject === "empty" ? "build/empty.wasm" : "build/filter.wasm");
  const dir = mkdtempSync(join(tmpdir(), "callgrind-"));
  try {
    const script = bundleCount(dir);
    const a = countOnce(script, subject, small, dir, wasm);
    const b = countOnce(script, subject, large, dir, wasm);
    const calls = hostCalls(subject, wasm);
    return {
      subject,
      instructionsPerRequest: Math.round((b - a) / (large - small)),
      runs: [
        { requests: small, instructions: a },
        { requests: large, instructions: b },
      ],
      hostCallsPerRequest: calls,
      hostCalls: +Object.values(calls)
        .reduce((x, y) => x + y, 0)
        .toFixed(2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Config apply (10,000 routes + 1,000 upstreams) in instructions: the first
// apply in a fresh VM, and each later apply in the same VM (the mean of two).
export function measureApply(wasm?: string): { first: number; steady: number; runs: { applies: number; instructions: number }[] } {
  wasm ??= join(ROOT, "build/filter.wasm");
  const dir = mkdtempSync(join(tmpdir(), "callgrind-"));
  try {
    const script = bundleCount(dir);
    const runs = [0, 1, 3].map((n) => ({ applies: n, instructions: countOnce(script, "apply", n, dir, wasm) }));
    return { first: runs[1].instructions - runs[0].instructions, steady: Math.round((runs[2].instructions - runs[1].instructions) / 2), runs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // subject[=path.wasm] ...
  const subjects = process.argv.slice(2).length ? process.argv.slice(2) : ["empty", "noop", "filter"];
  for (const s of subjects) {
    const [name, wasm] = s.split("=");
    console.log(JSON.stringify({ ...measure(name, undefined, undefined, wasm), wasm }));
  }
}
