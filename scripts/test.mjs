// `npm test`: builds the .wasm, runs the as-pect unit tests (AssemblyScript
// modules), type-checks, runs the node:test suites (the real .wasm in the
// proxy-wasm host, the control plane, the real Envoy in tests/e2e), then
// prints "N skipped" and then the closing line over all of them: "N passed, N failed".
// CI matches the start of that line ("N passed, N failed").
//
//   npm test                       everything
//   npm test -- tests/cli/*.ts     the build, as-pect, tsc, then only those files
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const tty = Boolean(process.stdout.isTTY);
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the colour codes being removed
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
// Without a terminal, colour codes are noise in logs: ask chalk and Node for none.
const quiet = tty ? {} : { FORCE_COLOR: "0", NO_COLOR: "1" };

function run(cmd, args, { env = {}, filter } = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...quiet, ...env }, maxBuffer: 1 << 28 });
  // Some tools colour their output whatever the environment says: strip it off a terminal.
  const plain = (x) => (tty ? x : strip(x));
  const out = r.stdout ?? "",
    err = r.stderr ?? "";
  process.stdout.write(plain(filter ? filter(out) : out));
  process.stderr.write(plain(err));
  return { code: r.status ?? 1, out: strip(out + err) };
}
function step(what) {
  process.stdout.write(`\n== ${what}\n`);
}
function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

let passed = 0,
  failed = 0,
  skipped = 0;
const started = Date.now();

step("build (npm run build)");
// Inherited output: the build's progress lines appear as they happen.
const build = spawnSync("npm", ["run", "-s", "build"], { stdio: "inherit", env: { ...process.env, ...quiet } });
if (build.status !== 0) {
  console.log("build failed");
  console.log("0 passed, 1 failed");
  process.exit(1);
}

// as-pect: "[Tests]: 6 / 6" = passed / total; "Todo: N" per file. Its ASCII
// banner cannot be turned off by flag (--no-logo is ignored), so it is cut here.
step("as-pect unit tests (assembly/__tests__)");
const dropBanner = (s) => {
  const i = s.indexOf("Using config:");
  return i > 0 ? s.slice(i) : s;
};
const asp = run("npx", ["asp", "--summary"], { filter: dropBanner });
const m = asp.out.match(/\[Tests\]:\s*(\d+)\s*\/\s*(\d+)/);
if (m) {
  passed += +m[1];
  failed += +m[2] - +m[1];
}
if (!m) failed += 1;
for (const t of asp.out.matchAll(/Todo: (\d+)/g)) skipped += +t[1];

// The TypeScript side (host, CLI, control plane, tests) must type-check: one check.
step("typecheck (tsc --noEmit)");
const tsc = run("npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]);
if (tsc.code === 0) passed += 1;
else {
  failed += 1;
  console.log("typecheck failed");
}

// Biome over the TypeScript side (lint and format, biome.json): one check.
step("lint (npm run lint: biome check)");
const lint = run("npx", ["biome", "check", "."]);
if (lint.code === 0) passed += 1;
else {
  failed += 1;
  console.log("lint failed (npm run lint; npm run format fixes the formatting)");
}

// node:test over every tests/**/*.test.ts, TAP closing counts.
const files = findTests("tests").sort();
const only = process.argv.slice(2);
step(`node:test (${only.length || files.length} files)`);
const nodeRun = run(process.execPath, [
  "--import",
  "tsx",
  "--test",
  "--test-reporter=tap",
  "--test-concurrency=2",
  "--test-timeout=300000",
  ...(only.length ? only : files),
]);
const count = (name) => nodeRun.out.match(new RegExp(`^# ${name} (\\d+)$`, "m"));
const pm = count("pass"),
  fm = count("fail");
if (pm) passed += +pm[1];
else failed += 1;
if (fm) failed += +fm[1];
skipped += +(count("skipped")?.[1] ?? 0) + +(count("todo")?.[1] ?? 0);
const cancelled = +(count("cancelled")?.[1] ?? 0);
failed += cancelled;

console.log(`\n(${Math.round((Date.now() - started) / 1000)} s)`);
// CI reads the last line, which must be exactly "N passed, N failed":
// skipped tests are counted on the line before it.
console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && asp.code === 0 && tsc.code === 0 && lint.code === 0 && nodeRun.code === 0 ? 0 : 1);
