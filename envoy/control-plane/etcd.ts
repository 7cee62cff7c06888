// APISIX's etcd as a config source: what the Admin API writes under
// `<prefix>/{routes,upstreams,services,ssls}/<id>` becomes one raw APISIX
// document ({routes, upstreams, services, ssls} arrays of the stored JSON
// objects, plus an origin) for the controller's shared pipeline.
//
//   full read at one revision R ──► document ──► watch from R+1 ──► events
//        ▲                                             │  (debounced: a burst
//        └── compacted / other cluster / store behind ─┘   is one document)
//
// etcd unreachable: the last document stays (the controller keeps serving its
// snapshot), the failure is logged, the source reconnects with exponential
// backoff (rotating through the endpoints) and resumes the watch at the next
// revision it has not seen, or reads everything again when that revision is
// gone. Documents are a function of the etcd state alone (objects in etcd's
// key order), so replicas behind one etcd publish the same versions.
import { EtcdClient, type EtcdOptions, type Header, type KeyValue, type Watch, type WatchEvent } from "./etcd-client.ts";
import { APISIX_DEFAULT_KEYRING, checkKeyring, decryptPkey } from "./etcd-keyring.ts";
import type { Logger } from "./server.ts";
import { isObj } from "./apisix/index.ts";

/** The sections this project serves. */
export const SECTIONS = ["routes", "upstreams", "services", "ssls"] as const;
export type Section = (typeof SECTIONS)[number];

/** APISIX sections that exist in etcd but mean nothing to this data plane: one warning each. */
const UNUSED = new Set([
  "consumers",
  "consumer_groups",
  "credentials",
  "global_rules",
  "plugin_configs",
  "plugin_metadata",
  "stream_routes",
  "protos",
  "secrets",
]);

export interface EtcdDocument {
  routes: Record<string, unknown>[];
  upstreams: Record<string, unknown>[];
  services: Record<string, unknown>[];
  ssls: Record<string, unknown>[];
  /** Where it came from, for log lines: `etcd http://h:2379/apisix rev 42`. */
  origin: string;
  /** The etcd revision the document reflects. */
  revision: number;
  /** Objects whose value came from a watched update (see RawDocument.keepPrevious). */
  keepPrevious: Set<string>;
}

export interface EtcdSourceOptions extends EtcdOptions {
  /** APISIX's deployment.etcd.prefix (default /apisix). */
  prefix?: string;
  /** Decrypts private keys the Admin API stored encrypted (default: APISIX's default keyring). */
  keyring?: string[];
  log: Logger;
  /** Quiet time after the last event before a document goes out (ms). */
  debounceMs?: number;
  /** Longest an event waits under constant writes (ms). */
  maxDelayMs?: number;
  /** Reconnect backoff: first and largest delay (ms). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Keys per range page. */
  pageSize?: number;
}

/** Receives each document; the next one waits until it settles. */
export type EtcdSink = (doc: EtcdDocument) => Promise<unknown> | unknown;

interface Entry {
  section: Section;
  id: string;
  /** Deep-frozen: documents share it instead of copying 10,000 objects per change. */
  value: Record<string, unknown>;
  modRevision: number;
  /**
   * Set by a watch event, not by a full read: an invalid value then keeps the
   * previous one. That is APISIX's apisix/core/config_etcd.lua, sync_data():
   * a watched update whose item fails the checker is logged ("failed to check
   * item data of [<key>]") and the function returns before the stored value
   * is replaced; the full load (readdir) skips an invalid item instead.
   */
  watched: boolean;
}

type Parsed = { kind: "ours"; section: Section; id: string } | { kind: "unused"; section: string } | { kind: "other" };

export class EtcdSource {
  readonly client: EtcdClient;
  readonly prefix: string;
  /** Last revision whose events are in `entries` (0 before the first read). */
  revision = 0;
  /** Documents handed over so far. */
  emitted = 0;
  private clusterId = "";
  private readonly entries = new Map<string, Entry>();
  private readonly o: Required<Omit<EtcdSourceOptions, keyof EtcdOptions>>;
  private sink?: EtcdSink;
  private inFlight?: Promise<void>;
  private dirty = false;
  private readonly warnedSections = new Set<string>();
  private stopped = false;
  private watch?: Watch;
  private endWatch?: () => void;
  private timer?: NodeJS.Timeout;
  private pendingSince = 0;
  private sleeping?: { timer: NodeJS.Timeout; resolve: () => void };
  private loop?: Promise<void>;
  private firstDoc!: Promise<void>;
  private resolveFirst!: () => void;

  constructor(opts: EtcdSourceOptions) {
    this.client = new EtcdClient(opts);
    const p = (opts.prefix ?? "/apisix").replace(/\/+$/, "");
    if (!p.startsWith("/")) throw new Error(`--etcd-prefix must start with "/": ${opts.prefix}`);
    this.prefix = p;
    this.o = {
      prefix: p,
      keyring: opts.keyring ?? APISIX_DEFAULT_KEYRING,
      log: opts.log,
      debounceMs: opts.debounceMs ?? 100,
      maxDelayMs: opts.maxDelayMs ?? 1000,
      backoffMs: opts.backoffMs ?? 200,
      maxBackoffMs: opts.maxBackoffMs ?? 10_000,
      pageSize: opts.pageSize ?? 1000,
    };
    this.firstDoc = new Promise((r) => (this.resolveFirst = r));
    this.description = `etcd ${this.client.endpoints.map((e) => e.url).join(",")}${p}`;
  }

  readonly description: string;

  /**
   * Starts reading; resolves once the sink has handled the first document.
   * An unreachable etcd is not an error here: the source keeps retrying (and
   * logging) until etcd answers, as it does later on.
   */
  start(sink: EtcdSink): Promise<void> {
    this.sink = sink;
    this.loop ??= this.run();
    return this.firstDoc;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.cancel();
    this.endWatch?.();
    clearTimeout(this.timer);
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.resolve();
    }
    await this.loop;
    this.client.close();
  }

  private async run(): Promise<void> {
    const log = this.o.log;
    let fullRead = true;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!fullRead && failures > 0) {
          // resuming: the revision we continue from must still mean the same store
          const h = await this.client.status(this.prefix);
          if (h.clusterId !== this.clusterId || h.revision < this.revision) {
            log.warn(
              `etcd: ${this.client.endpoint} is cluster ${h.clusterId} at revision ${h.revision}, we were at ${this.clusterId}@${this.revision}: reading everything again`,
            );
            fullRead = true;
          }
        }
        if (fullRead) {
          await this.readAll();
          fullRead = false;
        }
        if (failures > 0) log.info(`etcd: connected to ${this.client.endpoint}; watching ${this.prefix}/ from revision ${this.revision + 1}`);
        failures = 0;
        const end = await this.watchFrom(this.revision + 1);
        if (end === "compacted") fullRead = true;
      } catch (e) {
        if (this.stopped) break;
        const err = e as Error & { details?: string };
        const msg = err.details || err.message;
        if (msg.includes("compacted")) {
          // a page of the full read raced a compaction: start the read over
          fullRead = true;
          continue;
        }
        failures++;
        const delay = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** Math.min(failures - 1, 16));
        const serving = this.emitted > 0 ? `keeping the last snapshot (revision ${this.revision})` : "nothing to serve yet";
        (failures === 1 ? log.error : log.warn)(`etcd: ${this.client.endpoint}: ${msg}; ${serving}; retry ${failures} in ${delay} ms`);
        this.client.failover();
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeping = undefined;
        resolve();
      }, ms);
      this.sleeping = { timer, resolve };
    });
  }

  private async readAll(): Promise<void> {
    const t0 = Date.now();
    const { header, kvs } = await this.client.rangePrefix(`${this.prefix}/`, { pageSize: this.o.pageSize });
    const previous = new Map(this.entries);
    this.entries.clear();
    let ours = 0;
    for (const kv of kvs) if (this.apply(kv, previous.get(kv.key), false)) ours++;
    this.revision = header.revision;
    this.clusterId = header.clusterId;
    this.o.log.info(
      `etcd: read ${kvs.length} keys (${ours} objects) under ${this.prefix}/ at revision ${header.revision} from ${this.client.endpoint} in ${Date.now() - t0} ms`,
    );
    // the first document goes out at once; a re-read is a change like any other
    if (this.emitted === 0) this.emit();
    else this.schedule();
  }

  /** Resolves when the watch ends: "compacted" (read everything again) or throws on failure. */
  private watchFrom(start: number): Promise<"compacted" | "stopped"> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return resolve("stopped");
      this.endWatch = () => resolve("stopped");
      this.client
        .watch(`${this.prefix}/`, start, {
          onEvents: (events: WatchEvent[], header: Header) => this.onEvents(events, header),
          onCompacted: (rev) => {
            this.o.log.warn(`etcd: revision ${start} was compacted (oldest kept: ${rev}); reading everything again`);
            resolve("compacted");
          },
          onError: (e) => (this.stopped ? resolve("stopped") : reject(e)),
        })
        .then((w) => {
          this.watch = w;
          if (this.stopped) w.cancel();
        }, reject);
    });
  }

  private onEvents(events: WatchEvent[], header: Header): void {
    let changed = false;
    for (const ev of events) {
      if (ev.kv.modRevision <= this.revision) continue; // already in the state (resume overlap)
      if (ev.type === "delete") {
        const had = this.entries.delete(ev.kv.key);
        if (had) this.o.log.info(`etcd: ${ev.kv.key} deleted (revision ${ev.kv.modRevision})`);
        changed ||= had;
      } else {
        changed = this.apply(ev.kv, this.entries.get(ev.kv.key), true) || changed;
      }
    }
    // progress notifications move the revision without events: a later resume starts there
    const last = events.length ? events[events.length - 1].kv.modRevision : 0;
    this.revision = Math.max(this.revision, header.revision, last);
    if (changed) this.schedule();
  }

  private parseKey(key: string): Parsed {
    if (!key.startsWith(`${this.prefix}/`)) return { kind: "other" };
    const parts = key.slice(this.prefix.length + 1).split("/");
    if (parts.length !== 2 || parts[1] === "") return { kind: "other" }; // dir markers (`routes/` = "init_dir") and deeper keys
    if ((SECTIONS as readonly string[]).includes(parts[0])) return { kind: "ours", section: parts[0] as Section, id: parts[1] };
    if (UNUSED.has(parts[0])) return { kind: "unused", section: parts[0] };
    return { kind: "other" };
  }

  /**
   * Stores one put. A value that is not a JSON object (or whose private key
   * cannot be decrypted) cancels that update as APISIX's config_etcd does:
   * the previous value of the key, if any, stays. Returns whether the state changed.
   */
  private apply(kv: KeyValue, prev: Entry | undefined, watched: boolean): boolean {
    const p = this.parseKey(kv.key);
    if (p.kind === "unused") {
      if (!this.warnedSections.has(p.section)) {
        this.warnedSections.add(p.section);
        this.o.log.warn(`etcd: ${this.prefix}/${p.section}/ is an APISIX section this data plane does not use; its objects are ignored`);
      }
      return false;
    }
    if (p.kind === "other") return false;
    const invalid = (why: string) => {
      this.o.log.error(
        `etcd: ${kv.key} (revision ${kv.modRevision}): ${why}; ${prev ? `keeping its previous value (revision ${prev.modRevision})` : "ignored"}`,
      );
      if (prev) this.entries.set(kv.key, prev);
      return false;
    };
    let value: unknown;
    try {
      value = JSON.parse(kv.value.toString("utf8"));
    } catch (e) {
      return invalid(`not JSON (${(e as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return invalid("invalid item data, it should be an object");
    const obj = value as Record<string, unknown>;
    const err = this.decryptKeys(p.section, obj);
    if (err) return invalid(err);
    // APISIX takes the id from the key, whatever the value says
    obj.id = p.id;
    this.entries.set(kv.key, { section: p.section, id: p.id, value: deepFreeze(obj), modRevision: kv.modRevision, watched });
    return true;
  }

  /** Replaces encrypted private keys by their PEM text in place; an error names the field. */
  private decryptKeys(section: Section, obj: Record<string, unknown>): string | undefined {
    const open = (holder: Record<string, unknown>, field: string | number, name: string): string | undefined => {
      const v = (holder as Record<string | number, unknown>)[field];
      if (typeof v !== "string") return undefined;
      const r = decryptPkey(v, this.o.keyring);
      if ("error" in r) return `${name}: ${r.error}`;
      (holder as Record<string | number, unknown>)[field] = r.pem;
      return undefined;
    };
    if (section === "ssls") {
      const e = open(obj, "key", "key");
      if (e) return e;
      if (Array.isArray(obj.keys)) {
        for (let i = 0; i < obj.keys.length; i++) {
          const ek = open(obj.keys as unknown as Record<string, unknown>, i, `keys[${i}]`);
          if (ek) return ek;
        }
      }
      return undefined;
    }
    const up = section === "upstreams" ? obj : obj.upstream;
    const where = section === "upstreams" ? "tls.client_key" : "upstream.tls.client_key";
    if (isObj(up) && isObj(up.tls)) return open(up.tls, "client_key", where);
    return undefined;
  }

  private schedule(): void {
    const now = Date.now();
    if (!this.timer) this.pendingSince = now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.o.debounceMs, this.pendingSince + this.o.maxDelayMs - now));
    this.timer = setTimeout(() => this.emit(), wait);
  }

  /** The current state as a document (objects in etcd key order). */
  document(): EtcdDocument {
    const doc: EtcdDocument = {
      routes: [],
      upstreams: [],
      services: [],
      ssls: [],
      origin: `etcd ${this.client.endpoint}${this.prefix} rev ${this.revision}`,
      revision: this.revision,
      keepPrevious: new Set(),
    };
    // UTF-16 order is etcd's byte order for every key without astral characters
    const keys = [...this.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const k of keys) {
      const e = this.entries.get(k)!;
      // frozen, not copied: nothing the pipeline does can leak into the next document
      doc[e.section].push(e.value);
      if (e.watched) doc.keepPrevious.add(`${e.section}/${e.id}`);
    }
    return doc;
  }

  /**
   * Hands the current state to the sink. One document at a time: changes that
   * arrive while the controller is still applying one (10,000 routes take a
   * while) are coalesced into the next.
   */
  private emit(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped || !this.sink) return;
    if (this.inFlight) {
      this.dirty = true;
      return;
    }
    const doc = this.document();
    this.emitted++;
    const sink = this.sink;
    this.inFlight = (async () => {
      try {
        await sink(doc);
      } catch (e) {
        this.o.log.error(`etcd: applying ${doc.origin} failed: ${(e as Error).message}`);
      }
    })().finally(() => {
      this.inFlight = undefined;
      this.resolveFirst();
      if (this.dirty) {
        this.dirty = false;
        this.emit();
      }
    });
  }
}

/** Freezes a parsed JSON value and everything in it (iteratively: no recursion growing with the input). */
function deepFreeze<T extends object>(root: T): T {
  const stack: object[] = [root];
  while (stack.length) {
    const o = stack.pop()!;
    Object.freeze(o);
    for (const v of Object.values(o)) if (typeof v === "object" && v !== null && !Object.isFrozen(v)) stack.push(v);
  }
  return root;
}

/** The command-line options of the etcd source, shaped like APISIX's `deployment.etcd`. */
export interface EtcdCliArgs {
  endpoints: string[];
  prefix: string;
  user?: string;
  password?: string;
  cacert?: string;
  cert?: string;
  key?: string;
  sni?: string;
  timeoutSecs?: number;
  keyring?: string[];
}

export const ETCD_USAGE = `\
  --etcd URL[,URL...]   read APISIX's etcd instead of --config (deployment.etcd.host;
                        http:// or https://, several for failover)
  --etcd-prefix P       deployment.etcd.prefix (/apisix)
  --etcd-user U         deployment.etcd.user; the password from --etcd-password
  --etcd-password P     or from the ETCD_PASSWORD environment variable
  --etcd-cacert PATH    CA of etcd's server certificate (apisix.ssl.ssl_trusted_certificate)
  --etcd-cert PATH      client certificate and key for mutual TLS
  --etcd-key PATH       (deployment.etcd.tls.cert / key)
  --etcd-sni NAME       deployment.etcd.tls.sni
  --etcd-timeout SECS   deployment.etcd.timeout (30)
  --data-encryption-keyring K[,K...]
                        apisix.data_encryption.keyring, to read private keys the
                        Admin API stored encrypted (APISIX's default keyring)`;

/**
 * Handles one --etcd* argument for main.ts's parser; false when `k` is not
 * one of them. `next()` returns the option's value.
 */
export function parseEtcdFlag(a: EtcdCliArgs, k: string, next: () => string): boolean {
  switch (k) {
    case "--etcd":
      a.endpoints = next()
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      break;
    case "--etcd-prefix":
      a.prefix = next();
      break;
    case "--etcd-user":
      a.user = next();
      break;
    case "--etcd-password":
      a.password = next();
      break;
    case "--etcd-cacert":
      a.cacert = next();
      break;
    case "--etcd-cert":
      a.cert = next();
      break;
    case "--etcd-key":
      a.key = next();
      break;
    case "--etcd-sni":
      a.sni = next();
      break;
    case "--etcd-timeout": {
      const v = next(),
        n = Number(v);
      if (!(n > 0)) throw new Error(`--etcd-timeout: not a positive number: ${v}`);
      a.timeoutSecs = n;
      break;
    }
    case "--data-encryption-keyring": {
      a.keyring = next().split(",").filter(Boolean);
      checkKeyring(a.keyring);
      break;
    }
    default:
      return false;
  }
  return true;
}

export function defaultEtcdArgs(): EtcdCliArgs {
  return { endpoints: [], prefix: "/apisix" };
}

/** The source for parsed options (validates them: bad URLs, unreadable files, half a credential). */
export function etcdSourceFromArgs(a: EtcdCliArgs, log: Logger, env: NodeJS.ProcessEnv = process.env): EtcdSource {
  const password = a.password ?? (a.user !== undefined ? env.ETCD_PASSWORD : undefined);
  return new EtcdSource({
    endpoints: a.endpoints,
    prefix: a.prefix,
    user: a.user,
    password,
    cacert: a.cacert,
    cert: a.cert,
    key: a.key,
    sni: a.sni,
    timeoutMs: a.timeoutSecs !== undefined ? a.timeoutSecs * 1000 : undefined,
    keyring: a.keyring,
    log,
  });
}
