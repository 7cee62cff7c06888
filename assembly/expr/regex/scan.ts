// The regex parser's lower half: the cursor over the pattern bytes, errors
// with their byte offset, 256-bit byte sets, literals, escapes (\xHH, octal,
// \d \w \s ..., assertions) and bracket classes [...] with POSIX names.
// parse.ts builds the grammar (alternation, groups, quantifiers) on top.

import { N_ANYNL, N_ASSERT, N_BYTE, N_BYTE2, N_SET, Node, classHas, escapeClass, hexVal, indexIn, isAlnum, isAlpha, isDigit, isLower, isUpper, posixClass } from "./ast";

export class Scanner {
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
    return i >= 0 && i < this.len ? <i32>unchecked(this.p[i]) : -1;
  }
  // at(pos + k): a call site's bytes fewer than spelling that out (it is on
  // nearly every line of the parser).
  peek(k: i32): i32 {
    const i = this.pos + k;
    return i >= 0 && i < this.len ? <i32>unchecked(this.p[i]) : -1;
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
    let e = this.peek(1);
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
    k = indexIn("tnrfea", e);
    if (k >= 0) return <i32>"\t\n\r\f\x1b\x07".charCodeAt(k);
    switch (e) {
      case 0x78: { // x
        if (this.peek(0) == 0x7b) {
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
          let h = hexVal(this.peek(0));
          if (h < 0) break;
          v = v * 16 + h;
          this.pos++;
        }
        return v;
      }
      case 0x63: { // cX
        let x = this.peek(0);
        if (x < 0) return this.failI("\\c at end of pattern", start);
        if (x < 0x20 || x > 0x7e) return this.failI("\\c must be followed by a printable ASCII character", start);
        this.pos++;
        if (isLower(x)) x -= 0x20;
        return x ^ 0x40;
      }
    }
    // octal: \0oo, and \ooo inside a class
    if (e == 0x30 || (inClass && e >= 0x31 && e <= 0x37)) return this.octal(start);
    if (inClass) {
      if (e == 0x62) return 0x08; // \b = backspace inside a class
    } else if (isDigit(e)) {
      // PCRE: \N with N < 10, starting with 8/9, or not more than the number of
      // capture groups is a backreference; otherwise up to 3 octal digits.
      // '(' count over-approximates the group count, so this never reads a
      // real backreference as octal under either PCRE1 or PCRE2 rules.
      let j = this.pos - 1;
      let num = this.readNum(j);
      if (num >= 10 && e < 0x38 && num > this.parenCount()) return this.octal(start);
      return this.failI("backreferences are not supported", start);
    } else {
      // \A \Z \z \b \B at their kinds' positions (ast.ts); the digits stand
      // for the two (?m) kinds, and a digit never gets here
      k = indexIn("AZz00bB", e);
      if (k >= 0) {
        this.escAssert = k;
        return -1;
      }
      if (e == 0x4e) { // N
        if (this.peek(0) == 0x7b && !isDigit(this.peek(1))) {
          return this.failI("\\N{name} character names are not supported", start);
        }
        this.escAny = true;
        return -1;
      }
      if (e == 0x67 || e == 0x6b) return this.failI("backreferences are not supported", start); // \g \k
    }
    if (isAlnum(e)) return this.failI("unsupported escape sequence \\" + String.fromCharCode(e) + (inClass ? " in character class" : ""), start);
    return e; // escaped literal (any non-alphanumeric byte)
  }

  // Up to three octal digits from pos - 1, the escape's own digit.
  octal(start: i32): i32 {
    let k = this.pos - 1;
    const end = k + 3;
    let v = 0;
    while (k < end && this.at(k) >= 0x30 && this.at(k) <= 0x37) v = v * 8 + (this.at(k++) - 0x30);
    if (v > 0xff) return this.failI("octal value is greater than \\377", start);
    this.pos = k;
    return v;
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
    let c = this.peek(0);
    if (c == 0x5b) { // [ : maybe a POSIX class [:name:]
      let d = this.peek(1);
      if (d == 0x3a || d == 0x2e || d == 0x3d) {
        let j = this.pos + 2;
        let neg = false;
        if (d == 0x3a && this.at(j) == 0x5e) { neg = true; j++; }
        let nameStart = j;
        while (isAlpha(this.at(j))) j++;
        if (this.at(j) == d && this.at(j + 1) == 0x5d) {
          if (d != 0x3a) return this.failI("POSIX collating elements are not supported", this.pos);
          // letters only (isAlpha above), so the bytes are the text
          let kind = posixClass(String.UTF8.decodeUnsafe(this.p.dataStart + <usize>nameStart, <usize>(j - nameStart)));
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
    if (this.peek(0) == 0x5e) { neg = true; this.pos++; }
    let first = true;
    while (true) {
      let c = this.peek(0);
      if (c < 0) return this.fail("missing terminating ] for character class", start);
      if (c == 0x5d && !first) { this.pos++; break; }
      first = false;
      let lo = this.parseClassAtom(s);
      if (lo == -2) return null;
      if (lo == -1) continue;
      if (this.peek(0) == 0x2d && this.peek(1) != 0x5d && this.peek(1) >= 0) {
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
