// APISIX's standalone file (apisix.yaml, or apisix.json) as APISIX reads it
// (apisix/core/config_yaml.lua), and the config source that watches it.
//
//   - YAML must end with the `#END` trailer: APISIX looks for it in the
//     file's last bytes and does not apply a file without it, so a file
//     caught half-written (or emptied) is never taken for a config with
//     fewer routes. JSON needs no trailer (a truncated JSON does not parse).
//   - Objects without `id` get one later, in the shared pipeline
//     (assignIds in validate.ts), the way config_yaml does.
//   - The file is bytes first: over the size limit, or not valid UTF-8, it is
//     refused with the reason (no silent U+FFFD).
//   - Parsing a big file takes long, so it happens on a worker thread
//     (worker.ts) and the ADS server keeps answering meanwhile.
import fs from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { ConfigError, OBJECT_SECTIONS, type ConfigSource, type DocumentSink, type RawDocument } from "./source.ts";
import type { Logger } from "./server.ts";

/** Default size limit of a standalone file (bytes). */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Bytes → text, strictly: invalid UTF-8 is an error naming the byte offset. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    return text;
  } catch {
    // find the first bad offset for the message
    let i = 0;
    for (; i < bytes.length; ) {
      const b = bytes[i];
      const n = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
      if (n === 0) break;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(i, i + n));
      } catch {
        break;
      }
      i += n;
    }
    throw new ConfigError(`not valid UTF-8 (first bad byte at offset ${i})`);
  }
}

/** config_yaml's check: "#END" (then only whitespace) among the last bytes. */
export function hasEndTrailer(text: string): boolean {
  return /#END\s*$/.test(text.slice(-64));
}

/**
 * Parses a standalone file's bytes into a RawDocument. Throws ConfigError
 * (size, UTF-8, missing #END, syntax, a section that is not a list, a YAML
 * alias that makes the document circular).
 */
export function parseStandalone(bytes: Uint8Array, file: string, maxBytes = DEFAULT_MAX_FILE_BYTES): RawDocument {
  if (bytes.length > maxBytes) throw new ConfigError(`${bytes.length} bytes is over the limit of ${maxBytes} bytes (--max-config-bytes)`);
  const text = decodeUtf8(bytes);
  const json = file.endsWith(".json");
  let data: unknown;
  if (json) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`invalid JSON: ${(e as Error).message}`);
    }
  } else {
    if (!hasEndTrailer(text))
      throw new ConfigError("missing the #END trailer APISIX requires at the end of a standalone file (the file may be half-written); not applied");
    return parseStandaloneYaml(text, file);
  }
  return rawDocument(data, `file ${file}`);
}

/**
 * A standalone YAML text into a RawDocument, without the byte and #END
 * checks (the operator CLI reports a missing #END and goes on). Throws
 * ConfigError (syntax, sections, a circular alias).
 */
export function parseStandaloneYaml(text: string, file: string): RawDocument {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(`invalid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ConfigError(`invalid YAML: ${(e as Error).message}`);
  }
  return rawDocument(data, `file ${file}`);
}

/** Checks the top-level shape shared by YAML and JSON files. */
export function rawDocument(data: unknown, origin: string): RawDocument {
  data ??= {};
  if (typeof data !== "object" || Array.isArray(data)) throw new ConfigError("the top level must be a mapping of sections (routes, upstreams, services, ssls)");
  const obj = data as Record<string, unknown>;
  const out: RawDocument = { origin, routes: [], upstreams: [], services: [], ssls: [], otherSections: [] };
  for (const [k, v] of Object.entries(obj)) {
    if ((OBJECT_SECTIONS as readonly string[]).includes(k)) {
      if (v === null || v === undefined) continue;
      if (!Array.isArray(v)) throw new ConfigError(`"${k}" must be a list of objects`);
      out[k as (typeof OBJECT_SECTIONS)[number]] = v;
    } else out.otherSections!.push(k);
  }
  // A YAML alias may point at one of its own ancestors: such a graph has no
  // JSON form and APISIX (tinyyaml) cannot express it either.
  try {
    JSON.stringify(out);
  } catch (e) {
    throw new ConfigError(`cannot be used: ${(e as Error).message} (a YAML alias refers to its own parent?)`);
  }
  return out;
}

export interface FileSourceOptions {
  file: string;
  log: Logger;
  /** Quiet time after a change before reading (ms); under constant writes a read still happens once per window. */
  debounceMs?: number;
  /** Stat-poll interval (ms); 0 disables polling. */
  pollMs?: number;
  maxBytes?: number;
  /** Parses off the main thread; default parses inline. */
  parse?: (bytes: Uint8Array, file: string, maxBytes: number) => Promise<RawDocument>;
}

/**
 * Watches a standalone file (fs.watch on its directory, plus a stat poll
 * for bind mounts that deliver no inotify events) and hands each new,
 * complete document to the sink. The same content is handed over again
 * only if its last attempt was not applied, so saving the file again
 * retries a failure.
 */
export class FileSource implements ConfigSource {
  readonly description: string;
  private readonly o: Required<Omit<FileSourceOptions, "parse">> & Pick<FileSourceOptions, "parse">;
  private watcher?: fs.FSWatcher;
  private timer?: NodeJS.Timeout;
  private sink?: DocumentSink;
  private appliedText?: Buffer;
  private running: Promise<boolean> = Promise.resolve(true);
  private stopped = false;

  constructor(opts: FileSourceOptions) {
    this.o = { debounceMs: 200, pollMs: 1000, maxBytes: DEFAULT_MAX_FILE_BYTES, ...opts };
    this.description = `file ${opts.file}`;
  }

  async start(sink: DocumentSink): Promise<void> {
    this.sink = sink;
    const ok = await this.read("start");
    if (!ok) throw new ConfigError(`cannot load ${this.o.file}`);
    this.watch();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    fs.unwatchFile(path.resolve(this.o.file));
    clearTimeout(this.timer);
  }

  /** Reads now (serialised with other reads). */
  read(reason: string, force = false): Promise<boolean> {
    const run = this.running.then(() => this.doRead(reason, force));
    this.running = run.catch(() => false);
    return run;
  }

  private watch(): void {
    const file = path.resolve(this.o.file);
    // Not a trailing debounce: a window opens at the first event and closes
    // debounceMs later whatever happens meanwhile, so a file rewritten every
    // 10 ms is still read once per window instead of never.
    const schedule = () => {
      if (this.timer || this.stopped) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.read("file change");
      }, this.o.debounceMs);
    };
    try {
      // The directory, not the file: editors and configmaps replace the file
      // (rename), which ends a watch on the old inode.
      this.watcher = fs.watch(path.dirname(file), (_ev, name) => {
        if (!name || name.toString() === path.basename(file)) schedule();
      });
      this.watcher.on("error", (e) => this.o.log.warn(`config watch: ${e.message}`));
    } catch (e) {
      this.o.log.warn(`config watch unavailable (${(e as Error).message}); polling only`);
    }
    if (this.o.pollMs > 0) fs.watchFile(file, { interval: this.o.pollMs, persistent: false }, schedule);
  }

  private async doRead(reason: string, force: boolean): Promise<boolean> {
    let bytes: Buffer;
    try {
      const st = fs.statSync(this.o.file);
      // Refuse before reading a huge file into memory.
      if (st.size > this.o.maxBytes) throw new ConfigError(`${st.size} bytes is over the limit of ${this.o.maxBytes} bytes (--max-config-bytes)`);
      bytes = fs.readFileSync(this.o.file);
    } catch (e) {
      this.o.log.error(`config: ${this.o.file}: ${(e as Error).message}; the last good config keeps serving`);
      return false;
    }
    // fs.watch and the stat poll both fire for one edit: an applied content is handled once
    if (!force && this.appliedText?.equals(bytes)) return true;
    let doc: RawDocument;
    try {
      doc = this.o.parse ? await this.o.parse(bytes, this.o.file, this.o.maxBytes) : parseStandalone(bytes, this.o.file, this.o.maxBytes);
    } catch (e) {
      this.o.log.error(`config: ${this.o.file}: ${(e as Error).message}; the last good config keeps serving`);
      return false;
    }
    const ok = await this.sink!(doc);
    this.appliedText = ok ? bytes : undefined;
    if (!ok) this.o.log.warn(`config: ${this.o.file} (${reason}) not applied; save the file again to retry`);
    return ok;
  }
}
