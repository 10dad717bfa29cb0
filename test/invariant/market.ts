/**
 * Market actions: small price moves and large gaps (within [1/5, 5] of the start), time jumps of minutes, hours
 * (past the 1h heartbeats and the grace period) or days, feed refreshes, σ pokes and fee collection.
 */
import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { refreshFeeds } from "../../dev/localMarket";
import { mirrorFeesAt } from "../helpers/periphery";
import { chance, note, ORACLE, pick, type Action } from "./actions";
import { execute, pinNextBlock } from "./exec";
import type { World } from "./model";

/** Moves one feed by `bps` basis points (composite wstETH moves its wstETH/ETH ratio), within [1/5, 5] of the start. */
async function moveFeed(w: World, symbol: string, bps: bigint): Promise<void> {
  const feed = w.keel.assets[symbol]!.feed;
  const answer = await feed.latestAnswer();
  const start = w.initialAnswers.get(symbol)!;
  let next = (answer * (10_000n + bps)) / 10_000n;
  if (next < start / 5n) next = start / 5n;
  if (next > start * 5n) next = start * 5n;
  note(w, `price ${symbol} ${bps >= 0n ? "+" : ""}${Number(bps) / 100}% → ${next}`);
  await (await feed.updateAnswer(next)).wait();
  w.stats.success(bps > 1000n || bps < -1000n ? "price.gap" : "price.small");
}

export const actPriceSmall: Action = async (w) => {
  const symbol = pick(w, ["WETH", "WETH", "WBTC", "USDC", "wstETH"]);
  const range = symbol === "USDC" || symbol === "wstETH" ? 100 : 400;
  await moveFeed(w, symbol, BigInt(w.prng.int(-range, range)));
};

export const actPriceGap: Action = async (w) => {
  const symbol = pick(w, ["WETH", "WBTC"]);
  const down = chance(w, 0.7);
  const size = BigInt(w.prng.int(1_000, 4_500));
  await moveFeed(w, symbol, down ? -size : size);
};

export const actTimeJump: Action = async (w) => {
  const kind = pick(w, ["minutes", "minutes", "hours", "days"] as const);
  const seconds =
    kind === "minutes" ? BigInt(w.prng.int(60, 3_000)) : kind === "hours" ? BigInt(w.prng.int(3_600, 9 * 3_600)) : BigInt(w.prng.int(86_400, 5 * 86_400));
  await time.increase(seconds);
  const refresh = chance(w, 0.6);
  if (refresh) await refreshFeeds(w.keel);
  note(w, `time +${seconds}s${refresh ? ", feeds refreshed" : ""}`);
  w.stats.success(`time.${kind}`);
};

/**
 * One feed fails alone (its round goes stale): positions holding that asset among others are then valued with it at
 * zero for margin calls and liquidation, and must stay liquidatable (I9 liveness); isolated ones wait for the feed.
 */
export const actFeedFailure: Action = async (w) => {
  const symbol = pick(w, ["WETH", "WBTC", "USDC", "wstETH"]);
  const feed = w.keel.assets[symbol]!.feed;
  const [round, answer] = await feed.latestRoundData();
  const old = BigInt(await time.latest()) - 3n * 86_400n;
  await (await feed.updateRoundData(round + 1n, answer, old, old)).wait();
  note(w, `feed of ${symbol} goes stale`);
  w.stats.success("feed.stale-one");
};

export const actRefreshFeeds: Action = async (w) => {
  await refreshFeeds(w.keel);
  note(w, "refresh feeds");
  w.stats.success("feeds.refresh");
};

export const actPoke: Action = async (w) => {
  const a = pick(w, w.assets);
  const label = `poke σ of ${a.symbol}`;
  note(w, label);
  await execute(w, {
    kind: "vol.poke",
    label,
    actor: w.keeper,
    send: () => w.keel.vol.connect(w.keeper.signer).poke(a.address),
    allowed: ["PokeTooSoon", ...ORACLE],
    effect: "none",
  });
};

export const actCollectFees: Action = async (w) => {
  const label = "collectFees";
  note(w, label);
  const at = await pinNextBlock();
  const expected = await mirrorFeesAt(w.keel, at);
  const surplus = await w.keel.kusd.balanceOf(w.keel.surplus.target);
  const r = await execute(w, {
    kind: "collectFees",
    label,
    actor: w.keeper,
    send: () => w.keel.engine.connect(w.keeper.signer).collectFees(),
    allowed: ["NothingToCollect"],
    effect: "none",
    at,
  });
  if (r.ok) expect((await w.keel.kusd.balanceOf(w.keel.surplus.target)) - surplus, "fees minted (mirror)").to.equal(expected);
  else expect(expected, "NothingToCollect with fees pending").to.equal(0n);
};
