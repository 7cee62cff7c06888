// `node --import tsx scripts/wasm-size.mts [N]`: what the release .wasm is made
// of. Compiles the release target again with a text-format copy (bench/wasm.ts,
// the same compile the benchmark's size section uses), then prints the
// sections, the code per source file, the N largest functions, and the data
// section by kind: static strings AssemblyScript still lays out as UTF-16, the
// string catalogue (scripts/asc-transform-strings.mjs), and other static data.
// docs/size.md explains the figures.
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileNamed } from "../bench/wasm.ts";

const top = Number(process.argv[2] ?? 25);
const tmp = join(tmpdir(), `wasm-size-${process.pid}`);
const r = compileNamed(tmp);
if ("error" in r) {
  console.error(r.error);
  process.exit(1);
}
const s = r.size;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
console.log(`${s.file}: ${s.bytes} B (${kb(s.bytes)}), target 102,400 B`);
for (const sec of s.sections) console.log(`  ${sec.name.padEnd(12)} ${String(sec.bytes).padStart(7)} B`);

console.log(`\ncode by source (${s.functions} functions, ${s.codeBytes} B):`);
for (const b of s.bySource.slice(0, top)) console.log(`  ${String(b.bytes).padStart(6)} B ${String(b.functions).padStart(4)} fn  ${b.source}`);
console.log(`\nlargest functions:`);
for (const f of s.largestFunctions.slice(0, top)) console.log(`  ${String(f.bytes).padStart(6)} B  ${f.name}`);

// Data segments from the text format: Binaryen splits static objects around
// runs of zeros, so an object's header byte and its body are often two segments.
const wat = readFileSync(join(tmp, "filter.wat"), "utf8");
const watBytes = (t: string): Buffer => {
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== "\\") out.push(t.charCodeAt(i));
    else if (/^[0-9a-fA-F]{2}$/.test(t.slice(i + 1, i + 3))) {
      out.push(Number.parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const c = t[++i];
      out.push(({ n: 10, t: 9, r: 13 } as Record<string, number>)[c] ?? c.charCodeAt(0));
    }
  }
  return Buffer.from(out);
};
let segments = 0,
  content = 0,
  strings = 0,
  stringBytes = 0,
  catalogue = 0;
const longest: string[] = [];
for (const m of wat.matchAll(/^ \(data \$\S+ \(i32\.const \d+\) "((?:[^"\\]|\\.)*)"\)/gm)) {
  const b = watBytes(m[1]);
  segments++;
  content += b.length;
  // A static string's body segment starts at its runtime id (2 = String) and
  // byte length; the zero high byte of its last ASCII character is trimmed off.
  const body = b.length - 8;
  if (b.length >= 8 && b.readUInt32LE(0) === 2 && b.readUInt32LE(4) >= body && b.readUInt32LE(4) <= body + 1) {
    strings++;
    stringBytes += b.length;
    longest.push(
      Buffer.concat([b.subarray(8), Buffer.alloc(1)])
        .subarray(0, b.readUInt32LE(4))
        .toString("utf16le"),
    );
  } else if (b.length > 1000) catalogue += b.length;
}
console.log(`\ndata: ${segments} segments, ${content} B of content (${s.dataBytes - content} B of segment framing)`);
console.log(`  static UTF-16 strings: ${strings}, ${stringBytes} B`);
console.log(`  large blobs (the packed string catalogue): ${catalogue} B`);
console.log(
  `  longest static strings left: ${longest
    .sort((a, b) => b.length - a.length)
    .slice(0, 8)
    .map((t) => JSON.stringify(t))
    .join(", ")}`,
);
