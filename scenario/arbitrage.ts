/**
 * The arbitrageur of a replay: before each step it trades every MockAMM pool back to the oracle price, as arbitrage
 * keeps a real venue near the market between liquidations. Constant product: with reserves x (asset units) and
 * y (kUSD wad), x·y = k and spot P = y·unit/x, so the pool is at price P when x = √(k·unit/P), y = √(k·P/unit).
 */
import type { Signer } from "ethers";
import { sqrtDown } from "../src/math";
import type { KeelUSD, MockAMM, MockERC20 } from "../typechain-types";

const BPS = 10_000n;

export interface ArbitrageTrade {
  /** "sell": asset into the pool (its price was above target); "buy": kUSD in. */
  side: "sell" | "buy";
  amountIn: bigint; // asset units or [wad] kUSD
}

/**
 * Trades `asset`'s pool to `target` [wad kUSD per whole token] with `trader`'s tokens (minted as needed: the
 * replay's assets are mocks) and kUSD (capped at its balance). Returns the trade, or undefined when none was needed.
 */
export async function arbitrageTo(
  amm: MockAMM,
  kusd: KeelUSD,
  asset: MockERC20,
  unit: bigint,
  target: bigint,
  trader: Signer,
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
  const amountIn = [wanted, await kusd.balanceOf(me)].reduce((a, b) => (a < b ? a : b));
  if (amountIn <= 0n) return undefined;
  await (await kusd.connect(trader).approve(amm.target, amountIn)).wait();
  await (await amm.connect(trader).swapExactIn(kusd.target, asset.target, amountIn, 0n, me)).wait();
  return { side: "buy", amountIn };
}
