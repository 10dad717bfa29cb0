/**
 * A window of real daily closes as a stress scenario (`npm run stress -- --replay FILE --from DATE --to DATE`): one
 * step per day, each asset's path its closes over the window's first close. The file is read by the backtest's reader
 * (src/risk/backtest/history) and its columns priced as config assets by the same explicit map (`HISTORY_ASSETS`:
 * ETH → WETH, BTC → WBTC). Every other listed asset keeps its price, as in the built-in scenarios: USDC stays at 1,
 * and wstETH, a composite (wstETH/ETH × ETH/USD), follows WETH at its configured ratio.
 *
 * The window must lie inside one run of consecutive days of the file with a close for every mapped column: no step
 * spans the held-out gap (2019-12-31 → 2023-01-01 in the shipped file) or a missing close (ETH ends 2024-10-09), and
 * no column is replayed before its liquid date (ETH from 2016-03-01, as the backtest).
 */
import { DEFAULT_BACKTEST_OPTIONS } from "../src/risk/backtest/backtest";
import { type DailyCloses, dayNumber, gapsOf, loadDailyCloses } from "../src/risk/backtest/history";
import { HISTORY_ASSETS } from "../src/risk/backtest/params";
import { DEFAULT_AMM_DEPTH, type Scenario, ScenarioError } from "./crash";
import { MAX_STEPS } from "./crashFile";

const DAY = 86_400;

export interface HistoryReplayOptions {
  /** History column → the config asset its path moves (default `HISTORY_ASSETS`). */
  symbolMap: Readonly<Record<string, string>>;
  /** Per column, the first date it may be replayed from (default the backtest's: ETH from 2016-03-01). */
  liquidFrom: Readonly<Record<string, string>>;
  ammDepth: Scenario["ammDepth"];
  /**
   * Share of the AMM impact of the keeper's sales the oracle takes on (default 0: the closes are the market's
   * prices, impact included; the oracle follows them).
   */
  feedback: number;
  /** Probability that a margin-called owner cures at the next step (default 0.5, as the demo). */
  cureRate: number;
}

export const DEFAULT_HISTORY_REPLAY: HistoryReplayOptions = {
  symbolMap: HISTORY_ASSETS,
  liquidFrom: DEFAULT_BACKTEST_OPTIONS.liquidFrom,
  ammDepth: DEFAULT_AMM_DEPTH,
  feedback: 0,
  cureRate: 0.5,
};

const percent = (x: number): string => `${x >= 1 ? "+" : "−"}${(Math.abs(x - 1) * 100).toFixed(1)}%`;

/** The scenario of the window `from`..`to` (YYYY-MM-DD, inclusive) of `history` (see the module comment). */
export function scenarioFromCloses(history: DailyCloses, from: string, to: string, options: Partial<HistoryReplayOptions> = {}): Scenario {
  const o = { ...DEFAULT_HISTORY_REPLAY, ...options };
  const file = history.file;
  const start = dayNumber(from);
  const end = dayNumber(to);
  if (start === undefined) throw new ScenarioError(`replay start "${from}" is not a date YYYY-MM-DD`);
  if (end === undefined) throw new ScenarioError(`replay end "${to}" is not a date YYYY-MM-DD`);
  if (start >= end) throw new ScenarioError(`replay window ${from} to ${to}: the start must be before the end (a replay needs two closes)`);
  const first = history.dates[0]!;
  const last = history.dates[history.dates.length - 1]!;
  if (from < first || to > last) throw new ScenarioError(`replay window ${from} to ${to} is outside ${file} (${first} to ${last})`);
  for (const gap of gapsOf(history)) {
    if (gap.before < to && gap.after > from) {
      throw new ScenarioError(`replay window ${from} to ${to} crosses a gap in ${file}: nothing between ${gap.before} and ${gap.after}`);
    }
  }
  const steps = end - start;
  if (steps > MAX_STEPS) throw new ScenarioError(`replay window ${from} to ${to}: ${steps} daily steps; at most ${MAX_STEPS}`);

  const index = history.dates.indexOf(from);
  const paths: Record<string, number[]> = {};
  const moves: string[] = [];
  for (const [column, listed] of Object.entries(o.symbolMap)) {
    const closes = history.prices[column];
    if (!closes) throw new ScenarioError(`${file} has no column "${column}" (for ${listed}); its columns: ${history.symbols.join(", ")}`);
    const liquid = o.liquidFrom[column];
    if (liquid !== undefined && from < liquid) {
      throw new ScenarioError(`${column} before ${liquid} is too illiquid to replay (the backtest skips it too); start at ${liquid} or later`);
    }
    const window = closes.slice(index, index + steps + 1);
    const missing = window.findIndex((p) => p === undefined);
    if (missing !== -1) {
      let before = index + missing - 1;
      while (before >= 0 && closes[before] === undefined) before--;
      const lastClose = before >= 0 ? history.dates[before] : undefined;
      throw new ScenarioError(
        `${column} has no close on ${history.dates[index + missing]} in ${file}` + (lastClose ? ` (its last before: ${lastClose})` : ""),
      );
    }
    const p0 = window[0]!;
    paths[listed] = window.map((p) => p! / p0);
    const path = paths[listed];
    moves.push(`${listed} ${percent(path[path.length - 1]!)} (low ${percent(Math.min(...path))})`);
  }
  return {
    name: `history-${from}-${to}`,
    description: `Real daily closes ${from} to ${to} from ${file}: ${moves.join(", ")}, one step a day`,
    stepSeconds: DAY,
    steps,
    paths,
    ammDepth: o.ammDepth,
    feedback: o.feedback,
    cureRate: o.cureRate,
  };
}

/** Reads `file` (daily closes) and returns the scenario of its window. */
export function loadHistoryScenario(file: string, from: string, to: string, options: Partial<HistoryReplayOptions> = {}): Scenario {
  return scenarioFromCloses(loadDailyCloses(file), from, to, options);
}
