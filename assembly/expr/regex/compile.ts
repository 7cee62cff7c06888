// From pattern to program: parse (parse.ts), size check, code generation
// for the Pike VM (vm.ts), the set of bytes a match can start with, and the
// program invariants the VM's unchecked accesses rely on.

import { A_BOL, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE, N_ALT, N_ANY, N_ANYNL, N_ASSERT, N_BYTE, N_BYTE2, N_CAT, N_EMPTY, N_REP, N_SET, Node, OP_ANY, OP_ANYNL, OP_ASSERT, OP_BYTE, OP_BYTE2, OP_JMP, OP_MATCH, OP_SET, OP_SPLIT } from "./ast";
import { Parser } from "./parse";

let lastError: string = "";

/** Message of the last failed Regex.compile ("" if the last compile succeeded). */
export function lastRegexError(): string {
  return lastError;
}

// ── program size / code generation ─────────────────────────────────────────

const SIZE_CAP: i64 = <i64>MAX_PROGRAM_SIZE + 1;

function satAdd(a: i64, b: i64): i64 {
  let r = a + b;
  return r > SIZE_CAP ? SIZE_CAP : r;
}

export function progSize(n: Node): i64 {
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

export function startsAnchored(n: Node): bool {
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

export class Emitter {
  pc: i32 = 0;
  overflow: bool = false;
  // What the VM needs besides the program: the parser's byte sets, and
  // whether a match can only start at offset 0.
  sets: Array<u32> = [];
  anchored: bool = false;
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

/** Checks the invariants the VM relies on for its unchecked accesses. */
export function validProgram(e: Emitter, nsets: i32): bool {
  let n = e.n;
  if (n < 1 || e.op[n - 1] != OP_MATCH) return false;
  for (let pc = 0; pc < n; pc++) {
    // pc < n, the arrays' length; unsigned, a negative operand is out of range too
    let op = unchecked(e.op[pc]);
    let x = <u32>unchecked(e.x[pc]), y = <u32>unchecked(e.y[pc]);
    let ok = op == OP_JMP ? x < <u32>n
      : op == OP_SPLIT ? x < <u32>n && y < <u32>n
      : op == OP_SET ? x < <u32>nsets
      : op == OP_BYTE || op == OP_BYTE2 ? (x | y) < 256
      : <u32>op <= <u32>OP_ASSERT;
    if (!ok) return false;
  }
  return true;
}

// The limits' messages spell them (ast.ts).

/** Parses and compiles `pattern`; null on error (see lastRegexError()). Never traps. */
export function compileProgram(pattern: string, caseInsensitive: bool): Emitter | null {
  // The UTF-16 length first: no encoding of a huge pattern.
  let bytes: Uint8Array | null = null;
  if (pattern.length > MAX_PATTERN_LENGTH || (bytes = Uint8Array.wrap(String.UTF8.encode(pattern))).length > MAX_PATTERN_LENGTH) {
    lastError = "pattern too long (max 4096 bytes)";
    return null;
  }
  let p = new Parser(changetype<Uint8Array>(bytes), caseInsensitive);
  let root = p.parseAlt(0);
  if (p.err.length == 0 && p.pos < p.len) p.fail("unmatched closing parenthesis", p.pos);
  if (p.err.length > 0 || root == null) {
    lastError = p.err.length > 0 ? p.err : "internal error: parse failed";
    return null;
  }
  let size = progSize(root) + 1; // + MATCH
  if (size > <i64>MAX_PROGRAM_SIZE) {
    lastError = "pattern too large: compiled program exceeds 5000 instructions";
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
  e.sets = p.sets;
  e.anchored = startsAnchored(root);
  return e;
}
