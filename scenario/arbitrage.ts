/**
 * The arbitrageur of a replay: before each step it trades every MockAMM pool back to the oracle price, as arbitrage
 * keeps a real venue near the market between liquidations. Constant product: with reserves x (asset units) and
 * y (kUSD wad), x·y = k and spot P = y·unit/x, so the pool is at price P when x = √(k·unit/P), y = √(k·P/unit).
 */
import type { Signer } from "ethers";
import { sqrtDown } from "../src/math";
import type { KeelUSD, MockAMM, MockERC20, PegStabilityModule } from "../typechain-types";

const BPS = 10_000n;

export interface ArbitrageTrade {
  /** "sell": asset into the pool (its price was above target); "buy": kUSD in. */
  side: "sell" | "buy";
  amountIn: bigint; // asset units or [wad] kUSD
}

/** Tops `trader` up with `shortfall` kUSD [wad] (best effort): where an arbitrageur without kUSD gets it. */
export type KusdSource = (shortfall: bigint) => Promise<void>;

/**
 * Trades `asset`'s pool to `target` [wad kUSD per whole token] with `trader`'s tokens (minted as needed: the
 * replay's assets are mocks) and kUSD: when it holds too little, `source` may top it up first (the PSM, see
 * `kusdFromPsm`); the trade is capped at what it then holds. Returns the trade, or undefined when none was needed.
 */
export async function arbitrageTo(
  amm: MockAMM,
  kusd: KeelUSD,
  asset: MockERC20,
  unit: bigint,
  target: bigint,
  trader: Signer,
  source?: KusdSource,
): Promise<ArbitrageTrade | undefined> {
  const [x, y] = await amm.pools(asset.target as string);
  if (x === 0n || target === 0n) return undefined;
  const fee = await amm.feeBps();
  const k = x * y;
  const me = await trader.getAddress();
  const spot = (y * unit) / x;
  if (spot > target) {
    const x1 = sqrtDown((k * unit) / target);
    const amountIn = ((x1 - x) * BPS) / (BPS - fee);
    if (amountIn <= 0n) return undefined;
    await (await asset.connect(trader).mint(me, amountIn)).wait();
    await (await asset.connect(trader).approve(amm.target, amountIn)).wait();
    await (await amm.connect(trader).swapExactIn(asset.target, kusd.target, amountIn, 0n, me)).wait();
    return { side: "sell", amountIn };
  }
  const y1 = sqrtDown((k * target) / unit);
  const wanted = ((y1 - y) * BPS) / (BPS - fee);
  const held = await kusd.balanceOf(me);
  if (source && wanted > held) await source(wanted - held);
  const amountIn = [wanted, await kusd.balanceOf(me)].reduce((a, b) => (a < b ? a : b));
  if (amountIn <= 0n) return undefined;
  await (await kusd.connect(trader).approve(amm.target, amountIn)).wait();
  await (await amm.connect(trader).swapExactIn(kusd.target, asset.target, amountIn, 0n, me)).wait();
  return { side: "buy", amountIn };
}

/**
 * kUSD from the peg stability module: the arbitrageur sells the reserve (minted: a mock) for kUSD at $1 less the fee,
 * as far as the module's ceiling allows and unless selling is frozen (a depegged or unpriced reserve). Returns the
 * kUSD [wad] it got.
 */
export function kusdFromPsm(psm: PegStabilityModule, reserve: MockERC20, decimals: number, trader: Signer): KusdSource & { minted: () => bigint } {
  let minted = 0n;
  const source = async (shortfall: bigint): Promise<void> => {
    if (await psm.sellGemFrozen()) return;
    const [debt, ceiling, feeIn] = [await psm.debt(), await psm.debtCeiling(), await psm.feeIn()];
    const scale = 10n ** BigInt(18 - decimals);
    // Enough reserve that the kUSD out (after the fee, rounded up) covers the shortfall, within the ceiling.
    const wanted = (shortfall * 10n ** 18n) / (10n ** 18n - feeIn) + 1n;
    const room = ceiling > debt ? ceiling - debt : 0n;
    const gemAmount = ((wanted < room ? wanted : room) + scale - 1n) / scale;
    if (gemAmount === 0n || gemAmount * scale > room) return;
    const me = await trader.getAddress();
    await (await reserve.connect(trader).mint(me, gemAmount)).wait();
    await (await reserve.connect(trader).approve(psm.target, gemAmount)).wait();
    await (await psm.connect(trader).sellGem(me, gemAmount)).wait();
    minted += gemAmount * scale;
  };
  return Object.assign(source, { minted: () => minted });
}
