/** The deployed fixture (the production `deployKeel`, through `loadFixture`) and the chain's clock. */
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployKeel, type Keel } from "../../deploy";

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

/** Pins the next block's timestamp to `latest + step` and returns it (so accrual in that block is known exactly). */
export async function pinNext(step = 1n): Promise<bigint> {
  const ts = BigInt(await time.latest()) + step;
  await time.setNextBlockTimestamp(ts);
  return ts;
}
