/**
 * The constant-product swap venue's math (`MockAMM`, x · y = k with a fee on the input), as the contract computes
 * it, and the largest sale a keeper makes into a pool at a price-impact limit. Pure and browser-safe.
 */
import { WAD } from ".";

/** Basis points: the unit of a venue's fee. */
export const BPS = 10_000n;

/** `MockAMM._quote`: out = in·(1 − fee)·R_out / (R_in + in·(1 − fee)), rounded down. */
export function ammQuoteDown(amountIn: bigint, reserveIn: bigint, reserveOut: bigint, feeBps: bigint): bigint {
  const inAfterFee = amountIn * (BPS - feeBps);
  const denominator = reserveIn * BPS + inAfterFee;
  return denominator === 0n ? 0n : (inAfterFee * reserveOut) / denominator;
}

/**
 * The largest `amountIn` whose price impact — one minus the sale's average price over the pool's marginal price,
 * both net of the fee — is at most `impact` [wad]. Selling x against reserve R with f = 1 − fee moves the average
 * price by x·f / (R + x·f), so x ≤ impact·R / (f·(1 − impact)), rounded down. 0 for an empty pool.
 */
export function maxSaleAtImpactDown(reserveIn: bigint, feeBps: bigint, impact: bigint): bigint {
  if (impact <= 0n || reserveIn === 0n) return 0n;
  if (impact >= WAD) throw new RangeError("maxSaleAtImpactDown: impact must be below 100%");
  return (impact * reserveIn * BPS) / ((BPS - feeBps) * (WAD - impact));
}
