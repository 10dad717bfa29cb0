/**
 * The protocol's loss distribution over a horizon: Monte Carlo price scenarios (floats), each turned into bigint [wad]
 * prices at the edge and valued with the `src/math` mirror exactly as the contracts would: HF from `assess`, and the
 * bad debt a liquidation at those prices would leave, debt − Σ value_c / (1 + ℓ_c) (`repayForDown`), floored at 0.
 */
import { assess, healthFactors, INFINITE_HEALTH, repayForDown, WAD, type Holding } from "../math";
import { tailCount } from "./tail";
import { assetIndex, correlationFloats, MarketError, rhoOf, type Market } from "./market";
import { horizonVolatility, simulatePriceRatios, type SimulationOptions } from "./shocks";
import { quantile } from "./stats";

/** A position: collateral per asset symbol (token decimals) and debt [wad kUSD]. */
export interface PortfolioPosition {
  id: string | bigint;
  collateral: Readonly<Record<string, bigint>>;
  debt: bigint; // [wad]
}

/** An amount of kUSD: exact [wad] and as a number of kUSD for display. */
export interface Kusd {
  wad: bigint;
  kusd: number;
}

export const kusd = (wad: bigint): Kusd => ({ wad, kusd: Number(wad / 10n ** 6n) / 1e12 });

/** HF [wad] as a number; Infinity for a position without debt. */
export const hfNumber = (hf: bigint): number => (hf === INFINITE_HEALTH ? Infinity : Number(hf) / 1e18);

/** What one position would be at given prices. */
export interface PositionOutcome {
  value: bigint; // [wad] collateral value
  hf: bigint; // [wad] maintenance health factor
  hfInitial: bigint; // [wad]
  /** What liquidating everything would repay: Σ value_c / (1 + ℓ_c), rounded down [wad]. */
  recovery: bigint;
  /** max(0, debt − recovery) [wad]. */
  badDebt: bigint;
}

/**
 * A position valued at `prices` [wad, one per market asset, in market order] with the market's σ, haircuts, ρ and z:
 * HF through the mirror's `assess`, and the bad debt a full liquidation at those prices would leave.
 */
export function positionOutcome(position: PortfolioPosition, market: Market, prices: readonly bigint[]): PositionOutcome {
  const held = Object.entries(position.collateral)
    .filter(([, amount]) => amount > 0n)
    .map(([symbol, amount]) => ({ index: assetIndex(market, symbol), amount }))
    .sort((a, b) => a.index - b.index);
  const priced = held.map(({ index, amount }) => {
    const a = market.assets[index]!;
    const holding: Holding = {
      amount,
      price: prices[index]!,
      unit: 10n ** BigInt(a.decimals),
      sigma: a.sigma,
      maintenanceHaircut: a.maintenanceHaircut,
      initialHaircut: a.initialHaircut,
    };
    return { holding, penalty: a.liquidationPenalty };
  });
  const holdings = priced.map((x) => x.holding);
  const correlation = held.flatMap((x) => held.map((y) => rhoOf(market, x.index, y.index)));
  const valuation = holdings.length === 0 ? { value: 0n, maintenanceLoss: 0n, initialLoss: 0n } : assess(holdings, correlation, market.confidence);
  const { hf, hfInitial } = healthFactors(valuation, position.debt);
  const recovery = priced.reduce((sum, { holding: h, penalty }) => sum + repayForDown(h.amount, penalty, h.price, h.unit), 0n);
  return { value: valuation.value, hf, hfInitial, recovery, badDebt: position.debt > recovery ? position.debt - recovery : 0n };
}

export interface PortfolioRiskOptions extends Omit<SimulationOptions, "steps"> {
  /** e.g. 0.99. */
  confidence: number;
  /** Also return every path's outcomes (`PortfolioRisk.samples`), e.g. for histograms. Default false. */
  includeSamples?: boolean;
  /** Horizon of the simulated price move [s]. */
  horizonSeconds: number;
  /** Steps the horizon is compounded in (1 = square-root of time). Default 1. */
  steps?: number;
  /** σ of each asset's log return over the market's σ horizon (fractions); default the margin σ in force. */
  volatility?: Readonly<Record<string, number>>;
  /** ρ of the simulated returns; default the margin ρ. */
  correlation?: readonly (readonly number[])[];
}

export interface PositionRisk {
  id: string | bigint;
  value: Kusd;
  debt: Kusd;
  /** HF now. */
  hf: number;
  /** HF at the (1 − confidence)-quantile of the simulated HFs: the HF exceeded with probability `confidence`. */
  hfAtConfidence: number;
  /** VaR and ES of the position's bad debt. */
  var: Kusd;
  es: Kusd;
  expectedBadDebt: Kusd;
  /** Quantiles of the simulated HF at the horizon (Infinity without debt). */
  hfQuantiles: { p01: number; p05: number; p50: number };
  /** P(HF < 1 at the horizon): callable, liquidatable after the grace period. */
  probLiquidatable: number;
  /** P(HF < criticalHF): liquidatable at once (0 when the market has no criticalHF). */
  probCritical: number;
  probBadDebt: number;
}

export interface PortfolioRisk {
  confidence: number;
  horizonSeconds: number;
  paths: number;
  /** VaR and ES of the portfolio's total bad debt. */
  var: Kusd;
  es: Kusd;
  expectedBadDebt: Kusd;
  /** P(at least one position has HF < 1 at the horizon). */
  probLiquidatable: number;
  /** P(the portfolio has any bad debt). */
  probBadDebt: number;
  perPosition: PositionRisk[];
  /** With `includeSamples`: per path, the portfolio's bad debt [wad] and each position's HF (by position, then path). */
  samples?: { bookBadDebt: bigint[]; hf: number[][] };
}

/** A simulated price ratio applied to a [wad] price at the edge: price × round(ratio × 1e12) / 1e12. */
const RATIO_SCALE = 1e12;
export const scalePrice = (price: bigint, ratio: number): bigint =>
  (price * BigInt(Math.round(ratio * RATIO_SCALE))) / BigInt(RATIO_SCALE);

/** VaR (order statistic) and ES (mean of the tail) of bigint losses. */
function tailOf(losses: bigint[], confidence: number): { var: bigint; es: bigint } {
  const s = [...losses].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const k = tailCount(s.length, confidence);
  const tail = s.slice(s.length - k);
  return { var: tail[0]!, es: tail.reduce((a, x) => a + x, 0n) / BigInt(k) };
}

const meanOf = (xs: bigint[]): bigint => xs.reduce((a, x) => a + x, 0n) / BigInt(xs.length);

/**
 * The portfolio's and each position's bad-debt VaR/ES, expected bad debt and probability of liquidation over
 * `horizonSeconds`, by Monte Carlo (`paths`, `seed`, `tails`, `steps`), every scenario valued by the mirror.
 */
export function portfolioRisk(portfolio: readonly PortfolioPosition[], market: Market, options: PortfolioRiskOptions): PortfolioRisk {
  if (!(options.confidence > 0 && options.confidence < 1)) throw new MarketError(`confidence ${options.confidence} is outside (0, 1)`);
  const volatility = market.assets.map((a) =>
    horizonVolatility(options.volatility?.[a.symbol] ?? Number(a.sigma) / 1e18, market.horizonSeconds, options.horizonSeconds),
  );
  const scenarios = simulatePriceRatios(
    { volatility, correlation: options.correlation ?? correlationFloats(market) },
    { paths: options.paths, seed: options.seed, tails: options.tails, steps: options.steps },
  );
  const now = market.assets.map((a) => a.price);
  // Per position, its outcome in every scenario.
  const tallies = portfolio.map((position) => ({
    position,
    badDebt: new Array<bigint>(scenarios.length),
    hfs: new Array<number>(scenarios.length),
    belowOne: 0,
    belowCritical: 0,
  }));
  const critical = market.criticalHF ?? 0n;
  let anyLiquidatable = 0;
  let anyBadDebt = 0;
  scenarios.forEach((ratios, p) => {
    const prices = now.map((price, i) => scalePrice(price, ratios[i]!));
    let liquidatable = false;
    let bad = false;
    for (const t of tallies) {
      const o = positionOutcome(t.position, market, prices);
      t.badDebt[p] = o.badDebt;
      t.hfs[p] = hfNumber(o.hf);
      if (o.hf < WAD) t.belowOne++;
      if (o.hf < critical) t.belowCritical++;
      liquidatable ||= o.hf < WAD;
      bad ||= o.badDebt > 0n;
    }
    if (liquidatable) anyLiquidatable++;
    if (bad) anyBadDebt++;
  });
  const perPosition = tallies.map(({ position, badDebt, hfs, belowOne, belowCritical }): PositionRisk => {
    const current = positionOutcome(position, market, now);
    const tail = tailOf(badDebt, options.confidence);
    return {
      id: position.id,
      value: kusd(current.value),
      debt: kusd(position.debt),
      hf: hfNumber(current.hf),
      hfAtConfidence: quantile(hfs, 1 - options.confidence),
      hfQuantiles: { p01: quantile(hfs, 0.01), p05: quantile(hfs, 0.05), p50: quantile(hfs, 0.5) },
      var: kusd(tail.var),
      es: kusd(tail.es),
      expectedBadDebt: kusd(meanOf(badDebt)),
      probLiquidatable: belowOne / scenarios.length,
      probCritical: belowCritical / scenarios.length,
      probBadDebt: badDebt.filter((b) => b > 0n).length / scenarios.length,
    };
  });
  const totals = scenarios.map((_, p) => tallies.reduce((sum, t) => sum + t.badDebt[p]!, 0n));
  const tail = tailOf(totals, options.confidence);
  return {
    confidence: options.confidence,
    horizonSeconds: options.horizonSeconds,
    paths: scenarios.length,
    var: kusd(tail.var),
    es: kusd(tail.es),
    expectedBadDebt: kusd(meanOf(totals)),
    probLiquidatable: anyLiquidatable / scenarios.length,
    probBadDebt: anyBadDebt / scenarios.length,
    perPosition,
    ...(options.includeSamples ? { samples: { bookBadDebt: totals, hf: tallies.map((t) => t.hfs) } } : {}),
  };
}
