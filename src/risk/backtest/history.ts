/**
 * Daily closes for the backtest: a CSV `date,SYMBOL,…` with one row per UTC day (YYYY-MM-DD) and an empty cell where
 * an asset has no price (data/history/daily-closes.csv), split per asset into runs of consecutive calendar days.
 * A run is the unit nothing crosses: no return, oracle sample, transition or run of exceedances spans a missing day
 * or the held-out gap (2020–2022 in the shipped file).
 */
import { KeelError } from "../../units/error";
import { parseSeriesText, type PriceSeries, readHistoryFile, SeriesError } from "../series";

export const DAY = 86_400;

/** A history the backtest cannot use as asked (an empty or gap-only window, an unknown asset, bad parameters). */
export class BacktestError extends KeelError {
  override name = "BacktestError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INPUT", message, options);
  }
}

/** Daily prices (USD per whole token, floats) by asset, `undefined` where the file has none. */
export interface DailyCloses {
  file: string;
  symbols: string[];
  /** Strictly increasing YYYY-MM-DD. */
  dates: string[];
  prices: Record<string, (number | undefined)[]>;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const SYMBOL = /^[A-Za-z][A-Za-z0-9]*$/;

/** Days since 1970-01-01 of a YYYY-MM-DD date; undefined when it is not a real calendar date. */
export function dayNumber(date: string): number | undefined {
  const m = DATE.exec(date);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 2019-02-30 over to March: a date that does not print back as itself is not one.
  return new Date(ms).toISOString().slice(0, 10) === date ? ms / 1000 / DAY : undefined;
}

/** The YYYY-MM-DD of a day number. */
export const dateOf = (day: number): string => new Date(day * DAY * 1000).toISOString().slice(0, 10);

/** Parses the CSV text (see the module comment); `file` names the source in errors. */
export function parseDailyCloses(text: string, file = "<csv>"): DailyCloses {
  const lines = text
    .split(/\r?\n/)
    .map((l, i) => ({ text: l.trim(), line: i + 1 }))
    .filter((l) => l.text !== "" && !l.text.startsWith("#"));
  const header = lines.shift();
  if (!header) throw new SeriesError(file, "", "empty: expected a header `date,SYMBOL,...`");
  const [first, ...symbols] = header.text.split(",").map((c) => c.trim());
  if (first?.toLowerCase() !== "date") throw new SeriesError(file, `line ${header.line}`, `first column must be "date", got "${first}"`);
  if (symbols.length === 0) throw new SeriesError(file, `line ${header.line}`, "no asset columns");
  for (const [i, s] of symbols.entries()) {
    if (!SYMBOL.test(s)) throw new SeriesError(file, `line ${header.line}`, `"${s}" is not an asset symbol`);
    if (symbols.indexOf(s) !== i) throw new SeriesError(file, `line ${header.line}`, `column "${s}" appears twice`);
  }
  const history: DailyCloses = { file, symbols, dates: [], prices: Object.fromEntries(symbols.map((s) => [s, []])) };
  let previous: { date: string; day: number } | undefined;
  for (const { text: row, line } of lines) {
    const cells = row.split(",").map((c) => c.trim());
    if (cells.length !== symbols.length + 1) throw new SeriesError(file, `line ${line}`, `${cells.length} fields, expected ${symbols.length + 1}`);
    const date = cells[0]!;
    const day = dayNumber(date);
    if (day === undefined) throw new SeriesError(file, `line ${line}`, `"${date}" is not a date YYYY-MM-DD`);
    if (previous && day <= previous.day) throw new SeriesError(file, `line ${line}`, `${date} is not after the previous ${previous.date}`);
    previous = { date, day };
    history.dates.push(date);
    symbols.forEach((s, k) => {
      const cell = cells[k + 1]!;
      const price = cell === "" ? undefined : Number(cell);
      if (price !== undefined && !(Number.isFinite(price) && price > 0)) {
        throw new SeriesError(file, `line ${line}`, `${s} price "${cell}" is not a positive number`);
      }
      history.prices[s]!.push(price);
    });
  }
  if (history.dates.length < 2) throw new SeriesError(file, "", `needs at least 2 rows, got ${history.dates.length}`);
  return history;
}

/** Reads a daily-closes CSV file. */
export function loadDailyCloses(path: string): DailyCloses {
  return parseDailyCloses(readHistoryFile(path), path);
}

/** Consecutive calendar days with a price: day numbers and prices, index for index. */
export interface PriceRun {
  days: number[];
  prices: number[];
}

/**
 * The asset's prices from `since` (YYYY-MM-DD; the whole column when absent) split into runs of consecutive days:
 * a missing day or a missing price ends a run. Runs of one day (no return) are dropped.
 */
export function priceRuns(history: DailyCloses, symbol: string, since?: string): PriceRun[] {
  const column = history.prices[symbol];
  if (!column) throw new BacktestError(`${history.file} has no column "${symbol}" (${history.symbols.join(", ")})`);
  const runs: PriceRun[] = [];
  let run: PriceRun | undefined;
  history.dates.forEach((date, i) => {
    const price = column[i];
    if (price === undefined || (since !== undefined && date < since)) {
      run = undefined;
      return;
    }
    const day = dayNumber(date)!;
    if (run === undefined || run.days[run.days.length - 1]! + 1 !== day) {
      run = { days: [], prices: [] };
      runs.push(run);
    }
    run.days.push(day);
    run.prices.push(price);
  });
  return runs.filter((r) => r.days.length >= 2);
}

/** First and last dates of an evaluation window, inclusive: a day counts when it and the next day are inside. */
export interface BacktestWindow {
  from: string;
  to: string;
}

/** Checks a window's dates (real dates, from ≤ to); returns it with its day numbers. */
export function windowDays(window: BacktestWindow): { from: number; to: number } {
  const from = dayNumber(window.from);
  const to = dayNumber(window.to);
  if (from === undefined) throw new BacktestError(`window start "${window.from}" is not a date YYYY-MM-DD`);
  if (to === undefined) throw new BacktestError(`window end "${window.to}" is not a date YYYY-MM-DD`);
  if (from > to) throw new BacktestError(`window ${window.from} to ${window.to} ends before it starts`);
  return { from, to };
}

/** The breaks of a history: for each gap between two rows more than a day apart, the last date before and the first after. */
export function gapsOf(history: DailyCloses): { before: string; after: string }[] {
  const gaps: { before: string; after: string }[] = [];
  for (let i = 1; i < history.dates.length; i++) {
    if (dayNumber(history.dates[i]!)! - dayNumber(history.dates[i - 1]!)! > 1) {
      gaps.push({ before: history.dates[i - 1]!, after: history.dates[i]! });
    }
  }
  return gaps;
}

/**
 * The history as gap-free price series with complete rows: per run of consecutive days on which every column of
 * `symbolMap` has a price (from its `liquidFrom` date), one series keyed by the config symbols (`symbolMap`: column →
 * config asset, e.g. ETH → WETH), timestamps at 00:00 UTC. Runs of fewer than two days are dropped. What the risk
 * tables that need aligned rows (VaR/ES) read, so that no return spans a gap or a missing price.
 */
export function closesAsSeries(
  history: DailyCloses,
  symbolMap: Readonly<Record<string, string>>,
  liquidFrom: Readonly<Record<string, string>> = {},
): PriceSeries[] {
  const columns = Object.entries(symbolMap);
  for (const [column] of columns) {
    if (!history.prices[column]) throw new BacktestError(`${history.file} has no column "${column}" (${history.symbols.join(", ")})`);
  }
  const out: PriceSeries[] = [];
  let current: PriceSeries | undefined;
  let previous = -Infinity;
  history.dates.forEach((date, i) => {
    const day = dayNumber(date)!;
    const prices = columns.map(([column]) => (liquidFrom[column] !== undefined && date < liquidFrom[column]! ? undefined : history.prices[column]![i]));
    if (prices.some((p) => p === undefined)) {
      current = undefined;
      return;
    }
    if (current === undefined || day !== previous + 1) {
      current = { timestamps: [], prices: Object.fromEntries(columns.map(([, listed]) => [listed, []])) };
      out.push(current);
    }
    current.timestamps.push(day * DAY);
    columns.forEach(([, listed], k) => current!.prices[listed]!.push(prices[k]!));
    previous = day;
  });
  return out.filter((s) => s.timestamps.length >= 2);
}

/** A history file as the risk engine reads it: daily closes (a `date` first column) or a price series (`timestamp`). */
export type HistoryFile = { kind: "closes"; closes: DailyCloses } | { kind: "series"; series: PriceSeries };

/** Reads a history file once and parses it by its header: `date,…` as daily closes, anything else by `loadSeries`. */
export function loadHistory(path: string): HistoryFile {
  const text = readHistoryFile(path);
  const header = text.split(/\r?\n/).find((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  if (header?.split(",")[0]?.trim().toLowerCase() === "date") return { kind: "closes", closes: parseDailyCloses(text, path) };
  return { kind: "series", series: parseSeriesText(text, path) };
}
