/**
 * FlashLiquidator against the MockAMM: a keeper without kUSD liquidates, and its profit is exactly the AMM proceeds
 * of the seized collateral minus repayment, protocol fee and flash fee. Also the Lens keeper views and the guards.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256 } from "ethers";
import type { Keel } from "../../deploy";
import { refreshFeeds, seedAmm } from "../../dev/localMarket";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { ammOut, expectedLiquidation, openIsolatedDebt, setPrice, State } from "../helpers/liquidation";
import * as m from "../../src/math";
import { MockAMM__factory } from "../../typechain-types";

const E18 = m.WAD;

interface Ctx {
  keel: Keel;
  keeper: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  weth: string;
  id: bigint;
}

/** A Liquidatable WETH position (10 WETH, 24,500 kUSD, $2,750 after a lapsed call) and a WETH pool at $2,750. */
async function liquidatable(): Promise<Ctx> {
  const keel = await loadKeel();
  const [deployer, user, keeper, stranger] = await ethers.getSigners();
  const weth = await keel.assets.WETH!.token.getAddress();
  const id = await openIsolatedDebt(keel, user!, "WETH", 10n * E18, 24_500n * E18);
  await setPrice(keel, "WETH", 2750);
  await (await keel.engine.marginCall(id)).wait();
  await time.increase(6n * 3600n);
  await refreshFeeds(keel);
  await seedAmm(keel, deployer!, { WETH: "1000" });
  return { keel, keeper: keeper!, stranger: stranger!, weth, id };
}

/** The mirror of `flashLiquidator.liquidate(id, asset, MaxUint256, amm, …)` mined at `ts`. */
async function expectedFlash(c: Ctx, ts: bigint) {
  const { keel } = c;
  const e = await expectedLiquidation(keel, c.id, c.weth, MaxUint256, ts);
  const penalty = (await keel.risk.assetRisk(c.weth)).liquidationPenalty;
  const share = (await keel.engine.liquidationParams()).protocolShare;
  const repayCap = e.debt; // maxRepay = MaxUint256 ≥ debt
  const loan = repayCap + m.protocolFeeUp(repayCap, penalty, share);
  const flashFee = m.mulWadUp(loan, await keel.kusd.flashFeeRate());
  const [assetReserve, kusdReserve] = await keel.amm.pools(c.weth);
  const proceeds = ammOut(e.seized, assetReserve, kusdReserve, await keel.amm.feeBps());
  const profit = proceeds - (e.repaid + e.fee + flashFee);
  return { e, repayCap, loan, flashFee, proceeds, profit, penalty, share };
}

describe("FlashLiquidator", () => {
  it("test_flashLiquidate_noKusd_exactProfit: a keeper with no kUSD liquidates and earns exactly proceeds − (repaid + fee + flash fee)", async () => {
    const c = await liquidatable();
    const { keel, keeper } = c;
    expect(await keel.kusd.balanceOf(keeper.address)).to.equal(0n);
    const price = await keel.oracle.getPrice(c.weth);
    expect(await keel.amm.spotPrice(c.weth)).to.equal(price); // AMM price = oracle price

    let ts = await pinNext();
    let x = await expectedFlash(c, ts);
    expect(x.profit).to.be.gt(0n);
    await expect(keel.flashLiquidator.connect(keeper).liquidate(c.id, c.weth, MaxUint256, keel.amm, x.profit + 1n))
      .to.be.revertedWithCustomError(keel.flashLiquidator, "Unprofitable")
      .withArgs(x.profit, x.profit + 1n);

    ts = await pinNext();
    x = await expectedFlash(c, ts);
    const surplusBefore = await keel.kusd.balanceOf(keel.surplus.target);
    await expect(keel.flashLiquidator.connect(keeper).liquidate(c.id, c.weth, MaxUint256, keel.amm, x.profit))
      .to.emit(keel.flashLiquidator, "FlashLiquidated")
      .withArgs(c.id, keeper.address, c.weth, x.repayCap, x.profit)
      .and.to.emit(keel.engine, "Liquidated")
      .withArgs(c.id, await keel.flashLiquidator.getAddress(), c.weth, x.e.repaid, x.e.seized, 0n);
    expect(await keel.kusd.balanceOf(keeper.address)).to.equal(x.profit);
    // The surplus buffer gets the protocol fee (minted) and the flash fee (transferred).
    expect(await keel.kusd.balanceOf(keel.surplus.target)).to.equal(surplusBefore + x.e.fee + x.flashFee);
    // The liquidator holds nothing afterwards.
    const fl = await keel.flashLiquidator.getAddress();
    expect(await keel.kusd.balanceOf(fl)).to.equal(0n);
    expect(await keel.assets.WETH!.token.balanceOf(fl)).to.equal(0n);
    expect(await keel.engine.debtOf(c.id)).to.equal(x.e.debtAfter);

    // With the AMM at the oracle price, the profit is the liquidator's share of the penalty minus the AMM's
    // slippage (fee and price impact) and the flash fee:
    //   profit = [valueDown(seized, P) − repaid − fee] − [valueDown(seized, P) − proceeds] − flashFee
    // where the first bracket is repaid·ℓ(hf)·(1 − share) up to the rounding of seizeDown (< P/unit) and of the fee:
    // ℓ(hf) is WETH's bonus at the position's HF (27,500 × (1 − 13.75%) / 24,500 ≈ 0.968: 2% + 3% × 0.032 / 0.05 ≈
    // 3.9%), while the flash mint above is sized with ℓ, the largest bonus.
    const bonus = x.e.penalties[0]!;
    expect(bonus).to.equal(m.penaltyAtDown(x.e.hf, 2n * 10n ** 16n, x.penalty, 95n * 10n ** 16n));
    expect(bonus).to.be.gt(2n * 10n ** 16n).and.lt(x.penalty);
    const seizedValue = m.valueDown(x.e.seized, price, E18);
    const penaltyShare = seizedValue - x.e.repaid - x.e.fee;
    const slippage = seizedValue - x.proceeds;
    expect(x.profit).to.equal(penaltyShare - slippage - x.flashFee);
    const exactShare = m.mulWadDown(m.mulWadDown(x.e.repaid, bonus), E18 - x.share);
    expect(penaltyShare).to.be.lte(exactShare + 2n).and.gte(exactShare - price / E18 - 3n);
    expect(slippage).to.be.gt(0n);
    await checkInvariants(keel);
  });

  it("test_liquidationStatus_previewAndProfitSign: Lens.liquidationStatus reports the preview, and profitAt has the right sign", async () => {
    const c = await liquidatable();
    const { keel } = c;
    const ts = await pinNext();
    const e = await expectedLiquidation(keel, c.id, c.weth, MaxUint256, ts);
    const preview = await keel.engine.previewLiquidation.staticCall(c.id, c.weth, MaxUint256, { blockTag: "pending" });
    expect([...preview]).to.deep.equal([e.repaid, e.seized, e.fee, 0n]);
    const s = await keel.lens.liquidationStatus.staticCall(c.id, { blockTag: "pending" });
    expect(s.state).to.equal(State.Liquidatable);
    expect(s.hf).to.equal(e.hf);
    expect(s.debt).to.equal(e.debt);
    expect([...s.assets]).to.deep.equal([c.weth]);
    expect([...s.maxRepay]).to.deep.equal([e.repaid]);
    expect([...s.seizable]).to.deep.equal([e.seized]);
    expect([...s.protocolFee]).to.deep.equal([e.fee]);
    expect(s.badDebt).to.equal(0n);
    const batch = await keel.lens.liquidationStatuses.staticCall(1n, await keel.engine.lastPositionId(), { blockTag: "pending" });
    expect(batch.find((b) => b.id === c.id)!.maxRepay[0]).to.equal(e.repaid);

    const price = await keel.oracle.getPrice(c.weth);
    const at = async (p: bigint): Promise<bigint> => keel.lens.profitAt.staticCall(c.id, c.weth, p, { blockTag: "pending" });
    expect(await at(price)).to.equal(m.valueDown(e.seized, price, E18) - e.repaid - e.fee);
    expect(await at(price)).to.be.gt(0n);
    expect(await at((price * 9n) / 10n)).to.be.lt(0n); // a venue 10% under the oracle: the 5% penalty does not pay
    await checkInvariants(keel);
  });

  it("test_flashLiquidate_maxRepayBelowDebt: a cap under the debt flash-mints and repays at most the cap", async () => {
    const c = await liquidatable();
    const { keel, keeper } = c;
    const debt = await keel.engine.debtOf(c.id);
    const cap = 1_000n * E18;
    expect(cap < debt).to.equal(true);
    const tx = keel.flashLiquidator.connect(keeper).liquidate(c.id, c.weth, cap, keel.amm, 0n);
    await expect(tx).to.emit(keel.flashLiquidator, "FlashLiquidated");
    const receipt = await (await tx).wait();
    const liquidated = receipt!.logs
      .map((l) => { try { return keel.engine.interface.parseLog(l); } catch { return null; } })
      .find((e) => e?.name === "Liquidated");
    expect(liquidated!.args.repaid <= cap).to.equal(true);
    expect(await keel.kusd.balanceOf(await keel.flashLiquidator.getAddress())).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_flashLiquidate_thinVenue_revertsFlashRepaymentShort: proceeds under the flash loan revert, nothing changes", async () => {
    const c = await liquidatable();
    const { keel, keeper } = c;
    const [deployer] = await ethers.getSigners();
    // A venue whose WETH pool holds little kUSD: selling the seized WETH cannot repay the flash mint.
    const thin = await new MockAMM__factory(deployer!).deploy(await keel.kusd.getAddress(), 30n);
    await openIsolatedDebt(keel, deployer!, "WETH", 10n * E18, 1_000n * E18);
    await (await keel.assets.WETH!.token.mint(deployer!.address, 1_000n * E18)).wait();
    await (await keel.assets.WETH!.token.connect(deployer!).approve(thin, MaxUint256)).wait();
    await (await keel.kusd.connect(deployer!).approve(thin, MaxUint256)).wait();
    await (await thin.addLiquidity(c.weth, 1_000n * E18, 100n * E18)).wait();
    const debt = await keel.engine.debtOf(c.id);
    await expect(keel.flashLiquidator.connect(keeper).liquidate(c.id, c.weth, MaxUint256, thin, 0n)).to.be.revertedWithCustomError(
      keel.flashLiquidator,
      "FlashRepaymentShort",
    );
    expect(await keel.engine.debtOf(c.id) >= debt).to.equal(true);
    await checkInvariants(keel);
  });

  it("test_flashLiquidate_guards: guards: untrusted flash callbacks, nothing to repay", async () => {
    const c = await liquidatable();
    const { keel, stranger } = c;
    const kusd = await keel.kusd.getAddress();
    await expect(keel.flashLiquidator.connect(stranger).onFlashLoan(stranger.address, kusd, 1n, 0n, "0x"))
      .to.be.revertedWithCustomError(keel.flashLiquidator, "UntrustedCallback")
      .withArgs(stranger.address, stranger.address);
    // A real flash mint aimed at the liquidator by someone else.
    await expect(keel.kusd.connect(stranger).flashLoan(keel.flashLiquidator, kusd, 1_000n * E18, "0x"))
      .to.be.revertedWithCustomError(keel.flashLiquidator, "UntrustedCallback")
      .withArgs(kusd, stranger.address);
    // A position without debt.
    await (await keel.engine.connect(stranger).open(0, c.weth, stranger.address)).wait();
    const empty = await keel.engine.lastPositionId();
    await expect(keel.flashLiquidator.connect(stranger).liquidate(empty, c.weth, MaxUint256, keel.amm, 0n))
      .to.be.revertedWithCustomError(keel.flashLiquidator, "NothingToRepay")
      .withArgs(empty);
    await checkInvariants(keel);
  });
});
