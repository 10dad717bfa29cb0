import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployKeel, type Keel } from "../../deploy";
import { execute, schedule, type TimelockCall } from "../../deploy/governance";

/** Keel with the default local config, deployed by signer 0 (also the guardian and timelock proposer). */
export async function keelFixture(): Promise<Keel> {
  const [deployer] = await ethers.getSigners();
  return deployKeel(deployer!);
}

export const loadKeel = (): Promise<Keel> => loadFixture(keelFixture);

/** Runs a governed call through the timelock: schedule, wait out the delay, execute. */
export async function govern(keel: Keel, target: { getAddress(): Promise<string> }, data: string): Promise<void> {
  const [deployer] = await ethers.getSigners();
  const call: TimelockCall = { target: await target.getAddress(), data };
  await schedule(keel, deployer!, call);
  await time.increase(await keel.timelock.getMinDelay());
  await execute(keel, deployer!, call);
}
