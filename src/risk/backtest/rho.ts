/**
 * ρ of a basket's margin, estimated in sample: the Pearson correlation of two assets' daily simple returns over the
 * days both have a return inside the window (a return's two closes in one run: never across a gap).
 */
import { correlation } from "../stats";
import { BacktestError, type BacktestWindow, type DailyCloses, priceRuns, windowDays } from "./history";

/** Daily returns by the day they end on, within the window. */
function returnsByDay(history: DailyCloses, symbol: string, from: number, to: number, since?: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const run of priceRuns(history, symbol, since)) {
    for (let i = 1; i < run.days.length; i++) {
      const day = run.days[i]!;
      if (day - 1 >= from && day <= to) out.set(day, run.prices[i]! / run.prices[i - 1]! - 1);
    }
  }
  return out;
}

/**
 * `a`'s and `b`'s daily returns on the days both have one in the window, split where a day is missing: segments of
 * consecutive days (a rolling window never spans a gap), index for index.
 */
export function jointReturns(
  history: DailyCloses,
  [a, b]: readonly [string, string],
  window: BacktestWindow,
  liquidFrom: Readonly<Record<string, string>> = {},
): { days: number[]; x: number[]; y: number[] }[] {
  const { from, to } = windowDays(window);
  const x = returnsByDay(history, a, from, to, liquidFrom[a]);
  const y = returnsByDay(history, b, from, to, liquidFrom[b]);
  const segments: { days: number[]; x: number[]; y: number[] }[] = [];
  for (const day of [...x.keys()].filter((d) => y.has(d)).sort((p, q) => p - q)) {
    let last = segments[segments.length - 1];
    if (!last || last.days[last.days.length - 1]! + 1 !== day) {
      last = { days: [], x: [], y: [] };
      segments.push(last);
    }
    last.days.push(day);
    last.x.push(x.get(day)!);
    last.y.push(y.get(day)!);
  }
  return segments;
}

/** The correlation of `a`'s and `b`'s daily returns in the window, and how many days it rests on. */
export function estimateRho(
  history: DailyCloses,
  [a, b]: readonly [string, string],
  window: BacktestWindow,
  liquidFrom: Readonly<Record<string, string>> = {},
): { rho: number; days: number } {
  const segments = jointReturns(history, [a, b], window, liquidFrom);
  const xs = segments.flatMap((s) => s.x);
  const ys = segments.flatMap((s) => s.y);
  if (xs.length < 30) {
    throw new BacktestError(`ρ ${a}/${b}: ${xs.length} days with both returns from ${window.from} to ${window.to}, need at least 30`);
  }
  return { rho: correlation(xs, ys), days: xs.length };
}
