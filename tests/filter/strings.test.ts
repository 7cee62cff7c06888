// The release .wasm stores the filter's long messages once, as UTF-8
// (scripts/asc-transform-strings.mjs): no UTF-16 copy is left in the binary,
// and a message still reaches the log byte for byte, on its first use and on
// later ones (decoded once, then served from the catalogue's cache).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FILTER_WASM, configure, errorLogs, filterHost, get } from "./helpers.ts";

const LUA = "Lua filter functions cannot run in the filter; express the condition with vars";
const NO_NODE = "failed to set upstream: no valid upstream node";

/** The bytes of the data section (id 11) of a wasm binary. */
function dataSection(bin: Buffer): Buffer {
  const leb = (pos: number): [number, number] => {
    let v = 0,
      shift = 0,
      b: number;
    do {
      b = bin[pos++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return [v, pos];
  };
  let pos = 8;
  while (pos < bin.length) {
    const id = bin[pos];
    const [size, start] = leb(pos + 1);
    if (id === 11) return bin.subarray(start, start + size);
    pos = start + size;
  }
  throw new Error("no data section");
}

test("the release .wasm holds long messages as UTF-8 only, no UTF-16 copy", () => {
  const data = dataSection(readFileSync(FILTER_WASM));
  for (const message of [LUA, NO_NODE, "failed to find valid upstream server, all upstream servers tried"]) {
    assert.equal(data.includes(Buffer.from(message, "utf16le")), false, `UTF-16 copy of "${message}"`);
    assert.equal(data.includes(Buffer.from(message, "utf8")), true, `UTF-8 copy of "${message}"`);
  }
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
