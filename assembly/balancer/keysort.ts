// The balancers' one sort (chash's ring, priority levels), instead of ~lib's
// Array#sort: that is instantiated per element type, each a run-merging sort
// of about 1.1 KB (docs/size.md, "Size round 4: ~lib instantiations").

// Sorts keys ascending and moves vals along with them, in place. Stable: equal
// keys keep the order they were given in, which both callers rely on (chash's
// points of equal hash stay in generation order, a priority level's nodes in
// config order). An LSD radix sort, one byte of the key per pass: linear in n
// (chash sorts up to 2^20 points) and no recursion. The four passes alternate
// between the arrays and a scratch pair, so the last one lands back in them.
export function sortByKey(keys: Uint32Array, vals: Int32Array): void {
  const n = keys.length;
  const tk = new Uint32Array(n);
  const tv = new Int32Array(n);
  let sk = keys.dataStart, sv = vals.dataStart, dk = tk.dataStart, dv = tv.dataStart;
  // Per byte value: the byte offset where its run starts in the output.
  const at = memory.data(1024);
  for (let shift: u32 = 0; shift < 32; shift += 8) {
    memory.fill(at, 0, 1024);
    for (let i = 0; i < n; i++) {
      const c = at + (((load<u32>(sk + (<usize>i << 2)) >>> shift) & 0xff) << 2);
      store<u32>(c, load<u32>(c) + 4);
    }
    let sum: u32 = 0;
    for (let b: usize = 0; b < 1024; b += 4) {
      const c = load<u32>(at + b);
      store<u32>(at + b, sum);
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const key = load<u32>(sk + (<usize>i << 2));
      const c = at + (((key >>> shift) & 0xff) << 2);
      const o = load<u32>(c);
      store<u32>(c, o + 4);
      store<u32>(dk + o, key);
      store<i32>(dv + o, load<i32>(sv + (<usize>i << 2)));
    }
    let t = sk; sk = dk; dk = t;
    t = sv; sv = dv; dv = t;
  }
}
