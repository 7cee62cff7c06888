// The regex parser: pattern bytes to a parse tree (ast.ts), with PCRE's
// syntax and the rejections listed in index.ts; errors carry the byte
// offset. Escapes and bracket classes are scan.ts's.

import { A_BOL, A_EOL, A_MBOL, A_MEOL, MAX_NESTING_DEPTH, MAX_REPEAT, N_ALT, N_ANY, N_ANYNL, N_ASSERT, N_CAT, N_EMPTY, N_REP, Node, isAlpha, isDigit, isWordByte } from "./ast";
import { Scanner } from "./scan";

export class Parser extends Scanner {
  constructor(p: Uint8Array, ci: bool) {
    super(p, ci);
  }

  // ── grammar ──
  parseAlt(depth: i32): Node | null {
    let first = this.parseConcat(depth);
    if (first == null) return null;
    if (this.peek(0) != 0x7c) return first; // '|'
    let kids = new Array<Node>();
    kids.push(first);
    while (this.peek(0) == 0x7c) {
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
      let c = this.peek(0);
      if (c == 0x7c || c == 0x29) break; // | )
      let atom = this.parseAtom(depth);
      if (atom == null) return null;
      // comments are transparent: "a(?#c)+" repeats "a", as in PCRE
      while (this.peek(0) == 0x28 && this.peek(1) == 0x3f && this.peek(2) == 0x23) {
        if (!this.skipComment(this.pos)) return null;
      }
      let qpos = this.pos;
      let q = this.parseQuant();
      if (q < 0) return null;
      if (q > 0) {
        if (!this.repeatable) return this.fail("quantifier does not follow a repeatable item", qpos);
        let nc = this.peek(0);
        if (nc == 0x3f) {
          this.pos++; // lazy: same match/no-match result
        } else if (nc == 0x2b) {
          return this.fail("possessive quantifiers are not supported", this.pos);
        }
        // A repeat that can only match the empty string ({0}, or of something
        // empty) is empty: nested, such repeats emitted nothing and cost the
        // product of their counts ("(?:(?:){1000}){1000}..." never finished).
        if (this.qmax == 0) atom = new Node(N_EMPTY);
        if (atom.kind != N_EMPTY) {
          let rep = new Node(N_REP, this.qmin, this.qmax);
          rep.sub = atom;
          atom = rep;
        }
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

  // Past the ")" that ends a (?# comment begun at start; false if there is none.
  skipComment(start: i32): bool {
    while (this.pos < this.len && this.peek(0) != 0x29) this.pos++;
    if (this.pos < this.len) {
      this.pos++;
      return true;
    }
    this.fail("missing ) after (?# comment", start);
    return false;
  }

  /** 0: no quantifier here; 1: parsed into qmin/qmax; < 0: error. */
  parseQuant(): i32 {
    let c = this.peek(0);
    if (c == 0x2a) { this.pos++; this.qmin = 0; this.qmax = -1; return 1; } // *
    if (c == 0x2b) { this.pos++; this.qmin = 1; this.qmax = -1; return 1; } // +
    if (c == 0x3f) { this.pos++; this.qmin = 0; this.qmax = 1; return 1; } // ?
    if (c == 0x7b) return this.parseBrace(); // {
    return 0;
  }



  parseBrace(): i32 {
    let start = this.pos;
    let j = start + 1;
    if (this.at(j) == 0x2c) { // {,
      let k = j + 1;
      if (isDigit(this.at(k))) {
        this.readNum(k);
        if (this.at(this.numEnd) == 0x7d) {
          return this.failI("{,n} quantifier is not supported (ambiguous between PCRE versions), use {0,n}", start);
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
      } // else not a '}' either: malformed, below
    }
    if (this.at(j) != 0x7d) {
      return this.failI("malformed {} quantifier", start);
    }
    if (min > MAX_REPEAT || max > MAX_REPEAT) {
      return this.failI("repetition count too large (max 1000)", start);
    }
    if (max >= 0 && max < min) {
      return this.failI("numbers out of order in {} quantifier", start);
    }
    this.pos = j + 1;
    this.qmin = min;
    this.qmax = max;
    return 1;
  }

  parseAtom(depth: i32): Node | null {
    let c = this.peek(0);
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
    let c = this.peek(0);
    if (!(isAlpha(c) || c == 0x5f)) {
      this.fail("invalid group name", this.pos);
      return false;
    }
    while (isWordByte(this.peek(0))) this.pos++;
    if (this.peek(0) != term) {
      this.fail("invalid group name", this.pos);
      return false;
    }
    this.pos++;
    return true;
  }

  parseGroup(depth: i32): Node | null {
    let start = this.pos;
    if (depth >= MAX_NESTING_DEPTH) {
      return this.fail("parentheses are nested too deeply (max 100)", start);
    }
    this.pos++; // (
    let saveCi = this.ci, saveDot = this.dotall, saveMl = this.multiline;
    let c = this.peek(0);
    if (c == 0x2a) return this.fail("(*VERB) and (*OPTION) items are not supported", start); // (*
    if (c == 0x3f) { // (?
      this.pos++;
      c = this.peek(0);
      let c2 = this.peek(1);
      // what is not supported (the message's subject), or the name's closing byte
      let no = "";
      let term = 0;
      if (c == 0x3a) { // (?:
        this.pos++;
      } else if (c == 0x3c && (c2 == 0x3d || c2 == 0x21)) { // (?<= (?<!
        no = "lookbehind assertions";
      } else if (c == 0x3c) { // (?<name>
        this.pos++;
        term = 0x3e;
      } else if (c == 0x27) { // (?'name'
        this.pos++;
        term = 0x27;
      } else if (c == 0x50) { // (?P
        if (c2 == 0x3c) {
          this.pos += 2;
          term = 0x3e;
        } else if (c2 == 0x3d) {
          no = "backreferences";
        } else if (c2 == 0x3e) {
          no = "recursion and subroutine calls";
        } else {
          return this.fail("unrecognized character after (?P", this.pos + 1);
        }
      } else if (c == 0x3d || c == 0x21) { // (?= (?!
        no = "lookahead assertions";
      } else if (c == 0x3e) { // (?>
        no = "atomic groups";
      } else if (c == 0x7c) { // (?|
        no = "branch reset groups";
      } else if (c == 0x28) { // (?(
        no = "conditional groups";
      } else if (c == 0x23) { // (?# comment )
        if (!this.skipComment(start)) return null;
        this.repeatable = false;
        return new Node(N_EMPTY);
      } else if (c == 0x52 || c == 0x26 || c == 0x2b || isDigit(c) || (c == 0x2d && isDigit(c2))) {
        no = "recursion and subroutine calls";
      } else {
        // inline flags: (?imsUJn-imsUJn) or (?flags: ... )
        let on = true;
        let sawMinus = false;
        while (true) {
          c = this.peek(0);
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
      if (no.length) return this.fail(no + " are not supported", start);
      if (term != 0 && !this.parseName(term)) return null;
    }
    let inner = this.parseAlt(depth + 1);
    if (inner == null) return null;
    if (this.peek(0) != 0x29) return this.fail("missing closing parenthesis", start);
    this.pos++;
    this.ci = saveCi;
    this.dotall = saveDot;
    this.multiline = saveMl;
    this.repeatable = true;
    return inner;
  }
}
