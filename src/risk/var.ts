/**
 * Value at risk and expected shortfall. Losses are positive numbers (a return r is a loss −r); confidence is a
 * probability such as 0.99. Historical (empirical) estimators, the normal closed forms, and Monte Carlo over
 * correlated scenarios. The protocol's own loss distribution (bad debt through the `src/math` mirror) is
 * `portfolioRisk`, re-exported here from `./book`.
 */
import { normalPdf, normalQuantile } from "./normal";
import { simulatePriceRatios, type ReturnModel, type SimulationOptions } from "./shocks";
import { quantile, sorted, StatsError } from "./stats";
import { tailCount } from "./tail";

export { portfolioRisk, positionOutcome, type PortfolioPosition, type PortfolioRisk, type PortfolioRiskOptions, type PositionRisk } from "./portfolio";
export { tailCount } from "./tail";

/** A VaR and ES pair in the unit of the losses. */
export interface TailRisk {
  var: number;
  es: number;
}

function requireConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw new StatsError(`confidence ${confidence} is outside (0, 1)`);
}

/** Returns as losses: −r. */
export const toLosses = (returns: readonly number[]): number[] => returns.map((r) => -r);


/** Historical VaR: the `confidence`-quantile of `losses` (linear interpolation between order statistics). */
export function historicalVaR(losses: readonly number[], confidence: number): number {
  requireConfidence(confidence);
  return quantile(losses, confidence);
}

/** Historical ES: the mean of the ⌈n (1 − confidence)⌉ largest `losses`. */
export function historicalES(losses: readonly number[], confidence: number): number {
  requireConfidence(confidence);
  if (losses.length === 0) throw new StatsError("historicalES: no losses");
  const s = sorted(losses);
  const k = tailCount(s.length, confidence);
  return s.slice(s.length - k).reduce((a, x) => a + x, 0) / k;
}

/** Historical VaR and ES of `losses` together. */
export const historicalTailRisk = (losses: readonly number[], confidence: number): TailRisk => ({
  var: historicalVaR(losses, confidence),
  es: historicalES(losses, confidence),
});

/** VaR of a loss ~ N(mean, sd²): mean + sd · Φ⁻¹(confidence). */
export function normalVaR(mean: number, sd: number, confidence: number): number {
  requireConfidence(confidence);
  return mean + sd * normalQuantile(confidence);
}

/** ES of a loss ~ N(mean, sd²): mean + sd · φ(Φ⁻¹(confidence)) / (1 − confidence). */
export function normalES(mean: number, sd: number, confidence: number): number {
  requireConfidence(confidence);
  return mean + (sd * normalPdf(normalQuantile(confidence))) / (1 - confidence);
}

/**
 * Normal VaR/ES of a position whose return has volatility `volPerStep` per sampling step of `stepSeconds`, over
 * `horizonSeconds` (square-root of time, zero mean), as fractions of its value.
 */
export function parametricTailRisk(volPerStep: number, stepSeconds: number, horizonSeconds: number, confidence: number): TailRisk {
  const sd = volPerStep * Math.sqrt(horizonSeconds / stepSeconds);
  return { var: normalVaR(0, sd, confidence), es: normalES(0, sd, confidence) };
}

/**
 * Losses [USD] of a linear portfolio with `exposures` [USD] per asset under Monte Carlo price scenarios:
 * −Σ exposure_i (P_T/P_0 − 1) per path.
 */
export function monteCarloLosses(exposures: readonly number[], model: ReturnModel, options: SimulationOptions): number[] {
  if (exposures.length !== model.volatility.length) {
    throw new StatsError(`monteCarloLosses: ${exposures.length} exposures for ${model.volatility.length} assets`);
  }
  return simulatePriceRatios(model, options).map((ratios) =>
    ratios.reduce((loss, r, i) => loss - exposures[i]! * (r - 1), 0),
  );
}

/** Monte Carlo VaR and ES [USD] of a linear portfolio (see `monteCarloLosses`). */
export const monteCarloTailRisk = (
  exposures: readonly number[],
  model: ReturnModel,
  options: SimulationOptions & { confidence: number },
): TailRisk => historicalTailRisk(monteCarloLosses(exposures, model, options), options.confidence);
