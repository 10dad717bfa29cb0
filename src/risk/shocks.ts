/**
 * Monte Carlo price scenarios: correlated log returns over a horizon, in one step (square-root of time) or several
 * compounded steps, with normal or Student-t tails. Output is the ratio P_T / P_0 per asset and path (floats).
 */
import { cholesky, correlatedDraw, type Tails } from "./draws";
import { DistributionError } from "./normal";
import { Prng } from "./random";

/** Volatility of each asset's log return over the horizon (a fraction) and their correlation matrix. */
export interface ReturnModel {
  volatility: readonly number[];
  correlation: readonly (readonly number[])[];
}

export interface SimulationOptions {
  paths: number;
  seed: bigint;
  tails?: Tails;
  /** Steps the horizon is split into (1 = a single square-root-of-time draw). Default 1. */
  steps?: number;
}

/**
 * `paths` vectors of price ratios P_T / P_0: per step, log returns σ/√steps · x − σ²/(2·steps) with x a
 * unit-variance correlated draw (zero-mean prices: the Itô correction keeps E[P_T] = P_0 for normal tails).
 */
export function simulatePriceRatios(model: ReturnModel, options: SimulationOptions): number[][] {
  const n = model.volatility.length;
  if (model.correlation.length !== n) {
    throw new DistributionError(`simulatePriceRatios: ${n} volatilities but a ${model.correlation.length}-row correlation`);
  }
  const steps = options.steps ?? 1;
  if (!Number.isInteger(steps) || steps < 1) throw new DistributionError(`simulatePriceRatios: steps ${steps} must be a positive integer`);
  if (!Number.isInteger(options.paths) || options.paths < 1) {
    throw new DistributionError(`simulatePriceRatios: paths ${options.paths} must be a positive integer`);
  }
  model.volatility.forEach((v, i) => {
    if (!(v >= 0) || !Number.isFinite(v)) throw new DistributionError(`simulatePriceRatios: volatility ${v} of asset ${i} is invalid`);
  });
  const factor = cholesky(model.correlation);
  const prng = new Prng(options.seed);
  const tails = options.tails ?? "normal";
  const sd = model.volatility.map((v) => v / Math.sqrt(steps));
  const drift = sd.map((s) => (-s * s) / 2);
  const out: number[][] = [];
  for (let p = 0; p < options.paths; p++) {
    const logRatio = new Array<number>(n).fill(0);
    for (let k = 0; k < steps; k++) {
      const x = correlatedDraw(prng, factor, tails);
      for (let i = 0; i < n; i++) logRatio[i]! += sd[i]! * x[i]! + drift[i]!;
    }
    out.push(logRatio.map(Math.exp));
  }
  return out;
}

/** σ over `horizonSeconds` from σ over `baseSeconds` (square-root of time). */
export const horizonVolatility = (sigma: number, baseSeconds: number, horizonSeconds: number): number =>
  sigma * Math.sqrt(horizonSeconds / baseSeconds);
