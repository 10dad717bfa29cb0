/**
 * Random draws for the risk engine beyond `Prng`'s uniform and normal: gamma and chi-square, Student-t scaled to unit
 * variance, and correlated vectors (Cholesky factor of a correlation matrix) with normal or Student-t tails.
 */
import { DistributionError } from "./normal";
import type { Prng } from "./random";

/** Tails of simulated returns: normal, or Student-t with ν > 2 degrees of freedom scaled to unit variance. */
export type Tails = "normal" | { studentT: number };

/** Gamma(shape, 1) by Marsaglia and Tsang (2000); shape > 0. */
export function gamma(prng: Prng, shape: number): number {
  if (!(shape > 0)) throw new DistributionError(`gamma: shape ${shape} must be positive`);
  if (shape < 1) return gamma(prng, shape + 1) * prng.uniform() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = prng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = prng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** χ²(ν) = 2 · Gamma(ν / 2). */
export const chiSquare = (prng: Prng, nu: number): number => 2 * gamma(prng, nu / 2);

function requireNu(nu: number): void {
  if (!(nu > 2) || !Number.isFinite(nu)) {
    throw new DistributionError(`Student-t: ν = ${nu} must be a finite number above 2 for a finite variance`);
  }
}

/**
 * The factor that turns a standard normal into a unit-variance Student-t sharing one χ² draw: sqrt((ν − 2) / χ²_ν).
 * 1 for normal tails. Multiplying every component of a correlated normal vector by the same factor gives a
 * multivariate t: each marginal is t_ν with unit variance, the correlation is unchanged, and assets crash together.
 */
export function tailScale(prng: Prng, tails: Tails): number {
  if (tails === "normal") return 1;
  requireNu(tails.studentT);
  return Math.sqrt((tails.studentT - 2) / chiSquare(prng, tails.studentT));
}

/** One Student-t draw with ν degrees of freedom, scaled to unit variance (ν > 2). */
export function studentT(prng: Prng, nu: number): number {
  requireNu(nu);
  return prng.normal() * tailScale(prng, { studentT: nu });
}

/** A unit-variance draw with the given tails. */
export const standardDraw = (prng: Prng, tails: Tails): number =>
  tails === "normal" ? prng.normal() : studentT(prng, tails.studentT);

/**
 * Lower-triangular L with L Lᵀ = `matrix` (square, symmetric, positive semi-definite; ones on the diagonal for a
 * correlation). A tiny jitter tolerates the rounding of a semi-definite matrix; an indefinite one throws.
 */
export function cholesky(matrix: readonly (readonly number[])[]): number[][] {
  const n = matrix.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const row = matrix[i]!;
    if (row.length !== n) throw new DistributionError(`cholesky: row ${i} has ${row.length} entries, expected ${n}`);
    for (let j = 0; j <= i; j++) {
      if (Math.abs(row[j]! - matrix[j]![i]!) > 1e-12) {
        throw new DistributionError(`cholesky: matrix is not symmetric at (${i}, ${j})`);
      }
      let sum = row[j]!;
      for (let k = 0; k < j; k++) sum -= L[i]![k]! * L[j]![k]!;
      if (i === j) {
        if (sum < -1e-10) throw new DistributionError(`cholesky: matrix is not positive semi-definite (pivot ${i} = ${sum})`);
        L[i]![i] = Math.sqrt(Math.max(sum, 0));
      } else {
        const pivot = L[j]![j]!;
        L[i]![j] = pivot === 0 ? 0 : sum / pivot;
      }
    }
  }
  return L;
}

/**
 * A vector of unit-variance draws with correlation L Lᵀ (`factor` from `cholesky`): L z for independent standard
 * normals z, times one shared `tailScale` for Student-t tails.
 */
export function correlatedDraw(prng: Prng, factor: readonly (readonly number[])[], tails: Tails = "normal"): number[] {
  const n = factor.length;
  const z = Array.from({ length: n }, () => prng.normal());
  const scale = tailScale(prng, tails);
  return factor.map((row, i) => {
    let x = 0;
    for (let k = 0; k <= i; k++) x += row[k]! * z[k]!;
    return x * scale;
  });
}
