/**
 * Risk-parameter recommendations from a price history, sized so the maintenance requirement would have covered every
 * horizon window of the history (no bad debt), with the check shown per asset:
 *
 * - σmin: a calm quantile of the rolling EWMA σ over the horizon (the oracle's half-life); σmax: its peak.
 * - zm, zi: the normal quantiles of the maintenance and initial confidence, raised to the empirical quantile of
 *   standardised losses (−r_t / EWMA σ_{t−1}) when the history's tails are fatter (zi keeps zm's ratio to the
 *   normal when the history is too short for its own empirical quantile).
 * - maintenance haircut: the least floor with which a position at HF = 1 at any window's start, margined with the σ
 *   the VolatilityOracle model had in force then, is liquidated at the window's low without bad debt; never below
 *   what the config's criticalHF rule requires. Initial haircut: the maintenance one plus (zi − zm) × the median σ.
 * - ρ: a stressed correlation, the larger of the full-sample and an upper quantile of the rolling correlation.
 *
 * Floats inside; ./recommendConfig turns the result into human-unit config strings (`applyRecommendation`) and a
 * diff (`configDiff`).
 */
import { parseKeelConfig, type RawKeelConfig } from "../client/config";
import { checkCoverage, fractionToWad, sigmaInForce, windowLosses } from "./coverage";
import { normalQuantile } from "./normal";
import { type AssetRecommendation, type Recommendation, RecommendationError } from "./recommendation";
import type { PriceSeries } from "./series";
import { correlation, ewmaVariances, logReturns, quantile, rollingCorrelation, samplingInterval } from "./stats";
import { toVolatilityParams } from "../math/volatility";

export interface RecommendOptions {
  /** Confidence of the maintenance and initial requirements (default 0.99 and 0.999). */
  confidence: { maintenance: number; initial: number };
  /** σmin is this quantile of the rolling EWMA horizon σ (default 0.1). */
  calmQuantile: number;
  /** Stressed ρ is at least this quantile of the rolling correlation (default 0.95). */
  correlationQuantile: number;
  /** Rolling-correlation window [s] (default 14 days). */
  correlationWindowSeconds: number;
  /** Raise z to the empirical quantile of standardised losses (default true). */
  fatTails: boolean;
}

export const DEFAULT_RECOMMEND_OPTIONS: RecommendOptions = {
  confidence: { maintenance: 0.99, initial: 0.999 },
  calmQuantile: 0.1,
  correlationQuantile: 0.95,
  correlationWindowSeconds: 14 * 86_400,
  fatTails: true,
};

/** Rounded to the grid (up or to the nearest), free of binary noise (0.07, not 0.07000000000000001). */
const onGrid = (steps: number, grid: number): number => Number((steps * grid).toFixed(10));
/** `x` rounded up to the grid. */
export const up = (x: number, grid: number): number => onGrid(Math.ceil(x / grid - 1e-9), grid);
const nearest = (x: number, grid: number): number => onGrid(Math.round(x / grid), grid);
const SIGMA_GRID = 0.001;
/** The grids recommendations round to (fractions; z and ρ plain): shared with ./recommendHistory. */
export const HAIRCUT_GRID = 0.005;
export const Z_GRID = 0.01;
export const RHO_GRID = 0.01;
const SIGMA_LIMITS = [0.0001, 1] as const;
const HAIRCUT_LIMITS = [0.001, 0.99] as const;
export const clamp = (x: number, [lo, hi]: readonly [number, number]): number => Math.min(hi, Math.max(lo, x));

/**
 * zi from zm and pooled standardised losses: the normal quantile of the initial confidence, raised to the empirical
 * quantile when at least 10 observations lie beyond it; otherwise zm (`zm`, before rounding) scaled by the normal
 * quantiles' ratio. On the z grid, at least one step above `zMaintenance` (zm on the grid).
 */
export function initialMultiplier(
  zm: number,
  zMaintenance: number,
  pooled: readonly number[],
  o: Pick<RecommendOptions, "confidence" | "fatTails">,
): number {
  const cm = o.confidence.maintenance;
  const ci = o.confidence.initial;
  const empirical = o.fatTails && pooled.length * (1 - ci) >= 10 ? quantile(pooled, ci) : undefined;
  const zi = Math.max(normalQuantile(ci), empirical ?? (zm * normalQuantile(ci)) / normalQuantile(cm));
  return clamp(Math.max(up(zi, Z_GRID), zMaintenance + Z_GRID), [1, 10]);
}

/** hi: hm plus (zi − zm) × the median σ, at least one haircut step above hm, rounded up to the haircut grid. */
export const initialHaircutFor = (maintenanceHaircut: number, zInitial: number, zMaintenance: number, medianSigma: number): number =>
  clamp(up(maintenanceHaircut + Math.max(HAIRCUT_GRID, (zInitial - zMaintenance) * medianSigma), HAIRCUT_GRID), HAIRCUT_LIMITS);

/** The least floor the criticalHF rule allows, criticalHF ≥ (1 + ℓ)(1 − hm): 1 − criticalHF / (1 + ℓ) (unrounded). */
export const haircutFromCriticalHF = (criticalHF: bigint, liquidationPenalty: bigint): number =>
  1 - Number(criticalHF) / 1e18 / (1 + Number(liquidationPenalty) / 1e18);

/** Rolling EWMA σ over the horizon for each step after a warm-up of two half-lives (or the whole series if short). */
function horizonSigmas(returns: readonly number[], halfLifeSteps: number, horizonSteps: number): number[] {
  const all = ewmaVariances(returns, { halfLife: halfLifeSteps }).map((v) => Math.sqrt(v * horizonSteps));
  const warm = Math.ceil(2 * halfLifeSteps);
  return all.length > 2 * warm ? all.slice(warm) : all;
}

/** Standardised losses −r_t / σ_{t−1} (EWMA σ per step before the return), after the warm-up. */
function standardisedLosses(returns: readonly number[], halfLifeSteps: number): number[] {
  const variances = ewmaVariances(returns, { halfLife: halfLifeSteps });
  const warm = Math.ceil(2 * halfLifeSteps);
  const out: number[] = [];
  for (let t = Math.max(1, warm); t < returns.length; t++) {
    const sd = Math.sqrt(variances[t - 1]!);
    if (sd > 0) out.push(-returns[t]! / sd);
  }
  return out;
}

/** Recommends parameters for every asset of `current` present in `series` (see the module comment). */
export function recommend(
  series: PriceSeries,
  current: RawKeelConfig,
  options: Partial<RecommendOptions> = {},
): Recommendation {
  const o = { ...DEFAULT_RECOMMEND_OPTIONS, ...options };
  const config = parseKeelConfig(current);
  const horizon = config.volatility.horizon;
  const step = samplingInterval(series.timestamps);
  const horizonSteps = Math.max(1, Math.round(horizon / step));
  const halfLifeSteps = config.volatility.halfLife / step;
  // The assets with a column in the history, each with its prices and log returns.
  const listed = config.assets.flatMap((asset) => {
    const prices = series.prices[asset.symbol];
    return prices === undefined ? [] : [{ asset, prices, returns: logReturns(prices) }];
  });
  const skipped = config.assets.filter((a) => series.prices[a.symbol] === undefined).map((a) => a.symbol);
  if (listed.length === 0) throw new RecommendationError("the history has no column for any asset of the config");

  // Confidence multipliers: normal quantiles, raised to the pooled empirical quantile of standardised losses.
  const pooled = listed.flatMap(({ returns }) => standardisedLosses(returns, halfLifeSteps));
  // An empirical quantile needs at least 10 observations beyond it; otherwise zi keeps zm's ratio to the normal.
  const empirical = (c: number): number | undefined =>
    o.fatTails && pooled.length * (1 - c) >= 10 ? quantile(pooled, c) : undefined;
  const cm = o.confidence.maintenance;
  const zm = Math.max(normalQuantile(cm), empirical(cm) ?? 0);
  const zMaintenance = clamp(up(zm, Z_GRID), [1, 10]);
  const zInitial = initialMultiplier(zm, zMaintenance, pooled, o);

  const params = toVolatilityParams(config.volatility);
  const assets = listed.map(({ asset: a, prices, returns }): AssetRecommendation => {
    const sigmas = horizonSigmas(returns, halfLifeSteps, horizonSteps);
    const calmSigma = quantile(sigmas, o.calmQuantile);
    const peakSigma = Math.max(...sigmas);
    const sigmaMin = clamp(Math.max(SIGMA_GRID, nearest(calmSigma, SIGMA_GRID)), SIGMA_LIMITS);
    const sigmaMax = clamp(Math.max(sigmaMin, up(peakSigma, HAIRCUT_GRID)), SIGMA_LIMITS);
    const bounds = { sigmaMin: fractionToWad(sigmaMin), sigmaMax: fractionToWad(sigmaMax) };
    const inForce = sigmaInForce(series.timestamps, prices, bounds, params);
    const penalty = Number(a.risk.liquidationPenalty) / 1e18;
    // A position at HF = 1 has debt V (1 − m); liquidated after a loss L it repays V (1 − L) / (1 + ℓ).
    // No bad debt ⇔ m ≥ 1 − (1 − L) / (1 + ℓ); the floor must supply it wherever zm σ does not.
    const losses = windowLosses(prices, horizonSteps);
    const haircutFromHistory = losses.reduce((need, loss, t) => {
      const required = 1 - (1 - loss) / (1 + penalty);
      return zMaintenance * (Number(inForce[t]!) / 1e18) >= required ? need : Math.max(need, required);
    }, 0);
    const criticalHaircut = haircutFromCriticalHF(config.liquidation.criticalHF, a.risk.liquidationPenalty);
    const maintenanceHaircut = clamp(up(Math.max(haircutFromHistory, criticalHaircut), HAIRCUT_GRID), HAIRCUT_LIMITS);
    const medianSigma = quantile(sigmas, 0.5);
    const initialHaircut = initialHaircutFor(maintenanceHaircut, zInitial, zMaintenance, medianSigma);
    const coverage = checkCoverage(a.symbol, series.timestamps, prices, horizonSteps, inForce, {
      decimals: a.decimals,
      zMaintenance: fractionToWad(zMaintenance),
      maintenanceHaircut: fractionToWad(maintenanceHaircut),
      liquidationPenalty: a.risk.liquidationPenalty,
    });
    return {
      symbol: a.symbol,
      sigmaMin,
      sigmaMax,
      maintenanceHaircut,
      initialHaircut,
      evidence: {
        calmSigma,
        medianSigma,
        peakSigma,
        worstLoss: Math.max(...losses),
        haircutFromHistory,
        haircutFromCriticalHF: criticalHaircut,
      },
      coverage,
    };
  });

  const window = Math.max(2, Math.min(Math.round(o.correlationWindowSeconds / step), series.timestamps.length - 1));
  const correlations: Record<string, number> = {};
  listed.forEach(({ asset: a, returns: x }, i) =>
    listed.slice(i + 1).forEach(({ asset: b, returns: y }) => {
      const stressed = Math.max(correlation(x, y), quantile(rollingCorrelation(x, y, window), o.correlationQuantile));
      correlations[`${a.symbol}/${b.symbol}`] = clamp(up(stressed, RHO_GRID), [0, 1]);
    }),
  );

  return {
    horizonSeconds: horizon,
    stepSeconds: step,
    zMaintenance,
    zInitial,
    assets,
    correlations,
    skipped,
    covered: assets.every((a) => a.coverage.covered),
  };
}
