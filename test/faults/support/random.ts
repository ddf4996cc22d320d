// A seeded random source, so that a fault schedule that failed can be replayed: KAO_FAULT_SEED=<seed>.

/** mulberry32: small, fast and good enough to spread kill times. Returns numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: $KAO_FAULT_SEED, else the clock. */
export function faultSeed(): number {
  const env = Number(process.env.KAO_FAULT_SEED);
  return Number.isInteger(env) ? env : Date.now() % 1_000_000;
}
