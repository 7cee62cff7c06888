// The steering names exist once per language: the filter's (assembly/) and
// their TypeScript mirror (envoy/control-plane/apisix/steering.ts). This test
// reads the AssemblyScript sources and fails when a value differs, so the
// mirror cannot drift silently.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import * as steering from "../../envoy/control-plane/apisix/steering.ts";

/** Every `export const NAME = "literal"` (or `: string = "literal"`) in assembly/, by name. */
function assemblyConstants(): Map<string, { value: string; file: string }[]> {
  const out = new Map<string, { value: string; file: string }[]>();
  const files = (fs.readdirSync("assembly", { recursive: true }) as string[]).filter((f) => f.endsWith(".ts")).map((f) => path.join("assembly", f));
  for (const file of files) {
    for (const m of fs.readFileSync(file, "utf8").matchAll(/^export const ([A-Z_][A-Z0-9_]*)(?:\s*:\s*string)?\s*=\s*"((?:[^"\\]|\\.)*)"\s*;/gm)) {
      const list = out.get(m[1]) ?? [];
      list.push({ value: JSON.parse(`"${m[2]}"`), file });
      out.set(m[1], list);
    }
  }
  return out;
}

// TypeScript name → the filter's name for the same thing.
const MIRROR: Record<string, string> = {
  CLUSTER_HEADER: "CLUSTER_HEADER",
  PLAN_HEADER: "UPSTREAM_HOSTS_HEADER",
  ORIGINAL_DST_HEADER: "ORIGINAL_DST_HEADER",
  ORIGINAL_DST_KEY: "ORIGINAL_DST_KEY",
  ROUTE_PROPERTY: "ROUTE_PROPERTY",
  UPSTREAM_PROPERTY: "UPSTREAM_PROPERTY",
};

test("steering names: the TypeScript mirror equals the filter's one definition of each", () => {
  const as = assemblyConstants();
  for (const [ts, asName] of Object.entries(MIRROR)) {
    const defs = as.get(asName) ?? [];
    assert.equal(defs.length, 1, `assembly/ must define ${asName} exactly once, found ${JSON.stringify(defs)}`);
    assert.equal((steering as Record<string, unknown>)[ts], defs[0].value, `${ts} (steering.ts) vs ${asName} (${defs[0].file})`);
  }
  assert.equal(steering.ROUTE_STATE_KEY, `wasm.${steering.ROUTE_PROPERTY}`);
  assert.equal(steering.UPSTREAM_STATE_KEY, `wasm.${steering.UPSTREAM_PROPERTY}`);
});
