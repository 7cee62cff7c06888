// A control-plane replica started as users start one (main.ts --etcd, a child
// process) with one ADS client that subscribes and ACKs like Envoy: what the
// etcd measurements (bench/etcd-push.ts, tests/etcd/measure.ts) run N of.
import path from "node:path";
import { freePort, Proc, ROOT, WASM } from "../e2e/stack.ts";
import { AdsWatcher } from "./ads-watcher.ts";
import type { EtcdServer } from "./etcd.ts";

export interface Replica {
  proc: Proc;
  ads: AdsWatcher;
  /** performance.now() when the process was spawned. */
  startedAt: number;
}

/** Replica `n` on `prefix`, added to `running` (for the failure report) once spawned. */
export async function startReplica(etcd: EtcdServer, n: number, prefix: string, running: Proc[], timeoutMs: number): Promise<Replica> {
  const port = await freePort();
  const startedAt = performance.now();
  const proc = Proc.spawn(`cp${n}`, process.execPath, [
    "--import",
    "tsx",
    path.join(ROOT, "envoy/control-plane/main.ts"),
    "--etcd",
    etcd.url,
    "--etcd-prefix",
    prefix,
    "--port",
    String(port),
    "--wasm",
    WASM,
    "--dns-interval",
    "0",
  ]);
  running.push(proc);
  await proc.waitFor(/ads: listening on/, timeoutMs);
  return { proc, ads: new AdsWatcher(port, `envoy-${n}`), startedAt };
}
