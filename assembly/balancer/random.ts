// A small PRNG (xorshift64*) for balancer choices. AssemblyScript's
// Math.random would import `env.seed`, which Envoy does not provide; the
// root context seeds this from the host clock instead.

let state: u64 = 0x9e3779b97f4a7c15;

export function seedRandom(seed: u64): void {
  state = seed != 0 ? seed : 0x9e3779b97f4a7c15;
}

export function nextRandom(): u64 {
  let x = state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  state = x;
  return x * 0x2545f4914f6cdd1d;
}

// Uniform integer in [0, n).
export function randomInt(n: i32): i32 {
  if (n <= 1) return 0;
  return <i32>((nextRandom() >> 33) % <u64>n);
}
