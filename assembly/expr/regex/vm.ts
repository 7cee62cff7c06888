// The Pike VM (Thompson NFA simulation) that runs a compiled program over
// bytes, the per-request work budget, and the scratch buffer strings are
// encoded into. See index.ts for the complexity argument.

import { A_BOL, A_EOL, A_EOS, A_MBOL, A_MEOL, A_NWORDB, A_WORDB, OP_ANY, OP_ANYNL, OP_ASSERT, OP_BYTE, OP_BYTE2, OP_JMP, OP_MATCH, OP_SET, OP_SPLIT, isWordByte } from "./ast";
import { Emitter, compileProgram } from "./compile";
import { encodeBytesTo } from "../../headers";

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

export class Regex {
  private op: StaticArray<i32>;
  private x: StaticArray<i32>;
  private y: StaticArray<i32>;
  private sets: Array<u32>; // the parser's, 8 words per set, no longer grown
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

  constructor(e: Emitter) {
    const sets = e.sets, anchored = e.anchored;
    this.op = e.op;
    this.x = e.x;
    this.y = e.y;
    this.sets = sets;
    this.anchored = anchored;
    let n = e.n;
    this.n = n;
    this.dense = new StaticArray<i32>(2 * n);
    this.sparse = new StaticArray<i32>(2 * n);
    this.stack = new StaticArray<i32>(2 * n + 1);
    this.first = anchored ? null : this.firstBytes();
  }

  /**
   * Set of bytes that can start a match, or null if a match may be empty or
   * start with any byte: the consuming instructions in the closure of pc 0
   * with every assertion taken as holding (a superset, so skipping input
   * positions where no thread is alive is always safe).
   */
  private firstBytes(): StaticArray<u32> | null {
    if (this.addThread(0, 0, -1)) return null;
    let out = new StaticArray<u32>(8);
    for (let j = 0; j < this.cnt0; j++) {
      let pc = this.dense[j];
      let op = this.op[pc];
      let c = this.x[pc];
      if (op == OP_SET) {
        for (let w = 0; w < 8; w++) out[w] |= unchecked(this.sets[(c << 3) + w]);
      } else if (op == OP_BYTE || op == OP_BYTE2) {
        out[c >> 5] |= <u32>1 << <u32>(c & 31);
        if (op == OP_BYTE2) {
          c = this.y[pc];
          out[c >> 5] |= <u32>1 << <u32>(c & 31);
        }
      } else if (op != OP_JMP && op != OP_SPLIT && op != OP_ASSERT) {
        return null; // ANY / ANYNL: no useful filter
      }
    }
    return out;
  }

  /** Compiles `pattern`; null on error (see lastRegexError()). Never traps. */
  static compile(pattern: string, caseInsensitive: bool = false): Regex | null {
    const c = compileProgram(pattern, caseInsensitive);
    return c === null ? null : new Regex(c);
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
    ensureScratch(input.length * 3);
    return this.run(changetype<usize>(scratch), encodeBytesTo(input, changetype<usize>(scratch)));
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
  // every set index is < nsets. Each list holds distinct pcs, so counts never
  // exceed n, nor the closure stack 2n + 1 (each pc inserted pushes at most
  // two targets). Input bytes are read only at 0 <= i < len.

  @inline private byteAt(i: i32): i32 {
    return <i32>load<u8>(this.ptr + <usize>i);
  }

  private wordAt(i: i32): bool {
    return i >= 0 && i < this.len && isWordByte(this.byteAt(i));
  }

  private check(kind: i32, i: i32): bool {
    if (i < 0) return true; // firstBytes: any position
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
   * (0 or 1). Iterative: the stack holds the targets still to insert; a pc
   * pushes its targets only when first inserted into the list, so the stack
   * never holds more than 2n + 1 entries. Returns true as soon as MATCH is
   * reachable.
   */
  private addThread(which: i32, pc0: i32, i: i32): bool {
    let base = which * this.n;
    let dense = this.dense;
    let sparse = this.sparse;
    let stack = this.stack;
    let ops = this.op;
    let cnt = which == 0 ? this.cnt0 : this.cnt1;
    let sp = 0;
    let found = false;
    unchecked(stack[sp++] = pc0);
    while (sp > 0) {
      let pc = unchecked(stack[--sp]);
      let s = unchecked(sparse[base + pc]);
      if (s < cnt && unchecked(dense[base + s]) == pc) continue;
      unchecked(sparse[base + pc] = cnt);
      unchecked(dense[base + cnt] = pc);
      cnt++;
      let op = unchecked(ops[pc]);
      if (op == OP_MATCH) { found = true; break; }
      if (op == OP_JMP) {
        unchecked(stack[sp++] = this.x[pc]);
      } else if (op == OP_SPLIT) {
        unchecked(stack[sp++] = this.y[pc]);
        unchecked(stack[sp++] = this.x[pc]);
      } else if (op == OP_ASSERT) {
        if (this.check(unchecked(this.x[pc]), i)) unchecked(stack[sp++] = pc + 1);
      } // else a consuming instruction: stays in the list for the next step
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
    let sets = this.sets.dataStart;
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
          case OP_SET: ok = ((load<u32>(sets + (<usize>((unchecked(xs[pc]) << 3) + (b >> 5)) << 2)) >>> <u32>(b & 31)) & 1) != 0; break;
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
