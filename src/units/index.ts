/**
 * Human units in, protocol units out. Every parser rejects what it cannot read exactly, with a message that
 * names the input; no float ever touches an amount.
 */
import { KeelError } from "./error";

export class UnitError extends KeelError {
  override name = "UnitError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INPUT", message, options);
  }
}

// Digits, optionally grouped in threes by "," or "_" ("1,000,000"); "1,5" is refused, never read as 15.
const DECIMAL = /^(\d+|\d{1,3}(?:,\d{3})+|\d{1,3}(?:_\d{3})+)(?:\.(\d+))?$/;

/** "1,234.5" with `decimals` → 1234500…; rejects more fractional digits than `decimals`. */
export function parseFixed(text: string, decimals: number, what = "amount"): bigint {
  const clean = text.trim();
  const m = DECIMAL.exec(clean);
  if (!m) throw new UnitError(`${what}: "${text}" is not a non-negative decimal number`);
  const whole = m[1]!.replace(/[_,]/g, "");
  const frac = m[2] ?? "";
  if (frac.length > decimals) {
    throw new UnitError(`${what}: "${text}" has more than ${decimals} decimal places`);
  }
  return BigInt(whole + frac.padEnd(decimals, "0"));
}

/** Runs `parse` on part of `text`; its error quotes `text` as the user typed it, with the same reason. */
function quotingInput(text: string, what: string, parse: () => bigint): bigint {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof UnitError)) throw e;
    const reason = e.message.slice(e.message.indexOf('" ') + 2);
    throw new UnitError(`${what}: "${text}" ${reason}`, { cause: e });
  }
}

/** A plain decimal ("2.33") as [wad]. */
export const parseWad = (text: string, what = "value"): bigint => parseFixed(text, 18, what);

/** A percentage ("12.5%") as a [wad] fraction (0.125e18). */
export function parsePercent(text: string, what = "percentage"): bigint {
  const clean = text.trim();
  if (!clean.endsWith("%")) throw new UnitError(`${what}: "${text}" must end with %`);
  return quotingInput(text, what, () => parseFixed(clean.slice(0, -1), 16, what));
}

/** A token amount ("1.5", "100,000 USDC": a trailing unit word is allowed) in the token's decimals. */
export function parseAmount(text: string, decimals: number, what = "amount"): bigint {
  const clean = text.trim().replace(/\s+[A-Za-z]+$/, "");
  return quotingInput(text, what, () => parseFixed(clean, decimals, what));
}

const DURATION_UNITS: Record<string, number> = {
  s: 1, sec: 1, second: 1, seconds: 1,
  m: 60, min: 60, minute: 60, minutes: 60,
  h: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
  w: 604800, week: 604800, weeks: 604800,
};

/** "90s", "15 minutes", "1h", "2 days" → seconds. */
export function parseDuration(text: string, what = "duration"): number {
  const [, count, name] = /^(\d+)\s*([a-z]+)$/.exec(text.trim().toLowerCase()) ?? [];
  // Own keys only: "2 constructor" must not find Object.prototype.constructor.
  const unit = name !== undefined && Object.hasOwn(DURATION_UNITS, name) ? DURATION_UNITS[name] : undefined;
  if (count === undefined || unit === undefined) throw new UnitError(`${what}: "${text}" is not a duration like "1h" or "2 days"`);
  return Number(count) * unit;
}

/** Formats [wad]-style fixed point for people: 1234500000000000000000n, 18 → "1,234.5". */
export function formatFixed(value: bigint, decimals: number, maxFraction = decimals): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(decimals);
  const whole = (abs / unit).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  let frac = (abs % unit).toString().padStart(decimals, "0").slice(0, maxFraction).replace(/0+$/, "");
  if (frac) frac = "." + frac;
  return (negative ? "-" : "") + whole + frac;
}

/** [wad] fraction as a percentage string: 0.125e18 → "12.5%". */
export const formatPercent = (wad: bigint, maxFraction = 2): string => formatFixed(wad * 100n, 18, maxFraction) + "%";
