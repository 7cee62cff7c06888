// The release .wasm stores the filter's long messages once, as packed UTF-8
// (scripts/asc-transform-strings.mjs): no UTF-16 copy is left in the binary,
// the packing round-trips, and a message still reaches the log byte for
// byte, on its first use and on later ones (decoded once, then served from
// the catalogue's cache).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pack } from "../../scripts/asc-transform-strings.mjs";
import { sectionBytes } from "../../bench/wasm.ts";
import { FILTER_WASM, configure, errorLogs, filterHost, get } from "./helpers.ts";

const LUA = "Lua filter functions cannot run in the filter; express the condition with vars";
const NO_NODE = "failed to set upstream: no valid upstream node";

/** The bytes of the data section (id 11) of a wasm binary. */
function dataSection(bin: Buffer): Buffer {
  const data = sectionBytes(bin, 11);
  if (data === null) throw new Error("no data section");
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

test("the release .wasm holds no UTF-16 copy of long messages", () => {
  const data = dataSection(readFileSync(FILTER_WASM));
  for (const message of [LUA, NO_NODE, "failed to find valid upstream server, all upstream servers tried"]) {
    assert.equal(data.includes(Buffer.from(message, "utf16le")), false, `UTF-16 copy of "${message}"`);
  }
});

/** The catalogue's unpacking, as the generated AssemblyScript does it. */
function unpack(packed: number[]): Buffer {
  const out: number[] = [];
  for (let i = 0; i < packed.length; ) {
    const t = packed[i++];
    if (t < 0x80) out.push(t);
    else if (t === 0xc0) out.push(packed[i++]);
    else if (t < 0xc0) {
      let from = packed[i] | (packed[i + 1] << 8);
      i += 2;
      for (let n = (t & 0x3f) + 3; n > 0; n--) out.push(out[from++]);
    } else {
      const v = t - 0xc1;
      let from = out.length - (((Math.floor(v / 7) << 8) | packed[i++]) + 1);
      for (let n = (v % 7) + 3; n > 0; n--) out.push(out[from++]);
    }
  }
  return Buffer.from(out);
}

test("the catalogue packing round-trips: repeats, overlapping copies, non-ASCII bytes, long runs", () => {
  const texts = [
    `invalid configuration: ${LUA}`,
    `${NO_NODE}; ${NO_NODE}`,
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "héllo wörld — héllo wörld — 路由 路由 路由",
    "\u0000\u007f\u0080 abcabcabcabc",
  ];
  let seed = 7;
  for (let k = 0; k < 50; k++) {
    let t = "";
    for (let n = 0; n < 200; n++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      t += "abcé路 x"[seed % 8];
    }
    texts.push(t);
  }
  const bytes = Buffer.from(texts.join(""), "utf8");
  const packed = pack(bytes);
  assert.ok(packed.length < bytes.length * 0.8, `packed ${packed.length} of ${bytes.length}`);
  assert.deepEqual(unpack(packed), bytes);
});

test("a config message reaches the log intact, on the first and on later applies", async () => {
  const host = await filterHost();
  const bad = { routes: [{ id: "f", uri: "/f", filter_func: "function() return true end", upstream: { nodes: { "10.0.0.1:80": 1 } } }] };
  for (let i = 0; i < 3; i++) {
    host.clearLogs();
    configure(host, bad);
    assert.ok(errorLogs(host.logs).includes(`invalid configuration: routes[f].filter_func: ${LUA}`), errorLogs(host.logs).join("\n"));
  }
});

test("a request's message reaches the log intact on every request", async () => {
  const host = await filterHost({ routes: [{ id: "r", uri: "/*", upstream: { nodes: {} } }] });
  const once = () => {
    const r = get(host, "/x");
    assert.equal(r.localReply?.status, 503);
    assert.deepEqual(errorLogs(r.logs), [NO_NODE]);
  };
  for (let i = 0; i < 100; i++) once();
});
