/**
 * Helpers for local networks, where the price feeds are MockAggregators that only move when told to.
 */
import { type Signer, ZeroAddress } from "ethers";
import { type Funder, mintFunder } from "./funding";
import type { Keel, KeelAsset } from "../deploy";
import { parseAmount } from "../src/units";
import { valueDown } from "../src/math";

/** Republishes every mock feed's latest answer at the current block time, as a live feed's heartbeat would. */
export async function refreshFeeds(keel: Keel): Promise<void> {
  const feeds = new Set(Object.values(keel.assets).flatMap((a) => (a.baseFeed ? [a.feed, a.baseFeed] : [a.feed])));
  for (const feed of feeds) {
    await (await feed.updateAnswer(await feed.latestAnswer())).wait();
  }
}

/** Sets the answer of `symbol`'s mock feed (feed decimals). Composite assets are refused: move their base. */
export async function setFeedAnswer(keel: Keel, symbol: string, answer: bigint): Promise<void> {
  const asset = keel.assets[symbol];
  if (!asset) throw new Error(`setFeedAnswer: unknown asset ${symbol}`);
  if (asset.baseFeed) throw new Error(`setFeedAnswer: ${symbol} is priced through ${asset.config.price.base}; move that`);
  await (await asset.feed.updateAnswer(answer)).wait();
}

/** Moves a mock feed by `percent` (negative = down) (the others keep their timestamps). */
export async function movePrice(keel: Keel, symbol: string, percent: number): Promise<void> {
  const asset = keel.assets[symbol];
  if (!asset) throw new Error(`movePrice: unknown asset ${symbol}`);
  const feed = asset.feed;
  const answer = await feed.latestAnswer();
  await (await feed.updateAnswer((answer * BigInt(Math.round((100 + percent) * 100))) / 10_000n)).wait();
}

/** Depth of one MockAMM pool: whole tokens of the asset, paired with kUSD at the oracle price. */
export type PoolDepths = Record<string, string>;

/** The shallow venue (`ammShallow`) is seeded with this fraction of the deep one's depth: 1/10. */
export const SHALLOW_DEPTH_DIVISOR = 10n;

/**
 * Seeds a MockAMM pool per asset at its oracle price: `amm` with `depths` and, when `shallow`, `ammShallow` with a
 * tenth of them. The kUSD of both comes from one cross position that `signer` opens with USDC from `fund`
 * (`borrowAgainstUsdc`), so supply stays fully backed. Tokens come from `fund`: minted mocks by default, storage
 * writes on a fork.
 */
export async function seedAmm(keel: Keel, signer: Signer, depths: PoolDepths, fund: Funder = mintFunder, shallow = false): Promise<void> {
  const me = await signer.getAddress();
  const venues = shallow ? [{ amm: keel.amm, divisor: 1n }, { amm: keel.ammShallow, divisor: SHALLOW_DEPTH_DIVISOR }] : [{ amm: keel.amm, divisor: 1n }];
  let needed = 0n;
  const plan: { amm: Keel["amm"]; token: KeelAsset["token"]; asset: string; amount: bigint; kusd: bigint }[] = [];
  for (const [symbol, whole] of Object.entries(depths)) {
    const entry = keel.assets[symbol];
    if (!entry) throw new Error(`seedAmm: unknown asset ${symbol}`);
    const asset = await entry.token.getAddress();
    const price = await keel.oracle.getPrice(asset);
    const depth = parseAmount(whole, entry.config.decimals, `seedAmm.${symbol}`);
    for (const { amm, divisor } of venues) {
      const amount = depth / divisor;
      const kusd = valueDown(amount, price, 10n ** BigInt(entry.config.decimals));
      plan.push({ amm, token: entry.token, asset, amount, kusd });
      needed += kusd;
    }
  }
  await borrowAgainstUsdc(keel, signer, needed, fund);
  for (const { amm } of venues) await (await keel.kusd.connect(signer).approve(amm.target, needed)).wait();
  for (const p of plan) {
    const token = p.token;
    await fund(token, me, p.amount);
    await (await token.connect(signer).approve(p.amm.target, p.amount)).wait();
    await (await p.amm.connect(signer).addLiquidity(p.asset, p.amount, p.kusd)).wait();
  }
}

/**
 * Gives `signer` `amount` kUSD [wad] the way a user would get it: a cross position of USDC from `fund`
 * worth 3× the debt (far from any margin call), borrowing `amount`. Returns the position id.
 */
export async function borrowAgainstUsdc(keel: Keel, signer: Signer, amount: bigint, fund: Funder = mintFunder): Promise<bigint> {
  const me = await signer.getAddress();
  const engine = keel.engine.connect(signer);
  const usdc = keel.assets.USDC;
  if (!usdc) throw new Error("borrowAgainstUsdc: the deployment lists no USDC");
  const backing = (amount * 3n) / 10n ** BigInt(18 - usdc.config.decimals) + 1n;
  await fund(usdc.token, me, backing);
  await (await usdc.token.connect(signer).approve(keel.engine.target, backing)).wait();
  await (await engine.open(1, ZeroAddress, me)).wait();
  const id = await keel.engine.lastPositionId();
  await (await engine.deposit(id, usdc.token.target, backing)).wait();
  await (await engine.borrow(id, amount, me)).wait();
  return id;
}
