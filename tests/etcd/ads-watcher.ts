// An ADS client that behaves like an Envoy that accepts everything: it
// subscribes to LDS/CDS (wildcard), the RDS route config and the ECDS filter
// config, ACKs every response, and records what arrived when. Tests compare
// what replicas serve; the measurement times etcd write -> ADS push with it.
import type grpc from "@grpc/grpc-js";
import { TYPE_URL } from "../../envoy/control-plane/protos.ts";
import { adsClient, type DiscoveryRequest } from "../../envoy/control-plane/server.ts";
import { FILTER_NAME } from "../../envoy/control-plane/translate.ts";

export interface Push {
  typeUrl: string;
  version: string;
  at: number;
  resources: { type_url: string; value: Buffer }[];
}

const SUBSCRIBE: [string, string[]][] = [
  [TYPE_URL.cluster, []],
  [TYPE_URL.listener, []],
  [TYPE_URL.route, ["apisix"]],
  [TYPE_URL.extensionConfig, [FILTER_NAME]],
];

export class AdsWatcher {
  readonly pushes: Push[] = [];
  private readonly client: ReturnType<typeof adsClient>;
  private readonly stream: grpc.ClientDuplexStream<DiscoveryRequest, Record<string, unknown>>;
  private listeners: (() => void)[] = [];

  constructor(
    port: number,
    readonly nodeId: string,
  ) {
    this.client = adsClient(`127.0.0.1:${port}`);
    this.stream = this.client.StreamAggregatedResources();
    this.stream.on("data", (r: Record<string, unknown>) => {
      const p: Push = { typeUrl: String(r.type_url), version: String(r.version_info), at: performance.now(), resources: r.resources as Push["resources"] };
      this.pushes.push(p);
      const names = SUBSCRIBE.find(([t]) => t === p.typeUrl)?.[1] ?? [];
      this.send(p.typeUrl, names, p.version, String(r.nonce));
      for (const l of this.listeners) l();
    });
    this.stream.on("error", () => {});
    SUBSCRIBE.forEach(([t, names], i) => this.send(t, names, "", "", i === 0));
  }

  private send(typeUrl: string, names: string[], version: string, nonce: string, node = false): void {
    this.stream.write({
      version_info: version,
      node: node ? { id: this.nodeId, cluster: "etcd-test" } : null,
      resource_names: names,
      type_url: typeUrl,
      response_nonce: nonce,
      error_detail: null,
    });
  }

  /** The last version received of a type. */
  version(typeUrl: string): string | undefined {
    for (let i = this.pushes.length - 1; i >= 0; i--) if (this.pushes[i].typeUrl === typeUrl) return this.pushes[i].version;
    return undefined;
  }

  /** The ECDS document (the filter's JSON configuration) last received. */
  lastPush(typeUrl: string): Push | undefined {
    for (let i = this.pushes.length - 1; i >= 0; i--) if (this.pushes[i].typeUrl === typeUrl) return this.pushes[i];
    return undefined;
  }

  /** Resolves with the first push (from index `from` on) that matches. */
  waitFor(pred: (p: Push) => boolean, timeoutMs = 30_000, from = 0): Promise<Push> {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < this.pushes.length; i++) {
          if (pred(this.pushes[i])) {
            cleanup();
            resolve(this.pushes[i]);
            return true;
          }
        }
        return false;
      };
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.nodeId}: no matching push within ${timeoutMs} ms (got ${this.pushes.length})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(t);
        this.listeners = this.listeners.filter((l) => l !== listener);
      };
      const listener = () => void check();
      if (!check()) this.listeners.push(listener);
    });
  }

  close(): void {
    this.stream.end();
    this.client.close();
  }
}
