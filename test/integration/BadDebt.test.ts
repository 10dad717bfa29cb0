/**
 * Insolvent liquidation (docs/spec.md §4, §6): all collateral seized, the uncovered debt recorded as bad debt, the surplus
 * buffer's kUSD burnt first, the remaining deficit paid down by anyone, and kUSD supply == TD − F + B throughout.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { MaxUint256 } from "ethers";
import { refreshFeeds } from "../../dev/localMarket";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { expectedLiquidation, fundKusd, openCrossDebt, openIsolatedDebt, setPrice } from "../helpers/liquidation";
import * as m from "../../src/math";
import { savingsOwed } from "../../src/math/peg";

const E18 = m.WAD;

describe("Bad debt", () => {
  it("test_badDebt_isolatedGap_surplusThenCover: a price gap makes an isolated position insolvent: everything seized, surplus burnt first, deficit covered by anyone", async () => {
    const keel = await loadKeel();
    const [, user, liq, payer] = await ethers.getSigners();
    const weth = await keel.assets.WETH!.token.getAddress();
    const id = await openIsolatedDebt(keel, user!, "WETH", 10n * E18, 24_500n * E18);
    await fundKusd(keel, liq!, 30_000n * E18);
    await fundKusd(keel, payer!, 10_000n * E18);
    // Fill the surplus buffer with a month of stability fees.
    await time.increase(30n * 86_400n);
    await refreshFeeds(keel);
    await (await keel.engine.collectFees()).wait();
    const surplus = await keel.kusd.balanceOf(keel.surplus.target);
    expect(surplus).to.be.gt(0n);
    await checkInvariants(keel);

    await setPrice(keel, "WETH", 2000); // gap down: V / (1 + ℓ) < D
    await pinNext();
    await expect(keel.engine.connect(liq!).liquidate(id, weth, 1_000n * E18, liq!.address, "0x"))
      .to.be.revertedWithCustomError(keel.engine, "MaxRepayTooLow")
      .withArgs(id, m.repayForDown(10n * E18, 5n * 10n ** 16n, 2000n * E18, E18));

    const ts = await pinNext();
    const e = await expectedLiquidation(keel, id, weth, MaxUint256, ts);
    expect(e.coverable).to.equal(m.repayForDown(10n * E18, 5n * 10n ** 16n, 2000n * E18, E18));
    expect(e.repaid).to.equal(e.coverable);
    expect(e.seized).to.equal(10n * E18);
    expect(e.badDebt).to.equal(e.debt - e.repaid);
    expect(e.badDebt).to.be.gt(surplus);
    const preview = await keel.engine.previewLiquidation.staticCall(id, weth, MaxUint256, { blockTag: "pending" });
    expect([...preview]).to.deep.equal([e.repaid, 10n * E18, 0n, e.badDebt]); // no protocol fee when insolvent

    const liqKusd = await keel.kusd.balanceOf(liq!.address);
    const supplyBefore = await keel.kusd.totalSupply();
    await expect(keel.engine.connect(liq!).liquidate(id, weth, MaxUint256, liq!.address, "0x"))
      .to.emit(keel.engine, "Liquidated")
      .withArgs(id, liq!.address, weth, e.repaid, 10n * E18, e.badDebt)
      .and.to.emit(keel.engine, "DeficitCovered")
      .withArgs(keel.surplus.target, surplus, 0n);
    expect(await keel.kusd.balanceOf(liq!.address)).to.equal(liqKusd - e.repaid);
    expect(await keel.kusd.balanceOf(keel.surplus.target)).to.equal(0n);
    expect(await keel.kusd.totalSupply()).to.equal(supplyBefore - e.repaid - surplus);
    expect(await keel.engine.deficit()).to.equal(e.badDebt - surplus);
    expect(await keel.engine.debtOf(id)).to.equal(0n);
    expect(await keel.engine.collateralOf(id, weth)).to.equal(0n);
    expect(await keel.assets.WETH!.token.balanceOf(liq!.address)).to.equal(10n * E18);
    const ledger = await checkInvariants(keel);
    expect(ledger.badDebt).to.equal(e.badDebt - surplus);

    // A third party pays part of the deficit, then the rest (asking for more than is left burns only what is left).
    const deficit = e.badDebt - surplus;
    const part = deficit / 3n;
    await expect(keel.engine.connect(payer!).coverDeficit(part))
      .to.emit(keel.engine, "DeficitCovered")
      .withArgs(payer!.address, 0n, part);
    expect(await keel.engine.deficit()).to.equal(deficit - part);
    await checkInvariants(keel);
    const payerKusd = await keel.kusd.balanceOf(payer!.address);
    await expect(keel.engine.connect(payer!).coverDeficit(MaxUint256))
      .to.emit(keel.engine, "DeficitCovered")
      .withArgs(payer!.address, 0n, deficit - part);
    expect(await keel.kusd.balanceOf(payer!.address)).to.equal(payerKusd - (deficit - part));
    expect(await keel.engine.deficit()).to.equal(0n);
    await expect(keel.engine.connect(payer!).coverDeficit(1n)).to.be.revertedWithCustomError(keel.engine, "NoDeficit");
    await expect(keel.engine.connect(payer!).coverDeficit(0n)).to.be.revertedWithCustomError(keel.engine, "ZeroAmount");
    await checkInvariants(keel);
  });

  it("test_badDebt_cross_surplusCoversAll: an insolvent cross position hands every asset to the receiver; a surplus larger than the bad debt covers it all", async () => {
    const keel = await loadKeel();
    const [, user, liq, , receiver] = await ethers.getSigners();
    const weth = await keel.assets.WETH!.token.getAddress();
    const wbtc = await keel.assets.WBTC!.token.getAddress();
    // A first, solvent liquidation of another position fills the surplus buffer with its protocol fee.
    const donor = await openIsolatedDebt(keel, user!, "WETH", 10n * E18, 24_500n * E18);
    const id = await openCrossDebt(keel, user!, [["WETH", 1n * E18], ["WBTC", 5_000_000n]], 4_200n * E18);
    await fundKusd(keel, liq!, 30_000n * E18);
    await setPrice(keel, "WETH", 2650);
    await (await keel.engine.connect(liq!).liquidate(donor, weth, MaxUint256, liq!.address, "0x")).wait();
    const surplus = await keel.kusd.balanceOf(keel.surplus.target);
    expect(surplus).to.be.gt(100n * E18);

    await setPrice(keel, "WBTC", 44_000);
    await setPrice(keel, "WETH", 2000);
    const ts = await pinNext();
    const e = await expectedLiquidation(keel, id, wbtc, MaxUint256, ts);
    expect(e.coverable).to.be.lt(e.debt);
    expect(e.badDebt).to.be.gt(0n).and.lt(surplus);
    await expect(keel.engine.connect(liq!).liquidate(id, wbtc, MaxUint256, receiver!.address, "0x"))
      .to.emit(keel.engine, "Liquidated")
      .withArgs(id, liq!.address, wbtc, e.repaid, 5_000_000n, e.badDebt)
      .and.to.emit(keel.engine, "DeficitCovered")
      .withArgs(keel.surplus.target, e.badDebt, 0n);
    expect(await keel.assets.WBTC!.token.balanceOf(receiver!.address)).to.equal(5_000_000n);
    expect(await keel.assets.WETH!.token.balanceOf(receiver!.address)).to.equal(1n * E18);
    expect(await keel.engine.collateralAssets(id)).to.deep.equal([]);
    expect(await keel.kusd.balanceOf(keel.surplus.target)).to.equal(surplus - e.badDebt);
    expect(await keel.engine.deficit()).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_badDebt_savingsPaidOnlyBeyondTheDeficit: while bad debt is uncovered, the buffer pays savings interest only from what exceeds it", async () => {
    const keel = await loadKeel();
    const [, user, liq, saver] = await ethers.getSigners();
    const weth = await keel.assets.WETH!.token.getAddress();
    const id = await openIsolatedDebt(keel, user!, "WETH", 10n * E18, 24_500n * E18);
    await fundKusd(keel, liq!, 30_000n * E18);
    await fundKusd(keel, saver!, 20_000n * E18);
    await (await keel.kusd.connect(saver!).approve(keel.savings.target, MaxUint256)).wait();
    await (await keel.savings.connect(saver!).deposit(10_000n * E18, saver!.address)).wait();
    await setPrice(keel, "WETH", 2000);
    await (await keel.engine.connect(liq!).liquidate(id, weth, MaxUint256, liq!.address, "0x")).wait();
    const deficit = await keel.engine.deficit();
    expect(deficit).to.be.gt(0n);
    // Fees arrive, but less than the deficit: nothing is spendable, savings earn nothing.
    await (await keel.kusd.connect(saver!).transfer(keel.surplus.target, deficit / 2n)).wait();
    expect(await keel.surplus.spendable()).to.equal(0n);
    await time.increase(30 * 86_400);
    const t0 = BigInt(await keel.savings.lastDrip());
    let ts = await pinNext();
    const owed = savingsOwed(10_000n * E18, await keel.savings.savingsRate(), ts - t0);
    await expect(keel.savings.drip()).to.emit(keel.savings, "Dripped").withArgs(owed, 0n);
    // More than the deficit arrives: only the excess is paid.
    await (await keel.kusd.connect(liq!).transfer(keel.surplus.target, deficit / 2n + 10n * E18)).wait();
    const excess = (await keel.kusd.balanceOf(keel.surplus.target)) - deficit;
    expect(await keel.surplus.spendable()).to.equal(excess);
    await time.increase(300 * 86_400);
    ts = await pinNext();
    const owed2 = savingsOwed(10_000n * E18, await keel.savings.savingsRate(), ts - (await keel.savings.lastDrip()));
    expect(owed2).to.be.gt(excess);
    await expect(keel.savings.drip()).to.emit(keel.savings, "Dripped").withArgs(owed2, excess);
    expect(await keel.kusd.balanceOf(keel.surplus.target)).to.equal(deficit);
    await checkInvariants(keel);
  });
});
