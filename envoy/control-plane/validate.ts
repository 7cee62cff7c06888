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
import type { EnvoySide } from "./config.ts";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { ProxyWasmHost } from "../../host/index.ts";
import { withClusterNames } from "./names.ts";
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
  private constructor(private readonly module: WebAssembly.Module, readonly wasmPath: string) {}

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
        invalid = parts.includes("document") ? null : parts.map((p) => {
          const [section, index] = p.split("/");
          return { section: section as ObjectSection, index: Number(index) };
        });
      }
    }
    return { accepted: v.accepted, errors, warnings, invalid: v.accepted ? [] : invalid, failure: v.failure ? `the filter trapped: ${v.failure.message}` : v.error };
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
      if (RESERVED_SECTIONS.includes(s)) throw new ConfigError(`${s}: unknown section (the control plane writes "${s}" itself; an APISIX file has routes, upstreams, services, ssls)`);
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
      if (r.invalid === null || r.invalid.length === 0) throw new ConfigError(`rejected by the filter: ${[r.failure, ...r.errors].filter(Boolean).join("; ") || "no reason given"}`);
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
