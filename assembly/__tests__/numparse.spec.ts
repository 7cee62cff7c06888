import { parseDecimal } from "../numparse";

// JavaScript's Number() of the text (as-pect.config.js): correctly rounded.
@external("env", "jsNumber")
declare function jsNumber(s: string): f64;

let mismatches = 0;
function same(s: string): void {
  const got = reinterpret<u64>(parseDecimal(s));
  const want = reinterpret<u64>(jsNumber(s));
  if (got != want) {
    if (mismatches++ < 10) log(s + " -> " + parseDecimal(s).toString() + ", Number() gives " + jsNumber(s).toString());
  }
  expect(got).toBe(want);
}

let seed: u64 = 0x9e3779b97f4a7c15;
function next(): u64 {
  seed ^= seed << 13; seed ^= seed >>> 7; seed ^= seed << 17;
  return seed;
}
function below(n: i32): i32 { return <i32>(next() % <u64>n); }

// An integer's decimal digits: big (u32 limbs, little-endian) divided by 10
// until zero. Independent of numparse.ts's own bignum on purpose.
function bigText(big: StaticArray<u32>, len: i32): string {
  let s = "";
  while (len > 0) {
    let r: u64 = 0;
    for (let i = len - 1; i >= 0; i--) {
      const t = (r << 32) | <u64>big[i];
      big[i] = <u32>(t / 10);
      r = t % 10;
    }
    while (len > 0 && big[len - 1] == 0) len--;
    s = String.fromCharCode(0x30 + <i32>r) + s;
  }
  return s;
}

// The exact decimal text of odd·2^e: odd·2^e, or odd·5^-e followed by e-e.
function exactText(odd: u64, e: i32): string {
  const big = new StaticArray<u32>(120);
  big[0] = <u32>odd;
  big[1] = <u32>(odd >>> 32);
  let len = 2;
  for (let k = 0; k < abs(e); k++) {
    let carry: u64 = 0;
    for (let i = 0; i < len; i++) {
      const t = <u64>big[i] * (e > 0 ? 2 : 5) + carry;
      big[i] = <u32>t;
      carry = t >>> 32;
    }
    if (carry) big[len++] = <u32>carry;
  }
  while (len > 0 && big[len - 1] == 0) len--;
  return bigText(big, len) + (e < 0 ? "e" + e.toString() : "");
}

describe("parseDecimal", () => {
  it("reads edge cases as Number() does", () => {
    const cases = ["0", "-0", "0.0", "-0.0e5", "1", "-1", "+7", "007", ".5", "5.", "0.1", "0.3", "123456.789", "1e23", "8.98846567431158e307",
      "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "-1.7976931348623159e308", "1e308", "1e309", "1e400",
      "1e99999999999999999999", "0e99999999", "1e-99999999999", "4.9e-324", "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
      "2.470328229206232720e-324", "1e-324", "3e-324", "2.2250738585072011e-308", "2.2250738585072012e-308", "2.2250738585072014e-308",
      "2.22507385850720138309023271733240406421921598046233e-308", "9007199254740993", "9007199254740993.0000000000000000000000001",
      "9007199254740992.9999999999999999999", "9007199254740995", "18014398509481985", "123456789012345678901234567890", "0.000001",
      "1e-7", "100000000000000000000000", "4503599627370496.5", "4503599627370497.5", "1.00000000000000011102230246251565404236316680908203125",
      "1.00000000000000011102230246251565404236316680908203124", "1.00000000000000011102230246251565404236316680908203126",
      "0.1e-0", "1E+2", "1e-22", "1e22", "1e-23", "123456789012345e-22", "1234567890123456e-22", "9.999999999999999e22",
      "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
      "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791"];
    for (let i = 0; i < cases.length; i++) same(cases[i]);
    // Past the 800 digits kept exactly, on and beside a midpoint.
    const tie = exactText(0x3fffffffffffff, -1075);
    same(tie);
    same(tie + "0".repeat(1000));
    same(tie.substring(0, tie.indexOf("e")) + "0".repeat(900) + "1" + tie.substring(tie.indexOf("e")));
    same("1" + "0".repeat(1200) + "e-1200");
    same("0." + "0".repeat(1000) + "1e1000");
  });

  it("reads random decimal texts as Number() does", () => {
    for (let i = 0; i < 4000; i++) {
      const n = i % 100 == 0 ? 1 + below(1000) : 1 + below(25);
      let s = i & 1 ? "-" : "";
      const point = below(n + 2) - 1;
      for (let k = 0; k < n; k++) {
        if (k == point) s += ".";
        s += String.fromCharCode(0x30 + below(10));
      }
      if (i & 2) s += "e" + (below(700) - 360).toString();
      same(s);
    }
  });

  it("rounds midpoints between doubles to even, and texts beside them to the nearer", () => {
    for (let i = 0; i < 1500; i++) {
      // A midpoint (2m+1)·2^(e-1) between m·2^e and the next double, normal
      // or subnormal, exactly, then just above and just below it.
      const sub = i % 10 == 0;
      const m = sub ? next() >>> 12 : (next() >>> 12) | (<u64>1 << 52);
      const e = sub ? -1074 : below(2044) - 1074;
      const t = exactText(m * 2 + 1, e - 1);
      same(t);
      const at = t.indexOf("e");
      const digits = at < 0 ? t : t.substring(0, at);
      const exp = at < 0 ? 0 : I32.parseInt(t.substring(at + 1));
      same(digits + "00000000000000000000001e" + (exp - 23).toString());
      same(digits.substring(0, digits.length - 1) + "e" + (exp + 1).toString());
    }
  });
});
