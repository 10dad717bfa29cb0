/**
 * src/risk/pegCeiling.ts: the PSM ceiling a price history allows, from the reserve's lowest price (or, without a
 * column, zm × σmax), against a loss budget that is a share of the book's debt. Figures computed here by hand.
 */
import { expect } from "chai";
import { pegCeiling } from "../../../src/risk/pegCeiling";
import type { PriceSeries } from "../../../src/risk/series";

const series = (usdc: number[]): PriceSeries => ({ timestamps: usdc.map((_, i) => i * 86_400), prices: { USDC: usdc, WETH: usdc.map(() => 3000) } });
const inputs = { reserve: "USDC", configuredCeiling: 50_000_000, bookDebt: 200_000_000, sigmaMax: 0.1, zMaintenance: 2.33 };

describe("pegCeiling", () => {
  it("test_pegCeiling_fromTheLowestPrice: budget / (1 − lowest price), across segments", () => {
    const a = pegCeiling([series([1, 0.998, 1.001]), series([1, 0.96, 0.99])], inputs);
    expect(a.stressedDepeg).to.be.closeTo(0.04, 1e-12);
    expect(a.budget).to.equal(2_000_000);
    expect(a.recommended).to.equal(Math.floor(2_000_000 / (1 - 0.96)));
    expect(a.source).to.equal("the lowest USDC price in the history ($0.9600)");
    expect(a.configured).to.equal(50_000_000);
  });

  it("test_pegCeiling_noColumn_usesTheStressedMove: zm × σmax when the history has no reserve series", () => {
    const a = pegCeiling({ timestamps: [0, 1], prices: { WETH: [1, 2] } }, { ...inputs, budgetShare: 0.02 });
    expect(a.stressedDepeg).to.be.closeTo(0.233, 1e-12);
    expect(a.recommended).to.equal(Math.floor(4_000_000 / 0.233));
    expect(a.source).to.match(/^no USDC series in the history: zm × σmax = 2.33 × 10.00%$/);
  });

  it("test_pegCeiling_neverDepegged_andBadBudget: no ceiling follows from a reserve that never left $1; a budget outside (0, 1] is refused", () => {
    expect(pegCeiling(series([1, 1.002, 1]), inputs).recommended).to.equal(undefined);
    expect(() => pegCeiling(series([1]), { ...inputs, budgetShare: 0 })).to.throw(RangeError, /budget share 0/);
  });
});
