// Glue: APISIX YAML file → (DNS, active health) → translate() → AdsServer.
// Reloads on file change (fs.watch on the directory + a stat poll fallback,
// debounced), re-resolves DNS on an interval, re-translates when health
// changes. A config that fails to load or to encode is logged and the last
// good snapshot stays in place.
import fs from "node:fs";
import path from "node:path";
import { ConfigError, dnsHostnames, loadApisixYaml, type ApisixConfig, type DnsTable, type HealthTable } from "./config.ts";
import { resolveHosts, systemLookup, type Lookup } from "./dns.ts";
import { ActiveHealthChecker, probeTargets, type Probe } from "./health.ts";
import { upstreamSites } from "./names.ts";
import type { AdsServer, Logger } from "./server.ts";
import { translate, type Snapshot, type TranslateOptions } from "./translate.ts";

export interface ControllerOptions {
  configPath: string;
  server: AdsServer;
  log?: Logger;
  translate?: Omit<TranslateOptions, "dns" | "health">;
  lookup?: Lookup;
  /** DNS re-resolution interval (ms); 0 disables the timer. */
  dnsIntervalMs?: number;
  debounceMs?: number;
  /** Stat-poll interval for the config file (ms); 0 disables polling. */
  pollMs?: number;
  /** Health checking: probe function (default: real network) and tick (ms, 0 = no timer). */
  probe?: Probe;
  healthTickMs?: number;
  now?: () => number;
}

export class Controller {
  apisix?: ApisixConfig;
  dns: DnsTable = {};
  snapshot?: Snapshot;
  readonly health: ActiveHealthChecker;
  private readonly o: Required<Omit<ControllerOptions, "translate" | "probe" | "now" | "log">> & ControllerOptions;
  private readonly log: Logger;
  private watcher?: fs.FSWatcher;
  private debounce?: NodeJS.Timeout;
  private dnsTimer?: NodeJS.Timeout;
  private lastText?: string;
  private lastSeenText?: string;
  private issuesLoggedFor?: ApisixConfig;
  private reloading: Promise<void> = Promise.resolve();

  constructor(opts: ControllerOptions) {
    this.o = { lookup: systemLookup, dnsIntervalMs: 30_000, debounceMs: 200, pollMs: 1000, healthTickMs: 200, ...opts };
    this.log = opts.log ?? opts.server.log;
    this.health = new ActiveHealthChecker({ probe: opts.probe, now: opts.now, onChange: () => this.publish("health change") });
  }

  /** Loads the config once (throws if the very first load fails), then watches. */
  async start(): Promise<void> {
    const ok = await this.reload("start");
    if (!ok) throw new Error(`cannot load ${this.o.configPath}`);
    this.watch();
    if (this.o.dnsIntervalMs > 0) {
      this.dnsTimer = setInterval(() => void this.refreshDns(), this.o.dnsIntervalMs);
      this.dnsTimer.unref?.();
    }
    if (this.o.healthTickMs > 0) this.health.start(this.o.healthTickMs);
  }

  stop(): void {
    this.watcher?.close();
    fs.unwatchFile(this.o.configPath);
    clearTimeout(this.debounce);
    clearInterval(this.dnsTimer);
    this.health.stop();
  }

  private watch(): void {
    const file = path.resolve(this.o.configPath);
    const schedule = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload("file change"), this.o.debounceMs);
    };
    try {
      // The directory, not the file: editors and `kubectl`/docker configmaps
      // replace the file (rename), which ends a watch on the old inode.
      this.watcher = fs.watch(path.dirname(file), (_ev, name) => {
        if (!name || name.toString() === path.basename(file)) schedule();
      });
      this.watcher.on("error", (e) => this.log.warn(`config watch: ${e.message}`));
    } catch (e) {
      this.log.warn(`config watch unavailable (${(e as Error).message}); polling only`);
    }
    // Bind mounts from Docker Desktop don't deliver inotify events: poll too.
    if (this.o.pollMs > 0) fs.watchFile(file, { interval: this.o.pollMs, persistent: false }, schedule);
  }

  /** Re-reads the file; returns false (keeping the last snapshot) if it is invalid. Serialised. */
  reload(reason = "manual"): Promise<boolean> {
    const run = this.reloading.then(() => this.doReload(reason));
    this.reloading = run.then(() => undefined, () => undefined);
    return run;
  }

  private async doReload(reason: string): Promise<boolean> {
    let text: string;
    try {
      text = fs.readFileSync(this.o.configPath, "utf8");
    } catch (e) {
      this.log.error(`config: cannot read ${this.o.configPath}: ${(e as Error).message}; keeping the last snapshot`);
      return false;
    }
    // fs.watch and the stat poll both fire for one edit: handle each content once
    if (reason === "file change" && text === this.lastSeenText) return this.lastText === text;
    this.lastSeenText = text;
    let apisix: ApisixConfig;
    try {
      apisix = loadApisixYaml(text);
    } catch (e) {
      const msg = e instanceof ConfigError ? e.message : String(e);
      this.log.error(`config: ${this.o.configPath}: ${msg}; keeping the last snapshot`);
      return false;
    }
    this.lastText = text;
    this.apisix = apisix;
    this.log.info(`config: loaded ${this.o.configPath} (${reason}): ${apisix.routes.length} routes, ${apisix.upstreams.length} upstreams, ${apisix.services.length} services, ${apisix.ssls.length} ssls`);
    await this.refreshDns(false);
    this.health.setTargets(probeTargets(upstreamSites(apisix), this.dns));
    return this.publish(reason);
  }

  /** Re-resolves node host names; republishes when the answers changed. */
  async refreshDns(publish = true): Promise<void> {
    if (!this.apisix) return;
    const dns = await resolveHosts(dnsHostnames(this.apisix), this.o.lookup);
    for (const [h, r] of Object.entries(dns)) if ("error" in r && !(h in this.dns && "error" in this.dns[h])) this.log.warn(`dns: ${h}: ${r.error}`);
    const changed = JSON.stringify(dns) !== JSON.stringify(this.dns);
    this.dns = dns;
    if (changed && publish) {
      this.health.setTargets(probeTargets(upstreamSites(this.apisix), this.dns));
      this.publish("dns change");
    }
  }

  /** Translates the current state and hands it to the server. */
  publish(reason: string): boolean {
    if (!this.apisix) return false;
    const health: HealthTable = this.health.health();
    const snap = translate(this.apisix, { ...this.o.translate, dns: this.dns, health });
    if (this.issuesLoggedFor !== this.apisix) {
      this.issuesLoggedFor = this.apisix;
      for (const i of snap.issues) {
        if (i.severity === "error") this.log.error(`config: ${i.path}: ${i.message}`);
        else this.log.warn(`config: ${i.path}: ${i.message}`);
      }
    }
    if (this.snapshot?.version === snap.version) return true;
    try {
      this.o.server.setSnapshot(snap);
    } catch (e) {
      this.log.error(`xds: snapshot rejected by the proto check (${(e as Error).message}); keeping the last snapshot`);
      return false;
    }
    this.snapshot = snap;
    this.log.info(`xds: snapshot ${snap.version} (${reason}): ${snap.resources.clusters.length} clusters`);
    return true;
  }
}
