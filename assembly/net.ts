// Address helpers: IP literal checks, "host:port" splitting, CIDR matching.

import { text } from "./config/text";

export function isIPv4(s: string): bool {
  let parts = 0, digits = 0, value = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2e) {
      if (digits == 0) return false;
      parts++;
      digits = 0; value = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value == 0) return false; // no leading zeros
      value = value * 10 + (c - 0x30);
      digits++;
      if (value > 255 || digits > 3) return false;
    } else return false;
  }
  return digits > 0 && parts == 3;
}

// Parses an IPv4 literal into 4 bytes; false when it is not one.
export function parseIPv4(s: string, out: Uint8Array, offset: i32 = 0): bool {
  if (!isIPv4(s)) return false;
  let idx = 0, value = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2e) { out[offset + idx] = <u8>value; idx++; value = 0; }
    else value = value * 10 + (c - 0x30);
  }
  out[offset + idx] = <u8>value;
  return true;
}

function hexVal(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

// Parses an IPv6 literal (no brackets, optional embedded IPv4 tail) into 16
// bytes. Zone ids (%eth0) are not accepted: they mean nothing to Envoy's
// original-destination address parser either.
export function parseIPv6(s: string, out: Uint8Array): bool {
  const n = s.length;
  if (n < 2 || n > 45) return false;
  const groups = new StaticArray<i32>(8);
  let count = 0, gap = -1, i = 0;
  if (s.charCodeAt(0) == 0x3a) {
    if (s.charCodeAt(1) != 0x3a) return false;
    gap = 0; i = 2;
    if (i == n) { for (let k = 0; k < 16; k++) out[k] = 0; return true; }
  }
  while (i < n) {
    if (count >= 8) return false;
    // An embedded IPv4 tail (::ffff:1.2.3.4).
    let dot = false;
    for (let j = i; j < n && s.charCodeAt(j) != 0x3a; j++) if (s.charCodeAt(j) == 0x2e) { dot = true; break; }
    if (dot) {
      if (count > 6) return false;
      const v4 = new Uint8Array(4);
      if (!parseIPv4(s.substring(i), v4)) return false;
      groups[count++] = (<i32>v4[0] << 8) | v4[1];
      groups[count++] = (<i32>v4[2] << 8) | v4[3];
      i = n;
      break;
    }
    let v = 0, d = 0;
    while (i < n && d < 5) {
      const h = hexVal(s.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h; d++; i++;
    }
    if (d == 0 || d > 4) return false;
    groups[count++] = v;
    if (i == n) break;
    if (s.charCodeAt(i) != 0x3a) return false;
    i++;
    if (i < n && s.charCodeAt(i) == 0x3a) {
      if (gap >= 0) return false;
      gap = count; i++;
      if (i == n) break;
    } else if (i == n) return false;
  }
  if (gap < 0 && count != 8) return false;
  if (gap >= 0 && count > 7) return false;
  const full = new StaticArray<i32>(8);
  if (gap >= 0) {
    const tail = count - gap;
    for (let k = 0; k < gap; k++) full[k] = groups[k];
    for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k];
  } else {
    for (let k = 0; k < 8; k++) full[k] = groups[k];
  }
  for (let k = 0; k < 8; k++) { out[2 * k] = <u8>(full[k] >> 8); out[2 * k + 1] = <u8>(full[k] & 0xff); }
  return true;
}

export function isIPv6(s: string): bool {
  const tmp = new Uint8Array(16);
  return parseIPv6(s, tmp);
}

export function isIP(s: string): bool {
  return isIPv4(s) || isIPv6(s);
}

// "host:port" as Envoy's original-destination parser wants it: IPv6 in brackets.
export function formatAddress(ip: string, port: i32): string {
  const b = text.reset();
  if (ip.indexOf(":") >= 0) b.add("[").add(ip).add("]"); else b.add(ip);
  return b.add(":").addInt(port).take();
}

export class HostPort {
  host: string = "";
  port: i32 = 0;   // 0 = absent
  error: string = "";
  // The input is exactly formatAddress(host, port): a port without leading
  // zeros, so the input string can serve as the address.
  canonical: bool = false;
}

// Splits "host", "host:port", "[v6]", "[v6]:port". A bare IPv6 literal is an
// error, as APISIX's check_upstream_conf says. A caller splitting many may
// pass one HostPort to fill each time.
export function splitHostPort(s: string, r: HostPort = new HostPort()): HostPort {
  r.host = ""; r.port = 0; r.error = ""; r.canonical = false;
  if (s.length == 0) { r.error = "empty address"; return r; }
  if (s.charCodeAt(0) == 0x5b) {
    const close = s.indexOf("]");
    if (close < 0) { r.error = "unterminated '[' in " + s; return r; }
    r.host = s.substring(1, close);
    if (!isIPv6(r.host)) { r.error = "invalid IPv6 address " + s; return r; }
    if (close + 1 == s.length) return r;
    if (s.charCodeAt(close + 1) != 0x3a) { r.error = "invalid address " + s; return r; }
    readPort(s, close + 2, r);
    return r;
  }
  const first = s.indexOf(":");
  if (first >= 0 && s.indexOf(":", first + 1) >= 0) {
    r.error = "IPv6 address must be enclosed with '[' and ']'";
    return r;
  }
  if (first < 0) { r.host = s; return r; }
  r.host = s.substring(0, first);
  readPort(s, first + 1, r);
  return r;
}

// The port that ends `s` from `from` on, into r (or r.error).
function readPort(s: string, from: i32, r: HostPort): void {
  r.port = parsePortAt(s, from);
  if (r.port < 0) r.error = "invalid port " + s.substring(from);
  else r.canonical = s.charCodeAt(from) != 0x30;
}

// 1-65535, digits only; -1 otherwise.
export function parsePort(s: string): i32 {
  return parsePortAt(s, 0);
}

function parsePortAt(s: string, from: i32): i32 {
  const n = s.length - from;
  if (n <= 0 || n > 5) return -1;
  let v = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v >= 1 && v <= 65535 ? v : -1;
}

// APISIX's host pattern for nodes and upstream_host: ^\*?[0-9a-zA-Z-._\[\]:]+$
export function isHostPattern(s: string): bool {
  if (s == "*") return true;
  let i = 0;
  if (s.length > 0 && s.charCodeAt(0) == 0x2a) i = 1;
  if (i >= s.length) return false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      c == 0x2d || c == 0x2e || c == 0x5f || c == 0x5b || c == 0x5d || c == 0x3a;
    if (!ok) return false;
  }
  return true;
}

// A CIDR or single address, compiled once at configure time.
export class Cidr {
  bytes: Uint8Array = new Uint8Array(16);
  v6: bool = false;
  bits: i32 = 0;

  static parse(s: string): Cidr | null {
    const c = new Cidr();
    const slash = s.indexOf("/");
    const ip = slash >= 0 ? s.substring(0, slash) : s;
    if (parseIPv4(ip, c.bytes)) { c.v6 = false; c.bits = 32; }
    else if (parseIPv6(ip, c.bytes)) { c.v6 = true; c.bits = 128; }
    else return null;
    if (slash >= 0) {
      const t = s.substring(slash + 1);
      if (t.length == 0 || t.length > 3) return null;
      let b = 0;
      for (let i = 0; i < t.length; i++) {
        const ch = t.charCodeAt(i);
        if (ch < 0x30 || ch > 0x39) return null;
        b = b * 10 + (ch - 0x30);
      }
      if (b > c.bits) return null;
      c.bits = b;
    }
    return c;
  }

  contains(ip: string): bool {
    const b = new Uint8Array(16);
    if (this.v6) { if (!parseIPv6(ip, b)) return false; }
    else if (!parseIPv4(ip, b)) return false;
    let bits = this.bits;
    for (let i = 0; bits > 0; i++) {
      const take = bits >= 8 ? 8 : bits;
      const mask = <u8>((<i32>0xff << (8 - take)) & 0xff);
      if ((b[i] & mask) != (this.bytes[i] & mask)) return false;
      bits -= take;
    }
    return true;
  }
}
