// Builds one string out of several pieces with a single allocation. In
// AssemblyScript every `a + b` and every `n.toString()` is a new heap object,
// so a path like "upstreams[u1]" or an address like "10.0.0.1:8080" costs
// three to five objects, all but one garbage at once; a configuration of
// 10,000 routes made hundreds of thousands of them, and the collector's work
// grows with their number. Here the pieces are copied into one buffer that
// lives as long as the module and is reused, and take() allocates the result.
//
// There is one shared builder (`text`), so a string is built from reset() to
// take() without building another one in between (no nesting).

const INITIAL: i32 = 256;
// A buffer grown by a very large string (the fingerprint of an upstream with
// 50,000 nodes) is let go after use rather than kept for the VM's lifetime.
const KEEP: i32 = 16384;

export class TextBuilder {
  private buf: StaticArray<u16> = new StaticArray<u16>(INITIAL);
  private len: i32 = 0;

  reset(): TextBuilder {
    this.len = 0;
    return this;
  }

  add(s: string): TextBuilder {
    const n = s.length;
    this.reserve(n);
    memory.copy(changetype<usize>(this.buf) + (<usize>this.len << 1), changetype<usize>(s), <usize>n << 1);
    this.len += n;
    return this;
  }

  // Decimal, as i64#toString() writes it.
  addInt(v: i64): TextBuilder {
    const neg = v < 0;
    // Two's complement: -i64.MIN_VALUE read as unsigned is 2^63, as wanted.
    let u: u64 = neg ? <u64>(0 - v) : <u64>v;
    let digits = 1;
    for (let t = u; t >= 10; t /= 10) digits++;
    const n = digits + (neg ? 1 : 0);
    this.reserve(n);
    const base = changetype<usize>(this.buf) + (<usize>this.len << 1);
    if (neg) store<u16>(base, 0x2d);
    let p = base + (<usize>(n - 1) << 1);
    for (let i = 0; i < digits; i++) {
      store<u16>(p, <u16>(0x30 + <i32>(u % 10)));
      u /= 10;
      p -= 2;
    }
    this.len += n;
    return this;
  }

  take(): string {
    const s = String.UTF16.decodeUnsafe(changetype<usize>(this.buf), <usize>this.len << 1);
    this.len = 0;
    if (this.buf.length > KEEP) this.buf = new StaticArray<u16>(INITIAL);
    return s;
  }

  private reserve(n: i32): void {
    const need = this.len + n;
    let cap = this.buf.length;
    if (need <= cap) return;
    while (cap < need) cap <<= 1;
    const grown = new StaticArray<u16>(cap);
    memory.copy(changetype<usize>(grown), changetype<usize>(this.buf), <usize>this.len << 1);
    this.buf = grown;
  }
}

export const text = new TextBuilder();
