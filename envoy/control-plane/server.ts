// ADS server (state of the world) on @grpc/grpc-js.
//
// Model (after go-control-plane's snapshot cache): the server holds one
// snapshot at a time; each stream remembers per type URL what it subscribed
// to, which version/nonce it was last sent and what it ACKed. A new snapshot
// is pushed to every open stream for every subscribed type whose version
// changed, in the order CDS → SDS → LDS → RDS → ECDS, make before break:
//
//   1. CDS with the new clusters AND every cluster this stream was sent
//      before: the filter config Envoy runs may still name them;
//   2. the other types only once Envoy answered that CDS (ACK or NACK);
//   3. once the snapshot's ECDS is ACKed (Envoy ACKs after its wasm VMs took
//      it), CDS again without the clusters nothing names any more.
//
//   ACK   request with the nonce of our last response and no error_detail
//   NACK  same nonce + error_detail: logged; the client keeps its last good
//         config, we don't resend that version; the next snapshot is sent.
//   stale request whose nonce isn't our latest for that type: ignored.
//   LDS/CDS are wildcard: every response carries the full set.
//   RDS/ECDS/SDS are by name: responses carry the requested names present in
//         the snapshot; a change of the requested names triggers a response.
// Delta xDS is not implemented (grpc answers UNIMPLEMENTED; Envoy's bootstrap
// here uses api_type GRPC).
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import grpc from "@grpc/grpc-js";
import { encodeAny, lookupType, TYPE_URL, type EncodedAny } from "./protos.ts";
import { consistent, KIND_TYPE_URL, type ResourceKind, type Snapshot } from "./snapshot.ts";

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug?(msg: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.log(`${new Date().toISOString()} info ${m}`),
  warn: (m) => console.warn(`${new Date().toISOString()} warn ${m}`),
  error: (m) => console.error(`${new Date().toISOString()} error ${m}`),
};

/** Push order; also the set of type URLs served. Secrets (SDS, by name) before the listener whose chains name them. */
export const PUSH_ORDER: string[] = [TYPE_URL.cluster, TYPE_URL.secret, TYPE_URL.listener, TYPE_URL.route, TYPE_URL.extensionConfig];
const WILDCARD_TYPES = new Set<string>([TYPE_URL.cluster, TYPE_URL.listener]);

interface EncodedType {
  version: string;
  resources: Map<string, EncodedAny>;
}

export interface EncodedSnapshot {
  version: string;
  types: Map<string, EncodedType>;
}

/**
 * Strictly checks and encodes every resource of a snapshot. Throws
 * (ProtoCheckError) if any resource is not valid for Envoy's protos, so a
 * bad translation never reaches a client.
 */
export function encodeSnapshot(s: Snapshot, maxBytes = Infinity): EncodedSnapshot {
  const types = new Map<string, EncodedType>();
  let total = 0;
  for (const kind of Object.keys(KIND_TYPE_URL) as ResourceKind[]) {
    const url = KIND_TYPE_URL[kind];
    const resources = new Map<string, EncodedAny>();
    for (const r of s.resources[kind]) {
      const a = encodeAny(url, r);
      total += a.value.length;
      resources.set(String(r.name), a);
    }
    types.set(url, { version: s.versions[kind], resources });
  }
  // Every client gets the whole snapshot; past this size it is refused here
  // with a reason instead of failing somewhere between us and Envoy.
  if (total > maxBytes) throw new Error(`the snapshot is ${total} bytes of resources, over the limit of ${maxBytes} bytes (--max-xds-bytes)`);
  return { version: s.version, types };
}

/** setSnapshot's refusal of a snapshot that names what it does not contain. */
export class InconsistentSnapshotError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = "InconsistentSnapshotError";
  }
}

/** Default cap on a snapshot's encoded resources. */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

export interface DiscoveryRequest {
  version_info: string;
  node?: { id?: string; cluster?: string; [k: string]: unknown } | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: { code?: number; message?: string } | null;
}

interface TypeState {
  names: Set<string> | null; // null = wildcard
  lastNonce?: string;
  sentVersion?: string;
  ackedVersion?: string;
  nackedVersion?: string;
  /** Must be answered even if the version did not change (first request, new names). */
  pending?: boolean;
  /** CDS only: the clusters last sent on this stream. */
  sent?: Map<string, EncodedAny>;
}

interface StreamState {
  id: number;
  peer: string;
  node?: DiscoveryRequest["node"];
  call: grpc.ServerDuplexStream<DiscoveryRequest, unknown>;
  types: Map<string, TypeState>;
}

export interface AdsEvent {
  stream: number;
  node?: string;
  typeUrl: string;
  version?: string;
  nonce?: string;
  error?: string;
}

/**
 * Events: "request", "response", "ack", "nack", "stale", "connect",
 * "disconnect" (all with an AdsEvent), for tests and logs.
 */
export class AdsServer extends EventEmitter {
  private snapshot?: EncodedSnapshot;
  private readonly streams = new Set<StreamState>();
  private server?: grpc.Server;
  private nonce = 0;
  private streamIds = 0;
  readonly log: Logger;

  readonly maxSnapshotBytes: number;

  constructor(opts: { log?: Logger; maxSnapshotBytes?: number } = {}) {
    super();
    this.log = opts.log ?? consoleLogger;
    this.maxSnapshotBytes = opts.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
  }

  get version(): string | undefined {
    return this.snapshot?.version;
  }

  /** Per stream and type: what was ACKed (for tests/diagnostics). */
  clientStatus(): { stream: number; node?: string; acked: Record<string, string | undefined> }[] {
    return [...this.streams].map((s) => ({
      stream: s.id,
      node: s.node?.id,
      acked: Object.fromEntries([...s.types].map(([t, st]) => [t, st.ackedVersion])),
    }));
  }

  /**
   * Checks, encodes and pushes a snapshot: the one way to publish. An
   * inconsistent snapshot (a name that LDS, RDS or the filter's document
   * refers to is missing, snapshot.ts) or one that does not encode is logged
   * or thrown out before anything is sent; the old one keeps serving.
   * `encode` lets a caller reuse encodings (the controller's cache); it must
   * apply encodeSnapshot's checks and cap.
   */
  setSnapshot(s: Snapshot, encode: (s: Snapshot) => EncodedSnapshot = (x) => encodeSnapshot(x, this.maxSnapshotBytes)): void {
    const problems = consistent(s);
    if (problems.length) {
      const msg = `snapshot ${s.version} is inconsistent, not published: ${problems.join("; ")}`;
      this.log.error(`xds: ${msg}`);
      throw new InconsistentSnapshotError(msg, problems);
    }
    this.snapshot = encode(s);
    for (const st of this.streams) this.pushAll(st);
  }

  /** Sends this stream whatever it lacks, in push order, make before break (see the top of this file). */
  private pushAll(st: StreamState): void {
    if (!this.snapshot) return;
    const cds = st.types.get(TYPE_URL.cluster);
    if (cds) {
      const want = this.clustersFor(st, cds);
      if (want && (cds.pending || cds.sentVersion !== want.version)) this.send(st, TYPE_URL.cluster, want.version, want.resources);
      // Until Envoy has answered for the clusters, nothing that may name them
      // goes out. A NACK answers too: Envoy still applies the clusters of
      // that update it could build (the filter's validation keeps the others
      // out: PEM checks, schemes), so holding everything would only freeze
      // the rest.
      if (cds.sentVersion !== cds.ackedVersion && cds.sentVersion !== cds.nackedVersion) return;
    }
    for (const url of PUSH_ORDER) {
      if (url === TYPE_URL.cluster) continue;
      const ts = st.types.get(url);
      const et = this.snapshot.types.get(url);
      if (ts && et && (ts.pending || ts.sentVersion !== et.version)) this.respond(st, url);
    }
  }

  /**
   * The clusters this stream should have now: the snapshot's, plus the ones
   * sent before while the snapshot's ECDS is not yet ACKed on this stream.
   */
  private clustersFor(st: StreamState, cds: TypeState): { version: string; resources: Map<string, EncodedAny> } | undefined {
    const et = this.snapshot?.types.get(TYPE_URL.cluster);
    if (!et) return undefined;
    const ecds = st.types.get(TYPE_URL.extensionConfig);
    const ecdsVersion = this.snapshot?.types.get(TYPE_URL.extensionConfig)?.version;
    const settled = !ecds || ecds.ackedVersion === ecdsVersion;
    const kept = settled ? [] : [...(cds.sent?.keys() ?? [])].filter((n) => !et.resources.has(n)).sort();
    if (kept.length === 0) return { version: et.version, resources: et.resources };
    const resources = new Map(et.resources);
    for (const n of kept) resources.set(n, cds.sent!.get(n)!);
    return { version: `${et.version}+${createHash("sha256").update(kept.join("\n")).digest("hex").slice(0, 8)}`, resources };
  }

  private respond(st: StreamState, typeUrl: string): void {
    const et = this.snapshot?.types.get(typeUrl);
    if (!et) return;
    this.send(st, typeUrl, et.version, et.resources);
  }

  private send(st: StreamState, typeUrl: string, version: string, all: Map<string, EncodedAny>): void {
    const ts = st.types.get(typeUrl);
    if (!ts) return;
    const resources = ts.names === null ? [...all.values()] : [...ts.names].flatMap((n) => (all.has(n) ? [all.get(n)!] : []));
    const nonce = String(++this.nonce);
    ts.lastNonce = nonce;
    ts.sentVersion = version;
    ts.pending = false;
    if (typeUrl === TYPE_URL.cluster) ts.sent = all;
    st.call.write({ version_info: version, resources, type_url: typeUrl, nonce });
    this.emit("response", { stream: st.id, node: st.node?.id, typeUrl, version, nonce } satisfies AdsEvent);
    this.log.debug?.(`ads: stream ${st.id} (${st.node?.id ?? "?"}) <- ${short(typeUrl)} version ${version} nonce ${nonce} (${resources.length} resources)`);
  }

  private onRequest(st: StreamState, req: DiscoveryRequest): void {
    if (!st.node && req.node) st.node = req.node;
    const typeUrl = req.type_url;
    const ev: AdsEvent = { stream: st.id, node: st.node?.id, typeUrl, version: req.version_info, nonce: req.response_nonce };
    this.emit("request", ev);
    if (!PUSH_ORDER.includes(typeUrl)) {
      this.log.warn(`ads: stream ${st.id} (${st.node?.id ?? "?"}) asked for unsupported type ${typeUrl}; ignored`);
      return;
    }
    let ts = st.types.get(typeUrl);
    const isNew = !ts;
    if (!ts) {
      ts = { names: null };
      st.types.set(typeUrl, ts);
    }
    if (req.response_nonce) {
      if (req.response_nonce !== ts.lastNonce) {
        this.emit("stale", ev);
        return; // superseded by a newer response; Envoy will answer that one
      }
      if (req.error_detail && (req.error_detail.message || req.error_detail.code)) {
        ts.nackedVersion = ts.sentVersion;
        const msg = req.error_detail.message ?? `code ${req.error_detail.code}`;
        this.log.warn(
          `ads: NACK from ${st.node?.id ?? st.peer} for ${short(typeUrl)} version ${ts.sentVersion} (keeps ${req.version_info || "nothing"}): ${msg}`,
        );
        this.emit("nack", { ...ev, version: ts.sentVersion, error: msg });
        this.pushAll(st); // a NACKed CDS releases what waited for its answer
        return;
      }
      ts.ackedVersion = req.version_info;
      this.emit("ack", ev);
    }
    let namesChanged = false;
    if (!WILDCARD_TYPES.has(typeUrl)) {
      const names = new Set(req.resource_names);
      namesChanged = ts.names === null || names.size !== ts.names.size || [...names].some((n) => !ts!.names!.has(n));
      ts.names = names;
    }
    // First request for a type (also after a reconnect), or a changed name
    // set: answer with the current snapshot, if there is one yet. An ACK may
    // release held types or let CDS drop clusters nothing names any more.
    if (!req.response_nonce || isNew || namesChanged) ts.pending = true;
    this.pushAll(st);
  }

  private handleStream = (call: grpc.ServerDuplexStream<DiscoveryRequest, unknown>): void => {
    const st: StreamState = { id: ++this.streamIds, peer: call.getPeer(), call, types: new Map() };
    this.streams.add(st);
    this.emit("connect", { stream: st.id, typeUrl: "" });
    this.log.info(`ads: stream ${st.id} opened from ${st.peer}`);
    const close = () => {
      if (!this.streams.delete(st)) return;
      this.emit("disconnect", { stream: st.id, node: st.node?.id, typeUrl: "" });
      this.log.info(`ads: stream ${st.id} (${st.node?.id ?? "?"}) closed`);
    };
    call.on("data", (req: DiscoveryRequest) => {
      try {
        this.onRequest(st, req);
      } catch (e) {
        this.log.error(`ads: stream ${st.id}: ${(e as Error).stack ?? e}`);
      }
    });
    call.on("end", () => {
      close();
      call.end();
    });
    call.on("error", close);
    call.on("cancelled", close);
    call.on("close", close);
  };

  /**
   * Starts serving; `address` like "0.0.0.0:18000" or "127.0.0.1:0". Resolves
   * to the bound port. Plain text unless `tls` is given (adsServerCredentials).
   */
  async listen(address: string, credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
    const server = new grpc.Server({ "grpc.keepalive_permit_without_calls": 1, "grpc.http2.min_ping_interval_without_data_ms": 10_000 });
    server.addService(adsServiceDefinition(), { StreamAggregatedResources: this.handleStream });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p))));
    this.server = server;
    this.log.info(`ads: listening on ${address.replace(/:\d+$/, "")}:${port}${credentials._isSecure() ? " (TLS)" : ""}`);
    return port;
  }

  /** Closes every stream and the listening socket. */
  async close(): Promise<void> {
    for (const st of this.streams) st.call.end();
    this.streams.clear();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
    if (s) s.forceShutdown();
  }
}

const short = (url: string) => url.slice(url.lastIndexOf(".") + 1);

/** grpc-js service definition for ADS, serialised with the same proto root as the resources. */
export function adsServiceDefinition(): grpc.ServiceDefinition {
  const Req = lookupType("envoy.service.discovery.v3.DiscoveryRequest");
  const Res = lookupType("envoy.service.discovery.v3.DiscoveryResponse");
  const conv = { longs: String, enums: String, defaults: true, arrays: true };
  return {
    StreamAggregatedResources: {
      path: "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
      requestStream: true,
      responseStream: true,
      requestSerialize: (v: unknown) => Buffer.from(Req.encode(Req.fromObject(v as Record<string, unknown>)).finish()),
      requestDeserialize: (b: Buffer) => Req.toObject(Req.decode(b), conv),
      responseSerialize: (v: unknown) => Buffer.from(Res.encode(Res.fromObject(v as Record<string, unknown>)).finish()),
      responseDeserialize: (b: Buffer) => Res.toObject(Res.decode(b), conv),
      originalName: "streamAggregatedResources",
    },
  } as grpc.ServiceDefinition;
}

/** A minimal ADS client stub (tests, operator tools). */
export function adsClient(
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, Record<string, unknown>>;
} {
  const Ctor = grpc.makeGenericClientConstructor(adsServiceDefinition(), "AggregatedDiscoveryService");
  return new Ctor(target, credentials, options) as never;
}

/**
 * TLS for the ADS server from PEM files: certificate and key, and with a CA
 * also mutual TLS (a client must present a certificate signed by it).
 */
export function adsServerCredentials(o: { cert: Buffer | string; key: Buffer | string; ca?: Buffer | string }): grpc.ServerCredentials {
  const buf = (v: Buffer | string) => (typeof v === "string" ? Buffer.from(v) : v);
  return grpc.ServerCredentials.createSsl(o.ca ? buf(o.ca) : null, [{ cert_chain: buf(o.cert), private_key: buf(o.key) }], o.ca !== undefined);
}
