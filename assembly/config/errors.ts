// Validation errors carry the path of the offending field, written the way an
// operator finds it in their YAML: `upstreams[u1].nodes[0].port: ...`.
// Objects are addressed by id (not by array index) whenever they have one.

import { lowerAscii } from "../ascii";
import { JsonKind, JsonValue, quote } from "../json";
import { text } from "./text";
import { i64Text } from "../f64text";

export class Issues {
  errors: Array<string> = new Array<string>();
  warnings: Array<string> = new Array<string>();
  // How many errors were found (errors keeps the first 50 of them).
  count: i32 = 0;
  // Every object that had an error, as "<section>/<position>". The control
  // plane reads the list (see invalidObjects()) to drop those objects one by
  // one, as APISIX's config_yaml does, instead of refusing the whole document.
  objects: Array<string> = new Array<string>();
  // Errors about the document itself (its JSON, an unknown section, dns,
  // health, envoy): dropping objects cannot fix those.
  documentErrors: i32 = 0;

  // The object being parsed (enter/named/leave). Inside it every path is
  // relative to it ("" is the object itself, ".uri" a field), and the full
  // path ("routes[r1].uri") is built only when an issue is reported: a valid
  // document then costs no path strings at all.
  private section: string = "";
  private index: i32 = 0;
  private id: string = "";
  private flagged: bool = false;
  // One list element inside the object (a node of an upstream's `nodes`
  // list), the same way: paths given meanwhile are relative to it.
  private list: string = "";
  private item: i32 = 0;

  // Starts object `index` of `section`; it is named by its position until named().
  enter(section: string, index: i32): void {
    this.section = section;
    this.index = index;
    this.id = "";
    this.flagged = false;
    this.list = "";
  }

  // From here on the object is named by its id: "routes[r1]".
  named(id: string): void { this.id = id; }

  // Back to the document: paths are absolute again.
  leave(): void { this.section = ""; this.list = ""; }

  // Element `index` of the list at `list` (a path within the object, e.g.
  // ".nodes"), until leaveItem().
  enterItem(list: string, index: i32): void { this.list = list; this.item = index; }
  leaveItem(): void { this.list = ""; }

  // The absolute path of `path`.
  pathOf(path: string): string {
    if (this.section.length == 0 && this.list.length == 0) return path;
    const b = text.reset();
    if (this.section.length) {
      b.add(this.section).add("[");
      if (this.id.length) b.add(this.id); else b.addInt(this.index);
      b.add("]");
    }
    if (this.list.length) b.add(this.list).add("[").addInt(this.item).add("]");
    return b.add(path).take();
  }

  error(path: string, msg: string): void {
    this.count++;
    // A broken document can produce thousands of errors; the first ones are
    // what an operator needs, the rest would only flood Envoy's log.
    if (this.errors.length < 50) this.errors.push(this.pathOf(path) + ": " + msg);
    if (this.section.length == 0) this.documentErrors++;
    else if (!this.flagged) {
      this.flagged = true;
      this.objects.push(text.reset().add(this.section).add("/").addInt(this.index).take());
    }
  }

  // "<what>, got <the value's JSON type>".
  got(path: string, what: string, v: JsonValue): void {
    this.error(path, what + ", got " + v.typeName());
  }

  warn(path: string, msg: string): void {
    if (this.warnings.length < 50) this.warnings.push(this.pathOf(path) + ": " + msg);
  }

  get ok(): bool { return this.errors.length == 0; }
}

// `path` + `field` without allocating when `path` is "" (a field of the
// object being parsed), the common case.
export function subPath(path: string, field: string): string {
  return path.length ? path + field : field;
}

// "<path>[<i>]": element i of the list at path.
export function indexed(path: string, i: i32): string {
  return text.reset().add(path).add("[").addInt(i).add("]").take();
}

export function describe(v: JsonValue): string {
  const s = v.toJSON();
  return s.length > 80 ? s.substring(0, 77) + "..." : s;
}

// Object ids: APISIX accepts a string of 1-64 chars [a-zA-Z0-9-_.] or an
// integer >= 1 (schema_def.id_schema). Integers are normalised to their
// decimal text so `upstream_id: 1` and `id: "1"` refer to the same object.
// An object's own id may also be the one APISIX's config_yaml gives an
// object without id: "<section>#<position from 1>" (e.g. "routes#2"). Only
// the control plane assigns those; a reference (upstream_id, ...) to one is
// still checked by readId, as APISIX's id_schema checks references.
function isAutoId(s: string, section: string): bool {
  const n = section.length;
  if (s.length < n + 2 || s.length > n + 11 || !s.startsWith(section) || s.charCodeAt(n) != 0x23) return false;
  if (s.charCodeAt(n + 1) == 0x30) return false;
  for (let i = n + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

// readId of member `at` of obj (-1: absent); a valid string id is read
// without making the member's JsonValue. With a `section`, the member is
// that section's object's own id, which may also be an automatic one.
export function readIdAt(obj: JsonValue, at: i32, path: string, issues: Issues, section: string): string {
  if (at < 0) return "";
  if (obj.kindAt(at) == JsonKind.String) {
    const s = obj.strAt(at);
    if (isPlainId(s)) return s;
  }
  const v = obj.at(at);
  if (section.length && v.isString() && isAutoId(v.str, section)) return v.str;
  return readId(v, path, issues);
}

// A string id as readId accepts it: 1-64 characters of [a-zA-Z0-9-_.].
function isPlainId(s: string): bool {
  const n = s.length;
  return n >= 1 && n <= 64 && idChars(s, 0);
}

// Whether the characters of s from `from` on are all [a-zA-Z0-9-_.]: ids,
// and route hosts (schema_def host_def) after their optional "*".
export function idChars(s: string, from: i32): bool {
  const p = changetype<usize>(s);
  for (let i = from, n = s.length; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e)) return false;
  }
  return true;
}

export function readId(v: JsonValue | null, path: string, issues: Issues): string {
  if (v === null) return "";
  if (v.isInteger()) {
    if (v.num < 1) { issues.error(path, "expected an integer id >= 1, got " + describe(v)); return ""; }
    // Beyond 2^53 a JSON number no longer names one integer (Lua's doubles
    // have the same limit), so two different ids could collide.
    if (v.num > 9007199254740991) { issues.error(path, "integer id " + describe(v) + " is too large (max 2^53-1); use a string id"); return ""; }
    return i64Text(<i64>v.num);
  }
  if (!v.isString()) { issues.got(path, "expected a string or integer id", v); return ""; }
  const s = v.str;
  if (s.length < 1 || s.length > 64) { issues.error(path, "id length must be 1-64, got " + s.length.toString()); return ""; }
  if (!isPlainId(s)) { issues.error(path, "id " + quote(s) + " has characters outside [a-zA-Z0-9-_.]"); return ""; }
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
  if (!v.isString()) { issues.got(path + "." + key, "expected a string", v); return def; }
  return v.str;
}

export function optBool(obj: JsonValue, key: string, path: string, issues: Issues, def: bool = false): bool {
  return boolMember(obj.get(key), key, path, issues, def);
}

// optBool for a member already looked up (null: absent).
export function boolMember(v: JsonValue | null, key: string, path: string, issues: Issues, def: bool = false): bool {
  if (v === null) return def;
  if (!v.isBool()) { issues.got(path + "." + key, "expected a boolean", v); return def; }
  return v.bool;
}

// An integer member in [min, max] (v null: absent, def).
export function intMember(v: JsonValue | null, key: string, path: string, issues: Issues, def: i64, min: i64, max: i64): i64 {
  if (v === null) return def;
  let msg: string;
  if (!v.isInteger()) msg = "expected an integer, got " + describe(v);
  else if (v.num < <f64>min) msg = "expected " + describe(v) + " to be at least " + i64Text(min);
  else if (v.num > <f64>max) msg = "expected " + describe(v) + " to be at most " + i64Text(max);
  else return <i64>v.num;
  issues.error(path + "." + key, msg);
  return def;
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

// PEM armour ("-----BEGIN <label>-----" … "-----END <label>-----") around a
// base64 body. Envoy NACKs a whole CDS update when one cluster's
// certificate does not load, so a value that is not even PEM is refused
// here, naming the object, instead of there, naming nothing APISIX knows.
export function checkPem(v: JsonValue, label: string, minLength: i32, path: string, issues: Issues): void {
  if (!v.isString()) { issues.got(path, "expected a PEM string", v); return; }
  const s = v.str;
  if (s.length < minLength) { issues.error(path, "expected a PEM " + lowerAscii(label) + " (at least " + minLength.toString() + " characters)"); return; }
  const begin = s.indexOf("-----BEGIN ");
  const end = s.indexOf("-----END ");
  if (begin < 0 || end < begin || !pemLabelOk(s, begin + 11, label) || !pemLabelOk(s, end + 9, label)) {
    issues.error(path, "not PEM: expected \"-----BEGIN ..." + label + "-----\" ... \"-----END ..." + label + "-----\"");
    return;
  }
  const bodyStart = s.indexOf("-----", begin + 11) + 5;
  let n = 0;
  for (let i = bodyStart; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x0a || c == 0x0d || c == 0x20 || c == 0x09) continue;
    const b64 = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2b || c == 0x2f || c == 0x3d;
    // PEM headers such as "Proc-Type: 4,ENCRYPTED" (legacy encrypted keys) sit before the body.
    if (!b64 && c != 0x3a && c != 0x2c && c != 0x2d) { issues.error(path, "not PEM: the body between the BEGIN and END lines is not base64"); return; }
    n++;
  }
  if (n == 0) issues.error(path, "not PEM: empty body");
}

// The label after BEGIN/END ends with `label` (e.g. "RSA PRIVATE KEY",
// "EC PRIVATE KEY", "PRIVATE KEY" for the key) and then "-----".
function pemLabelOk(s: string, from: i32, label: string): bool {
  const close = s.indexOf("-----", from);
  if (close < 0 || close - from > 40) return false;
  return s.substring(from, close).endsWith(label);
}
