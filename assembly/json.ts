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

export const enum JsonKind { Null, Bool, Number, String, Array, Object }

export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  bool: bool = false;
  num: f64 = 0;
  str: string = "";
  // The member name of this value in its parent object ("" elsewhere). Kept
  // here rather than in a keys array beside the items: one heap object less
  // per JSON object, and a 10,000-route config has about 12,000 of them.
  key: string = "";
  // Array items, or object members, in document order (APISIX's map-form
  // nodes have an order that matters to round robin). A container of fewer
  // than INDEX_FROM items chains them through `next` from `first`, which
  // costs no heap object of its own (most JSON objects and arrays are
  // small: a route, a node map, a hosts list); a larger one also gets one
  // exactly sized StaticArray for random access, and an object a key index.
  items: StaticArray<JsonValue> | null = null;
  first: JsonValue | null = null;
  next: JsonValue | null = null;
  count: i32 = 0;
  // Key → member index, for objects with at least INDEX_FROM members.
  index: Map<string, i32> | null = null;
  // The chain position last read by at(), so that a loop over a small
  // container walks the chain once.
  private cursor: JsonValue | null = null;
  private cursorAt: i32 = 0;

  static null(): JsonValue { return new JsonValue(); }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isString(): bool { return this.kind == JsonKind.String; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isObject(): bool { return this.kind == JsonKind.Object; }
  isInteger(): bool { return this.kind == JsonKind.Number && isFinite(this.num) && Math.floor(this.num) == this.num; }

  get length(): i32 { return this.count; }

  // Item i, 0 <= i < count. A chain is shorter than INDEX_FROM, so even a
  // walk from its start is bounded.
  private item(i: i32): JsonValue {
    const items = this.items;
    if (items !== null) return unchecked(items[i]);
    let v = this.cursor;
    let k = this.cursorAt;
    if (v === null || k > i) { v = this.first; k = 0; }
    while (k < i) { v = v!.next; k++; }
    this.cursor = v;
    this.cursorAt = i;
    return v!;
  }

  at(i: i32): JsonValue {
    if (i < 0 || i >= this.count) return JsonValue.null();
    return this.item(i);
  }

  keyAt(i: i32): string {
    if (this.kind != JsonKind.Object || i < 0 || i >= this.count) return "";
    return this.item(i).key;
  }

  // Object member lookup: linear for the usual small object, hashed for
  // large ones. Returns null when absent so callers can tell absent from
  // JSON null.
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const index = this.index;
    if (index !== null) return index.has(key) ? unchecked(this.items![index.get(key)]) : null;
    let v = this.first;
    while (v !== null) {
      if (sameKey(v.key, key)) return v;
      v = v.next;
    }
    return null;
  }

  has(key: string): bool { return this.get(key) !== null; }

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
      case JsonKind.Null: out.push("null"); break;
      case JsonKind.Bool: out.push(this.bool ? "true" : "false"); break;
      case JsonKind.Number: out.push(formatNumber(this.num)); break;
      case JsonKind.String: out.push(quote(this.str)); break;
      case JsonKind.Array: {
        out.push("[");
        for (let i = 0; i < this.length; i++) {
          if (i > 0) out.push(",");
          this.at(i).write(out);
        }
        out.push("]");
        break;
      }
      default: {
        out.push("{");
        for (let i = 0; i < this.length; i++) {
          if (i > 0) out.push(",");
          out.push(quote(this.keyAt(i)));
          out.push(":");
          this.at(i).write(out);
        }
        out.push("}");
      }
    }
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
  if (isFinite(n) && Math.floor(n) == n && Math.abs(n) < 9007199254740992) return (<i64>n).toString();
  return n.toString();
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
    if (c == 0x22) parts.push("\\\"");
    else if (c == 0x5c) parts.push("\\\\");
    else if (c == 0x0a) parts.push("\\n");
    else if (c == 0x0d) parts.push("\\r");
    else if (c == 0x09) parts.push("\\t");
    else if (c < 0x20) {
      const h = c.toString(16);
      parts.push("\\u" + "0000".substring(0, 4 - h.length) + h);
    } else parts.push(String.fromCharCode(c));
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
// 64 bytes, within [MIN, MAX]): a large route table streams thousands of
// unique ids and uris through it, which in a small table evict the values
// that do repeat (an upstream_id every thousand routes) before they repeat.
const INTERN_MIN_SLOTS = 1024;
const INTERN_MAX_SLOTS = 16384;
const INTERN_MAX_LEN = 24;
let interned = new StaticArray<string>(INTERN_MIN_SLOTS);

function sizeInternTable(documentBytes: i32): void {
  let slots = INTERN_MIN_SLOTS;
  while (slots < INTERN_MAX_SLOTS && slots * 64 < documentBytes) slots <<= 1;
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
function decodeAt(p: usize, len: i32, ascii: bool): string {
  if (!ascii) return String.UTF8.decodeUnsafe(p, <usize>len);
  if (len > INTERN_MAX_LEN) return asciiString(p, len);
  let h: u32 = 2166136261;
  for (let i = 0; i < len; i++) h = (h ^ <u32>load<u8>(p + i)) * 16777619;
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
  // Items of the arrays and objects being read, innermost last; each one's
  // items are copied out into an exactly sized StaticArray when it ends, so
  // no growing array per array or object is left behind.
  stack: Array<JsonValue> = new Array<JsonValue>();
  constructor(public buf: Uint8Array) {}

  // Moves the items stack[base..] into `v`, the array or object they
  // belong to (see JsonValue.items for the two shapes).
  take(base: i32, v: JsonValue): void {
    const stack = this.stack;
    const n = stack.length - base;
    v.count = n;
    if (n >= INDEX_FROM) {
      const out = new StaticArray<JsonValue>(n);
      for (let i = 0; i < n; i++) unchecked(out[i] = unchecked(stack[base + i]));
      v.items = out;
    } else if (n > 0) {
      for (let i = n - 1; i > 0; i--) unchecked(stack[base + i - 1]).next = unchecked(stack[base + i]);
      v.first = unchecked(stack[base]);
    }
    stack.length = base;
  }

  fail(msg: string): JsonValue | null {
    if (this.error.length == 0) this.error = msg + " at byte " + this.pos.toString();
    return null;
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

  value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail("nesting deeper than " + MAX_DEPTH.toString());
    this.skipWs();
    const c = this.peek();
    if (c == 0x7b) return this.object(depth);
    if (c == 0x5b) return this.array(depth);
    if (c == 0x22) {
      const s = this.string();
      if (s === null) return null;
      const v = new JsonValue();
      v.kind = JsonKind.String;
      v.str = s;
      return v;
    }
    if (c == 0x74) {
      if (!this.literal("true")) return this.fail("invalid literal");
      const v = new JsonValue(); v.kind = JsonKind.Bool; v.bool = true; return v;
    }
    if (c == 0x66) {
      if (!this.literal("false")) return this.fail("invalid literal");
      const v = new JsonValue(); v.kind = JsonKind.Bool; v.bool = false; return v;
    }
    if (c == 0x6e) {
      if (!this.literal("null")) return this.fail("invalid literal");
      return JsonValue.null();
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c < 0) return this.fail("unexpected end of input");
    return this.fail("unexpected character '" + String.fromCharCode(c) + "'");
  }

  number(): JsonValue | null {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    const n = buf.length;
    if (p < n && buf[p] == 0x2d) p++;
    if (p >= n) { this.pos = p; return this.fail("invalid number"); }
    if (buf[p] == 0x30) {
      p++;
    } else if (buf[p] >= 0x31 && buf[p] <= 0x39) {
      while (p < n && buf[p] >= 0x30 && buf[p] <= 0x39) p++;
    } else { this.pos = p; return this.fail("invalid number"); }
    let hasFraction = false;
    if (p < n && buf[p] == 0x2e) {
      hasFraction = true;
      p++;
      const d = p;
      while (p < n && buf[p] >= 0x30 && buf[p] <= 0x39) p++;
      if (p == d) { this.pos = p; return this.fail("invalid number"); }
    }
    if (p < n && (buf[p] == 0x65 || buf[p] == 0x45)) {
      hasFraction = true;
      p++;
      if (p < n && (buf[p] == 0x2b || buf[p] == 0x2d)) p++;
      const d = p;
      while (p < n && buf[p] >= 0x30 && buf[p] <= 0x39) p++;
      if (p == d) { this.pos = p; return this.fail("invalid number"); }
    }
    const v = new JsonValue();
    v.kind = JsonKind.Number;
    // Plain integers of up to 15 digits are exact in an f64: no string.
    const neg = unchecked(buf[start]) == 0x2d;
    const digits = p - start - (neg ? 1 : 0);
    if (digits <= 15 && !hasFraction) {
      let n: i64 = 0;
      for (let i = neg ? start + 1 : start; i < p; i++) n = n * 10 + <i64>(unchecked(buf[i]) - 0x30);
      v.num = neg ? -<f64>n : <f64>n;
    } else {
      const text = String.UTF8.decodeUnsafe(changetype<usize>(buf.buffer) + <usize>buf.byteOffset + <usize>start, <usize>(p - start));
      v.num = parseFloat(text);
    }
    this.pos = p;
    return v;
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
    while (p < n) {
      const c = unchecked(buf[p]);
      if (c == 0x22 || c == 0x5c || c < 0x20) break;
      high |= c;
      p++;
    }
    if (p >= n) { this.pos = p; this.fail("unterminated string"); return null; }
    if (unchecked(buf[p]) == 0x22) {
      this.pos = p + 1;
      return decodeAt(changetype<usize>(buf.buffer) + <usize>buf.byteOffset + <usize>start, p - start, (high & 0x80) == 0);
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
        if (e == 0x22) parts.push("\"");
        else if (e == 0x5c) parts.push("\\");
        else if (e == 0x2f) parts.push("/");
        else if (e == 0x62) parts.push("\b");
        else if (e == 0x66) parts.push("\f");
        else if (e == 0x6e) parts.push("\n");
        else if (e == 0x72) parts.push("\r");
        else if (e == 0x74) parts.push("\t");
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

  array(depth: i32): JsonValue | null {
    this.pos++;
    const stack = this.stack;
    const base = stack.length;
    this.skipWs();
    if (this.peek() == 0x5d) { this.pos++; return container(JsonKind.Array); }
    while (true) {
      const v = this.value(depth + 1);
      if (v === null) return null;
      stack.push(v);
      this.skipWs();
      const c = this.peek();
      if (c == 0x2c) { this.pos++; continue; }
      if (c == 0x5d) { this.pos++; break; }
      return this.fail("expected ',' or ']'");
    }
    const v = container(JsonKind.Array);
    this.take(base, v);
    return v;
  }

  object(depth: i32): JsonValue | null {
    this.pos++;
    const stack = this.stack;
    const base = stack.length;
    let index: Map<string, i32> | null = null;
    this.skipWs();
    if (this.peek() == 0x7d) { this.pos++; return container(JsonKind.Object); }
    while (true) {
      this.skipWs();
      if (this.peek() != 0x22) return this.fail("expected object key");
      const k = this.string();
      if (k === null) return null;
      this.skipWs();
      if (this.peek() != 0x3a) return this.fail("expected ':'");
      this.pos++;
      const v = this.value(depth + 1);
      if (v === null) return null;
      v.key = k;
      // Duplicate keys: the last one wins, as in most JSON readers (and Lua's
      // cjson). A scan while the object is small, then a hash index.
      if (index !== null) {
        if (index.has(k)) unchecked(stack[base + index.get(k)] = v);
        else { index.set(k, stack.length - base); stack.push(v); }
      } else {
        let replaced = false;
        for (let i = base, n = stack.length; i < n; i++) {
          if (sameKey(unchecked(stack[i]).key, k)) { unchecked(stack[i] = v); replaced = true; break; }
        }
        if (!replaced) {
          stack.push(v);
          if (stack.length - base == INDEX_FROM) {
            index = new Map<string, i32>();
            for (let i = base; i < stack.length; i++) index.set(unchecked(stack[i]).key, i - base);
          }
        }
      }
      this.skipWs();
      const c = this.peek();
      if (c == 0x2c) { this.pos++; continue; }
      if (c == 0x7d) { this.pos++; break; }
      return this.fail("expected ',' or '}'");
    }
    const o = container(JsonKind.Object);
    this.take(base, o);
    o.index = index;
    return o;
  }
}

function container(kind: JsonKind): JsonValue {
  const v = new JsonValue();
  v.kind = kind;
  return v;
}

export function parseJsonBytes(buf: Uint8Array): JsonResult {
  sizeInternTable(buf.length);
  const p = new Parser(buf);
  const r = new JsonResult();
  const v = p.value(0);
  if (v !== null) {
    p.skipWs();
    if (p.pos != buf.length) {
      p.fail("trailing characters after the document");
    } else {
      r.value = v;
      return r;
    }
  }
  r.error = p.error.length ? p.error : "invalid JSON";
  return r;
}

export function parseJson(text: string): JsonResult {
  return parseJsonBytes(Uint8Array.wrap(String.UTF8.encode(text)));
}
