/**
 * PegStabilityModule (docs/spec.md §10): every path and revert with exact amounts from src/math/peg.ts, at 6
 * decimals (the local USDC) and 18 (a second module over an 18-decimal reserve); the ceiling, the freeze on a depeg
 * or a failing price and the unfreeze on recovery, the guardian's pause (selling only), governed setters, hostile
 * reserves (fee on transfer, a blocklisted recipient), and the §6 ledger with P after every step.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, type Signer } from "ethers";
import type { Keel } from "../../deploy";
import { buyGemQuote, sellGemQuote } from "../../src/math/peg";
import {
  MockBlocklistERC20__factory,
  MockERC20__factory,
  MockFeeOnTransferERC20__factory,
  MockReentrantERC20__factory,
  PegStabilityModule__factory,
  type PegStabilityModule,
} from "../../typechain-types";
import { loadKeel } from "../helpers/fixtures";
import { govern as governSlowly, governTx as governTxSlowly } from "../helpers/governance";
import { refreshFeeds } from "../../dev/localMarket";
import { checkInvariants } from "../helpers/invariant";
import { deployAggregator, feedConfig, governSetFeed } from "../helpers/oracle";

const WAD = 10n ** 18n;

// A governed call waits out the timelock's two days, longer than USDC's one-day heartbeat: refresh the feeds after.
async function govern(keel: Keel, target: { getAddress(): Promise<string> }, data: string): Promise<void> {
  await governSlowly(keel, target, data);
  await refreshFeeds(keel);
}
const governTx = governTxSlowly;
const USDC = (n: bigint): bigint => n * 10n ** 6n;
const FEE = 10n ** 15n; // 0.1%, the local config's feeIn and feeOut
const THRESHOLD = 2n * 10n ** 16n; // 2%

async function setup(): Promise<{ keel: Keel; user: Signer; other: Signer; usdc: Keel["assets"][string]["token"] }> {
  const keel = await loadKeel();
  const [, user, other] = await ethers.getSigners();
  const usdc = keel.assets.USDC!.token;
  await (await usdc.mint(await user!.getAddress(), USDC(10_000_000n))).wait();
  await (await usdc.connect(user!).approve(keel.psm.target, ethers.MaxUint256)).wait();
  return { keel, user: user!, other: other!, usdc };
}

/** A second module over a fresh reserve token listed on the oracle at $1 (8-decimal feed) and registered as a minter. */
async function moduleOver(keel: Keel, token: { getAddress(): Promise<string> }, params = { feeIn: FEE, feeOut: FEE, debtCeiling: 10n ** 24n, freezeThreshold: THRESHOLD }): Promise<PegStabilityModule> {
  const [deployer] = await ethers.getSigners();
  const feed = await deployAggregator(8, 10n ** 8n);
  await (await governSetFeed(keel, await token.getAddress(), await feedConfig(feed, 86_400))).wait();
  await (await feed.updateAnswer(10n ** 8n)).wait();
  const psm = await new PegStabilityModule__factory(deployer!).deploy(keel.accessManager, keel.kusd, token, keel.oracle, keel.surplus, params);
  await govern(keel, keel.kusd, keel.kusd.interface.encodeFunctionData("setPegModule", [await psm.getAddress(), true]));
  await (await feed.updateAnswer(10n ** 8n)).wait();
  return psm;
}

describe("PegStabilityModule", () => {
  it("test_sellGem_6decimals_exactAmounts: kUSD out = scaled − feeIn to `to`, the fee to the buffer, P grows by the scaled amount", async () => {
    const { keel, user, other, usdc } = await setup();
    const gemAmount = USDC(1_000n) + 1n; // an odd unit, so the fee rounds
    const q = sellGemQuote(gemAmount, 6, FEE);
    const buffer = await keel.kusd.balanceOf(keel.surplus);
    const to = await other.getAddress();
    await expect(keel.psm.connect(user).sellGem(to, gemAmount))
      .to.emit(keel.psm, "GemSold")
      .withArgs(await user.getAddress(), to, gemAmount, q.kusd, q.fee);
    expect(await keel.kusd.balanceOf(to)).to.equal(q.kusd);
    expect(await keel.kusd.balanceOf(keel.surplus)).to.equal(buffer + q.fee);
    expect(await keel.psm.debt()).to.equal(q.amount);
    expect(await usdc.balanceOf(keel.psm.target)).to.equal(gemAmount);
    expect((await checkInvariants(keel)).pegDebt).to.equal(q.amount);
  });

  it("test_buyGem_6decimals_exactAmounts: burns scaled + feeOut from the caller, the fee to the buffer, P falls by the scaled amount", async () => {
    const { keel, user, other, usdc } = await setup();
    await (await keel.psm.connect(user).sellGem(await user.getAddress(), USDC(5_000n))).wait();
    const gemAmount = USDC(2_000n) + 3n;
    const q = buyGemQuote(gemAmount, 6, FEE);
    const [kusdBefore, buffer, debt] = [await keel.kusd.balanceOf(user), await keel.kusd.balanceOf(keel.surplus), await keel.psm.debt()];
    const to = await other.getAddress();
    await expect(keel.psm.connect(user).buyGem(to, gemAmount))
      .to.emit(keel.psm, "GemBought")
      .withArgs(await user.getAddress(), to, gemAmount, q.kusd, q.fee);
    expect(await keel.kusd.balanceOf(user)).to.equal(kusdBefore - q.kusd);
    expect(await keel.kusd.balanceOf(keel.surplus)).to.equal(buffer + q.fee);
    expect(await keel.psm.debt()).to.equal(debt - q.amount);
    expect(await usdc.balanceOf(to)).to.equal(gemAmount);
    await checkInvariants(keel);
  });

  it("test_roundTrip_neverProfits: selling then buying back the same reserve leaves the user poorer by exactly both fees", async () => {
    const { keel, user, usdc } = await setup();
    const me = await user.getAddress();
    const gemAmount = USDC(100_000n);
    const [usdcBefore, kusdBefore] = [await usdc.balanceOf(me), await keel.kusd.balanceOf(me)];
    await (await keel.psm.connect(user).sellGem(me, gemAmount)).wait();
    // The round trip needs the buy-side fee on top of what the sale paid out.
    const sold = sellGemQuote(gemAmount, 6, FEE);
    const bought = buyGemQuote(gemAmount, 6, FEE);
    await (await keel.psm.connect(user).sellGem(me, USDC(1_000n))).wait();
    await (await keel.psm.connect(user).buyGem(me, gemAmount)).wait();
    const extra = sellGemQuote(USDC(1_000n), 6, FEE);
    expect(await usdc.balanceOf(me)).to.equal(usdcBefore - USDC(1_000n));
    expect(await keel.kusd.balanceOf(me)).to.equal(kusdBefore + sold.kusd + extra.kusd - bought.kusd);
    // In dollars: the user holds 1,000 USDC less and less than 1,000 kUSD more: the fees were the only flow.
    expect((await keel.kusd.balanceOf(me)) - kusdBefore).to.equal(USDC(1_000n) * 10n ** 12n - sold.fee - extra.fee - bought.fee);
    await checkInvariants(keel);
  });

  it("test_ceiling: a sale that would take P over the ceiling reverts with both numbers; buying back is limited to P", async () => {
    const { keel, user } = await setup();
    await govern(keel, keel.psm, keel.psm.interface.encodeFunctionData("setDebtCeiling", [1_000n * WAD]));
    const me = await user.getAddress();
    await (await keel.psm.connect(user).sellGem(me, USDC(600n))).wait();
    await expect(keel.psm.connect(user).sellGem(me, USDC(401n)))
      .to.be.revertedWithCustomError(keel.psm, "PegCeilingExceeded")
      .withArgs(1_001n * WAD, 1_000n * WAD);
    await (await keel.psm.connect(user).sellGem(me, USDC(400n))).wait();
    expect(await keel.psm.debt()).to.equal(await keel.psm.debtCeiling());
    await expect(keel.psm.connect(user).buyGem(me, USDC(1_001n)))
      .to.be.revertedWithCustomError(keel.psm, "PegDebtTooLow")
      .withArgs(1_001n * WAD, 1_000n * WAD);
  });

  it("test_freeze_onDepeg_andRecovery: selling freezes while USDC is > 2% off $1 (either side), buying stays open; it reopens on recovery", async () => {
    const { keel, user } = await setup();
    const me = await user.getAddress();
    const feed = keel.assets.USDC!.feed;
    await (await keel.psm.connect(user).sellGem(me, USDC(10_000n))).wait();
    for (const answer of [97_900_000n, 102_100_001n]) {
      await (await feed.updateAnswer(answer)).wait();
      expect(await keel.psm.sellGemFrozen()).to.equal(true);
      await expect(keel.psm.connect(user).sellGem(me, USDC(1n)))
        .to.be.revertedWithCustomError(keel.psm, "ReserveDepegged")
        .withArgs(answer * 10n ** 10n, THRESHOLD);
      await (await keel.psm.connect(user).buyGem(me, USDC(100n))).wait(); // exits stay open
    }
    await (await feed.updateAnswer(98_000_000n)).wait(); // exactly 2% off: still open
    expect(await keel.psm.sellGemFrozen()).to.equal(false);
    await (await keel.psm.connect(user).sellGem(me, USDC(1n))).wait();
    await checkInvariants(keel);
  });

  it("test_freeze_onFailingPrice: a stale USDC feed freezes selling (ReservePriceUnavailable); buying still works", async () => {
    const { keel, user } = await setup();
    const me = await user.getAddress();
    await (await keel.psm.connect(user).sellGem(me, USDC(10_000n))).wait();
    await time.increase(2 * 86_400); // past USDC's one-day heartbeat
    expect(await keel.psm.sellGemFrozen()).to.equal(true);
    await expect(keel.psm.connect(user).sellGem(me, USDC(1n))).to.be.revertedWithCustomError(keel.psm, "ReservePriceUnavailable");
    await (await keel.psm.connect(user).buyGem(me, USDC(10n))).wait();
  });

  it("test_guardianPause_sellOnly: the guardian pauses selling; buying cannot be paused; unpausing reopens", async () => {
    const { keel, user } = await setup();
    const [guardian] = await ethers.getSigners(); // the local config's guardian is the deployer
    const me = await user.getAddress();
    await (await keel.psm.connect(user).sellGem(me, USDC(100n))).wait();
    await expect(keel.psm.connect(guardian!).setSellGemPaused(true)).to.emit(keel.psm, "SellGemPausedSet").withArgs(true);
    expect(await keel.psm.sellGemFrozen()).to.equal(true);
    await expect(keel.psm.connect(user).sellGem(me, USDC(1n))).to.be.revertedWithCustomError(keel.psm, "SellGemPaused");
    await (await keel.psm.connect(user).buyGem(me, USDC(1n))).wait();
    await expect(keel.psm.connect(guardian!).setSellGemPaused(true)).to.be.revertedWithCustomError(keel.psm, "NoChange");
    await (await keel.psm.connect(guardian!).setSellGemPaused(false)).wait();
    await (await keel.psm.connect(user).sellGem(me, USDC(1n))).wait();
  });

  it("test_badInput: zero amounts and zero recipients are refused; nothing moves", async () => {
    const { keel, user } = await setup();
    const me = await user.getAddress();
    await expect(keel.psm.connect(user).sellGem(me, 0n)).to.be.revertedWithCustomError(keel.psm, "ZeroAmount");
    await expect(keel.psm.connect(user).buyGem(me, 0n)).to.be.revertedWithCustomError(keel.psm, "ZeroAmount");
    await expect(keel.psm.connect(user).sellGem(ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(keel.psm, "ZeroAddress");
    await expect(keel.psm.connect(user).buyGem(ethers.ZeroAddress, 1n)).to.be.revertedWithCustomError(keel.psm, "ZeroAddress");
    await expect(keel.psm.connect(user).buyGem(me, 1n)).to.be.revertedWithCustomError(keel.psm, "PegDebtTooLow").withArgs(10n ** 12n, 0n);
    expect(await keel.psm.debt()).to.equal(0n);
  });

  it("test_18decimals_exactAmounts_andAmountTooSmall: a module over an 18-decimal reserve scales by 1; a wei that buys no kUSD after the fee is refused", async () => {
    const { keel, user } = await setup();
    const [deployer] = await ethers.getSigners();
    const dai = await new MockERC20__factory(deployer!).deploy("Dai", "DAI", 18);
    const psm = await moduleOver(keel, dai);
    const me = await user.getAddress();
    await (await dai.mint(me, 10n ** 24n)).wait();
    await (await dai.connect(user).approve(psm, ethers.MaxUint256)).wait();
    await expect(psm.connect(user).sellGem(me, 1n)).to.be.revertedWithCustomError(psm, "AmountTooSmall").withArgs(1n);
    const gemAmount = 123_456_789_012_345_678_901n;
    const q = sellGemQuote(gemAmount, 18, FEE);
    await expect(psm.connect(user).sellGem(me, gemAmount)).to.emit(psm, "GemSold").withArgs(me, me, gemAmount, q.kusd, q.fee);
    expect(await psm.scale()).to.equal(1n);
    const b = buyGemQuote(gemAmount / 2n, 18, FEE);
    await expect(psm.connect(user).buyGem(me, gemAmount / 2n)).to.emit(psm, "GemBought").withArgs(me, me, gemAmount / 2n, b.kusd, b.fee);
    expect(await psm.debt()).to.equal(q.amount - b.amount);
  });

  it("test_hostileReserves: a fee-on-transfer reserve is refused on the first sale; a blocklisted recipient makes buyGem revert cleanly", async () => {
    const { keel, user } = await setup();
    const [deployer] = await ethers.getSigners();
    const me = await user.getAddress();
    const fot = await new MockFeeOnTransferERC20__factory(deployer!).deploy("Fee", "FOT", 6, 100);
    const psmFot = await moduleOver(keel, fot);
    await (await fot.mint(me, USDC(1_000n))).wait();
    await (await fot.connect(user).approve(psmFot, ethers.MaxUint256)).wait();
    await expect(psmFot.connect(user).sellGem(me, USDC(100n)))
      .to.be.revertedWithCustomError(psmFot, "GemTransferShort")
      .withArgs(USDC(100n), USDC(99n));
    expect(await psmFot.debt()).to.equal(0n);

    const blk = await new MockBlocklistERC20__factory(deployer!).deploy("Block", "BLK", 6);
    const psmBlk = await moduleOver(keel, blk);
    await (await blk.mint(me, USDC(1_000n))).wait();
    await (await blk.connect(user).approve(psmBlk, ethers.MaxUint256)).wait();
    await (await psmBlk.connect(user).sellGem(me, USDC(500n))).wait();
    const blocked = await (await ethers.getSigners())[5]!.getAddress();
    await (await blk.setBlocked(blocked, true)).wait();
    const [kusd, debt] = [await keel.kusd.balanceOf(me), await psmBlk.debt()];
    await expect(psmBlk.connect(user).buyGem(blocked, USDC(100n))).to.be.reverted;
    expect([await keel.kusd.balanceOf(me), await psmBlk.debt()]).to.deep.equal([kusd, debt]); // nothing lost
    await checkInvariants(keel, [], [psmFot, psmBlk]);
  });

  it("test_reentrancy: a reserve whose transfers call back into the module (an ERC-777-style hook) cannot re-enter sellGem or buyGem", async () => {
    const { keel, user } = await setup();
    const [deployer] = await ethers.getSigners();
    const me = await user.getAddress();
    const token = await new MockReentrantERC20__factory(deployer!).deploy("Hook", "HOOK", 6);
    const psm = await moduleOver(keel, token);
    await (await token.mint(me, USDC(1_000n))).wait();
    await (await token.connect(user).approve(psm, ethers.MaxUint256)).wait();
    await (await psm.connect(user).sellGem(me, USDC(500n))).wait(); // unarmed: a normal sale
    for (const fn of ["sellGem", "buyGem"] as const) {
      const payload = fn === "sellGem" ? psm.interface.encodeFunctionData("sellGem", [me, 1n]) : psm.interface.encodeFunctionData("buyGem", [me, 1n]);
      await (await token.setHook(await psm.getAddress(), payload)).wait();
      const call = fn === "sellGem" ? psm.connect(user).sellGem(me, USDC(1n)) : psm.connect(user).buyGem(me, USDC(1n));
      await expect(call).to.be.revertedWithCustomError(psm, "ReentrancyGuardReentrantCall");
    }
    expect(await psm.debt()).to.equal(USDC(500n) * 10n ** 12n);
  });

  it("test_governedSetters: range checks, no-ops refused, events; only the timelock path reaches them", async () => {
    const { keel } = await setup();
    const psm = keel.psm;
    const tx = (data: string) => governTx(keel, psm, data);
    await expect(tx(psm.interface.encodeFunctionData("setFees", [2n * FEE, 3n * FEE]))).to.emit(psm, "PegFeesSet").withArgs(2n * FEE, 3n * FEE);
    await expect(tx(psm.interface.encodeFunctionData("setFees", [2n * FEE, 3n * FEE]))).to.be.revertedWithCustomError(psm, "NoChange");
    await expect(tx(psm.interface.encodeFunctionData("setFees", [WAD / 100n + 1n, 0n])))
      .to.be.revertedWithCustomError(psm, "InvalidParameter")
      .withArgs(encodeBytes32String("feeIn"), WAD / 100n + 1n);
    await expect(tx(psm.interface.encodeFunctionData("setFees", [0n, WAD / 100n + 1n])))
      .to.be.revertedWithCustomError(psm, "InvalidParameter")
      .withArgs(encodeBytes32String("feeOut"), WAD / 100n + 1n);
    await expect(tx(psm.interface.encodeFunctionData("setDebtCeiling", [5n * WAD]))).to.emit(psm, "PegDebtCeilingSet").withArgs(5n * WAD);
    await expect(tx(psm.interface.encodeFunctionData("setDebtCeiling", [5n * WAD]))).to.be.revertedWithCustomError(psm, "NoChange");
    await expect(tx(psm.interface.encodeFunctionData("setDebtCeiling", [10n ** 28n + 1n]))).to.be.revertedWithCustomError(psm, "InvalidParameter");
    await expect(tx(psm.interface.encodeFunctionData("setFreezeThreshold", [WAD / 20n]))).to.emit(psm, "FreezeThresholdSet").withArgs(WAD / 20n);
    await expect(tx(psm.interface.encodeFunctionData("setFreezeThreshold", [WAD / 20n]))).to.be.revertedWithCustomError(psm, "NoChange");
    for (const bad of [WAD / 1000n - 1n, WAD / 10n + 1n]) {
      await expect(tx(psm.interface.encodeFunctionData("setFreezeThreshold", [bad])))
        .to.be.revertedWithCustomError(psm, "InvalidParameter")
        .withArgs(encodeBytes32String("freezeThreshold"), bad);
    }
  });

  it("test_kusdPegModules: registering is governed, refuses the engine, zero and no-ops; a removed module can no longer mint", async () => {
    const { keel, user } = await setup();
    const me = await user.getAddress();
    const kusd = keel.kusd;
    const tx = (data: string) => governTx(keel, kusd, data);
    expect(await kusd.isPegModule(keel.psm)).to.equal(true);
    await expect(tx(kusd.interface.encodeFunctionData("setPegModule", [keel.psm.target, true]))).to.be.revertedWithCustomError(kusd, "NoChange");
    await expect(tx(kusd.interface.encodeFunctionData("setPegModule", [ethers.ZeroAddress, true]))).to.be.revertedWithCustomError(kusd, "ZeroAddress");
    await expect(tx(kusd.interface.encodeFunctionData("setPegModule", [keel.engine.target, true]))).to.be.revertedWithCustomError(kusd, "InvalidParameter");
    await expect(tx(kusd.interface.encodeFunctionData("setPegModule", [keel.psm.target, false])))
      .to.emit(kusd, "PegModuleSet")
      .withArgs(keel.psm.target, false);
    await refreshFeeds(keel);
    await expect(keel.psm.connect(user).sellGem(me, USDC(1n))).to.be.revertedWithCustomError(kusd, "NotMinter").withArgs(keel.psm.target);
  });

  it("test_constructor_refusals: a reserve with more than 18 decimals, zero addresses, out-of-range terms", async () => {
    const { keel } = await setup();
    const [deployer] = await ethers.getSigners();
    const factory = new PegStabilityModule__factory(deployer!);
    const ok = { feeIn: FEE, feeOut: FEE, debtCeiling: WAD, freezeThreshold: THRESHOLD };
    const wide = await new MockERC20__factory(deployer!).deploy("Wide", "W", 19);
    await expect(factory.deploy(keel.accessManager, keel.kusd, wide, keel.oracle, keel.surplus, ok))
      .to.be.revertedWithCustomError(factory, "GemDecimalsUnsupported")
      .withArgs(19);
    const usdc = keel.assets.USDC!.token;
    const zero = ethers.ZeroAddress;
    await expect(factory.deploy(keel.accessManager, zero, usdc, keel.oracle, keel.surplus, ok)).to.be.revertedWithCustomError(factory, "ZeroAddress");
    await expect(factory.deploy(keel.accessManager, keel.kusd, zero, keel.oracle, keel.surplus, ok)).to.be.revertedWithCustomError(factory, "ZeroAddress");
    await expect(factory.deploy(keel.accessManager, keel.kusd, usdc, keel.oracle, zero, ok)).to.be.revertedWithCustomError(factory, "ZeroAddress");
    await expect(factory.deploy(keel.accessManager, keel.kusd, usdc, zero, keel.surplus, ok)).to.be.revertedWithCustomError(factory, "ZeroAddress");
    await expect(factory.deploy(keel.accessManager, keel.kusd, usdc, keel.oracle, keel.surplus, { ...ok, freezeThreshold: 0n }))
      .to.be.revertedWithCustomError(factory, "InvalidParameter")
      .withArgs(encodeBytes32String("freezeThreshold"), 0n);
    expect(await keel.psm.gem()).to.equal(await usdc.getAddress());
  });
});
