/**
 * FlashLiquidator.liquidateBatch: one flash mint for many positions, each liquidation attempted on its own (a skip is
 * reported with its reason and never fails the batch), one sale per asset, one profit check. Amounts are the
 * liquidation mirror's (src/math/liquidation.ts through test/helpers/liquidation.ts) and the MockAMM's quote; the
 * §6 ledger is checked after every batch.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256, type ContractTransactionReceipt, type LogDescription } from "ethers";
import type { Keel } from "../../deploy";
import { refreshFeeds, seedAmm } from "../../dev/localMarket";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { ammOut, expectedLiquidation, fundKusd, openCrossDebt, openIsolatedDebt, setPrice, State } from "../helpers/liquidation";
import * as m from "../../src/math";
import type { LiquidationOutcome } from "../../src/math/liquidation";
import { MockReentrantVenue__factory } from "../../typechain-types";

const E18 = m.WAD;
const WBTC_UNIT = 10n ** 8n;
const GRACE = 6n * 3600n;

interface Target {
  id: bigint;
  asset: string;
  maxRepay: bigint;
}

interface Book {
  keel: Keel;
  deployer: HardhatEthersSigner;
  user: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
  other: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  weth: string;
  wbtc: string;
}

async function book(): Promise<Book> {
  const keel = await loadKeel();
  const [deployer, user, keeper, other, stranger] = await ethers.getSigners();
  return {
    keel,
    deployer: deployer!,
    user: user!,
    keeper: keeper!,
    other: other!,
    stranger: stranger!,
    weth: await keel.assets.WETH!.token.getAddress(),
    wbtc: await keel.assets.WBTC!.token.getAddress(),
  };
}

const target = (id: bigint, asset: string, maxRepay = MaxUint256): Target => ({ id, asset, maxRepay });

/** The flash mint `liquidateBatch` takes: Σ over targets with debt of cap + the protocol fee on it [wad]. */
async function loanFor(keel: Keel, caps: readonly { asset: string; cap: bigint }[]): Promise<bigint> {
  const share = (await keel.engine.liquidationParams()).protocolShare;
  let loan = 0n;
  for (const { asset, cap } of caps) {
    loan += cap + m.protocolFeeUp(cap, (await keel.risk.assetRisk(asset)).liquidationPenalty, share);
  }
  return loan;
}

/** What selling `amountIn` of `asset` on the deployment's AMM pays now. */
async function proceedsOf(keel: Keel, asset: string, amountIn: bigint): Promise<bigint> {
  const [assetReserve, kusdReserve] = await keel.amm.pools(asset);
  return ammOut(amountIn, assetReserve, kusdReserve, await keel.amm.feeBps());
}

/** The FlashLiquidator's and the engine's events of a receipt, in order. */
function eventsOf(keel: Keel, receipt: ContractTransactionReceipt | null): { fl: LogDescription[]; liquidated: LogDescription[] } {
  const fl: LogDescription[] = [];
  const liquidated: LogDescription[] = [];
  for (const log of receipt!.logs) {
    if (log.address === keel.flashLiquidator.target) fl.push(keel.flashLiquidator.interface.parseLog(log)!);
    if (log.address === keel.engine.target) {
      const e = keel.engine.interface.parseLog(log);
      if (e?.name === "Liquidated") liquidated.push(e);
    }
  }
  return { fl, liquidated };
}

const args = (e: LogDescription): unknown[] => [e.name, ...e.args.toArray()];

/**
 * The mixed book, WETH at $2,500 and WBTC at $52,750 after a 6-hour grace period (isolated positions, 12 or 10 WETH,
 * 0.01 WBTC):
 * - A (12 WETH, 27,000): called, HF 0.958: liquidatable, partially (to targetHF within the close factor);
 * - B (12 WETH, 27,000): called, then its owner repaid 3,000: recovered (HF 1.08), the call cleared;
 * - C (10 WETH, 24,500): HF 0.88 and V < D(1 + ℓ): insolvent, all collateral taken, bad debt;
 * - D (like C): already liquidated in full by someone else (no debt left);
 * - E (0.01 WBTC, 500): HF 0.924 < criticalHF, solvent: repaid in full;
 * - F (0.01 WBTC, 450): called at $50,000 (HF 0.974), recovered when WBTC moved back to $52,750 (HF 1.027).
 * (WETH loses max(2.75 × 5%, 10%) = 13.75% of its value to Lm, WBTC max(2.75 × 4.5%, 10%) = 12.375%.)
 * The AMM has a deep WETH pool at the oracle price and no WBTC pool, so selling WBTC reverts `EmptyPool`.
 */
async function mixedBook() {
  const b = await book();
  const { keel, user, other, deployer, weth } = b;
  const A = await openIsolatedDebt(keel, user, "WETH", 12n * E18, 27_000n * E18);
  const B = await openIsolatedDebt(keel, user, "WETH", 12n * E18, 27_000n * E18);
  const C = await openIsolatedDebt(keel, user, "WETH", 10n * E18, 24_500n * E18);
  const D = await openIsolatedDebt(keel, user, "WETH", 10n * E18, 24_500n * E18);
  const E = await openIsolatedDebt(keel, user, "WBTC", WBTC_UNIT / 100n, 500n * E18);
  const F = await openIsolatedDebt(keel, user, "WBTC", WBTC_UNIT / 100n, 450n * E18);
  await setPrice(keel, "WETH", 2500);
  await setPrice(keel, "WBTC", 50_000);
  for (const id of [A, B, F]) await (await keel.engine.marginCall(id)).wait();
  await time.increase(GRACE);
  await refreshFeeds(keel);
  await setPrice(keel, "WBTC", 52_750); // F recovers by price; E stays under criticalHF
  await (await keel.engine.connect(user).repay(B, 3_000n * E18)).wait(); // B recovers: its owner repaid
  await fundKusd(keel, other, 30_000n * E18);
  await (await keel.engine.connect(other).liquidate(D, weth, MaxUint256, other.address, "0x")).wait();
  await seedAmm(keel, deployer, { WETH: "10000" });
  const state = async (id: bigint): Promise<bigint> => (await keel.engine.stateOf(id))[0];
  expect([await state(A), await state(B), await state(C), await state(E), await state(F)]).to.deep.equal([
    State.Liquidatable, State.Safe, State.Liquidatable, State.Liquidatable, State.Safe,
  ]);
  expect(await keel.engine.debtOf(D)).to.equal(0n);
  return { ...b, A, B, C, D, E, F };
}

/** The mirror of the mixed batch [A, B, C, D, E, F, C] mined at `ts`. */
async function expectedMixed(x: Awaited<ReturnType<typeof mixedBook>>, ts: bigint) {
  const { keel, weth, wbtc } = x;
  const at = (id: bigint, asset: string): Promise<LiquidationOutcome> => expectedLiquidation(keel, id, asset, MaxUint256, ts);
  const [eA, eB, eC, eE, eF] = await Promise.all([at(x.A, weth), at(x.B, weth), at(x.C, weth), at(x.E, wbtc), at(x.F, wbtc)]);
  // Every target with debt is in the loan at its whole debt (maxRepay = MaxUint256); C twice; D (no debt) is not.
  const loan = await loanFor(keel, [
    { asset: weth, cap: eA.debt }, { asset: weth, cap: eB.debt }, { asset: weth, cap: eC.debt },
    { asset: wbtc, cap: eE.debt }, { asset: wbtc, cap: eF.debt }, { asset: weth, cap: eC.debt },
  ]);
  const flashFee = m.mulWadUp(loan, await keel.kusd.flashFeeRate());
  const proceeds = await proceedsOf(keel, weth, eA.seized + eC.seized);
  const paid = eA.repaid + eA.fee + eC.repaid + eC.fee + eE.repaid + eE.fee;
  return { eA, eB, eC, eE, eF, loan, flashFee, proceeds, profit: proceeds - paid - flashFee };
}

describe("FlashLiquidator.liquidateBatch", () => {
  it("test_liquidateBatch_mixedBook_exactAmountsAndSkips: liquidatable, recovered, insolvent, already liquidated, listed twice, and an asset the venue cannot sell", async () => {
    const x = await mixedBook();
    const { keel, keeper, weth, wbtc } = x;
    const fl = keel.flashLiquidator.connect(keeper);
    const targets = [target(x.A, weth), target(x.B, weth), target(x.C, weth), target(x.D, weth), target(x.E, wbtc), target(x.F, wbtc), target(x.C, weth)];

    let ts = await pinNext();
    let e = await expectedMixed(x, ts);
    expect(e.profit).to.be.gt(0n);
    await expect(fl.liquidateBatch(targets, keel.amm, e.profit + 1n))
      .to.be.revertedWithCustomError(keel.flashLiquidator, "Unprofitable")
      .withArgs(e.profit, e.profit + 1n);

    ts = await pinNext();
    e = await expectedMixed(x, ts);
    const { eA, eB, eC, eE, eF } = e;
    // The mirror's cases: A partial, C insolvent, E solvent and repaid in full.
    expect(eA.debtAfter).to.be.gt(0n);
    expect(eA.repaid).to.be.lt(eA.debt);
    expect(eC.badDebt).to.be.gt(0n);
    expect([eE.badDebt, eE.debtAfter, eE.repaid]).to.deep.equal([0n, 0n, eE.debt]);
    const surplusBefore = await keel.kusd.balanceOf(keel.surplus.target);
    const deficitBefore = await keel.engine.deficit();

    const receipt = await (await fl.liquidateBatch(targets, keel.amm, e.profit)).wait();
    const { fl: events, liquidated } = eventsOf(keel, receipt);
    const flIface = keel.flashLiquidator.interface;
    const engineIface = keel.engine.interface;
    expect(events.map(args)).to.deep.equal([
      ["LiquidationSkipped", x.D, weth, flIface.encodeErrorResult("NothingToRepay", [x.D])], // before the flash mint
      ["LiquidationSkipped", x.B, weth, engineIface.encodeErrorResult("NotLiquidatable", [x.B, eB.hf])],
      ["LiquidationSkipped", x.F, wbtc, engineIface.encodeErrorResult("NotLiquidatable", [x.F, eF.hf])],
      ["LiquidationSkipped", x.C, weth, engineIface.encodeErrorResult("NotLiquidatable", [x.C, m.INFINITE_HEALTH])],
      ["SaleFailed", wbtc, eE.seized, keel.amm.interface.encodeErrorResult("EmptyPool", [wbtc])],
      ["BatchLiquidated", keeper.address, 7n, 3n, eA.repaid + eC.repaid + eE.repaid, e.profit],
    ]);
    const flAddress = await keel.flashLiquidator.getAddress();
    expect(liquidated.map(args)).to.deep.equal([
      ["Liquidated", x.A, flAddress, weth, eA.repaid, eA.seized, 0n],
      ["Liquidated", x.C, flAddress, weth, eC.repaid, eC.seized, eC.badDebt],
      ["Liquidated", x.E, flAddress, wbtc, eE.repaid, eE.seized, 0n],
    ]);

    // The keeper gets the kUSD profit and the WBTC the venue could not take; the liquidator keeps nothing.
    expect(await keel.kusd.balanceOf(keeper.address)).to.equal(e.profit);
    expect(await keel.assets.WBTC!.token.balanceOf(keeper.address)).to.equal(eE.seized);
    for (const token of [keel.kusd, keel.assets.WETH!.token, keel.assets.WBTC!.token]) {
      expect(await token.balanceOf(flAddress)).to.equal(0n);
    }
    expect(await keel.engine.debtOf(x.A)).to.equal(eA.debtAfter);
    expect(await keel.engine.debtOf(x.B)).to.equal(eB.debt);
    expect(await keel.engine.debtOf(x.C)).to.equal(0n);
    expect(await keel.engine.debtOf(x.E)).to.equal(0n);
    expect(await keel.engine.debtOf(x.F)).to.equal(eF.debt);
    expect(await keel.engine.collateralOf(x.E, wbtc)).to.equal(eE.amountsAfter[0]);
    // Surplus: A's fee comes first and covers C's bad debt as far as it goes; E's fee and the flash fee come after.
    const covered = [deficitBefore + eC.badDebt, surplusBefore + eA.fee].reduce((a, b) => (a < b ? a : b));
    expect(await keel.engine.deficit()).to.equal(deficitBefore + eC.badDebt - covered);
    expect(await keel.kusd.balanceOf(keel.surplus.target)).to.equal(surplusBefore + eA.fee - covered + eE.fee + e.flashFee);
    await checkInvariants(keel);
  });

  it("test_liquidateBatch_insolventCross_sellsEveryHolding: an insolvent basket hands over every holding, and each is sold once", async () => {
    const { keel, user, keeper, deployer, weth, wbtc } = await book();
    const X = await openCrossDebt(keel, user, [["WETH", 5n * E18], ["WBTC", WBTC_UNIT / 10n]], 15_000n * E18);
    const I = await openIsolatedDebt(keel, user, "WBTC", WBTC_UNIT / 10n, 5_000n * E18);
    await setPrice(keel, "WETH", 2000);
    await setPrice(keel, "WBTC", 40_000); // X: V = 14,000 < 1.05 D; I: V = 4,000 < 1.05 D
    await seedAmm(keel, deployer, { WETH: "1000", WBTC: "50" });
    const ts = await pinNext();
    const [eX, eI] = await Promise.all([expectedLiquidation(keel, X, weth, MaxUint256, ts), expectedLiquidation(keel, I, wbtc, MaxUint256, ts)]);
    expect(eX.badDebt).to.be.gt(0n);
    expect(eI.badDebt).to.be.gt(0n);
    const basket = [...(await keel.engine.collateralAssets(X))];
    const amountOf = async (asset: string): Promise<bigint> => keel.engine.collateralOf(X, asset);
    const wbtcFromX = await amountOf(wbtc);
    expect(eX.seized).to.equal(await amountOf(weth));
    const loan = await loanFor(keel, [{ asset: weth, cap: eX.debt }, { asset: wbtc, cap: eI.debt }]);
    const flashFee = m.mulWadUp(loan, await keel.kusd.flashFeeRate());
    // One WETH sale (X's WETH), one WBTC sale (X's WBTC and I's, together).
    const proceeds = (await proceedsOf(keel, weth, eX.seized)) + (await proceedsOf(keel, wbtc, wbtcFromX + eI.seized));
    const profit = proceeds - eX.repaid - eI.repaid - flashFee;
    const receipt = await (await keel.flashLiquidator.connect(keeper).liquidateBatch([target(X, weth), target(I, wbtc)], keel.amm, profit)).wait();
    expect(eventsOf(keel, receipt).fl.map(args)).to.deep.equal([["BatchLiquidated", keeper.address, 2n, 2n, eX.repaid + eI.repaid, profit]]);
    const swaps = receipt!.logs.flatMap((l) => (l.address === keel.amm.target ? [keel.amm.interface.parseLog(l)!] : []));
    const sold = (asset: string): bigint => (asset === weth ? eX.seized : wbtcFromX + eI.seized);
    expect(swaps.map((e) => [e.args.tokenIn, e.args.amountIn])).to.deep.equal(basket.map((a) => [a, sold(a)])); // in X's basket order
    for (const asset of basket) expect(await amountOf(asset)).to.equal(0n);
    expect(await keel.kusd.balanceOf(keeper.address)).to.equal(profit);
    await checkInvariants(keel);
  });

  it("test_liquidateBatch_maxRepay_capsEachPosition: each target's maxRepay caps its repayment and the flash mint", async () => {
    const x = await mixedBook();
    const { keel, keeper, weth } = x;
    const cap = 1_000n * E18;
    const ts = await pinNext();
    const eA = await expectedLiquidation(keel, x.A, weth, cap, ts);
    expect(eA.repaid).to.equal(cap);
    const loan = await loanFor(keel, [{ asset: weth, cap }]);
    const flashFee = m.mulWadUp(loan, await keel.kusd.flashFeeRate());
    const profit = (await proceedsOf(keel, weth, eA.seized)) - eA.repaid - eA.fee - flashFee;
    await expect(keel.flashLiquidator.connect(keeper).liquidateBatch([target(x.A, weth, cap)], keel.amm, profit))
      .to.emit(keel.flashLiquidator, "BatchLiquidated")
      .withArgs(keeper.address, 1n, 1n, cap, profit)
      .and.to.emit(keel.kusd, "Transfer")
      .withArgs(ethers.ZeroAddress, await keel.flashLiquidator.getAddress(), loan); // the flash mint
    expect(await keel.engine.debtOf(x.A)).to.equal(eA.debtAfter);
    await checkInvariants(keel);
  });

  it("test_liquidateBatch_noDebtAnywhere_noFlashMint: targets without debt are skipped before any flash mint; minProfit still applies", async () => {
    const x = await mixedBook();
    const { keel, keeper, weth, stranger } = x;
    await (await keel.engine.connect(stranger).open(0, weth, stranger.address)).wait();
    const empty = await keel.engine.lastPositionId();
    const targets = [target(x.D, weth), target(empty, weth)];
    const fl = keel.flashLiquidator.connect(keeper);
    await expect(fl.liquidateBatch(targets, keel.amm, 1n)).to.be.revertedWithCustomError(keel.flashLiquidator, "Unprofitable").withArgs(0n, 1n);
    const supply = await keel.kusd.totalSupply();
    const receipt = await (await fl.liquidateBatch(targets, keel.amm, 0n)).wait();
    const iface = keel.flashLiquidator.interface;
    expect(eventsOf(keel, receipt).fl.map(args)).to.deep.equal([
      ["LiquidationSkipped", x.D, weth, iface.encodeErrorResult("NothingToRepay", [x.D])],
      ["LiquidationSkipped", empty, weth, iface.encodeErrorResult("NothingToRepay", [empty])],
      ["BatchLiquidated", keeper.address, 2n, 0n, 0n, 0n],
    ]);
    expect(receipt!.logs.some((l) => l.address === keel.kusd.target)).to.equal(false); // nothing minted or moved
    expect(await keel.kusd.totalSupply()).to.equal(supply);
    await checkInvariants(keel);
  });

  it("test_liquidateBatch_unlistedAsset_skippedBeforeLoan: a target naming an unlisted asset is skipped with AssetNotListed, the rest goes on", async () => {
    const x = await mixedBook();
    const { keel, keeper, weth } = x;
    const kusd = await keel.kusd.getAddress();
    const ts = await pinNext();
    const eC = await expectedLiquidation(keel, x.C, weth, MaxUint256, ts);
    const loan = await loanFor(keel, [{ asset: weth, cap: eC.debt }]);
    const profit = (await proceedsOf(keel, weth, eC.seized)) - eC.repaid - eC.fee - m.mulWadUp(loan, await keel.kusd.flashFeeRate());
    const receipt = await (await keel.flashLiquidator.connect(keeper).liquidateBatch([target(x.A, kusd), target(x.C, weth)], keel.amm, profit)).wait();
    expect(eventsOf(keel, receipt).fl.map(args)).to.deep.equal([
      ["LiquidationSkipped", x.A, kusd, keel.risk.interface.encodeErrorResult("AssetNotListed", [kusd])],
      ["BatchLiquidated", keeper.address, 2n, 1n, eC.repaid, profit],
    ]);
    expect(await keel.engine.debtOf(x.C)).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_liquidateBatch_everySkippedAfterLoan_revertsFlashRepaymentShort: with nothing liquidated, the flash fee cannot be paid", async () => {
    const x = await mixedBook();
    const { keel, keeper, weth, wbtc } = x;
    const ts = await pinNext();
    const [eB, eF] = await Promise.all([
      expectedLiquidation(keel, x.B, weth, MaxUint256, ts),
      expectedLiquidation(keel, x.F, wbtc, MaxUint256, ts),
    ]);
    const loan = await loanFor(keel, [{ asset: weth, cap: eB.debt }, { asset: wbtc, cap: eF.debt }]);
    const owed = loan + m.mulWadUp(loan, await keel.kusd.flashFeeRate());
    await expect(keel.flashLiquidator.connect(keeper).liquidateBatch([target(x.B, weth), target(x.F, wbtc)], keel.amm, 0n))
      .to.be.revertedWithCustomError(keel.flashLiquidator, "FlashRepaymentShort")
      .withArgs(loan, owed);
    await checkInvariants(keel);
  });

  it("test_liquidateBatch_failedSaleShort_reverts: when the other sales cannot repay for an unsold asset, the whole batch reverts", async () => {
    const x = await mixedBook();
    const { keel, keeper, wbtc, user } = x;
    // A WBTC position large enough that its repayment needs the WBTC sale, which the venue refuses.
    const big = await openIsolatedDebt(keel, user, "WBTC", WBTC_UNIT, 40_000n * E18);
    await setPrice(keel, "WBTC", 42_200); // HF 0.924 < criticalHF, V = 1.055 D: solvent
    const ts = await pinNext();
    const e = await expectedLiquidation(keel, big, wbtc, MaxUint256, ts);
    expect(e.badDebt).to.equal(0n);
    const loan = await loanFor(keel, [{ asset: wbtc, cap: e.debt }]);
    const owed = loan + m.mulWadUp(loan, await keel.kusd.flashFeeRate());
    const held = loan - e.repaid - e.fee;
    const debt = await keel.engine.debtOf(big);
    await expect(keel.flashLiquidator.connect(keeper).liquidateBatch([target(big, wbtc)], keel.amm, 0n))
      .to.be.revertedWithCustomError(keel.flashLiquidator, "FlashRepaymentShort")
      .withArgs(held, owed);
    expect(await keel.engine.debtOf(big)).to.be.gte(debt);
    expect(await keel.assets.WBTC!.token.balanceOf(keeper.address)).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_liquidateBatch_reentrantVenue_saleFailsBatchHolds: a venue re-entering the liquidator or aiming a flash mint at it fails its sale only", async () => {
    const x = await mixedBook();
    const { keel, keeper, deployer, weth, wbtc, user } = x;
    const venue = await new MockReentrantVenue__factory(deployer).deploy(keel.amm);
    const fl = keel.flashLiquidator;
    // One more position of C's shape and two of E's, opened at the first prices, insolvent or under criticalHF back
    // at $2,500 and $52,750.
    await setPrice(keel, "WETH", 3000);
    await setPrice(keel, "WBTC", 60_000);
    const C2 = await openIsolatedDebt(keel, user, "WETH", 10n * E18, 24_500n * E18);
    const E2 = await openIsolatedDebt(keel, user, "WBTC", WBTC_UNIT / 100n, 500n * E18);
    const E3 = await openIsolatedDebt(keel, user, "WBTC", WBTC_UNIT / 100n, 500n * E18);
    await setPrice(keel, "WETH", 2500);
    await setPrice(keel, "WBTC", 52_750);
    const flIface = fl.interface;

    // 1. Re-entry: the venue's WBTC sale calls liquidateBatch again.
    await (await venue.setCall(wbtc, fl, flIface.encodeFunctionData("liquidateBatch", [[target(x.C, weth)], await venue.getAddress(), 0n]))).wait();
    let ts = await pinNext();
    let [eC, eE] = await Promise.all([expectedLiquidation(keel, x.C, weth, MaxUint256, ts), expectedLiquidation(keel, x.E, wbtc, MaxUint256, ts)]);
    let loan = await loanFor(keel, [{ asset: weth, cap: eC.debt }, { asset: wbtc, cap: eE.debt }]);
    let profit = (await proceedsOf(keel, weth, eC.seized)) - eC.repaid - eC.fee - eE.repaid - eE.fee - m.mulWadUp(loan, await keel.kusd.flashFeeRate());
    let receipt = await (await fl.connect(keeper).liquidateBatch([target(x.C, weth), target(x.E, wbtc)], venue, profit)).wait();
    expect(eventsOf(keel, receipt).fl.map(args)).to.deep.equal([
      ["SaleFailed", wbtc, eE.seized, flIface.encodeErrorResult("ReentrancyGuardReentrantCall", [])],
      ["BatchLiquidated", keeper.address, 2n, 2n, eC.repaid + eE.repaid, profit],
    ]);
    expect(await keel.assets.WBTC!.token.balanceOf(keeper.address)).to.equal(eE.seized);
    expect(await keel.assets.WBTC!.token.allowance(fl, venue)).to.equal(0n);
    await checkInvariants(keel);

    // 2. A foreign flash mint: the venue's WBTC sale flash-mints kUSD to the liquidator with a batch-shaped job.
    const kusd = await keel.kusd.getAddress();
    const job = ethers.AbiCoder.defaultAbiCoder().encode(
      ["tuple(uint256 id, address asset, uint256 maxRepay)[]", "address[]", "address", "address"],
      [[target(C2, weth)], [weth], await venue.getAddress(), await venue.getAddress()],
    );
    await (await venue.setCall(wbtc, kusd, keel.kusd.interface.encodeFunctionData("flashLoan", [await fl.getAddress(), kusd, 1_000n * E18, job]))).wait();
    const keeperWbtc = await keel.assets.WBTC!.token.balanceOf(keeper.address);
    const keeperKusd = await keel.kusd.balanceOf(keeper.address);
    ts = await pinNext();
    [eC, eE] = await Promise.all([expectedLiquidation(keel, C2, weth, MaxUint256, ts), expectedLiquidation(keel, E2, wbtc, MaxUint256, ts)]);
    loan = await loanFor(keel, [{ asset: weth, cap: eC.debt }, { asset: wbtc, cap: eE.debt }]);
    profit = (await proceedsOf(keel, weth, eC.seized)) - eC.repaid - eC.fee - eE.repaid - eE.fee - m.mulWadUp(loan, await keel.kusd.flashFeeRate());
    receipt = await (await fl.connect(keeper).liquidateBatch([target(C2, weth), target(E2, wbtc)], venue, profit)).wait();
    expect(eventsOf(keel, receipt).fl.map(args)).to.deep.equal([
      ["SaleFailed", wbtc, eE.seized, flIface.encodeErrorResult("UntrustedCallback", [kusd, await venue.getAddress()])],
      ["BatchLiquidated", keeper.address, 2n, 2n, eC.repaid + eE.repaid, profit],
    ]);
    expect(await keel.assets.WBTC!.token.balanceOf(keeper.address)).to.equal(keeperWbtc + eE.seized);
    expect(await keel.kusd.balanceOf(keeper.address)).to.equal(keeperKusd + profit);
    await checkInvariants(keel);

    // 3. The single liquidation re-entered from its sale reverts as a whole.
    await (await venue.setCall(wbtc, fl, flIface.encodeFunctionData("liquidateBatch", [[target(E3, wbtc)], await venue.getAddress(), 0n]))).wait();
    expect((await keel.engine.stateOf(E3))[0]).to.equal(State.Liquidatable);
    await expect(fl.connect(keeper).liquidate(E3, wbtc, MaxUint256, venue, 0n)).to.be.revertedWithCustomError(fl, "ReentrancyGuardReentrantCall");
  });

  it("test_liquidateBatch_guards: an empty batch; flash-loan callbacks the liquidator did not start", async () => {
    const x = await mixedBook();
    const { keel, stranger, weth } = x;
    const fl = keel.flashLiquidator;
    await expect(fl.connect(stranger).liquidateBatch([], keel.amm, 0n)).to.be.revertedWithCustomError(fl, "EmptyBatch");
    const kusd = await keel.kusd.getAddress();
    const job = ethers.AbiCoder.defaultAbiCoder().encode(
      ["tuple(uint256 id, address asset, uint256 maxRepay)[]", "address[]", "address", "address"],
      [[target(x.A, weth)], [weth], await keel.amm.getAddress(), stranger.address],
    );
    await expect(fl.connect(stranger).onFlashLoan(stranger.address, kusd, 1n, 0n, job))
      .to.be.revertedWithCustomError(fl, "UntrustedCallback")
      .withArgs(stranger.address, stranger.address);
    await expect(fl.connect(stranger).onFlashLoan(await fl.getAddress(), kusd, 1n, 0n, job))
      .to.be.revertedWithCustomError(fl, "UntrustedCallback")
      .withArgs(stranger.address, await fl.getAddress());
    // A real flash mint aimed at the liquidator by someone else, carrying a batch job.
    await expect(keel.kusd.connect(stranger).flashLoan(fl, kusd, 1_000n * E18, job))
      .to.be.revertedWithCustomError(fl, "UntrustedCallback")
      .withArgs(kusd, stranger.address);
    expect(await keel.engine.debtOf(x.A)).to.be.gt(0n);
    await checkInvariants(keel);
  });
});
