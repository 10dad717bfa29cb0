/**
 * VaR and ES (`src/risk/var`): the normal closed forms against the empirical estimators on a large seeded normal
 * sample, Student-t tails against normal ones at equal variance, and Monte Carlo on a linear portfolio.
 */
import { expect } from "chai";
import { studentT } from "../../../src/risk/draws";
import { Prng } from "../../../src/risk/random";
import { simulatePriceRatios } from "../../../src/risk/shocks";
import { logReturns, sampleVolatility, StatsError } from "../../../src/risk/stats";
import {
  historicalES,
  historicalTailRisk,
  historicalVaR,
  monteCarloTailRisk,
  normalES,
  normalVaR,
  parametricTailRisk,
  toLosses,
} from "../../../src/risk/var";

describe("VaR and ES", () => {
  it("test_historical_handComputed", () => {
    const losses = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(historicalVaR(losses, 0.9)).to.be.closeTo(9.1, 1e-12); // type-7 quantile at 0.9
    expect(historicalES(losses, 0.9)).to.equal(10); // the ⌈10 × 0.1⌉ = 1 worst loss
    expect(historicalES(losses, 0.8)).to.equal(9.5); // the 2 worst
    expect(toLosses([0.01, -0.02])).to.deep.equal([-0.01, 0.02]);
    expect(() => historicalVaR(losses, 1)).to.throw(StatsError, "outside (0, 1)");
  });

  it("test_normal_closedForms", () => {
    expect(normalVaR(0, 1, 0.99)).to.be.closeTo(2.326348, 1e-6);
    expect(normalES(0, 1, 0.99)).to.be.closeTo(2.665214, 1e-6);
    expect(normalVaR(1, 2, 0.975)).to.be.closeTo(1 + 2 * 1.959964, 1e-6);
    const daily = parametricTailRisk(0.01, 3600, 86_400, 0.99); // 1%/hour → √24 % a day
    expect(daily.var).to.be.closeTo(0.01 * Math.sqrt(24) * 2.326348, 1e-8);
  });

  it("test_normalClosedForm_matchesHistoricalOfLargeSample_within2pct", () => {
    const prng = new Prng(11n);
    const sample = Array.from({ length: 200_000 }, () => 0.5 + 2 * prng.normal());
    for (const c of [0.95, 0.99]) {
      const { var: v, es } = historicalTailRisk(sample, c);
      expect(v).to.be.closeTo(normalVaR(0.5, 2, c), normalVaR(0.5, 2, c) * 0.02);
      expect(es).to.be.closeTo(normalES(0.5, 2, c), normalES(0.5, 2, c) * 0.02);
    }
  });

  it("test_studentT_esAboveNormal_atEqualVariance_99pct", () => {
    const prng = new Prng(12n);
    const t = Array.from({ length: 200_000 }, () => studentT(prng, 4));
    expect(sampleVolatility(t)).to.be.closeTo(1, 0.05);
    const tEs = historicalES(t, 0.99);
    // Unit-variance t₄: ES₉₉ ≈ 3.4 against the normal's 2.665.
    expect(tEs).to.be.greaterThan(normalES(0, 1, 0.99) * 1.15);
    // Through the scenario generator too, single asset, 5% horizon σ.
    const model = { volatility: [0.05], correlation: [[1]] };
    const normal = simulatePriceRatios(model, { paths: 50_000, seed: 5n }).map((r) => 1 - r[0]!);
    const fat = simulatePriceRatios(model, { paths: 50_000, seed: 5n, tails: { studentT: 4 } }).map((r) => 1 - r[0]!);
    expect(historicalES(fat, 0.99)).to.be.greaterThan(historicalES(normal, 0.99) * 1.1);
  });

  it("test_monteCarlo_linearPortfolio_matchesNormalClosedForm_within3pct", () => {
    // Exposures $1M and $0.5M, σ 1% and 2%, ρ 0.5: loss ≈ N(0, s²) with s² = 100² + 100² + 2·0.5·100·100 (in $1e2).
    const exposures = [1_000_000, 500_000];
    const model = { volatility: [0.01, 0.02], correlation: [[1, 0.5], [0.5, 1]] };
    const s = Math.sqrt(10_000 ** 2 + 10_000 ** 2 + 2 * 0.5 * 10_000 * 10_000);
    const mc = monteCarloTailRisk(exposures, model, { paths: 100_000, seed: 9n, confidence: 0.99 });
    expect(mc.var).to.be.closeTo(normalVaR(0, s, 0.99), normalVaR(0, s, 0.99) * 0.03);
    expect(mc.es).to.be.closeTo(normalES(0, s, 0.99), normalES(0, s, 0.99) * 0.03);
  });

  it("test_scenarios_multiStep_sameVarianceAsSqrtTime", () => {
    const model = { volatility: [0.05], correlation: [[1]] };
    const one = simulatePriceRatios(model, { paths: 20_000, seed: 1n }).map((r) => Math.log(r[0]!));
    const many = simulatePriceRatios(model, { paths: 20_000, seed: 1n, steps: 24 }).map((r) => Math.log(r[0]!));
    expect(sampleVolatility(one)).to.be.closeTo(0.05, 0.05 * 0.03);
    expect(sampleVolatility(many)).to.be.closeTo(0.05, 0.05 * 0.03);
    expect(logReturns([1, 2])).to.have.length(1);
    expect(() => simulatePriceRatios(model, { paths: 1, seed: 1n, steps: 0 })).to.throw("positive integer");
  });
});
