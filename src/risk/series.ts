/**
 * Price histories for the risk engine: loaded from CSV or JSON, validated once (zod for the JSON shapes, then strictly
 * increasing timestamps, complete rows and positive prices), with errors that name the file and the line or path.
 *
 * CSV: a header `timestamp,WETH,WBTC,…`, one row per time; timestamps in unix seconds or ISO 8601; blank lines and
 * lines starting with `#` are ignored. JSON: `{ "timestamps": [...], "prices": { "WETH": [...] } }` or
 * `[{ "timestamp": ..., "prices": { "WETH": ... } }, ...]`.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { z } from "zod";
import { KeelError } from "../units/error";

/** Prices in USD per whole token (floats: statistics only) at `timestamps` [unix s], one array per asset symbol. */
export interface PriceSeries {
  timestamps: number[];
  prices: Record<string, number[]>;
}

export class SeriesError extends KeelError {
  override name = "SeriesError";
  constructor(
    readonly file: string,
    /** "line 7" for CSV, a JSON path such as "prices.WETH[3]" for JSON, or "" for the whole input. */
    readonly at: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super("INPUT", `${file}${at ? `:${at}` : ""}: ${reason}`, options);
  }
}

const SYMBOL = /^[A-Za-z][A-Za-z0-9]*$/;

/** Unix seconds from a number or a numeric or ISO 8601 string; undefined when unreadable. */
function toTimestamp(x: number | string): number | undefined {
  if (typeof x === "number") return Number.isFinite(x) ? x : undefined;
  const text = x.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/** Checks a series row by row; `where(i)` locates row i in the source for the error. */
function validate(series: PriceSeries, file: string, where: (row: number) => string): PriceSeries {
  const { timestamps, prices } = series;
  const columns = Object.entries(prices);
  if (columns.length === 0) throw new SeriesError(file, "", "no asset columns");
  if (timestamps.length < 2) throw new SeriesError(file, "", `needs at least 2 rows, got ${timestamps.length}`);
  for (const [s, column] of columns) {
    if (!SYMBOL.test(s)) throw new SeriesError(file, "", `"${s}" is not an asset symbol`);
    if (column.length !== timestamps.length) {
      throw new SeriesError(file, `prices.${s}`, `${column.length} prices for ${timestamps.length} timestamps`);
    }
  }
  for (let i = 0; i < timestamps.length; i++) {
    if (i > 0 && !(timestamps[i]! > timestamps[i - 1]!)) {
      throw new SeriesError(file, where(i), `timestamp ${timestamps[i]} is not after the previous ${timestamps[i - 1]}`);
    }
    for (const [s, column] of columns) {
      const p = column[i]!;
      if (!Number.isFinite(p)) throw new SeriesError(file, where(i), `${s} price is missing`);
      if (!(p > 0)) throw new SeriesError(file, where(i), `${s} price ${p} is not positive`);
    }
  }
  return series;
}

/** Parses CSV text (see the module comment). `file` names the source in errors. */
export function parseCsvSeries(text: string, file = "<csv>"): PriceSeries {
  const lines = text.split(/\r?\n/).map((l, i) => ({ text: l.trim(), line: i + 1 }));
  const rows = lines.filter((l) => l.text !== "" && !l.text.startsWith("#"));
  const header = rows.shift();
  if (!header) throw new SeriesError(file, "", "empty: expected a header `timestamp,SYMBOL,...`");
  const columns = header.text.split(",").map((c) => c.trim());
  const [first, ...symbols] = columns;
  if (first?.toLowerCase() !== "timestamp") {
    throw new SeriesError(file, `line ${header.line}`, `first column must be "timestamp", got "${first}"`);
  }
  const duplicate = symbols.find((s, i) => symbols.indexOf(s) !== i);
  if (duplicate) throw new SeriesError(file, `line ${header.line}`, `column "${duplicate}" appears twice`);
  const series: PriceSeries = { timestamps: [], prices: Object.fromEntries(symbols.map((s) => [s, []])) };
  for (const { text: row, line } of rows) {
    const cells = row.split(",").map((c) => c.trim());
    if (cells.length !== columns.length) {
      throw new SeriesError(file, `line ${line}`, `${cells.length} fields, expected ${columns.length}`);
    }
    const t = toTimestamp(cells[0]!);
    if (t === undefined) throw new SeriesError(file, `line ${line}`, `timestamp "${cells[0]}" is neither unix seconds nor ISO 8601`);
    series.timestamps.push(t);
    symbols.forEach((s, k) => {
      const cell = cells[k + 1]!;
      if (cell === "") throw new SeriesError(file, `line ${line}`, `${s} price is missing`);
      const p = Number(cell);
      if (!Number.isFinite(p)) throw new SeriesError(file, `line ${line}`, `${s} price "${cell}" is not a number`);
      series.prices[s]!.push(p);
    });
  }
  return validate(series, file, (i) => `line ${rows[i]!.line}`);
}

const timestamp = z.union([z.number(), z.string()]);
const price = z.number().nullable();
const columnar = z.object({ timestamps: z.array(timestamp), prices: z.record(z.string(), z.array(price)) }).strict();
const rowwise = z.array(z.object({ timestamp, prices: z.record(z.string(), price) }).strict());

function readTimestamp(x: number | string, file: string, at: string): number {
  const t = toTimestamp(x);
  if (t === undefined) throw new SeriesError(file, at, `timestamp "${x}" is neither unix seconds nor ISO 8601`);
  return t;
}

/** Parses JSON text or an already parsed value (see the module comment). `file` names the source in errors. */
export function parseJsonSeries(input: string | unknown, file = "<json>"): PriceSeries {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new SeriesError(file, "", "not valid JSON", { cause: e });
    }
  }
  if (Array.isArray(value)) {
    const parsed = rowwise.safeParse(value);
    if (!parsed.success) throw zodError(parsed.error, file);
    const rows = parsed.data;
    const symbols = Object.keys(rows[0]?.prices ?? {});
    const series: PriceSeries = { timestamps: [], prices: Object.fromEntries(symbols.map((s) => [s, []])) };
    rows.forEach((row, i) => {
      series.timestamps.push(readTimestamp(row.timestamp, file, `[${i}].timestamp`));
      const extra = Object.keys(row.prices).find((s) => !symbols.includes(s));
      if (extra) throw new SeriesError(file, `[${i}].prices.${extra}`, `asset "${extra}" is not in the first row`);
      for (const s of symbols) series.prices[s]!.push(row.prices[s] ?? NaN);
    });
    return validate(series, file, (i) => `[${i}]`);
  }
  const parsed = columnar.safeParse(value);
  if (!parsed.success) throw zodError(parsed.error, file);
  const { timestamps, prices } = parsed.data;
  const series: PriceSeries = {
    timestamps: timestamps.map((t, i) => readTimestamp(t, file, `timestamps[${i}]`)),
    prices: Object.fromEntries(Object.entries(prices).map(([s, ps]) => [s, ps.map((p) => p ?? NaN)])),
  };
  return validate(series, file, (i) => `timestamps[${i}]`);
}

function zodError(error: z.ZodError, file: string): SeriesError {
  const issue = error.issues[0]!;
  const at = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
  return new SeriesError(file, at, issue.message, { cause: error });
}

/** A history file's text; a `SeriesError` naming the file when it cannot be read. */
export function readHistoryFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new SeriesError(path, "", "cannot be read", { cause: e });
  }
}

/** Parses a file's text by its extension, `.csv` or `.json`; `path` names it in errors. */
export function parseSeriesText(text: string, path: string): PriceSeries {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return parseCsvSeries(text, path);
  if (ext === ".json") return parseJsonSeries(text, path);
  throw new SeriesError(path, "", `unknown extension "${ext}": expected .csv or .json`);
}

/** Reads a `.csv` or `.json` file. */
export function loadSeries(path: string): PriceSeries {
  return parseSeriesText(readHistoryFile(path), path);
}

/** CSV text of a series (unix-second timestamps), optionally preceded by `#` comment lines. */
export function seriesToCsv(series: PriceSeries, comments: readonly string[] = [], digits = 8): string {
  const columns = Object.entries(series.prices);
  const lines = comments.map((c) => `# ${c}`);
  lines.push(["timestamp", ...columns.map(([s]) => s)].join(","));
  series.timestamps.forEach((t, i) => {
    lines.push([String(t), ...columns.map(([, column]) => String(Number(column[i]!.toPrecision(digits))))].join(","));
  });
  return lines.join("\n") + "\n";
}

/** The asset symbols of a series, in column order. */
export const symbolsOf = (series: PriceSeries): string[] => Object.keys(series.prices);
