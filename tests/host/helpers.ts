// Shared helpers for the host tests: building the AssemblyScript probe fixtures.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { LogEntry } from "../../host/index.ts";

const run = promisify(execFile);
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = join(ROOT, "tests/host/fixtures");
const OUT = join(ROOT, "build/fixtures");

/**
 * Build tests/host/fixtures/<name>.ts to build/fixtures/<name>.wasm (target noop:
 * optimized, abort=abort_proc_exit, _initialize), unless the .wasm is newer than the
 * source and the runtime. Test files run in parallel, so each build writes a private
 * temporary file and renames it into place.
 */
export async function buildFixture(name: string): Promise<string> {
  const src = join(FIXTURES, `${name}.ts`);
  const out = join(OUT, `${name}.wasm`);
  const runtime = join(ROOT, "node_modules/@solo-io/proxy-runtime/assembly/runtime.ts");
  const newest = Math.max(statSync(src).mtimeMs, statSync(runtime).mtimeMs, statSync(join(ROOT, "asconfig.json")).mtimeMs);
  if (existsSync(out) && statSync(out).mtimeMs >= newest) return out;
  mkdirSync(OUT, { recursive: true });
  const tmp = join(OUT, `${name}.${process.pid}.${Date.now()}.tmp.wasm`);
  const asc = join(ROOT, "node_modules/.bin/asc");
  await run(asc, [src, "--config", "asconfig.json", "--target", "noop", "-o", tmp], { cwd: ROOT });
  renameSync(tmp, out);
  return out;
}

/** The first log message starting with `prefix` (messages only). */
export function logLine(logs: LogEntry[], prefix: string): string | undefined {
  return logs.find((l) => l.message.startsWith(prefix))?.message;
}

/** All messages starting with `prefix`. */
export function logLines(logs: LogEntry[], prefix: string): string[] {
  return logs.filter((l) => l.message.startsWith(prefix)).map((l) => l.message);
}

/** Decode a little-endian hex string (as the probe logs property bytes) into a bigint. */
export function leHexToBigInt(hex: string): bigint {
  let v = 0n;
  for (let i = hex.length - 2; i >= 0; i -= 2) v = (v << 8n) | BigInt(parseInt(hex.slice(i, i + 2), 16));
  return v;
}

export function hexToText(hex: string): string {
  return Buffer.from(hex, "hex").toString("utf8");
}
