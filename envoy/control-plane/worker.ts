// The config worker thread (see offthread.ts): parses standalone files and
// runs the filter's validation, off the thread that serves ADS.
import type { EnvoySide } from "./apisix/index.ts";
import { parentPort, workerData } from "node:worker_threads";
import { parseStandalone } from "./standalone.ts";
import { ConfigError } from "./source.ts";
import { WasmValidator } from "./validate.ts";

const validator = WasmValidator.load(workerData.wasmPath as string);

parentPort!.on("message", async (m: { id: number; op: string; [k: string]: unknown }) => {
  try {
    let value: unknown;
    if (m.op === "parse") value = parseStandalone(m.bytes as Uint8Array, m.file as string, m.maxBytes as number);
    else if (m.op === "check") value = await (await validator).check(m.doc as never, m.envoy as EnvoySide);
    else if (m.op === "accepts") value = await (await validator).accepts(m.json as string);
    else throw new Error(`unknown op ${m.op}`);
    parentPort!.postMessage({ id: m.id, ok: true, value });
  } catch (e) {
    parentPort!.postMessage({
      id: m.id,
      ok: false,
      error: e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e)),
      configError: e instanceof ConfigError,
    });
  }
});
