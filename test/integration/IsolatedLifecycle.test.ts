/**
 * User flow: an isolated WETH position through the PositionManager — open and borrow at the limit, a year of fees,
 * partial repay, partial withdrawal, close with repay-all. Every amount is the mirror's; the accounting invariant
 * is checked after each step.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { MaxUint256 } from "ethers";
import { refreshFeeds } from "../../dev/localMarket";
import { rateAt, YEAR } from "../helpers/engine";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { expectedHealth, expectedValuation, largestBorrow } from "../helpers/mirror";
import {
  expectManagerEmpty,
  fundForManager,
  mirrorDebt,
  mirrorHealth,
  mirrorNewDebt,
  supplyKusd,
  units,
} from "../helpers/periphery";
import * as m from "../../src/math";

const WAD = m.WAD;

describe("Isolated position lifecycle", () => {
  it("test_lifecycle_isolated: opens at the limit, accrues a year, repays part, withdraws part, closes with repay-all", async () => {
    const keel = await loadKeel();
    const [, alice, bob] = await ethers.getSigners();
    const user = alice!;
    const managerAddress = await keel.manager.getAddress();
    const manager = keel.manager.connect(user);
    const wethToken = keel.assets.WETH!.token;
    const collateral = units(20n, 18);
    const weth = await fundForManager(keel, "WETH", user, collateral);
    const step = async (): Promise<void> => {
      await expectManagerEmpty(keel);
      await checkInvariants(keel);
    };

    // 1. Open and borrow the mirror's maxDebt (V − Li), as far as debt rounding allows.
    const id = (await keel.engine.lastPositionId()) + 1n;
    let ts = await pinNext();
    const { amount: borrowed, limit } = await largestBorrow(keel, { classKey: weth, assets: [weth], amounts: [collateral] }, ts);
    expect(limit).to.equal(m.maxDebt(await expectedValuation(keel, [weth], [collateral])));
    // 20 WETH at $3000, Li = max(3.66 × 5%, 15%) = 18.3% of the value.
    expect(limit).to.equal(60_000n * WAD - 10_980n * WAD);
    const openDebt = await mirrorNewDebt(keel, weth, borrowed, ts);
    expect(openDebt).to.be.lte(limit);
    expect(borrowed).to.be.gte(limit - 2n);
    await (await manager.openAndBorrow(weth, collateral, borrowed, user.address)).wait();
    expect(await keel.nft.ownerOf(id)).to.equal(user.address);
    expect(await keel.engine.debtOf(id)).to.equal(openDebt);
    expect(await keel.kusd.balanceOf(user.address)).to.equal(borrowed);
    const atOpen = await keel.engine.healthFactor(id);
    const expectedAtOpen = await mirrorHealth(keel, [weth], [collateral], openDebt);
    expect([...atOpen]).to.deep.equal([expectedAtOpen.hf, expectedAtOpen.hfInitial]);
    expect(atOpen[1]).to.be.gte(WAD);
    await step();

    // 2. A year passes: the debt is the mirror's, to the wei, ≈ 2% more.
    await time.increase(YEAR);
    await refreshFeeds(keel);
    const yearDebt = await keel.engine.debtOf(id);
    expect(yearDebt).to.equal(await mirrorDebt(keel, id));
    expect(yearDebt).to.be.gt((openDebt * 10_199n) / 10_000n);
    expect(yearDebt).to.be.lt((openDebt * 10_201n) / 10_000n);
    const view = await keel.lens.position(id);
    expect(view.debt).to.equal(yearDebt);
    const health = await expectedHealth(keel, id);
    expect([view.hf, view.hfInitial]).to.deep.equal([health.hf, health.hfInitial]);
    expect(health.hfInitial).to.be.lt(WAD); // the fees pushed it over the initial limit, not the maintenance one
    expect(health.hf).to.be.gte(WAD);
    await step();

    // 3. Partial repay of 20,000 kUSD through the manager.
    await (await keel.kusd.connect(user).approve(managerAddress, MaxUint256)).wait();
    const repayAmount = 20_000n * WAD;
    ts = await pinNext();
    const [, , normBefore] = await keel.engine.positionInfo(id);
    const rate = await rateAt(keel, weth, ts);
    const kusdBefore = await keel.kusd.balanceOf(user.address);
    await (await manager.repay(id, repayAmount)).wait();
    const normAfter = normBefore - m.toNormDebtDown(repayAmount, rate);
    expect((await keel.engine.positionInfo(id))[2]).to.equal(normAfter);
    expect(await keel.engine.debtOf(id)).to.equal(m.toDebtUp(normAfter, rate));
    expect(await keel.kusd.balanceOf(user.address)).to.equal(kusdBefore - repayAmount);
    await step();

    // 4. Withdraw 5 WETH (the manager as NFT operator); HFi stays ≥ 1 and equals the mirror.
    await (await keel.nft.connect(user).setApprovalForAll(managerAddress, true)).wait();
    const withdrawn = units(5n, 18);
    await pinNext();
    await (await manager.withdraw(id, weth, withdrawn, user.address)).wait();
    expect(await keel.engine.collateralOf(id, weth)).to.equal(collateral - withdrawn);
    expect(await wethToken.balanceOf(user.address)).to.equal(withdrawn);
    const afterWithdraw = await keel.engine.healthFactor(id);
    const expectedAfterWithdraw = await expectedHealth(keel, id);
    expect([...afterWithdraw]).to.deep.equal([expectedAfterWithdraw.hf, expectedAfterWithdraw.hfInitial]);
    expect(afterWithdraw[1]).to.be.gte(WAD);
    await step();

    // 5. Close with repay-all: exactly the debt is pulled, all collateral comes back, the NFT is burnt.
    await supplyKusd(keel, bob!, user.address, 2_000n * WAD); // the fees accrued exceed what alice still holds
    const kusdBeforeClose = await keel.kusd.balanceOf(user.address);
    ts = await pinNext(86_400n);
    const closeDebt = await mirrorDebt(keel, id, ts);
    await expect(manager.closePosition(id, user.address)).to.emit(keel.engine, "PositionClosed").withArgs(id);
    expect(await keel.kusd.balanceOf(user.address)).to.equal(kusdBeforeClose - closeDebt);
    expect(await wethToken.balanceOf(user.address)).to.equal(collateral);
    await expect(keel.nft.ownerOf(id)).to.be.revertedWithCustomError(keel.nft, "ERC721NonexistentToken").withArgs(id);
    expect(await keel.lens.positions(id, id)).to.deep.equal([]);
    await step();
  });
});
