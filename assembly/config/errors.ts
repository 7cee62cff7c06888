// Validation errors carry the path of the offending field, written the way an
// operator finds it in their YAML: `upstreams[u1].nodes[0].port: ...`.
// Objects are addressed by id (not by array index) whenever they have one.

import { JsonValue, quote } from "../json";

export class Issues {
  errors: Array<string> = new Array<string>();
  warnings: Array<string> = new Array<string>();

  error(path: string, msg: string): void {
    // A broken document can produce thousands of errors; the first ones are
    // what an operator needs, the rest would only flood Envoy's log.
    if (this.errors.length < 50) this.errors.push(path + ": " + msg);
  }

  warn(path: string, msg: string): void {
    if (this.warnings.length < 50) this.warnings.push(path + ": " + msg);
  }

  get ok(): bool { return this.errors.length == 0; }
}

export function describe(v: JsonValue): string {
  const s = v.toJSON();
  return s.length > 80 ? s.substring(0, 77) + "..." : s;
}

// Object ids: APISIX accepts a string of 1-64 chars [a-zA-Z0-9-_.] or an
// integer >= 1 (schema_def.id_schema). Integers are normalised to their
// decimal text so `upstream_id: 1` and `id: "1"` refer to the same object.
export function readId(v: JsonValue | null, path: string, issues: Issues): string {
  if (v === null) return "";
  if (v.isInteger()) {
    if (v.num < 1) { issues.error(path, "expected an integer id >= 1, got " + describe(v)); return ""; }
    // Beyond 2^53 a JSON number no longer names one integer (Lua's doubles
    // have the same limit), so two different ids could collide.
    if (v.num > 9007199254740991) { issues.error(path, "integer id " + describe(v) + " is too large (max 2^53-1); use a string id"); return ""; }
    return (<i64>v.num).toString();
  }
  if (!v.isString()) { issues.error(path, "expected a string or integer id, got " + v.typeName()); return ""; }
  const s = v.str;
  if (s.length < 1 || s.length > 64) { issues.error(path, "id length must be 1-64, got " + s.length.toString()); return ""; }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e;
    if (!ok) { issues.error(path, "id " + quote(s) + " has characters outside [a-zA-Z0-9-_.]"); return ""; }
  }
  return s;
}

// Object keys that APISIX's schema does not define are rejected
// (additionalProperties: false) so typos never silently change routing.
export function checkKeys(obj: JsonValue, allowed: Array<string>, path: string, issues: Issues): void {
  for (let i = 0; i < obj.length; i++) {
    const k = obj.keyAt(i);
    if (!allowed.includes(k)) issues.error(path + "." + k, "unknown field (not in APISIX's schema)");
  }
}

export function optString(obj: JsonValue, key: string, path: string, issues: Issues, def: string = ""): string {
  const v = obj.get(key);
  if (v === null) return def;
  if (!v.isString()) { issues.error(path + "." + key, "expected a string, got " + v.typeName()); return def; }
  return v.str;
}

export function optBool(obj: JsonValue, key: string, path: string, issues: Issues, def: bool = false): bool {
  const v = obj.get(key);
  if (v === null) return def;
  if (!v.isBool()) { issues.error(path + "." + key, "expected a boolean, got " + v.typeName()); return def; }
  return v.bool;
}

export function optInt(obj: JsonValue, key: string, path: string, issues: Issues, def: i64, min: i64, max: i64): i64 {
  const v = obj.get(key);
  if (v === null) return def;
  if (!v.isInteger()) { issues.error(path + "." + key, "expected an integer, got " + describe(v)); return def; }
  if (v.num < <f64>min) { issues.error(path + "." + key, "expected " + describe(v) + " to be at least " + min.toString()); return def; }
  if (v.num > <f64>max) { issues.error(path + "." + key, "expected " + describe(v) + " to be at most " + max.toString()); return def; }
  return <i64>v.num;
}

export function enumString(obj: JsonValue, key: string, values: Array<string>, path: string, issues: Issues, def: string): string {
  const v = obj.get(key);
  if (v === null) return def;
  if (!v.isString() || !values.includes(v.str)) {
    issues.error(path + "." + key, describe(v) + " matches none of the enum values [" + values.join(", ") + "]");
    return def;
  }
  return v.str;
}
