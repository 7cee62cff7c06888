// ASCII-only case folding, as nginx (ngx_strlow) and Lua's string.lower in
// the C locale fold: bytes outside A–Z are kept. AssemblyScript's
// String#toLowerCase folds all of Unicode and brings its case tables along.
export function lowerAscii(s: string): string {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) break;
    i++;
  }
  if (i == n) return s;
  const out = changetype<string>(__new(<usize>n << 1, idof<string>()));
  memory.copy(changetype<usize>(out), changetype<usize>(s), <usize>n << 1);
  for (; i < n; i++) {
    const p = changetype<usize>(out) + (<usize>i << 1);
    const c = load<u16>(p);
    if (c >= 65 && c <= 90) store<u16>(p, c + 32);
  }
  return out;
}

// s with every `from` code unit turned into `to`: both callers replace one
// character with one, which String#replaceAll does with its general search
// and builder (about 500 B of code).
export function replaceChar(s: string, from: u16, to: u16): string {
  const n = <usize>s.length << 1;
  const out = changetype<string>(__new(n, idof<string>()));
  memory.copy(changetype<usize>(out), changetype<usize>(s), n);
  for (let p: usize = 0; p < n; p += 2) {
    const at = changetype<usize>(out) + p;
    if (load<u16>(at) == from) store<u16>(at, to);
  }
  return out;
}

// s cut at every `sep` code unit, as String#split with a one-character
// separator cuts it ("" gives [""], "a;" gives ["a", ""]): its callers all
// split on one character, and ~lib's general split costs about 450 B.
export function splitChar(s: string, sep: u16): Array<string> {
  const out = new Array<string>();
  const n = s.length;
  let from = 0;
  for (let i = 0; i <= n; i++) {
    if (i == n || load<u16>(changetype<usize>(s) + (<usize>i << 1)) == sep) {
      out.push(s.substring(from, i));
      from = i + 1;
    }
  }
  return out;
}
