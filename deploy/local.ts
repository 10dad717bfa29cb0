/**
 * Helpers for local networks, where the price feeds are MockAggregators that only move when told to.
 */
import type { Keel } from "./index";

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
