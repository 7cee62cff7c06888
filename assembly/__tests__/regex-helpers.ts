// Shared by the regex specs (regex-pcre.spec.ts, regex.spec.ts).
import { Regex, lastRegexError, resetRegexBudget } from "../expr/regex";

// The engine's own tests: the filter's per-request budget (tested at the end)
// is policy, not part of PCRE's answers.
export const ENGINE_BUDGET: i64 = i64.MAX_VALUE;

/** Search `input` (a string: matched as its UTF-8 bytes). */
export function m(pattern: string, input: string, expected: bool, ci: bool = false): void {
  let r = Regex.compile(pattern, ci);
  expect<string>(lastRegexError()).toBe("", "compile /" + pattern + "/");
  if (r == null) return;
  resetRegexBudget(ENGINE_BUDGET);
  expect<bool>(r.test(input)).toBe(expected, "/" + pattern + "/" + (ci ? "i" : "") + " on \"" + input + "\"");
}

/** Search raw bytes (for inputs that are not valid UTF-8). */
export function mb(pattern: string, bytes: u8[], expected: bool, ci: bool = false): void {
  let r = Regex.compile(pattern, ci);
  expect<string>(lastRegexError()).toBe("", "compile /" + pattern + "/");
  if (r == null) return;
  let data = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = bytes[i];
  resetRegexBudget(ENGINE_BUDGET);
  expect<bool>(r.testBytes(data)).toBe(expected, "/" + pattern + "/ on bytes");
}

/** Compilation must fail (never trap) with exactly this message. */
export function bad(pattern: string, message: string, ci: bool = false): void {
  let r = Regex.compile(pattern, ci);
  expect(r).toBeNull("should not compile: " + pattern);
  expect<string>(lastRegexError()).toBe(message, "error for " + pattern);
}

export function repeat(s: string, n: i32): string {
  return s.repeat(n);
}

// Deterministic pseudo-random generator (LCG, high bits).
let rndState: u32 = 12345;
export function reseed(s: u32): void { rndState = s; }
export function rnd(n: i32): i32 {
  rndState = rndState * 1103515245 + 12345;
  return <i32>((rndState >>> 8) % <u32>n);
}
