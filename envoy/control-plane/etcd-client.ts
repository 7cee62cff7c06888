// A small etcd v3 client over etcd's gRPC API (@grpc/grpc-js + proto-loader,
// which the ADS server already uses), covering what a config source needs:
// paginated range reads at one revision, one prefix watch, user/password auth
// and TLS shaped like APISIX's `deployment.etcd` section. Writes (put, delete,
// compact) exist for tests, benchmarks and the worked example.
//
// Why not the `etcd3` package: its last release and commit are from 2023, its
// watcher has no handling of compacted revisions (the one event a config
// source must survive), and it would bring a second proto-loader. Three RPCs
// over grpc-js are less code to trust than a wrapper to work around.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export interface EtcdOptions {
  /** http://host:port or https://host:port, like APISIX's deployment.etcd.host. */
  endpoints: readonly string[];
  user?: string;
  password?: string;
  /** PEM files: the CA that signed etcd's server certificate, and a client certificate/key for mutual TLS. */
  cacert?: string;
  cert?: string;
  key?: string;
  /** TLS server name to verify instead of the endpoint's host (APISIX's deployment.etcd.tls.sni). */
  sni?: string;
  /** Deadline of each unary call (ms); APISIX's deployment.etcd.timeout is 30 s. */
  timeoutMs?: number;
}

export interface KeyValue {
  key: string;
  value: Buffer;
  modRevision: number;
  createRevision: number;
}

export interface Header {
  clusterId: string;
  revision: number;
}

export interface WatchEvent {
  type: "put" | "delete";
  kv: KeyValue;
}

export interface WatchHandlers {
  /** The watch is registered: events from start_revision on will follow. */
  onCreated?(header: Header): void;
  /** A batch of events (one or more revisions) and the header revision they bring us to. */
  onEvents(events: WatchEvent[], header: Header): void;
  /** The start revision was compacted away: read everything again. */
  onCompacted(compactRevision: number): void;
  /** The stream ended for any other reason (etcd down, auth, cancel). */
  onError(err: Error): void;
}

export interface Watch {
  cancel(): void;
}

/** The etcd error etcd's gRPC status carries for a compacted revision. */
export const ERR_COMPACTED = "mvcc: required revision has been compacted";

const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), "etcd-api.proto");
/** What proto-loader builds from etcd-api.proto at run time (service clients, their replies) has no static type. */
// biome-ignore lint/suspicious/noExplicitAny: see above; the fields read are checked where they are used
type Untyped = any;
let pkg: Untyped;
function api() {
  // longs as strings: revisions are int64 on the wire; Number() is exact up to
  // 2^53, which an etcd revision (one per write) does not reach
  pkg ??= grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true })).etcdserverpb;
  return pkg;
}

/** The end of the key range holding every key that starts with `prefix` (etcd's "prefix + 1"). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]);
}

interface Endpoint {
  url: string;
  target: string;
  tls: boolean;
}

export function parseEndpoint(url: string): Endpoint {
  let u: URL;
  try {
    u = new URL(url.includes("://") ? url : `http://${url}`);
  } catch {
    throw new Error(`--etcd: not a URL: ${url}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`--etcd: ${url}: scheme must be http or https`);
  const port = u.port || "2379";
  return { url: `${u.protocol}//${u.host}`, target: `${u.hostname}:${port}`, tls: u.protocol === "https:" };
}

function toKv(kv: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string }): KeyValue {
  return { key: kv.key.toString("utf8"), value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) };
}

function toHeader(h: { cluster_id: string; revision: string } | null | undefined): Header {
  return { clusterId: String(h?.cluster_id ?? ""), revision: Number(h?.revision ?? 0) };
}

const isAuthError = (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED || /invalid auth token|auth token is expired/.test(e.details ?? "");

export class EtcdClient {
  readonly endpoints: Endpoint[];
  private idx = 0;
  private clients?: { kv: Untyped; watch: Untyped; auth: Untyped; channel: grpc.Channel };
  private token?: string;
  private readonly creds: { plain: grpc.ChannelCredentials; tls?: grpc.ChannelCredentials };
  private readonly timeoutMs: number;

  constructor(private readonly o: EtcdOptions) {
    if (o.endpoints.length === 0) throw new Error("--etcd: no endpoint");
    this.endpoints = o.endpoints.map(parseEndpoint);
    if ((o.user === undefined) !== (o.password === undefined)) throw new Error("--etcd-user and --etcd-password go together");
    if ((o.cert === undefined) !== (o.key === undefined)) throw new Error("--etcd-cert and --etcd-key go together");
    const read = (f: string | undefined, what: string) => {
      if (f === undefined) return undefined;
      try {
        return fs.readFileSync(f);
      } catch (e) {
        throw new Error(`${what}: cannot read ${f}: ${(e as Error).message}`);
      }
    };
    const ca = read(o.cacert, "--etcd-cacert"),
      cert = read(o.cert, "--etcd-cert"),
      key = read(o.key, "--etcd-key");
    const needTls = this.endpoints.some((e) => e.tls);
    if (!needTls && (ca || cert)) throw new Error("--etcd-cacert/--etcd-cert/--etcd-key need https:// endpoints");
    this.creds = { plain: grpc.credentials.createInsecure(), tls: needTls ? grpc.credentials.createSsl(ca ?? null, key ?? null, cert ?? null) : undefined };
    this.timeoutMs = o.timeoutMs ?? 30_000;
  }

  /** The endpoint calls currently go to. */
  get endpoint(): string {
    return this.endpoints[this.idx].url;
  }

  /** Drops the connection and moves to the next endpoint (after a failure). */
  failover(): void {
    this.closeChannel();
    this.idx = (this.idx + 1) % this.endpoints.length;
  }

  close(): void {
    this.closeChannel();
  }

  private closeChannel(): void {
    if (!this.clients) return;
    this.clients.kv.close();
    this.clients.watch.close();
    this.clients.auth.close();
    this.clients = undefined;
    this.token = undefined;
  }

  private connect() {
    if (this.clients) return this.clients;
    const ep = this.endpoints[this.idx];
    const options: grpc.ChannelOptions = {
      // a range page or a burst of watch events can exceed grpc's 4 MiB default
      "grpc.max_receive_message_length": 256 * 1024 * 1024,
      // notice a silently dead etcd (no RST) under an open watch stream; etcd
      // refuses pings more often than every 5 s, and any ping without a call
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      // reconnection is the source's job (backoff, failover); fail fast here
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1_000,
    };
    if (ep.tls && this.o.sni) options["grpc.ssl_target_name_override"] = this.o.sni;
    const creds = ep.tls ? this.creds.tls! : this.creds.plain;
    const p = api();
    const kv = new p.KV(ep.target, creds, options);
    const channel = kv.getChannel() as grpc.Channel;
    // the three stubs share one channel (one HTTP/2 connection)
    const shared = { ...options, channelOverride: channel };
    this.clients = { kv, watch: new p.Watch(ep.target, creds, shared), auth: new p.Auth(ep.target, creds, shared), channel };
    return this.clients;
  }

  private async metadata(): Promise<grpc.Metadata> {
    const md = new grpc.Metadata();
    if (this.o.user !== undefined) {
      if (!this.token) {
        const { auth } = this.connect();
        const r = await new Promise<{ token: string }>((resolve, reject) =>
          auth.Authenticate(
            { name: this.o.user, password: this.o.password },
            { deadline: Date.now() + this.timeoutMs },
            (e: grpc.ServiceError | null, v: { token: string }) => (e ? reject(e) : resolve(v)),
          ),
        );
        this.token = r.token;
      }
      md.set("token", this.token);
    }
    return md;
  }

  /** One unary call; a rejected token (expired, etcd restarted) is renewed once. */
  private async unary<T>(service: "kv", method: string, req: object): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const md = await this.metadata();
      const c = this.connect()[service];
      try {
        return await new Promise<T>((resolve, reject) =>
          c[method](req, md, { deadline: Date.now() + this.timeoutMs }, (e: grpc.ServiceError | null, v: T) => (e ? reject(e) : resolve(v))),
        );
      } catch (e) {
        if (attempt === 0 && this.o.user !== undefined && isAuthError(e as grpc.ServiceError)) {
          this.token = undefined;
          continue;
        }
        throw e;
      }
    }
  }

  /** Every key under `prefix` at one revision (the newest when revision is 0), in key order, in pages. */
  async rangePrefix(prefix: string, opts: { revision?: number; pageSize?: number } = {}): Promise<{ header: Header; kvs: KeyValue[] }> {
    const end = prefixEnd(prefix);
    const limit = opts.pageSize ?? 1000;
    let key = Buffer.from(prefix);
    let revision = opts.revision ?? 0;
    let header: Header | undefined;
    const kvs: KeyValue[] = [];
    for (;;) {
      const r: Untyped = await this.unary("kv", "Range", { key, range_end: end, limit, revision });
      // later pages at the first page's revision: one consistent view
      header ??= toHeader(r.header);
      if (!revision) revision = header.revision;
      for (const kv of r.kvs) kvs.push(toKv(kv));
      if (!r.more || r.kvs.length === 0) break;
      key = Buffer.concat([r.kvs[r.kvs.length - 1].key, Buffer.from([0])]);
    }
    return { header: header!, kvs };
  }

  /** The store's current revision and cluster id, without reading values. */
  async status(prefix: string): Promise<Header> {
    const r: Untyped = await this.unary("kv", "Range", { key: Buffer.from(prefix), range_end: prefixEnd(prefix), count_only: true });
    return toHeader(r.header);
  }

  async put(key: string, value: string | Buffer): Promise<Header> {
    const r: Untyped = await this.unary("kv", "Put", { key: Buffer.from(key), value: Buffer.isBuffer(value) ? value : Buffer.from(value) });
    return toHeader(r.header);
  }

  async delete(key: string, opts: { prefix?: boolean } = {}): Promise<{ header: Header; deleted: number }> {
    const r: Untyped = await this.unary("kv", "DeleteRange", { key: Buffer.from(key), range_end: opts.prefix ? prefixEnd(key) : Buffer.alloc(0) });
    return { header: toHeader(r.header), deleted: Number(r.deleted) };
  }

  async compact(revision: number): Promise<void> {
    await this.unary("kv", "Compact", { revision, physical: true });
  }

  /**
   * Watches every key under `prefix` from `startRevision` (inclusive). Exactly
   * one of onCompacted/onError ends the watch, unless cancel() came first.
   */
  async watch(prefix: string, startRevision: number, h: WatchHandlers): Promise<Watch> {
    const md = await this.metadata();
    // without it, a member cut off from its cluster keeps the stream open and silent
    md.set("hasleader", "true");
    const call: grpc.ClientDuplexStream<object, Untyped> = this.connect().watch.Watch(md);
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      call.cancel();
      f();
    };
    call.on(
      "data",
      (r: {
        header: { cluster_id: string; revision: string };
        created: boolean;
        canceled: boolean;
        compact_revision: string;
        cancel_reason: string;
        events: { type: string; kv: { key: Buffer; value: Buffer; mod_revision: string; create_revision: string } }[];
      }) => {
        if (done) return;
        const header = toHeader(r.header);
        if (r.canceled) {
          const compacted = Number(r.compact_revision);
          if (compacted > 0 || r.cancel_reason.includes("compacted")) return finish(() => h.onCompacted(compacted));
          return finish(() => h.onError(new Error(`watch canceled by etcd: ${r.cancel_reason || "no reason given"}`)));
        }
        if (r.created) h.onCreated?.(header);
        if (r.events.length > 0 || !r.created) {
          h.onEvents(
            r.events.map((e) => ({ type: e.type === "DELETE" ? "delete" : "put", kv: toKv(e.kv) })),
            header,
          );
        }
      },
    );
    call.on("error", (e: grpc.ServiceError) => {
      if (isAuthError(e)) this.token = undefined;
      finish(() => h.onError(e));
    });
    call.on("end", () => finish(() => h.onError(new Error("watch stream closed by etcd"))));
    call.write({ create_request: { key: Buffer.from(prefix), range_end: prefixEnd(prefix), start_revision: startRevision, progress_notify: true } });
    return {
      cancel: () => {
        done = true;
        call.cancel();
      },
    };
  }
}
