/**
 * The risk side of a stress report: VaR and ES of the replay's starting book over a horizon, three ways (historical
 * windows of a price history, Monte Carlo with normal and with Student-t tails, both with σ and ρ estimated from that
 * history), for the collateral's value and for the bad debt the protocol would be left with (valued by the
 * `src/math` mirror through `positionOutcome`/`portfolioRisk`); and the parameters `recommend` proposes from the history,
 * with the diff against the config. Floats only here, as display numbers.
 */
import { parseKeelConfig, type RawKeelConfig } from "../src/client/config";
import { marketFromConfig, rhoOf, type Market } from "../src/risk/market";
import { DEFAULT_BACKTEST_OPTIONS } from "../src/risk/backtest/backtest";
import { gridLabel } from "../src/risk/backtest/calibrate";
import { closesAsSeries, type HistoryFile } from "../src/risk/backtest/history";
import { HISTORY_ASSETS } from "../src/risk/backtest/params";
import { recommend } from "../src/risk/recommend";
import { type HistoryRecommendation, type HistoryRecommendOptions, recommendFromCloses } from "../src/risk/recommendHistory";
import type { Recommendation } from "../src/risk/recommendation";
import { configChanges, configDiff, type ConfigChange } from "../src/risk/recommendConfig";
import type { PriceSeries } from "../src/risk/series";
import { correlation, logReturns, samplingInterval, sampleVolatility, scaleVolatility, StatsError } from "../src/risk/stats";
import { portfolioRisk, historicalTailRisk, monteCarloTailRisk, positionOutcome, type PortfolioPosition } from "../src/risk/var";
import { scalePrice } from "../src/risk/portfolio";
import type { ReplayStart } from "./replay";

export interface RiskRow {
  method: string;
  /** [USD] VaR and ES of the loss of the book's collateral value. */
  collateralVar: number;
  collateralEs: number;
  /** [kUSD] VaR and ES of the bad debt a liquidation of every position at the horizon's prices would leave. */
  badDebtVar: number;
  badDebtEs: number;
  expectedBadDebt: number;
  /** P(at least one position has HF < 1 at the horizon). */
  probLiquidatable: number;
  /** Scenarios behind the row (history windows or Monte Carlo paths). */
  scenarios: number;
}

export interface RiskTable {
  confidence: number;
  horizonSeconds: number;
  positions: number;
  /** [USD] collateral value and [kUSD] debt of the starting book. */
  bookValue: number;
  bookDebt: number;
  /** Per asset: σ over the horizon estimated from the history (fraction) and the σ the margin used at the start. */
  volatility: Record<string, { history: number; margin: number }>;
  rows: RiskRow[];
}

export interface RiskOptions {
  confidence: number;
  horizonSeconds: number;
  paths: number;
  seed: bigint;
  /** Degrees of freedom of the Student-t row. */
  studentT: number;
}

export const DEFAULT_RISK_OPTIONS: RiskOptions = { confidence: 0.99, horizonSeconds: 86_400, paths: 2_000, seed: 1n, studentT: 4 };

/** The market at the replay's start: its prices and σ in force, the config's haircuts, penalties, ρ and z. */
export function startMarket(config: RawKeelConfig, start: ReplayStart): Market {
  return marketFromConfig(parseKeelConfig(config), { prices: start.prices, sigmas: start.sigmas });
}

const toNumber = (wad: bigint): number => Number(wad / 10n ** 6n) / 1e12;

/** One series, or gap-free segments of one history at the same sampling interval (returns never span two). */
export type RiskHistory = PriceSeries | readonly PriceSeries[];

const segmentsOf = (history: RiskHistory): readonly PriceSeries[] => {
  const segments = Array.isArray(history) ? (history as readonly PriceSeries[]) : [history as PriceSeries];
  if (segments.length === 0) throw new StatsError("riskTable: the history has no segment of two or more rows");
  return segments;
};

/** An asset's log returns within each segment, concatenated; undefined unless every segment has its column. */
function segmentReturns(segments: readonly PriceSeries[], symbol: string): number[] | undefined {
  const columns = segments.map((s) => s.prices[symbol]);
  return columns.every((c) => c !== undefined) ? columns.flatMap((c) => logReturns(c!)) : undefined;
}

/**
 * VaR/ES of the starting `book` in `market` over the horizon, from `history` (see the module comment): one series, or
 * the gap-free segments of a history with gaps (`closesAsSeries`).
 */
export function riskTable(book: readonly PortfolioPosition[], market: Market, history: RiskHistory, o: RiskOptions = DEFAULT_RISK_OPTIONS): RiskTable {
  const segments = segmentsOf(history);
  const step = samplingInterval(segments[0]!.timestamps);
  // Per asset: its log returns when the history has its column, and σ over the margin horizon (the margin's σ without).
  const assets = market.assets.map((a) => {
    const returns = segmentReturns(segments, a.symbol);
    const margin = Number(a.sigma) / 1e18;
    return { asset: a, returns, margin, history: returns ? scaleVolatility(sampleVolatility(returns), step, market.horizonSeconds) : margin };
  });
  const rho = assets.map((a, i) =>
    assets.map((b, j) =>
      i === j ? 1 : a.returns && b.returns ? correlation(a.returns, b.returns) : Number(rhoOf(market, i, j)) / 1e18,
    ),
  );
  const volatility = Object.fromEntries(assets.map((a) => [a.asset.symbol, a.history]));
  const horizonVol = assets.map((a) => scaleVolatility(a.history, market.horizonSeconds, o.horizonSeconds));
  const exposure = market.assets.map((a) =>
    book.reduce((sum, p) => {
      const amount = p.collateral[a.symbol] ?? 0n;
      return sum + toNumber((amount * a.price) / 10n ** BigInt(a.decimals));
    }, 0),
  );

  const rows: RiskRow[] = [historicalRow(book, market, segments, o)];
  for (const [method, tails] of [
    ["Monte Carlo, normal", "normal"],
    [`Monte Carlo, Student-t (ν ${o.studentT})`, { studentT: o.studentT }],
  ] as const) {
    const r = portfolioRisk(book, market, { confidence: o.confidence, horizonSeconds: o.horizonSeconds, paths: o.paths, seed: o.seed, tails, volatility, correlation: rho });
    const c = monteCarloTailRisk(exposure, { volatility: horizonVol, correlation: rho }, { paths: o.paths, seed: o.seed, tails, confidence: o.confidence });
    rows.push({
      method,
      collateralVar: c.var,
      collateralEs: c.es,
      badDebtVar: r.var.kusd,
      badDebtEs: r.es.kusd,
      expectedBadDebt: r.expectedBadDebt.kusd,
      probLiquidatable: r.probLiquidatable,
      scenarios: r.paths,
    });
  }
  return {
    confidence: o.confidence,
    horizonSeconds: o.horizonSeconds,
    positions: book.length,
    bookValue: exposure.reduce((a, x) => a + x, 0),
    bookDebt: toNumber(book.reduce((a, p) => a + p.debt, 0n)),
    volatility: Object.fromEntries(assets.map((a) => [a.asset.symbol, { history: a.history, margin: a.margin }])),
    rows,
  };
}

/**
 * Every overlapping horizon window of each segment applied to the starting prices (assets without a column stay put);
 * no window spans two segments.
 */
function historicalRow(book: readonly PortfolioPosition[], market: Market, segments: readonly PriceSeries[], o: RiskOptions): RiskRow {
  const h = Math.max(1, Math.round(o.horizonSeconds / samplingInterval(segments[0]!.timestamps)));
  const values = market.assets.map((a) =>
    book.reduce((sum, p) => sum + toNumber(((p.collateral[a.symbol] ?? 0n) * a.price) / 10n ** BigInt(a.decimals)), 0),
  );
  const collateral: number[] = [];
  const badDebt: number[] = [];
  let liquidatable = 0;
  for (const series of segments) for (let t = 0; t + h < series.timestamps.length; t++) {
    const ratios = market.assets.map((a) => {
      const p = series.prices[a.symbol];
      return p ? p[t + h]! / p[t]! : 1;
    });
    const prices = market.assets.map((a, i) => scalePrice(a.price, ratios[i]!));
    const loss = values.reduce((sum, v, i) => sum + v * (1 - ratios[i]!), 0);
    let bad = 0n;
    let anyBelow = false;
    for (const position of book) {
      const outcome = positionOutcome(position, market, prices);
      bad += outcome.badDebt;
      anyBelow ||= outcome.hf < 10n ** 18n;
    }
    collateral.push(loss);
    badDebt.push(toNumber(bad));
    if (anyBelow) liquidatable++;
  }
  const c = historicalTailRisk(collateral, o.confidence);
  const b = historicalTailRisk(badDebt, o.confidence);
  return {
    method: `historical (${collateral.length} windows)`,
    collateralVar: c.var,
    collateralEs: c.es,
    badDebtVar: b.var,
    badDebtEs: b.es,
    expectedBadDebt: badDebt.reduce((a, x) => a + x, 0) / Math.max(1, badDebt.length),
    probLiquidatable: liquidatable / Math.max(1, collateral.length),
    scenarios: collateral.length,
  };
}

export interface RecommendationSection {
  history: string;
  recommendation: Recommendation;
  changes: ConfigChange[];
  diff: string;
  /**
   * From daily closes only: the calibration behind the recommendation, checked at the recommended parameters in
   * sample (against the smallest static σ of equal coverage) and out of sample. The full calibration stays out.
   */
  calibrated?: Omit<HistoryRecommendation, "calibration" | "recommendation"> & {
    chosen: string;
    gridPoints: number;
    passing: number;
    inSampleWindow: string;
  };
}

/**
 * The recommendation for a history against `config`, with every field it sets and the governance diff: `recommend`
 * on a price series, `recommendFromCloses` (the walk-forward calibration; `options` for it, e.g. a smaller grid) on
 * daily closes.
 */
export function recommendationSection(
  config: RawKeelConfig,
  input: HistoryFile,
  history: string,
  options: Partial<HistoryRecommendOptions> = {},
): RecommendationSection {
  if (input.kind === "series") {
    const rec = recommend(input.series, config);
    return { history, recommendation: rec, changes: configChanges(config, rec), diff: configDiff(config, rec) };
  }
  const { recommendation: rec, calibration: c, ...evidence } = recommendFromCloses(input.closes, config, options);
  return {
    history,
    recommendation: rec,
    changes: configChanges(config, rec),
    diff: configDiff(config, rec),
    calibrated: {
      ...evidence,
      chosen: gridLabel(c.chosen!),
      gridPoints: c.points.length,
      passing: c.points.filter((p) => p.pass).length,
      inSampleWindow: `${c.inSample.from} to ${c.inSample.to}`,
    },
  };
}

/**
 * The history the VaR/ES tables read: a price series as is; daily closes as their gap-free segments with the config
 * symbols of `HISTORY_ASSETS` (ETH → WETH, BTC → WBTC, from the backtest's liquid dates), plus a column for each
 * composite asset whose base has one (wstETH = its configured ratio × WETH: a constant ratio, so wstETH's returns are
 * WETH's). Other assets (USDC) have no column and stay at their price in the historical windows.
 */
export function riskHistory(config: RawKeelConfig, input: HistoryFile): RiskHistory {
  if (input.kind === "series") return input.series;
  const segments = closesAsSeries(input.closes, HISTORY_ASSETS, DEFAULT_BACKTEST_OPTIONS.liquidFrom);
  return segments.map((segment) => {
    const prices = { ...segment.prices };
    for (const a of config.assets) {
      const base = a.price.base === undefined ? undefined : prices[a.price.base];
      // Returns and window ratios are the base's whatever the constant ratio; the mock feed's initial one when set.
      const ratio = Number(a.price.initial ?? "1");
      if (base && prices[a.symbol] === undefined) prices[a.symbol] = base.map((p) => p * ratio);
    }
    return { timestamps: segment.timestamps, prices };
  });
}
