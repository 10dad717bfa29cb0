/**
 * The bad-debt check of a recommendation, in the protocol's own math: for every window of one horizon in a price
 * history, a unit isolated position opened at the window's start exactly at HF = 1 (debt = V − Lm, `assess` via the
 * mirror, with the σ the VolatilityOracle model would have had in force then) is liquidated at the window's lowest
 * price; the liquidation repays value / (1 + ℓ) (`repayForDown`). Covered means no window leaves bad debt.
 */
import { isolatedLossUp, repayForDown, valueDown } from "../math";
import { replay, sigmaAt, type SigmaBounds, type VolatilityParams, type VolatilityState } from "../math/volatility";

/** A float price (USD) as [wad] at the edge: 9 significant fractional digits. */
export const priceToWad = (price: number): bigint => BigInt(Math.round(price * 1e9)) * 10n ** 9n;

/** A fraction as [wad] (0.05 → 0.05e18), to 1e-12. */
export const fractionToWad = (x: number): bigint => BigInt(Math.round(x * 1e12)) * 10n ** 6n;

/**
 * The σ in force [wad] at every timestamp of a price path under the VolatilityOracle model: poked at each row at
 * least `minInterval` after the previous poke, read with `sigmaAt` in between.
 */
export function sigmaInForce(
  timestamps: readonly number[],
  prices: readonly number[],
  bounds: SigmaBounds,
  params: VolatilityParams,
): bigint[] {
  let state: VolatilityState | undefined;
  let lastPoke = -Infinity;
  return timestamps.map((t, i) => {
    if (t >= lastPoke + Number(params.minInterval)) {
      const [next] = replay([{ time: BigInt(t), price: priceToWad(prices[i]!) }], bounds, params, state);
      state = next!.state;
      lastPoke = t;
    }
    return sigmaAt(state!, BigInt(t), bounds);
  });
}

/** Worst loss of a long position within each window: 1 − min(P_s, t < s ≤ t + steps) / P_t, for every start t. */
export function windowLosses(prices: readonly number[], steps: number): number[] {
  return prices.slice(0, -1).map((p, t) => {
    let low = Infinity;
    for (let s = t + 1; s <= Math.min(t + steps, prices.length - 1); s++) low = Math.min(low, prices[s]!);
    return 1 - low / p;
  });
}

/** Margin parameters of one asset for the check (wad). */
export interface CoverageParams {
  decimals: number;
  zMaintenance: bigint;
  maintenanceHaircut: bigint;
  liquidationPenalty: bigint;
}

/** One window's outcome. */
export interface WindowCheck {
  start: number; // [unix s]
  /** Worst loss within the window (fraction). */
  loss: number;
  /** σ in force at the start (fraction). */
  sigma: number;
  /** max(zm σ, hm) (fraction). */
  margin: number;
  /** The largest loss the margin and penalty cover: 1 − (1 + ℓ)(1 − margin) (fraction). */
  covers: number;
  /** Bad debt [wad] per whole token of a position at HF = 1, liquidated at the window's low. */
  badDebt: bigint;
}

export interface AssetCoverage {
  symbol: string;
  windows: number;
  /** The window with the worst loss. */
  worst: WindowCheck;
  /** The window with the least slack (covers − loss). */
  tightest: WindowCheck;
  /** Windows that would have left bad debt. */
  failures: number;
  covered: boolean;
}

/** Checks every window of `steps` sampling steps of one asset's history against its margin (see the module comment). */
export function checkCoverage(
  symbol: string,
  timestamps: readonly number[],
  prices: readonly number[],
  steps: number,
  sigmas: readonly bigint[],
  p: CoverageParams,
): AssetCoverage {
  const unit = 10n ** BigInt(p.decimals);
  const checks = windowLosses(prices, steps).map((loss, t): WindowCheck => {
    const start = priceToWad(prices[t]!);
    let lowPrice = start;
    for (let s = t + 1; s <= Math.min(t + steps, prices.length - 1); s++) {
      const x = priceToWad(prices[s]!);
      if (x < lowPrice) lowPrice = x;
    }
    const value = valueDown(unit, start, unit);
    const maintenanceLoss = isolatedLossUp(value, sigmas[t]!, p.zMaintenance, p.maintenanceHaircut);
    const debt = value - maintenanceLoss; // HF = (V − Lm) / D = 1
    const recovery = repayForDown(unit, p.liquidationPenalty, lowPrice, unit);
    const margin = Number(maintenanceLoss) / Number(value);
    return {
      start: timestamps[t]!,
      loss,
      sigma: Number(sigmas[t]!) / 1e18,
      margin,
      covers: 1 - (1 + Number(p.liquidationPenalty) / 1e18) * (1 - margin),
      badDebt: debt > recovery ? debt - recovery : 0n,
    };
  });
  const worst = checks.reduce((a, b) => (b.loss > a.loss ? b : a));
  const tightest = checks.reduce((a, b) => (b.covers - b.loss < a.covers - a.loss ? b : a));
  const failures = checks.filter((c) => c.badDebt > 0n).length;
  return { symbol, windows: checks.length, worst, tightest, failures, covered: failures === 0 };
}
