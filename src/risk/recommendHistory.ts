/**
 * Risk-parameter recommendations from real daily closes (data/history/daily-closes.csv, read by
 * ./backtest/history): the parameters the walk-forward calibration (./backtest/calibrate) chooses, i.e. the cheapest
 * (lowest mean maintenance requirement) that pass Kupiec and Christoffersen at 99% coverage and 5% significance for
 * every subject in sample, then checked at exactly the recommended values, in sample against the smallest static σ of
 * equal coverage and out of sample.
 *
 * - Columns to assets by an explicit map (`HISTORY_ASSETS`: ETH → WETH, BTC → WBTC). A config asset with no column
 *   (USDC, wstETH in the shipped file) keeps its configured values and is named in `skipped`: nothing is invented.
 * - hm: the least floor the criticalHF rule allows, on the haircut grid, set before calibrating (the floor is a
 *   capital cost every calm day; covering 99% of days is zm σ's job, and the tests check that it does).
 * - halfLife, maxStep, zm, σmin, σmax: the calibration's chosen point.
 * - zi and hi: `initialMultiplier` and `initialHaircutFor` (./recommend's rules) on the standardised next-day losses
 *   and the median σ in force in sample.
 * - ρ: stressed, the larger of the in-sample correlation and the 95% quantile of its rolling 14-day value, both over
 *   days with both returns inside one run of consecutive days.
 * - coverage: ./coverage's bad-debt check, one day ahead, over every run of the whole file.
 *
 * No return, oracle sample or window spans a gap in the file (2019-12-31 → 2023-01-01 in the shipped one): the
 * backtest's runs of consecutive days are the unit; ETH starts at its liquid date (DEFAULT_BACKTEST_OPTIONS.liquidFrom).
 */
import { ConfigError, parseKeelConfig, type RawKeelConfig } from "../client/config";
import { WAD } from "../math";
import {
  assetPath,
  backtest,
  type BacktestOptions,
  DEFAULT_BACKTEST_OPTIONS,
  type MarginParams,
  type Subject,
  type SubjectBacktest,
} from "./backtest/backtest";
import {
  type Calibration,
  calibrate,
  type CalibrationGrid,
  defaultGrid,
  gridLabel,
  subjectSummary,
  type SubjectSummary,
  WALK_FORWARD,
  withGridParams,
} from "./backtest/calibrate";
import { type BacktestWindow, type DailyCloses, DAY, windowDays } from "./backtest/history";
import { HISTORY_ASSETS, marginParamsFromConfig, SUBJECTS } from "./backtest/params";
import { jointReturns } from "./backtest/rho";
import { type AssetCoverage, checkCoverage, fractionToWad } from "./coverage";
import {
  clamp,
  DEFAULT_RECOMMEND_OPTIONS,
  HAIRCUT_GRID,
  haircutFromCriticalHF,
  initialHaircutFor,
  initialMultiplier,
  RHO_GRID,
  up,
} from "./recommend";
import { type AssetRecommendation, type Recommendation, RecommendationError } from "./recommendation";
import { configDiff, decimalText } from "./recommendConfig";
import { markdownTable } from "../units/table";
import { correlation, quantile, rollingCorrelation } from "./stats";

export interface HistoryRecommendOptions {
  /** History column → the config asset it prices (default `HISTORY_ASSETS`: ETH → WETH, BTC → WBTC). */
  symbolMap: Readonly<Record<string, string>>;
  /** What the calibration must pass (default: each asset and the two as a basket). */
  subjects: readonly Subject[];
  /** The calibration grid (default `defaultGrid` around the config's parameters with the recommended hm). */
  grid?: CalibrationGrid;
  inSample: BacktestWindow;
  outOfSample: readonly BacktestWindow[];
  backtest: Omit<BacktestOptions, "window" | "rho">;
  /** Initial confidence for zi (default 0.999, as ./recommend). */
  initialConfidence: number;
  /** ρ is at least this quantile of the rolling correlation over `correlationWindowDays` (default 0.95, 14). */
  correlationQuantile: number;
  correlationWindowDays: number;
}

export const DEFAULT_HISTORY_RECOMMEND_OPTIONS: HistoryRecommendOptions = {
  symbolMap: HISTORY_ASSETS,
  subjects: Object.values(SUBJECTS),
  inSample: WALK_FORWARD.inSample,
  outOfSample: WALK_FORWARD.outOfSample,
  backtest: DEFAULT_BACKTEST_OPTIONS,
  initialConfidence: DEFAULT_RECOMMEND_OPTIONS.confidence.initial,
  correlationQuantile: DEFAULT_RECOMMEND_OPTIONS.correlationQuantile,
  correlationWindowDays: DEFAULT_RECOMMEND_OPTIONS.correlationWindowSeconds / DAY,
};

/** One subject at the recommended parameters in sample: the tests, and the capital against a static σ. */
export interface StaticComparison {
  subject: string;
  days: number;
  exceedances: number;
  kupiecP: number;
  christoffersenP: number;
  pass: boolean;
  /** Mean requirement max(zm σ, hm) (fraction of collateral value). */
  dynamicRequirement: number;
  /** The smallest constant σ whose max(zm σ, hm) passes the same tests on the same days; undefined if none does. */
  staticSigma?: number;
  staticRequirement?: number;
  /** The floor alone passes (so no dynamic requirement, never below it, can cost less). */
  floorBinds: boolean;
  /** Passes both tests with a lower mean requirement than the static σ. */
  beatsStatic: boolean;
}

export interface HistoryRecommendation {
  recommendation: Recommendation;
  /** The recommended parameters as the backtest reads them (history symbols). */
  params: MarginParams;
  calibration: Calibration;
  /**
   * ρ: in sample, the rolling quantile, the stressed value (the larger, on the grid), the recommended one, and the
   * days behind it. The recommended ρ is the stressed one unless the config's correlation matrix, with the pairs of
   * assets without a series as configured, would not be positive semi-definite with it: then the largest value on
   * the grid that keeps it so (`capped`).
   */
  rho: { sample: number; rollingQuantile: number; stressed: number; recommended: number; capped: boolean; days: number };
  /** In sample at the recommended parameters (basket at the recommended ρ). */
  inSample: StaticComparison[];
  /** Out of sample at the recommended parameters, per window. */
  outOfSample: { window: BacktestWindow; subjects: SubjectSummary[]; pass: boolean }[];
}

const toFraction = (wad: bigint): number => Number(wad) / 1e18;

/** A subject's result at the recommended parameters, as the comparison with the static σ. */
function comparison(r: SubjectBacktest): StaticComparison {
  const m = r.maintenance;
  const st = r.static?.maintenance;
  return {
    subject: r.subject,
    days: m.days,
    exceedances: m.exceedances,
    kupiecP: m.kupiec.pValue,
    christoffersenP: m.christoffersen.pValue,
    pass: m.pass,
    dynamicRequirement: m.meanRequirement,
    ...(st ? { staticSigma: st.sigma, staticRequirement: st.requirement } : {}),
    floorBinds: st?.floorBinds ?? false,
    beatsStatic: m.pass && (st === undefined || m.meanRequirement < st.requirement),
  };
}

/** The largest ρ ≤ `rho` on the grid with which `current` (its pair `key` set to it) still parses: a PSD matrix. */
function feasibleRho(current: RawKeelConfig, key: string, rho: number): number {
  for (let steps = Math.round(rho / RHO_GRID); steps >= 0; steps--) {
    const value = Number((steps * RHO_GRID).toFixed(10));
    try {
      parseKeelConfig({ ...current, correlations: { ...current.correlations, [key]: decimalText(value) } });
      return value;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
  }
  throw new RecommendationError(`correlations.${key}: no value in [0, ${rho}] keeps the config's correlation matrix positive semi-definite`);
}

/** The stressed ρ of two history columns over the window (see the module comment), before the PSD cap. */
function stressedRho(history: DailyCloses, [a, b]: readonly [string, string], o: HistoryRecommendOptions): Omit<HistoryRecommendation["rho"], "recommended" | "capped"> {
  const segments = jointReturns(history, [a, b], o.inSample, o.backtest.liquidFrom);
  const xs = segments.flatMap((s) => s.x);
  const ys = segments.flatMap((s) => s.y);
  if (xs.length < 30) throw new RecommendationError(`ρ ${a}/${b}: ${xs.length} days with both returns in ${o.inSample.from} to ${o.inSample.to}, need at least 30`);
  const window = o.correlationWindowDays;
  const rolling = segments.filter((s) => s.x.length >= window).flatMap((s) => rollingCorrelation(s.x, s.y, window));
  const sample = correlation(xs, ys);
  const rollingQuantile = rolling.length > 0 ? quantile(rolling, o.correlationQuantile) : sample;
  return { sample, rollingQuantile, stressed: clamp(up(Math.max(sample, rollingQuantile), RHO_GRID), [0, 1]), days: xs.length };
}

/** ./coverage's one-day bad-debt check over every run of the asset, merged. */
function coverageOf(history: DailyCloses, symbol: string, listed: string, params: MarginParams, o: HistoryRecommendOptions, decimals: number, penalty: bigint): AssetCoverage {
  const path = assetPath(history, symbol, params, o.backtest.liquidFrom[symbol]);
  const margin = params.assets[symbol]!;
  const checks = path.runs.map((run, r) =>
    checkCoverage(listed, run.days.map((d) => d * DAY), run.prices, 1, path.paths[r]!.sigma, {
      decimals,
      zMaintenance: params.zMaintenance,
      maintenanceHaircut: margin.maintenanceHaircut,
      liquidationPenalty: penalty,
    }),
  );
  const first = checks[0];
  if (!first) throw new RecommendationError(`${history.file}: no run of ${symbol} to check`);
  const slack = (c: AssetCoverage["tightest"]): number => c.covers - c.loss;
  return checks.slice(1).reduce(
    (acc, c) => ({
      symbol: listed,
      windows: acc.windows + c.windows,
      worst: c.worst.loss > acc.worst.loss ? c.worst : acc.worst,
      tightest: slack(c.tightest) < slack(acc.tightest) ? c.tightest : acc.tightest,
      failures: acc.failures + c.failures,
      covered: acc.covered && c.covered,
    }),
    first,
  );
}

/** Recommends parameters from daily closes (see the module comment). Throws RecommendationError when none passes. */
export function recommendFromCloses(
  history: DailyCloses,
  current: RawKeelConfig,
  options: Partial<HistoryRecommendOptions> = {},
): HistoryRecommendation {
  const o = { ...DEFAULT_HISTORY_RECOMMEND_OPTIONS, ...options };
  const config = parseKeelConfig(current);
  const mapped = Object.entries(o.symbolMap);
  for (const [column, listed] of mapped) {
    if (!history.symbols.includes(column)) {
      throw new RecommendationError(`${history.file} has no column "${column}" (for ${listed}); its columns: ${history.symbols.join(", ")}`);
    }
  }
  const assetOf = (column: string) => {
    const listed = o.symbolMap[column]!;
    const a = config.assets.find((x) => x.symbol === listed);
    if (!a) throw new RecommendationError(`the config lists no ${listed} for the column ${column} of ${history.file}`);
    return a;
  };

  // hm first: the least floor criticalHF allows, on the grid; the calibration runs around it.
  const floors = Object.fromEntries(
    mapped.map(([column]) => {
      const a = assetOf(column);
      return [column, up(haircutFromCriticalHF(config.liquidation.criticalHF, a.risk.liquidationPenalty), HAIRCUT_GRID)];
    }),
  );
  const configured = marginParamsFromConfig(config, o.symbolMap);
  const base: MarginParams = {
    ...configured,
    assets: Object.fromEntries(
      Object.entries(configured.assets).map(([s, a]) => [s, { ...a, maintenanceHaircut: fractionToWad(floors[s]!) }]),
    ),
  };
  const calibration = calibrate(history, o.subjects, base, o.grid ?? defaultGrid(base), {
    ...o.backtest,
    inSample: o.inSample,
    outOfSample: o.outOfSample,
  });
  const chosen = calibration.chosen;
  if (!chosen) {
    const closest = calibration.points.reduce((a, b) => (b.minP > a.minP ? b : a));
    throw new RecommendationError(
      `no point of the calibration grid (${calibration.points.length}) passes Kupiec and Christoffersen for every subject ` +
        `in ${o.inSample.from} to ${o.inSample.to}; the closest has a smallest p-value of ${closest.minP.toFixed(3)}`,
    );
  }
  const params = withGridParams(base, chosen);

  // ρ, and the backtest at exactly the recommended parameters (the basket at the recommended ρ).
  const pair = mapped.map(([c]) => c);
  const listedPair = pair.map((c) => o.symbolMap[c]!);
  const rho = ((): HistoryRecommendation["rho"] => {
    if (pair.length !== 2) return { sample: 1, rollingQuantile: 1, stressed: 1, recommended: 1, capped: false, days: 0 };
    const stressed = stressedRho(history, [pair[0]!, pair[1]!], o);
    const forward = `${listedPair[0]}/${listedPair[1]}`;
    const key = current.correlations[forward] === undefined && current.correlations[`${listedPair[1]}/${listedPair[0]}`] !== undefined ? `${listedPair[1]}/${listedPair[0]}` : forward;
    const recommended = feasibleRho(current, key, stressed.stressed);
    return { ...stressed, recommended, capped: recommended < stressed.stressed };
  })();
  const inSample = backtest(history, o.subjects, params, { ...o.backtest, window: o.inSample, rho: rho.recommended, episodes: [] });
  const outOfSample = o.outOfSample.map((window) => {
    const results = backtest(history, o.subjects, params, { ...o.backtest, window, rho: rho.recommended, episodes: [], staticSearch: false });
    return { window, subjects: results.map(subjectSummary), pass: results.every((r) => r.maintenance.pass) };
  });

  // zi from the standardised next-day losses of the single assets in sample; hi from the median σ in force.
  const zm = toFraction(params.zMaintenance);
  const singles = inSample.filter((r) => r.assets.length === 1);
  const pooled = singles.flatMap((r) => r.runs.flat().map((d) => d.loss / d.sigma));
  const confidence = { maintenance: 1 - o.backtest.level.exceedanceProbability, initial: o.initialConfidence };
  const zInitial = initialMultiplier(zm, zm, pooled, { confidence, fatTails: true });
  const { from, to } = windowDays(o.inSample);

  const assets = mapped.map(([column, listed]): AssetRecommendation => {
    const a = assetOf(column);
    const margin = params.assets[column]!;
    const days = singles.find((r) => r.assets[0] === column)?.runs.flat() ?? [];
    if (days.length === 0) throw new RecommendationError(`${column}: no day in sample to recommend from`);
    const sigmas = days.map((d) => d.sigma);
    const targets = days.map((d) => d.target);
    const losses = days.map((d) => d.loss);
    const maintenanceHaircut = floors[column]!;
    const penalty = toFraction(a.risk.liquidationPenalty);
    // As ./recommend: the least floor that would have left no bad debt on any day (zm σ not covering it).
    const haircutFromHistory = days.reduce((need, d) => {
      const required = 1 - (1 - d.loss) / (1 + penalty);
      return zm * d.sigma >= required ? need : Math.max(need, required);
    }, 0);
    // σ in force is at most σmax: the uncapped target's peak is evidence of how often the cap binds.
    const uncapped = assetPath(history, column, { ...params, assets: { ...params.assets, [column]: { ...margin, sigmaMax: WAD } } }, o.backtest.liquidFrom[column]);
    const peak = uncapped.runs.reduce((m, run, r) => {
      const path = uncapped.paths[r]!;
      return run.days.reduce((mm, d, i) => (d >= from && d <= to ? Math.max(mm, toFraction(path.target[i]!)) : mm), m);
    }, 0);
    return {
      symbol: listed,
      sigmaMin: toFraction(margin.sigmaMin),
      sigmaMax: toFraction(margin.sigmaMax),
      maintenanceHaircut,
      initialHaircut: initialHaircutFor(maintenanceHaircut, zInitial, zm, quantile(sigmas, 0.5)),
      evidence: {
        calmSigma: quantile(targets, 0.1),
        medianSigma: quantile(sigmas, 0.5),
        peakSigma: peak,
        worstLoss: Math.max(...losses),
        haircutFromHistory,
        haircutFromCriticalHF: haircutFromCriticalHF(config.liquidation.criticalHF, a.risk.liquidationPenalty),
      },
      coverage: coverageOf(history, column, listed, params, o, a.decimals, a.risk.liquidationPenalty),
    };
  });

  const recommendation: Recommendation = {
    horizonSeconds: config.volatility.horizon,
    stepSeconds: DAY,
    zMaintenance: zm,
    zInitial,
    assets,
    correlations: listedPair.length === 2 ? { [`${listedPair[0]}/${listedPair[1]}`]: rho.recommended } : {},
    skipped: config.assets.map((a) => a.symbol).filter((s) => !listedPair.includes(s)),
    covered: assets.every((a) => a.coverage.covered),
    volatility: { halfLife: params.halfLife, maxStepPerHour: toFraction(params.maxStep) },
    source: { file: history.file, symbolMap: { ...o.symbolMap } },
  };
  return { recommendation, params, calibration, rho, inSample: inSample.map(comparison), outOfSample };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const p3 = (p: number): string => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));

/** In sample at the recommended parameters: the tests and the capital against the static σ, one row per subject. */
export function staticComparisonRows(rows: readonly StaticComparison[]): Record<string, string>[] {
  return rows.map((r) => ({
    subject: r.subject,
    "exceedances / days": `${r.exceedances} / ${r.days}`,
    "Kupiec p": p3(r.kupiecP),
    "Christoffersen p": p3(r.christoffersenP),
    "both at 5%": r.pass ? "pass" : "FAIL",
    "dynamic: mean requirement": pct(r.dynamicRequirement),
    "static of equal coverage": r.staticRequirement === undefined ? "none passes" : r.floorBinds ? `the floor alone → ${pct(r.staticRequirement)}` : `σ ${pct(r.staticSigma!)} → ${pct(r.staticRequirement)}`,
    "dynamic below static": r.beatsStatic ? "yes" : "no",
  }));
}

/** Out of sample at the recommended parameters: one row per window and subject. */
export function outOfSampleRows(windows: HistoryRecommendation["outOfSample"]): Record<string, string>[] {
  return windows.flatMap((w) =>
    w.subjects.map((s) => ({
      window: `${w.window.from} to ${w.window.to}`,
      subject: s.subject,
      "exceedances / days": `${s.maintenance.exceedances} / ${s.days}`,
      "Kupiec p": p3(s.maintenance.kupiecP),
      "Christoffersen p": p3(s.maintenance.christoffersenP),
      "both at 5%": s.maintenance.pass ? "pass" : "FAIL",
      "mean requirement": pct(s.maintenance.meanRequirement),
    })),
  );
}

/** How ρ was chosen, in words. */
export function rhoText(rho: HistoryRecommendation["rho"]): string {
  const stressed =
    `the larger of ${rho.sample.toFixed(3)} in sample and ${rho.rollingQuantile.toFixed(3)}, the 95% quantile of the 14-day rolling ` +
    `correlation (${rho.days} days)`;
  return rho.capped
    ? `ρ ${rho.recommended}: stressed ${rho.stressed} (${stressed}), capped to the largest value with which the config's ` +
        `correlation matrix stays positive semi-definite with the other pairs as configured.`
    : `ρ ${rho.recommended}: ${stressed}.`;
}

/** The recommendation as the terminal prints it: the choice, the governance diff, both checks as markdown tables. */
export function recommendationMarkdown(r: HistoryRecommendation, current: RawKeelConfig): string {
  const c = r.calibration;
  return [
    `## Recommended parameters (from ${r.recommendation.source?.file ?? "the history"})`,
    "",
    `Chosen: the cheapest of ${c.points.length} grid points passing Kupiec and Christoffersen (99% coverage, 5% significance) ` +
      `for every subject in ${c.inSample.from} to ${c.inSample.to} (${c.points.filter((p) => p.pass).length} pass): ${gridLabel(c.chosen!)}. ` +
      rhoText(r.rho),
    "",
    "```",
    configDiff(current, r.recommendation),
    "```",
    "",
    "### In sample at the recommended parameters, against the smallest static σ of equal coverage",
    "",
    markdownTable(staticComparisonRows(r.inSample)),
    "",
    "### Out of sample at the recommended parameters",
    "",
    markdownTable(outOfSampleRows(r.outOfSample)),
    "",
  ].join("\n");
}
