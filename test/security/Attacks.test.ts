/**
 * Known attacks on CDP engines, as scenarios against the real deployment: self-liquidation for profit, donations to
 * the engine, a liquidation racing the owner's cure in one block, re-entry through the liquidation callback and the
 * kUSD flash mint, and dust that could never be liquidated. Each asserts the spec's bound exactly (mirror values).
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256, id as keccakId } from "ethers";
import type { Keel } from "../../deploy";
import { refreshFeeds } from "../../dev/localMarket";
import { keelFixture, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { expectedLiquidation, fundKusd, openIsolatedDebt, setPrice, State } from "../helpers/liquidation";
import { expectedHealth } from "../helpers/mirror";
import * as m from "../../src/math";
import { MockFlashBorrower__factory, MockLiquidationReceiver__factory } from "../../typechain-types";

const E18 = m.WAD;
const GRACE = 6n * 3600n;

interface Scene {
  keel: Keel;
  owner: HardhatEthersSigner;
  liq: HardhatEthersSigner;
  attacker: HardhatEthersSigner;
  weth: string;
  /** 10 WETH, 24,500 kUSD, margin-called at $2,800 and past its deadline: Liquidatable, HF just under 1. */
  id: bigint;
}

async function lapsedFixture(): Promise<Scene> {
  const keel = await keelFixture();
  const [, owner, liq, attacker] = await ethers.getSigners();
  await fundKusd(keel, liq!, 40_000n * E18);
  const id = await openIsolatedDebt(keel, owner!, "WETH", 10n * E18, 24_500n * E18);
  await setPrice(keel, "WETH", 2800);
  await (await keel.engine.marginCall(id)).wait();
  await time.increase(GRACE);
  await refreshFeeds(keel);
  return { keel, owner: owner!, liq: liq!, attacker: attacker!, weth: await keel.assets.WETH!.token.getAddress(), id };
}

describe("Attack scenarios", () => {
  describe("self-liquidation", () => {
    it("test_selfLiquidation_ownerLiquidatingOwnPosition_losesExactlyTheProtocolFee", async () => {
      const { keel, owner, weth, id } = await loadFixture(lapsedFixture);
      const wethToken = keel.assets.WETH!.token;
      const tokensBefore = (await wethToken.balanceOf(owner.address)) + (await keel.engine.collateralOf(id, weth));
      const kusdBefore = await keel.kusd.balanceOf(owner.address);
      const ts = await pinNext();
      const e = await expectedLiquidation(keel, id, weth, MaxUint256, ts);
      await expect(keel.engine.connect(owner).liquidate(id, weth, MaxUint256, owner.address, "0x"))
        .to.emit(keel.engine, "Liquidated")
        .withArgs(id, owner.address, weth, e.repaid, e.seized, 0n);
      // Collateral only changed pockets; kUSD paid = repaid + fee; debt fell by the debt repaid.
      expect((await wethToken.balanceOf(owner.address)) + (await keel.engine.collateralOf(id, weth))).to.equal(tokensBefore);
      const paid = kusdBefore - (await keel.kusd.balanceOf(owner.address));
      expect(paid).to.equal(e.repaid + e.fee);
      expect(e.debt - (await keel.engine.debtOf(id))).to.equal(e.debt - e.debtAfter);
      // Net worth (tokens + kUSD − debt) changes by −fee (plus the rounding of debt removed, in the protocol's favour).
      const netChange = e.debt - e.debtAfter - paid;
      // The fee is the protocol's share of the bonus at the position's HF (≈ 0.986 at $2,800: 2% + 3% × 0.014 / 0.05).
      const r = await keel.risk.assetRisk(weth);
      const bonus = m.penaltyAtDown(e.hf, r.minLiquidationPenalty, r.liquidationPenalty, r.fullPenaltyHF);
      expect(e.penalties[0]).to.equal(bonus);
      expect(bonus).to.be.gt(r.minLiquidationPenalty).and.lt(r.liquidationPenalty);
      const share = (await keel.engine.liquidationParams()).protocolShare;
      expect(e.fee).to.equal(m.protocolFeeUp(e.repaid, bonus, share));
      expect(e.fee).to.be.greaterThan(0n);
      expect(netChange).to.be.lte(-e.fee);
      expect(netChange).to.be.gte(-e.fee - 1n);
      await checkInvariants(keel);
    });

    it("test_selfLiquidation_ofASafePosition_revertsNotLiquidatable", async () => {
      const { keel, owner, weth, id } = await loadFixture(lapsedFixture);
      await (await keel.engine.connect(owner).repay(id, 3_000n * E18)).wait(); // cures: HF ≥ 1
      expect((await keel.engine.healthFactor(id)).hf).to.be.gte(E18);
      // hf is read in the reverting block (accrual moves it every second): a predicate on the argument.
      await expect(keel.engine.connect(owner).liquidate(id, weth, MaxUint256, owner.address, "0x"))
        .to.be.revertedWithCustomError(keel.engine, "NotLiquidatable")
        .withArgs(id, (hf: bigint) => hf >= E18);
    });
  });

  describe("donations", () => {
    it("test_donation_tokensSentToTheEngine_changeNoPositionNoHealthNoTotals", async () => {
      const { keel, owner, attacker, weth, id } = await loadFixture(lapsedFixture);
      const wethToken = keel.assets.WETH!.token;
      const engineAddress = await keel.engine.getAddress();
      const before = {
        collateral: await keel.engine.collateralOf(id, weth),
        state: (await keel.engine.stateOf(id)).state,
        config: await keel.engine.collateralConfig(weth),
      };
      await (await wethToken.mint(attacker.address, 100n * E18)).wait();
      await (await wethToken.connect(attacker).transfer(engineAddress, 100n * E18)).wait();
      await (await keel.kusd.connect(owner).transfer(engineAddress, 1_000n * E18)).wait();
      expect(await keel.engine.collateralOf(id, weth)).to.equal(before.collateral);
      // Health is what the mirror computes from the position's own (unchanged) collateral and its debt.
      const mirror = await expectedHealth(keel, id);
      expect(await keel.engine.healthFactor(id)).to.deep.equal([mirror.hf, mirror.hfInitial]);
      expect(mirror.hf).to.be.lessThan(E18);
      expect((await keel.engine.stateOf(id)).state).to.equal(before.state);
      expect(await keel.engine.collateralConfig(weth)).to.deep.equal(before.config);
      // The donor cannot take it back through a position of their own, and a later deposit is credited only what
      // it brought (balance difference), not the donation.
      await (await keel.engine.connect(attacker).open(0, weth, attacker.address)).wait();
      const own = await keel.engine.lastPositionId();
      await expect(keel.engine.connect(attacker).withdraw(own, weth, E18, attacker.address))
        .to.be.revertedWithCustomError(keel.engine, "InsufficientCollateral")
        .withArgs(own, weth, 0n);
      await (await wethToken.mint(attacker.address, E18)).wait();
      await (await wethToken.connect(attacker).approve(engineAddress, E18)).wait();
      await (await keel.engine.connect(attacker).deposit(own, weth, E18)).wait();
      expect(await keel.engine.collateralOf(own, weth)).to.equal(E18);
      await expect(keel.engine.connect(attacker).withdraw(own, weth, E18 + 1n, attacker.address))
        .to.be.revertedWithCustomError(keel.engine, "InsufficientCollateral")
        .withArgs(own, weth, E18);
      // Still liquidatable exactly as before the donation.
      expect((await keel.engine.stateOf(id)).state).to.equal(State.Liquidatable);
      await checkInvariants(keel);
    });
  });

  describe("a liquidation racing the owner's cure in the same block", () => {
    const CURE = 1_000n * E18; // brings HF back above 1

    async function race(first: "owner" | "liquidator") {
      const s = await loadFixture(lapsedFixture);
      const { keel, owner, liq, weth, id } = s;
      const ts = await pinNext();
      const e = await expectedLiquidation(keel, id, weth, MaxUint256, ts);
      const high = { maxPriorityFeePerGas: 10n ** 10n, maxFeePerGas: 10n ** 11n, gasLimit: 3_000_000n };
      const low = { maxPriorityFeePerGas: 10n ** 9n, maxFeePerGas: 10n ** 11n, gasLimit: 3_000_000n };
      await network.provider.send("evm_setAutomine", [false]);
      try {
        const cure = await keel.engine.connect(owner).repay(id, CURE, first === "owner" ? high : low);
        const hit = await keel.engine.connect(liq).liquidate(id, weth, MaxUint256, liq.address, "0x", first === "owner" ? low : high);
        await mine();
        const [cureReceipt, hitReceipt] = await Promise.all([
          ethers.provider.getTransactionReceipt(cure.hash),
          ethers.provider.getTransactionReceipt(hit.hash),
        ]);
        expect(cureReceipt!.blockNumber).to.equal(hitReceipt!.blockNumber);
        return { s, e, cureOk: cureReceipt!.status === 1, hitOk: hitReceipt!.status === 1, cureIndex: cureReceipt!.index, hitIndex: hitReceipt!.index };
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
    }

    it("test_race_ownerFirst_cureWinsAndTheLiquidationRevertsNotLiquidatable", async () => {
      const { s, cureOk, hitOk, cureIndex, hitIndex } = await race("owner");
      const { keel, liq, weth, id } = s;
      expect(cureIndex).to.be.lessThan(hitIndex);
      expect([cureOk, hitOk]).to.deep.equal([true, false]);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(10n * E18);
      expect(await keel.engine.callDeadline(id)).to.equal(0n);
      await expect(keel.engine.connect(liq).liquidate.staticCall(id, weth, MaxUint256, liq.address, "0x"))
        .to.be.revertedWithCustomError(keel.engine, "NotLiquidatable")
        .withArgs(id, (hf: bigint) => hf >= E18);
      await checkInvariants(keel);
    });

    it("test_race_liquidatorFirst_ownerLosesOnlyThePenaltyOnAPartialAndTheCureStillLands", async () => {
      const { s, e, cureOk, hitOk, cureIndex, hitIndex } = await race("liquidator");
      const { keel, weth, id } = s;
      expect(hitIndex).to.be.lessThan(cureIndex);
      expect([hitOk, cureOk]).to.deep.equal([true, true]);
      // The liquidation is the mirror's partial one: at most closeFactor × D, seizing repaid × (1 + ℓ) at the price.
      const p = await keel.engine.liquidationParams();
      expect(e.repaid).to.be.lte(m.mulWadDown(e.debt, p.closeFactor));
      expect(e.repaid).to.be.lessThan(e.debt);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(e.amountsAfter[0]);
      const price = await keel.oracle.getPrice(weth);
      const penalty = (await keel.risk.assetRisk(weth)).liquidationPenalty;
      const lostValue = m.valueDown(e.seized, price, E18) - e.repaid; // collateral value given up beyond the debt repaid
      expect(lostValue).to.be.lte(m.mulWadDown(e.repaid, penalty));
      // The cure landed on the smaller debt; the position is healthy and the call cleared.
      const [hf] = await keel.engine.healthFactor(id);
      expect(hf).to.be.gte(E18);
      expect(await keel.engine.callDeadline(id)).to.equal(0n);
      await checkInvariants(keel);
    });
  });

  describe("re-entry through callbacks", () => {
    it("test_liquidationCallback_reenteringTheEngine_revertsReentrancyGuardReentrantCall", async () => {
      const { keel, owner, liq, weth, id } = await loadFixture(lapsedFixture);
      const receiver = await new MockLiquidationReceiver__factory(liq).deploy();
      const engine = await keel.engine.getAddress();
      const reentries: [string, string][] = [
        ["liquidate", keel.engine.interface.encodeFunctionData("liquidate", [id, weth, MaxUint256, liq.address, "0x"])],
        ["withdraw", keel.engine.interface.encodeFunctionData("withdraw", [id, weth, E18, liq.address])],
        ["borrow", keel.engine.interface.encodeFunctionData("borrow", [id, E18, liq.address])],
        ["repay", keel.engine.interface.encodeFunctionData("repay", [id, 100n * E18])],
        ["deposit", keel.engine.interface.encodeFunctionData("deposit", [id, weth, 1n])],
        ["marginCall", keel.engine.interface.encodeFunctionData("marginCall", [id])],
        ["collectFees", keel.engine.interface.encodeFunctionData("collectFees")],
      ];
      for (const [name, data] of reentries) {
        await (await receiver.setCall(engine, data)).wait();
        await expect(
          keel.engine.connect(liq).liquidate(id, weth, MaxUint256, await receiver.getAddress(), "0x01"),
          name,
        ).to.be.revertedWithCustomError(keel.engine, "ReentrancyGuardReentrantCall");
      }
      expect(await keel.engine.collateralOf(id, weth)).to.equal(10n * E18);
      // A wrong acknowledgement is refused by name.
      await (await receiver.setCall(ethers.ZeroAddress, "0x")).wait();
      await (await receiver.setAck(keccakId("wrong"))).wait();
      await expect(keel.engine.connect(liq).liquidate(id, weth, MaxUint256, await receiver.getAddress(), "0x01"))
        .to.be.revertedWithCustomError(keel.engine, "LiquidationCallbackFailed")
        .withArgs(await receiver.getAddress());
      // The honest callback goes through, once, and the owner is never called.
      await (await receiver.setAck(keccakId("ILiquidationReceiver.onKeelLiquidation"))).wait();
      await (await keel.engine.connect(liq).liquidate(id, weth, MaxUint256, await receiver.getAddress(), "0x01")).wait();
      expect(await receiver.calls()).to.equal(1n);
      expect(await keel.nft.ownerOf(id)).to.equal(owner.address);
      await checkInvariants(keel);
    });

    it("test_flashMint_liquidationWhoseCallbackReenters_revertsAndFlashMintIsUndone", async () => {
      const { keel, liq, weth, id } = await loadFixture(lapsedFixture);
      const borrower = await new MockFlashBorrower__factory(liq).deploy(await keel.kusd.getAddress());
      const receiver = await new MockLiquidationReceiver__factory(liq).deploy();
      await (await receiver.setCall(await keel.engine.getAddress(), keel.engine.interface.encodeFunctionData("withdraw", [id, weth, E18, liq.address]))).wait();
      const liquidation = keel.engine.interface.encodeFunctionData("liquidate", [id, weth, MaxUint256, await receiver.getAddress(), "0x01"]);
      await (await borrower.setCall(await keel.engine.getAddress(), liquidation, true)).wait();
      const supply = await keel.kusd.totalSupply();
      await expect(borrower.flash(await keel.kusd.getAddress(), 30_000n * E18)).to.be.revertedWithCustomError(
        keel.engine,
        "ReentrancyGuardReentrantCall",
      );
      expect(await keel.kusd.totalSupply()).to.equal(supply);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(10n * E18);
      await checkInvariants(keel);
    });

    it("test_flashMint_repayingDebtWithFlashKusd_cannotKeepIt_revertsAndDebtIsRestored", async () => {
      const { keel, liq, id } = await loadFixture(lapsedFixture);
      const borrower = await new MockFlashBorrower__factory(liq).deploy(await keel.kusd.getAddress());
      const debt = await keel.engine.debtOf(id);
      // Inside the flash mint: repay the owner's debt with the minted kUSD (anyone may repay).
      await (await borrower.setCall(await keel.engine.getAddress(), keel.engine.interface.encodeFunctionData("repay", [id, 20_000n * E18]), true)).wait();
      await expect(borrower.flash(await keel.kusd.getAddress(), 20_000n * E18)).to.be.revertedWithCustomError(
        keel.kusd,
        "ERC20InsufficientBalance",
      );
      // Not approving the repayment at all: refused too.
      await (await borrower.setCall(ethers.ZeroAddress, "0x", false)).wait();
      await expect(borrower.flash(await keel.kusd.getAddress(), 20_000n * E18)).to.be.revertedWithCustomError(
        keel.kusd,
        "ERC20InsufficientAllowance",
      );
      expect(await keel.engine.debtOf(id)).to.be.gte(debt);
      await checkInvariants(keel);
    });
  });

  describe("dust", () => {
    /**
     * A position of 0.0615 WETH with 150 kUSD debt (dust is 100; at $3,000 HFi = 184.5 × (1 − 18.3%) / 150 ≈ 1.005):
     * margin-called at $2,800 (HF = 172.2 × (1 − 13.75%) / 150 ≈ 0.990) and lapsed.
     */
    async function dustFixture() {
      const keel = await keelFixture();
      const [, owner, liq] = await ethers.getSigners();
      await fundKusd(keel, liq!, 1_000n * E18);
      const id = await openIsolatedDebt(keel, owner!, "WETH", 615n * 10n ** 14n, 150n * E18);
      await setPrice(keel, "WETH", 2800);
      await (await keel.engine.marginCall(id)).wait();
      await time.increase(GRACE);
      await refreshFeeds(keel);
      return { keel, owner: owner!, liq: liq!, weth: await keel.assets.WETH!.token.getAddress(), id };
    }

    it("test_dust_partialThatWouldLeaveDust_repaysAllInstead", async () => {
      const { keel, liq, weth, id } = await loadFixture(dustFixture);
      expect(await keel.engine.dust()).to.equal(100n * E18);
      const ts = await pinNext();
      const e = await expectedLiquidation(keel, id, weth, MaxUint256, ts);
      // Close factor and target alone would repay less than half; the rest would be under dust: all is repaid.
      expect(e.hf).to.be.gte((await keel.engine.liquidationParams()).criticalHF);
      expect(e.repaid).to.equal(e.debt);
      await (await keel.engine.connect(liq).liquidate(id, weth, MaxUint256, liq.address, "0x")).wait();
      expect(await keel.engine.debtOf(id)).to.equal(0n);
      await checkInvariants(keel);
    });

    it("test_dust_maxRepayLeavingDust_isRaisedToLeaveExactlyDust_whichStaysLiquidatable", async () => {
      const { keel, liq, weth, id } = await loadFixture(dustFixture);
      const dust = await keel.engine.dust();
      let ts = await pinNext();
      let e = await expectedLiquidation(keel, id, weth, 120n * E18, ts);
      expect(e.repaid).to.equal(e.debt - dust);
      const receipt = await (await keel.engine.connect(liq).liquidate(id, weth, 120n * E18, liq.address, "0x")).wait();
      // What is left is the debt at the liquidation's (pinned) time minus what it repaid: exactly the dust. Read from
      // the event, not a view: Hardhat runs a view of a past block a second later on a loaded machine, accruing a wei.
      const liquidated = receipt!.logs.map((l) => keel.engine.interface.parseLog(l)).find((x) => x?.name === "Liquidated")!;
      expect((await time.latest()) === Number(ts), "mined at the pinned time").to.equal(true);
      expect(e.debt - (liquidated.args.repaid as bigint)).to.equal(dust);
      // The position left at exactly the dust is still liquidatable to zero, even when a crash makes it insolvent.
      await setPrice(keel, "WETH", 2500);
      expect((await keel.engine.stateOf(id)).state).to.equal(State.Liquidatable);
      ts = await pinNext();
      e = await expectedLiquidation(keel, id, weth, MaxUint256, ts);
      await expect(keel.engine.connect(liq).liquidate(id, weth, MaxUint256, liq.address, "0x"))
        .to.emit(keel.engine, "Liquidated")
        .withArgs(id, liq.address, weth, e.repaid, e.seized, e.badDebt);
      expect(await keel.engine.debtOf(id)).to.equal(0n);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(e.amountsAfter[0]);
      await checkInvariants(keel);
    });

    it("test_dust_ownerCannotLeaveDustByRepayingOrBorrowing", async () => {
      const { keel, owner, liq, id } = await loadFixture(dustFixture);
      const dust = await keel.engine.dust();
      await (await keel.kusd.connect(liq).transfer(owner.address, 10n * E18)).wait(); // for the accrued interest
      await expect(keel.engine.connect(owner).repay(id, 60n * E18)).to.be.revertedWithCustomError(keel.engine, "DustDebt");
      await (await keel.engine.connect(owner).repay(id, MaxUint256)).wait();
      await setPrice(keel, "WETH", 3000);
      await expect(keel.engine.connect(owner).borrow(id, dust - E18, owner.address)).to.be.revertedWithCustomError(keel.engine, "DustDebt");
      await checkInvariants(keel);
    });
  });
});
