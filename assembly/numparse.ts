// Decimal text to f64 without ~lib's strtod (docs/size.md, "Size round 4:
// ~lib instantiations"), sharing f64text.ts's bignum arithmetic. Unlike
// strtod it is correctly rounded (nearest, ties to even) for every input.

// Bignums are little-endian u32 limbs in static memory: no allocation, and
// neither caller holds one across a call to the other (f64Text's digits are
// a string before it parses them back). The integers compared below stay
// under about 2,700 bits.
const LIMBS = 100;
export const bigA = memory.data(LIMBS * 4);
const bigB = memory.data(LIMBS * 4);
const bigD = memory.data(LIMBS * 4);
// Significant digits kept exactly; the rest only count as "more than zero".
// The decimal expansion of a midpoint between two doubles ends within this
// many digits of D's first one, so the comparison with it stays exact.
const KEEP = 800;

// big[0..len) = big × f + add (f, add < 2^32); the new length.
function mulSmall(big: usize, len: i32, f: u64, add: u64): i32 {
  let carry = add;
  for (let i = 0; i < len; i++) {
    const at = big + (<usize>i << 2);
    const t = <u64>load<u32>(at) * f + carry;
    store<u32>(at, <u32>t);
    carry = t >>> 32;
  }
  if (carry) store<u32>(big + (<usize>len << 2), <u32>carry);
  return len + i32(carry != 0);
}

// big × base^count (base 2 or 5), in steps that fit one limb (2^31, 5^13).
export function mulPow(big: usize, len: i32, base: u64, count: i32): i32 {
  while (count > 0) {
    const step = min(count, base == 2 ? 31 : 13);
    count -= step;
    let f: u64 = 1;
    for (let j = 0; j < step; j++) f *= base;
    len = mulSmall(big, len, f, 0);
  }
  return len;
}

// The sign of D − odd·2^e, where D = (the kept digits in bigD, dLen limbs)
// × 10^e10, plus a little when sticky (non-zero digits past those kept),
// exactly: both sides scaled to integers by powers of 5 and 2.
function compareMid(dLen: i32, e10: i32, sticky: bool, odd: u64, e: i32): i32 {
  memory.copy(bigA, bigD, <usize>dLen << 2);
  let a = mulPow(bigA, dLen, 5, e10);
  a = mulPow(bigA, a, 2, e10 - e);
  store<u64>(bigB, odd);
  let b = mulPow(bigB, odd >>> 32 ? 2 : 1, 5, -e10);
  b = mulPow(bigB, b, 2, e - e10);
  if (a != b) return a - b;
  for (let i = a - 1; i >= 0; i--) {
    const x = load<u32>(bigA + (<usize>i << 2)), y = load<u32>(bigB + (<usize>i << 2));
    if (x != y) return x > y ? 1 : -1;
  }
  return i32(sticky);
}

// The f64 nearest to s, which is decimal text as JSON, vars and the schema
// accept it (checked before): an optional sign, digits with an optional
// point (at least one digit), an optional exponent.
export function parseDecimal(s: string): f64 {
  const n = s.length;
  let i = 0;
  // The text is well-formed, so every read below is inside it.
  const at = changetype<usize>(s);
  const neg = load<u16>(at) == 0x2d;
  if (neg || load<u16>(at) == 0x2b) i = 1;
  // D = 0.<significant digits> × 10^point; the first 18 in w (under 2^62), the first
  // KEEP in bigD.
  let w: u64 = 0;
  let sig = 0, point = 0, dLen = 1;
  let dot = false, sticky = false;
  store<u32>(bigD, 0);
  for (; i < n; i++) {
    const c = <i32>load<u16>(at + (<usize>i << 1));
    if (c == 0x2e) { dot = true; continue; }
    if (c < 0x30 || c > 0x39) break;
    if (sig == 0 && c == 0x30) {
      if (dot) point--;
      continue;
    }
    if (!dot) point++;
    sig++;
    if (sig <= 18) w = w * 10 + <u64>(c - 0x30);
    if (sig <= KEEP) dLen = mulSmall(bigD, dLen, 10, c - 0x30);
    else if (c != 0x30) sticky = true;
  }
  if (i < n) {
    // The exponent, saturated: far past the range either way.
    const c = load<u16>(at + (<usize>i << 1), 2);
    const eneg = c == 0x2d;
    if (eneg || c == 0x2b) i++;
    let x = 0;
    while (++i < n) x = min(x * 10 + <i32>load<u16>(at + (<usize>i << 1)) - 0x30, 100000);
    point += eneg ? -x : x;
  }
  let r: f64 = 0;
  if (sig == 0 || point < -330) r = 0;
  else if (point > 310) r = Infinity;
  else {
    const k = min(sig, 18);
    let e10 = point - k;
    if (sig <= 15 && e10 >= -22 && e10 <= 22) {
      // Clinger's fast path: w and 10^|e10| are exact, one rounding.
      let p: f64 = 1;
      for (let j = 0; j < abs(e10); j++) p *= 10;
      r = e10 < 0 ? <f64>w / p : <f64>w * p;
    } else {
      // An estimate within a few units in the last place: w·10^e10 as a
      // 63-bit mantissa m times 2^b, each step ×10 = ×1.25·2^3 or
      // ÷10 = ×0.8·2^-3 truncated (relative error under 2^-62 a step).
      let m = w, b = 0;
      while (m < (<u64>1 << 62)) { m <<= 1; b--; }
      for (; e10 > 0; e10--) {
        m += m >>> 2;
        b += 3;
        if (m >= (<u64>1 << 63)) { m >>>= 1; b++; }
      }
      for (; e10 < 0; e10++) {
        m -= m / 5;
        b -= 3;
        if (m < (<u64>1 << 62)) { m <<= 1; b--; }
      }
      r = NativeMath.scalbn(<f64>m, b);
      let bits = reinterpret<u64>(r);
      if (bits == 0x7ff0000000000000) bits--;
      // Then exact: step to the neighbour while D lies beyond the midpoint
      // toward it (on the midpoint, toward the even mantissa).
      e10 = point - min(sig, KEEP);
      let step: u64 = 0;
      do {
        bits += step;
        step = 0;
        const be = <i32>(bits >>> 52);
        let mant = bits & 0xfffffffffffff;
        let e = -1075;
        if (be) { mant |= <u64>1 << 52; e += be - 1; }
        const odd = (mant & 1) != 0;
        if (be < 0x7ff) {
          if (compareMid(dLen, e10, sticky, mant * 2 + 1, e) + i32(odd) > 0) step = 1;
          else if (mant) {
            // Below a power of two the gap to the next lower double is half.
            const half = be > 1 && mant == <u64>1 << 52;
            if (compareMid(dLen, e10, sticky, half ? mant * 4 - 1 : mant * 2 - 1, e - i32(half)) - i32(odd) < 0) step = -1;
          }
        }
      } while (step);
      r = reinterpret<f64>(bits);
    }
  }
  return neg ? -r : r;
}
