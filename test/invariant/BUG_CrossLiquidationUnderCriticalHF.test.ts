/**
 * BUG (found by the invariant suite, invariant 7: a Liquidatable position can always be liquidated).
 *
 * A solvent cross position (coverable ≥ debt) whose HF falls under criticalHF must be repaid in full (DESIGN §4),
 * but one liquidation seizes one asset, and `_sizeLiquidation` caps the repayment at what that asset pays for.
 * When no single holding covers the whole debt, the "full" liquidation becomes a partial one, and `_checkPartial`
 * then requires HF to rise — which it cannot under (1 + ℓ)(1 − hm): seizing at a penalty from a position that
 * far under water lowers HF. Every asset choice reverts with `LiquidationWouldLowerHealth`, so the position is
 * stuck (Liquidatable, not liquidatable) until prices fall far enough to make it insolvent, and bad debt grows.
 *
 * This test asserts the specified behaviour and fails until the contracts are fixed.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { MaxUint256 } from "ethers";
import * as m from "../../src/math";
import { loadKeel } from "../helpers/fixtures";
import { expectedLiquidation, openCrossDebt, pinNext, setPrice, State } from "../helpers/liquidation";

describe("BUG_CrossLiquidationUnderCriticalHF", () => {
  it("a solvent cross position under criticalHF that no single asset can repay is still liquidatable", async () => {
    const keel = await loadKeel();
    const [, user, keeper] = await ethers.getSigners();
    const weth = await keel.assets.WETH!.token.getAddress();
    const wbtc = await keel.assets.WBTC!.token.getAddress();
    // Borrow 1,156,054 kUSD against 90.541 WETH and 15.77156666 WBTC at 30% higher prices, then prices return to
    // $3,000 and $60,000: V ≈ $1,217,917, HF ≈ 0.9456 < criticalHF 0.95, and the collateral still covers the debt
    // at the penalty (V / 1.05 ≈ 1,159,921 kUSD), so the position is solvent.
    await setPrice(keel, "WETH", 3900);
    await setPrice(keel, "WBTC", 78_000);
    const id = await openCrossDebt(keel, user!, [["WETH", 90_541n * 10n ** 15n], ["WBTC", 1_577_156_666n]], 1_156_054n * m.WAD);
    await setPrice(keel, "WETH", 3000);
    await setPrice(keel, "WBTC", 60_000);

    const { criticalHF } = await keel.engine.liquidationParams();
    const ts = await pinNext();
    const e = await expectedLiquidation(keel, id, weth, MaxUint256, ts);
    expect(e.hf < criticalHF, "HF under criticalHF").to.equal(true);
    expect(e.coverable >= e.debt, "solvent: the collateral covers the debt at the penalty").to.equal(true);
    const [state] = await keel.engine.stateOf(id, { blockTag: "pending" });
    expect(state).to.equal(State.Liquidatable);
    // Neither holding alone pays for the whole debt, so either liquidation is partial.
    expect(e.repaid < e.debt).to.equal(true);
    expect((await expectedLiquidation(keel, id, wbtc, MaxUint256, ts)).repaid < e.debt).to.equal(true);

    // Specified (DESIGN §4, and invariant 7): a Liquidatable position can be liquidated. Today both choices
    // revert with LiquidationWouldLowerHealth: losing a whole holding loses diversification, so the partial
    // liquidation lowers HF (≈ 0.9440 seizing WETH, ≈ 0.9418 seizing WBTC, by the mirror).
    const outcomes: string[] = [];
    for (const asset of [weth, wbtc]) {
      try {
        await keel.engine.connect(keeper!).previewLiquidation.staticCall(id, asset, MaxUint256, { blockTag: "pending" });
        outcomes.push("ok");
      } catch (error) {
        outcomes.push((error as Error).message.match(/custom error '(\w+)/)?.[1] ?? "revert");
      }
    }
    expect(outcomes, "previewLiquidation seizing [WETH, WBTC]").to.include("ok");
  });
});
