import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { loadKeel } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { seedAmm } from "../../deploy/local";

describe("liquidation smoke", () => {
  it("calls, waits, liquidates partially, and flash-liquidates", async () => {
    const keel = await loadKeel();
    const [deployer, user, keeper] = await ethers.getSigners();
    await seedAmm(keel, deployer!, { WETH: "1000" });
    const weth = keel.assets.WETH!;
    await weth.token.mint(user!.address, 10n ** 19n);
    await weth.token.connect(user!).approve(keel.manager.target, ethers.MaxUint256);
    await keel.manager.connect(user!).openAndBorrow(weth.token.target, 10n ** 19n, ethers.parseEther("25000"), user!.address);
    const id = await keel.engine.lastPositionId();
    await weth.feed.updateAnswer(2700n * 10n ** 8n);
    console.log("state", await keel.engine.stateOf(id));
    await keel.engine.connect(keeper!).marginCall(id);
    await time.increase(6 * 3600);
    await weth.feed.updateAnswer(2700n * 10n ** 8n);
    console.log("state", await keel.engine.stateOf(id));
    const preview = await keel.engine.previewLiquidation.staticCall(id, weth.token.target, ethers.MaxUint256);
    console.log("preview", preview);
    const status = await keel.lens.liquidationStatus.staticCall(id);
    console.log("status", status.maxRepay, status.seizable);
    const tx = await keel.flashLiquidator.connect(keeper!).liquidate(id, weth.token.target, ethers.MaxUint256, keel.amm.target, 0n);
    const r = await tx.wait();
    console.log("flash gas", r!.gasUsed, "keeper kUSD", await keel.kusd.balanceOf(keeper!.address));
    console.log("state after", await keel.engine.stateOf(id), await keel.engine.debtOf(id));
    expect(await keel.kusd.balanceOf(keeper!.address)).to.be.gt(0n);
    await checkInvariants(keel);
  });
});
