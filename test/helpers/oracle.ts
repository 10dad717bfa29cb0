/**
 * Oracle test helpers: extra mock feeds, feed configurations and the governed oracle setters (through the
 * timelock, like production).
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { type ContractTransactionResponse, ZeroAddress } from "ethers";
import type { Keel } from "../../deploy";
import { schedule } from "../../deploy/governance";
import { MockAggregator__factory, type MockAggregator } from "../../typechain-types";
import type { IPriceOracle } from "../../typechain-types/contracts/interfaces/IPriceOracle";

export type FeedConfig = IPriceOracle.FeedStruct;

/** Int192 max: the upper bound of an aggregator without a narrower one (MockAggregator's default). */
export const INT192_MAX = 2n ** 191n - 1n;
/** Int128 max: where the oracle saturates stored bounds. */
export const INT128_MAX = 2n ** 127n - 1n;

/** The unused (zero) feed slot: the `base` of a non-composite asset. */
export const NO_FEED: FeedConfig = { aggregator: ZeroAddress, heartbeat: 0, decimals: 0, minAnswer: 0n, maxAnswer: 0n };

/** Deploys a MockAggregator with `decimals` and a first answer published now. */
export async function deployAggregator(decimals: number, answer: bigint): Promise<MockAggregator> {
  const [deployer] = await ethers.getSigners();
  const feed = await new MockAggregator__factory(deployer!).deploy(decimals, answer);
  await feed.waitForDeployment();
  return feed;
}

/** An oracle feed configuration for `feed`, with its decimals and clamp bounds read from the mock. */
export async function feedConfig(feed: MockAggregator, heartbeat: number): Promise<FeedConfig> {
  return {
    aggregator: await feed.getAddress(),
    heartbeat,
    decimals: Number(await feed.decimals()),
    minAnswer: await feed.minAnswer(),
    maxAnswer: await feed.maxAnswer(),
  };
}

let operations = 0;

/**
 * Schedules a governed call on the timelock, waits out the delay and sends the execution, returning the pending
 * transaction so a test can assert its events or its (bubbled-up) revert.
 */
export async function governTx(
  keel: Keel,
  target: { getAddress(): Promise<string> },
  data: string,
): Promise<ContractTransactionResponse> {
  const [deployer] = await ethers.getSigners();
  // A fresh salt per call, so the same configuration can be proposed twice (e.g. to observe NoChange).
  const call = { target: await target.getAddress(), data, salt: `oracle-test-${++operations}` };
  await schedule(keel, deployer!, call);
  await time.increase(await keel.timelock.getMinDelay());
  return keel.timelock.connect(deployer!).execute(call.target, 0, call.data, ethers.ZeroHash, ethers.id(call.salt));
}

/** `oracle.setFeed(asset, { primary, base })` through the timelock. */
export function governSetFeed(
  keel: Keel,
  asset: string,
  primary: FeedConfig,
  base: FeedConfig = NO_FEED,
): Promise<ContractTransactionResponse> {
  return governTx(keel, keel.oracle, keel.oracle.interface.encodeFunctionData("setFeed", [asset, { primary, base }]));
}

/** `oracle.setSequencer({ uptimeFeed, gracePeriod })` through the timelock. */
export function governSetSequencer(
  keel: Keel,
  uptimeFeed: string,
  gracePeriod: number,
): Promise<ContractTransactionResponse> {
  const data = keel.oracle.interface.encodeFunctionData("setSequencer", [{ uptimeFeed, gracePeriod }]);
  return governTx(keel, keel.oracle, data);
}

/** Republishes every local feed's latest answer at the current time (governance waits make them all stale). */
export async function refreshFeeds(keel: Keel): Promise<void> {
  const feeds = new Set<MockAggregator>();
  for (const { feed, baseFeed } of Object.values(keel.assets)) {
    feeds.add(feed);
    if (baseFeed) feeds.add(baseFeed);
  }
  for (const feed of feeds) await (await feed.updateAnswer(await feed.latestAnswer())).wait();
}
