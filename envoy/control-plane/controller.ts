// The shared pipeline every config source feeds (source.ts):
//
//   RawDocument ─► ids (config_yaml's) ─► cluster names ─► the filter's own
//   validation, object by object (validate.ts) ─► DNS ─► translate() ─►
//   final check of the exact ECDS document by the filter ─► AdsServer
//   (make before break: server.ts)
//
// Documents are applied one at a time, in order. Whatever fails (an
// unusable document, translate() throwing, the proto check, the final
// filter check) is logged, nothing is published, and the last good
// snapshot keeps serving; the process stays up.
import type { ApisixConfig, DnsTable, HealthTable } from "./apisix/index.ts";
import { dnsHostnames } from "./apisix/index.ts";
import { resolveHosts, systemLookup, type Lookup } from "./dns.ts";
import { ActiveHealthChecker, probeTargets, type Probe } from "./health.ts";
import { upstreamSites } from "./apisix/index.ts";
import { encodeAny, type EncodedAny } from "./protos.ts";
import type { AdsServer, EncodedSnapshot, Logger } from "./server.ts";
import { FileSource, parseStandalone } from "./standalone.ts";
import { OffThread } from "./offthread.ts";
import { ConfigError, type ConfigSource, type RawDocument } from "./source.ts";
import { ecdsConfiguration, envoySide, KIND_TYPE_URL, translate, type ResourceKind, type Snapshot, type TranslateOptions } from "./translate.ts";
import { DEFAULT_VALIDATOR_WASM, IncrementalValidator, WasmValidator, type IncrementalVerdict, type Validator } from "./validate.ts";

export interface ControllerOptions {
  /** Where documents come from; `configPath` is the shorthand for a standalone file. */
  source?: ConfigSource;
  configPath?: string;
  server: AdsServer;
  log?: Logger;
  translate?: Omit<TranslateOptions, "dns" | "health">;
  /** The filter module the validation runs (default build/filter.wasm). */
  validatorWasm?: string;
  validator?: Validator;
  /**
   * Parse files and validate on a worker thread (default true), so the ADS
   * server keeps answering while a big config loads; false runs both inline.
   */
  offThread?: boolean;
  lookup?: Lookup;
  /** DNS re-resolution interval (ms); 0 disables the timer. */
  dnsIntervalMs?: number;
  /** File source: debounce window and stat-poll interval (ms; 0 = no polling), size limit. */
  debounceMs?: number;
  pollMs?: number;
  maxConfigBytes?: number;
  /** Health checking: probe function (default: real network) and tick (ms, 0 = no timer). */
  probe?: Probe;
  healthTickMs?: number;
  now?: () => number;
  /** Replaces translate() (tests: a translation that throws). */
  translateImpl?: typeof translate;
}

export class Controller {
  /** The valid objects of the last applied document (ids assigned, upstreams named). */
  apisix?: ApisixConfig;
  dns: DnsTable = {};
  snapshot?: Snapshot;
  /** What the last applied document lost to validation. */
  lastVerdict?: IncrementalVerdict;
  readonly health: ActiveHealthChecker;
  readonly source: ConfigSource;
  private readonly o: ControllerOptions & { dnsIntervalMs: number; healthTickMs: number; lookup: Lookup };
  private readonly log: Logger;
  private validator?: IncrementalValidator;
  private worker?: OffThread;
  /** Each resource's encoding in the last published snapshot, by type URL and JSON (see encode()). */
  private encoded = new Map<string, EncodedAny>();
  private dnsTimer?: NodeJS.Timeout;
  private applying: Promise<unknown> = Promise.resolve();
  private publishing: Promise<unknown> = Promise.resolve();
  /** Bumped by every DNS resolution; an older one finishing late is discarded. */
  private dnsSeq = 0;
  private issuesLoggedFor?: ApisixConfig;

  constructor(opts: ControllerOptions) {
    this.o = { lookup: systemLookup, dnsIntervalMs: 30_000, healthTickMs: 200, ...opts };
    this.log = opts.log ?? opts.server.log;
    if (opts.validator) this.validator = new IncrementalValidator(opts.validator);
    if (opts.source) this.source = opts.source;
    else if (opts.configPath)
      this.source = new FileSource({
        file: opts.configPath,
        log: this.log,
        debounceMs: opts.debounceMs,
        pollMs: opts.pollMs,
        maxBytes: opts.maxConfigBytes,
        parse: async (bytes, file, max) => (this.worker ? this.worker.parse(bytes, file, max) : parseStandalone(bytes, file, max)),
      });
    else throw new Error("Controller needs a source or a configPath");
    this.health = new ActiveHealthChecker({ probe: opts.probe, now: opts.now, onChange: () => void this.publish("health change") });
  }

  /** Loads the filter for validation, applies the first document (throws if there is none), then follows the source. */
  async start(): Promise<void> {
    await this.ensureValidator();
    await this.source.start((doc) => this.apply(doc));
    if (this.o.dnsIntervalMs > 0) {
      this.dnsTimer = setInterval(() => void this.refreshDns(), this.o.dnsIntervalMs);
      this.dnsTimer.unref?.();
    }
    if (this.o.healthTickMs > 0) this.health.start(this.o.healthTickMs);
  }

  private async ensureValidator(): Promise<IncrementalValidator> {
    if (!this.validator) {
      const wasm = this.o.validatorWasm ?? DEFAULT_VALIDATOR_WASM;
      const inner: Validator = this.o.offThread === false ? await WasmValidator.load(wasm) : (this.worker = new OffThread(wasm));
      this.validator = new IncrementalValidator(inner);
    }
    return this.validator;
  }

  stop(): void {
    void this.worker?.close();
    this.source.stop();
    clearInterval(this.dnsTimer);
    this.health.stop();
  }

  /** Re-reads a file source now (tests, SIGHUP-style tooling). */
  reload(reason = "manual"): Promise<boolean> {
    if (this.source instanceof FileSource) return this.source.read(reason, true);
    return Promise.resolve(false);
  }

  /**
   * The seam: any source hands its documents here. Resolves to whether the
   * document was applied (published, or identical to what is published).
   */
  apply(doc: RawDocument): Promise<boolean> {
    const run = this.applying.then(() => this.doApply(doc));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async doApply(doc: RawDocument): Promise<boolean> {
    const validator = await this.ensureValidator();
    let verdict: IncrementalVerdict;
    try {
      verdict = await validator.check(doc, envoySide({ lbMode: this.o.translate?.lbMode ?? "original-dst", routerHttp: this.o.translate?.routerHttp }));
    } catch (e) {
      const msg = e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e));
      this.log.error(`config: ${doc.origin}: ${msg}; the last good config keeps serving`);
      return false;
    }
    for (const d of verdict.dropped) {
      const name = `${d.section}[${d.id ?? d.index}]`;
      for (const e of d.errors) this.log.error(`config: ${doc.origin}: ${e}`);
      this.log.error(`config: ${doc.origin}: ${name} (${d.section} #${d.index + 1}) is invalid and dropped; everything else is applied`);
    }
    for (const k of verdict.kept) {
      for (const e of k.errors) this.log.error(`config: ${doc.origin}: ${e}`);
      this.log.error(
        `config: ${doc.origin}: the update of ${k.section}[${k.id}] is invalid; its previous version keeps serving (as APISIX does for an invalid update it watched)`,
      );
    }
    for (const w of verdict.warnings) this.log.warn(`config: ${doc.origin}: ${w}`);
    const o = verdict.objects;
    const apisix: ApisixConfig = { routes: o.routes, upstreams: o.upstreams, services: o.services, ssls: o.ssls };
    this.apisix = apisix;
    this.lastVerdict = verdict;
    this.log.info(
      `config: loaded ${doc.origin}: ${o.routes.length} routes, ${o.upstreams.length} upstreams, ${o.services.length} services, ${o.ssls.length} ssls` +
        (verdict.dropped.length ? ` (${verdict.dropped.length} invalid objects dropped)` : "") +
        (verdict.kept.length ? ` (${verdict.kept.length} invalid updates refused, previous versions kept)` : "") +
        `; ${verdict.checked} checked by the filter`,
    );
    await this.refreshDns(false);
    this.health.setTargets(probeTargets(upstreamSites(apisix), this.dns));
    return this.publish(doc.origin);
  }

  /**
   * Re-resolves node host names; republishes when the answers changed. A
   * resolution started before a newer one (a timer tick overlapping a
   * reload) is discarded when it finishes, so old answers never overwrite new ones.
   */
  async refreshDns(publish = true): Promise<void> {
    const apisix = this.apisix;
    if (!apisix) return;
    const seq = ++this.dnsSeq;
    const dns = await resolveHosts(dnsHostnames(apisix), this.o.lookup);
    if (seq !== this.dnsSeq || apisix !== this.apisix) return;
    for (const [h, r] of Object.entries(dns)) if ("error" in r && !(h in this.dns && "error" in this.dns[h])) this.log.warn(`dns: ${h}: ${r.error}`);
    const changed = JSON.stringify(dns) !== JSON.stringify(this.dns);
    this.dns = dns;
    if (changed && publish) {
      this.health.setTargets(probeTargets(upstreamSites(apisix), this.dns));
      await this.publish("dns change");
    }
  }

  /** Translates the current state, has the filter check the exact ECDS document, and hands it to the server. Serialised. */
  publish(reason: string): Promise<boolean> {
    const run = this.publishing.then(() => this.doPublish(reason));
    this.publishing = run.catch(() => undefined);
    return run;
  }

  private async doPublish(reason: string): Promise<boolean> {
    if (!this.apisix) return false;
    const health: HealthTable = this.health.health();
    let snap: Snapshot;
    try {
      snap = (this.o.translateImpl ?? translate)(this.apisix, { ...this.o.translate, dns: this.dns, health });
    } catch (e) {
      this.log.error(`xds: translation failed (${reason}): ${(e as Error).stack ?? e}; nothing published, the last snapshot keeps serving`);
      return false;
    }
    // once per document, not again on every DNS or health republish
    if (this.issuesLoggedFor !== this.apisix) {
      this.issuesLoggedFor = this.apisix;
      for (const i of snap.issues) this.log.warn(`config: ${i.path}: ${i.message}`);
    }
    if (this.snapshot?.version === snap.version) return true;
    const check = await this.validator!.accepts(ecdsConfiguration(snap));
    if (!check.ok) {
      this.log.error(`xds: the filter would reject the ECDS configuration (${check.errors.join("; ")}); nothing published, the last snapshot keeps serving`);
      return false;
    }
    try {
      this.o.server.setSnapshot(snap, (s) => this.encode(s));
    } catch (e) {
      this.log.error(`xds: snapshot not published (${(e as Error).message}); the last snapshot keeps serving`);
      return false;
    }
    this.snapshot = snap;
    this.log.info(`xds: snapshot ${snap.version} (${reason}): ${snap.resources.clusters.length} clusters`);
    return true;
  }

  /**
   * server.setSnapshot's strict check and encoding, with each resource's
   * encoding reused when the same JSON was encoded for the last snapshot:
   * the strict protobuf walk of 1,000 clusters was most of the time one
   * change among 10,000 routes took. Same checks, same bytes, same size cap.
   */
  private encode(s: Snapshot): EncodedSnapshot {
    const next = new Map<string, EncodedAny>();
    const types: EncodedSnapshot["types"] = new Map();
    let total = 0;
    for (const kind of Object.keys(KIND_TYPE_URL) as ResourceKind[]) {
      const url = KIND_TYPE_URL[kind];
      const resources = new Map<string, EncodedAny>();
      for (const r of s.resources[kind]) {
        const key = `${url} ${JSON.stringify(r)}`;
        const a = this.encoded.get(key) ?? next.get(key) ?? encodeAny(url, r);
        next.set(key, a);
        total += a.value.length;
        resources.set(String(r.name), a);
      }
      types.set(url, { version: s.versions[kind], resources });
    }
    const max = this.o.server.maxSnapshotBytes;
    if (total > max) throw new Error(`the snapshot is ${total} bytes of resources, over the limit of ${max} bytes (--max-xds-bytes)`);
    this.encoded = next;
    return { version: s.version, types };
  }
}
