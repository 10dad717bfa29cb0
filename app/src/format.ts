/** Numbers for people: thousands separators, fixed fractions, ∞ for no debt. */
import { INFINITE_HEALTH, RAY, rpowUp, SECONDS_PER_YEAR, WAD } from "../../src/math";
import { formatFixed, formatPercent } from "../../src/units";

export const usd = (wad: bigint): string => `$${formatFixed(wad, 18, 2)}`;
export const kusd = (wad: bigint): string => `${formatFixed(wad, 18, 2)} kUSD`;
export const token = (amount: bigint, decimals: number, symbol: string): string => `${formatFixed(amount, decimals, Math.min(decimals, 6))} ${symbol}`;
export const health = (wad: bigint): string => (wad === INFINITE_HEALTH ? "∞" : formatFixed(wad, 18, 3));
export const percent = (wad: bigint): string => formatPercent(wad, 2);

/** The annual rate [wad] a per-second factor [ray] compounds to over a year, rounded to the nearest 0.01% for display. */
export function annualRate(perSecond: bigint): bigint {
  const exact = (rpowUp(perSecond, SECONDS_PER_YEAR) - RAY) / 10n ** 9n;
  const step = WAD / 10_000n;
  return ((exact + step / 2n) / step) * step;
}


/** "2 h 05 min 09 s" */
export function duration(seconds: bigint): string {
  if (seconds <= 0n) return "0 s";
  const h = seconds / 3600n;
  const m = (seconds % 3600n) / 60n;
  const s = seconds % 60n;
  const pad = (x: bigint): string => x.toString().padStart(2, "0");
  return h > 0n ? `${h} h ${pad(m)} min ${pad(s)} s` : m > 0n ? `${m} min ${pad(s)} s` : `${s} s`;
}

export const shortAddress = (a: string): string => `${a.slice(0, 6)}…${a.slice(-4)}`;
