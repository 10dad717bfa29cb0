/**
 * Descriptive statistics of price series in floats (risk engine only): returns, volatility (sample and EWMA),
 * annualisation, covariance and correlation, quantiles. Returns are fractions (0.01 = 1%) per sampling step.
 */
import { KeelError } from "../units/error";
export const SECONDS_PER_YEAR = 31_536_000;

export class StatsError extends KeelError {
  override name = "StatsError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("MATH", message, options);
  }
}

function requireLength(xs: readonly number[], least: number, what: string): void {
  if (xs.length < least) throw new StatsError(`${what}: needs at least ${least} values, got ${xs.length}`);
}

function requirePrices(prices: readonly number[], what: string): void {
  requireLength(prices, 2, what);
  prices.forEach((p, i) => {
    if (!(p > 0) || !Number.isFinite(p)) throw new StatsError(`${what}: price ${p} at index ${i} is not positive`);
  });
}

/** ln(p[t] / p[t−1]) for each step: `prices.length − 1` log returns. */
export function logReturns(prices: readonly number[]): number[] {
  requirePrices(prices, "logReturns");
  return prices.slice(1).map((p, i) => Math.log(p / prices[i]!));
}

/**
 * Overlapping log returns over `steps` sampling steps: ln(p[t + steps] / p[t]) for every t (a horizon's returns from
 * a finer history; overlapping windows are correlated, so use them for quantiles, not for standard errors).
 */
export function horizonLogReturns(prices: readonly number[], steps: number): number[] {
  requirePrices(prices, "horizonLogReturns");
  if (!Number.isInteger(steps) || steps < 1 || steps >= prices.length) {
    throw new StatsError(`horizonLogReturns: steps ${steps} must be an integer in [1, ${prices.length - 1}]`);
  }
  return prices.slice(steps).map((p, i) => Math.log(p / prices[i]!));
}

/** p[t] / p[t−1] − 1 for each step: `prices.length − 1` simple returns. */
export function simpleReturns(prices: readonly number[]): number[] {
  requirePrices(prices, "simpleReturns");
  return prices.slice(1).map((p, i) => p / prices[i]! - 1);
}

export function mean(xs: readonly number[]): number {
  requireLength(xs, 1, "mean");
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Sample covariance (n − 1 denominator) of two equally long series. */
export function covariance(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new StatsError(`covariance: lengths differ (${xs.length} vs ${ys.length})`);
  requireLength(xs, 2, "covariance");
  const mx = mean(xs);
  const my = mean(ys);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - mx) * (ys[i]! - my);
  return s / (xs.length - 1);
}

/** Sample standard deviation (n − 1 denominator) of returns: volatility per sampling step. */
export const sampleVolatility = (returns: readonly number[]): number => Math.sqrt(covariance(returns, returns));

/** Pearson correlation of two equally long series; 0 when either is constant. */
export function correlation(xs: readonly number[], ys: readonly number[]): number {
  const sx = sampleVolatility(xs);
  const sy = sampleVolatility(ys);
  if (sx === 0 || sy === 0) return 0;
  return Math.max(-1, Math.min(1, covariance(xs, ys) / (sx * sy)));
}

/** Pairwise correlations of named return series (equal lengths): `matrix[i][j]` for `names[i]`, `names[j]`. */
export function correlationMatrix(series: Readonly<Record<string, readonly number[]>>): {
  names: string[];
  matrix: number[][];
} {
  const columns = Object.entries(series);
  const matrix = columns.map(([, xs], i) => columns.map(([, ys], j) => (i === j ? 1 : correlation(xs, ys))));
  return { names: columns.map(([name]) => name), matrix };
}

/** Covariance matrix of named return series, in the order of `Object.keys(series)`. */
export function covarianceMatrix(series: Readonly<Record<string, readonly number[]>>): number[][] {
  const columns = Object.values(series);
  return columns.map((xs) => columns.map((ys) => covariance(xs, ys)));
}

/** EWMA decay per step for a half-life in steps: λ = 2^(−1 / halfLife). */
export const lambdaFromHalfLife = (halfLifeSteps: number): number => {
  if (!(halfLifeSteps > 0)) throw new StatsError(`half-life ${halfLifeSteps} must be positive`);
  return 2 ** (-1 / halfLifeSteps);
};

/** Decay of an EWMA: `{ lambda }` in (0, 1) directly, or `{ halfLife }` in sampling steps. */
export type EwmaDecay = { lambda: number } | { halfLife: number };

const lambdaOf = (decay: EwmaDecay): number => {
  const lambda = "lambda" in decay ? decay.lambda : lambdaFromHalfLife(decay.halfLife);
  if (!(lambda > 0 && lambda < 1)) throw new StatsError(`EWMA λ ${lambda} is outside (0, 1)`);
  return lambda;
};

/**
 * The EWMA variance after each return, as the oracle's model (zero mean, seeded by the first squared return):
 * v[0] = r[0]², v[t] = λ v[t−1] + (1 − λ) r[t]². Volatility per step is sqrt(v[t]).
 */
export function ewmaVariances(returns: readonly number[], decay: EwmaDecay): number[] {
  requireLength(returns, 1, "ewmaVariances");
  const lambda = lambdaOf(decay);
  const out: number[] = [];
  let v = returns[0]! ** 2;
  for (const r of returns) {
    v = out.length === 0 ? v : lambda * v + (1 - lambda) * r * r;
    out.push(v);
  }
  return out;
}

/** The final EWMA volatility per sampling step of `returns`. */
export function ewmaVolatility(returns: readonly number[], decay: EwmaDecay): number {
  const vs = ewmaVariances(returns, decay);
  return Math.sqrt(vs[vs.length - 1]!);
}

/** Volatility per step → over `horizonSeconds` (square-root of time), given the sampling interval in seconds. */
export function scaleVolatility(volPerStep: number, stepSeconds: number, horizonSeconds: number): number {
  if (!(stepSeconds > 0) || !(horizonSeconds > 0)) {
    throw new StatsError(`scaleVolatility: intervals ${stepSeconds}s and ${horizonSeconds}s must be positive`);
  }
  return volPerStep * Math.sqrt(horizonSeconds / stepSeconds);
}

/** Volatility per step → annual (365-day year). */
export const annualizeVolatility = (volPerStep: number, stepSeconds: number): number =>
  scaleVolatility(volPerStep, stepSeconds, SECONDS_PER_YEAR);

/** Annual volatility → per step of `stepSeconds`. */
export const deannualizeVolatility = (annualVol: number, stepSeconds: number): number =>
  scaleVolatility(annualVol, SECONDS_PER_YEAR, stepSeconds);

/** The sampling interval [s] of timestamps [s]: the median gap. */
export function samplingInterval(timestamps: readonly number[]): number {
  requireLength(timestamps, 2, "samplingInterval");
  const gaps = timestamps.slice(1).map((t, i) => t - timestamps[i]!);
  return quantile(gaps, 0.5);
}

/** Ascending copy. */
export const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

/**
 * The q-quantile of `xs` with linear interpolation between order statistics (type 7, as NumPy's default):
 * q = 0 is the minimum, q = 1 the maximum. Pass `presorted` when `xs` is already ascending.
 */
export function quantile(xs: readonly number[], q: number, presorted = false): number {
  requireLength(xs, 1, "quantile");
  if (!(q >= 0 && q <= 1)) throw new StatsError(`quantile: q = ${q} is outside [0, 1]`);
  const s = presorted ? xs : sorted(xs);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  const [a, b] = [s[lo]!, s[hi]!];
  return a === b || h === lo ? a : a + (h - lo) * (b - a); // exact at order statistics, and for ±Infinity ties
}

/** Correlations of `xs` and `ys` over every window of `window` consecutive values. */
export function rollingCorrelation(xs: readonly number[], ys: readonly number[], window: number): number[] {
  if (xs.length !== ys.length) throw new StatsError(`rollingCorrelation: lengths differ (${xs.length} vs ${ys.length})`);
  if (!(window >= 2) || window > xs.length) {
    throw new StatsError(`rollingCorrelation: window ${window} must be in [2, ${xs.length}]`);
  }
  const out: number[] = [];
  for (let end = window; end <= xs.length; end++) {
    out.push(correlation(xs.slice(end - window, end), ys.slice(end - window, end)));
  }
  return out;
}
