// One validator: the filter's own. Every APISIX object is checked by the
// real filter .wasm (the same module Envoy runs), in the proxy-wasm host of
// host/ with Envoy's canary (fresh VM, proxy_on_vm_start + proxy_on_configure),
// so the control plane never publishes what the filter would reject and the
// two can never disagree about a rule: the rules live only in assembly/config.
//
// Object by object, as APISIX's config_yaml does: the filter names, after a
// rejection, every object that had an error ("invalid objects: routes/0
// upstreams/2", positions in the document it was given; "document" when an
// error is about the document itself). Those objects are dropped with their
// errors logged and the rest is checked again, until the filter accepts it.
// References to a dropped object are then answered per request as APISIX
// answers them (502 failed to find upstream by id, 404 for a service, ...).
import type { EnvoySide } from "./apisix/index.ts";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { ProxyWasmHost } from "../../host/index.ts";
import { withClusterNames } from "./apisix/index.ts";
import { ConfigError, OBJECT_SECTIONS, type ObjectSection, type RawDocument } from "./source.ts";

export const DEFAULT_VALIDATOR_WASM = fileURLToPath(new URL("../../build/filter.wasm", import.meta.url));
const ROOT_ID = "apisix-upstream";
/** Top-level keys of the filter's document that only the control plane writes. */
const RESERVED_SECTIONS = ["dns", "health", "envoy"];
/** Dropping objects converges in one round unless a drop makes another object invalid; bounded anyway. */
const MAX_ROUNDS = 5;

export type Objects = Record<ObjectSection, Record<string, unknown>[]>;

export interface DroppedObject {
  section: ObjectSection;
  /** Position in the source's section (0-based). */
  index: number;
  id?: string;
  errors: string[];
}

export interface Verdict {
  /** The valid objects, ids assigned, each upstream with its `_cluster` name. */
  objects: Objects;
  dropped: DroppedObject[];
  /** The filter's warnings about the accepted document (ignored plugins, sections, dangling references). */
  warnings: string[];
}

/**
 * APISIX's config_yaml: an object without `id` gets "<section>#<position
 * from 1>" (e.g. the second route: "routes#2"); every id becomes a string.
 * Objects are copied, never modified in place.
 */
export function assignIds(doc: RawDocument): Record<ObjectSection, unknown[]> {
  const out = {} as Record<ObjectSection, unknown[]>;
  for (const s of OBJECT_SECTIONS) {
    out[s] = doc[s].map((item, i) => {
      if (typeof item !== "object" || item === null || Array.isArray(item)) return item;
      const o = item as Record<string, unknown>;
      if (o.id === undefined || o.id === null) return { ...o, id: `${s}#${i + 1}` };
      // Integer ids are strings to APISIX (tostring); the filter reads both the same way.
      return o;
    });
  }
  return out;
}

interface Run {
  accepted: boolean;
  errors: string[];
  warnings: string[];
  /** null: a document-level error (or a trap): dropping objects cannot help. */
  invalid: { section: ObjectSection; index: number }[] | null;
  failure?: string;
}

/** What the controller needs from a validator: WasmValidator here, or the same on a worker thread (offthread.ts). */
export interface Validator {
  check(doc: RawDocument, envoy: EnvoySide): Promise<Verdict>;
  accepts(json: string): Promise<{ ok: boolean; errors: string[] }>;
}

export class WasmValidator implements Validator {
  private constructor(
    private readonly module: WebAssembly.Module,
    readonly wasmPath: string,
  ) {}

  static async load(wasmPath = DEFAULT_VALIDATOR_WASM): Promise<WasmValidator> {
    const bytes = fs.readFileSync(wasmPath);
    return new WasmValidator(await WebAssembly.compile(bytes), wasmPath);
  }

  /** Runs the filter's canary on one JSON document. */
  async run(json: string): Promise<Run> {
    const v = await ProxyWasmHost.validate(this.module, json, { rootId: ROOT_ID });
    const errors: string[] = [];
    const warnings: string[] = [];
    let invalid: Run["invalid"] = null;
    for (const l of v.logs) {
      if (l.level >= 4 && l.message.startsWith("invalid configuration: ")) errors.push(l.message.slice("invalid configuration: ".length));
      else if (l.level === 3 && l.message.startsWith("configuration: ")) warnings.push(l.message.slice("configuration: ".length));
      else if (l.level === 3 && l.message.startsWith("invalid objects: ")) {
        const parts = l.message.slice("invalid objects: ".length).split(" ").filter(Boolean);
        invalid = parts.includes("document")
          ? null
          : parts.map((p) => {
              const [section, index] = p.split("/");
              return { section: section as ObjectSection, index: Number(index) };
            });
      }
    }
    return {
      accepted: v.accepted,
      errors,
      warnings,
      invalid: v.accepted ? [] : invalid,
      failure: v.failure ? `the filter trapped: ${v.failure.message}` : v.error,
    };
  }

  /** Whether the filter accepts this exact document (the final ECDS configuration). */
  async accepts(json: string): Promise<{ ok: boolean; errors: string[] }> {
    const r = await this.run(json);
    return { ok: r.accepted, errors: r.failure ? [r.failure, ...r.errors] : r.errors };
  }

  /**
   * Validates a source's document object by object. Throws ConfigError
   * when the document itself is unusable (an unknown top-level section, a
   * reserved one, a filter trap): then nothing of it is applied.
   */
  async check(doc: RawDocument, envoy: EnvoySide): Promise<Verdict> {
    for (const s of doc.otherSections ?? [])
      if (RESERVED_SECTIONS.includes(s))
        throw new ConfigError(`${s}: unknown section (the control plane writes "${s}" itself; an APISIX file has routes, upstreams, services, ssls)`);
    const withIds = withClusterNames(assignIds(doc));
    // The current candidates, with their positions in the source document.
    let live = OBJECT_SECTIONS.map((s) => withIds[s].map((obj, index) => ({ obj, index })));
    const dropped: DroppedObject[] = [];
    const other = Object.fromEntries((doc.otherSections ?? []).map((s) => [s, null]));
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const body: Record<string, unknown> = { ...other };
      OBJECT_SECTIONS.forEach((s, i) => (body[s] = live[i].map((x) => x.obj)));
      body.envoy = envoy;
      const r = await this.run(JSON.stringify(body));
      if (r.accepted) {
        const objects = {} as Objects;
        OBJECT_SECTIONS.forEach((s, i) => (objects[s] = live[i].map((x) => x.obj as Record<string, unknown>)));
        return { objects, dropped, warnings: r.warnings };
      }
      if (r.invalid === null || r.invalid.length === 0)
        throw new ConfigError(`rejected by the filter: ${[r.failure, ...r.errors].filter(Boolean).join("; ") || "no reason given"}`);
      const bad = new Set(r.invalid.map((x) => `${x.section}/${x.index}`));
      live = OBJECT_SECTIONS.map((s, i) =>
        live[i].filter((x, pos) => {
          if (!bad.has(`${s}/${pos}`)) return true;
          const o = x.obj as Record<string, unknown> | null;
          const id = typeof o === "object" && o !== null && (typeof o.id === "string" || typeof o.id === "number") ? String(o.id) : undefined;
          dropped.push({ section: s, index: x.index, id, errors: errorsOf(r.errors, s, id, pos) });
          return false;
        }),
      );
    }
    throw new ConfigError(`the filter still rejects the document after dropping ${dropped.length} invalid objects`);
  }
}

/** The filter's error lines about one object (it names objects "routes[<id>]", or "routes[<position>]" without a usable id). */
function errorsOf(errors: string[], section: string, id: string | undefined, pos: number): string[] {
  const keys = [id !== undefined ? `${section}[${id}]` : undefined, `${section}[${pos}]`].filter(Boolean) as string[];
  return errors.filter((e) => keys.some((k) => e.startsWith(k)));
}

// ---------------------------------------------------------------------------
// Incremental validation
//
// Running every object of a 10,000-route document through the filter again
// for each etcd write made one change cost as much as a cold start. The
// filter's verdict on an object depends only on that object (its errors are
// per object; the only cross-object error is a duplicate id, which falls
// back to a full check below). What depends on other objects are warnings:
// "upstream u1 does not exist" on a route whose upstream_id names a missing
// or dropped upstream (likewise service_id, traffic-split upstream_id,
// tls.client_cert_id). So the verdict of each object is cached under its
// section, id and exact value, and a document re-runs through the filter
// only (1) the objects whose value changed, with the objects they reference
// alongside so reference warnings come out right, and (2) the unchanged
// objects referring to an id that appeared or disappeared, to renew their
// warnings. tests/etcd/incremental.test.ts compares the result with
// a full check document by document.

/** `<section>/<id>`: how a source names one object (etcd: the key below the prefix). */
export type ObjectKey = string;

interface CachedVerdict {
  /** The exact value the verdict is about (prefixed with the id config_yaml gave it, if it had none). */
  cmp: string;
  /** The object with id and cluster names, as the filter checked it. */
  obj: Record<string, unknown>;
  ok: boolean;
  errors: string[];
  warnings: string[];
}

export interface KeptObject {
  section: ObjectSection;
  index: number;
  id: string;
  /** Why the new value was refused. */
  errors: string[];
}

export interface IncrementalVerdict extends Verdict {
  /** Objects whose new value is invalid and whose previous valid value keeps serving. */
  kept: KeptObject[];
  /** How many objects went through the filter for this document (0: all verdicts were cached). */
  checked: number;
}

const MAX_WARNINGS = 50;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const idText = (v: unknown): string | undefined => ((typeof v === "string" && v.length > 0) || typeof v === "number" ? String(v) : undefined);

/** The objects `obj` names by id (as keys), for reference warnings. */
function referencesOf(section: ObjectSection, obj: Record<string, unknown>): ObjectKey[] {
  const out: ObjectKey[] = [];
  const ref = (s: ObjectSection, v: unknown) => {
    const id = idText(v);
    if (id !== undefined) out.push(`${s}/${id}`);
  };
  const tlsRef = (up: unknown) => {
    if (isRecord(up) && isRecord(up.tls)) ref("ssls", up.tls.client_cert_id);
  };
  if (section === "upstreams") tlsRef(obj);
  if (section === "routes" || section === "services") {
    ref("upstreams", obj.upstream_id);
    tlsRef(obj.upstream);
  }
  if (section === "routes") {
    ref("services", obj.service_id);
    const ts = isRecord(obj.plugins) ? obj.plugins["traffic-split"] : undefined;
    if (isRecord(ts) && Array.isArray(ts.rules))
      for (const rule of ts.rules)
        if (isRecord(rule) && Array.isArray(rule.weighted_upstreams))
          for (const w of rule.weighted_upstreams)
            if (isRecord(w)) {
              ref("upstreams", w.upstream_id);
              tlsRef(w.upstream);
            }
  }
  return out;
}

/**
 * A Validator that remembers each object's verdict (see above) and, for
 * sources that follow changes (etcd), keeps an object's previous valid value
 * when its update is invalid, as APISIX does (`keepPrevious` of RawDocument).
 */
export class IncrementalValidator implements Validator {
  private verdicts = new Map<ObjectKey, CachedVerdict>();
  /** The objects the last document served, by key. */
  private served = new Map<ObjectKey, Record<string, unknown>>();
  private docWarnings: string[] = [];
  private context?: string;
  /** Raw value -> its JSON; sources that hand over the same (frozen) objects again save the stringify. */
  private readonly jsonOf = new WeakMap<object, string>();
  /** The final-check side: each object's accepted JSON, under the non-object tables it was accepted with. */
  private accepted = new Map<ObjectKey, string>();
  private acceptedTables?: string;

  constructor(readonly inner: Validator) {}

  private json(v: unknown): string {
    if (!isRecord(v)) return JSON.stringify(v) ?? "undefined";
    let s = this.jsonOf.get(v);
    if (s === undefined) {
      s = JSON.stringify(v);
      this.jsonOf.set(v, s);
    }
    return s;
  }

  private reset(): void {
    this.verdicts.clear();
    this.served.clear();
    this.docWarnings = [];
  }

  async check(doc: RawDocument, envoy: EnvoySide): Promise<IncrementalVerdict> {
    const full = async (): Promise<IncrementalVerdict> => {
      // Objects the filter cannot tell apart by id: only the whole document says which one wins.
      this.reset();
      const v = await this.inner.check(doc, envoy);
      return { ...v, kept: [], checked: OBJECT_SECTIONS.reduce((n, s) => n + doc[s].length, 0) };
    };
    if ((doc.otherSections ?? []).some((s) => RESERVED_SECTIONS.includes(s))) return full();
    const context = JSON.stringify([envoy, doc.otherSections ?? []]);
    if (context !== this.context) {
      this.reset();
      this.context = context;
    }
    // Every object of the document with its key (config_yaml's id when it has
    // none). Ids and cluster names are given only to objects whose value
    // changed: the others are their cached, already named selves.
    const items: { section: ObjectSection; index: number; key: ObjectKey; id: string; cmp: string; obj: Record<string, unknown> }[] = [];
    for (const s of OBJECT_SECTIONS) {
      const seen = new Set<string>();
      for (let i = 0; i < doc[s].length; i++) {
        const raw = doc[s][i];
        if (!isRecord(raw)) return full();
        const assigned = raw.id === undefined || raw.id === null;
        const id = assigned ? `${s}#${i + 1}` : idText(raw.id);
        if (id === undefined || seen.has(id)) return full();
        seen.add(id);
        const key = `${s}/${id}`,
          cmp = assigned ? `${id}\u0000${this.json(raw)}` : this.json(raw);
        const cached = this.verdicts.get(key);
        let obj = cached?.cmp === cmp ? cached.obj : undefined;
        if (!obj) {
          const one = { origin: doc.origin, routes: [], upstreams: [], services: [], ssls: [], [s]: [assigned ? { ...raw, id } : raw] } as RawDocument;
          obj = withClusterNames(assignIds(one))[s][0] as Record<string, unknown>;
        }
        items.push({ section: s, index: i, key, id, cmp, obj });
      }
    }
    const byKey = new Map(items.map((x) => [x.key, x]));
    const changed = items.filter((x) => this.verdicts.get(x.key)?.cmp !== x.cmp);
    for (const k of [...this.verdicts.keys()]) if (!byKey.has(k)) this.verdicts.delete(k);

    let checked = 0;
    // Runs `targets` through the filter with the valid objects they reference
    // alongside, and stores their verdicts (errors too when `withErrors`).
    const run = async (targets: typeof items, withErrors: boolean, validNow: (k: ObjectKey) => Record<string, unknown> | undefined) => {
      const inBatch = new Set(targets.map((x) => x.key));
      const body: RawDocument = { origin: doc.origin, routes: [], upstreams: [], services: [], ssls: [], otherSections: doc.otherSections };
      const owner: { section: ObjectSection; item?: (typeof items)[number] }[][] = OBJECT_SECTIONS.map(() => []);
      const add = (section: ObjectSection, obj: Record<string, unknown>, item?: (typeof items)[number]) => {
        body[section].push(obj);
        owner[OBJECT_SECTIONS.indexOf(section)].push({ section, item });
      };
      for (const t of targets) add(t.section, t.obj, t);
      const extra = new Set<ObjectKey>();
      for (const t of targets)
        for (const r of referencesOf(t.section, t.obj)) {
          if (inBatch.has(r) || extra.has(r)) continue;
          const v = validNow(r);
          if (v) {
            extra.add(r);
            add(r.slice(0, r.indexOf("/")) as ObjectSection, v);
          }
        }
      checked += body.routes.length + body.upstreams.length + body.services.length + body.ssls.length;
      const v = await this.inner.check(body, envoy);
      const droppedAt = new Map(v.dropped.map((d) => [`${d.section}/${d.index}`, d]));
      const prefixes = new Map<string, (typeof items)[number] | null>();
      OBJECT_SECTIONS.forEach((s, si) =>
        owner[si].forEach((o, pos) => {
          const id = o.item ? o.item.id : idText((body[s][pos] as Record<string, unknown>).id)!;
          prefixes.set(`${s}[${id}]`, o.item ?? null);
        }),
      );
      const warningsFor = new Map<ObjectKey, string[]>();
      const docWarnings: string[] = [];
      for (const w of v.warnings) {
        const m = /^[a-z]+\[[^\]]*\]/.exec(w);
        const who = m ? prefixes.get(m[0]) : undefined;
        if (who === undefined) docWarnings.push(w);
        else if (who !== null) warningsFor.set(who.key, [...(warningsFor.get(who.key) ?? []), w]);
      }
      OBJECT_SECTIONS.forEach((s, si) =>
        owner[si].forEach((o, pos) => {
          const t = o.item;
          if (!t) return;
          const d = droppedAt.get(`${s}/${pos}`);
          const warnings = warningsFor.get(t.key) ?? [];
          if (withErrors) this.verdicts.set(t.key, { cmp: t.cmp, obj: t.obj, ok: !d, errors: d ? d.errors : [], warnings });
          else this.verdicts.get(t.key)!.warnings = warnings;
        }),
      );
      return docWarnings;
    };

    // What each key serves: its valid value, or (kept) its previous one.
    const keep = doc.keepPrevious;
    const serving = (k: ObjectKey): Record<string, unknown> | undefined => {
      const v = this.verdicts.get(k);
      if (v?.ok) return v.obj;
      if (v && keep?.has(k)) return this.served.get(k);
      return undefined;
    };
    if (changed.length > 0 || this.verdicts.size === 0) {
      this.docWarnings = await run(changed, true, (k) => {
        // a referenced object as this document serves it (those being checked now are in the batch)
        const v = this.verdicts.get(k),
          x = byKey.get(k);
        if (!v || !x) return undefined;
        if (v.ok && v.cmp === x.cmp) return v.obj;
        return keep?.has(k) ? this.served.get(k) : undefined;
      });
    }
    // Ids that started or stopped being served change the reference warnings
    // of the objects naming them; so does a changed object whose invalid
    // value was refused (the batch above saw it dropped, but it still serves).
    const servedNow = new Map<ObjectKey, Record<string, unknown>>();
    for (const x of items) {
      const o = serving(x.key);
      if (o) servedNow.set(x.key, o);
    }
    const appeared = new Set<ObjectKey>();
    for (const k of servedNow.keys()) if (!this.served.has(k)) appeared.add(k);
    for (const k of this.served.keys()) if (!servedNow.has(k)) appeared.add(k);
    const fresh = new Set(changed.map((x) => x.key));
    const refused = new Set(changed.filter((x) => servedNow.has(x.key) && !this.verdicts.get(x.key)!.ok).map((x) => x.key));
    if (appeared.size > 0 || refused.size > 0) {
      const referrers = items.filter(
        (x) => this.verdicts.get(x.key)!.ok && referencesOf(x.section, x.obj).some((r) => refused.has(r) || (!fresh.has(x.key) && appeared.has(r))),
      );
      if (referrers.length > 0) await run(referrers, false, (k) => servedNow.get(k));
    }
    this.served = servedNow;

    const objects = {} as Objects;
    for (const s of OBJECT_SECTIONS) objects[s] = [];
    const dropped: DroppedObject[] = [];
    const kept: KeptObject[] = [];
    const warnings = [...this.docWarnings];
    for (const x of items) {
      const v = this.verdicts.get(x.key)!;
      const o = servedNow.get(x.key);
      if (o) objects[x.section].push(o);
      if (!v.ok) (o ? kept : dropped).push({ section: x.section, index: x.index, id: x.id, errors: v.errors } as KeptObject);
      if (warnings.length < MAX_WARNINGS) warnings.push(...v.warnings);
    }
    return { objects, dropped, kept, warnings: warnings.slice(0, MAX_WARNINGS), checked };
  }

  /**
   * The final check of the exact ECDS configuration, incrementally: the
   * tables that are not objects (dns, health, envoy) must be the ones the
   * previous objects were accepted with, else everything is checked again.
   */
  async accepts(json: string): Promise<{ ok: boolean; errors: string[] }> {
    let doc: unknown;
    try {
      doc = JSON.parse(json);
    } catch {
      return this.inner.accepts(json);
    }
    if (!isRecord(doc)) return this.inner.accepts(json);
    const tables: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) if (!(OBJECT_SECTIONS as readonly string[]).includes(k)) tables[k] = v;
    const tablesJson = JSON.stringify(tables);
    if (tablesJson !== this.acceptedTables) {
      this.accepted.clear();
      this.acceptedTables = undefined;
    }
    const now = new Map<ObjectKey, string>();
    const batch: Record<string, unknown> = { ...tables };
    for (const s of OBJECT_SECTIONS) {
      const list = doc[s];
      if (list === undefined) continue;
      if (!Array.isArray(list)) return this.inner.accepts(json);
      const mine: unknown[] = [];
      for (const o of list) {
        const id = isRecord(o) ? idText(o.id) : undefined;
        const key = `${s}/${id}`;
        if (id === undefined || now.has(key)) {
          // not keyable: only the whole document can be judged
          this.accepted.clear();
          this.acceptedTables = undefined;
          return this.inner.accepts(json);
        }
        const j = JSON.stringify(o);
        now.set(key, j);
        if (this.accepted.get(key) !== j) mine.push(o);
      }
      batch[s] = mine;
    }
    const r = await this.inner.accepts(JSON.stringify(batch));
    if (!r.ok) return r;
    this.accepted = now;
    this.acceptedTables = tablesJson;
    return r;
  }
}
