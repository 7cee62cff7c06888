// Tests for assembly/expr/regex/ — the linear-time regex engine behind the
// APISIX route `vars` operators `~~` / `~*`: API, errors, linear time,
// fuzzing and the per-request budget (PCRE's answers: regex-pcre.spec.ts).
import { Regex, lastRegexError, MAX_PROGRAM_SIZE, MAX_PATTERN_LENGTH, MAX_NESTING_DEPTH, resetRegexBudget, regexBudgetExceeded, regexAborts, REQUEST_REGEX_BUDGET } from "../expr/regex";
import { ENGINE_BUDGET, bad, m, mb, repeat, reseed, rnd } from "./regex-helpers";
import { Emitter, validProgram } from "../expr/regex/compile";
import { OP_ANY, OP_ANYNL, OP_ASSERT, OP_BYTE, OP_BYTE2, OP_JMP, OP_MATCH, OP_SET, OP_SPLIT } from "../expr/regex/ast";
import { CL_ALNUM, CL_ALPHA, CL_ASCII, CL_BLANK, CL_CNTRL, CL_DIGIT, CL_GRAPH, CL_HSPACE, CL_LOWER, CL_PRINT, CL_PUNCT, CL_SPACE, CL_UPPER, CL_VSPACE, CL_WORD, CL_XDIGIT, classHas, posixClass } from "../expr/regex/ast";

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
    m("^\\0101$", "\b1", true); // \0 takes two more octal digits at most
    m("^[\\18]+$", "\u00018", true); // in a class \1 is octal, ending at the 8
    m("^[\\101\\0]+$", "A\u0000A", true);
    bad("[\\400]", "octal value is greater than \\377 at offset 1");
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

  it("repeats of nothing cost nothing (they used to loop for the product of their counts)", () => {
    let r = Regex.compile(repeat("(?:", 12) + "(?:)" + repeat("){1000}", 12) + "x");
    expect(r).not.toBeNull();
    if (r != null) expect<i32>(r.programLength).toBe(2);
    r = Regex.compile(repeat("(", 12) + "a{0}" + repeat("){1000}", 12) + "x");
    expect(r).not.toBeNull();
    if (r != null) expect<i32>(r.programLength).toBe(2);
    m("a{0}b", "b", true);
    m("^a{0}$", "", true);
    m("^a{0}$", "a", false);
    m("^(?:x{0}|y){3}$", "yy", true);
    m("(?:a){0}^b", "cb", false);
    m("(?:a){0}^b", "bc", true);
    bad("a{0}{2}", "quantifier follows another quantifier at offset 4");
    bad("a{0}+", "possessive quantifiers are not supported at offset 4");
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
    reseed(20240601);
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
    reseed(777);
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

describe("POSIX class names", () => {
  it("maps each name to its kind and nothing else to one", () => {
    const names = ["digit", "word", "space", "alpha", "alnum", "upper", "lower", "punct", "xdigit", "blank", "cntrl", "graph", "print", "ascii"];
    const kinds = [CL_DIGIT, CL_WORD, CL_SPACE, CL_ALPHA, CL_ALNUM, CL_UPPER, CL_LOWER, CL_PUNCT, CL_XDIGIT, CL_BLANK, CL_CNTRL, CL_GRAPH, CL_PRINT, CL_ASCII];
    for (let i = 0; i < names.length; i++) expect(posixClass(names[i])).toBe(kinds[i]);
    // The scanner passes letters only (and "" for "[::]").
    const bad = ["", "hspace", "digits", "igit", "Digit", "d"];
    for (let i = 0; i < bad.length; i++) expect(posixClass(bad[i])).toBe(0);
    expect(Regex.compile("[[:word:]]") !== null).toBe(true);
    expect(Regex.compile("[[:hspace:]]")).toBeNull();
    expect<string>(lastRegexError()).toBe("unknown POSIX class name at offset 1");
  });
});

// The classes as PCRE's C-locale tables define them, written out as tests.
function classOracle(kind: i32, c: i32): bool {
  const digit = c >= 0x30 && c <= 0x39, upper = c >= 0x41 && c <= 0x5a, lower = c >= 0x61 && c <= 0x7a;
  switch (kind) {
    case CL_DIGIT: return digit;
    case CL_WORD: return digit || upper || lower || c == 0x5f;
    case CL_SPACE: return c == 0x20 || (c >= 0x09 && c <= 0x0d);
    case CL_HSPACE: return c == 0x09 || c == 0x20 || c == 0xa0;
    case CL_VSPACE: return (c >= 0x0a && c <= 0x0d) || c == 0x85;
    case CL_ALPHA: return upper || lower;
    case CL_ALNUM: return digit || upper || lower;
    case CL_UPPER: return upper;
    case CL_LOWER: return lower;
    case CL_PUNCT: return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
    case CL_XDIGIT: return digit || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
    case CL_BLANK: return c == 0x09 || c == 0x20;
    case CL_CNTRL: return c < 0x20 || c == 0x7f;
    case CL_GRAPH: return c >= 0x21 && c <= 0x7e;
    case CL_PRINT: return c >= 0x20 && c <= 0x7e;
    case CL_ASCII: return c < 0x80;
  }
  return false;
}

describe("character classes", () => {
  it("hold exactly the bytes of PCRE's C-locale tables", () => {
    for (let k = CL_DIGIT; k <= CL_ASCII; k++) {
      for (let c = 0; c < 256; c++) expect<bool>(classHas(k, c)).toBe(classOracle(k, c), "class " + k.toString() + " byte " + c.toString());
    }
  });

  it("match through escapes and POSIX names, negated too", () => {
    const pats = ["\\d", "\\w", "\\s", "\\h", "\\v", "[[:alpha:]]", "[[:alnum:]]", "[[:upper:]]", "[[:lower:]]", "[[:punct:]]", "[[:xdigit:]]", "[[:blank:]]", "[[:cntrl:]]", "[[:graph:]]", "[[:print:]]", "[[:ascii:]]"];
    const neg = ["\\D", "\\W", "\\S", "\\H", "\\V", "[[:^alpha:]]", "[^[:alnum:]]", "[[:^upper:]]", "[[:^lower:]]", "[[:^punct:]]", "[[:^xdigit:]]", "[[:^blank:]]", "[[:^cntrl:]]", "[[:^graph:]]", "[[:^print:]]", "[[:^ascii:]]"];
    const one = new Uint8Array(1);
    resetRegexBudget(ENGINE_BUDGET);
    for (let k = 0; k < pats.length; k++) {
      const r = Regex.compile(pats[k])!, n = Regex.compile(neg[k])!;
      for (let c = 0; c < 256; c++) {
        one[0] = <u8>c;
        expect<bool>(r.testBytes(one)).toBe(classOracle(k + 1, c), pats[k] + " byte " + c.toString());
        expect<bool>(n.testBytes(one)).toBe(!classOracle(k + 1, c), neg[k] + " byte " + c.toString());
      }
    }
  });
});

describe("escapes for bytes and positions", () => {
  it("\\t \\n \\r \\f \\e \\a stand for their bytes, in and out of a class", () => {
    const letters = ["t", "n", "r", "f", "e", "a"];
    const bytes: u8[] = [0x09, 0x0a, 0x0d, 0x0c, 0x1b, 0x07];
    for (let i = 0; i < letters.length; i++) {
      for (let c = 0; c < 256; c++) {
        mb("^\\" + letters[i] + "$", [<u8>c], c == bytes[i]);
        mb("^[\\" + letters[i] + "]$", [<u8>c], c == bytes[i]);
      }
    }
  });

  it("\\A \\Z \\z \\b \\B \\N are positions or any byte but \\n, and other letters are refused", () => {
    m("\\Aab\\Z", "ab\n", true);
    m("\\Aab\\z", "ab\n", false);
    m("a\\b", "a-", true);
    m("a\\B", "a-", false);
    m("a\\Nb", "a\nb", false);
    m("a\\Nb", "a.b", true);
    bad("[\\A]", "unsupported escape sequence \\A in character class at offset 1");
    bad("\\q", "unsupported escape sequence \\q at offset 0");
    bad("x\\g1", "backreferences are not supported at offset 1");
    bad("x\\k<n>", "backreferences are not supported at offset 1");
    bad("\\N{LATIN}", "\\N{name} character names are not supported at offset 0");
  });
});

function prog(ops: i32[], xs: i32[], ys: i32[]): Emitter {
  const e = new Emitter(ops.length);
  for (let i = 0; i < ops.length; i++) e.put(ops[i], xs[i], ys[i]);
  return e;
}

describe("validProgram (what the VM's unchecked reads rely on)", () => {
  it("accepts well-formed programs and refuses each kind of bad operand", () => {
    // byte 'a', set 0, split to 0 and 3, match
    expect(validProgram(prog([OP_BYTE, OP_SET, OP_SPLIT, OP_ASSERT, OP_MATCH], [97, 0, 0, 6, 0], [0, 0, 3, 0, 0]), 1)).toBe(true);
    expect(validProgram(prog([OP_BYTE2, OP_ANY, OP_ANYNL, OP_JMP, OP_MATCH], [97, 0, 0, 4, 0], [65, 0, 0, 0, 0]), 0)).toBe(true);
    expect(validProgram(prog([], [], []), 0)).toBe(false);
    expect(validProgram(prog([OP_BYTE], [97], [0]), 0)).toBe(false); // no final MATCH
    expect(validProgram(prog([OP_JMP, OP_MATCH], [2, 0], [0, 0]), 0)).toBe(false);
    expect(validProgram(prog([OP_JMP, OP_MATCH], [-1, 0], [0, 0]), 0)).toBe(false);
    expect(validProgram(prog([OP_SPLIT, OP_MATCH], [1, 0], [2, 0]), 0)).toBe(false);
    expect(validProgram(prog([OP_SPLIT, OP_MATCH], [-2, 0], [1, 0]), 0)).toBe(false);
    expect(validProgram(prog([OP_SPLIT, OP_MATCH], [1, 0], [-1, 0]), 0)).toBe(false);
    expect(validProgram(prog([OP_SPLIT, OP_MATCH], [1, 0], [1, 0]), 0)).toBe(true);
    expect(validProgram(prog([OP_SET, OP_MATCH], [1, 0], [0, 0]), 1)).toBe(false);
    expect(validProgram(prog([OP_SET, OP_MATCH], [-1, 0], [0, 0]), 1)).toBe(false);
    expect(validProgram(prog([OP_BYTE, OP_MATCH], [256, 0], [0, 0]), 0)).toBe(false);
    expect(validProgram(prog([OP_BYTE2, OP_MATCH], [97, 0], [256, 0]), 0)).toBe(false);
    expect(validProgram(prog([OP_BYTE, OP_MATCH], [-1, 0], [0, 0]), 0)).toBe(false);
    expect(validProgram(prog([OP_BYTE2, OP_MATCH], [255, 0], [-5, 0]), 0)).toBe(false);
    expect(validProgram(prog([9, OP_MATCH], [0, 0], [0, 0]), 0)).toBe(false);
    expect(validProgram(prog([-1, OP_MATCH], [0, 0], [0, 0]), 0)).toBe(false);
  });
});
