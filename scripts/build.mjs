// `npm run build`: the three wasm artifacts, one line per step so a ~45 s
// build does not look hung. Binaryen's "Last converge was suboptimal." (an
// optimizer note, not a problem) is dropped; anything else asc prints passes
// through, and the first failing step fails the build.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const asc = createRequire(import.meta.url).resolve("assemblyscript/bin/asc.js");
const STEPS = [
  ["assembly/index.ts", "release", "build/filter.wasm (release, optimized)"],
  ["assembly/index.ts", "debug", "build/filter.debug.wasm (debug, source map)"],
  ["bench/noop/noop.ts", "noop", "build/noop.wasm (the benchmark's no-op filter)"],
  ["bench/noop/empty.ts", "empty", "build/empty.wasm (the benchmark's empty module, no SDK)"],
];
// An absolute path: asc joins a relative config directory onto the transform
// path in asconfig.json and then resolves the result as a package name.
const CONFIG = fileURLToPath(new URL("../asconfig.json", import.meta.url));
const NOISE = /^Last converge was suboptimal\.?\s*$/;

function run(entry, target) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [asc, entry, "--config", CONFIG, "--target", target], { stdio: ["ignore", "pipe", "pipe"] });
    const pass = (stream, out) => {
      let rest = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk) => {
        const lines = (rest + chunk).split("\n");
        rest = lines.pop();
        for (const l of lines) if (!NOISE.test(l)) out.write(`${l}\n`);
      });
      stream.on("end", () => {
        if (rest && !NOISE.test(rest)) out.write(`${rest}\n`);
      });
    };
    pass(child.stdout, process.stdout);
    pass(child.stderr, process.stderr);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

const start = Date.now();
for (const [entry, target, what] of STEPS) {
  const t = Date.now();
  process.stdout.write(`build: ${what}…\n`);
  const code = await run(entry, target);
  if (code !== 0) {
    process.stderr.write(`build: ${target} failed (asc exit ${code})\n`);
    process.exit(code);
  }
  process.stdout.write(`build: ${target} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
}
process.stdout.write(`build: all done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
