/**
 * The margin model replayed on daily closes: per asset the VolatilityOracle poked once a day (`oraclePath`), and per
 * subject (one asset, or a basket at equal USD weights) the maintenance requirement in force at each day's close
 * (`requirementOf`, the `src/math` mirror of the margin formula) against the next day's loss. Reports exceedances of
 * max(zm σ, hm) and of zm σ alone, Kupiec and Christoffersen, the worst run, the mean requirement against the
 * smallest static σ that passes the same tests, and the named episodes.
 *
 * A day t counts when t and t + 1 are consecutive days of the same run for every asset of the subject (so no loss
 * spans a gap), both lie in the window, and t is at least `warmupDays` after the start of its run (the oracle
 * restarts unpoked at the start of every run, σ = σmin until its first sample).
 */
import { WAD } from "../../math";
import { fractionToWad } from "../coverage";
import type { BacktestDay } from "./day";
import { type Episode, EPISODES, episodeResults, type EpisodeResult } from "./episodes";
import { type BacktestLevel, DEFAULT_LEVEL, type ExceedanceTest, testExceedances } from "./exceedanceTests";
import { BacktestError, type BacktestWindow, dateOf, type DailyCloses, gapsOf, priceRuns, type PriceRun, windowDays } from "./history";
import { type OracleParams, type OraclePath, oraclePath } from "./oraclePath";
import { type Basket, equalWeights, requirementOf, SINGLE } from "./requirement";
import { DEFAULT_STATIC_SEARCH, smallestStaticSigma, type StaticSearch, type StaticSigma } from "./staticSigma";

/** The margin parameters of one asset [wad]. */
export interface AssetMargin {
  sigmaMin: bigint;
  sigmaMax: bigint;
  maintenanceHaircut: bigint;
}

/** Everything the model reads: the oracle's shared parameters, zm, and each asset's bounds and floor. */
export interface MarginParams extends OracleParams {
  zMaintenance: bigint; // [wad]
  assets: Readonly<Record<string, AssetMargin>>;
}

/** What is backtested: one asset, or several at equal USD weights (rebalanced daily). */
export interface Subject {
  name: string;
  assets: readonly string[];
}

export interface BacktestOptions {
  window: BacktestWindow;
  /** A day counts only this many days after the start of its run (the oracle warms up). */
  warmupDays: number;
  /** Per asset, the first date used at all (ETH: 2016-03-01, its first months are too illiquid). */
  liquidFrom: Readonly<Record<string, string>>;
  level: BacktestLevel;
  /** ρ between the assets of a basket (estimated in sample: `estimateRho`). */
  rho: number;
  /** Returns in the realized-σ window. */
  realizedWindow: number;
  episodes: readonly Episode[];
  /** Search the static σ benchmarks (skipped by the calibration grid, for speed). */
  staticSearch: StaticSearch | false;
}

export const DEFAULT_BACKTEST_OPTIONS: Omit<BacktestOptions, "window" | "rho"> = {
  warmupDays: 30,
  liquidFrom: { ETH: "2016-03-01" },
  level: DEFAULT_LEVEL,
  realizedWindow: 30,
  episodes: EPISODES,
  staticSearch: DEFAULT_STATIC_SEARCH,
};

/** One asset's runs of daily closes and the oracle's path along each. */
export interface AssetPath {
  symbol: string;
  runs: PriceRun[];
  paths: OraclePath[];
}

/** Exceedance tests of one requirement, with its mean (the capital cost, a fraction of collateral value). */
export interface RequirementResult extends ExceedanceTest {
  meanRequirement: number;
}

export interface SubjectBacktest {
  subject: string;
  assets: string[];
  /** ρ used between the basket's assets (undefined for one asset). */
  rho?: number;
  firstDay: string;
  lastDay: string;
  /** Exceedances of max(zm σ, hm). */
  maintenance: RequirementResult;
  /** Exceedances of zm σ alone. */
  sigmaOnly: RequirementResult;
  /** The smallest constant σ passing the same tests: with the floor, and for zm σ alone. */
  static?: { maintenance?: StaticSigma; sigmaOnly?: StaticSigma };
  episodes: EpisodeResult[];
  /** The evaluated days, in runs of consecutive days. */
  runs: BacktestDay[][];
}

/** The oracle along every run of `symbol` (from its liquidFrom date). */
export function assetPath(history: DailyCloses, symbol: string, params: MarginParams, liquidFrom?: string): AssetPath {
  const margin = params.assets[symbol];
  if (!margin) throw new BacktestError(`no margin parameters for ${symbol}`);
  if (params.horizon !== 86_400) {
    throw new BacktestError(`horizon ${params.horizon}s: against daily closes the backtest needs σ over one day (86400s)`);
  }
  const runs = priceRuns(history, symbol, liquidFrom);
  const bounds = { sigmaMin: margin.sigmaMin, sigmaMax: margin.sigmaMax };
  return { symbol, runs, paths: runs.map((run) => oraclePath(run, bounds, params)) };
}

/** Where a day sits in one asset's history: its run, the oracle's path along it, its index in both. */
interface Spot {
  run: PriceRun;
  path: OraclePath;
  index: number;
}

/** Day number → its spot, for one asset. */
function locate(asset: AssetPath): Map<number, Spot> {
  const at = new Map<number, Spot>();
  asset.runs.forEach((run, r) => run.days.forEach((day, index) => at.set(day, { run, path: asset.paths[r]!, index })));
  return at;
}

/** Every asset's spot on `day` when each can count it (the next day in the same run, past the warm-up); else undefined. */
function countable(locators: readonly Map<number, Spot>[], day: number, warmupDays: number): Spot[] | undefined {
  const spots: Spot[] = [];
  for (const at of locators) {
    const spot = at.get(day);
    if (!spot || spot.index < warmupDays || spot.index + 1 >= spot.run.days.length) return undefined;
    spots.push(spot);
  }
  return spots;
}

/** The basket's return from `offset − 1` to `offset` days after the spots (float weights). */
const basketReturn = (spots: readonly Spot[], weights: readonly number[], offset: number): number =>
  spots.reduce((sum, { run, index }, k) => sum + weights[k]! * (run.prices[index + offset]! / run.prices[index + offset - 1]! - 1), 0);

/** Root mean square of the basket's last `window` daily returns up to the spots' day; null before a full window. */
function realizedSigma(spots: readonly Spot[], weights: readonly number[], window: number): number | null {
  if (Math.min(...spots.map((s) => s.index)) < window) return null;
  let squares = 0;
  for (let offset = 1 - window; offset <= 0; offset++) squares += basketReturn(spots, weights, offset) ** 2;
  return Math.sqrt(squares / window);
}

/**
 * The evaluated days of a subject over the window, in runs of consecutive days, with the requirement in force and
 * the next day's loss (see the module comment for which days count).
 */
export function subjectDays(
  paths: readonly AssetPath[],
  params: MarginParams,
  basket: Basket,
  options: Pick<BacktestOptions, "window" | "warmupDays" | "realizedWindow">,
): BacktestDay[][] {
  const { from, to } = windowDays(options.window);
  const lead = paths[0];
  if (!lead) throw new BacktestError("a subject needs at least one asset");
  const haircuts = paths.map((p) => params.assets[p.symbol]!.maintenanceHaircut);
  const zero = paths.map(() => 0n);
  const total = basket.weights.reduce((a, b) => a + b, 0n);
  const weights = basket.weights.map((w) => Number(w) / Number(total));
  const locators = paths.map(locate);
  const out: BacktestDay[][] = [];
  let previous = -Infinity;
  for (const day of lead.runs.flatMap((run) => run.days)) {
    if (day < from || day + 1 > to) continue;
    const spots = countable(locators, day, options.warmupDays);
    if (!spots) continue;
    const sigmas = spots.map((s) => s.path.sigma[s.index]!);
    const targets = spots.map((s) => s.path.target[s.index]!);
    const requirement = requirementOf(basket, sigmas, haircuts, params.zMaintenance);
    const sigmaRequirement = requirementOf(basket, sigmas, zero, params.zMaintenance);
    const loss = -basketReturn(spots, weights, 1);
    const record: BacktestDay = {
      date: dateOf(day),
      sigma: requirementOf(basket, sigmas, zero, WAD),
      target: requirementOf(basket, targets, zero, WAD),
      requirement,
      sigmaRequirement,
      loss,
      exceeded: loss > requirement,
      sigmaExceeded: loss > sigmaRequirement,
      realized: realizedSigma(spots, weights, options.realizedWindow),
    };
    const current = out[out.length - 1];
    if (current && day === previous + 1) current.push(record);
    else out.push([record]);
    previous = day;
  }
  return out;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;

function requirementResult(runs: readonly BacktestDay[][], pick: (d: BacktestDay) => [boolean, number], level: BacktestLevel): RequirementResult {
  const test = testExceedances(runs.map((run) => run.map((d) => pick(d)[0])), level);
  return { ...test, meanRequirement: mean(runs.flat().map((d) => pick(d)[1])) };
}

/** Why a subject has no day to evaluate, in terms of the data there is. */
function emptyWindowMessage(subject: Subject, paths: readonly AssetPath[], history: DailyCloses, options: BacktestOptions): string {
  const spans = paths.map(
    (p) => `${p.symbol} ${p.runs.map((r) => `${dateOf(r.days[0]!)} to ${dateOf(r.days[r.days.length - 1]!)}`).join(" and ")}`,
  );
  const gaps = gapsOf(history).map((g) => `nothing between ${g.before} and ${g.after}`);
  return (
    `${subject.name}: no day to evaluate from ${options.window.from} to ${options.window.to}. ` +
    `Prices used: ${spans.join("; ")}${gaps.length > 0 ? ` (${gaps.join(", ")} in ${history.file})` : ""}. ` +
    `A day counts when it and the next day are in the window and in one run of consecutive days, ` +
    `at least ${options.warmupDays} days after the run's start.`
  );
}

/** Backtests one subject on oracle paths already computed (the calibration reuses them across zm and subjects). */
export function backtestSubject(
  history: DailyCloses,
  subject: Subject,
  paths: readonly AssetPath[],
  params: MarginParams,
  options: BacktestOptions,
): SubjectBacktest {
  const basket = subject.assets.length === 1 ? SINGLE : equalWeights(subject.assets.length, fractionToWad(options.rho));
  const runs = subjectDays(paths, params, basket, options);
  const days = runs.flat();
  const first = days[0];
  const last = days[days.length - 1];
  if (!first || !last) throw new BacktestError(emptyWindowMessage(subject, paths, history, options));
  const haircuts = paths.map((p) => params.assets[p.symbol]!.maintenanceHaircut);
  const zero = paths.map(() => 0n);
  const losses = runs.map((run) => run.map((d) => d.loss));
  const search = options.staticSearch;
  const constant = (h: readonly bigint[]) => (sigma: bigint) => requirementOf(basket, paths.map(() => sigma), h, params.zMaintenance);
  return {
    subject: subject.name,
    assets: [...subject.assets],
    ...(subject.assets.length > 1 ? { rho: options.rho } : {}),
    firstDay: first.date,
    lastDay: last.date,
    maintenance: requirementResult(runs, (d) => [d.exceeded, d.requirement], options.level),
    sigmaOnly: requirementResult(runs, (d) => [d.sigmaExceeded, d.sigmaRequirement], options.level),
    ...(search === false
      ? {}
      : {
          static: {
            maintenance: smallestStaticSigma(losses, constant(haircuts), options.level, search),
            sigmaOnly: smallestStaticSigma(losses, constant(zero), options.level, search),
          },
        }),
    episodes: episodeResults(days, options.episodes),
    runs,
  };
}

/** The oracle paths of every asset the subjects use. */
export function assetPaths(
  history: DailyCloses,
  subjects: readonly Subject[],
  params: MarginParams,
  liquidFrom: Readonly<Record<string, string>>,
): AssetPath[] {
  const symbols = [...new Set(subjects.flatMap((s) => s.assets))];
  return symbols.map((s) => assetPath(history, s, params, liquidFrom[s]));
}

/** Backtests every subject over the window (see the module comment). */
export function backtest(
  history: DailyCloses,
  subjects: readonly Subject[],
  params: MarginParams,
  options: BacktestOptions,
): SubjectBacktest[] {
  windowDays(options.window);
  const paths = assetPaths(history, subjects, params, options.liquidFrom);
  const bySymbol = new Map(paths.map((p) => [p.symbol, p]));
  return subjects.map((s) => backtestSubject(history, s, s.assets.map((a) => bySymbol.get(a)!), params, options));
}
