/**
 * A debt ceiling for a peg stability module from a price history (docs/spec.md §10, docs/risk.md): the most kUSD to
 * mint against the reserve so that a stressed depeg costs at most a loss budget.
 *
 * - Stressed depeg `d`: the reserve's lowest price in the history, as a fall below $1 (a stablecoin's risk is the
 *   level it depegs to, not a return); without a column for the reserve, `zm × σmax` of its configured risk, the
 *   margin model's own stressed one-horizon move.
 * - Budget: a share of the book's kUSD debt (default 1%): the module may put at most that much of kUSD's backing at
 *   risk beyond what its fees earn.
 * - Ceiling `C = budget / d`, rounded down to a whole kUSD; with `d = 0` (a reserve that never left $1 in the data)
 *   no ceiling follows from the history and the configured one stands.
 *
 * Fees are left out: the loss they offset depends on turnover, which a price history does not tell. Pure; floats.
 */
import type { PriceSeries } from "./series";

export interface PegCeilingAdvice {
  reserve: string;
  /** The stressed fall below $1 (fraction) and where it comes from. */
  stressedDepeg: number;
  source: string;
  /** [kUSD] the loss budget and the book debt it is a share of. */
  budget: number;
  bookDebt: number;
  budgetShare: number;
  /** [kUSD] the ceiling that budget allows (undefined when the depeg is 0), and the configured one. */
  recommended?: number;
  configured: number;
}

export interface PegCeilingInputs {
  reserve: string;
  configuredCeiling: number;
  bookDebt: number;
  /** The reserve's configured σmax and the maintenance z, for a reserve the history has no column for. */
  sigmaMax: number;
  zMaintenance: number;
  budgetShare?: number;
}

export function pegCeiling(history: PriceSeries | readonly PriceSeries[], inputs: PegCeilingInputs): PegCeilingAdvice {
  const segments: readonly PriceSeries[] = Array.isArray(history) ? history : [history as PriceSeries];
  const budgetShare = inputs.budgetShare ?? 0.01;
  if (!(budgetShare > 0 && budgetShare <= 1)) throw new RangeError(`pegCeiling: budget share ${budgetShare} is outside (0, 1]`);
  const columns = segments.flatMap((s) => s.prices[inputs.reserve] ?? []);
  let stressedDepeg: number;
  let source: string;
  if (columns.length > 0) {
    const lowest = columns.reduce((a, b) => Math.min(a, b), Infinity);
    stressedDepeg = Math.max(0, 1 - lowest);
    source = `the lowest ${inputs.reserve} price in the history ($${lowest.toFixed(4)})`;
  } else {
    stressedDepeg = Math.min(1, inputs.zMaintenance * inputs.sigmaMax);
    source = `no ${inputs.reserve} series in the history: zm × σmax = ${inputs.zMaintenance} × ${(inputs.sigmaMax * 100).toFixed(2)}%`;
  }
  const budget = inputs.bookDebt * budgetShare;
  return {
    reserve: inputs.reserve,
    stressedDepeg,
    source,
    budget,
    bookDebt: inputs.bookDebt,
    budgetShare,
    ...(stressedDepeg > 0 ? { recommended: Math.floor(budget / stressedDepeg) } : {}),
    configured: inputs.configuredCeiling,
  };
}
