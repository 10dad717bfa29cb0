/**
 * The statistics of the backtest (`src/risk/chiSquare`, `src/risk/backtest/exceedanceTests`): the χ² distribution
 * against its table values, Kupiec's POF test against Jorion's non-rejection regions and a hand-computed ratio,
 * Christoffersen's independence test on hand-counted transitions, and runs that never join across a break.
 */
import { expect } from "chai";
import { chiSquareCdf, chiSquareSurvival, lnGamma } from "../../../src/risk/chiSquare";
import {
  christoffersenIndependence,
  kupiecPof,
  testExceedances,
  transitions,
  worstRun,
} from "../../../src/risk/backtest/exceedanceTests";
import { DistributionError } from "../../../src/risk/normal";

describe("backtest statistics", () => {
  describe("χ² distribution", () => {
    it("test_chiSquareSurvival_oneDegreeCriticalValues: 2.706, 3.841, 6.635 and 10.83 are the 10%, 5%, 1% and 0.1% points", () => {
      expect(chiSquareSurvival(2.705543, 1)).to.be.closeTo(0.1, 1e-6);
      expect(chiSquareSurvival(3.841459, 1)).to.be.closeTo(0.05, 1e-6);
      expect(chiSquareSurvival(6.634897, 1)).to.be.closeTo(0.01, 1e-7);
      expect(chiSquareSurvival(10.827566, 1)).to.be.closeTo(0.001, 1e-8);
      // The brief's rounded values.
      expect(chiSquareSurvival(3.841, 1)).to.be.closeTo(0.05, 1e-4);
      expect(chiSquareSurvival(6.635, 1)).to.be.closeTo(0.01, 1e-5);
    });

    it("test_chiSquareCdf_closedForms: one degree is erf(√(x/2)), two degrees 1 − e^(−x/2)", () => {
      expect(chiSquareCdf(1, 1)).to.be.closeTo(0.6826894921370859, 1e-13); // P(|Z| ≤ 1)
      expect(chiSquareCdf(4, 1)).to.be.closeTo(0.9544997361036416, 1e-13); // P(|Z| ≤ 2)
      for (const x of [0.01, 0.5, 1, 2, 5.991465, 10, 30, 100]) {
        expect(chiSquareSurvival(x, 2), `x = ${x}`).to.be.closeTo(Math.exp(-x / 2), 1e-14 + 1e-12 * Math.exp(-x / 2));
      }
      expect(chiSquareSurvival(5.991465, 2)).to.be.closeTo(0.05, 1e-7);
      expect(chiSquareSurvival(18.307038, 10)).to.be.closeTo(0.05, 1e-7);
    });

    it("test_chiSquare_edges: both tails sum to 1, x ≤ 0 and ∞ are exact, bad degrees throw", () => {
      for (const k of [1, 2, 3, 10]) {
        for (const x of [0.1, 1, 3, 8, 25]) expect(chiSquareCdf(x, k) + chiSquareSurvival(x, k)).to.be.closeTo(1, 1e-14);
      }
      expect(chiSquareCdf(0, 1)).to.equal(0);
      expect(chiSquareSurvival(0, 1)).to.equal(1);
      expect(chiSquareSurvival(Infinity, 1)).to.equal(0);
      expect(chiSquareSurvival(200, 1)).to.be.greaterThan(0).and.below(1e-44); // no cancellation in the far tail
      expect(() => chiSquareCdf(1, 0)).to.throw(DistributionError, "degrees of freedom 0");
      expect(() => chiSquareSurvival(NaN, 1)).to.throw(DistributionError, "not a number");
    });

    it("test_lnGamma_knownValues: Γ(1) = 1, Γ(1/2) = √π, Γ(10) = 9!", () => {
      expect(lnGamma(1)).to.be.closeTo(0, 1e-14);
      expect(lnGamma(0.5)).to.be.closeTo(0.5 * Math.log(Math.PI), 1e-14);
      expect(lnGamma(10)).to.be.closeTo(Math.log(362_880), 1e-12);
      expect(() => lnGamma(0)).to.throw(DistributionError);
    });
  });

  describe("Kupiec", () => {
    const accepts = (n: number, x: number): boolean => kupiecPof(n, x, 0.01).pValue >= 0.05;

    it("test_kupiecPof_jorionRegions: at 99% and 5% size, 510 days accept 2 to 10 exceedances and 1000 days 5 to 16", () => {
      // Jorion, Value at Risk (3rd ed.), table 6-3, after Kupiec (1995): T = 510: 1 < N < 11; T = 1000: 4 < N < 17;
      // T = 255: N < 7.
      const region = (n: number): number[] => Array.from({ length: 40 }, (_, x) => x).filter((x) => accepts(n, x));
      expect(region(510)).to.deep.equal([2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(region(1000)).to.deep.equal([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
      expect(Math.max(...region(255))).to.equal(6);
    });

    it("test_kupiecPof_handComputed: the ratio of the two binomial likelihoods", () => {
      // x/n = p: the fitted and null likelihoods coincide.
      expect(kupiecPof(100, 1, 0.01).statistic).to.be.closeTo(0, 1e-12);
      expect(kupiecPof(100, 1, 0.01).pValue).to.be.closeTo(1, 1e-12);
      // No exceedance in 1000 days: LR = −2 · 1000 · ln 0.99 = 20.1007 (too conservative to pass).
      expect(kupiecPof(1000, 0, 0.01).statistic).to.be.closeTo(-2000 * Math.log(0.99), 1e-9);
      expect(kupiecPof(1000, 0, 0.01).statistic).to.be.closeTo(20.1007, 1e-4);
      // 1 in 5 days: −2[4 ln .99 + ln .01] + 2[4 ln .8 + ln .2] = 9.2908 − 5.0040 = 4.2868 → p = 0.0384.
      const lr = kupiecPof(5, 1, 0.01);
      expect(lr.statistic).to.be.closeTo(-2 * (4 * Math.log(0.99) + Math.log(0.01)) + 2 * (4 * Math.log(0.8) + Math.log(0.2)), 1e-12);
      expect(lr.statistic).to.be.closeTo(4.2868, 1e-4);
      expect(lr.pValue).to.be.closeTo(0.0384, 1e-4);
      expect(() => kupiecPof(5, 6, 0.01)).to.throw(DistributionError, "6 exceedances in 5 days");
      expect(() => kupiecPof(5, 1, 1)).to.throw(DistributionError, "outside (0, 1)");
    });
  });

  describe("Christoffersen", () => {
    it("test_transitions_withinRunsOnly: no transition from one run's last day to the next run's first", () => {
      expect(transitions([[true], [true]])).to.deep.equal({ n00: 0, n01: 0, n10: 0, n11: 0 });
      expect(transitions([[true, true]])).to.deep.equal({ n00: 0, n01: 0, n10: 0, n11: 1 });
      expect(transitions([[false, true, false], [true, false]])).to.deep.equal({ n00: 0, n01: 1, n10: 2, n11: 0 });
    });

    it("test_christoffersen_handComputed: equal conditional rates give 0; clustered hits give the Markov ratio", () => {
      // 0 0 1 1 0 0 0 1 0 0: n00 = 4, n01 = 2, n10 = 2, n11 = 1; π01 = 2/6 = π11 = 1/3 = π: LR = 0.
      const even = [false, false, true, true, false, false, false, true, false, false];
      expect(transitions([even])).to.deep.equal({ n00: 4, n01: 2, n10: 2, n11: 1 });
      expect(christoffersenIndependence(transitions([even])).statistic).to.be.closeTo(0, 1e-12);
      // 0 1 1 1 0 0 0 0: n00 = 3, n01 = 1, n10 = 1, n11 = 2; π01 = 1/4, π11 = 2/3, π = 3/7.
      // LR = −2[4 ln(4/7) + 3 ln(3/7)] + 2[3 ln(3/4) + ln(1/4) + ln(1/3) + 2 ln(2/3)]
      //    = −2(−2.238464 − 2.541894) + 2(−0.863046 − 1.386294 − 1.098612 − 0.810930) = 9.560716 − 8.317764 ≈ 1.24295.
      const clustered = [false, true, true, true, false, false, false, false];
      const lr = christoffersenIndependence(transitions([clustered]));
      const expected =
        -2 * (4 * Math.log(4 / 7) + 3 * Math.log(3 / 7)) +
        2 * (3 * Math.log(3 / 4) + Math.log(1 / 4) + Math.log(1 / 3) + 2 * Math.log(2 / 3));
      expect(lr.statistic).to.be.closeTo(expected, 1e-12);
      expect(lr.statistic).to.be.closeTo(1.24295, 1e-5);
      expect(lr.pValue).to.be.closeTo(chiSquareSurvival(expected, 1), 1e-15);
    });

    it("test_christoffersen_degenerate: no exceedance, or never two days in a row, is 0 or the ratio of π01 alone", () => {
      expect(christoffersenIndependence({ n00: 100, n01: 0, n10: 0, n11: 0 })).to.deep.equal({ statistic: 0, pValue: 1 });
      // Every hit is followed by a miss: π11 = 0, n11 = 0 contributes nothing.
      const t = { n00: 96, n01: 2, n10: 2, n11: 0 };
      const pi = 2 / 100;
      const expected = -2 * (98 * Math.log(1 - pi) + 2 * Math.log(pi)) + 2 * (96 * Math.log(96 / 98) + 2 * Math.log(2 / 98));
      expect(christoffersenIndependence(t).statistic).to.be.closeTo(expected, 1e-12);
    });
  });

  it("test_worstRun_withinRunsOnly: the longest streak of exceedances, never joined across a break", () => {
    expect(worstRun([[true, true, false, true, true, true], [true]])).to.equal(3);
    expect(worstRun([[false, true, true], [true, true, false]])).to.equal(2);
    expect(worstRun([[false, false]])).to.equal(0);
  });

  it("test_testExceedances_passBoth: counts, rate, both p-values at or above the size", () => {
    const quiet = [Array.from({ length: 500 }, (_, i) => i % 100 === 50)]; // 5 isolated hits in 500 days
    const r = testExceedances(quiet);
    expect([r.days, r.exceedances, r.rate, r.worstRun]).to.deep.equal([500, 5, 0.01, 1]);
    expect(r.kupiec.statistic).to.be.closeTo(0, 1e-9);
    expect(r.pass).to.equal(true);
    const bunched = [Array.from({ length: 500 }, (_, i) => i >= 250 && i < 255)]; // the same 5 hits in a row
    const b = testExceedances(bunched);
    expect(b.kupiec.pValue).to.be.closeTo(r.kupiec.pValue, 1e-12);
    expect(b.christoffersen.pValue).to.be.below(0.05);
    expect([b.worstRun, b.pass]).to.deep.equal([5, false]);
  });
});
