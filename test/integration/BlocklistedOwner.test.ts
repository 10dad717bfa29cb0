import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { MockAggregator__factory, MockBlocklistERC20__factory } from "../../typechain-types";
import { refreshFeeds } from "../../dev/localMarket";
import { mockListing } from "../helpers/engine";
import { keelFixture } from "../helpers/fixtures";
import { governBatch } from "../helpers/governance";
import { checkInvariants } from "../helpers/invariant";
import { fundKusd } from "../helpers/liquidation";
import * as m from "../../src/math";

const E18 = 10n ** 18n;

/** Keel with an extra collateral token that blocklists accounts, priced $100. */
async function blocklistFixture() {
  const keel = await keelFixture();
  const [deployer, owner, liquidator] = await ethers.getSigners();
  const token = await new MockBlocklistERC20__factory(deployer!).deploy("Blocklisting USD", "BUSD", 18);
  const feed = await new MockAggregator__factory(deployer!).deploy(8, 100n * 10n ** 8n);
  const listed = (await keel.risk.listedAssets()).length;
  const listing = mockListing(await feed.getAddress(), listed, {
    stabilityFee: m.RAY,
    debtCeiling: 10n ** 24n,
    supplyCap: 10n ** 30n,
  });
  await governBatch(keel, [
    {
      target: await keel.engine.getAddress(),
      data: keel.engine.interface.encodeFunctionData("listAsset", [await token.getAddress(), listing]),
    },
  ]);
  await refreshFeeds(keel); // the timelock's delay outlasted every heartbeat
  return { keel, token, feed, owner: owner!, liquidator: liquidator! };
}

describe("liquidation of a blocklisted owner", () => {
  it("test_liquidate_ownerBlocklisted: the collateral goes to the receiver, never to the owner", async () => {
    const { keel, token, feed, owner, liquidator } = await loadFixture(blocklistFixture);
    const asset = await token.getAddress();
    await token.mint(owner.address, 100n * E18);
    await token.connect(owner).approve(keel.engine.target, 100n * E18);
    await keel.engine.connect(owner).open(0, asset, owner.address);
    const id = await keel.engine.lastPositionId();
    await keel.engine.connect(owner).deposit(id, asset, 100n * E18); // $10,000
    // HFi just ≥ 1: the initial loss is max(3.66 × 5%, 15%) = 18.3%, so at most 8,170 kUSD.
    await keel.engine.connect(owner).borrow(id, 8_150n * E18, owner.address);
    await fundKusd(keel, liquidator, 9_000n * E18);
    await token.setBlocked(owner.address, true);

    // −12%: HF = 8,800 × (1 − 13.75%) / 8,150 ≈ 0.931 < criticalHF 0.95, liquidatable at once; 8,800 > 1.05 × 8,150.
    await feed.updateAnswer(88n * 10n ** 8n);
    expect((await keel.engine.stateOf(id)).state).to.equal(3n);
    const [repaid, seized] = await keel.engine.connect(liquidator).liquidate.staticCall(id, asset, ethers.MaxUint256, liquidator.address, "0x");
    await expect(keel.engine.connect(liquidator).liquidate(id, asset, ethers.MaxUint256, liquidator.address, "0x"))
      .to.emit(keel.engine, "Liquidated")
      .withArgs(id, liquidator.address, asset, repaid, seized, 0n);
    expect(await token.balanceOf(liquidator.address)).to.equal(seized);
    expect(await token.balanceOf(owner.address)).to.equal(0n);
    // The owner, still blocklisted, cannot withdraw the rest, but nothing of theirs moved.
    expect(await keel.engine.collateralOf(id, asset)).to.equal(100n * E18 - seized);
    await checkInvariants(keel);
  });
});
