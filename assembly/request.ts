// The request as APISIX's `ctx.var` sees it, read from Envoy's header map
// once per request (one host call for all pairs) and derived lazily.

import { lowerAscii } from "./ascii";
import { VarSource } from "./expr/vars";

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
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && (i == 0 || (s.charCodeAt(i - 1) & 0xfc00) != 0xd800)) { escaped = true; break; }
  }
  if (!escaped) return Uint8Array.wrap(String.UTF8.encode(s));
  const out = new Uint8Array(s.length * 3);
  let o = 0;
  for (let i = 0, n = s.length; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c < 0x80) { out[o++] = <u8>c; continue; }
    if (c < 0x800) { out[o++] = <u8>(0xc0 | (c >> 6)); out[o++] = <u8>(0x80 | (c & 0x3f)); continue; }
    if ((c & 0xfc00) == 0xd800 && i + 1 < n && (<u32>s.charCodeAt(i + 1) & 0xfc00) == 0xdc00) {
      const cp = 0x10000 + ((c & 0x3ff) << 10) + (<u32>s.charCodeAt(i + 1) & 0x3ff);
      out[o++] = <u8>(0xf0 | (cp >> 18)); out[o++] = <u8>(0x80 | ((cp >> 12) & 0x3f));
      out[o++] = <u8>(0x80 | ((cp >> 6) & 0x3f)); out[o++] = <u8>(0x80 | (cp & 0x3f));
      i++;
      continue;
    }
    if (c >= 0xdc80 && c <= 0xdcff) { out[o++] = <u8>(c & 0xff); continue; }
    out[o++] = <u8>(0xe0 | (c >> 12)); out[o++] = <u8>(0x80 | ((c >> 6) & 0x3f)); out[o++] = <u8>(0x80 | (c & 0x3f));
  }
  return out.subarray(0, o);
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

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  c |= 0x20;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

// Percent-decoding as ngx.req.get_uri_args does (`+` becomes a space when
// asked). Invalid escapes are kept as they are; the result is decoded
// strictly (decodeBytes).
export function unescape(s: string, plusIsSpace: bool): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x25 || (plusIsSpace && c == 0x2b)) { needs = true; break; }
  }
  if (!needs) return s;
  const bytes = encodeBytes(s);
  const out = new Uint8Array(bytes.length);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = <i32>bytes[i];
    if (c == 0x25 && i + 2 < bytes.length) {
      const h = hexDigit(bytes[i + 1]), l = hexDigit(bytes[i + 2]);
      if (h >= 0 && l >= 0) { out[o++] = <u8>((h << 4) | l); i += 2; continue; }
    }
    out[o++] = plusIsSpace && c == 0x2b ? 0x20 : <u8>c;
  }
  return decodeBytes(out.dataStart, o);
}

const U_USUAL = 0, U_SLASH = 1, U_DOT = 2, U_DOTDOT = 3;

// nginx's $uri from the request target (ngx_http_parse_complex_uri, with
// merge_slashes on as by default), over bytes: the path up to the first
// `?` or `#`, percent-decoded once, where a decoded byte counts as the
// character it stands for ("%2F" separates segments, "%2E%2E" is a dot
// segment) except that a decoded `%`, `#` or `?` is plain data; dot segments
// resolved; repeated slashes merged. Returns the length written to `out`
// (which needs room for `len` bytes, plus one for an empty target), or -1
// where nginx answers 400: a `%` not followed by two hex digits, an encoded
// NUL, or a `..` that climbs above the root. One pass, no recursion.
export function parseUriBytes(p: usize, len: i32, out: usize): i32 {
  let o = 0;
  let state = U_USUAL;
  let i = 0;
  if (len == 0) { store<u8>(out, 0x2f); return 1; }
  while (i < len) {
    let ch = <i32>load<u8>(p + i);
    i++;
    if (ch == 0x3f || ch == 0x23) break; // `?` args, `#` fragment
    if (ch == 0x25) {
      const h = i < len ? hexDigit(<i32>load<u8>(p + i)) : -1;
      const l = i + 1 < len ? hexDigit(<i32>load<u8>(p + i + 1)) : -1;
      if (h < 0 || l < 0) return -1;
      i += 2;
      ch = (h << 4) | l;
      if (ch == 0) return -1;
      if (ch == 0x25 || ch == 0x23 || ch == 0x3f) { store<u8>(out + o++, <u8>ch); state = U_USUAL; continue; }
    }
    if (ch == 0x2f) {
      if (state == U_SLASH) continue; // merge
      if (state == U_DOT) { o--; state = U_SLASH; continue; } // "/./" → "/"
      if (state == U_DOTDOT) {
        // out ends with "/..": drop it and the segment before it.
        o -= 3;
        let k = o - 1;
        while (k >= 0 && load<u8>(out + k) != 0x2f) k--;
        if (k < 0) return -1;
        o = k + 1;
        state = U_SLASH;
        continue;
      }
      store<u8>(out + o++, 0x2f);
      state = U_SLASH;
      continue;
    }
    if (ch == 0x2e && state == U_SLASH) { store<u8>(out + o++, 0x2e); state = U_DOT; continue; }
    if (ch == 0x2e && state == U_DOT) { store<u8>(out + o++, 0x2e); state = U_DOTDOT; continue; }
    store<u8>(out + o++, <u8>ch);
    state = U_USUAL;
  }
  if (state == U_DOT) o--;
  else if (state == U_DOTDOT) {
    o -= 3;
    let k = o - 1;
    while (k >= 0 && load<u8>(out + k) != 0x2f) k--;
    if (k < 0) return -1;
    o = k + 1;
  }
  return o;
}

// parseUriBytes over a string (encodeBytes first); null where nginx answers 400.
export function nginxUri(target: string): string | null {
  const b = encodeBytes(target);
  const out = new Uint8Array(b.length + 1);
  const n = parseUriBytes(b.dataStart, b.length, out.dataStart);
  return n < 0 ? null : decodeBytes(out.dataStart, n);
}

// The host part of an authority as nginx's ngx_http_validate_host sees it,
// over UTF-16 code units (wide) or bytes: its length without port and
// without one trailing dot, or -1 where nginx answers 400 ("client sent
// invalid host header"): characters outside the URI host syntax, "..", an
// empty host, an unclosed "[", a port that is not a number up to 65535.
// Every accepted character is ASCII, so bytes and decoded text agree.
function hostLength(p: usize, n: i32, wide: bool): i32 {
  let hostLen = n;
  let dotPos = -2;
  let port = 0;
  let i = 0;
  let literal = false;
  const first = n > 0 ? (wide ? <i32>load<u16>(p) : <i32>load<u8>(p)) : 0;
  if (first == 0x5b) { literal = true; i = 1; }
  let inPort = false;
  let closed = !literal;
  for (; i < n; i++) {
    const c = wide ? <i32>load<u16>(p + (<usize>i << 1)) : <i32>load<u8>(p + <usize>i);
    if (inPort) {
      if (c < 0x30 || c > 0x39) return -1;
      port = port * 10 + (c - 0x30);
      if (port > 65535) return -1;
      continue;
    }
    if (literal && closed) {
      if (c != 0x3a) return -1;
      inPort = true;
      continue;
    }
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) continue;
    if (c == 0x2e) {
      if (dotPos == i - 1) return -1;
      dotPos = i;
      continue;
    }
    if (c == 0x3a) {
      if (literal) continue;
      hostLen = i;
      inPort = true;
      continue;
    }
    if (c == 0x5d && literal) { hostLen = i + 1; closed = true; continue; }
    // unreserved and sub-delims; `%` (pct-encoded) outside an IP literal
    if (c == 0x2d || c == 0x5f || c == 0x7e || c == 0x21 || c == 0x24 || c == 0x26 || c == 0x27 || c == 0x28 ||
        c == 0x29 || c == 0x2a || c == 0x2b || c == 0x2c || c == 0x3b || c == 0x3d || (c == 0x25 && !literal)) continue;
    return -1;
  }
  if (!closed) return -1;
  if (dotPos == hostLen - 1) hostLen--;
  return hostLen > 0 ? hostLen : -1;
}

// ASCII text lower-cased into a new string (one allocation).
function asciiLower(p: usize, n: i32, wide: bool): string {
  const out = changetype<string>(__new(<usize>n << 1, idof<String>()));
  const o = changetype<usize>(out);
  for (let i = 0; i < n; i++) {
    let c = wide ? <u32>load<u16>(p + (<usize>i << 1)) : <u32>load<u8>(p + <usize>i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    store<u16>(o + (<usize>i << 1), <u16>c);
  }
  return out;
}

// nginx's ngx_http_validate_host: $host is the authority lower-cased,
// without the port and without one trailing dot ("a.example.com." is
// "a.example.com"); null where nginx answers 400 (hostLength).
export function validateHost(authority: string): string | null {
  const n = hostLength(changetype<usize>(authority), authority.length, true);
  return n < 0 ? null : asciiLower(changetype<usize>(authority), n, true);
}

// The methods Envoy's codecs pass and route `methods` can name, as shared
// strings: matching one costs no allocation.
const METHODS: StaticArray<string> = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE"];

// Reused output of parseUriBytes (one request at a time runs in a VM).
let uriScratch = new StaticArray<u8>(256);

const NO_HEADERS = new HeaderBlock(new ArrayBuffer(0));

export class Request extends VarSource {
  headers: HeaderBlock = NO_HEADERS;
  method: string = "";
  // $host: lower-case, no port.
  host: string = "";
  // $uri: decoded, normalised path without the query string.
  uri: string = "";
  scheme: string = "";
  // Why nginx would have answered 400 before APISIX ran ("" when it would not).
  invalid: string = "";
  // Header indices of :path and of the authority (:authority, else Host);
  // their strings are decoded only when a variable asks.
  private pathAt: i32 = -1;
  private authorityAt: i32 = -1;
  private requestUriText: string | null = null;
  private authorityText: string | null = null;
  private queryText: string | null = null;
  // Client address, read lazily (a property lookup) only when something asks.
  private remote: string | null = null;
  private remoteFetcher: (() => string) | null = null;
  // The connection's variables (remote_port, server_addr, server_port and
  // nginx's $ssl_*), read on demand: Envoy keeps them outside the headers
  // and most requests never ask. A null fetcher, or a plain-text connection
  // for $ssl_*, leaves them absent.
  connVar: ((name: string) => string | null) | null = null;
  private args: Array<Header> | null = null;
  private cookies: Array<Header> | null = null;

  // :path as received (APISIX's $request_uri).
  get requestUri(): string {
    const cached = this.requestUriText;
    if (cached !== null) return cached;
    const t = this.pathAt >= 0 ? this.headers.value(this.pathAt) : "";
    this.requestUriText = t;
    return t;
  }

  // :authority (else Host), with port (APISIX's $http_host).
  get authority(): string {
    const cached = this.authorityText;
    if (cached !== null) return cached;
    const t = this.authorityAt >= 0 ? this.headers.value(this.authorityAt) : "";
    this.authorityText = t;
    return t;
  }

  // The query string of the request target, without a fragment.
  get query(): string {
    const cached = this.queryText;
    if (cached !== null) return cached;
    const u = this.requestUri;
    const q = u.indexOf("?");
    let t = q >= 0 ? u.substring(q + 1) : "";
    const hash = t.indexOf("#");
    if (hash >= 0) t = t.substring(0, hash);
    this.queryText = t;
    return t;
  }

  static fromHeaders(headers: HeaderBlock, remoteFetcher: () => string): Request {
    const r = new Request();
    r.load(headers, remoteFetcher);
    return r;
  }

  // Back to a new request's state, then derived from these headers (a
  // recycled stream's Request serves request after request).
  load(headers: HeaderBlock, remoteFetcher: (() => string) | null): void {
    const r = this;
    r.headers = headers;
    r.remoteFetcher = remoteFetcher;
    r.method = "";
    r.host = "";
    r.uri = "";
    r.scheme = "";
    r.invalid = "";
    r.pathAt = -1;
    r.authorityAt = -1;
    r.requestUriText = null;
    r.authorityText = null;
    r.queryText = null;
    r.remote = null;
    r.connVar = null;
    r.args = null;
    r.cookies = null;
    // First value wins, like Envoy's get_header_map_value.
    let i = headers.find(":method");
    if (i >= 0) {
      for (let m = 0; m < METHODS.length; m++) {
        if (headers.valueIs(i, unchecked(METHODS[m]))) { r.method = unchecked(METHODS[m]); break; }
      }
      if (r.method.length == 0) r.method = headers.value(i);
    }
    r.pathAt = headers.find(":path");
    i = headers.find(":scheme");
    if (i >= 0) r.scheme = headers.valueIs(i, "https") ? "https" : headers.valueIs(i, "http") ? "http" : headers.value(i);
    i = headers.find(":authority");
    if (i < 0 || headers.valueLen(i) == 0) i = headers.find("host");
    if (i >= 0 && headers.valueLen(i) > 0) {
      r.authorityAt = i;
      const p = headers.valuePtr(i);
      const n = hostLength(p, headers.valueLen(i), false);
      if (n < 0) r.invalid = "client sent invalid host header";
      else r.host = asciiLower(p, n, false);
    }
    const pathAt = r.pathAt;
    if (pathAt >= 0) {
      const len = headers.valueLen(pathAt);
      if (uriScratch.length < len + 1) uriScratch = new StaticArray<u8>(len + 1);
      const out = changetype<usize>(uriScratch);
      const n = parseUriBytes(headers.valuePtr(pathAt), len, out);
      if (n < 0) r.invalid = "client sent invalid request";
      else r.uri = decodeBytes(out, n);
    }
  }

  // First value of a header (case-insensitive name).
  header(name: string): string | null {
    const i = this.headers.find(name);
    return i >= 0 ? this.headers.value(i) : null;
  }

  hasHeader(name: string): bool { return this.header(name) !== null; }

  remoteAddr(): string {
    const cached = this.remote;
    if (cached !== null) return cached;
    const f = this.remoteFetcher;
    const r = f !== null ? f() : "";
    this.remote = r;
    return r;
  }

  private argList(): Array<Header> {
    let a = this.args;
    if (a === null) {
      a = new Array<Header>();
      if (this.query.length) {
        const parts = this.query.split("&");
        for (let i = 0; i < parts.length; i++) {
          const p = parts[i];
          if (p.length == 0) continue;
          const eq = p.indexOf("=");
          const k = unescape(eq >= 0 ? p.substring(0, eq) : p, true);
          const v = eq >= 0 ? unescape(p.substring(eq + 1), true) : "";
          a.push(new Header(k, v));
        }
      }
      this.args = a;
    }
    return a;
  }

  private cookieList(): Array<Header> {
    let c = this.cookies;
    if (c === null) {
      c = new Array<Header>();
      for (let i = this.headers.find("cookie"); i >= 0; i = this.headers.find("cookie", i + 1)) {
        const parts = this.headers.value(i).split(";");
        for (let k = 0; k < parts.length; k++) {
          const p = parts[k].trim();
          const eq = p.indexOf("=");
          if (eq <= 0) continue;
          c.push(new Header(p.substring(0, eq).trim(), p.substring(eq + 1).trim()));
        }
      }
      this.cookies = c;
    }
    return c;
  }

  arg(name: string): string | null {
    const a = this.argList();
    for (let i = 0; i < a.length; i++) if (a[i].name == name) return a[i].value;
    return null;
  }

  cookie(name: string): string | null {
    const c = this.cookieList();
    for (let i = 0; i < c.length; i++) if (c[i].name == name) return c[i].value;
    return null;
  }

  // ctx.var lookups (apisix/core/ctx.lua and nginx variables).
  get(name: string): string | null {
    if (name.startsWith("http_")) return this.header(headerName(name.substring(5)));
    if (name.startsWith("arg_")) return this.arg(name.substring(4));
    if (name.startsWith("cookie_")) return this.cookie(name.substring(7));
    if (name.startsWith("ssl_") || name == "remote_port" || name == "server_addr" || name == "server_port") {
      const f = this.connVar;
      return f !== null ? f(name) : null;
    }
    if (name == "uri") return this.uri;
    if (name == "request_uri") return this.requestUri;
    if (name == "host") return this.host;
    if (name == "request_method") return this.method;
    if (name == "remote_addr") return this.remoteAddr();
    if (name == "scheme") return this.scheme;
    if (name == "query_string" || name == "args") return this.query.length ? this.query : null;
    if (name == "server_name") return this.host;
    if (name == "http_host") return this.authority;
    return null;
  }

  getAll(name: string): Array<string> {
    const out = new Array<string>();
    if (name.startsWith("arg_")) {
      const key = name.substring(4);
      const a = this.argList();
      for (let i = 0; i < a.length; i++) if (a[i].name == key) out.push(a[i].value);
      return out;
    }
    if (name.startsWith("http_")) {
      const key = headerName(name.substring(5));
      for (let i = this.headers.find(key); i >= 0; i = this.headers.find(key, i + 1)) out.push(this.headers.value(i));
      return out;
    }
    const v = this.get(name);
    if (v !== null) out.push(v);
    return out;
  }
}

// nginx's $http_x_foo names header "x-foo".
export function headerName(varPart: string): string {
  return lowerAscii(varPart).replaceAll("_", "-");
}
