// nginx's rules for the request line and the Host header, over bytes: the
// percent-decoding of ngx.req.get_uri_args, $uri from the request target,
// and $host from the authority, with the 400s nginx answers before APISIX
// runs.

import { decodeBytes, encodeBytes } from "./headers";

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
export function hostLength(p: usize, n: i32, wide: bool): i32 {
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
export function asciiLower(p: usize, n: i32, wide: bool): string {
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
