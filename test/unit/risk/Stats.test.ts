/**
 * Risk statistics (`src/risk/stats`, `normal`, `draws`): exact values on tiny inputs, and recovery of known
 * volatility and correlation from seeded simulated paths within stated tolerances.
 */
import { expect } from "chai";
import { cholesky, correlatedDraw, studentT } from "../../../src/risk/draws";
import { DistributionError, normalCdf, normalQuantile } from "../../../src/risk/normal";
import { gbmPath, Prng } from "../../../src/risk/random";
import {
  annualizeVolatility,
  correlationMatrix,
  covariance,
  deannualizeVolatility,
  ewmaVariances,
  ewmaVolatility,
  horizonLogReturns,
  lambdaFromHalfLife,
  logReturns,
  mean,
  quantile,
  rollingCorrelation,
  sampleVolatility,
  samplingInterval,
  scaleVolatility,
  simpleReturns,
  StatsError,
} from "../../../src/risk/stats";

const HOUR = 3600;

describe("risk statistics", () => {
  describe("exact values", () => {
    it("test_returns_simpleAndLog", () => {
      expect(simpleReturns([100, 110, 99])).to.deep.equal([0.10000000000000009, -0.09999999999999998]);
      const r = logReturns([100, 110, 99]);
      expect(r[0]).to.be.closeTo(Math.log(1.1), 1e-15);
      expect(r[1]).to.be.closeTo(Math.log(0.9), 1e-15);
    });

    it("test_returns_rejectNonPositivePrices", () => {
      expect(() => logReturns([1, 0, 2])).to.throw(StatsError, "price 0 at index 1 is not positive");
      expect(() => simpleReturns([1])).to.throw(StatsError, "needs at least 2 values");
    });

    it("test_covarianceAndVolatility_handComputed", () => {
      // Deviations from the means 2.5 and 5: (−1.5, −0.5, 0.5, 1.5) and twice that; Σ = 5 and 10, over n − 1 = 3.
      const xs = [1, 2, 3, 4];
      const ys = [2, 4, 6, 8];
      expect(covariance(xs, xs)).to.be.closeTo(5 / 3, 1e-15);
      expect(covariance(xs, ys)).to.be.closeTo(10 / 3, 1e-15);
      expect(sampleVolatility(xs)).to.be.closeTo(Math.sqrt(5 / 3), 1e-15);
      expect(correlationMatrix({ x: xs, y: ys, z: [4, 3, 2, 1] }).matrix).to.deep.equal([
        [1, 1, -1],
        [1, 1, -1],
        [-1, -1, 1],
      ]);
      expect(() => covariance([1, 2], [1])).to.throw(StatsError, "lengths differ");
    });

    it("test_quantile_type7", () => {
      expect(quantile([4, 1, 3, 2], 0.5)).to.equal(2.5);
      expect(quantile([1, 2, 3, 4, 5], 0.9)).to.be.closeTo(4.6, 1e-12);
      expect(quantile([7], 0.99)).to.equal(7);
      expect(quantile([3, 1, 2], 0)).to.equal(1);
      expect(quantile([3, 1, 2], 1)).to.equal(3);
      expect(quantile([Infinity, Infinity, 1], 0.5)).to.equal(Infinity); // HF of debt-free positions
      expect(() => quantile([1], 1.5)).to.throw(StatsError, "outside [0, 1]");
    });

    it("test_ewma_seededByFirstSquare_halfLife", () => {
      expect(lambdaFromHalfLife(1)).to.equal(0.5);
      // λ = 0.5: v = [0.01², 0.5·0.01² + 0.5·0.03², …]
      const v = ewmaVariances([0.01, 0.03, 0], { lambda: 0.5 });
      expect(v[0]).to.be.closeTo(1e-4, 1e-18);
      expect(v[1]).to.be.closeTo(5e-4, 1e-18);
      expect(v[2]).to.be.closeTo(2.5e-4, 1e-18);
      expect(ewmaVolatility([0.02, -0.02, 0.02], { halfLife: 3 })).to.be.closeTo(0.02, 1e-15);
      expect(() => ewmaVolatility([0.01], { lambda: 1 })).to.throw(StatsError, "outside (0, 1)");
    });

    it("test_horizonLogReturns_overlapping", () => {
      const r = horizonLogReturns([100, 110, 121, 133.1], 2);
      expect(r).to.have.length(2);
      expect(r[0]).to.be.closeTo(Math.log(1.21), 1e-12);
      expect(r[1]).to.be.closeTo(Math.log(1.21), 1e-12);
      expect(() => horizonLogReturns([1, 2], 2)).to.throw(StatsError, "must be an integer in [1, 1]");
    });

    it("test_annualisation_sqrtTime", () => {
      expect(scaleVolatility(0.01, 86_400, 4 * 86_400)).to.be.closeTo(0.02, 1e-15);
      expect(annualizeVolatility(0.01, 86_400)).to.be.closeTo(0.01 * Math.sqrt(365), 1e-15);
      expect(deannualizeVolatility(annualizeVolatility(0.013, HOUR), HOUR)).to.be.closeTo(0.013, 1e-15);
      expect(samplingInterval([0, 60, 120, 300, 360])).to.equal(60);
    });

    it("test_normal_quantileAndCdf", () => {
      expect(normalQuantile(0.99)).to.be.closeTo(2.326347874, 1e-8);
      expect(normalQuantile(0.999)).to.be.closeTo(3.090232306, 1e-8);
      expect(normalQuantile(0.5)).to.be.closeTo(0, 1e-12);
      expect(normalQuantile(0.001)).to.be.closeTo(-3.090232306, 1e-8);
      expect(normalCdf(1.959963985)).to.be.closeTo(0.975, 1e-7);
      expect(() => normalQuantile(1)).to.throw(DistributionError, "outside (0, 1)");
    });
  });

  describe("recovery from seeded paths", () => {
    it("test_sampleVolatility_recoversGbmVolatility_within3pct", () => {
      // 60% annual volatility, hourly, 20,000 steps: the estimator's standard error is σ/√(2n) ≈ 0.5% relative.
      const path = gbmPath(new Prng(1n), 3000, 0.6, HOUR, 20_000);
      const recovered = annualizeVolatility(sampleVolatility(logReturns(path)), HOUR);
      expect(recovered).to.be.closeTo(0.6, 0.6 * 0.03);
      // EWMA with a 1-week half-life on a constant-volatility path: within 15% (effective sample ≈ 240).
      const ewma = annualizeVolatility(ewmaVolatility(logReturns(path), { halfLife: 168 }), HOUR);
      expect(ewma).to.be.closeTo(0.6, 0.6 * 0.15);
    });

    it("test_correlatedDraws_recoverTargetCorrelation_within0_02", () => {
      const target = [
        [1, 0.7, 0.2],
        [0.7, 1, -0.3],
        [0.2, -0.3, 1],
      ];
      const factor = cholesky(target);
      for (const tails of ["normal", { studentT: 5 }] as const) {
        const prng = new Prng(42n);
        const draws = Array.from({ length: 20_000 }, () => correlatedDraw(prng, factor, tails));
        const { matrix } = correlationMatrix({
          a: draws.map((d) => d[0]!),
          b: draws.map((d) => d[1]!),
          c: draws.map((d) => d[2]!),
        });
        for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(matrix[i]![j]).to.be.closeTo(target[i]![j]!, 0.02);
        // Unit variance per marginal within 5%.
        expect(sampleVolatility(draws.map((d) => d[0]!)) ** 2).to.be.closeTo(1, 0.05);
      }
    });

    it("test_gbmPaths_correlated_recoverRho", () => {
      // Two GBM paths driven by correlated normals with ρ = 0.8: the log-return correlation within 0.02.
      const factor = cholesky([
        [1, 0.8],
        [0.8, 1],
      ]);
      const prng = new Prng(7n);
      const sigma = 0.6 * Math.sqrt(HOUR / 31_536_000);
      const a = [100];
      const b = [100];
      for (let t = 0; t < 10_000; t++) {
        const [x, y] = correlatedDraw(prng, factor) as [number, number];
        a.push(a[t]! * Math.exp(sigma * x - sigma ** 2 / 2));
        b.push(b[t]! * Math.exp(sigma * y - sigma ** 2 / 2));
      }
      const { matrix } = correlationMatrix({ a: logReturns(a), b: logReturns(b) });
      expect(matrix[0]![1]).to.be.closeTo(0.8, 0.02);
      const rolling = rollingCorrelation(logReturns(a), logReturns(b), 500);
      expect(rolling).to.have.length(10_000 - 500 + 1);
      expect(mean(rolling)).to.be.closeTo(0.8, 0.02);
    });
  });

  describe("draws", () => {
    it("test_cholesky_reproducesTargetExactly", () => {
      const target = [
        [1, 0.75, 0, 0.95],
        [0.75, 1, 0, 0.72],
        [0, 0, 1, 0],
        [0.95, 0.72, 0, 1],
      ];
      const L = cholesky(target);
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          let s = 0;
          for (let k = 0; k < 4; k++) s += L[i]![k]! * L[j]![k]!;
          expect(s).to.be.closeTo(target[i]![j]!, 1e-12);
        }
      }
      // Semi-definite (ρ = 1) is accepted; indefinite and asymmetric are refused.
      expect(cholesky([[1, 1], [1, 1]])[1]).to.deep.equal([1, 0]);
      expect(() => cholesky([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]])).to.throw(DistributionError, "not positive semi-definite");
      expect(() => cholesky([[1, 0.5], [0.4, 1]])).to.throw(DistributionError, "not symmetric");
    });

    it("test_studentT_unitVariance_fatTails", () => {
      // ν = 5: unit variance within 5%; excess kurtosis 6/(ν − 4) = 6 in theory, clearly above the normal's 0.
      const prng = new Prng(3n);
      const xs = Array.from({ length: 100_000 }, () => studentT(prng, 5));
      const v = sampleVolatility(xs) ** 2;
      expect(v).to.be.closeTo(1, 0.05);
      const kurtosis = mean(xs.map((x) => x ** 4)) / v ** 2;
      expect(kurtosis).to.be.greaterThan(4.5);
      expect(() => studentT(prng, 2)).to.throw(DistributionError, "above 2");
    });
  });
});
