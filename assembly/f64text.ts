import { bigA, mulPow, parseDecimal } from "./numparse";

// Printing an f64 as F64#toString does, without ~lib's dtoa (docs/size.md,
// "Number printing and small helpers").

// The text F64#toString gives (the same layout: "2.0", "0.001", "1e-7",
// "1.5e+300"), without ~lib's Grisu tables and digit generator, which cost
// about 2.9 KB of code and data. Only error messages, a log line and the
// `has` operand of a vars rule print non-integers, so speed does not matter
// here: the exact decimal expansion of n is computed with a small bignum,
// and the first rounding of it to 1, 2, ... significant digits that reads
// back as n through parseDecimal (the parser's reading) is printed.
// json.spec.ts compares it with F64#toString: the same text for decimals
// read from config text; for arbitrary doubles that need 17 digits, Grisu2
// may end in a different (also round-tripping) last digit.
export function f64Text(n: f64): string {
  if (n == 0) return "0.0";
  if (!isFinite(n)) return isNaN(n) ? "NaN" : n < 0 ? "-Infinity" : "Infinity";
  const x = Math.abs(n);
  const all = exactDigits(x);
  const point = digitsPoint;
  let digits = all;
  let kk = point;
  // 17 digits always identify a double.
  for (let p = 1; p <= min(all.length, 17); p++) {
    digits = roundDigits(all, p);
    // Rounding 9.96 to one digit gives "1" and moves the point.
    kk = point + i32(all.charCodeAt(0) == 0x39 && digits.charCodeAt(0) == 0x31);
    if (parseDecimal("0." + digits + "e" + kk.toString()) == x) break;
  }
  // Only where the search ran to 17 digits can they end in a zero.
  while (digits.endsWith("0")) digits = digits.substring(0, digits.length - 1);
  const len = digits.length;
  let s: string;
  if (len <= kk && kk <= 21) s = digits + zeros(kk - len) + ".0";
  else if (kk > 0 && kk <= 21) s = digits.substring(0, kk) + "." + digits.substring(kk);
  else if (kk > -6 && kk <= 0) s = "0." + zeros(-kk) + digits;
  else {
    const e = kk - 1;
    s = (len == 1 ? digits : digits.charAt(0) + "." + digits.substring(1)) + (e < 0 ? "e-" : "e+") + abs(e).toString();
  }
  return n < 0 ? "-" + s : s;
}

// At most 20 (String#repeat would add code for this one use).
function zeros(n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) s += "0";
  return s;
}

// Set by exactDigits: the value is 0.<digits> × 10^digitsPoint.
let digitsPoint: i32 = 0;

// The significant decimal digits of finite x > 0, exactly (no trailing
// zeros). x = m·2^e; for e < 0 that is m·5^-e / 10^-e, so both cases are an
// integer (m·2^e or m·5^-e, at most about 2,550 bits, in numparse.ts's
// bignum buffer) printed in decimal.
function exactDigits(x: f64): string {
  const bits = reinterpret<u64>(x);
  let e = <i32>(bits >>> 52);
  let m = bits & 0xfffffffffffff;
  if (e != 0) m |= 1 << 52;
  else e = 1;
  e -= 1075;
  const big = bigA;
  store<u64>(big, m);
  let len = mulPow(big, m >>> 32 ? 2 : 1, e > 0 ? 2 : 5, abs(e));
  // Decimal digits, last first, by repeated division by 10 (at most 767).
  const buf = new StaticArray<u8>(800);
  let at = 800;
  let zeros = 0;
  while (len > 0) {
    let r: u64 = 0;
    for (let i = len - 1; i >= 0; i--) {
      const limb = big + (<usize>i << 2);
      const t = (r << 32) | load<u32>(limb);
      store<u32>(limb, <u32>(t / 10));
      r = t % 10;
    }
    while (len > 0 && load<u32>(big + (<usize>(len - 1) << 2)) == 0) len--;
    if (at == 800 && r == 0) zeros++;
    else unchecked(buf[--at] = <u8>(0x30 + r));
  }
  digitsPoint = 800 - at + zeros + min(e, 0);
  return String.UTF8.decodeUnsafe(changetype<usize>(buf) + at, 800 - at);
}

// The first p digits of d, rounded half up, without the zeros a carry
// leaves ("1297", 3 → "13"; "995", 2 → "1").
function roundDigits(d: string, p: i32): string {
  if (p >= d.length || d.charCodeAt(p) < 0x35) return d.substring(0, p);
  let i = p - 1;
  while (i >= 0 && d.charCodeAt(i) == 0x39) i--;
  if (i < 0) return "1";
  return d.substring(0, i) + String.fromCharCode(d.charCodeAt(i) + 1);
}

// n in decimal, as I64#toString prints it. Values that fit an i32 (nearly
// all: ports, timeouts, ids, counts) go through I32#toString; the rest
// through a short loop, so ~lib's 64-bit itoa is not compiled in.
export function i64Text(n: i64): string {
  if (<i64><i32>n == n) return (<i32>n).toString();
  // Wraps for i64.MIN_VALUE to 2^63 as a u64, which is its magnitude.
  let u = <u64>(n < 0 ? -n : n);
  let s = "";
  do {
    s = String.fromCharCode(0x30 + <i32>(u % 10)) + s;
    u /= 10;
  } while (u);
  return n < 0 ? "-" + s : s;
}
