// Request headers as proxy-wasm hands them over, and the strict byte-wise
// decoding every header value and URI goes through.

export class Header {
  constructor(public name: string, public value: string) {}
}

// Envoy's request header map as one proxy-wasm pairs buffer (u32 count, u32
// key/value sizes, then NUL-terminated keys and values), indexed but not
// decoded: most requests only need a few headers, so names are compared as
// bytes and a value becomes a string only when asked for. A malformed buffer
// yields the entries that could be read.
const EMPTY_OFFS = new StaticArray<u32>(0);
const EMPTY_BUFFER = new ArrayBuffer(0);
const KEEP_BUFFER_BYTES = 4096;

export class HeaderBlock {
  private buf: ArrayBuffer;
  // name offset, name length, value offset, value length per entry.
  private offs: StaticArray<u32>;
  count: i32 = 0;
  // Bit min(length, 31) of every name present: a lookup of a name whose
  // length no entry has (the steering headers, upgrade, host behind
  // :authority) ends without a scan.
  private lengths: u32 = 0;

  constructor(buf: ArrayBuffer) {
    this.buf = buf;
    this.offs = EMPTY_OFFS;
    this.load(buf, buf.byteLength);
  }

  // Indexes the first `len` bytes of `buf`, reusing this block's index
  // array (a recycled stream's block serves request after request).
  load(buf: ArrayBuffer, len: i32): void {
    this.buf = buf;
    if (len > buf.byteLength) len = buf.byteLength;
    const base = changetype<usize>(buf);
    let count: u32 = len >= 4 ? load<u32>(base) : 0;
    if (<u64>count * 8 + 4 > <u64>len) count = 0;
    if (<u32>this.offs.length < count * 4) this.offs = new StaticArray<u32>(<i32>count * 4);
    let data: u32 = 4 + count * 8;
    let n = 0;
    let lengths: u32 = 0;
    const o = changetype<usize>(this.offs);
    for (let i: u32 = 0; i < count; i++) {
      const ks = load<u32>(base + 4 + <usize>i * 8);
      const vs = load<u32>(base + 8 + <usize>i * 8);
      if (<u64>data + <u64>ks + <u64>vs + 2 > <u64>len) break;
      const e = o + (<usize>n << 4);
      store<u32>(e, data);
      store<u32>(e, ks, 4);
      store<u32>(e, data + ks + 1, 8);
      store<u32>(e, vs, 12);
      data += ks + vs + 2;
      lengths |= <u32>1 << (ks < 31 ? ks : 31);
      n++;
    }
    this.count = n;
    this.lengths = lengths;
  }

  // The buffer this block indexes (the stream keeps it for the next request).
  get buffer(): ArrayBuffer { return this.buf; }

  // Between streams: forget the headers; a buffer of a few KB stays for
  // reuse, a larger one (a rare huge request head) goes to the collector.
  release(): void {
    this.count = 0;
    this.lengths = 0;
    if (this.buf.byteLength > KEEP_BUFFER_BYTES) this.buf = EMPTY_BUFFER;
    if (this.offs.length > 256) this.offs = EMPTY_OFFS;
  }

  static fromHeaders(headers: Array<Header>): HeaderBlock {
    return new HeaderBlock(encodePairs(headers));
  }

  // ASCII case-insensitive name comparison against a lower-case name.
  nameIs(i: i32, lower: string): bool {
    const n = lower.length;
    if (<i32>unchecked(this.offs[i * 4 + 1]) != n) return false;
    const p = changetype<usize>(this.buf) + <usize>unchecked(this.offs[i * 4]);
    const l = changetype<usize>(lower);
    for (let k = 0; k < n; k++) {
      let c = <u32>load<u8>(p + k);
      if (c - 0x41 < 26) c += 0x20;
      if (c != <u32>load<u16>(l + (<usize>k << 1))) return false;
    }
    return true;
  }

  // Index of the first entry with this (lower-case) name, or -1.
  find(lower: string, from: i32 = 0): i32 {
    const len = lower.length;
    if ((this.lengths & (<u32>1 << (len < 31 ? len : 31))) == 0) return -1;
    for (let i = from; i < this.count; i++) if (this.nameIs(i, lower)) return i;
    return -1;
  }

  name(i: i32): string {
    return decodeBytes(changetype<usize>(this.buf) + <usize>unchecked(this.offs[i * 4]), <i32>unchecked(this.offs[i * 4 + 1]));
  }

  value(i: i32): string {
    return decodeBytes(changetype<usize>(this.buf) + <usize>unchecked(this.offs[i * 4 + 2]), <i32>unchecked(this.offs[i * 4 + 3]));
  }

  // Whether a value is exactly this ASCII text (case-sensitive).
  valueIs(i: i32, text: string): bool {
    const n = text.length;
    if (<i32>unchecked(this.offs[i * 4 + 3]) != n) return false;
    const p = changetype<usize>(this.buf) + <usize>unchecked(this.offs[i * 4 + 2]);
    const t = changetype<usize>(text);
    for (let k = 0; k < n; k++) if (<u32>load<u8>(p + k) != <u32>load<u16>(t + (<usize>k << 1))) return false;
    return true;
  }

  // Where a value's bytes start and how many there are (for byte-level parsing).
  valuePtr(i: i32): usize { return changetype<usize>(this.buf) + <usize>unchecked(this.offs[i * 4 + 2]); }
  valueLen(i: i32): i32 { return <i32>unchecked(this.offs[i * 4 + 3]); }
}

// Header values and URIs are bytes, and nginx (so APISIX) compares them as
// bytes. A JS-style UTF-8 decoder that lets a bad lead byte swallow the bytes
// after it, or accepts overlong forms (C0 AF for "/"), would let a client
// hide characters from route matching and from `vars` regexes. So: strict,
// byte by byte. A well-formed, shortest-form sequence of a scalar value
// becomes that character; every other byte becomes the lone surrogate
// U+DC00+byte (U+DC80..U+DCFF) and decoding resumes at the next byte. Those
// code units never come out of valid UTF-8, so they cannot equal anything a
// configuration spells, and encodeBytes() turns them back into the original
// bytes (the regex engine matches those).
export function decodeBytes(p: usize, len: i32): string {
  let ascii = true;
  for (let i = 0; i < len; i++) if (load<u8>(p + i) >= 0x80) { ascii = false; break; }
  if (ascii) return String.UTF8.decodeUnsafe(p, len);
  const out = new StaticArray<u16>(len);
  let o = 0;
  let i = 0;
  while (i < len) {
    const b0 = <u32>load<u8>(p + i);
    if (b0 < 0x80) { unchecked(out[o++] = <u16>b0); i++; continue; }
    let need = 0;
    let cp: u32 = 0;
    let min: u32 = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) { need = 1; cp = b0 & 0x1f; min = 0x80; }
    else if (b0 >= 0xe0 && b0 <= 0xef) { need = 2; cp = b0 & 0x0f; min = 0x800; }
    else if (b0 >= 0xf0 && b0 <= 0xf4) { need = 3; cp = b0 & 0x07; min = 0x10000; }
    let ok = need > 0;
    if (ok) {
      for (let k = 1; k <= need; k++) {
        if (i + k >= len) { ok = false; break; }
        const b = <u32>load<u8>(p + i + k);
        if ((b & 0xc0) != 0x80) { ok = false; break; }
        cp = (cp << 6) | (b & 0x3f);
      }
    }
    if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (!ok) { unchecked(out[o++] = <u16>(0xdc00 | b0)); i++; continue; }
    if (cp >= 0x10000) {
      const c = cp - 0x10000;
      unchecked(out[o++] = <u16>(0xd800 | (c >> 10)));
      unchecked(out[o++] = <u16>(0xdc00 | (c & 0x3ff)));
    } else {
      unchecked(out[o++] = <u16>cp);
    }
    i += need + 1;
  }
  return String.UTF16.decodeUnsafe(changetype<usize>(out), <usize>o << 1);
}

// The inverse of decodeBytes: UTF-8, except that the escaped bytes
// U+DC80..U+DCFF become the single bytes they stand for.
export function encodeBytes(s: string): Uint8Array {
  let escaped = false;
  // (i < n: the units are read in place, as charCodeAt would after its bounds check)
  const p = changetype<usize>(s);
  for (let i = 0, n = s.length; i < n; i++) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (c >= 0xdc80 && c <= 0xdcff && (i == 0 || (<i32>load<u16>(p + (<usize>i << 1) - 2) & 0xfc00) != 0xd800)) { escaped = true; break; }
  }
  if (!escaped) return Uint8Array.wrap(String.UTF8.encode(s));
  const out = new Uint8Array(s.length * 3);
  return out.subarray(0, encodeBytesTo(s, out.dataStart));
}

// encodeBytes' conversion into memory sized for 3 bytes per UTF-16 unit;
// returns the length. The regex VM encodes its input with it, into a buffer
// it reuses.
export function encodeBytesTo(s: string, out: usize): i32 {
  let o: usize = out;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c < 0x80) { store<u8>(o++, c); continue; }
    if (c < 0x800) { store<u8>(o++, 0xc0 | (c >> 6)); store<u8>(o++, 0x80 | (c & 0x3f)); continue; }
    if ((c & 0xfc00) == 0xd800 && i + 1 < n && (<u32>s.charCodeAt(i + 1) & 0xfc00) == 0xdc00) {
      const cp = 0x10000 + ((c & 0x3ff) << 10) + (<u32>s.charCodeAt(i + 1) & 0x3ff);
      store<u8>(o++, 0xf0 | (cp >> 18)); store<u8>(o++, 0x80 | ((cp >> 12) & 0x3f));
      store<u8>(o++, 0x80 | ((cp >> 6) & 0x3f)); store<u8>(o++, 0x80 | (cp & 0x3f));
      i++;
      continue;
    }
    if (c >= 0xdc80 && c <= 0xdcff) { store<u8>(o++, c & 0xff); continue; }
    store<u8>(o++, 0xe0 | (c >> 12)); store<u8>(o++, 0x80 | ((c >> 6) & 0x3f)); store<u8>(o++, 0x80 | (c & 0x3f));
  }
  return <i32>(o - out);
}

// The pairs format, for local-reply headers (and tests building a HeaderBlock).
export function encodePairs(headers: Array<Header>): ArrayBuffer {
  let size = 4;
  const keys = new Array<ArrayBuffer>(), vals = new Array<ArrayBuffer>();
  for (let i = 0; i < headers.length; i++) {
    const k = String.UTF8.encode(headers[i].name), v = String.UTF8.encode(headers[i].value);
    keys.push(k); vals.push(v);
    size += 8 + k.byteLength + v.byteLength + 2;
  }
  const buf = new ArrayBuffer(size);
  const base = changetype<usize>(buf);
  store<u32>(base, headers.length);
  let data = base + 4 + <usize>headers.length * 8;
  for (let i = 0; i < headers.length; i++) {
    store<u32>(base + 4 + <usize>i * 8, keys[i].byteLength);
    store<u32>(base + 8 + <usize>i * 8, vals[i].byteLength);
    memory.copy(data, changetype<usize>(keys[i]), keys[i].byteLength);
    data += keys[i].byteLength;
    store<u8>(data++, 0);
    memory.copy(data, changetype<usize>(vals[i]), vals[i].byteLength);
    data += vals[i].byteLength;
    store<u8>(data++, 0);
  }
  return buf;
}
