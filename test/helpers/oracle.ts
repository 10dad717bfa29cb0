/**
 * Oracle test helpers: extra mock feeds, feed configurations and the governed oracle setters (through the
 * timelock, like production: `governTx`).
 */
import { ethers } from "hardhat";
import { type ContractTransactionResponse, ZeroAddress } from "ethers";
import type { Keel } from "../../deploy";
import { MockAggregator__factory, type MockAggregator } from "../../typechain-types";
import type { IPriceOracle } from "../../typechain-types/contracts/interfaces/IPriceOracle";
import { governTx } from "./governance";

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
