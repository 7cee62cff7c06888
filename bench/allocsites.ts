// Instruments a build so that every GC allocation calls the import
// bench.onalloc(size, id); bench/count.ts --alloc-sites then groups the
// allocations of one request by call site (V8 names wasm frames from the
// name section, so use the debug build).
//
//   npx asc assembly/index.ts --config asconfig.json --target debug
//   node --import tsx bench/allocsites.ts build/filter.debug.wasm /tmp/alloc-instr.wasm
//   COUNT_WASM=/tmp/alloc-instr.wasm node --import tsx bench/count.ts filter 2000 --alloc-sites
import binaryen from "binaryen";
import { readFileSync, writeFileSync } from "node:fs";

const [src, out] = [process.argv[2] ?? "build/filter.debug.wasm", process.argv[3] ?? "/tmp/alloc-instr.wasm"];
binaryen.setDebugInfo(true);
const m = binaryen.readBinary(readFileSync(src));
m.setFeatures(binaryen.Features.All);
const name = m.getFunction("~lib/rt/tcms/__new") ? "~lib/rt/tcms/__new" : "~lib/rt/itcms/__new";
const f = m.getFunction(name);
const info = binaryen.getFunctionInfo(f);
m.addFunctionImport("bench_onalloc", "bench", "onalloc", binaryen.createType([binaryen.i32, binaryen.i32]), binaryen.none);
const call = m.call("bench_onalloc", [m.local.get(0, binaryen.i32), m.local.get(1, binaryen.i32)], binaryen.none);
(binaryen as unknown as { _BinaryenFunctionSetBody(f: number, b: number): void })._BinaryenFunctionSetBody(f, m.block(null, [call, info.body], info.results));
if (!m.validate()) throw new Error("instrumented module does not validate");
writeFileSync(out, m.emitBinary());
console.log(`${out}: ${name} calls bench.onalloc`);
