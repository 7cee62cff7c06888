// What the regex parser, compiler and VM share: the limits, the parse tree
// (Node), the instruction set, the assertion kinds and the byte classes
// (ASCII, C locale, as PCRE's default tables). See index.ts for the engine.

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

export function classHas(kind: i32, c: i32): bool {
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
export function escapeClass(e: i32): i32 {
  let l = isUpper(e) ? e + 0x20 : e;
  if (l == 0x64) return CL_DIGIT; // d
  if (l == 0x77) return CL_WORD; // w
  if (l == 0x73) return CL_SPACE; // s
  if (l == 0x68) return CL_HSPACE; // h
  if (l == 0x76) return CL_VSPACE; // v
  return 0;
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
