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
