// A small JSON reader for the plugin configuration.
//
// It reads UTF-8 bytes directly (no intermediate UTF-16 copy of the whole
// document) because a 10,000-route config is several megabytes, and it never
// traps: every malformed input ends in an error with the byte offset.
//
// Cost is linear in the document: objects with many members (a `health`
// table, a map of 50,000 nodes) get a hash index for duplicate keys and
// lookups; short ASCII strings (keys, and values such as "roundrobin" that
// repeat across thousands of objects) are shared through a small intern
// table; plain integers are read without an intermediate string.

import { f64Text, i64Text } from "./f64text";
import { parseDecimal } from "./numparse";

export const enum JsonKind { Null, Bool, Number, String, Array, Object }

// The members of every array and object of one document, container after
// container (each container's members are contiguous), in parallel arrays.
// A member is a slot here, not a heap object: a 10,000-route config has
// about 60,000 values, and each object would be allocated, then swept by
// the collection that ends the configure. at() and get() make a member's
// JsonValue when something asks for it (kept in `kids`, so it is made
// once); the config reader's hot paths read scalars with kindAt/strAt/numAt
// and walk large arrays of objects with view().
// Slots [0, len) are in use; the arrays are grown (doubled) by hand so that
// a container's members are appended with one memory.copy per array.
class JsonDoc {
  len: i32 = 0;
  keys: StaticArray<string>;
  kinds: StaticArray<u8>;
  // A number's value, a boolean as 0 or 1; for an array or object the
  // bits of (start << 32 | count), its members' slots.
  nums: StaticArray<f64>;
  strs: StaticArray<string>;
  // The member's JsonValue once made; made while parsing for an object
  // with a key index.
  kids: StaticArray<JsonValue | null>;

  constructor(capacity: i32) {
    this.keys = new StaticArray<string>(capacity);
    this.kinds = new StaticArray<u8>(capacity);
    this.nums = new StaticArray<f64>(capacity);
    this.strs = new StaticArray<string>(capacity);
    this.kids = new StaticArray<JsonValue | null>(capacity);
  }

  // Room for slots [0, n).
  reserve(n: i32): void {
    const cap = this.kinds.length;
    if (n <= cap) return;
    const c = max(n, cap << 1);
    this.keys = grown<string>(this.keys, c, this.len);
    this.kinds = grown<u8>(this.kinds, c, this.len);
    this.nums = grown<f64>(this.nums, c, this.len);
    this.strs = grown<string>(this.strs, c, this.len);
    this.kids = grown<JsonValue | null>(this.kids, c, this.len);
  }

  // Appends slots [from, from + n) of `src`.
  append(src: JsonDoc, from: i32, n: i32): void {
    const at = this.len;
    this.reserve(at + n);
    copySlots<string>(this.keys, at, src.keys, from, n);
    copySlots<u8>(this.kinds, at, src.kinds, from, n);
    copySlots<f64>(this.nums, at, src.nums, from, n);
    copySlots<string>(this.strs, at, src.strs, from, n);
    copySlots<JsonValue | null>(this.kids, at, src.kids, from, n);
    this.len = at + n;
  }
}

// `a` with room for c slots and its first n slots kept.
function grown<T>(a: StaticArray<T>, c: i32, n: i32): StaticArray<T> {
  const b = new StaticArray<T>(c);
  memory.copy(changetype<usize>(b), changetype<usize>(a), <usize>n * sizeof<T>());
  return b;
}

// The minimal runtime's collector needs no write barrier: references are
// copied as bytes.
@inline function copySlots<T>(dst: StaticArray<T>, at: i32, src: StaticArray<T>, from: i32, n: i32): void {
  memory.copy(changetype<usize>(dst) + <usize>at * sizeof<T>(), changetype<usize>(src) + <usize>from * sizeof<T>(), <usize>n * sizeof<T>());
}

@inline function span(start: i32, count: i32): f64 {
  return reinterpret<f64>((<i64>start << 32) | <i64><u32>count);
}

export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  bool: bool = false;
  num: f64 = 0;
  str: string = "";
  // An array's items or an object's members, in document order (APISIX's
  // map-form nodes have an order that matters to round robin): slots
  // [start, start + count) of doc. Null for scalars and empty containers.
  doc: JsonDoc | null = null;
  start: i32 = 0;
  count: i32 = 0;
  // Key → member index, for objects with at least INDEX_FROM members.
  index: Map<string, i32> | null = null;

  static null(): JsonValue { return new JsonValue(); }

  // The member table, for a container with count > 0 (which always has one:
  // doc is null only when count is 0), so the callers' bounds checks cover it.
  @inline private members(): JsonDoc { return changetype<JsonDoc>(this.doc); }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isString(): bool { return this.kind == JsonKind.String; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isObject(): bool { return this.kind == JsonKind.Object; }
  isInteger(): bool { return this.kind == JsonKind.Number && isFinite(this.num) && Math.floor(this.num) == this.num; }

  get length(): i32 { return this.count; }

  // Item i, 0 <= i < count.
  private item(i: i32): JsonValue {
    const d = this.members();
    const p = this.start + i;
    const kid = unchecked(d.kids[p]);
    if (kid !== null) return kid;
    const v = new JsonValue();
    fill(v, d, p);
    unchecked(d.kids[p] = v);
    return v;
  }

  // Item i as at() returns it, except that an array or object item that
  // has no JsonValue yet is read into `into` (whose previous contents are
  // overwritten) instead of a new one: a loop over 10,000 routes makes no
  // object per route. The result is valid until `into` is reused.
  view(i: i32, into: JsonValue): JsonValue {
    if (i < 0 || i >= this.count) return JsonValue.null();
    const d = this.members();
    const p = this.start + i;
    const kid = unchecked(d.kids[p]);
    if (kid !== null) return kid;
    const k = <JsonKind>unchecked(d.kinds[p]);
    if (k != JsonKind.Array && k != JsonKind.Object) return this.item(i);
    fill(into, d, p);
    return into;
  }

  at(i: i32): JsonValue {
    if (i < 0 || i >= this.count) return JsonValue.null();
    return this.item(i);
  }

  keyAt(i: i32): string {
    if (this.kind != JsonKind.Object || i < 0 || i >= this.count) return "";
    return unchecked(this.members().keys[this.start + i]);
  }

  // Item i's kind, string and number without making its JsonValue (Null,
  // "" and 0 outside 0 <= i < count; strAt is "" unless it is a string,
  // numAt 0 unless it is a number or a boolean).
  kindAt(i: i32): JsonKind {
    if (i < 0 || i >= this.count) return JsonKind.Null;
    return <JsonKind>unchecked(this.members().kinds[this.start + i]);
  }

  strAt(i: i32): string {
    if (i < 0 || i >= this.count) return "";
    return unchecked(this.members().strs[this.start + i]);
  }

  numAt(i: i32): f64 {
    if (i < 0 || i >= this.count) return 0;
    const p = this.start + i;
    const d = this.members();
    return unchecked(d.kinds[p]) >= <u8>JsonKind.Array ? 0 : unchecked(d.nums[p]);
  }

  // Position of member `key`, -1 when absent (or not an object): linear
  // for the usual small object, hashed for large ones.
  find(key: string): i32 {
    if (this.kind != JsonKind.Object) return -1;
    const index = this.index;
    if (index !== null) return index.has(key) ? index.get(key) : -1;
    if (this.count == 0) return -1;
    const keys = this.members().keys;
    for (let i = this.start, n = this.start + this.count; i < n; i++) {
      if (sameKey(unchecked(keys[i]), key)) return i - this.start;
    }
    return -1;
  }

  // Object member lookup; null when absent so callers can tell absent from
  // JSON null.
  get(key: string): JsonValue | null {
    const i = this.find(key);
    return i < 0 ? null : this.item(i);
  }

  has(key: string): bool { return this.find(key) >= 0; }

  // This value on its own: a container read from a document shares the
  // document's member table, so one kept beyond the configure (an
  // upstream's `checks`, a vars operand) would keep the whole document
  // alive; this copy holds only its own members.
  detached(): JsonValue {
    if (this.doc === null) return this;
    const p = new Parser(Uint8Array.wrap(String.UTF8.encode(this.toJSON())));
    const v = p.document();
    return v !== null ? v : this;
  }

  typeName(): string {
    switch (this.kind) {
      case JsonKind.Null: return "null";
      case JsonKind.Bool: return "boolean";
      case JsonKind.Number: return this.isInteger() ? "integer" : "number";
      case JsonKind.String: return "string";
      case JsonKind.Array: return "array";
      default: return "object";
    }
  }

  // Compact JSON text, used to fingerprint objects (picker caches) and to
  // log values in error messages.
  toJSON(): string {
    const out = new Array<string>();
    this.write(out);
    return joinStrings(out, "");
  }

  private write(out: Array<string>): void {
    switch (this.kind) {
      case JsonKind.Array: {
        out.push("[");
        for (let i = 0; i < this.length; i++) {
          if (i > 0) out.push(",");
          this.writeItem(i, out);
        }
        out.push("]");
        break;
      }
      case JsonKind.Object: {
        out.push("{");
        for (let i = 0; i < this.length; i++) {
          if (i > 0) out.push(",");
          out.push(quote(this.keyAt(i)));
          out.push(":");
          this.writeItem(i, out);
        }
        out.push("}");
        break;
      }
      default: writeScalar(this.kind, this.bool, this.num, this.str, out);
    }
  }

  // A scalar item is written from the member table, without making its JsonValue.
  private writeItem(i: i32, out: Array<string>): void {
    const k = this.kindAt(i);
    if (k == JsonKind.Array || k == JsonKind.Object) this.item(i).write(out);
    else writeScalar(k, this.numAt(i) != 0, this.numAt(i), this.strAt(i), out);
  }
}

// `v` becomes the value of slot p of d (its key index, if it has one, is
// on the JsonValue made while parsing, never filled here).
function fill(v: JsonValue, d: JsonDoc, p: i32): void {
  const k = <JsonKind>unchecked(d.kinds[p]);
  const n = unchecked(d.nums[p]);
  v.kind = k;
  v.index = null;
  if (k == JsonKind.Array || k == JsonKind.Object) {
    const bits = reinterpret<i64>(n);
    v.count = <i32>(bits & 0xffffffff);
    v.start = <i32>(bits >>> 32);
    v.doc = v.count > 0 ? d : null;
    v.num = 0;
    v.bool = false;
    v.str = "";
  } else {
    v.num = n;
    v.bool = k == JsonKind.Bool && n != 0;
    v.str = unchecked(d.strs[p]);
    v.doc = null;
    v.start = 0;
    v.count = 0;
  }
}

function writeScalar(kind: JsonKind, b: bool, num: f64, str: string, out: Array<string>): void {
  switch (kind) {
    case JsonKind.Null: out.push("null"); break;
    case JsonKind.Bool: out.push(b ? "true" : "false"); break;
    case JsonKind.Number: out.push(formatNumber(num)); break;
    default: out.push(quote(str));
  }
}

// String equality with the common outcomes first: keys read from a document
// are interned (equal ones are usually the same string), and different keys
// usually differ in length; both are answered without a call.
@inline function sameKey(a: string, b: string): bool {
  if (changetype<usize>(a) == changetype<usize>(b)) return true;
  return a.length == b.length && a == b;
}

// Array#join builds its result by repeated concatenation, quadratic in the
// number of parts; this sizes the result once and copies each part once.
export function joinStrings(parts: Array<string>, sep: string): string {
  const n = parts.length;
  if (n == 0) return "";
  const sepBytes = <usize>sep.length << 1;
  let total: usize = sepBytes * <usize>(n - 1);
  for (let i = 0; i < n; i++) total += <usize>unchecked(parts[i]).length << 1;
  const out = changetype<string>(__new(total, idof<string>()));
  let p = changetype<usize>(out);
  for (let i = 0; i < n; i++) {
    if (i > 0 && sepBytes) { memory.copy(p, changetype<usize>(sep), sepBytes); p += sepBytes; }
    const part = unchecked(parts[i]);
    const b = <usize>part.length << 1;
    memory.copy(p, changetype<usize>(part), b);
    p += b;
  }
  return out;
}

export function formatNumber(n: f64): string {
  if (isFinite(n) && Math.floor(n) == n && Math.abs(n) < 9007199254740992) return i64Text(<i64>n);
  return f64Text(n);
}

export function quote(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x22 || c == 0x5c) { needs = true; break; }
  }
  if (!needs) return "\"" + s + "\"";
  const parts = new Array<string>();
  parts.push("\"");
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // " \ and the usual control characters have short escapes: \" \\ \n \r \t.
    const short = "\"\\\n\r\t".indexOf(String.fromCharCode(c));
    if (short >= 0) parts.push("\\" + "\"\\nrt".charAt(short));
    // Written out rather than c.toString(16): no other caller needs a radix,
    // so ~lib's itoa keeps only its decimal path.
    else if (c < 0x20) parts.push("\\u00" + (c < 16 ? "0" : "1") + "0123456789abcdef".charAt(c & 15));
    else parts.push(String.fromCharCode(c));
  }
  parts.push("\"");
  return joinStrings(parts, "");
}

export class JsonResult {
  value: JsonValue | null = null;
  error: string = "";
}

const MAX_DEPTH = 128;
// Objects this large get a key index (below it a scan is cheaper).
const INDEX_FROM = 16;

// Intern table for short ASCII strings: direct-mapped by a hash of the bytes,
// a hit is verified byte for byte, a miss replaces the slot. Shared across
// parses (strings are immutable), so applying the same config again reuses
// the strings it already holds. Sized by the document (about one slot per
// 16 bytes, within [MIN, MAX]): a large route table streams thousands of
// unique ids and uris through it, which in a small table evict the values
// that do repeat (an upstream_id every thousand routes) before they repeat,
// and the ids and uris themselves before the next apply of the same table
// could reuse them (then they are neither allocated again nor swept).
const INTERN_MIN_SLOTS = 1024;
const INTERN_MAX_SLOTS = 65536;
const INTERN_MAX_LEN = 64;
let interned = new StaticArray<string>(INTERN_MIN_SLOTS);

function sizeInternTable(documentBytes: i32): void {
  let slots = INTERN_MIN_SLOTS;
  while (slots < INTERN_MAX_SLOTS && slots * 16 < documentBytes) slots <<= 1;
  if (slots != interned.length) interned = new StaticArray<string>(slots);
}

function sameAscii(s: string, p: usize, len: i32): bool {
  if (s.length != len) return false;
  const q = changetype<usize>(s);
  for (let i = 0; i < len; i++) if (<u32>load<u16>(q + (<usize>i << 1)) != <u32>load<u8>(p + i)) return false;
  return true;
}

// ASCII bytes widen one to one: the string is sized once, no UTF-8 decoding.
function asciiString(p: usize, len: i32): string {
  const s = __new(<usize>len << 1, idof<string>());
  for (let i = 0; i < len; i++) store<u16>(s + (<usize>i << 1), <u16>load<u8>(p + i));
  return changetype<string>(s);
}

// The string of UTF-8 bytes [p, p+len); `ascii` when none is >= 0x80.
// `h` is the FNV-1a hash of the bytes (Parser#string computes it while
// looking for the closing quote).
function decodeAt(p: usize, len: i32, ascii: bool, h: u32): string {
  if (!ascii) return String.UTF8.decodeUnsafe(p, <usize>len);
  if (len > INTERN_MAX_LEN) return asciiString(p, len);
  const table = interned;
  const slot = <i32>(h & <u32>(table.length - 1));
  const hit = unchecked(table[slot]);
  if (changetype<usize>(hit) != 0 && sameAscii(hit, p, len)) return hit;
  const s = asciiString(p, len);
  unchecked(table[slot] = s);
  return s;
}

class Parser {
  pos: i32 = 0;
  error: string = "";
  doc: JsonDoc;
  // Items of the arrays and objects being read, innermost last, in the
  // same parallel form as JsonDoc; each container's items are appended to
  // the document's table when it ends.
  stack: JsonDoc = new JsonDoc(64);
  constructor(public buf: Uint8Array) {
    // About one value per 12 bytes in a typical config; more grows the table.
    this.doc = new JsonDoc(max(16, buf.length / 12));
  }

  push(kind: JsonKind, num: f64, str: string, kid: JsonValue | null): void {
    const s = this.stack;
    const i = s.len;
    s.reserve(i + 1);
    unchecked(s.keys[i] = "");
    unchecked(s.kinds[i] = <u8>kind);
    unchecked(s.nums[i] = num);
    unchecked(s.strs[i] = str);
    unchecked(s.kids[i] = kid);
    s.len = i + 1;
  }

  // The top item replaces item `to` (a duplicate key: the last one wins).
  replace(to: i32): void {
    const s = this.stack;
    const from = s.len - 1;
    unchecked(s.keys[to] = unchecked(s.keys[from]));
    unchecked(s.kinds[to] = unchecked(s.kinds[from]));
    unchecked(s.nums[to] = unchecked(s.nums[from]));
    unchecked(s.strs[to] = unchecked(s.strs[from]));
    unchecked(s.kids[to] = unchecked(s.kids[from]));
    s.len = from;
  }

  // Moves the items [base..] into the document's member table and pushes
  // the container of kind `kind` that has them (with its key index).
  take(base: i32, kind: JsonKind, index: Map<string, i32> | null): void {
    const s = this.stack;
    const n = s.len - base;
    const d = this.doc;
    const start = d.len;
    d.append(s, base, n);
    s.len = base;
    let v: JsonValue | null = null;
    if (index !== null) {
      v = new JsonValue();
      v.kind = kind;
      v.doc = d;
      v.start = start;
      v.count = n;
      v.index = index;
    }
    this.push(kind, span(start, n), "", v);
  }

  fail(msg: string): bool {
    if (this.error.length == 0) this.error = msg + " at byte " + this.pos.toString();
    return false;
  }

  skipWs(): void {
    const buf = this.buf;
    let p = this.pos;
    const n = buf.length;
    while (p < n) {
      const c = unchecked(buf[p]);
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  peek(): i32 {
    return this.pos < this.buf.length ? <i32>unchecked(this.buf[this.pos]) : -1;
  }

  literal(word: string): bool {
    const n = word.length;
    if (this.pos + n > this.buf.length) return false;
    for (let i = 0; i < n; i++) {
      if (<i32>unchecked(this.buf[this.pos + i]) != word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  // The whole input as one value (null on an error, see `error`).
  document(): JsonValue | null {
    if (!this.value(0)) return null;
    this.skipWs();
    if (this.pos != this.buf.length) { this.fail("trailing characters after the document"); return null; }
    const kid = unchecked(this.stack.kids[0]);
    if (kid !== null) return kid;
    // The root as a member of a document of one slot.
    this.doc.append(this.stack, 0, 1);
    const v = new JsonValue();
    fill(v, this.doc, this.doc.len - 1);
    return v;
  }

  // Reads one value and pushes it as an item (key "").
  value(depth: i32): bool {
    if (depth > MAX_DEPTH) return this.fail("nesting deeper than " + MAX_DEPTH.toString());
    this.skipWs();
    const c = this.peek();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const s = this.string();
      if (s === null) return false;
      this.push(JsonKind.String, 0, s, null);
      return true;
    }
    if (c == 0x74) {
      if (!this.literal("true")) return this.fail("invalid literal");
      this.push(JsonKind.Bool, 1, "", null);
      return true;
    }
    if (c == 0x66) {
      if (!this.literal("false")) return this.fail("invalid literal");
      this.push(JsonKind.Bool, 0, "", null);
      return true;
    }
    if (c == 0x6e) {
      if (!this.literal("null")) return this.fail("invalid literal");
      this.push(JsonKind.Null, 0, "", null);
      return true;
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c < 0) return this.fail("unexpected end of input");
    return this.fail("unexpected character '" + String.fromCharCode(c) + "'");
  }

  // The end of the run of ASCII digits from p.
  private digitsEnd(p: i32): i32 {
    const buf = this.buf;
    while (p < buf.length) {
      const c = unchecked(buf[p]);
      if (c < 0x30 || c > 0x39) break;
      p++;
    }
    return p;
  }

  private badNumber(p: i32): bool {
    this.pos = p;
    return this.fail("invalid number");
  }

  number(): bool {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    const n = buf.length;
    if (p < n && buf[p] == 0x2d) p++;
    if (p >= n) return this.badNumber(p);
    if (buf[p] == 0x30) p++;
    else if (buf[p] >= 0x31 && buf[p] <= 0x39) p = this.digitsEnd(p);
    else return this.badNumber(p);
    let hasFraction = false;
    if (p < n && buf[p] == 0x2e) {
      hasFraction = true;
      const d = ++p;
      p = this.digitsEnd(p);
      if (p == d) return this.badNumber(p);
    }
    if (p < n && (buf[p] == 0x65 || buf[p] == 0x45)) {
      hasFraction = true;
      p++;
      if (p < n && (buf[p] == 0x2b || buf[p] == 0x2d)) p++;
      const d = p;
      p = this.digitsEnd(p);
      if (p == d) return this.badNumber(p);
    }
    let num: f64;
    // Plain integers of up to 15 digits are exact in an f64: no string.
    const neg = unchecked(buf[start]) == 0x2d;
    const digits = p - start - (neg ? 1 : 0);
    if (digits <= 15 && !hasFraction) {
      let n: i64 = 0;
      for (let i = neg ? start + 1 : start; i < p; i++) n = n * 10 + <i64>(unchecked(buf[i]) - 0x30);
      num = neg ? -<f64>n : <f64>n;
    } else {
      const text = String.UTF8.decodeUnsafe(changetype<usize>(buf.buffer) + <usize>buf.byteOffset + <usize>start, <usize>(p - start));
      num = parseDecimal(text);
    }
    this.pos = p;
    this.push(JsonKind.Number, num, "", null);
    return true;
  }

  hex4(): i32 {
    if (this.pos + 4 > this.buf.length) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = <i32>unchecked(this.buf[this.pos + i]);
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    this.pos += 4;
    return v;
  }

  string(): string | null {
    const buf = this.buf;
    const n = buf.length;
    this.pos++; // opening quote
    const start = this.pos;
    let p = start;
    // Fast path: no escapes.
    let high: u32 = 0;
    let h: u32 = 2166136261;
    while (p < n) {
      const c = unchecked(buf[p]);
      if (c == 0x22 || c == 0x5c || c < 0x20) break;
      high |= c;
      h = (h ^ <u32>c) * 16777619;
      p++;
    }
    if (p >= n) { this.pos = p; this.fail("unterminated string"); return null; }
    if (unchecked(buf[p]) == 0x22) {
      this.pos = p + 1;
      return decodeAt(changetype<usize>(buf.buffer) + <usize>buf.byteOffset + <usize>start, p - start, (high & 0x80) == 0, h);
    }
    // Slow path with escapes: collect UTF-16 parts.
    const parts = new Array<string>();
    if (p > start) parts.push(String.UTF8.decodeUnsafe(changetype<usize>(buf.buffer) + <usize>buf.byteOffset + <usize>start, <usize>(p - start)));
    this.pos = p;
    while (true) {
      if (this.pos >= n) { this.fail("unterminated string"); return null; }
      const c = unchecked(buf[this.pos]);
      if (c == 0x22) { this.pos++; break; }
      if (c < 0x20) { this.fail("control character in string"); return null; }
      if (c == 0x5c) {
        this.pos++;
        if (this.pos >= n) { this.fail("unterminated string"); return null; }
        const e = unchecked(buf[this.pos]);
        this.pos++;
        // \" \\ \/ \b \f \n \r \t stand for one character each.
        const simple = "\"\\/bfnrt".indexOf(String.fromCharCode(e));
        if (simple >= 0) parts.push("\"\\/\b\f\n\r\t".charAt(simple));
        else if (e == 0x75) {
          const u = this.hex4();
          if (u < 0) { this.fail("invalid \\u escape"); return null; }
          parts.push(String.fromCharCode(u));
        } else { this.fail("invalid escape"); return null; }
        continue;
      }
      let q = this.pos;
      while (q < n) {
        const d = unchecked(buf[q]);
        if (d == 0x22 || d == 0x5c || d < 0x20) break;
        q++;
      }
      parts.push(String.UTF8.decodeUnsafe(changetype<usize>(buf.buffer) + <usize>buf.byteOffset + <usize>this.pos, <usize>(q - this.pos)));
      this.pos = q;
    }
    return joinStrings(parts, "");
  }

  array(depth: i32): bool {
    this.pos++;
    const base = this.stack.len;
    this.skipWs();
    if (this.peek() == 0x5d) { this.pos++; this.push(JsonKind.Array, span(0, 0), "", null); return true; }
    while (true) {
      if (!this.value(depth + 1)) return false;
      this.skipWs();
      const c = this.peek();
      if (c == 0x2c) { this.pos++; continue; }
      if (c == 0x5d) { this.pos++; break; }
      return this.fail("expected ',' or ']'");
    }
    this.take(base, JsonKind.Array, null);
    return true;
  }

  object(depth: i32): bool {
    this.pos++;
    const stack = this.stack;
    const base = stack.len;
    let index: Map<string, i32> | null = null;
    this.skipWs();
    if (this.peek() == 0x7d) { this.pos++; this.push(JsonKind.Object, span(0, 0), "", null); return true; }
    while (true) {
      this.skipWs();
      if (this.peek() != 0x22) return this.fail("expected object key");
      const k = this.string();
      if (k === null) return false;
      this.skipWs();
      if (this.peek() != 0x3a) return this.fail("expected ':'");
      this.pos++;
      if (!this.value(depth + 1)) return false;
      // The value just read is the top item; value() may have regrown the stack.
      const top = stack.len - 1;
      const keys = stack.keys;
      unchecked(keys[top] = k);
      // Duplicate keys: the last one wins, as in most JSON readers (and Lua's
      // cjson). A scan while the object is small, then a hash index.
      if (index !== null) {
        if (index.has(k)) { this.replace(base + index.get(k)); }
        else index.set(k, top - base);
      } else {
        let replaced = false;
        for (let i = base; i < top; i++) {
          if (sameKey(unchecked(keys[i]), k)) { this.replace(i); replaced = true; break; }
        }
        if (!replaced && top + 1 - base == INDEX_FROM) {
          index = new Map<string, i32>();
          for (let i = base; i <= top; i++) index.set(unchecked(keys[i]), i - base);
        }
      }
      this.skipWs();
      const c = this.peek();
      if (c == 0x2c) { this.pos++; continue; }
      if (c == 0x7d) { this.pos++; break; }
      return this.fail("expected ',' or '}'");
    }
    this.take(base, JsonKind.Object, index);
    return true;
  }
}

export function parseJsonBytes(buf: Uint8Array): JsonResult {
  sizeInternTable(buf.length);
  const p = new Parser(buf);
  const r = new JsonResult();
  r.value = p.document();
  if (r.value === null) r.error = p.error.length ? p.error : "invalid JSON";
  return r;
}

export function parseJson(text: string): JsonResult {
  return parseJsonBytes(Uint8Array.wrap(String.UTF8.encode(text)));
}
