import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployKeel, type Keel } from "../../deploy";
import { execute, schedule, type TimelockCall } from "../../deploy/governance";

/** Keel with the default local config, deployed by signer 0 (also the guardian and timelock proposer). */
export async function keelFixture(): Promise<Keel> {
  const [deployer] = await ethers.getSigners();
  return deployKeel(deployer!);
}

/**
 * The fixture, restored from its snapshot, with the clock pinned to one second after the fixture's block. Without
 * the pin, the chain's clock follows the wall clock since the snapshot was taken, so a test that runs late in a slow
 * run starts with feeds older than the fixture made them and may see them stale (test_loadKeel_clockStartsAtFixture).
 */
export async function loadKeel(): Promise<Keel> {
  const keel = await loadFixture(keelFixture);
  await time.setNextBlockTimestamp((await time.latest()) + 1);
  return keel;
}

/** Runs a governed call through the timelock: schedule, wait out the delay, execute. */
export async function govern(keel: Keel, target: { getAddress(): Promise<string> }, data: string): Promise<void> {
  const [deployer] = await ethers.getSigners();
  const call: TimelockCall = { target: await target.getAddress(), data };
  await schedule(keel, deployer!, call);
  await time.increase(await keel.timelock.getMinDelay());
  await execute(keel, deployer!, call);
}
