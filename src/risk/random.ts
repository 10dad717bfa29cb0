/** Deterministic randomness for simulations, scripts and tests: the same seed gives the same path everywhere. */

const MASK = 0xffff_ffff_ffff_ffffn;

/** SplitMix64 on bigint. */
export class Prng {
  private state: bigint;
  private spare: number | undefined;

  constructor(seed: bigint) {
    this.state = seed & MASK;
  }

  next(): bigint {
    this.state = (this.state + 0x9e37_79b9_7f4a_7c15n) & MASK;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & MASK;
    return z ^ (z >> 31n);
  }

  /** Uniform in [lo, hi] (modulo bias is irrelevant here). */
  between(lo: bigint, hi: bigint): bigint {
    return lo + (this.next() % (hi - lo + 1n));
  }

  int(lo: number, hi: number): number {
    return Number(this.between(BigInt(lo), BigInt(hi)));
  }

  /** Uniform float in (0, 1), from the top 53 bits. */
  uniform(): number {
    return (Number(this.next() >> 11n) + 0.5) / 2 ** 53;
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return z;
    }
    const radius = Math.sqrt(-2 * Math.log(this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** `xs` in a random order (Fisher–Yates). */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/**
 * A geometric Brownian motion sampled every `stepSeconds`: `steps + 1` prices starting at `start`, with annual
 * volatility `annualVol` (a fraction) and no drift beyond the Itô correction.
 */
export function gbmPath(prng: Prng, start: number, annualVol: number, stepSeconds: number, steps: number): number[] {
  const sigma = annualVol * Math.sqrt(stepSeconds / 31_536_000);
  const path = [start];
  for (let i = 0; i < steps; i++) {
    path.push(path[i]! * Math.exp(sigma * prng.normal() - (sigma * sigma) / 2));
  }
  return path;
}
