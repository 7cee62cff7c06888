// The request as APISIX's `ctx.var` sees it, read from Envoy's header map
// once per request (one host call for all pairs) and derived lazily.

import { VarSource } from "./expr/vars";

export class Header {
  constructor(public name: string, public value: string) {}
}

// Envoy's request header map as one proxy-wasm pairs buffer (u32 count, u32
// key/value sizes, then NUL-terminated keys and values), indexed but not
// decoded: most requests only need a few headers, so names are compared as
// bytes and a value becomes a string only when asked for. A malformed buffer
// yields the entries that could be read.
export class HeaderBlock {
  private buf: ArrayBuffer;
  // name offset, name length, value offset, value length per entry.
  private offs: StaticArray<u32>;
  count: i32 = 0;

  constructor(buf: ArrayBuffer) {
    this.buf = buf;
    const len = buf.byteLength;
    const base = changetype<usize>(buf);
    let count: u32 = len >= 4 ? load<u32>(base) : 0;
    if (<u64>count * 8 + 4 > <u64>len) count = 0;
    this.offs = new StaticArray<u32>(<i32>count * 4);
    let data: u32 = 4 + count * 8;
    let n = 0;
    for (let i: u32 = 0; i < count; i++) {
      const ks = load<u32>(base + 4 + <usize>i * 8);
      const vs = load<u32>(base + 8 + <usize>i * 8);
      if (<u64>data + <u64>ks + <u64>vs + 2 > <u64>len) break;
      unchecked(this.offs[n * 4] = data);
      unchecked(this.offs[n * 4 + 1] = ks);
      unchecked(this.offs[n * 4 + 2] = data + ks + 1);
      unchecked(this.offs[n * 4 + 3] = vs);
      data += ks + vs + 2;
      n++;
    }
    this.count = n;
  }

  static fromHeaders(headers: Array<Header>): HeaderBlock {
    return new HeaderBlock(encodePairs(headers));
  }

  // ASCII case-insensitive name comparison against a lower-case name.
  nameIs(i: i32, lower: string): bool {
    const n = lower.length;
    if (<i32>unchecked(this.offs[i * 4 + 1]) != n) return false;
    const p = changetype<usize>(this.buf) + <usize>unchecked(this.offs[i * 4]);
    for (let k = 0; k < n; k++) {
      let c = <i32>load<u8>(p + k);
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c != lower.charCodeAt(k)) return false;
    }
    return true;
  }

  // Index of the first entry with this (lower-case) name, or -1.
  find(lower: string, from: i32 = 0): i32 {
    for (let i = from; i < this.count; i++) if (this.nameIs(i, lower)) return i;
    return -1;
  }

  name(i: i32): string {
    return String.UTF8.decodeUnsafe(changetype<usize>(this.buf) + <usize>unchecked(this.offs[i * 4]), <usize>unchecked(this.offs[i * 4 + 1]));
  }

  value(i: i32): string {
    return String.UTF8.decodeUnsafe(changetype<usize>(this.buf) + <usize>unchecked(this.offs[i * 4 + 2]), <usize>unchecked(this.offs[i * 4 + 3]));
  }
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

// Percent-decoding as nginx does for $uri and ngx.req.get_uri_args (`+` in
// args becomes a space). Invalid escapes are kept as they are.
export function unescape(s: string, plusIsSpace: bool): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x25 || (plusIsSpace && c == 0x2b)) { needs = true; break; }
  }
  if (!needs) return s;
  const utf8 = Uint8Array.wrap(String.UTF8.encode(s));
  const out = new Uint8Array(utf8.length);
  let o = 0;
  for (let i = 0; i < utf8.length; i++) {
    const c = <i32>utf8[i];
    if (c == 0x25 && i + 2 < utf8.length) {
      const h = hexDigit(utf8[i + 1]), l = hexDigit(utf8[i + 2]);
      if (h >= 0 && l >= 0) { out[o++] = <u8>((h << 4) | l); i += 2; continue; }
    }
    out[o++] = plusIsSpace && c == 0x2b ? 0x20 : <u8>c;
  }
  return String.UTF8.decodeUnsafe(changetype<usize>(out.buffer), o);
}

// Resolves "." and ".." segments and merges slashes, as nginx normalises
// $uri (Envoy's normalize_path/merge_slashes do the same when the control
// plane's listener enables them; doing it here keeps the filter correct with
// any HCM settings). A ".." above the root stays at the root.
export function normalizePath(p: string): string {
  let simple = true;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c == 0x2f && i + 1 < p.length) {
      const d = p.charCodeAt(i + 1);
      if (d == 0x2f || d == 0x2e) { simple = false; break; }
    }
  }
  if (simple) return p;
  const segs = p.split("/");
  const out = new Array<string>();
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s.length == 0 || s == ".") continue;
    if (s == "..") { if (out.length) out.pop(); continue; }
    out.push(s);
  }
  const trailing = p.endsWith("/") || p.endsWith("/.") || p.endsWith("/..");
  let r = "/" + out.join("/");
  if (trailing && out.length) r += "/";
  return r;
}

export class Request extends VarSource {
  headers: HeaderBlock = new HeaderBlock(new ArrayBuffer(0));
  method: string = "";
  // :path as received (APISIX's $request_uri).
  requestUri: string = "";
  // :authority, with port (APISIX's $http_host).
  authority: string = "";
  // $host: lower-case, no port.
  host: string = "";
  // $uri: decoded, normalised path without the query string.
  uri: string = "";
  query: string = "";
  scheme: string = "";
  // Client address, read lazily (a property lookup) only when something asks.
  private remote: string | null = null;
  private remoteFetcher: (() => string) | null = null;
  // nginx's $ssl_* variables, read from the connection on demand (null
  // fetcher or a plain-text connection: the variables are absent).
  sslVar: ((name: string) => string | null) | null = null;
  private args: Array<Header> | null = null;
  private cookies: Array<Header> | null = null;

  static fromHeaders(headers: HeaderBlock, remoteFetcher: () => string): Request {
    const r = new Request();
    r.headers = headers;
    r.remoteFetcher = remoteFetcher;
    // First value wins, like Envoy's get_header_map_value.
    let i = headers.find(":method");
    if (i >= 0) r.method = headers.value(i);
    i = headers.find(":path");
    if (i >= 0) r.requestUri = headers.value(i);
    i = headers.find(":authority");
    if (i >= 0) r.authority = headers.value(i);
    i = headers.find(":scheme");
    if (i >= 0) r.scheme = headers.value(i);
    if (r.authority.length == 0) {
      const host = r.header("host");
      if (host !== null) r.authority = host;
    }
    r.host = hostOf(r.authority);
    const q = r.requestUri.indexOf("?");
    let path = q >= 0 ? r.requestUri.substring(0, q) : r.requestUri;
    r.query = q >= 0 ? r.requestUri.substring(q + 1) : "";
    // Drop a fragment a client should not have sent.
    const hash = path.indexOf("#");
    if (hash >= 0) path = path.substring(0, hash);
    r.uri = normalizePath(unescape(path, false));
    return r;
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
    if (name.startsWith("ssl_")) {
      const f = this.sslVar;
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
  return varPart.toLowerCase().replaceAll("_", "-");
}

// $host from an authority: lower-cased, port and IPv6 brackets' port removed.
export function hostOf(authority: string): string {
  if (authority.length == 0) return "";
  if (authority.charCodeAt(0) == 0x5b) {
    const close = authority.indexOf("]");
    return close > 0 ? authority.substring(0, close + 1).toLowerCase() : authority.toLowerCase();
  }
  const colon = authority.indexOf(":");
  const h = colon >= 0 ? authority.substring(0, colon) : authority;
  return h.toLowerCase();
}
