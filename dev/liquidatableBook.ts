/**
 * Positions that one price update makes Liquidatable at once (HF under criticalHF: no margin call, no grace
 * period), for the keeper's tests and benchmarks. WETH is raised by RAISE_PERCENT, `count` small isolated WETH
 * positions open at LTV_PERCENT of their value, and `trigger()` takes WETH back where it was: every other position
 * is as safe as when it opened, these are under criticalHF.
 */
import type { ContractTransactionReceipt } from "ethers";
import type { Keel } from "../deploy";
import { WAD } from "../src/math";
import type { DevProvider } from "./accounts";
import { refreshFeeds } from "./localMarket";
import { type OpenOptions, openPositions } from "./samplePositions";

/** WETH is raised this much before the positions open; the trigger takes it back. */
const RAISE_PERCENT = 15n;
/**
 * The positions borrow this share of their value at the raised price (WETH's initial limit is 1 − 3.66 × 5% = 81.7% at
 * σmin); after the trigger their HF is (1 − 13.75%) / (1.15 × 81%) = 0.926, under criticalHF 0.95.
 */
const LTV_PERCENT = 81n;
/**
 * Collateral of one position [wei of WETH]: 0.05 WETH borrows ~140 kUSD at the raised price (the local dust is 100).
 * Small, so the keeper's own sales barely move the AMM: 1,000 of them sell 50 WETH into the local 5,000-WETH pool.
 * (At 0.2 WETH, after ~570 flash liquidations the pool's price had fallen past WETH's 5% penalty and the rest
 * reverted Unprofitable.)
 */
const POSITION_WETH = 5n * 10n ** 16n;

export interface LiquidatableBook {
  ids: bigint[];
  /** The one WETH update that makes every position of `ids` Liquidatable; resolves with its receipt. */
  trigger(): Promise<ContractTransactionReceipt>;
}

/** Opens `count` positions that `trigger()` makes Liquidatable; `options` as for openPositions. */
export async function openLiquidatableBook(
  keel: Keel,
  node: { provider: DevProvider },
  count: number,
  options: OpenOptions = {},
): Promise<LiquidatableBook> {
  const weth = keel.assets.WETH;
  if (!weth) throw new Error("openLiquidatableBook: the deployment lists no WETH");
  const original = await weth.feed.latestAnswer();
  await (await weth.feed.updateAnswer((original * (100n + RAISE_PERCENT)) / 100n)).wait();
  await refreshFeeds(keel);
  const price = await keel.oracle.getPrice(weth.token.target as string);
  const debt = (((POSITION_WETH * price) / WAD) * LTV_PERCENT) / 100n;
  const specs = Array.from({ length: count }, () => ({ assets: ["WETH"], amounts: [POSITION_WETH], debt }));
  const ids = await openPositions(keel, node, specs, options);
  return {
    ids,
    trigger: async () => {
      const receipt = await (await weth.feed.updateAnswer(original)).wait();
      if (!receipt) throw new Error("openLiquidatableBook: the WETH update has no receipt");
      return receipt;
    },
  };
}
