// The slow parts of loading a config run on a worker thread, so the ADS
// server keeps answering Envoy while a big file is parsed and every object
// goes through the filter's validation: parsing a standalone file
// (standalone.ts) and the WasmValidator (validate.ts). The worker is this
// same module (worker.ts imports it); the main thread talks to it through
// OffThread, which has the same methods as the in-thread versions.
import type { EnvoySide } from "./apisix/index.ts";
import { Worker } from "node:worker_threads";
import { ConfigError, type RawDocument } from "./source.ts";
import type { Validator, Verdict } from "./validate.ts";

type Request =
  | { op: "parse"; bytes: Uint8Array; file: string; maxBytes: number }
  | { op: "check"; doc: RawDocument; envoy: EnvoySide }
  | { op: "accepts"; json: string };

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
  configError?: boolean;
}

export class OffThread implements Validator {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private dead?: Error;

  constructor(wasmPath: string) {
    // Node 20 loads a worker's entry module before the tsx loader is in place,
    // so the entry is a tiny script that registers tsx and then imports worker.ts.
    const entry = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((t) => { t.register(); return import(${JSON.stringify(new URL("./worker.ts", import.meta.url).href)}); })`;
    this.worker = new Worker(entry, { eval: true, workerData: { wasmPath } });
    this.worker.unref();
    this.worker.on("message", (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) this.worker.unref();
      if (r.ok) p.resolve(r.value);
      else p.reject(r.configError ? new ConfigError(r.error ?? "") : new Error(r.error));
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the config worker exited (${code})`)));
  }

  private call<T>(req: Request): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.nextId;
    this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, ...req });
    });
  }

  parse(bytes: Uint8Array, file: string, maxBytes: number): Promise<RawDocument> {
    return this.call({ op: "parse", bytes, file, maxBytes });
  }

  check(doc: RawDocument, envoy: EnvoySide): Promise<Verdict> {
    return this.call({ op: "check", doc, envoy });
  }

  accepts(json: string): Promise<{ ok: boolean; errors: string[] }> {
    return this.call({ op: "accepts", json });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
