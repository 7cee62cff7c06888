// Static look at the release .wasm: section sizes, function body sizes per
// source file (names taken from a text-format compile of the same source),
// and two derived binaries for the benchmark:
//  - the release binary with a `name` section appended, so V8's CPU profiles
//    name wasm functions (the code is byte-for-byte the release code);
//  - the same with a counter in ~lib/rt/itcms/__new (GC allocations).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import binaryen from "binaryen";

export const ROOT = new URL("..", import.meta.url).pathname;

// ---------------------------------------------------------------- binary reading

function leb(b: Uint8Array, pos: number): [number, number] {
  let result = 0,
    shift = 0,
    byte: number;
  do {
    byte = b[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, pos];
}

function encLeb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const SECTION_NAMES = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount", "tag"];

export interface WasmLayout {
  size: number;
  sections: { name: string; bytes: number }[];
  importedFunctions: number;
  bodies: number[]; // code section body sizes (incl. their size prefix), defined functions in order
  dataBytes: number;
  hasNames: boolean;
}

/** The contents of the first section with this id (11: data), or null. */
export function sectionBytes(bin: Uint8Array, id: number): Uint8Array | null {
  let pos = 8;
  while (pos < bin.length) {
    const sid = bin[pos];
    const [size, start] = leb(bin, pos + 1);
    if (sid === id) return bin.subarray(start, start + size);
    pos = start + size;
  }
  return null;
}

export function layout(bin: Uint8Array): WasmLayout {
  const sections: { name: string; bytes: number }[] = [];
  let pos = 8,
    importedFunctions = 0,
    dataBytes = 0,
    hasNames = false;
  const bodies: number[] = [];
  while (pos < bin.length) {
    const id = bin[pos++];
    let size: number;
    [size, pos] = leb(bin, pos);
    const start = pos,
      end = pos + size;
    let name = SECTION_NAMES[id] ?? `id${id}`;
    if (id === 0) {
      const [n, p] = leb(bin, pos);
      name = `custom:${Buffer.from(bin.subarray(p, p + n)).toString()}`;
      if (name === "custom:name") hasNames = true;
    } else if (id === 2) {
      let [count, p] = leb(bin, pos);
      for (let i = 0; i < count; i++) {
        let n: number;
        [n, p] = leb(bin, p);
        p += n; // module
        [n, p] = leb(bin, p);
        p += n; // field
        const kind = bin[p++];
        if (kind === 0) {
          importedFunctions++;
          [, p] = leb(bin, p);
        } else if (kind === 1) {
          p++;
          const flags = bin[p++];
          [, p] = leb(bin, p);
          if (flags & 1) [, p] = leb(bin, p);
        } else if (kind === 2) {
          const flags = bin[p++];
          [, p] = leb(bin, p);
          if (flags & 1) [, p] = leb(bin, p);
        } else if (kind === 3) {
          p += 2;
        }
      }
    } else if (id === 10) {
      let [count, p] = leb(bin, pos);
      for (let i = 0; i < count; i++) {
        const [n, q] = leb(bin, p);
        bodies.push(n + (q - p));
        p = q + n;
      }
    } else if (id === 11) {
      dataBytes = size;
    }
    sections.push({ name, bytes: end - start + 1 + encLeb(size).length });
    pos = end;
  }
  return { size: bin.length, sections, importedFunctions, bodies, dataBytes, hasNames };
}

// ---------------------------------------------------------------- names from the text format

/** Function names in index order (imports first) from Binaryen's .wat output. */
export function watFunctionNames(wat: string): string[] {
  const names: string[] = [];
  for (const m of wat.matchAll(/^ \(import "[^"]*" "[^"]*" \(func \$(\S+)/gm)) names.push(m[1]);
  for (const m of wat.matchAll(/^ \(func \$(\S+)/gm)) names.push(m[1]);
  return names;
}

/** Append a `name` section (function names) to a binary that has none. */
export function withNameSection(bin: Uint8Array, names: string[]): Uint8Array {
  const sub: number[] = [...encLeb(names.length)];
  names.forEach((n, i) => {
    const b = Buffer.from(n);
    sub.push(...encLeb(i), ...encLeb(b.length), ...b);
  });
  const nameStr = Buffer.from("name");
  const payload = [...encLeb(nameStr.length), ...nameStr, 1, ...encLeb(sub.length), ...sub];
  const section = Uint8Array.from([0, ...encLeb(payload.length), ...payload]);
  const out = new Uint8Array(bin.length + section.length);
  out.set(bin, 0);
  out.set(section, bin.length);
  return out;
}

/** The source file a function comes from: "assembly/router", "~lib/rt/itcms", "~lib/@solo-io/proxy-runtime/assembly/runtime"… */
export function sourceOf(fn: string): string {
  let s = fn.replace(/^byn-split-(outlined|inlineable)-[A-Z]\$/, "");
  const isStart = s.startsWith("start:");
  if (isStart) s = s.slice(6);
  for (let prev = ""; prev !== s; ) {
    prev = s;
    s = s.replace(/<[^<>]*>/g, "");
  }
  s = s.replace(/~anonymous\|\d+$/, "").replace(/\|\d+$/, "");
  if (!s.includes("/")) return "(compiler glue)";
  if (isStart) return s;
  const hash = s.indexOf("#");
  if (hash >= 0) s = s.slice(0, hash);
  // file/function, file/Class#method, file/Class.static: drop the last component.
  return s.slice(0, s.lastIndexOf("/"));
}

export interface SizeReport {
  file: string;
  bytes: number;
  sections: { name: string; bytes: number }[];
  codeBytes: number;
  dataBytes: number;
  functions: number;
  bySource: { source: string; bytes: number; functions: number }[];
  largestFunctions: { name: string; bytes: number }[];
  namesFrom: string;
}

export interface Compiled {
  /** Release binary + name section (same code as build/filter.wasm when identical). */
  named: Uint8Array;
  names: string[];
  identicalToBuild: boolean;
  size: SizeReport;
}

/** The asc command that compiles the release target with a text-format copy into `tmp`. */
export function namedCompileCommand(tmp: string): { cmd: string; args: string[]; wasm: string; wat: string } {
  mkdirSync(tmp, { recursive: true });
  const wasm = join(tmp, "filter.wasm"),
    wat = join(tmp, "filter.wat");
  return {
    cmd: join(ROOT, "node_modules/.bin/asc"),
    args: ["assembly/index.ts", "--config", join(ROOT, "asconfig.json"), "--target", "release", "-o", wasm, "-t", wat],
    wasm,
    wat,
  };
}

/** Compile the release target again (asc, synchronously) and analyse it. */
export function compileNamed(tmp: string): Compiled | { error: string } {
  const c = namedCompileCommand(tmp);
  try {
    execFileSync(c.cmd, c.args, { cwd: ROOT, stdio: "pipe" });
  } catch (e) {
    return {
      error:
        "asc failed: " +
        String((e as { stderr?: Buffer }).stderr ?? e)
          .split("\n")
          .slice(0, 3)
          .join(" "),
    };
  }
  return analyseCompiled(c.wasm, c.wat);
}

/**
 * Map the text-format names onto the binary of the same compile: size per
 * source file, largest functions, and the binary with a name section.
 */
export function analyseCompiled(wasm: string, wat: string): Compiled | { error: string } {
  const bin = readFileSync(wasm);
  const build = join(ROOT, "build/filter.wasm");
  const identicalToBuild = existsSync(build) && Buffer.compare(readFileSync(build), bin) === 0;
  const names = watFunctionNames(readFileSync(wat, "utf8"));
  const lay = layout(bin);
  if (names.length !== lay.importedFunctions + lay.bodies.length) {
    return { error: `name/function count mismatch: ${names.length} names vs ${lay.importedFunctions}+${lay.bodies.length} functions` };
  }
  const groups = new Map<string, { bytes: number; functions: number }>();
  const fns: { name: string; bytes: number }[] = [];
  lay.bodies.forEach((b, i) => {
    const name = names[lay.importedFunctions + i];
    fns.push({ name, bytes: b });
    const src = sourceOf(name);
    const g = groups.get(src) ?? { bytes: 0, functions: 0 };
    g.bytes += b;
    g.functions++;
    groups.set(src, g);
  });
  const codeBytes = lay.bodies.reduce((a, b) => a + b, 0);
  return {
    named: withNameSection(bin, names),
    names,
    identicalToBuild,
    size: {
      file: identicalToBuild ? "build/filter.wasm" : "release compile of the current source (differs from build/filter.wasm)",
      bytes: bin.length,
      sections: lay.sections,
      codeBytes,
      dataBytes: lay.dataBytes,
      functions: lay.bodies.length,
      bySource: [...groups].map(([source, g]) => ({ source, ...g })).sort((a, b) => b.bytes - a.bytes),
      largestFunctions: fns.sort((a, b) => b.bytes - a.bytes).slice(0, 15),
      namesFrom: "asc --target release -t (Binaryen's names, same compile)",
    },
  };
}

/**
 * Add an exported i32 counter (and a byte total) bumped at the top of
 * ~lib/rt/itcms/__new, the one entry point of every GC allocation.
 * Needs a binary with a name section.
 */
export function countAllocations(named: Uint8Array): Uint8Array | { error: string } {
  const m = binaryen.readBinary(named);
  m.setFeatures(binaryen.Features.All);
  try {
    // The minimal runtime's allocator entry (tcms), or the incremental one's.
    const fnName = m.getFunction("~lib/rt/tcms/__new") ? "~lib/rt/tcms/__new" : "~lib/rt/itcms/__new";
    const f = m.getFunction(fnName);
    if (!f) return { error: `${fnName} not found (inlined?)` };
    const info = binaryen.getFunctionInfo(f);
    m.addGlobal("bench_allocs", binaryen.i32, true, m.i32.const(0));
    m.addGlobal("bench_alloc_bytes", binaryen.f64, true, m.f64.const(0));
    m.addGlobalExport("bench_allocs", "bench_allocs");
    m.addGlobalExport("bench_alloc_bytes", "bench_alloc_bytes");
    const bump = m.global.set("bench_allocs", m.i32.add(m.global.get("bench_allocs", binaryen.i32), m.i32.const(1)));
    const bytes = m.global.set(
      "bench_alloc_bytes",
      m.f64.add(m.global.get("bench_alloc_bytes", binaryen.f64), m.f64.convert_u.i32(m.local.get(0, binaryen.i32))),
    );
    const body = m.block(null, [bump, bytes, info.body], info.results);
    (binaryen as unknown as { _BinaryenFunctionSetBody(f: number, b: number): void })._BinaryenFunctionSetBody(f, body);
    if (!m.validate()) return { error: "instrumented module does not validate" };
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

export function writeTmp(path: string, bytes: Uint8Array): string {
  writeFileSync(path, bytes);
  return path;
}
