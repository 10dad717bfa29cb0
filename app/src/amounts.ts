/**
 * Amounts typed as text and parsed with src/units (no floats for money); every refusal is a sentence the form
 * shows next to the input, and nothing is sent.
 */
import { formatFixed, parseAmount, UnitError } from "../../src/units";

export type Parsed = { ok: true; amount: bigint; all: boolean } | { ok: false; error: string };

/**
 * Parses `text` in `decimals`; `max` (when allowed) means "all" and resolves to `maxAmount`. Refuses empty,
 * negative, non-numeric, zero, too many decimals and more than `balance` (with what the user holds).
 */
export function parseInput(
  text: string,
  decimals: number,
  symbol: string,
  options: { balance?: bigint; balanceWhat?: string; maxAmount?: bigint; nothing?: string } = {},
): Parsed {
  const clean = text.trim();
  if (clean === "") return { ok: false, error: "enter an amount" };
  let amount: bigint;
  let all = false;
  if (clean.toLowerCase() === "max" && options.maxAmount !== undefined) {
    amount = options.maxAmount;
    all = true;
    if (amount === 0n) return { ok: false, error: options.nothing ?? `nothing to ${symbol === "kUSD" ? "repay" : "take"}` };
  } else {
    if (clean.startsWith("-")) return { ok: false, error: "the amount must be positive" };
    try {
      amount = parseAmount(clean, decimals, "amount");
    } catch (e) {
      if (e instanceof UnitError) return { ok: false, error: e.message.replace(/^amount: /, "") };
      throw e;
    }
    if (amount === 0n) return { ok: false, error: "the amount must be more than 0" };
  }
  if (options.balance !== undefined && amount > options.balance) {
    return { ok: false, error: `${options.balanceWhat ?? "you hold"} ${formatFixed(options.balance, decimals)} ${symbol}, less than ${formatFixed(amount, decimals)}` };
  }
  return { ok: true, amount, all };
}
