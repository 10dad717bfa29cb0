/**
 * VolatilityOracle test helpers: a poke mined at a pinned timestamp right after the feed update it samples, and
 * the state, event and σ the TypeScript model (`src/math/volatility`) predicts for it, checked exactly.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";
import type { Keel } from "../../deploy";
import * as v from "../../src/math/volatility";

export const HOUR = 3600n;

/** A time `seconds` after the latest block, to pin the next blocks at. */
export async function later(seconds = 60n): Promise<bigint> {
  return BigInt(await time.latest()) + seconds;
}

export async function volParams(keel: Keel): Promise<v.VolatilityParams> {
  return v.toVolatilityParams(await keel.vol.params());
}

/** The asset's σmin and σmax in the RiskModel. */
export async function boundsOf(keel: Keel, asset: string, blockTag?: number): Promise<v.SigmaBounds> {
  const r = await keel.risk.assetRisk(asset, { blockTag: blockTag ?? "latest" });
  return { sigmaMin: r.sigmaMin, sigmaMax: r.sigmaMax };
}

export async function volState(keel: Keel, asset: string, blockTag?: number): Promise<v.VolatilityState> {
  return v.stateFromChain(await keel.vol.stateOf(asset, { blockTag: blockTag ?? "latest" }));
}

/** `vol.sigma(asset)` in a block mined at exactly `at`. */
export async function sigmaAtTime(keel: Keel, asset: string, at: bigint): Promise<bigint> {
  await time.increaseTo(at);
  return keel.vol.sigma(asset, { blockTag: await ethers.provider.getBlockNumber() });
}

/** The VolatilityUpdated events of a receipt, as plain argument arrays. */
export function volatilityEvents(
  keel: Keel,
  receipt: ContractTransactionReceipt,
  name = "VolatilityUpdated",
): unknown[][] {
  return receipt.logs
    .filter((log) => log.address === keel.vol.target)
    .map((log) => keel.vol.interface.parseLog(log))
    .flatMap((e) => (e?.name === name ? [[...e.args]] : []));
}

export interface Poked {
  asset: string;
  tx: ContractTransactionResponse;
  receipt: ContractTransactionReceipt;
  at: bigint; // block time of the poke
  price: bigint; // oracle price it sampled [wad]
  before: v.VolatilityState;
  after: v.VolatilityState; // the model's state after the poke
  bounds: v.SigmaBounds;
  params: v.VolatilityParams;
}

/**
 * Republishes `symbol`'s feed (with `answer`, if given; a composite's base feed first, unchanged) in the blocks
 * just before `at`, then mines `vol.poke(asset)` in a block at exactly `at`. Returns the model's prediction.
 */
export async function pokeAt(keel: Keel, symbol: string, at: bigint, answer?: bigint): Promise<Poked> {
  const { token, feed, baseFeed } = keel.assets[symbol]!;
  const asset = await token.getAddress();
  const feeds = baseFeed ? [baseFeed, feed] : [feed];
  for (let i = 0; i < feeds.length; i++) {
    const f = feeds[i]!;
    await time.setNextBlockTimestamp(at - BigInt(feeds.length - i));
    const value = f === feed && answer !== undefined ? answer : await f.latestAnswer();
    await (await f.updateAnswer(value)).wait();
  }
  const [before, bounds, params] = await Promise.all([volState(keel, asset), boundsOf(keel, asset), volParams(keel)]);
  await time.setNextBlockTimestamp(at);
  const tx = await keel.vol.poke(asset);
  const receipt = (await tx.wait())!;
  const price = await keel.oracle.getPrice(asset, { blockTag: receipt.blockNumber });
  const after = v.poke(before, price, at, bounds, params);
  return { asset, tx, receipt, at, price, before, after, bounds, params };
}

/**
 * Every observable of a poke equals the model: the stored state, the one event (price, variance, target, σ in
 * force), `sigma`, `sigmaTarget` and `nextPokeAt` in the poke's block, and σ there is the σ just before the poke.
 */
export async function expectPoked(keel: Keel, p: Poked): Promise<void> {
  const { asset, receipt, at, price, before, after, bounds } = p;
  const block = receipt.blockNumber;
  expect(BigInt((await ethers.provider.getBlock(block))!.timestamp)).to.equal(at);
  const sigma = v.sigmaAt(before, at, bounds);
  const target = v.sigmaTargetOf(after, bounds);
  expect(await volState(keel, asset, block)).to.deep.equal(after);
  expect(volatilityEvents(keel, receipt)).to.deep.equal([[asset, price, after.variance, target, sigma]]);
  // A poke moves the target, never σ itself: σ after it, in its block, is σ before it.
  expect(v.sigmaAt(after, at, bounds)).to.equal(sigma);
  expect(await keel.vol.sigma(asset, { blockTag: block })).to.equal(sigma);
  expect(await keel.vol.sigmaTarget(asset, { blockTag: block })).to.equal(target);
  expect(await keel.vol.nextPokeAt(asset, { blockTag: block })).to.equal(at + p.params.minInterval);
}
