// The regex parser: pattern bytes to a parse tree (ast.ts), with PCRE's
// syntax and the rejections listed in index.ts; errors carry the byte offset.

import { A_BOL, A_EOL, A_EOS, A_MBOL, A_MEOL, A_NWORDB, A_WORDB, MAX_NESTING_DEPTH, MAX_REPEAT, N_ALT, N_ANY, N_ANYNL, N_ASSERT, N_BYTE, N_BYTE2, N_CAT, N_EMPTY, N_REP, N_SET, Node, classHas, escapeClass, hexVal, isAlnum, isAlpha, isDigit, isLower, isUpper, isWordByte, posixClass } from "./ast";

// ── Parser ─────────────────────────────────────────────────────────────────

export class Parser {
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
