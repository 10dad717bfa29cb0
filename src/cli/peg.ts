/**
 * The CLI's peg commands (`npm run keel -- swap|save|unsave|peg`, docs/spec.md §10): swap the PSM's reserve for
 * kUSD and back, save kUSD in sKUSD and take it out, and read the peg's state. Amounts in human units; every refusal
 * (unknown or wrong asset, not enough balance, the ceiling, a frozen sale, more than P) explained before anything
 * is sent; each action previews its exact amounts with src/math/peg.ts and prints what happened.
 */
import { buyGemQuote, sellGemQuote } from "../math/peg";
import { rpowUp, RAY } from "../math";
import { formatKusd } from "../protocol/refusals";
import { formatFixed, formatPercent } from "../units";
import { amountOf, asset, type Cli, CliError, send, signerOf } from "./commands";

const YEAR = 365n * 86_400n;
const MAX_UINT = 2n ** 256n - 1n;

/** `swap --sell USDC --amount 1000` (reserve in, kUSD out) or `swap --buy USDC --amount 1000` (kUSD in, reserve out). */
export async function swap(cli: Cli, side: "sell" | "buy", symbol: string, amountText: string): Promise<string[]> {
  const psm = cli.keel.psm.connect(signerOf(cli));
  const gem = asset(cli, symbol);
  if (gem.address.toLowerCase() !== (await psm.gem()).toLowerCase()) {
    throw new CliError(`swap: the peg stability module trades ${reserveSymbol(cli, await psm.gem())}, not ${gem.symbol}`);
  }
  const gemAmount = amountOf(amountText, gem.decimals, "--amount");
  const me = await signerOf(cli).getAddress();
  const [debt, ceiling] = [await psm.debt(), await psm.debtCeiling()];
  if (side === "sell") {
    const q = sellGemQuote(gemAmount, gem.decimals, await psm.feeIn());
    const balance = await gem.token.balanceOf(me);
    if (balance < gemAmount) throw new CliError(`swap: you hold ${formatFixed(balance, gem.decimals)} ${gem.symbol}, less than ${amountText}`);
    if (q.kusd === 0n) throw new CliError(`swap: ${amountText} ${gem.symbol} buys no kUSD after the fee`);
    if (debt + q.amount > ceiling) {
      throw new CliError(`swap: the module's ceiling leaves room for ${formatKusd(ceiling - debt)} kUSD; selling ${amountText} ${gem.symbol} needs ${formatKusd(q.amount)}`);
    }
    await requireSellOpen(cli);
    if ((await gem.token.allowance(me, psm.target)) < gemAmount) {
      await send(`approve ${gem.symbol}`, gem.token.approve, psm.target, MAX_UINT);
    }
    await send("swap", psm.sellGem, me, gemAmount);
    return [`sold ${amountText} ${gem.symbol} for ${formatKusd(q.kusd)} kUSD (fee ${formatKusd(q.fee)} kUSD to the surplus buffer)`];
  }
  const q = buyGemQuote(gemAmount, gem.decimals, await psm.feeOut());
  if (q.amount > debt) {
    throw new CliError(`swap: the module holds ${formatFixed(debt / 10n ** BigInt(18 - gem.decimals), gem.decimals)} ${gem.symbol} of reserve against kUSD; ${amountText} is more`);
  }
  const kusd = await cli.keel.kusd.balanceOf(me);
  if (kusd < q.kusd) throw new CliError(`swap: buying ${amountText} ${gem.symbol} costs ${formatKusd(q.kusd)} kUSD with the fee; you hold ${formatKusd(kusd)}`);
  await send("swap", psm.buyGem, me, gemAmount);
  return [`bought ${amountText} ${gem.symbol} for ${formatKusd(q.kusd)} kUSD (fee ${formatKusd(q.fee)} kUSD to the surplus buffer)`];
}

/** `save --amount 500`: deposits kUSD into sKUSD (approving the vault first if needed). */
export async function save(cli: Cli, amountText: string): Promise<string[]> {
  const savings = cli.keel.savings.connect(signerOf(cli));
  const amount = amountOf(amountText, 18, "--amount");
  const me = await signerOf(cli).getAddress();
  const kusd = await cli.keel.kusd.balanceOf(me);
  if (kusd < amount) throw new CliError(`save: you hold ${formatKusd(kusd)} kUSD, less than ${amountText}`);
  if ((await cli.keel.kusd.allowance(me, savings.target)) < amount) {
    await send("approve kUSD", cli.keel.kusd.connect(signerOf(cli)).approve, savings.target, MAX_UINT);
  }
  await send("save", savings.deposit, amount, me);
  return [`saved ${amountText} kUSD`, ...(await holding(cli, me))];
}

/** `unsave --amount 500|max`: withdraws kUSD from sKUSD (`max` redeems every share). */
export async function unsave(cli: Cli, amountText: string): Promise<string[]> {
  const savings = cli.keel.savings.connect(signerOf(cli));
  const me = await signerOf(cli).getAddress();
  const shares = await savings.balanceOf(me);
  if (shares === 0n) throw new CliError("unsave: you hold no sKUSD");
  if (amountText === "max") {
    const out = await savings.previewRedeem(shares);
    await send("unsave", savings.redeem, shares, me, me);
    return [`withdrew ${formatKusd(out)} kUSD (every share)`, ...(await holding(cli, me))];
  }
  const amount = amountOf(amountText, 18, "--amount");
  const max = await savings.maxWithdraw(me);
  if (amount > max) throw new CliError(`unsave: your sKUSD is worth ${formatKusd(max)} kUSD, less than ${amountText}`);
  await send("unsave", savings.withdraw, amount, me, me);
  return [`withdrew ${amountText} kUSD`, ...(await holding(cli, me))];
}

/** `peg [--owner addr]`: the PSM and the savings vault, from Lens.peg(); with a key or --owner, that account's savings. */
export async function peg(cli: Cli, owner?: string): Promise<string[]> {
  const v = await cli.keel.lens.peg();
  const gem = reserveSymbol(cli, v.reserve);
  const frozen = v.sellGemPaused ? "paused by the guardian" : v.sellGemFrozen ? `frozen (${gem} off $1 by more than ${formatPercent(v.freezeThreshold)}, or unpriced)` : "open";
  const lines = [
    `peg stability module (${gem}): ${formatKusd(v.debt)} of ${formatKusd(v.debtCeiling)} kUSD minted against ${gem}`,
    `  fees: ${formatPercent(v.feeIn)} selling ${gem}, ${formatPercent(v.feeOut)} buying it back; selling ${frozen}; buying open`,
    `savings (sKUSD): ${formatPercent(annualRate(v.savingsRate))} a year; ${formatKusd(v.savingsAssets)} kUSD saved; the buffer can pay ${formatKusd(v.bufferSpendable)} kUSD`,
  ];
  const who = owner ?? (cli.signer ? await cli.signer.getAddress() : undefined);
  return who ? [...lines, ...(await holding(cli, who))] : lines;
}

/**
 * The savings rate [ray per second] as a yearly rate [wad], compounded, to the nearest 1e-6: the per-second rate is
 * rounded down from the configured yearly one, so an exact 2% reads 1.99999999…% unrounded.
 */
export function annualRate(rate: bigint): bigint {
  const step = 10n ** 21n; // 1e-6 in ray
  return (((rpowUp(rate, YEAR) - RAY + step / 2n) / step) * step) / 10n ** 9n;
}

async function holding(cli: Cli, who: string): Promise<string[]> {
  const shares = await cli.keel.savings.balanceOf(who);
  return [`  ${who}: ${formatFixed(shares, 24, 4)} sKUSD, worth ${formatKusd(await cli.keel.savings.convertToAssets(shares))} kUSD`];
}

/** Refuses a sale the module would refuse: paused by the guardian, or the reserve off its peg or unpriced. */
async function requireSellOpen(cli: Cli): Promise<void> {
  const psm = cli.keel.psm;
  if (await psm.sellGemPaused()) throw new CliError("swap: the guardian paused selling to the peg stability module (buying stays open)");
  if (await psm.sellGemFrozen()) {
    throw new CliError(
      `swap: selling is frozen: the reserve's price is more than ${formatPercent(await psm.freezeThreshold())} from $1, or its feed is failing (buying stays open)`,
    );
  }
}

function reserveSymbol(cli: Cli, address: string): string {
  return Object.entries(cli.keel.assets).find(([, a]) => (a.token.target as string).toLowerCase() === address.toLowerCase())?.[0] ?? address;
}
