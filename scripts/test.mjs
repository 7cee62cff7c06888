// `npm test`: builds the .wasm, runs the as-pect unit tests (AssemblyScript
// modules) and the node:test suites (the real .wasm in the proxy-wasm host,
// the control plane, the Envoy config checks), then prints one closing line
// over both: "N passed, N failed".
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  process.stdout.write(r.stdout ?? "");
  process.stderr.write(r.stderr ?? "");
  return { code: r.status ?? 1, out: strip((r.stdout ?? "") + (r.stderr ?? "")) };
}
function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

let passed = 0, failed = 0;
const build = run("npm", ["run", "-s", "build"]);
if (build.code !== 0) { console.log("build failed"); console.log("0 passed, 1 failed"); process.exit(1); }

// as-pect: "[Tests]: 6 / 6" = passed / total.
const asp = run("npx", ["asp", "--summary", "--no-logo"]);
const m = asp.out.match(/\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/);
if (m) { passed += +m[1]; failed += +m[2] - +m[1]; }
if (!m) failed += 1;

// The TypeScript side (host, CLI, control plane, tests) must type-check: one check.
const tsc = run("npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]);
if (tsc.code === 0) passed += 1; else { failed += 1; console.log("typecheck failed"); }

// node:test over every tests/**/*.test.ts, TAP closing counts.
const files = findTests("tests").sort();
const only = process.argv.slice(2);
const nodeRun = run(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", "--test-concurrency=2", "--test-timeout=300000", ...(only.length ? only : files)]);
const pm = nodeRun.out.match(/^# pass (\d+)$/m), fm = nodeRun.out.match(/^# fail (\d+)$/m);
if (pm) passed += +pm[1]; else failed += 1;
if (fm) failed += +fm[1];

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && asp.code === 0 && tsc.code === 0 && nodeRun.code === 0 ? 0 : 1);
