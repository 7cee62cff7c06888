// What the regex parser, compiler and VM share: the limits, the parse tree
// (Node), the instruction set, the assertion kinds and the byte classes
// (ASCII, C locale, as PCRE's default tables). See index.ts for the engine.

// The messages that report these spell them out (no number printing for a
// constant): change both.
export const MAX_PATTERN_LENGTH: i32 = 4096;
export const MAX_NESTING_DEPTH: i32 = 100;
export const MAX_REPEAT: i32 = 1000;
export const MAX_PROGRAM_SIZE: i32 = 5000;

// ── AST ─────────────────────────────────────────────────────────────────────

export const N_EMPTY: i32 = 0;
export const N_BYTE: i32 = 1; // a = byte
export const N_BYTE2: i32 = 2; // a, b = bytes (case-folded letter)
export const N_SET: i32 = 3; // a = set index
export const N_ANY: i32 = 4; // any byte
export const N_ANYNL: i32 = 5; // any byte but \n
export const N_ASSERT: i32 = 6; // a = assertion kind
export const N_CAT: i32 = 7; // kids
export const N_ALT: i32 = 8; // kids
export const N_REP: i32 = 9; // sub, a = min, b = max (-1 = unbounded)

export class Node {
  kids: Array<Node> | null = null;
  sub: Node | null = null;
  constructor(public kind: i32, public a: i32 = 0, public b: i32 = 0) {}
}

// ── Program ────────────────────────────────────────────────────────────────

export const OP_MATCH: i32 = 0;
export const OP_BYTE: i32 = 1;
export const OP_BYTE2: i32 = 2;
export const OP_SET: i32 = 3;
export const OP_ANY: i32 = 4;
export const OP_ANYNL: i32 = 5;
export const OP_SPLIT: i32 = 6;
export const OP_JMP: i32 = 7;
export const OP_ASSERT: i32 = 8;

// scan.ts finds \A \Z \z \b \B by their position in a text of this order.
export const A_BOL: i32 = 0; // ^ \A
export const A_EOL: i32 = 1; // $ \Z : end, or before a final \n
export const A_EOS: i32 = 2; // \z
export const A_MBOL: i32 = 3; // (?m)^
export const A_MEOL: i32 = 4; // (?m)$
export const A_WORDB: i32 = 5; // \b
export const A_NWORDB: i32 = 6; // \B

// ── character class kinds ─────────────────────────────────────────────────

export const CL_DIGIT: i32 = 1;
export const CL_WORD: i32 = 2;
export const CL_SPACE: i32 = 3;
export const CL_HSPACE: i32 = 4;
export const CL_VSPACE: i32 = 5;
export const CL_ALPHA: i32 = 6;
export const CL_ALNUM: i32 = 7;
export const CL_UPPER: i32 = 8;
export const CL_LOWER: i32 = 9;
export const CL_PUNCT: i32 = 10;
export const CL_XDIGIT: i32 = 11;
export const CL_BLANK: i32 = 12;
export const CL_CNTRL: i32 = 13;
export const CL_GRAPH: i32 = 14;
export const CL_PRINT: i32 = 15;
export const CL_ASCII: i32 = 16;

export function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}
export function isUpper(c: i32): bool {
  return c >= 0x41 && c <= 0x5a;
}
export function isLower(c: i32): bool {
  return c >= 0x61 && c <= 0x7a;
}
export function isAlpha(c: i32): bool {
  return isUpper(c) || isLower(c);
}
export function isAlnum(c: i32): bool {
  return isAlpha(c) || isDigit(c);
}
export function isWordByte(c: i32): bool {
  return isAlnum(c) || c == 0x5f;
}
export function hexVal(c: i32): i32 {
  if (isDigit(c)) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

// Each class as inclusive byte ranges: kind k's are the pairs from
// CLASS_AT[k - 1] to CLASS_AT[k] in CLASS_RANGES. One loop over data instead
// of a case of comparisons per class.
const CLASS_RANGES = memory.data<u8>([
  0x30, 0x39, // digit
  0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a, 0x5f, 0x5f, // word
  0x09, 0x0d, 0x20, 0x20, // space (\v included, as PCRE)
  0x09, 0x09, 0x20, 0x20, 0xa0, 0xa0, // \h
  0x0a, 0x0d, 0x85, 0x85, // \v
  0x41, 0x5a, 0x61, 0x7a, // alpha
  0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a, // alnum
  0x41, 0x5a, // upper
  0x61, 0x7a, // lower
  0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e, // punct
  0x30, 0x39, 0x41, 0x46, 0x61, 0x66, // xdigit
  0x09, 0x09, 0x20, 0x20, // blank
  0x00, 0x1f, 0x7f, 0x7f, // cntrl
  0x21, 0x7e, // graph
  0x20, 0x7e, // print
  0x00, 0x7f, // ascii
]);
const CLASS_AT = memory.data<u8>([0, 1, 5, 7, 10, 12, 14, 17, 18, 19, 23, 26, 28, 30, 31, 32, 33]);

/** Whether byte c is in class `kind` (CL_DIGIT ... CL_ASCII). */
export function classHas(kind: i32, c: i32): bool {
  for (let i = <i32>load<u8>(CLASS_AT + kind - 1), end = <i32>load<u8>(CLASS_AT + kind); i < end; i++) {
    const r = CLASS_RANGES + (<usize>i << 1);
    if (c >= <i32>load<u8>(r) && c <= <i32>load<u8>(r, 1)) return true;
  }
  return false;
}

/** Position of byte c in the ASCII text t, or -1: letter tables as text. */
export function indexIn(t: string, c: i32): i32 {
  for (let i = 0; i < t.length; i++) if (<i32>t.charCodeAt(i) == c) return i;
  return -1;
}

/** Class kind for a class escape letter (d w s h v and upper-case negations), or 0. */
export function escapeClass(e: i32): i32 {
  return indexIn("dwshv", isUpper(e) ? e + 0x20 : e) + 1;
}

// Each name sits at its kind's position (CL_DIGIT = 1 ...); 4 and 5, \h and
// \v, have no POSIX name. The scanner passes letters only, so neither a
// digit nor a "|" can match across entries. One text instead of a
// comparison per name. (A local, not a module constant: a managed global
// would be visited by every garbage collection.)
export function posixClass(name: string): i32 {
  const names = "|digit|word|space|4|5|alpha|alnum|upper|lower|punct|xdigit|blank|cntrl|graph|print|ascii|";
  const k = names.indexOf("|" + name + "|");
  if (k < 0) return 0;
  let kind = 1;
  for (let i = 0; i < k; i++) if (names.charCodeAt(i) == 0x7c) kind++;
  return kind;
}
