// Instructions per request by wasm function: where the guest's share of
// bench/callgrind.ts's figure goes. The release code is compiled again with
// a name section (bench/wasm.ts), bench/count.ts runs it under callgrind
// with V8's perf map on (V8 then writes /tmp/perf-<pid>.map: the address
// range of every function it compiled, wasm functions under their names),
// twice with different request counts; each callgrind function (an address
// in JIT code, callgrind has no symbols there) is put in the perf-map range
// that holds it, and the difference of the two runs divided by the
// difference of the request counts is the self cost per request.
//
//   node --import tsx bench/guest-profile.ts [subject] [top]
//   COUNT_NODES=2 COUNT_LB_MODE=override-host node --import tsx bench/guest-profile.ts filter 40
//
// Code outside JIT memory (node, V8's C++, libc) is summed per object.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleCount, V8_FLAGS } from "./callgrind.ts";
import { compileNamed, ROOT, writeTmp } from "./wasm.ts";

interface Range {
  start: number;
  end: number;
  name: string;
}

function perfMap(pid: number): Range[] {
  const file = `/tmp/perf-${pid}.map`;
  if (!existsSync(file)) throw new Error(`${file} missing: V8 wrote no perf map`);
  const out: Range[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (!m) continue;
    const start = Number.parseInt(m[1], 16);
    out.push({ start, end: start + Number.parseInt(m[2], 16), name: m[3] });
  }
  rmSync(file, { force: true });
  return out.sort((a, b) => a.start - b.start);
}

function lookup(ranges: Range[], addr: number): string | null {
  let lo = 0,
    hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid];
    if (addr < r.start) hi = mid - 1;
    else if (addr >= r.end) lo = mid + 1;
    else return r.name;
  }
  return null;
}

// Self cost per instruction address (callgrind --dump-instr=yes): the
// names callgrind gives JIT code are offsets, not addresses, so each cost
// line's address is looked up instead (positions: instr line). Addresses are absolute ("0x…"),
// relative to the previous line ("+n", "-n") or the same ("*"); a line after
// "calls=" is a call's inclusive cost and is skipped. Code with symbols
// (node, V8's C++, libc) is named by its object and symbol.
function selfCosts(text: string, ranges: Range[]): Map<string, number> {
  const obs = new Map<string, string>();
  const fns = new Map<string, string>();
  const out = new Map<string, number>();
  const add = (k: string, c: number) => out.set(k, (out.get(k) ?? 0) + c);
  let ob = "?";
  let fn = "?";
  let addr = 0;
  let skip = false;
  for (const line of text.split("\n")) {
    const m = /^(c?ob)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (m) {
      if (m[3]) obs.set(m[2], m[3]);
      if (m[1] === "ob") ob = obs.get(m[2]) ?? m[2];
      continue;
    }
    const f = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (f) {
      if (f[3]) fns.set(f[2], f[3]);
      if (f[1] === "fn") fn = fns.get(f[2]) ?? f[2];
      continue;
    }
    if (line.startsWith("calls=")) {
      skip = true;
      continue;
    }
    const c = /^(0x[0-9a-f]+|[+-]\d+|\*) (?:0x[0-9a-f]+|[+-]?\d+|\*) (\d+)/.exec(line);
    if (!c) continue;
    const pos = c[1];
    if (pos.startsWith("0x")) addr = Number.parseInt(pos.slice(2), 16);
    else if (pos !== "*") addr += Number(pos);
    if (skip) {
      skip = false;
      continue;
    }
    const cost = Number(c[2]);
    const jit = ob === "???" || ob.startsWith("?") ? lookup(ranges, addr) : null;
    add(jit ?? (ob === "???" ? "(jit, unnamed)" : `[${ob.split("/").pop()}] ${fn}`), cost);
  }
  return out;
}

function run(script: string, subject: string, requests: number, wasm: string, dir: string): Map<string, number> {
  const out = join(dir, `${requests}.out`);
  const r = spawnSync(
    "valgrind",
    [
      "--tool=callgrind",
      "--dump-instr=yes",
      `--callgrind-out-file=${out}`,
      process.execPath,
      "--single-threaded",
      "--perf-basic-prof",
      ...V8_FLAGS,
      script,
      subject,
      String(requests),
    ],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26, env: { ...process.env, COUNT_WASM: wasm } },
  );
  if (r.status !== 0) throw new Error(`callgrind: ${r.stderr.slice(-2000)}`);
  const pid = Number(/==(\d+)==/.exec(r.stderr)?.[1]);
  const byName = selfCosts(readFileSync(out, "utf8"), perfMap(pid));
  return byName;
}

const subject = process.argv[2] ?? "filter";
const top = Number(process.argv[3] ?? 40);
const dir = mkdtempSync(join(tmpdir(), "guest-profile-"));
try {
  const compiled = compileNamed(join(dir, "named"));
  if ("error" in compiled) throw new Error(compiled.error);
  const wasm = subject === "noop" || subject === "empty" ? join(ROOT, `build/${subject}.wasm`) : writeTmp(join(dir, "named.wasm"), compiled.named);
  const script = bundleCount(dir);
  const small = 1000,
    large = 6000;
  const a = run(script, subject, small, wasm, dir);
  const b = run(script, subject, large, wasm, dir);
  const rows: [string, number][] = [];
  let total = 0;
  for (const [name, cost] of b) {
    const per = (cost - (a.get(name) ?? 0)) / (large - small);
    total += per;
    rows.push([name, per]);
  }
  rows.sort((x, y) => y[1] - x[1]);
  console.log(`${subject}: ${Math.round(total)} instructions per request`);
  for (const [name, per] of rows.slice(0, top)) if (Math.abs(per) >= 1) console.log(`${per.toFixed(0).padStart(8)}  ${name}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
