// Tests for assembly/expr/regex.ts — the linear-time regex engine behind the
// APISIX route `vars` operators `~~` / `~*` (PCRE "jo" semantics, byte mode).
//
// Every (pattern, input, expected) row below was also checked against Perl's
// regex engine (which agrees with PCRE on this subset) with byte strings and
// the /a flag, so the expectations are PCRE's answers, not the engine's.
import { Regex, lastRegexError, MAX_PROGRAM_SIZE, MAX_PATTERN_LENGTH, MAX_NESTING_DEPTH, resetRegexBudget, regexBudgetExceeded, regexAborts, REQUEST_REGEX_BUDGET } from "../expr/regex";

// The engine's own tests: the filter's per-request budget (tested at the end)
// is policy, not part of PCRE's answers.
const ENGINE_BUDGET: i64 = i64.MAX_VALUE;

/** Search `input` (a string: matched as its UTF-8 bytes). */
function m(pattern: string, input: string, expected: bool, ci: bool = false): void {
  let r = Regex.compile(pattern, ci);
  expect<string>(lastRegexError()).toBe("", "compile /" + pattern + "/");
  if (r == null) return;
  resetRegexBudget(ENGINE_BUDGET);
  expect<bool>(r.test(input)).toBe(expected, "/" + pattern + "/" + (ci ? "i" : "") + " on \"" + input + "\"");
}

/** Search raw bytes (for inputs that are not valid UTF-8). */
function mb(pattern: string, bytes: u8[], expected: bool, ci: bool = false): void {
  let r = Regex.compile(pattern, ci);
  expect<string>(lastRegexError()).toBe("", "compile /" + pattern + "/");
  if (r == null) return;
  let data = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) data[i] = bytes[i];
  resetRegexBudget(ENGINE_BUDGET);
  expect<bool>(r.testBytes(data)).toBe(expected, "/" + pattern + "/ on bytes");
}

/** Compilation must fail (never trap) with exactly this message. */
function bad(pattern: string, message: string, ci: bool = false): void {
  let r = Regex.compile(pattern, ci);
  expect(r).toBeNull("should not compile: " + pattern);
  expect<string>(lastRegexError()).toBe(message, "error for " + pattern);
}

function repeat(s: string, n: i32): string {
  return s.repeat(n);
}

// Deterministic pseudo-random generator (LCG, high bits).
let seed: u32 = 12345;
function rnd(n: i32): i32 {
  seed = seed * 1103515245 + 12345;
  return <i32>((seed >>> 8) % <u32>n);
}

describe("Regex: matches like PCRE (table)", () => {
  it("typical APISIX route regexes", () => {
    m("^/api/v[0-9]+/", "/api/v1/users", true);
    m("^/api/v[0-9]+/", "/api/v12/", true);
    m("^/api/v[0-9]+/", "/api/v/users", false);
    m("^/api/v[0-9]+/", "/x/api/v1/", false);
    m("^/api/v[0-9]+/", "/API/V1/", false);
    m("^/api/v[0-9]+/", "/API/V1/", true, true);
    m("\\.(jpg|png|gif)$", "/img/a.png", true);
    m("\\.(jpg|png|gif)$", "/img/a.PNG", false);
    m("\\.(jpg|png|gif)$", "/img/a.PNG", true, true);
    m("\\.(jpg|png|gif)$", "/img/a.png?x=1", false);
    m("\\.(jpg|png|gif)$", "/img/apng", false);
    m("\\.(jpg|png|gif)$", "/img/a.gif\n", true);
    m("\\.(jpg|png|gif)$", "/img/a.gif\n\n", false);
    m("^(GET|POST)$", "GET", true);
    m("^(GET|POST)$", "POST", true);
    m("^(GET|POST)$", "PUT", false);
    m("^(GET|POST)$", "GETS", false);
    m("^(GET|POST)$", "get", false);
    m("^(GET|POST)$", "get", true, true);
    m("^[a-z0-9-]+\\.example\\.com$", "api-1.example.com", true);
    m("^[a-z0-9-]+\\.example\\.com$", "a.b.example.com", false);
    m("^[a-z0-9-]+\\.example\\.com$", "api.exampleXcom", false);
    m("^[a-z0-9-]+\\.example\\.com$", ".example.com", false);
    m("^[a-z0-9-]+\\.example\\.com$", "API.example.com", false);
    m("^[a-z0-9-]+\\.example\\.com$", "API.Example.COM", true, true);
    m("Mozilla.*Firefox", "Mozilla/5.0 (X11; rv:109.0) Gecko/20100101 Firefox/115.0", true);
    m("Mozilla.*Firefox", "Mozilla/5.0 Chrome/115.0", false);
    m("Mozilla.*Firefox", "Mozilla\nFirefox", false);
    m("Mozilla.*Firefox", "Firefox Mozilla", false);
    m("Mozilla.*Firefox", "mozilla firefox", true, true);
  });
  it("anchors: ^ $ \\A \\z \\Z and empty patterns", () => {
    m("^$", "", true);
    m("^$", "\n", true);
    m("^$", "a", false);
    m("^$", "\n\n", false);
    m("a{2,3}", "a", false);
    m("a{2,3}", "aa", true);
    m("a{2,3}", "xaaaax", true);
    m("a{2,3}", "abab", false);
    m("^a{2,3}$", "aaaa", false);
    m("^a{2,3}$", "aaa", true);
    m("^a{2}$", "aa", true);
    m("^a{2}$", "aaa", false);
    m("^a{2,}$", "aaaaaaa", true);
    m("^a{2,}$", "a", false);
    m("^a{0}$", "", true);
    m("^a{0}b$", "b", true);
    m("(?i)^beta", "BETA-1", true);
    m("(?i)^beta", "xbeta", false);
    m("(?i)^beta", "Beta", true);
    m("^\\d{3}-\\d{4}$", "555-1234", true);
    m("^\\d{3}-\\d{4}$", "555-12345", false);
    m("^\\d{3}-\\d{4}$", "55-1234", false);
    m("^\\d{3}-\\d{4}$", "abc-defg", false);
    m("^\\d{3}-\\d{4}$", "555-1234\n", true);
    m("^\\d{3}-\\d{4}\\z", "555-1234\n", false);
    m("^\\d{3}-\\d{4}\\Z", "555-1234\n", true);
    m("\\Aabc", "abc", true);
    m("\\Aabc", "xabc", false);
    m("abc", "xxabcxx", true);
    m("abc", "ABC", false);
    m("abc", "xABCx", true, true);
    m("", "anything", true);
    m("", "", true);
    m("a|b|c", "zzc", true);
    m("a|b|c", "zzz", false);
  });
  it("alternation, groups, quantifiers (greedy and lazy)", () => {
    m("^(a|b)*$", "abba", true);
    m("^(a|b)*$", "abca", false);
    m("^(?:ab)+$", "ababab", true);
    m("^(?:ab)+$", "ababa", false);
    m("^ab*?c$", "abbbc", true);
    m("^ab+?c$", "ac", false);
    m("^ab??c$", "ac", true);
    m("^a.c$", "abc", true);
    m("^a.c$", "a\nc", false);
    m("(?s)^a.c$", "a\nc", true);
    m("^a\\.c$", "abc", false);
    m("^a\\.c$", "a.c", true);
  });
  it("character classes and escapes", () => {
    m("^[^/]+$", "abc", true);
    m("^[^/]+$", "a/c", false);
    m("^[^/]+$", "", false);
    m("^/users/[^/]+/profile$", "/users/42/profile", true);
    m("^/users/[^/]+/profile$", "/users/42/x/profile", false);
    m("^/users/\\w+$", "/users/john_doe", true);
    m("^/users/\\w+$", "/users/john-doe", false);
    m("^[\\w-]+$", "john-doe_1", true);
    m("^[\\w.-]+$", "a.b-c", true);
    m("^[\\w-.]+$", "a.b-c", true);
    m("^\\s*$", " \t\r\n", true);
    m("^\\S+$", "a b", false);
    m("^\\D+$", "abc", true);
    m("^\\D+$", "ab1", false);
    m("^\\W$", "-", true);
    m("^\\W$", "_", false);
    m("\\bfoo\\b", "a foo b", true);
    m("\\bfoo\\b", "afoob", false);
    m("\\Bfoo\\B", "afoob", true);
    m("^\\x41\\x{42}\\103$", "ABC", true);
    m("^\\t\\x09$", "\t\t", true);
    m("^[\\x00-\\x1f]+$", "\t\r", true);
    m("^[a\\]b]+$", "]a]b", true);
    m("^[]a]+$", "]a]", true);
    m("^[^]a]+$", "bcd", true);
    m("^[^]a]+$", "b]d", false);
    m("^[a-]+$", "-a-", true);
    m("^[-a]+$", "-a-", true);
    m("^[\\\\/]+$", "\\/", true);
    m("^[[:alpha:]]+$", "abcXYZ", true);
    m("^[[:alpha:]]+$", "abc1", false);
    m("^[[:^digit:]]+$", "abc", true);
    m("^[[:xdigit:]]+$", "DeadBeef09", true);
    m("^[[:upper:]]+$", "abc", true, true);
    m("^[[:upper:]]+$", "abc", false);
    m("^[^a]$", "A", false, true);
    m("^[^a]$", "A", true);
    m("^[A-Z]$", "q", true, true);
  });
  it("inline flags (?i) (?s) (?m), named groups, comments, literal braces", () => {
    m("^(?i:ab)c$", "ABc", true);
    m("^(?i:ab)c$", "ABC", false);
    m("^a(?i)b$", "aB", true);
    m("^a(?i)b$", "AB", false);
    m("^(a(?i)b|c)$", "C", true);
    m("^(?i)a(?-i)b$", "Ab", true);
    m("^(?i)a(?-i)b$", "AB", false);
    m("(?m)^b$", "a\nb\nc", true);
    m("^b$", "a\nb\nc", false);
    m("(?m)a$", "a\nb", true);
    m("a$", "a\nb", false);
    m("^/api/{id}$", "/api/{id}", true);
    m("^x{a}$", "x{a}", true);
    m("^a}$", "a}", true);
    m("^a]$", "a]", true);
    m("^(?<ver>v\\d+)/(?P<name>\\w+)$", "v2/users", true);
    m("^(?'x'a)b$", "ab", true);
    m("^a(?#comment)b$", "ab", true);
    m("^a(?#c)+$", "aaa", true);
  });
  it("byte (UTF-8) semantics", () => {
    m("^é$", "é", true);
    m("^.$", "é", false);
    m("^..$", "é", true);
    m("^\\xc3\\xa9$", "é", true);
    m("^é+$", "ééé", false);
    mb("^é+$", [0xc3, 0xa9, 0xa9, 0xa9], true);
    m("^[\\xc3][\\xa9]$", "é", true);
    m("caf.", "café", true);
    m("^caf.$", "café", false);
  });
  it("nested/empty loops", () => {
    m("^(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false);
    m("^(a|aa)+$", "aaaaaaaaaaaaaaaaaaaa", true);
    m("(a*)*b", "aaaa", false);
    m("(a*)*b", "aaaab", true);
    m("(|a)+b", "aab", true);
    m("^(?:)*$", "", true);
    m("()", "x", true);
    m("^(?:a?){3}a{3}$", "aaa", true);
    m("^(?:a?){3}a{3}$", "aa", false);
    m("x*", "yyy", true);
  });
  it("misc escapes", () => {
    m("^\\cA$", "\u0001", true);
    m("^\\0$", "\u0000", true);
    m("^[\\d]$", "5", true);
    m("^[^\\d\\s]$", "5", false);
    m("^[^\\d\\s]$", "x", true);
    m("^\\h+\\v$", " \t\n", true);
    m("^\\N+$", "ab", true);
    m("^\\N+$", "a\nb", false);
    m("^\\/\\-\\{\\}\\*\\+\\?\\.\\$\\^\\|\\(\\)\\[\\]$", "/-{}*+?.$^|()[]", true);
    m("(?U)a+", "aa", true);
  });

  it("random patterns, answers checked against Perl", () => {
    m("(?s)\\n|\\z\\n\\s", "_c\nAA b", true);
    m("[a-c](?s)(?s)", ". .Ac", true);
    m("|\\d$1", "c\n\n", true);
    m("^(?m)1(?m)\\w|", "x\nb--", true);
    m("[a-c]bb", "-aaabb1", true);
    m("\\.[a-c]", "\n1\n1.cc", true);
    m("[^a]\\w", "1 b-", true);
    m("\\n(?s)", "\n-.aA  x", true);
    m("a?", "cxx1", true);
    m("[a-c]?[a-c][ab]|[a-c]x", "-A.A1.cxa", true);
    m("-?", "A_- ", true);
    m("(?s)\\s", "1c .\n", true);
    m("(?i)|\\d[a-c]\\wx", "ac", true);
    m("[\\w-].", "\ncxx .xa", true, true);
    m("\\db{1,2}", "\n1bxbx", true, true);
    m("b(?m)", "b a", true);
    m("|-a\\s*?", "x.b1bx\nA", true);
    m("\\n-\\.a(?m)x\\n|", "-c.", true, true);
    m("bb|", "_. cax_aA", true, true);
    m("\\z|\\s$\\Z", "11x", true);
    m("[\\w-]\\s\\.b\\Z|(?s)x", "\n\nx1", true, true);
    m(".{1,2}", "a1._\n1\na", true);
    m("[^a]|[\\w-]", "bcA.", true, true);
    m("\\bc", "cc1", true, true);
    m("(?i)\\Z", "1a\nb1a1A", true);
    m("b(?s)", "bb x...", true);
    m("[a-c]\\Z(?i)|(?i)(?s)", "-", true, true);
    m("[\\w-](?s)c", "\n-c", true);
    m("[\\w-](?s)", "_abac\n -", true);
    m(".?", "bxxx.._.\n", true);
    m("b*?b\\.|[\\w-]\\b", "cb-", true);
    m("|(?s)", " b_ab", true, true);
    m("(?i)-*?", "._cx\ncb", true);
    m("a(?m)[\\w-]a^|", "A.A_", true);
    m("(?i)b1b+|", "- xcx1A.", true);
    m("(?s)(?s)", "cb.", true);
    m("^(?i)", "x-\n", true);
    m("$\\.*", "", true);
    m("\\d|\\da\\w\\s[a-c]", "xc\nc\n1b", true, true);
    m("|a\\w\\s-{1,2}[^a]", "_--\nb A", true, true);
    m("^|(?i)a", "a\n. x -", true);
    m("\\bb|[a-c]", "Ac", true, true);
    m("\\.|", "\n", true);
    m("b?[^a]", "a1c\n\na.", true);
    m("\\s?", "-_", true);
    m("|[^a]c^(?s)-*a", "\na", true, true);
    m("\\Z|\\d+\\.", "abc-c", true);
    m("[\\w-](?i)", "1", true);
    m(".*", "- _.", true);
    m("[\\w-]\\s|b?a*[ab]", "cA_1b _b", true);
    m("\\s*?", "cAx._1", true, true);
    m("\\d.", "bx1_c -", true);
    m("A|", "_ x 1-Aa", true);
    m("a\\.", "aAA._aa.b", true);
    m("\\.||(?i)", "_", true);
    m("\\s*b", "ba\n\n", true, true);
    m("[\\w-]|b{2}", "-a\n-", true);
    m(".(?s)(?m)(?i)", "AaA c ", true);
    m("a\\b", "\naa-a1 aA", true);
    m("\\.\\d*[a-c]a|(?i)\\d", "- _b1 ", true);
    m("[ab].", "bax-a \n-A", true, true);
    m("a[ab]|", "bxA1xx1a", true);
    m("b?", "", true);
    m("\\z(?i)", "bx1. b", true, true);
    m("[^a].\\Z", "-1c", true);
    m("[a-c]|\\wa", "Aa", true, true);
    m("b*?", "\nA ", true);
    m("(?m)\\.(?s)", "\n1\nb.", true);
    m("a(?s)1$\\n1|", "._", true);
    m("\\w{2}", "a_11b", true, true);
    m("^^[ab]", "a", true, true);
    m("$\\Z", "b1\nbAAb.", true);
    m("[\\w-]bx.+\\z$", "111_bx.", true, true);
    m("a{2}(?i)|[^a]", "\nca", true);
    m("|A\\s\\.", ".", true);
    m("$\\Z\\d-|", "1xab.1 -b", true);
    m(".\\w", "_A  axa.A", true);
    m("x(?i)", "a-xxx", true);
    m("a[a-c]{1,2}\\d[^a][\\w-]a|", "A", true);
    m("(?s)(?:)", "-b_a c1 x", true);
    m("Axa", "c", false, true);
    m("a?b{1,2}[ab][^a]*?", "A\nxx", false);
    m("b(?m)\\s$a{2}\\w", " -", false);
    m("(?m)\\Z\\.", "", false);
    m("\\s[ab][^a].\\d\\d\\.", "x", false);
    m("(?i)Ab", " xbA_b1.", false);
    m("[\\w-]\\waa\\w+\\z\\z", "a_x.aaA x", false);
    m("\\b[ab]1", "_AbA_1A A", false);
    m("x\\nA", "abAbb", false);
    m("\\d|-\\wA+a+", "A\nb_-cx", false);
    m("-\\b$", "xAa1 Axa-", false);
    m("c|\\n[a-c]ab-$", "-1 _", false);
    m(".*.a\\d[\\w-]", ".cb cbx", false);
    m("(?i)1c", "1\n_", false);
    m("A.", "1c-\n-ax", false);
    m("-\\b\\b", "xb _cA-", false);
    m("(?s)[a-c]bAa\\w", "", false);
    m("\\w\\n", " --", false);
    m("aa\\.\\s^[\\w-]\\d", " - x_", false, true);
    m("()\\d\\b-", "a.", false);
    m("1\\w-aa\\s", "1c\n", false);
    m("(?m)\\z1\\b\\b", "\n--1Aa.", false);
    m("a(?m)a\\d\\z", " a_", false);
    m("\\d{2}x\\z", "acc-c.-c\n", false);
    m("b+a+bAA\\d", "x", false, true);
    m("b$b\\b.(?i)x\\n", "aAb ", false);
    m("A+", "c__.", false);
    m("\\n\\s\\n\\n(?s)", " -__", false, true);
    m("A\\.(?i)\\n\\n(?i)", "\nx-_xc1", false);
    m("\\.\\.", " b", false);
    m("\\da\\z", "c\nx-A1", false);
    m("x\\d\\za", "xc ab1- 1", false);
    m("ba\\d(?s)", "_  ", false);
    m("[^a]\\d", "\n", false);
    m("-[^a]x", "x.1 ._ 1", false);
    m("-aa*?[a-c]bb", "\n_\nxcx", false);
    m("(?i)(?s)(?m)\\da", "cx-b-1\n.x", false);
    m("x1", "A .\nA", false);
    m("1\\Z1\\Zb", "\nA", false);
    m("\\n?a", "b_c.bc", false);
    m("(?m)\\d?c", "_.A_\nx.- ", false);
    m("\\w\\Z[^a]{2}1{2}", "", false);
    m("a(?m)a\\s\\z", "\n", false);
    m("b\\z(?i)\\Z", "_", false, true);
    m("b\\.$-(?m)1-+", "", false);
    m("\\w\\s[a-c]\\b", "\n \n", false);
    m("\\wax\\z(?s)\\n[ab]\\Z", ".", false);
    m("\\b-x(?s).(?m)", "", false);
    m("\\d-[^a]c", "c_a. 1\nc_", false);
    m("\\d-|\\Z[a-c]", "-x-_", false);
    m("\\b$", "\nxaxAbcc-", false);
    m("a\\Z", "c-c\na_bx", false);
    m("A.{1,2}x\\d$-\\n", "a", false);
    m("A\\n\\sca", "1x-b x", false, true);
    m("a\\d\\s[\\w-]c", "1", false);
    m("b*?[\\w-]\\Z.+A", ".", false);
    m(".\\zb\\n", "x .aaAA", false);
    m("(?i)\\s", "b", false);
    m(".b(?m)-b[a-c]", ".-\n1-a_bx", false, true);
    m("\\n$", "xabx", false);
    m("ca", "\n ", false);
    m("ab[^a]", "1 aA_", false);
    m("^b\\.\\s1xa", "_", false);
    m("\\b$\\sab", "\n1_.", false);
    m(".[\\w-](?m)\\z", "Ac-aA-a-\n", false);
    m("\\s[ab]1", "x1", false);
    m("a[\\w-]", "", false);
    m("\\n\\.a(?m)", "", false);
    m("\\Z(?m)[\\w-](?i)\\n*", ".a11a", false);
    m("[^a]{1,2}\\n|\\.b\\z\\b", "", false);
    m("[\\w-]$$x", "bc _\n", false);
    m("\\ba[\\w-].\\n\\z-", "", false);
    m("[ab]\\n\\.", "xcb", false);
    m("a(?s)\\w(?s)|^[a-c]a", "cc", false);
    m("^\\wb[a-c]?(?i)-[^a]", "c_c", false, true);
    m("b*\\w", "-", false);
    m("\\wA\\b\\Z^\\z(?s)(?i)", "", false);
    m("\\sc|[^a]\\waa^", "\n.a_-", false);
    m("\\Z$[ab]{2}A\\Z", "A -cA", false);
    m("[\\w-]a$a$", "a_b_", false);
    m("\\b\\s[^a]", ".. c\n", false);
    m("a(?m)b|1", "-", false);
    m("(?i)[a-c]cc-b{1,2}b", "x- AAc-", false);
    m("-[\\w-]c\\s", "x-c  -\nx", false, true);
    m("\\z^[^a]b", "", false);
    m("1\\s(?i)", "1-.-", false, true);
    m("x\\dcb\\Z", "", false);
    m("b\\z", "\n.c_.b1._", false, true);
    m("[\\w-]\\n1^\\w[ab]", " ", false);
    m("ac", "xba\nb", false);
    m("\\b\\b-", "", false);
    m("$-[a-c]", "ab- _", false, true);
    m("A\\zb", "\n\nx-. .", false, true);
    m("[\\w-]^b\\.", "bc.\n-\n1\nb", false);
    m("b\\Z(?i)-", "_-ac-abb", false);
    m("1{1,2}", "b ax -", false, true);
    m("-A", ".Aac\n-_", false);
    m("b+\\b", "_1a", false);
    m("\\zA\\wA\\s+", "x1b", false);
    m("$\\zc[^a].\\wa", " _ A-_", false, true);
  });
});

describe("Regex: API", () => {
  it("is case-sensitive by default and case-insensitive on request (~~ vs ~*)", () => {
    let cs = Regex.compile("^/Admin");
    let ci = Regex.compile("^/Admin", true);
    expect<bool>(cs != null && ci != null).toBe(true);
    if (cs == null || ci == null) return;
    expect<bool>(cs.test("/Admin/x")).toBe(true);
    expect<bool>(cs.test("/admin/x")).toBe(false);
    expect<bool>(ci.test("/admin/x")).toBe(true);
    expect<bool>(ci.test("/ADMIN")).toBe(true);
    expect<bool>(ci.test("/x/admin")).toBe(false);
  });

  it("(?-i) can switch the API flag off for part of the pattern", () => {
    m("^a(?-i)b$", "Ab", true, true);
    m("^a(?-i)b$", "AB", false, true);
  });

  it("resets lastRegexError() after a successful compile", () => {
    expect(Regex.compile("(")).toBeNull();
    expect<string>(lastRegexError()).toBe("missing closing parenthesis at offset 0");
    expect<bool>(Regex.compile("ok") != null).toBe(true);
    expect<string>(lastRegexError()).toBe("");
  });

  it("reuses its buffers across calls, including after an early match", () => {
    let r = Regex.compile("ab|cd$");
    if (r == null) return;
    for (let k = 0; k < 50; k++) {
      expect<bool>(r.test("xxabyy")).toBe(true);
      expect<bool>(r.test("ba")).toBe(false);
      expect<bool>(r.test("xcd")).toBe(true);
      expect<bool>(r.test("cdx")).toBe(false);
      expect<bool>(r.test("")).toBe(false);
    }
    // a second regex shares the scratch input buffer but not the VM state
    let r2 = Regex.compile("^z+$");
    if (r2 == null) return;
    expect<bool>(r2.test(repeat("z", 2000))).toBe(true);
    expect<bool>(r.test("ab")).toBe(true);
    expect<bool>(r2.test("zzy")).toBe(false);
  });

  it("testBytes / testBuffer match raw bytes", () => {
    let r = Regex.compile("^GET /\\w+$");
    if (r == null) return;
    expect<bool>(r.testBuffer(String.UTF8.encode("GET /abc"))).toBe(true);
    expect<bool>(r.testBuffer(String.UTF8.encode("GET /a-c"))).toBe(false);
    expect<bool>(r.testBytes(Uint8Array.wrap(String.UTF8.encode("GET /x")))).toBe(true);
    expect<bool>(r.testBytes(new Uint8Array(0))).toBe(false);
    let any = Regex.compile("");
    if (any == null) return;
    expect<bool>(any.testBytes(new Uint8Array(0))).toBe(true);
  });

  it("encodes strings as UTF-8 (lone surrogates WTF-8, like String.UTF8.encode)", () => {
    m("^....$", "😀", true); // U+1F600 is 4 bytes
    m("^\\xf0\\x9f\\x98\\x80$", "😀", true);
    m("^\\xed\\xa0\\x80$", "\uD800", true); // lone high surrogate
    m("^\\xed\\xb0\\x80x$", "\uDC00x", true); // lone low surrogate
    m("^\\xed\\xa0\\x80x$", "\uD800x", true); // high surrogate not followed by a low one
    m("^é{2}$", "é\u00A9", false);
  });

  it("reports program length (expansion of counted repeats)", () => {
    let r = Regex.compile("abc");
    if (r != null) expect<i32>(r.programLength).toBe(4);
    r = Regex.compile("");
    if (r != null) expect<i32>(r.programLength).toBe(1);
    r = Regex.compile("a{1000}");
    if (r != null) expect<i32>(r.programLength).toBe(1001);
    // exactly at the limit: 4*1000 + 999 + MATCH = 5000
    r = Regex.compile("(?:a{1000}){4}a{999}");
    expect<bool>(r != null).toBe(true);
    if (r != null) expect<i32>(r.programLength).toBe(MAX_PROGRAM_SIZE);
    bad("(?:a{1000}){5}", "pattern too large: compiled program exceeds 5000 instructions");
  });

  it("handles long inputs", () => {
    let long = repeat("a", 100000);
    m("b", long, false);
    m("a$", long, true);
    m("^a*$", long, true);
    m("^a*b", long, false);
    m("(?i)A{1000}", long, true);
  });
});

describe("Regex: errors (returned, never trapping)", () => {
  it("unbalanced parentheses and brackets", () => {
    bad("(", "missing closing parenthesis at offset 0");
    bad("(a", "missing closing parenthesis at offset 0");
    bad("a(b(c)", "missing closing parenthesis at offset 1");
    bad("a)", "unmatched closing parenthesis at offset 1");
    bad(")", "unmatched closing parenthesis at offset 0");
    bad("[a", "missing terminating ] for character class at offset 0");
    bad("[]", "missing terminating ] for character class at offset 0");
    bad("x[^]", "missing terminating ] for character class at offset 1");
    bad("(?#abc", "missing ) after (?# comment at offset 0");
    bad("(?i", "missing closing parenthesis at offset 0");
  });

  it("dangling, nested and possessive quantifiers", () => {
    bad("*a", "quantifier does not follow a repeatable item at offset 0");
    bad("a|*", "quantifier does not follow a repeatable item at offset 2");
    bad("(+)", "quantifier does not follow a repeatable item at offset 1");
    bad("?", "quantifier does not follow a repeatable item at offset 0");
    bad("{2}", "quantifier does not follow a repeatable item at offset 0");
    bad("^*", "quantifier does not follow a repeatable item at offset 1");
    bad("a$+", "quantifier does not follow a repeatable item at offset 2");
    bad("\\b?", "quantifier does not follow a repeatable item at offset 2");
    bad("(?i)*", "quantifier does not follow a repeatable item at offset 4");
    bad("a**", "quantifier follows another quantifier at offset 2");
    bad("a{2}{3}", "quantifier follows another quantifier at offset 4");
    bad("a*?+", "quantifier follows another quantifier at offset 3");
    bad("a*+", "possessive quantifiers are not supported at offset 2");
    bad("a++", "possessive quantifiers are not supported at offset 2");
    bad("a{2}+", "possessive quantifiers are not supported at offset 4");
  });

  it("bad {} quantifiers and repeat limits", () => {
    bad("a{3,2}", "numbers out of order in {} quantifier at offset 1");
    bad("a{2", "malformed {} quantifier at offset 1");
    bad("a{2,x}", "malformed {} quantifier at offset 1");
    bad("a{2x}", "malformed {} quantifier at offset 1");
    bad("a{,5}", "{,n} quantifier is not supported (ambiguous between PCRE versions), use {0,n} at offset 1");
    bad("a{1001}", "repetition count too large (max 1000) at offset 1");
    bad("a{0,1001}", "repetition count too large (max 1000) at offset 1");
    bad("a{99999999999999999999}", "repetition count too large (max 1000) at offset 1");
    m("^a{1000}$", repeat("a", 1000), true);
  });

  it("invalid character classes", () => {
    bad("[z-a]", "range out of order in character class at offset 1");
    bad("x[9-0]", "range out of order in character class at offset 2");
    bad("[[:foo:]]", "unknown POSIX class name at offset 1");
    bad("[[.a.]]", "POSIX collating elements are not supported at offset 1");
    bad("[[=a=]]", "POSIX collating elements are not supported at offset 1");
    bad("[é]", "non-ASCII characters in character classes are not supported (use \\xHH for bytes) at offset 1");
    bad("[\\p{L}]", "unsupported escape sequence \\p in character class at offset 1");
    bad("[\\B]", "unsupported escape sequence \\B in character class at offset 1");
  });

  it("backreferences, lookaround, atomic groups and other unsupported groups", () => {
    bad("\\1", "backreferences are not supported at offset 0");
    bad("\\9", "backreferences are not supported at offset 0");
    bad("\\81", "backreferences are not supported at offset 0");
    bad("((((((((((a))))))))))\\10", "backreferences are not supported at offset 21");
    m("^\\101\\60$", "A0", true); // octal, as in PCRE (fewer groups than 101)
    bad("\\400", "octal value is greater than \\377 at offset 0");
    bad("(a)\\1", "backreferences are not supported at offset 3");
    bad("(a)\\g1", "backreferences are not supported at offset 3");
    bad("(?<n>a)\\k<n>", "backreferences are not supported at offset 7");
    bad("(?P<n>a)(?P=n)", "backreferences are not supported at offset 8");
    bad("a(?=b)", "lookahead assertions are not supported at offset 1");
    bad("a(?!b)", "lookahead assertions are not supported at offset 1");
    bad("(?<=a)b", "lookbehind assertions are not supported at offset 0");
    bad("(?<!a)b", "lookbehind assertions are not supported at offset 0");
    bad("(?>a+)b", "atomic groups are not supported at offset 0");
    bad("(?|a|b)", "branch reset groups are not supported at offset 0");
    bad("(?(1)a|b)", "conditional groups are not supported at offset 0");
    bad("(a)(?1)", "recursion and subroutine calls are not supported at offset 3");
    bad("(?R)", "recursion and subroutine calls are not supported at offset 0");
    bad("(?P>n)", "recursion and subroutine calls are not supported at offset 0");
    bad("(*UTF)a", "(*VERB) and (*OPTION) items are not supported at offset 0");
    bad("(?x) a", "extended mode (?x) is not supported at offset 2");
    bad("(?z)", "unrecognized character after (? or (?- at offset 2");
    bad("(?i-m-s)", "unrecognized character after (? or (?- at offset 5");
    bad("(?Px)", "unrecognized character after (?P at offset 3");
    bad("(?<1a>x)", "invalid group name at offset 3");
    bad("(?<a-b>x)", "invalid group name at offset 4");
  });

  it("escapes", () => {
    bad("\\", "\\ at end of pattern at offset 0");
    bad("a\\", "\\ at end of pattern at offset 1");
    bad("[a\\", "\\ at end of pattern at offset 2");
    bad("\\p{L}", "unsupported escape sequence \\p at offset 0");
    bad("\\Qa.b\\E", "unsupported escape sequence \\Q at offset 0");
    bad("\\G", "unsupported escape sequence \\G at offset 0");
    bad("\\K", "unsupported escape sequence \\K at offset 0");
    bad("\\R", "unsupported escape sequence \\R at offset 0");
    bad("\\u0041", "unsupported escape sequence \\u at offset 0");
    bad("\\x{100}", "character value in \\x{} is too large (byte mode, max \\x{ff}) at offset 0");
    bad("\\x{zz}", "malformed \\x{...} escape at offset 0");
    bad("\\x{41", "malformed \\x{...} escape at offset 0");
    bad("\\N{LATIN SMALL LETTER A}", "\\N{name} character names are not supported at offset 0");
    bad("\\c", "\\c at end of pattern at offset 0");
    bad("[\\777]", "octal value is greater than \\377 at offset 1");
  });

  it("pattern length and nesting limits", () => {
    expect<i32>(MAX_PATTERN_LENGTH).toBe(4096);
    expect<i32>(MAX_NESTING_DEPTH).toBe(100);
    m(repeat("a", 4096), repeat("a", 4096), true);
    bad(repeat("a", 4097), "pattern too long (max 4096 bytes)");
    bad(repeat("é", 2049), "pattern too long (max 4096 bytes)"); // 4098 UTF-8 bytes
    m(repeat("(", 100) + "a" + repeat(")", 100), "a", true);
    bad(repeat("(", 101) + "a" + repeat(")", 101), "parentheses are nested too deeply (max 100) at offset 100");
    bad(repeat("(", 3000), "parentheses are nested too deeply (max 100) at offset 100");
    bad(repeat("[", 3000), "missing terminating ] for character class at offset 0");
  });

  it("program size limit is checked before expansion", () => {
    bad("((a{1000}){1000}){1000}", "pattern too large: compiled program exceeds 5000 instructions");
    bad("(?:a{100}){200}", "pattern too large: compiled program exceeds 5000 instructions");
    bad("(((((((((((x{1000}){1000}){1000}){1000}){1000}){1000}){1000}){1000}){1000}){1000}){1000})",
      "pattern too large: compiled program exceeds 5000 instructions");
    bad("(?:a|b|c|d|e|f|g|h|i|j){1000}{}", "pattern too large: compiled program exceeds 5000 instructions");
    m("^(?:a{100}){49}$", repeat("a", 4900), true);
  });
});

describe("Regex: linear time (no backtracking)", () => {
  // The Pike VM keeps at most one thread per program counter per input
  // position, so a search costs O(program length × input length) whatever the
  // pattern. These inputs take 2^30 or more steps in a backtracking engine;
  // here each is a few thousand to a few hundred thousand steps.
  it("(a+)+$ and (a|a)*b against 'a'×30 + 'c'", () => {
    let s = repeat("a", 30) + "c";
    m("(a+)+$", s, false);
    m("^(a+)+$", s, false);
    m("(a|a)*b", s, false);
    m("(a|aa)*b", s, false);
    m("(a*)*b", s, false);
    m("(a+)+c$", s, true);
  });

  it("(x+x+)+y against 'x'×5000", () => {
    let s = repeat("x", 5000);
    m("(x+x+)+y", s, false);
    m("(x+x+)+y", s + "y", true);
    m("^(x+x+)+$", s, true);
  });

  it("other classic ReDoS shapes", () => {
    m("^(\\w+\\s?)*$", repeat("hello world ", 300) + "!", false);
    m("^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
      repeat("a", 3000) + "!", false);
    m("(.*a){20}", repeat("a", 5000), true);
    m("(.*a){20}", repeat("a", 19) + repeat("b", 5000), false);
    m("^(a?){30}a{30}$", repeat("a", 30), true);
    m("(?:a|a?)+?b", repeat("a", 5000), false);
    m("a{1000}", repeat("a", 999), false);
    m("a{1000}", repeat("a", 1000), true);
  });
});

const TOKENS: string[] = [
  "a", "b", "x", "A", "é", ".", "*", "+", "?", "*?", "|", "(", ")", "(?:", "(?i)", "(?<n>", "(?=", "[", "]", "[a-c]",
  "[^a]", "[\\w-]", "[]", "^", "$", "\\", "\\d", "\\W", "\\s", "\\b", "\\1", "\\x41", "\\z", "{", "}", "{2}", "{1,3}",
  "{2,}", "{3,1}", "{,2}", "{1001}", "-", ",", "\\.", "\\n", "(?#c)", "(?s)", "[[:alpha:]]", "[z-a]", "\\p",
];
const INPUT_CHARS = "abxA.-_ \n1é{}";

describe("Regex: fuzz (never traps)", () => {
  it("3000 random token patterns compile or fail cleanly, and match random inputs", () => {
    seed = 20240601;
    let ok = 0;
    let failed = 0;
    let matched = 0;
    for (let k = 0; k < 3000; k++) {
      let p = "";
      let len = 1 + rnd(10);
      for (let i = 0; i < len; i++) p += TOKENS[rnd(TOKENS.length)];
      let r = Regex.compile(p, rnd(3) == 0);
      if (r == null) {
        failed++;
        expect<bool>(lastRegexError().length > 0).toBe(true, p);
        continue;
      }
      ok++;
      expect<string>(lastRegexError()).toBe("");
      for (let t = 0; t < 6; t++) {
        let s = "";
        let n = rnd(20);
        for (let i = 0; i < n; i++) s += INPUT_CHARS.charAt(rnd(INPUT_CHARS.length));
        resetRegexBudget(ENGINE_BUDGET);
        if (r.test(s)) matched++;
      }
    }
    expect<i32>(ok + failed).toBe(3000);
    // both outcomes are exercised
    expect<bool>(ok > 300).toBe(true);
    expect<bool>(failed > 300).toBe(true);
    expect<bool>(matched > 100).toBe(true);
  });

  it("2000 patterns of random ASCII bytes, matched against random raw bytes", () => {
    seed = 777;
    const META = "()[]{}|*+?.^$\\-,:=!<>#'PikmsxdwbBAzZ0123abc";
    let ok = 0;
    let failed = 0;
    let buf = new Uint8Array(64);
    for (let k = 0; k < 2000; k++) {
      let p = "";
      let len = rnd(24);
      for (let i = 0; i < len; i++) {
        p += rnd(2) == 0 ? META.charAt(rnd(META.length)) : String.fromCharCode(rnd(128));
      }
      let r = Regex.compile(p);
      if (r == null) { failed++; continue; }
      ok++;
      for (let t = 0; t < 4; t++) {
        let n = rnd(64);
        for (let i = 0; i < n; i++) buf[i] = <u8>rnd(256);
        resetRegexBudget(ENGINE_BUDGET);
        r.testBytes(buf.subarray(0, n));
      }
    }
    expect<i32>(ok + failed).toBe(2000);
    expect<bool>(ok > 100).toBe(true);
  });
});

describe("per-request work budget", () => {
  it("the review's patterns: too large ones are rejected, the others are cut short", () => {
    bad("(?:.{0,100}){60}Q", "pattern too large: compiled program exceeds 5000 instructions");
    const big = repeat("v", 60000);
    const pats = ["a{0,200}b", "x.{1000}y"];
    for (let i = 0; i < pats.length; i++) {
      const r = Regex.compile(pats[i])!;
      resetRegexBudget();
      r.test(pats[i] == "a{0,200}b" ? repeat("a", 60000) : repeat("x", 60000));
      expect<bool>(regexBudgetExceeded()).toBe(true, pats[i]);
      resetRegexBudget();
      expect<bool>(r.test(big)).toBe(false);
    }
  });

  it("a match that would exceed it stops, reports no match and is flagged", () => {
    const r = Regex.compile("a{0,200}b")!;
    resetRegexBudget();
    expect<bool>(r.test(repeat("a", 60000) + "b")).toBe(false);
    expect<bool>(regexBudgetExceeded()).toBe(true);
    // the same pattern on a short input still matches after a reset
    resetRegexBudget();
    expect<bool>(r.test(repeat("a", 100) + "b")).toBe(true);
    expect<bool>(regexBudgetExceeded()).toBe(false);
  });

  it("is shared by every match of the request, and a reset restores it", () => {
    const r = Regex.compile("x.{100}y")!;
    const input = repeat("x", 2000);
    resetRegexBudget();
    const before = regexAborts();
    let n = 0;
    while (!regexBudgetExceeded() && n < 1000) { r.test(input); n++; }
    expect<bool>(regexBudgetExceeded()).toBe(true);
    expect<bool>(n > 1 && n < 20).toBe(true, "matches before the budget ran out: " + n.toString());
    expect<u32>(regexAborts()).toBe(before + 1);
    // further matches in the same request fail at once
    expect<bool>(Regex.compile("x")!.test("x")).toBe(false);
    resetRegexBudget();
    expect<bool>(Regex.compile("x")!.test("x")).toBe(true);
    expect<i64>(REQUEST_REGEX_BUDGET).toBe(500000);
  });

  it("bytes request.ts could not decode are matched as themselves", () => {
    resetRegexBudget();
    expect<bool>(Regex.compile("^\\xf0sqlmap")!.test("\udcf0sqlmap/1.7")).toBe(true);
    expect<bool>(Regex.compile("sqlmap", true)!.test("\udcf0SQLMAP/1.7")).toBe(true);
  });
});
