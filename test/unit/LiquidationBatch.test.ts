/**
 * `composeBatch` (src/keeper/liquidationBatch.ts): which positions one `liquidateBatch` takes from a venue's depth.
 * Pure, no chain: the amounts are chosen so each rule decides alone.
 */
import { expect } from "chai";
import { MaxUint256 } from "ethers";
import { type Candidate, composeBatch } from "../../src/keeper/liquidationBatch";

const WETH = "0x00000000000000000000000000000000000000aa";
const E18 = 10n ** 18n;

function candidate(id: bigint, seize: bigint, insolvent = false): Candidate {
  return {
    p: { id, mode: 0, asset: WETH, collateral: { [WETH]: seize }, normDebt: 0n, deadline: 0n },
    h: { id, hf: 9n * 10n ** 17n, debt: 0n, priced: true, valued: true },
    asset: WETH,
    repay: seize * 2_000n, // $2,000 of debt repaid per WETH seized
    seize,
    insolvent,
  };
}

describe("keeper: composeBatch", () => {
  it("test_composeBatch_solventOversize_cappedToTheDepthLeft: whole while they fit, the first that does not is capped", () => {
    const room = new Map([[WETH, 15n * E18]]);
    const batch = composeBatch([candidate(1n, 10n * E18), candidate(2n, 10n * E18), candidate(3n, E18)], room, 10);
    expect(batch.map((t) => [t.candidate.p.id, t.maxRepay, t.seize, t.partial])).to.deep.equal([
      [1n, MaxUint256, 10n * E18, false],
      [2n, 5n * E18 * 2_000n, 5n * E18, true],
    ]);
  });

  // The crash test found insolvent positions capped like solvent ones: the engine refused each (MaxRepayTooLow) and
  // they were never liquidated.
  it("test_composeBatch_insolventOversize_takenWholeNeverCapped: leads a batch whole, or waits for one", () => {
    const room = new Map([[WETH, 15n * E18]]);
    const afterOther = composeBatch([candidate(1n, 10n * E18), candidate(2n, 20n * E18, true), candidate(3n, 4n * E18)], room, 10);
    expect(afterOther.map((t) => [t.candidate.p.id, t.maxRepay, t.partial])).to.deep.equal([
      [1n, MaxUint256, false],
      [3n, MaxUint256, false],
    ]);
    const leading = composeBatch([candidate(2n, 20n * E18, true), candidate(3n, 4n * E18)], room, 10);
    expect(leading.map((t) => [t.candidate.p.id, t.maxRepay, t.seize, t.partial])).to.deep.equal([[2n, MaxUint256, 20n * E18, false]]);
  });
});
