/**
 * The protocol's refusals in its own numbers: a decoded custom error (name and arguments) as one sentence, shared
 * by the CLI and the web app so both explain `Unhealthy`, `DustDebt`, … the same way.
 */
import { formatFixed } from "../units";

/** kUSD [wad] for people: "5,061.2". */
export const formatKusd = (wad: bigint): string => formatFixed(wad, 18, 2);
/** A health factor [wad] for people: "0.842". */
export const formatHealth = (wad: bigint): string => formatFixed(wad, 18, 3);

/** Why the protocol refused, from the decoded error; a generic sentence for errors without a known reading. */
export function refusalReason(name: string, args: readonly unknown[]): string {
  const a = (i: number): bigint => (typeof args[i] === "bigint" ? (args[i] as bigint) : 0n);
  const reasons: Record<string, () => string> = {
    Unhealthy: () => `it would leave the position at initial HF ${formatHealth(a(1))}, below 1`,
    DustDebt: () => `it would leave ${formatKusd(a(1))} kUSD of debt, below the minimum of ${formatKusd(a(2))} kUSD (repay all, or less)`,
    DebtCeilingExceeded: () => `it would bring the debt to ${formatKusd(a(1))} kUSD, over the ceiling of ${formatKusd(a(2))} kUSD`,
    SupplyCapExceeded: () => `it would bring the asset's total to ${a(1)}, over its supply cap of ${a(2)}`,
    NotAuthorized: () => "you are neither the owner nor approved for this position",
    Paused: () => "opening and borrowing are paused by the guardian",
    PegCeilingExceeded: () => `it would bring the PSM's debt to ${formatKusd(a(0))} kUSD, over its ceiling of ${formatKusd(a(1))} kUSD`,
    PegDebtTooLow: () => `the PSM's debt is ${formatKusd(a(1))} kUSD, less than the ${formatKusd(a(0))} kUSD this takes out`,
    ReserveDepegged: () => `selling the reserve is frozen: its price $${formatFixed(a(0), 18, 4)} is further from $1 than ${formatFixed(a(1) * 100n, 18, 2)}%`,
    ReservePriceUnavailable: () => "selling the reserve is frozen: its price cannot be read",
    SellGemPaused: () => "selling the reserve is paused by the guardian",
    AmountTooSmall: () => "the amount is too small: it would mint no kUSD after the fee",
    ERC4626ExceededMaxWithdraw: () => `it withdraws ${formatKusd(a(1))} kUSD, more than the ${formatKusd(a(2))} kUSD these savings are worth`,
    ERC4626ExceededMaxRedeem: () => `it redeems ${formatFixed(a(1), 24, 6)} sKUSD, more than the ${formatFixed(a(2), 24, 6)} held`,
  };
  return reasons[name]?.() ?? `the protocol refused it: ${name}(${args.map(String).join(", ")})`;
}
