// Linear-time regular expressions for APISIX route `vars` operators
// `~~` (case-sensitive) and `~*` (case-insensitive).
//
// APISIX evaluates these with ngx.re.find(subject, pattern, "jo"), i.e. PCRE
// in byte (non-UTF) mode, search semantics (a match anywhere unless anchored).
// This module implements that subset of PCRE without backtracking, so that a
// route regex can never be used for ReDoS.
//
// ─── API ────────────────────────────────────────────────────────────────────
//   Regex.compile(pattern, caseInsensitive = false): Regex | null
//       Parses and compiles once (configure time). On error returns null and
//       the message is available from lastRegexError(). Never traps.
//   regex.test(input: string): bool
//       Search semantics: true if the pattern matches some substring of the
//       UTF-8 encoding of `input` (U+DC80..U+DCFF, request.ts's escapes for
//       bytes that were not valid UTF-8, as those bytes; other lone
//       surrogates encoded WTF-8 style, like
//       String.UTF8.encode's default), respecting ^ / $ / \A / \z / \Z.
//   regex.testBytes(data: Uint8Array): bool   — same, over raw bytes
//   regex.testBuffer(data: ArrayBuffer): bool — same, over raw bytes
//   lastRegexError(): string  — message of the last failed compile ("" after
//       a successful one). Format: "<message> at offset <byte offset>" for
//       syntax errors, or a plain message for the global limits.
//
// ─── Supported syntax (PCRE semantics, byte mode) ──────────────────────────
//   literals; any non-alphanumeric escaped char (\. \\ \/ \- \{ ...)
//   \t \n \r \f \e \a, \xHH, \x{HH} (≤ 0xFF), \0oo and \ooo (octal, where
//       PCRE reads octal rather than a backreference), \cX
//   \d \D \w \W \s \S (ASCII, C locale; \s includes \v=0x0B), \h \H \v \V, \N
//   .  (any byte except \n; any byte under (?s))
//   [abc] [a-z0-9_] [^...] with escapes, POSIX [:alpha:] / [:^alpha:] names;
//       ']' first is literal, '-' first/last is literal, '-' next to a class
//       escape is literal (PCRE1 behaviour, e.g. [\w-.]); \b in a class = 0x08
//   ^ $ (non-multiline: $ also matches before a final \n, as in PCRE),
//       \A \z \Z \b \B; under (?m) ^ / $ are line anchors
//   | ( ) (?: ) named groups (?<n> ) (?P<n> ) (?'n' ) — treated as plain groups
//   * + ? {m} {m,} {m,n}, lazy forms *? +? ?? {..}? (same match/no-match result)
//   inline flags (?i) (?s) (?m) (?-i) (?i: ...) anywhere (scoped to the
//       enclosing group, like PCRE); U, J, n flags accepted and ignored
//   (?# comment ) — transparent: "a(?#c)+" repeats "a"
//   '{' that does not start a quantifier (e.g. "/{id}") is a literal, like PCRE.
//
// ─── Rejected with an error (never a trap) ─────────────────────────────────
//   backreferences (\1 \g \k (?P=n)), lookahead/lookbehind, atomic groups,
//   possessive quantifiers, recursion/subroutines, conditionals, branch reset,
//   (*VERBS), (?x), \p \P \X \R \G \K \Q \E and other unknown letter escapes,
//   unbalanced ( ) and [ ], dangling quantifiers, nested quantifiers (a**),
//   quantifiers on assertions (^* \b? — PCRE2 rejects these too), a{2}{3},
//   [z-a], {n,m} with n>m, malformed {digits...}, "{,n}" (means {0,n} in new
//   PCRE2 but a literal in PCRE1: ambiguous), non-ASCII bytes inside [...]
//   (write them as \xHH if byte semantics are really intended), octal values
//   above \377, \N{name}, POSIX collating elements [[.x.]] [[=x=]].
//   Known stricter-than-PCRE limits: repeat counts ≤ 1000 (PCRE: 65535), and
//   \NN (NN ≥ 10) is read as octal only if NN exceeds the number of '(' in
//   the pattern, else rejected as a backreference.
//
// ─── Semantics notes ───────────────────────────────────────────────────────
//   * Matching is over bytes. '.' and [^...] match exactly one byte, so '.'
//     does not match a whole multi-byte UTF-8 character; a quantifier after a
//     non-ASCII literal applies to its last byte. This is exactly what PCRE
//     does without the "u" flag (APISIX uses "jo").
//   * Case-insensitivity folds ASCII letters only (PCRE default C tables).
//
// ─── Limits ────────────────────────────────────────────────────────────────
//   pattern ≤ 4096 bytes, group nesting ≤ 100, repeat counts ≤ 1000,
//   compiled program ≤ 5000 instructions, so a literal of the maximum length
//   fits (counted before expansion, so a huge nested repeat fails cleanly
//   without allocating), and per request REQUEST_REGEX_BUDGET VM steps
//   across all matches (see below).
//
// ─── Complexity ────────────────────────────────────────────────────────────
//   Compile: O(pattern + program). Match: Pike VM (Thompson NFA simulation).
//   For each input position every program counter is put at most once into
//   the thread list (sparse set) and followed at most once in the epsilon
//   closure, so a search costs O(program × input) time and O(program) space,
//   with no backtracking and no recursion. All buffers (two sparse sets, the
//   closure stack) are allocated at compile time and reused; test(string)
//   encodes into a module-level scratch buffer that only grows (inputs over
//   16M UTF-16 units use a one-off buffer). Not re-entrant (Wasm filters are
//   single-threaded). For unanchored patterns whose matches cannot be empty,
//   the set of possible first bytes is precomputed and positions where no
//   thread is alive are skipped with a bitmap test per byte.

export const MAX_PATTERN_LENGTH: i32 = 4096;
export const MAX_NESTING_DEPTH: i32 = 100;
export const MAX_REPEAT: i32 = 1000;
export const MAX_PROGRAM_SIZE: i32 = 5000;

// Work one request may spend in regex matching, in Pike VM thread steps
// (threads stepped plus threads added, per input byte). The VM is linear,
// but program × input can still be large: `a{0,200}b` over a 60 KB header
// is 24 M steps. Past the budget a match stops and reports no match, and
// regexAborts() lets the caller fail the whole condition closed
// (docs/security.md has the measured cost).
export const REQUEST_REGEX_BUDGET: i64 = 500_000;
let budgetLeft: i64 = REQUEST_REGEX_BUDGET;
let exceeded = false;
let aborts: u32 = 0;

/** Starts a new request's regex budget (the engine's own tests pass a larger one). */
export function resetRegexBudget(steps: i64 = REQUEST_REGEX_BUDGET): void {
  budgetLeft = steps;
  exceeded = false;
}

/** Whether a match since the last reset was cut short by the budget. */
export function regexBudgetExceeded(): bool {
  return exceeded;
}

/** Matches cut short so far (compare before and after an evaluation). */
export function regexAborts(): u32 {
  return aborts;
}

let lastError: string = "";

/** Message of the last failed Regex.compile ("" if the last compile succeeded). */
export function lastRegexError(): string {
  return lastError;
}

// ── AST ─────────────────────────────────────────────────────────────────────

const N_EMPTY: i32 = 0;
const N_BYTE: i32 = 1; // a = byte
const N_BYTE2: i32 = 2; // a, b = bytes (case-folded letter)
const N_SET: i32 = 3; // a = set index
const N_ANY: i32 = 4; // any byte
const N_ANYNL: i32 = 5; // any byte but \n
const N_ASSERT: i32 = 6; // a = assertion kind
const N_CAT: i32 = 7; // kids
const N_ALT: i32 = 8; // kids
const N_REP: i32 = 9; // sub, a = min, b = max (-1 = unbounded)

class Node {
  kids: Array<Node> | null = null;
  sub: Node | null = null;
  constructor(public kind: i32, public a: i32 = 0, public b: i32 = 0) {}
}

// ── Program ────────────────────────────────────────────────────────────────

const OP_MATCH: i32 = 0;
const OP_BYTE: i32 = 1;
const OP_BYTE2: i32 = 2;
const OP_SET: i32 = 3;
const OP_ANY: i32 = 4;
const OP_ANYNL: i32 = 5;
const OP_SPLIT: i32 = 6;
const OP_JMP: i32 = 7;
const OP_ASSERT: i32 = 8;

const A_BOL: i32 = 0; // ^ \A
const A_EOL: i32 = 1; // $ \Z : end, or before a final \n
const A_EOS: i32 = 2; // \z
const A_MBOL: i32 = 3; // (?m)^
const A_MEOL: i32 = 4; // (?m)$
const A_WORDB: i32 = 5; // \b
const A_NWORDB: i32 = 6; // \B

// ── character class kinds ─────────────────────────────────────────────────

const CL_DIGIT: i32 = 1;
const CL_WORD: i32 = 2;
const CL_SPACE: i32 = 3;
const CL_HSPACE: i32 = 4;
const CL_VSPACE: i32 = 5;
const CL_ALPHA: i32 = 6;
const CL_ALNUM: i32 = 7;
const CL_UPPER: i32 = 8;
const CL_LOWER: i32 = 9;
const CL_PUNCT: i32 = 10;
const CL_XDIGIT: i32 = 11;
const CL_BLANK: i32 = 12;
const CL_CNTRL: i32 = 13;
const CL_GRAPH: i32 = 14;
const CL_PRINT: i32 = 15;
const CL_ASCII: i32 = 16;

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}
function isUpper(c: i32): bool {
  return c >= 0x41 && c <= 0x5a;
}
function isLower(c: i32): bool {
  return c >= 0x61 && c <= 0x7a;
}
function isAlpha(c: i32): bool {
  return isUpper(c) || isLower(c);
}
function isAlnum(c: i32): bool {
  return isAlpha(c) || isDigit(c);
}
function isWordByte(c: i32): bool {
  return isAlnum(c) || c == 0x5f;
}
function hexVal(c: i32): i32 {
  if (isDigit(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function classHas(kind: i32, c: i32): bool {
  switch (kind) {
    case CL_DIGIT:
      return isDigit(c);
    case CL_WORD:
      return isWordByte(c);
    case CL_SPACE:
      return c == 0x20 || (c >= 0x09 && c <= 0x0d);
    case CL_HSPACE:
      return c == 0x09 || c == 0x20 || c == 0xa0;
    case CL_VSPACE:
      return (c >= 0x0a && c <= 0x0d) || c == 0x85;
    case CL_ALPHA:
      return isAlpha(c);
    case CL_ALNUM:
      return isAlnum(c);
    case CL_UPPER:
      return isUpper(c);
    case CL_LOWER:
      return isLower(c);
    case CL_PUNCT:
      return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
    case CL_XDIGIT:
      return hexVal(c) >= 0;
    case CL_BLANK:
      return c == 0x09 || c == 0x20;
    case CL_CNTRL:
      return c < 0x20 || c == 0x7f;
    case CL_GRAPH:
      return c >= 0x21 && c <= 0x7e;
    case CL_PRINT:
      return c >= 0x20 && c <= 0x7e;
    case CL_ASCII:
      return c < 0x80;
  }
  return false;
}

/** Class kind for a class escape letter (d w s h v and upper-case negations), or 0. */
function escapeClass(e: i32): i32 {
  let l = isUpper(e) ? e + 0x20 : e;
  if (l == 0x64) return CL_DIGIT; // d
  if (l == 0x77) return CL_WORD; // w
  if (l == 0x73) return CL_SPACE; // s
  if (l == 0x68) return CL_HSPACE; // h
  if (l == 0x76) return CL_VSPACE; // v
  return 0;
}

function posixClass(name: string): i32 {
  if (name == "alpha") return CL_ALPHA;
  if (name == "digit") return CL_DIGIT;
  if (name == "alnum") return CL_ALNUM;
  if (name == "space") return CL_SPACE;
  if (name == "upper") return CL_UPPER;
  if (name == "lower") return CL_LOWER;
  if (name == "punct") return CL_PUNCT;
  if (name == "xdigit") return CL_XDIGIT;
  if (name == "word") return CL_WORD;
  if (name == "blank") return CL_BLANK;
  if (name == "cntrl") return CL_CNTRL;
  if (name == "graph") return CL_GRAPH;
  if (name == "print") return CL_PRINT;
  if (name == "ascii") return CL_ASCII;
  return 0;
}

// ── Parser ─────────────────────────────────────────────────────────────────

class Parser {
  pos: i32 = 0;
  len: i32;
  err: string = "";
  ci: bool;
  dotall: bool = false;
  multiline: bool = false;
  /** set by parseAtom: may the atom just parsed be quantified? */
  repeatable: bool = false;
  /** 256-bit sets, 8 words each */
  sets: Array<u32> = new Array<u32>();
  nsets: i32 = 0;
  qmin: i32 = 0;
  qmax: i32 = 0;

  constructor(public p: Uint8Array, ci: bool) {
    this.len = p.length;
    this.ci = ci;
  }

  parenCount(): i32 {
    let n = 0;
    for (let i = 0; i < this.len; i++) if (this.p[i] == 0x28) n++;
    return n;
  }

  fail(msg: string, at: i32): Node | null {
    if (this.err.length == 0) this.err = msg + " at offset " + at.toString();
    return null;
  }
  failI(msg: string, at: i32): i32 {
    this.fail(msg, at);
    return -2;
  }

  at(i: i32): i32 {
    return i >= 0 && i < this.len ? <i32>this.p[i] : -1;
  }

  // ── sets ──
  newSet(): i32 {
    for (let i = 0; i < 8; i++) this.sets.push(0);
    return this.nsets++;
  }
  setAdd(s: i32, c: i32): void {
    let w = s * 8 + (c >> 5);
    this.sets[w] = this.sets[w] | (<u32>1 << <u32>(c & 31));
  }
  setHas(s: i32, c: i32): bool {
    return ((this.sets[s * 8 + (c >> 5)] >>> <u32>(c & 31)) & 1) != 0;
  }
  setAddClass(s: i32, kind: i32, negate: bool): void {
    for (let c = 0; c < 256; c++) {
      if (classHas(kind, c) != negate) this.setAdd(s, c);
    }
  }
  setFold(s: i32): void {
    for (let c = 0x61; c <= 0x7a; c++) {
      if (this.setHas(s, c) || this.setHas(s, c - 0x20)) {
        this.setAdd(s, c);
        this.setAdd(s, c - 0x20);
      }
    }
  }
  setNegate(s: i32): void {
    for (let i = 0; i < 8; i++) this.sets[s * 8 + i] = ~this.sets[s * 8 + i];
  }

  literal(c: i32): Node {
    if (this.ci && isAlpha(c)) {
      let lo = c | 0x20;
      return new Node(N_BYTE2, lo, lo - 0x20);
    }
    return new Node(N_BYTE, c);
  }

  // ── grammar ──
  parseAlt(depth: i32): Node | null {
    let first = this.parseConcat(depth);
    if (first == null) return null;
    if (this.at(this.pos) != 0x7c) return first; // '|'
    let kids = new Array<Node>();
    kids.push(first);
    while (this.at(this.pos) == 0x7c) {
      this.pos++;
      let n = this.parseConcat(depth);
      if (n == null) return null;
      kids.push(n);
    }
    let alt = new Node(N_ALT);
    alt.kids = kids;
    return alt;
  }

  parseConcat(depth: i32): Node | null {
    let kids = new Array<Node>();
    while (this.pos < this.len) {
      let c = this.at(this.pos);
      if (c == 0x7c || c == 0x29) break; // | )
      let atom = this.parseAtom(depth);
      if (atom == null) return null;
      // comments are transparent: "a(?#c)+" repeats "a", as in PCRE
      while (this.at(this.pos) == 0x28 && this.at(this.pos + 1) == 0x3f && this.at(this.pos + 2) == 0x23) {
        let cstart = this.pos;
        while (this.pos < this.len && this.at(this.pos) != 0x29) this.pos++;
        if (this.pos >= this.len) return this.fail("missing ) after (?# comment", cstart);
        this.pos++;
      }
      let qpos = this.pos;
      let q = this.parseQuant();
      if (q < 0) return null;
      if (q > 0) {
        if (!this.repeatable) return this.fail("quantifier does not follow a repeatable item", qpos);
        let nc = this.at(this.pos);
        if (nc == 0x3f) {
          this.pos++; // lazy: same match/no-match result
        } else if (nc == 0x2b) {
          return this.fail("possessive quantifiers are not supported", this.pos);
        }
        let rep = new Node(N_REP, this.qmin, this.qmax);
        rep.sub = atom;
        atom = rep;
        let q2pos = this.pos;
        let q2 = this.parseQuant();
        if (q2 < 0) return null;
        if (q2 > 0) return this.fail("quantifier follows another quantifier", q2pos);
      }
      if (atom.kind != N_EMPTY) kids.push(atom);
    }
    if (kids.length == 0) return new Node(N_EMPTY);
    if (kids.length == 1) return kids[0];
    let cat = new Node(N_CAT);
    cat.kids = kids;
    return cat;
  }

  /** 0: no quantifier here; 1: parsed into qmin/qmax; -1: error. */
  parseQuant(): i32 {
    let c = this.at(this.pos);
    if (c == 0x2a) { this.pos++; this.qmin = 0; this.qmax = -1; return 1; } // *
    if (c == 0x2b) { this.pos++; this.qmin = 1; this.qmax = -1; return 1; } // +
    if (c == 0x3f) { this.pos++; this.qmin = 0; this.qmax = 1; return 1; } // ?
    if (c == 0x7b) return this.parseBrace(); // {
    return 0;
  }

  readNum(j: i32): i32 {
    // returns the number starting at j (caller checked a digit); leaves end in this.numEnd
    let v = 0;
    while (isDigit(this.at(j))) {
      if (v <= 100000) v = v * 10 + (this.at(j) - 0x30);
      j++;
    }
    this.numEnd = j;
    return v;
  }
  numEnd: i32 = 0;

  parseBrace(): i32 {
    let start = this.pos;
    let j = start + 1;
    if (this.at(j) == 0x2c) { // {,
      let k = j + 1;
      if (isDigit(this.at(k))) {
        this.readNum(k);
        if (this.at(this.numEnd) == 0x7d) {
          this.fail("{,n} quantifier is not supported (ambiguous between PCRE versions), use {0,n}", start);
          return -1;
        }
      }
      return 0; // literal '{'
    }
    if (!isDigit(this.at(j))) return 0; // literal '{'
    let min = this.readNum(j);
    j = this.numEnd;
    let max = min;
    if (this.at(j) == 0x2c) {
      j++;
      if (this.at(j) == 0x7d) {
        max = -1;
      } else if (isDigit(this.at(j))) {
        max = this.readNum(j);
        j = this.numEnd;
      } else {
        this.fail("malformed {} quantifier", start);
        return -1;
      }
    }
    if (this.at(j) != 0x7d) {
      this.fail("malformed {} quantifier", start);
      return -1;
    }
    if (min > MAX_REPEAT || max > MAX_REPEAT) {
      this.fail("repetition count too large (max " + MAX_REPEAT.toString() + ")", start);
      return -1;
    }
    if (max >= 0 && max < min) {
      this.fail("numbers out of order in {} quantifier", start);
      return -1;
    }
    this.pos = j + 1;
    this.qmin = min;
    this.qmax = max;
    return 1;
  }

  parseAtom(depth: i32): Node | null {
    let c = this.at(this.pos);
    this.repeatable = true;
    switch (c) {
      case 0x28: // (
        return this.parseGroup(depth);
      case 0x5b: // [
        return this.parseClass();
      case 0x2e: // .
        this.pos++;
        return new Node(this.dotall ? N_ANY : N_ANYNL);
      case 0x5e: // ^
        this.pos++;
        this.repeatable = false;
        return new Node(N_ASSERT, this.multiline ? A_MBOL : A_BOL);
      case 0x24: // $
        this.pos++;
        this.repeatable = false;
        return new Node(N_ASSERT, this.multiline ? A_MEOL : A_EOL);
      case 0x5c: // backslash
        return this.parseEscape();
      case 0x2a: // *
      case 0x2b: // +
      case 0x3f: // ?
        return this.fail("quantifier does not follow a repeatable item", this.pos);
      case 0x7b: { // {
        let start = this.pos;
        let q = this.parseBrace();
        if (q < 0) return null;
        if (q > 0) return this.fail("quantifier does not follow a repeatable item", start);
        this.pos = start + 1;
        return this.literal(c);
      }
    }
    this.pos++;
    return this.literal(c);
  }

  parseName(term: i32): bool {
    let c = this.at(this.pos);
    if (!(isAlpha(c) || c == 0x5f)) {
      this.fail("invalid group name", this.pos);
      return false;
    }
    while (isWordByte(this.at(this.pos))) this.pos++;
    if (this.at(this.pos) != term) {
      this.fail("invalid group name", this.pos);
      return false;
    }
    this.pos++;
    return true;
  }

  parseGroup(depth: i32): Node | null {
    let start = this.pos;
    if (depth >= MAX_NESTING_DEPTH) {
      return this.fail("parentheses are nested too deeply (max " + MAX_NESTING_DEPTH.toString() + ")", start);
    }
    this.pos++; // (
    let saveCi = this.ci, saveDot = this.dotall, saveMl = this.multiline;
    let c = this.at(this.pos);
    if (c == 0x2a) return this.fail("(*VERB) and (*OPTION) items are not supported", start); // (*
    if (c == 0x3f) { // (?
      this.pos++;
      c = this.at(this.pos);
      let c2 = this.at(this.pos + 1);
      if (c == 0x3a) { // (?:
        this.pos++;
      } else if (c == 0x3c && (c2 == 0x3d || c2 == 0x21)) { // (?<= (?<!
        return this.fail("lookbehind assertions are not supported", start);
      } else if (c == 0x3c) { // (?<name>
        this.pos++;
        if (!this.parseName(0x3e)) return null;
      } else if (c == 0x27) { // (?'name'
        this.pos++;
        if (!this.parseName(0x27)) return null;
      } else if (c == 0x50) { // (?P
        if (c2 == 0x3c) {
          this.pos += 2;
          if (!this.parseName(0x3e)) return null;
        } else if (c2 == 0x3d) {
          return this.fail("backreferences are not supported", start);
        } else if (c2 == 0x3e) {
          return this.fail("recursion and subroutine calls are not supported", start);
        } else {
          return this.fail("unrecognized character after (?P", this.pos + 1);
        }
      } else if (c == 0x3d || c == 0x21) { // (?= (?!
        return this.fail("lookahead assertions are not supported", start);
      } else if (c == 0x3e) { // (?>
        return this.fail("atomic groups are not supported", start);
      } else if (c == 0x7c) { // (?|
        return this.fail("branch reset groups are not supported", start);
      } else if (c == 0x28) { // (?(
        return this.fail("conditional groups are not supported", start);
      } else if (c == 0x23) { // (?# comment )
        while (this.pos < this.len && this.at(this.pos) != 0x29) this.pos++;
        if (this.pos >= this.len) return this.fail("missing ) after (?# comment", start);
        this.pos++;
        this.repeatable = false;
        return new Node(N_EMPTY);
      } else if (c == 0x52 || c == 0x26 || c == 0x2b || isDigit(c) || (c == 0x2d && isDigit(c2))) {
        return this.fail("recursion and subroutine calls are not supported", start);
      } else {
        // inline flags: (?imsUJn-imsUJn) or (?flags: ... )
        let on = true;
        let sawMinus = false;
        while (true) {
          c = this.at(this.pos);
          if (c == 0x29) { // ) : flags apply to the rest of the enclosing group
            this.pos++;
            this.repeatable = false;
            return new Node(N_EMPTY);
          }
          if (c == 0x3a) { // :
            this.pos++;
            break;
          }
          if (c == 0x2d && !sawMinus) { sawMinus = true; on = false; }
          else if (c == 0x69) this.ci = on; // i
          else if (c == 0x73) this.dotall = on; // s
          else if (c == 0x6d) this.multiline = on; // m
          else if (c == 0x55 || c == 0x4a || c == 0x6e) {} // U J n: no effect on match/no-match
          else if (c == 0x78) return this.fail("extended mode (?x) is not supported", this.pos);
          else if (c < 0) return this.fail("missing closing parenthesis", start);
          else return this.fail("unrecognized character after (? or (?-", this.pos);
          this.pos++;
        }
      }
    }
    let inner = this.parseAlt(depth + 1);
    if (inner == null) return null;
    if (this.at(this.pos) != 0x29) return this.fail("missing closing parenthesis", start);
    this.pos++;
    this.ci = saveCi;
    this.dotall = saveDot;
    this.multiline = saveMl;
    this.repeatable = true;
    return inner;
  }

  /**
   * Parses one escape at pos (pointing at the backslash).
   * Returns a byte value (>= 0), -1 if a class escape `kind`/`neg` was recognised
   * (stored in escKind / escNeg), or -2 on error. inClass changes \b and octal.
   */
  escKind: i32 = 0;
  escNeg: bool = false;
  escAssert: i32 = -1;
  escAny: bool = false;

  parseEscapeValue(inClass: bool): i32 {
    let start = this.pos;
    let e = this.at(this.pos + 1);
    if (e < 0) return this.failI("\\ at end of pattern", start);
    this.pos += 2;
    this.escAssert = -1;
    this.escAny = false;
    let k = escapeClass(e);
    if (k != 0) {
      this.escKind = k;
      this.escNeg = isUpper(e);
      return -1;
    }
    switch (e) {
      case 0x74: return 0x09; // t
      case 0x6e: return 0x0a; // n
      case 0x72: return 0x0d; // r
      case 0x66: return 0x0c; // f
      case 0x65: return 0x1b; // e
      case 0x61: return 0x07; // a
      case 0x78: { // x
        if (this.at(this.pos) == 0x7b) {
          let j = this.pos + 1;
          let v = 0;
          let nd = 0;
          while (hexVal(this.at(j)) >= 0) {
            if (v <= 0xffff) v = v * 16 + hexVal(this.at(j));
            j++;
            nd++;
          }
          if (nd == 0 || this.at(j) != 0x7d) return this.failI("malformed \\x{...} escape", start);
          if (v > 0xff) return this.failI("character value in \\x{} is too large (byte mode, max \\x{ff})", start);
          this.pos = j + 1;
          return v;
        }
        let v = 0;
        for (let i = 0; i < 2; i++) {
          let h = hexVal(this.at(this.pos));
          if (h < 0) break;
          v = v * 16 + h;
          this.pos++;
        }
        return v;
      }
      case 0x63: { // cX
        let x = this.at(this.pos);
        if (x < 0) return this.failI("\\c at end of pattern", start);
        if (x < 0x20 || x > 0x7e) return this.failI("\\c must be followed by a printable ASCII character", start);
        this.pos++;
        if (isLower(x)) x -= 0x20;
        return x ^ 0x40;
      }
    }
    if (e == 0x30 || (inClass && e >= 0x31 && e <= 0x37)) { // octal: \0oo, and \ooo inside a class
      let v = e - 0x30;
      let maxMore = e == 0x30 ? 2 : 2;
      for (let i = 0; i < maxMore; i++) {
        let d = this.at(this.pos);
        if (d < 0x30 || d > 0x37) break;
        v = v * 8 + (d - 0x30);
        this.pos++;
      }
      if (v > 0xff) return this.failI("octal value is greater than \\377", start);
      return v;
    }
    if (inClass) {
      if (e == 0x62) return 0x08; // \b = backspace inside a class
      if (isAlnum(e)) return this.failI("unsupported escape sequence \\" + String.fromCharCode(e) + " in character class", start);
      return e; // escaped literal (any non-alphanumeric byte)
    }
    if (isDigit(e)) {
      // PCRE: \N with N < 10, starting with 8/9, or not more than the number of
      // capture groups is a backreference; otherwise up to 3 octal digits.
      // '(' count over-approximates the group count, so this never reads a
      // real backreference as octal under either PCRE1 or PCRE2 rules.
      let j = this.pos - 1;
      let num = this.readNum(j);
      if (num >= 10 && e < 0x38 && num > this.parenCount()) {
        let v = 0;
        let k = j;
        while (k < j + 3 && this.at(k) >= 0x30 && this.at(k) <= 0x37) {
          v = v * 8 + (this.at(k) - 0x30);
          k++;
        }
        if (v > 0xff) return this.failI("octal value is greater than \\377", start);
        this.pos = k;
        return v;
      }
      return this.failI("backreferences are not supported", start);
    }
    switch (e) {
      case 0x62: this.escAssert = A_WORDB; return -1; // b
      case 0x42: this.escAssert = A_NWORDB; return -1; // B
      case 0x41: this.escAssert = A_BOL; return -1; // A
      case 0x7a: this.escAssert = A_EOS; return -1; // z
      case 0x5a: this.escAssert = A_EOL; return -1; // Z
      case 0x4e: // N
        if (this.at(this.pos) == 0x7b && !isDigit(this.at(this.pos + 1))) {
          return this.failI("\\N{name} character names are not supported", start);
        }
        this.escAny = true;
        return -1;
      case 0x67: // g
      case 0x6b: // k
        return this.failI("backreferences are not supported", start);
    }
    if (isAlnum(e)) return this.failI("unsupported escape sequence \\" + String.fromCharCode(e), start);
    return e;
  }

  parseEscape(): Node | null {
    let v = this.parseEscapeValue(false);
    if (v == -2) return null;
    if (v >= 0) return this.literal(v);
    if (this.escAssert >= 0) {
      this.repeatable = false;
      return new Node(N_ASSERT, this.escAssert);
    }
    if (this.escAny) return new Node(N_ANYNL);
    let s = this.newSet();
    this.setAddClass(s, this.escKind, this.escNeg);
    return new Node(N_SET, s);
  }

  /** One class member at pos: >=0 a byte, -1 a class (already added to s), -2 error. */
  parseClassAtom(s: i32): i32 {
    let c = this.at(this.pos);
    if (c == 0x5b) { // [ : maybe a POSIX class [:name:]
      let d = this.at(this.pos + 1);
      if (d == 0x3a || d == 0x2e || d == 0x3d) {
        let j = this.pos + 2;
        let neg = false;
        if (d == 0x3a && this.at(j) == 0x5e) { neg = true; j++; }
        let nameStart = j;
        while (isAlpha(this.at(j))) j++;
        if (this.at(j) == d && this.at(j + 1) == 0x5d) {
          if (d != 0x3a) return this.failI("POSIX collating elements are not supported", this.pos);
          let name = "";
          for (let i = nameStart; i < j; i++) name += String.fromCharCode(this.at(i));
          let kind = posixClass(name);
          if (kind == 0) return this.failI("unknown POSIX class name", this.pos);
          this.setAddClass(s, kind, neg);
          this.pos = j + 2;
          return -1;
        }
      }
      this.pos++;
      return c;
    }
    if (c == 0x5c) {
      let v = this.parseEscapeValue(true);
      if (v == -1) this.setAddClass(s, this.escKind, this.escNeg);
      return v;
    }
    if (c >= 0x80) return this.failI("non-ASCII characters in character classes are not supported (use \\xHH for bytes)", this.pos);
    this.pos++;
    return c;
  }

  parseClass(): Node | null {
    let start = this.pos;
    this.pos++; // [
    let s = this.newSet();
    let neg = false;
    if (this.at(this.pos) == 0x5e) { neg = true; this.pos++; }
    let first = true;
    while (true) {
      let c = this.at(this.pos);
      if (c < 0) return this.fail("missing terminating ] for character class", start);
      if (c == 0x5d && !first) { this.pos++; break; }
      first = false;
      let lo = this.parseClassAtom(s);
      if (lo == -2) return null;
      if (lo == -1) continue;
      if (this.at(this.pos) == 0x2d && this.at(this.pos + 1) != 0x5d && this.at(this.pos + 1) >= 0) {
        let dash = this.pos;
        this.pos++;
        let hi = this.parseClassAtom(s);
        if (hi == -2) return null;
        if (hi == -1) { // [a-\d]: '-' is literal (PCRE1)
          this.setAdd(s, lo);
          this.setAdd(s, 0x2d);
          continue;
        }
        if (hi < lo) return this.fail("range out of order in character class", dash - 1);
        for (let x = lo; x <= hi; x++) this.setAdd(s, x);
      } else {
        this.setAdd(s, lo);
      }
    }
    if (this.ci) this.setFold(s);
    if (neg) this.setNegate(s);
    return new Node(N_SET, s);
  }
}

// ── program size / code generation ─────────────────────────────────────────

const SIZE_CAP: i64 = <i64>MAX_PROGRAM_SIZE + 1;

function satAdd(a: i64, b: i64): i64 {
  let r = a + b;
  return r > SIZE_CAP ? SIZE_CAP : r;
}

function progSize(n: Node): i64 {
  switch (n.kind) {
    case N_EMPTY:
      return 0;
    case N_CAT:
    case N_ALT: {
      let kids = n.kids;
      if (kids == null) return 0;
      let s: i64 = 0;
      for (let i = 0; i < kids.length; i++) s = satAdd(s, progSize(kids[i]));
      if (n.kind == N_ALT) s = satAdd(s, 2 * <i64>(kids.length - 1));
      return s;
    }
    case N_REP: {
      let sub = n.sub;
      if (sub == null) return 0;
      let s = progSize(sub);
      let min = <i64>n.a;
      let r: i64;
      if (n.b < 0) {
        r = min == 0 ? s + 2 : min * s + 1;
      } else {
        r = min * s + (<i64>n.b - min) * (s + 1);
      }
      return r > SIZE_CAP ? SIZE_CAP : r;
    }
  }
  return 1;
}

function startsAnchored(n: Node): bool {
  switch (n.kind) {
    case N_ASSERT:
      return n.a == A_BOL;
    case N_CAT: {
      let kids = n.kids;
      return kids != null && kids.length > 0 && startsAnchored(kids[0]);
    }
    case N_ALT: {
      let kids = n.kids;
      if (kids == null || kids.length == 0) return false;
      for (let i = 0; i < kids.length; i++) if (!startsAnchored(kids[i])) return false;
      return true;
    }
    case N_REP: {
      let sub = n.sub;
      return n.a > 0 && sub != null && startsAnchored(sub);
    }
  }
  return false;
}

class Emitter {
  pc: i32 = 0;
  overflow: bool = false;
  op: StaticArray<i32>;
  x: StaticArray<i32>;
  y: StaticArray<i32>;
  constructor(public n: i32) {
    this.op = new StaticArray<i32>(n);
    this.x = new StaticArray<i32>(n);
    this.y = new StaticArray<i32>(n);
  }
  put(op: i32, x: i32, y: i32): i32 {
    let pc = this.pc;
    if (pc >= this.n) {
      this.overflow = true;
      return pc;
    }
    this.op[pc] = op;
    this.x[pc] = x;
    this.y[pc] = y;
    this.pc = pc + 1;
    return pc;
  }
  patchX(pc: i32, v: i32): void {
    if (pc < this.n) this.x[pc] = v;
  }
  patchY(pc: i32, v: i32): void {
    if (pc < this.n) this.y[pc] = v;
  }

  emit(n: Node): void {
    if (this.overflow) return;
    switch (n.kind) {
      case N_EMPTY: return;
      case N_BYTE: this.put(OP_BYTE, n.a, 0); return;
      case N_BYTE2: this.put(OP_BYTE2, n.a, n.b); return;
      case N_SET: this.put(OP_SET, n.a, 0); return;
      case N_ANY: this.put(OP_ANY, 0, 0); return;
      case N_ANYNL: this.put(OP_ANYNL, 0, 0); return;
      case N_ASSERT: this.put(OP_ASSERT, n.a, 0); return;
      case N_CAT: {
        let kids = n.kids;
        if (kids == null) return;
        for (let i = 0; i < kids.length; i++) this.emit(kids[i]);
        return;
      }
      case N_ALT: {
        let kids = n.kids;
        if (kids == null) return;
        let jumps = new Array<i32>();
        for (let i = 0; i < kids.length; i++) {
          if (i < kids.length - 1) {
            let split = this.put(OP_SPLIT, 0, 0);
            this.patchX(split, this.pc);
            this.emit(kids[i]);
            jumps.push(this.put(OP_JMP, 0, 0));
            this.patchY(split, this.pc);
          } else {
            this.emit(kids[i]);
          }
        }
        for (let i = 0; i < jumps.length; i++) this.patchX(jumps[i], this.pc);
        return;
      }
      case N_REP: {
        let sub = n.sub;
        if (sub == null) return;
        let min = n.a, max = n.b;
        if (max < 0) {
          if (min == 0) {
            // L1: split L2, L3; L2: sub; jmp L1; L3:
            let l1 = this.put(OP_SPLIT, 0, 0);
            this.patchX(l1, this.pc);
            this.emit(sub);
            this.put(OP_JMP, l1, 0);
            this.patchY(l1, this.pc);
          } else {
            for (let i = 0; i < min - 1; i++) this.emit(sub);
            // L: sub; split L, next
            let l = this.pc;
            this.emit(sub);
            this.put(OP_SPLIT, l, this.pc + 1);
          }
        } else {
          for (let i = 0; i < min; i++) this.emit(sub);
          for (let i = min; i < max; i++) {
            // split L1, L2; L1: sub; L2:
            let split = this.put(OP_SPLIT, 0, 0);
            this.patchX(split, this.pc);
            this.emit(sub);
            this.patchY(split, this.pc);
          }
        }
        return;
      }
    }
  }
}

// ── scratch input buffer (shared by all Regex instances; single-threaded) ──

let scratch = new StaticArray<u8>(256);
/** Inputs longer than this (UTF-16 units) are encoded into a temporary buffer. */
const SCRATCH_MAX_CHARS: i32 = 1 << 24;

function ensureScratch(n: i32): void {
  if (scratch.length >= n) return;
  let cap = scratch.length;
  while (cap < n) cap <<= 1;
  scratch = new StaticArray<u8>(cap);
}

/** Encodes s as UTF-8 into scratch (escaped bytes as themselves, other lone surrogates WTF-8); returns the byte length. */
function encodeToScratch(s: string): i32 {
  let n = s.length;
  ensureScratch(n * 3);
  let buf = scratch;
  let o = 0;
  for (let i = 0; i < n; i++) {
    let c = <i32>s.charCodeAt(i);
    if (c < 0x80) {
      buf[o++] = <u8>c;
    } else if (c < 0x800) {
      buf[o++] = <u8>(0xc0 | (c >> 6));
      buf[o++] = <u8>(0x80 | (c & 0x3f));
    } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      let d = <i32>s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        let cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        buf[o++] = <u8>(0xf0 | (cp >> 18));
        buf[o++] = <u8>(0x80 | ((cp >> 12) & 0x3f));
        buf[o++] = <u8>(0x80 | ((cp >> 6) & 0x3f));
        buf[o++] = <u8>(0x80 | (cp & 0x3f));
        i++;
      } else {
        buf[o++] = <u8>(0xe0 | (c >> 12));
        buf[o++] = <u8>(0x80 | ((c >> 6) & 0x3f));
        buf[o++] = <u8>(0x80 | (c & 0x3f));
      }
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      // a byte that was not valid UTF-8 (request.ts decodeBytes): match the byte
      buf[o++] = <u8>(c & 0xff);
    } else {
      buf[o++] = <u8>(0xe0 | (c >> 12));
      buf[o++] = <u8>(0x80 | ((c >> 6) & 0x3f));
      buf[o++] = <u8>(0x80 | (c & 0x3f));
    }
  }
  return o;
}

// ── the compiled regex ─────────────────────────────────────────────────────

/**
 * Set of bytes that can start a match, or null if a match may be empty.
 * Assertions are treated as passable (a superset), so using it to skip input
 * positions where no thread is alive is always safe.
 */
function firstBytes(e: Emitter, sets: Array<u32>): StaticArray<u32> | null {
  let n = e.n;
  let seen = new StaticArray<bool>(n);
  let stack = new StaticArray<i32>(n);
  let out = new StaticArray<u32>(8);
  let sp = 0;
  stack[sp++] = 0;
  seen[0] = true;
  while (sp > 0) {
    let pc = stack[--sp];
    let op = e.op[pc];
    let t1 = -1, t2 = -1;
    switch (op) {
      case OP_MATCH: return null;
      case OP_JMP: t1 = e.x[pc]; break;
      case OP_SPLIT: t1 = e.x[pc]; t2 = e.y[pc]; break;
      case OP_ASSERT: t1 = pc + 1; break;
      case OP_BYTE: {
        let c = e.x[pc];
        out[c >> 5] |= <u32>1 << <u32>(c & 31);
        break;
      }
      case OP_BYTE2: {
        let c = e.x[pc];
        out[c >> 5] |= <u32>1 << <u32>(c & 31);
        c = e.y[pc];
        out[c >> 5] |= <u32>1 << <u32>(c & 31);
        break;
      }
      case OP_SET: {
        let base = e.x[pc] << 3;
        for (let w = 0; w < 8; w++) out[w] |= sets[base + w];
        break;
      }
      default: // ANY / ANYNL: no useful filter
        return null;
    }
    if (t1 >= 0 && t1 < n && !seen[t1]) { seen[t1] = true; stack[sp++] = t1; }
    if (t2 >= 0 && t2 < n && !seen[t2]) { seen[t2] = true; stack[sp++] = t2; }
  }
  return out;
}

export class Regex {
  private op: StaticArray<i32>;
  private x: StaticArray<i32>;
  private y: StaticArray<i32>;
  private sets: StaticArray<u32>;
  private first: StaticArray<u32> | null;
  private anchored: bool;
  private n: i32;
  // Pike VM state, sized by program length, reused across calls:
  // two sparse sets (list 0 at [0, n), list 1 at [n, 2n)) and a closure stack.
  private dense: StaticArray<i32>;
  private sparse: StaticArray<i32>;
  private stack: StaticArray<i32>;
  private cnt0: i32 = 0;
  private cnt1: i32 = 0;
  private ptr: usize = 0;
  private len: i32 = 0;

  constructor(e: Emitter, sets: Array<u32>, anchored: bool) {
    this.op = e.op;
    this.x = e.x;
    this.y = e.y;
    let ss = new StaticArray<u32>(sets.length);
    for (let i = 0; i < sets.length; i++) ss[i] = sets[i];
    this.sets = ss;
    this.anchored = anchored;
    this.first = anchored ? null : firstBytes(e, sets);
    let n = e.n;
    this.n = n;
    this.dense = new StaticArray<i32>(2 * n);
    this.sparse = new StaticArray<i32>(2 * n);
    this.stack = new StaticArray<i32>(n);
  }

  /** Compiles `pattern`; null on error (see lastRegexError()). Never traps. */
  static compile(pattern: string, caseInsensitive: bool = false): Regex | null {
    if (pattern.length > MAX_PATTERN_LENGTH) {
      lastError = "pattern too long (max " + MAX_PATTERN_LENGTH.toString() + " bytes)";
      return null;
    }
    let bytes = Uint8Array.wrap(String.UTF8.encode(pattern));
    if (bytes.length > MAX_PATTERN_LENGTH) {
      lastError = "pattern too long (max " + MAX_PATTERN_LENGTH.toString() + " bytes)";
      return null;
    }
    let p = new Parser(bytes, caseInsensitive);
    let root = p.parseAlt(0);
    if (p.err.length == 0 && p.pos < p.len) p.fail("unmatched closing parenthesis", p.pos);
    if (p.err.length > 0 || root == null) {
      lastError = p.err.length > 0 ? p.err : "internal error: parse failed";
      return null;
    }
    let size = progSize(root) + 1; // + MATCH
    if (size > <i64>MAX_PROGRAM_SIZE) {
      lastError = "pattern too large: compiled program exceeds " + MAX_PROGRAM_SIZE.toString() + " instructions";
      return null;
    }
    let e = new Emitter(<i32>size);
    e.emit(root);
    e.put(OP_MATCH, 0, 0);
    if (e.overflow || e.pc != e.n || !validProgram(e, p.nsets)) {
      lastError = "internal error: invalid program";
      return null;
    }
    lastError = "";
    return new Regex(e, p.sets, startsAnchored(root));
  }

  /** Number of instructions in the compiled program. */
  get programLength(): i32 {
    return this.n;
  }

  /** Search: true if the pattern matches anywhere in the UTF-8 encoding of input. */
  test(input: string): bool {
    if (input.length > SCRATCH_MAX_CHARS) {
      // very large input: encode into a one-off buffer instead of growing the scratch
      let buf = String.UTF8.encode(input);
      return this.run(changetype<usize>(buf), buf.byteLength);
    }
    let n = encodeToScratch(input);
    return this.run(changetype<usize>(scratch), n);
  }

  /** Search over raw bytes. */
  testBytes(data: Uint8Array): bool {
    return this.run(data.dataStart, data.length);
  }

  /** Search over raw bytes. */
  testBuffer(data: ArrayBuffer): bool {
    return this.run(changetype<usize>(data), data.byteLength);
  }

  // ── Pike VM ──
  // Invariants that make the unchecked() accesses below safe (checked once by
  // validProgram() at compile time): every jump/split target and every pc+1
  // of a non-MATCH instruction is in [0, n) (the last instruction is MATCH),
  // every set index is < nsets. Each list holds distinct pcs, so counts and the
  // closure stack never exceed n. Input bytes are read only at 0 <= i < len.

  @inline private byteAt(i: i32): i32 {
    return <i32>load<u8>(this.ptr + <usize>i);
  }

  private wordAt(i: i32): bool {
    return i >= 0 && i < this.len && isWordByte(this.byteAt(i));
  }

  private check(kind: i32, i: i32): bool {
    let len = this.len;
    switch (kind) {
      case A_BOL: return i == 0;
      case A_EOL: return i == len || (i == len - 1 && this.byteAt(i) == 0x0a);
      case A_EOS: return i == len;
      case A_MBOL: return i == 0 || (i < len && this.byteAt(i - 1) == 0x0a);
      case A_MEOL: return i == len || this.byteAt(i) == 0x0a;
      case A_WORDB: return this.wordAt(i - 1) != this.wordAt(i);
      case A_NWORDB: return this.wordAt(i - 1) == this.wordAt(i);
    }
    return false;
  }

  /**
   * Adds the epsilon closure of pc0 at input position i to list `which`
   * (0 or 1). Iterative: a pc is pushed only when first inserted into the
   * list, so the stack never holds more than n entries. Returns true as soon
   * as MATCH is reachable.
   */
  private addThread(which: i32, pc0: i32, i: i32): bool {
    let n = this.n;
    let base = which * n;
    let dense = this.dense;
    let sparse = this.sparse;
    let stack = this.stack;
    let ops = this.op;
    let cnt = which == 0 ? this.cnt0 : this.cnt1;
    let sp = 0;
    let found = false;
    // insert pc0
    let s = unchecked(sparse[base + pc0]);
    if (!(s < cnt && unchecked(dense[base + s]) == pc0)) {
      unchecked(sparse[base + pc0] = cnt);
      unchecked(dense[base + cnt] = pc0);
      cnt++;
      unchecked(stack[sp++] = pc0);
    }
    while (sp > 0) {
      let pc = unchecked(stack[--sp]);
      let op = unchecked(ops[pc]);
      let t1 = -1, t2 = -1;
      if (op == OP_MATCH) { found = true; break; }
      if (op == OP_JMP) {
        t1 = unchecked(this.x[pc]);
      } else if (op == OP_SPLIT) {
        t1 = unchecked(this.y[pc]);
        t2 = unchecked(this.x[pc]);
      } else if (op == OP_ASSERT) {
        if (this.check(unchecked(this.x[pc]), i)) t1 = pc + 1;
      } else {
        continue; // consuming instruction: stays in the list for the next step
      }
      if (t1 >= 0) {
        s = unchecked(sparse[base + t1]);
        if (!(s < cnt && unchecked(dense[base + s]) == t1)) {
          unchecked(sparse[base + t1] = cnt);
          unchecked(dense[base + cnt] = t1);
          cnt++;
          unchecked(stack[sp++] = t1);
        }
      }
      if (t2 >= 0) {
        s = unchecked(sparse[base + t2]);
        if (!(s < cnt && unchecked(dense[base + s]) == t2)) {
          unchecked(sparse[base + t2] = cnt);
          unchecked(dense[base + cnt] = t2);
          cnt++;
          unchecked(stack[sp++] = t2);
        }
      }
    }
    if (which == 0) this.cnt0 = cnt; else this.cnt1 = cnt;
    return found;
  }

  private run(ptr: usize, len: i32): bool {
    if (budgetLeft <= 0) { exceeded = true; aborts++; return false; }
    this.ptr = ptr;
    this.len = len;
    this.cnt0 = 0;
    this.cnt1 = 0;
    let n = this.n;
    let ops = this.op;
    let xs = this.x;
    let ys = this.y;
    let sets = this.sets;
    let dense = this.dense;
    let sparse = this.sparse;
    let anchored = this.anchored;
    let first = this.first;
    let cur = 0;
    let i = 0;
    while (true) {
      if (!anchored) {
        if (first != null && (cur == 0 ? this.cnt0 : this.cnt1) == 0) {
          // no live thread: skip to the next byte that can start a match
          while (i < len) {
            let c = this.byteAt(i);
            if (((unchecked(first[c >> 5]) >>> <u32>(c & 31)) & 1) != 0) break;
            i++;
          }
          if (i >= len) return false; // a match needs at least one byte
        }
        if (this.addThread(cur, 0, i)) return true;
      } else if (i == 0) {
        if (this.addThread(cur, 0, i)) return true;
      }
      let count = cur == 0 ? this.cnt0 : this.cnt1;
      if (count == 0 && anchored) return false;
      if (i >= len) return false;
      let b = this.byteAt(i);
      let nxt = 1 - cur;
      if (nxt == 0) this.cnt0 = 0; else this.cnt1 = 0;
      let base = cur * n;
      for (let j = 0; j < count; j++) {
        let pc = unchecked(dense[base + j]);
        let ok = false;
        switch (unchecked(ops[pc])) {
          case OP_BYTE: ok = b == unchecked(xs[pc]); break;
          case OP_BYTE2: ok = b == unchecked(xs[pc]) || b == unchecked(ys[pc]); break;
          case OP_SET: ok = ((unchecked(sets[(unchecked(xs[pc]) << 3) + (b >> 5)]) >>> <u32>(b & 31)) & 1) != 0; break;
          case OP_ANY: ok = true; break;
          case OP_ANYNL: ok = b != 0x0a; break;
        }
        if (!ok) continue;
        let t = pc + 1;
        let top = unchecked(ops[t]);
        if (top >= OP_BYTE && top <= OP_ANYNL) {
          // fast path: the successor consumes input, no closure to follow
          let nb = nxt * n;
          let nc = nxt == 0 ? this.cnt0 : this.cnt1;
          let s = unchecked(sparse[nb + t]);
          if (!(s < nc && unchecked(dense[nb + s]) == t)) {
            unchecked(sparse[nb + t] = nc);
            unchecked(dense[nb + nc] = t);
            if (nxt == 0) this.cnt0 = nc + 1; else this.cnt1 = nc + 1;
          }
        } else if (this.addThread(nxt, t, i + 1)) {
          return true;
        }
      }
      if (cur == 0) this.cnt0 = 0; else this.cnt1 = 0;
      budgetLeft -= <i64>(count + 1 + (nxt == 0 ? this.cnt0 : this.cnt1));
      if (budgetLeft <= 0) { exceeded = true; aborts++; return false; }
      cur = nxt;
      i++;
    }
    return false;
  }
}

/** Checks the invariants the VM relies on for its unchecked accesses. */
function validProgram(e: Emitter, nsets: i32): bool {
  let n = e.n;
  if (n < 1 || e.op[n - 1] != OP_MATCH) return false;
  for (let pc = 0; pc < n; pc++) {
    let op = e.op[pc];
    if (op == OP_JMP || op == OP_SPLIT) {
      if (e.x[pc] < 0 || e.x[pc] >= n) return false;
      if (op == OP_SPLIT && (e.y[pc] < 0 || e.y[pc] >= n)) return false;
    } else if (op == OP_SET) {
      if (e.x[pc] < 0 || e.x[pc] >= nsets) return false;
    } else if (op == OP_BYTE || op == OP_BYTE2) {
      if (e.x[pc] < 0 || e.x[pc] > 255 || e.y[pc] < 0 || e.y[pc] > 255) return false;
    } else if (op < OP_MATCH || op > OP_ASSERT) {
      return false;
    }
  }
  return true;
}
