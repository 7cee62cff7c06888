// The request as APISIX's `ctx.var` sees it, read from Envoy's header map
// once per request (one host call for all pairs, headers.ts) and derived
// lazily, by nginx's rules (nginx.ts).

import { lowerAscii, replaceChar, splitChar } from "./ascii";
import { VarSource } from "./expr/vars";
import { Header, HeaderBlock, decodeBytes } from "./headers";
import { asciiLower, hostLength, parseUriBytes, unescape } from "./nginx";

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
        const parts = splitChar(this.query, 0x26);
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
        const parts = splitChar(this.headers.value(i), 0x3b);
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
  return replaceChar(lowerAscii(varPart), 0x5f, 0x2d);
}
