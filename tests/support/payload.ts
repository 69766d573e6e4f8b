/** Deterministic pseudo-random bytes for tests (a linear congruential generator seeded by `seed`). */
export function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    b[i] = Math.floor(x / 65536) % 256;
  }
  return b;
}
