/**
 * Found by the invariant suite (invariant 7: a Liquidatable position can always be liquidated). A solvent cross
 * position under criticalHF owes its whole debt, but one liquidation seizes one asset and is capped at what that
 * asset pays for. When no single holding covers the debt, each liquidation is partial, and taking a whole holding at
 * a penalty lowers HF (the basket loses its diversification), so the rule "a partial liquidation must raise HF" left
 * the position Liquidatable with every liquidation reverting, until prices fell far enough to make it insolvent.
 * Now a close-out step (under criticalHF, limited only by the asset) goes through even if HF falls; a liquidation the
 * liquidator caps with maxRepay must still raise HF.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { MaxUint256 } from "ethers";
import * as m from "../../src/math";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { expectedLiquidation, fundKusd, openCrossDebt, setPrice, State } from "../helpers/liquidation";

describe("cross close-out under criticalHF (Liquidation library)", () => {
  async function stuckBasket() {
    const keel = await loadKeel();
    const [, user, keeper] = await ethers.getSigners();
    const wbtc = await keel.assets.WBTC!.token.getAddress();
    const wsteth = await keel.assets.wstETH!.token.getAddress();
    // Borrow 1,135,000 kUSD against 14.6 WBTC and 91.5 wstETH at 30% higher prices, then prices return to $60,000
    // and $3,540 (1.18 × $3,000): V = $1,199,910, Lm = 2.75 × the deviation at ρ 0.72 ≈ $147,647 (12.3% of V), HF ≈
    // 0.927 < criticalHF 0.95, and the collateral still covers the debt at the penalties (876,000 / 1.05 + 323,910 /
    // 1.06 ≈ 1,139,861 kUSD), so the position is solvent. Taking all of the WBTC leaves wstETH alone at 15.125% (HF ≈
    // 0.915), all of the wstETH leaves WBTC alone at 12.375% (HF ≈ 0.925): either lowers HF. (At the local ρ WETH/WBTC
    // of 0.9 no WETH and WBTC basket does both: taking the WETH, whose zm σ is the basket's higher, raises HF.)
    await setPrice(keel, "WETH", 3900);
    await setPrice(keel, "WBTC", 78_000);
    const id = await openCrossDebt(keel, user!, [["WBTC", 1_460_000_000n], ["wstETH", 91_500n * 10n ** 15n]], 1_135_000n * m.WAD);
    await setPrice(keel, "WETH", 3000);
    await setPrice(keel, "WBTC", 60_000);
    await fundKusd(keel, keeper!, 2_000_000n * m.WAD);
    return { keel, keeper: keeper!, id, wsteth, wbtc };
  }

  it("test_liquidate_closeOutStep_lowersHF: seizing all of one asset goes through, then the other repays the rest", async () => {
    const { keel, keeper, id, wsteth, wbtc } = await stuckBasket();
    const { criticalHF } = await keel.engine.liquidationParams();
    let ts = await pinNext();
    const first = await expectedLiquidation(keel, id, wsteth, MaxUint256, ts);
    expect(first.hf < criticalHF && first.coverable >= first.debt, "solvent, under criticalHF").to.equal(true);
    expect((await keel.engine.stateOf(id, { blockTag: "pending" }))[0]).to.equal(State.Liquidatable);
    // Neither holding alone pays for the whole debt, and taking either lowers HF.
    expect(first.repaid < first.debt && first.hfAfter < first.hf).to.equal(true);
    const viaWbtc = await expectedLiquidation(keel, id, wbtc, MaxUint256, ts);
    expect(viaWbtc.repaid < viaWbtc.debt && viaWbtc.hfAfter < viaWbtc.hf).to.equal(true);

    await expect(keel.engine.connect(keeper).liquidate(id, wsteth, MaxUint256, keeper.address, "0x"))
      .to.emit(keel.engine, "Liquidated")
      .withArgs(id, keeper.address, wsteth, first.repaid, first.seized, 0n);
    expect(await keel.engine.collateralOf(id, wsteth)).to.equal(first.amountsAfter[first.assets.indexOf(wsteth)]);
    expect(await keel.engine.debtOf(id, { blockTag: "latest" })).to.equal(first.debtAfter);
    const [hfNow] = await keel.engine.healthFactor(id);
    expect(hfNow < first.hf, "a close-out step may lower HF").to.equal(true);

    ts = await pinNext();
    const second = await expectedLiquidation(keel, id, wbtc, MaxUint256, ts);
    await expect(keel.engine.connect(keeper).liquidate(id, wbtc, MaxUint256, keeper.address, "0x"))
      .to.emit(keel.engine, "Liquidated")
      .withArgs(id, keeper.address, wbtc, second.repaid, second.seized, second.badDebt);
    // The WBTC holding pays for the rest: the position ends without debt and without bad debt.
    expect(second.repaid).to.equal(second.debt);
    expect(await keel.engine.debtOf(id)).to.equal(0n);
    expect(await keel.engine.deficit()).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_liquidate_cappedByMaxRepay_mustRaiseHF: a liquidator-capped partial under criticalHF still reverts", async () => {
    const { keel, keeper, id, wsteth } = await stuckBasket();
    const ts = await pinNext();
    // 250,000 kUSD of the 305,575 the wstETH pays for: a partial step that lowers HF (about −0.0006).
    const capped = await expectedLiquidation(keel, id, wsteth, 250_000n * m.WAD, ts);
    expect(capped.repaid).to.equal(250_000n * m.WAD);
    expect(capped.hfAfter < capped.hf).to.equal(true);
    await expect(keel.engine.connect(keeper).liquidate(id, wsteth, 250_000n * m.WAD, keeper.address, "0x"))
      .to.be.revertedWithCustomError(keel.engine, "LiquidationWouldLowerHealth")
      .withArgs(id, capped.hf, capped.hfAfter);
  });
});
