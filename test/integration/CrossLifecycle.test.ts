/**
 * User flow: a cross position (WETH + WBTC + USDC) through the PositionManager — open and borrow at the limit, a
 * year of fees collected to the surplus buffer, partial repay, withdrawing one asset entirely (the basket shrinks),
 * depositing a fourth asset (wstETH), close. Every amount is the mirror's; the invariant is checked after each step.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { MaxUint256 } from "ethers";
import { refreshFeeds } from "../../dev/localMarket";
import { rateAt, YEAR } from "../helpers/engine";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { expectedHealth, largestBorrow } from "../helpers/mirror";
import {
  expectManagerEmpty,
  fundForManager,
  mirrorDebt,
  mirrorFeesAt,
  mirrorHealth,
  mirrorNewDebt,
  supplyKusd,
  units,
} from "../helpers/periphery";
import * as m from "../../src/math";

const WAD = m.WAD;

describe("Cross position lifecycle", () => {
  it("test_lifecycle_cross: opens a 3-asset basket at the limit, pays a year of fees, reshapes the basket, closes", async () => {
    const keel = await loadKeel();
    const [, alice, bob] = await ethers.getSigners();
    const user = alice!;
    const managerAddress = await keel.manager.getAddress();
    const manager = keel.manager.connect(user);
    const cross = await keel.engine.CROSS_CLASS();
    const amounts = { WETH: units(10n, 18), WBTC: units(1n, 8) / 2n, USDC: units(20_000n, 6), wstETH: units(4n, 18) };
    const weth = await fundForManager(keel, "WETH", user, amounts.WETH);
    const wbtc = await fundForManager(keel, "WBTC", user, amounts.WBTC);
    const usdc = await fundForManager(keel, "USDC", user, amounts.USDC);
    const wstEth = await fundForManager(keel, "wstETH", user, amounts.wstETH);
    const step = async (): Promise<void> => {
      await expectManagerEmpty(keel);
      await checkInvariants(keel);
    };
    const expectHealthIsMirror = async (id: bigint): Promise<{ hf: bigint; hfInitial: bigint }> => {
      const [hf, hfInitial] = await keel.engine.healthFactor(id);
      const expected = await expectedHealth(keel, id);
      expect([hf, hfInitial]).to.deep.equal([expected.hf, expected.hfInitial]);
      const view = await keel.lens.position(id);
      expect([view.hf, view.hfInitial, view.debt]).to.deep.equal([hf, hfInitial, await keel.engine.debtOf(id)]);
      return expected;
    };

    // 1. Open the basket and borrow the mirror's maxDebt, as far as debt rounding allows.
    const basket = [weth, wbtc, usdc];
    const basketAmounts = [amounts.WETH, amounts.WBTC, amounts.USDC];
    const id = (await keel.engine.lastPositionId()) + 1n;
    let ts = await pinNext();
    const { amount: borrowed, limit } = await largestBorrow(keel, { classKey: cross, assets: basket, amounts: basketAmounts }, ts);
    expect(borrowed).to.be.gte(limit - 2n);
    const openDebt = await mirrorNewDebt(keel, cross, borrowed, ts);
    await (await manager.openCrossAndBorrow(basket, basketAmounts, borrowed, user.address)).wait();
    expect([...(await keel.engine.collateralAssets(id))]).to.deep.equal(basket);
    expect(await keel.engine.debtOf(id)).to.equal(openDebt);
    expect(await keel.kusd.balanceOf(user.address)).to.equal(borrowed);
    const atOpen = await expectHealthIsMirror(id);
    expect(atOpen).to.deep.equal(await mirrorHealth(keel, basket, basketAmounts, openDebt));
    expect(atOpen.hfInitial).to.be.gte(WAD);
    // $80,000 of collateral; the floors bind (Σ hi·v = 15% × 30,000 + 14.5% × 30,000 + 9% × 20,000 = 10,650 above the
    // 3.66σ stress of the correlated basket, ≈ 10,174), so the basket borrows more than WETH alone would
    // (3.66 × 5% > 15%).
    expect(limit).to.equal(80_000n * WAD - 10_650n * WAD);
    await step();

    // 2. A year passes at the 3% cross fee; the debt is the mirror's to the wei.
    await time.increase(YEAR);
    await refreshFeeds(keel);
    const yearDebt = await keel.engine.debtOf(id);
    expect(yearDebt).to.equal(await mirrorDebt(keel, id));
    expect(yearDebt).to.be.gt((openDebt * 10_299n) / 10_000n);
    expect(yearDebt).to.be.lt((openDebt * 10_301n) / 10_000n);
    await expectHealthIsMirror(id);
    await step();

    // 3. Fees are collected to the surplus buffer: exactly the mirror's accrual.
    ts = await pinNext();
    const fees = await mirrorFeesAt(keel, ts);
    expect(fees).to.equal((await mirrorDebt(keel, id, ts)) - openDebt);
    const surplusAddress = await keel.surplus.getAddress();
    const surplusBefore = await keel.kusd.balanceOf(surplusAddress);
    await expect(keel.engine.connect(bob!).collectFees()).to.emit(keel.engine, "FeesCollected").withArgs(fees);
    expect(await keel.kusd.balanceOf(surplusAddress)).to.equal(surplusBefore + fees);
    expect(await keel.engine.accruedFees()).to.equal(0n);
    await step();

    // 4. Repay down to 35,000 kUSD of debt.
    await (await keel.kusd.connect(user).approve(managerAddress, MaxUint256)).wait();
    ts = await pinNext();
    const repayAmount = (await mirrorDebt(keel, id, ts)) - 35_000n * WAD;
    const rate = await rateAt(keel, cross, ts);
    const [, , normBefore] = await keel.engine.positionInfo(id);
    const kusdBefore = await keel.kusd.balanceOf(user.address);
    await (await manager.repay(id, repayAmount)).wait();
    const normAfter = normBefore - m.toNormDebtDown(repayAmount, rate);
    expect(await keel.engine.debtOf(id)).to.equal(m.toDebtUp(normAfter, rate));
    expect(await keel.kusd.balanceOf(user.address)).to.equal(kusdBefore - repayAmount);
    await expectHealthIsMirror(id);
    await step();

    // 5. Withdraw all the WBTC: the basket shrinks to WETH + USDC.
    await (await keel.nft.connect(user).setApprovalForAll(managerAddress, true)).wait();
    await (await manager.withdraw(id, wbtc, MaxUint256, user.address)).wait();
    expect(await keel.engine.collateralOf(id, wbtc)).to.equal(0n);
    expect(await keel.assets.WBTC!.token.balanceOf(user.address)).to.equal(amounts.WBTC);
    expect([...(await keel.engine.collateralAssets(id))]).to.deep.equal([weth, usdc]);
    const shrunk = await expectHealthIsMirror(id);
    expect(shrunk.hfInitial).to.be.gte(WAD);
    await step();

    // 6. Deposit a fourth listed asset, wstETH: it joins the basket.
    await (await manager.deposit(id, wstEth, amounts.wstETH)).wait();
    expect([...(await keel.engine.collateralAssets(id))]).to.deep.equal([weth, usdc, wstEth]);
    expect(await keel.engine.collateralOf(id, wstEth)).to.equal(amounts.wstETH);
    const grown = await expectHealthIsMirror(id);
    expect(grown.hf).to.be.gt(shrunk.hf);
    const view = await keel.lens.position(id);
    expect([...view.amounts]).to.deep.equal([amounts.WETH, amounts.USDC, amounts.wstETH]);
    await step();

    // 7. Close: exactly the debt is pulled; WETH, USDC and wstETH come back; the NFT is burnt.
    await supplyKusd(keel, bob!, user.address, 5_000n * WAD); // alice repaid part with kUSD she had borrowed
    const kusdBeforeClose = await keel.kusd.balanceOf(user.address);
    ts = await pinNext(3_600n);
    const closeDebt = await mirrorDebt(keel, id, ts);
    await expect(manager.closePosition(id, user.address)).to.emit(keel.engine, "PositionClosed").withArgs(id);
    expect(await keel.kusd.balanceOf(user.address)).to.equal(kusdBeforeClose - closeDebt);
    expect(await keel.assets.WETH!.token.balanceOf(user.address)).to.equal(amounts.WETH);
    expect(await keel.assets.USDC!.token.balanceOf(user.address)).to.equal(amounts.USDC);
    expect(await keel.assets.wstETH!.token.balanceOf(user.address)).to.equal(amounts.wstETH);
    await expect(keel.engine.positionInfo(id)).to.be.revertedWithCustomError(keel.engine, "PositionNotFound").withArgs(id);
    await step();
  });
});
