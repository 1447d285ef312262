/**
 * A small seeded pseudo-random source for property tests that must be reproducible (the same
 * cases on every run, no retries): `rand(n)` is an integer in [0, n). Not for anything secret.
 */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state % n;
  };
}
