/**
 * The peg's arithmetic, mirrored from PegStabilityModule and SavingsKUSD (docs/spec.md §10): a swap's kUSD amount
 * and fee for a reserve amount in its own decimals, and the savings interest owed over a period. Pure bigint.
 */
import { mulDivDown, mulDivUp, RAY, rpowUp, WAD } from "./index";

export interface PegQuote {
  /** The reserve amount scaled to 18 decimals: what P moves by [wad]. */
  amount: bigint;
  /** The fee to the surplus buffer [wad], rounded up. */
  fee: bigint;
  /** sellGem: kUSD the seller receives (amount − fee); buyGem: kUSD the buyer pays (amount + fee). */
  kusd: bigint;
}

const scaled = (gemAmount: bigint, decimals: number): bigint => {
  if (decimals > 18) throw new RangeError(`a reserve with ${decimals} decimals cannot be scaled to kUSD`);
  return gemAmount * 10n ** BigInt(18 - decimals);
};

/** PegStabilityModule.sellGem: `gemAmount` of a `decimals`-decimal reserve in, kUSD out less `feeIn` [wad]. */
export function sellGemQuote(gemAmount: bigint, decimals: number, feeIn: bigint): PegQuote {
  const amount = scaled(gemAmount, decimals);
  const fee = mulDivUp(amount, feeIn, WAD);
  return { amount, fee, kusd: amount > fee ? amount - fee : 0n };
}

/** PegStabilityModule.buyGem: `gemAmount` of the reserve out, its kUSD value plus `feeOut` [wad] in. */
export function buyGemQuote(gemAmount: bigint, decimals: number, feeOut: bigint): PegQuote {
  const amount = scaled(gemAmount, decimals);
  const fee = mulDivUp(amount, feeOut, WAD);
  return { amount, fee, kusd: amount + fee };
}

/** SavingsKUSD.drip: interest owed [wad] on `assets` [wad] after `elapsed` seconds at `rate` [ray per second]. */
export function savingsOwed(assets: bigint, rate: bigint, elapsed: bigint): bigint {
  if (elapsed === 0n || assets === 0n || rate === RAY) return 0n;
  return mulDivDown(assets, rpowUp(rate, elapsed) - RAY, RAY);
}

/** SavingsKUSD's `_decimalsOffset`: OpenZeppelin's virtual shares, 10^6 shares per kUSD wei when the vault is empty. */
export const SAVINGS_DECIMALS_OFFSET = 6n;
const VIRTUAL_SHARES = 10n ** SAVINGS_DECIMALS_OFFSET;

/** The vault's totals, as `totalAssets()` [wad] and `totalSupply()` [shares] read after any drip. */
export interface VaultTotals {
  assets: bigint;
  shares: bigint;
}

/** ERC4626._convertToShares: deposit and previewDeposit round down; withdraw and previewWithdraw round up. */
export const savingsSharesDown = (assets: bigint, v: VaultTotals): bigint => mulDivDown(assets, v.shares + VIRTUAL_SHARES, v.assets + 1n);
export const savingsSharesUp = (assets: bigint, v: VaultTotals): bigint => mulDivUp(assets, v.shares + VIRTUAL_SHARES, v.assets + 1n);
/** ERC4626._convertToAssets: redeem, previewRedeem, convertToAssets and maxWithdraw round down. */
export const savingsAssetsDown = (shares: bigint, v: VaultTotals): bigint => mulDivDown(shares, v.assets + 1n, v.shares + VIRTUAL_SHARES);

/**
 * The vault's totals just after `drip()` at `time` [s]: interest owed since `lastDrip` on its assets, paid only up to
 * what the surplus buffer can spend (`spendable`, beyond the uncovered bad debt). What deposit, withdraw and redeem
 * see, since each drips first.
 */
export function savingsAfterDrip(v: VaultTotals, rate: bigint, lastDrip: bigint, time: bigint, spendable: bigint): VaultTotals {
  const owed = time > lastDrip ? savingsOwed(v.assets, rate, time - lastDrip) : 0n;
  return { assets: v.assets + (owed < spendable ? owed : spendable), shares: v.shares };
}
