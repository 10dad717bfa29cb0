/**
 * The backtest on small synthetic daily closes whose answer is worked out by hand below: the VolatilityOracle's σ
 * day by day (half-life one day, so λ = 1/2 exactly; a maxStep that never binds over a day), the requirement, the
 * next day's loss, exceedances, the tests, the static σ and an episode, for one asset and a basket; a history with a
 * gap that no return, run or transition crosses; and the errors a user gets for a window with nothing in it.
 */
import { expect } from "chai";
import { WAD } from "../../../src/math";
import { backtest, DEFAULT_BACKTEST_OPTIONS, type BacktestOptions, type MarginParams } from "../../../src/risk/backtest/backtest";
import { kupiecPof } from "../../../src/risk/backtest/exceedanceTests";
import { BacktestError, gapsOf, parseDailyCloses, priceRuns } from "../../../src/risk/backtest/history";
import { SeriesError } from "../../../src/risk/series";

const pct = (x: number): bigint => (BigInt(Math.round(x * 1e6)) * WAD) / 100_000_000n;

// AAA: +10%, −10%, 0, −10%, 0. BBB: constant (its σ stays at σmin). Six days, five evaluated (the last has no next).
const CSV = `date,AAA,BBB
2021-01-01,100,50
2021-01-02,110,50
2021-01-03,99,50
2021-01-04,99,50
2021-01-05,89.1,50
2021-01-06,89.1,50
`;

const PARAMS: MarginParams = {
  horizon: 86_400,
  halfLife: 86_400, // λ = 2^(−1) = 1/2 between daily pokes
  maxStep: WAD / 10n, // 10 points an hour: σ reaches any target within the day
  zMaintenance: 3n * WAD,
  assets: {
    AAA: { sigmaMin: pct(1), sigmaMax: pct(50), maintenanceHaircut: pct(5) },
    BBB: { sigmaMin: pct(1), sigmaMax: pct(50), maintenanceHaircut: pct(3) },
  },
};

const OPTIONS: BacktestOptions = {
  ...DEFAULT_BACKTEST_OPTIONS,
  window: { from: "2021-01-01", to: "2021-12-31" },
  warmupDays: 0,
  liquidFrom: {},
  rho: 0.5,
  realizedWindow: 2,
  episodes: [{ name: "the drop", from: "2021-01-02", to: "2021-01-03" }],
};

/*
 * AAA by hand. Variance in "per day" units (the oracle's per second × 86400); target = √variance, σ in force after a
 * poke = the σ that was moving toward the previous target (a poke changes the target, never σ):
 *
 *   day          r      variance                         target        σ in force   3σ        max(3σ, 5%)  next-day loss
 *   01-01 (d0)   —      (first poke: price only)         σmin 1%       σmin 1%      3%        5%           1 − 110/100 = −10%
 *   01-02 (d1)   10%    0.01 (first sample seeds)        10%           σmin 1%      3%        5%           1 − 99/110  = 10%  ✗
 *   01-03 (d2)   10%    ½·0.01 + ½·0.01 = 0.01           10%           10%          30%       30%          0
 *   01-04 (d3)   0      ½·0.01 = 0.005                   7.0711%       10%          30%       30%          1 − 89.1/99 = 10%
 *   01-05 (d4)   10%    ½·0.005 + ½·0.01 = 0.0075        8.6603%       7.0711%      21.213%   21.213%      0
 */
const SQRT_005 = Math.sqrt(0.005);
const AAA = {
  sigma: [0.01, 0.01, 0.1, 0.1, SQRT_005],
  target: [0.01, 0.1, 0.1, SQRT_005, Math.sqrt(0.0075)],
  requirement: [0.05, 0.05, 0.3, 0.3, 3 * SQRT_005],
  sigmaRequirement: [0.03, 0.03, 0.3, 0.3, 3 * SQRT_005],
  loss: [-0.1, 0.1, 0, 0.1, 0],
};

/*
 * The basket, equal weights, ρ = 0.5, σ_BBB = 1%: σ² = ¼σA² + ¼σB² + 2·¼·ρ·σA·σB, floor ½·5% + ½·3% = 4%.
 *   d0, d1: σA = 1%:      ¼e-4 + ¼e-4 + ¼e-4 = 0.75e-4            → σ 0.8660%, 3σ 2.598% → 4%; losses −5%, 5% ✗
 *   d2, d3: σA = 10%:     0.0025 + 0.000025 + 0.00025 = 0.002775   → σ 5.2678%, 3σ 15.80%;      losses 0, 5%
 *   d4:     σA = 7.0711%: 0.00125 + 0.000025 + 0.25·0.070711·0.01  → σ 3.8102%, 3σ 11.43%;      loss 0
 */
const basketSigma = (a: number): number => Math.sqrt(0.25 * a * a + 0.25 * 1e-4 + 0.25 * a * 0.01);
const BASKET = {
  sigma: AAA.sigma.map(basketSigma),
  requirement: AAA.sigma.map((a) => Math.max(3 * basketSigma(a), 0.04)),
  loss: [-0.05, 0.05, 0, 0.05, 0],
};

const TOLERANCE = 1e-9; // the oracle rounds up at 1e-18 and takes square roots of [1e36]-scaled variances
const BASKET_TOLERANCE = 1e-8; // the margin formula takes the basket's square root at 1e-9 (sqrtUp × SQRT_WAD), rounded up

describe("Backtest on synthetic closes", () => {
  const history = parseDailyCloses(CSV, "synthetic.csv");

  it("test_backtest_oneAsset_handComputed: σ, target, requirement, loss and exceedance of every day", () => {
    const [aaa] = backtest(history, [{ name: "AAA", assets: ["AAA"] }], PARAMS, OPTIONS);
    const days = aaa!.runs.flat();
    expect(days.map((d) => d.date)).to.deep.equal(["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04", "2021-01-05"]);
    days.forEach((d, i) => {
      expect(d.sigma, `σ ${d.date}`).to.be.closeTo(AAA.sigma[i]!, TOLERANCE);
      expect(d.target, `target ${d.date}`).to.be.closeTo(AAA.target[i]!, TOLERANCE);
      expect(d.requirement, `requirement ${d.date}`).to.be.closeTo(AAA.requirement[i]!, TOLERANCE);
      expect(d.sigmaRequirement, `zm σ ${d.date}`).to.be.closeTo(AAA.sigmaRequirement[i]!, TOLERANCE);
      expect(d.loss, `loss ${d.date}`).to.be.closeTo(AAA.loss[i]!, 1e-12);
    });
    expect(days.map((d) => d.exceeded)).to.deep.equal([false, true, false, false, false]);
    expect(days.map((d) => d.sigmaExceeded)).to.deep.equal([false, true, false, false, false]);
    // Realized σ over 2 returns, from the third day: RMS of (+10%, −10%), then (−10%, 0), then (0, −10%).
    const realized = days.map((d) => d.realized);
    expect(realized.slice(0, 2)).to.deep.equal([null, null]);
    [0.1, SQRT_005, SQRT_005].forEach((x, i) => expect(realized[i + 2]).to.be.closeTo(x, 1e-12));
  });

  it("test_backtest_oneAsset_testsAndCost: 1 exceedance in 5 days fails Kupiec; the mean requirement; the static σ", () => {
    const [aaa] = backtest(history, [{ name: "AAA", assets: ["AAA"] }], PARAMS, OPTIONS);
    const m = aaa!.maintenance;
    expect([m.days, m.exceedances, m.worstRun]).to.deep.equal([5, 1, 1]);
    // −2[4 ln .99 + ln .01] + 2[4 ln .8 + ln .2] = 4.2868 → p = 0.038 < 5%.
    expect(m.kupiec.statistic).to.be.closeTo(kupiecPof(5, 1, 0.01).statistic, 1e-12);
    expect(m.kupiec.statistic).to.be.closeTo(4.2868, 1e-4);
    // Hits 0 1 0 0 0: n00 = 2, n01 = 1, n10 = 1, π = 1/4, π01 = 1/3, π11 = 0:
    // −2[3 ln(3/4) + ln(1/4)] + 2[2 ln(2/3) + ln(1/3)] = 4.498680 − 3.819085 = 0.679596.
    expect(m.transitions).to.deep.equal({ n00: 2, n01: 1, n10: 1, n11: 0 });
    expect(m.christoffersen.statistic).to.be.closeTo(-2 * (3 * Math.log(3 / 4) + Math.log(1 / 4)) + 2 * (2 * Math.log(2 / 3) + Math.log(1 / 3)), 1e-12);
    expect(m.christoffersen.statistic).to.be.closeTo(0.679596, 1e-6);
    expect(m.pass).to.equal(false);
    expect(m.meanRequirement).to.be.closeTo((0.05 + 0.05 + 0.3 + 0.3 + 3 * SQRT_005) / 5, TOLERANCE);
    expect(aaa!.sigmaOnly.meanRequirement).to.be.closeTo((0.03 + 0.03 + 0.3 + 0.3 + 3 * SQRT_005) / 5, TOLERANCE);
    // Static: no exceedance in 5 days passes (LR = −10 ln .99 = 0.1005), one does not. The two 10% losses need
    // 3σ > 10%: σ = 3.30% gives 9.90% (two exceedances), 3.35% gives 10.05% (none).
    const s = aaa!.static!.maintenance!;
    expect([s.sigma, s.requirement, s.floorBinds, s.test.exceedances, s.test.pass]).to.deep.equal([0.0335, 0.1005, false, 0, true]);
    expect(aaa!.static!.sigmaOnly!.sigma).to.equal(0.0335);
  });

  it("test_backtest_basket_handComputed: portfolio σ with ρ, the summed floor, the basket's loss", () => {
    const [basket] = backtest(history, [{ name: "basket", assets: ["AAA", "BBB"] }], PARAMS, OPTIONS);
    const days = basket!.runs.flat();
    expect(days).to.have.length(5);
    days.forEach((d, i) => {
      expect(d.sigma, `σ ${d.date}`).to.be.closeTo(BASKET.sigma[i]!, BASKET_TOLERANCE);
      expect(d.requirement, `requirement ${d.date}`).to.be.closeTo(BASKET.requirement[i]!, BASKET_TOLERANCE);
      expect(d.loss, `loss ${d.date}`).to.be.closeTo(BASKET.loss[i]!, 1e-12);
    });
    expect(days.map((d) => d.exceeded)).to.deep.equal([false, true, false, false, false]);
    expect(basket!.rho).to.equal(0.5);
    expect(basket!.maintenance.exceedances).to.equal(1);
  });

  it("test_backtest_episode_handComputed: σ and target at the start, peak and end; the worst day", () => {
    const [aaa] = backtest(history, [{ name: "AAA", assets: ["AAA"] }], PARAMS, OPTIONS);
    const [e] = aaa!.episodes;
    expect(e!.days).to.equal(2); // 01-02, 01-03
    expect(e!.start.sigma).to.be.closeTo(0.01, TOLERANCE);
    expect(e!.start.target).to.be.closeTo(0.1, TOLERANCE);
    expect(e!.peak.sigmaDate).to.equal("2021-01-03");
    expect(e!.peak.sigma).to.be.closeTo(0.1, TOLERANCE);
    expect(e!.end.sigma).to.be.closeTo(0.1, TOLERANCE);
    expect(e!.end.target).to.be.closeTo(0.1, TOLERANCE);
    expect(e!.worst.date).to.equal("2021-01-02");
    expect(e!.worst.loss).to.be.closeTo(0.1, 1e-12);
    expect(e!.worst.requirement).to.be.closeTo(0.05, TOLERANCE);
    expect([e!.exceedances, e!.sigmaExceedances]).to.deep.equal([1, 1]);
  });

  it("test_backtest_warmup: a day counts only warmupDays after its run's first day", () => {
    const [aaa] = backtest(history, [{ name: "AAA", assets: ["AAA"] }], PARAMS, { ...OPTIONS, warmupDays: 2 });
    expect(aaa!.runs.flat().map((d) => d.date)).to.deep.equal(["2021-01-03", "2021-01-04", "2021-01-05"]);
    expect(aaa!.maintenance.exceedances).to.equal(0);
  });

  describe("a gap", () => {
    // The same five closes, then two months missing, then the same path ten times higher: a "return" across the gap
    // would be +1022%, and the oracle would carry January's variance into March.
    const GAPPED = `date,AAA,BBB
2021-01-01,100,50
2021-01-02,110,50
2021-01-03,99,
2021-01-04,99,50
2021-01-05,89.1,50
2021-03-01,1000,50
2021-03-02,1100,50
2021-03-03,990,50
2021-03-04,990,50
2021-03-05,891,50
`;
    const gapped = parseDailyCloses(GAPPED, "gapped.csv");

    it("test_priceRuns_splitAtGapsAndMissingCells: runs of consecutive days, a missing price ends a run", () => {
      expect(gapsOf(gapped)).to.deep.equal([{ before: "2021-01-05", after: "2021-03-01" }]);
      expect(priceRuns(gapped, "AAA").map((r) => r.days.length)).to.deep.equal([5, 5]);
      expect(priceRuns(gapped, "BBB").map((r) => r.days.length)).to.deep.equal([2, 2, 5]);
      expect(priceRuns(gapped, "AAA", "2021-01-04").map((r) => r.days.length)).to.deep.equal([2, 5]);
    });

    it("test_backtest_gapNeverSpanned: no loss, transition or run crosses it; the oracle restarts after it", () => {
      const [aaa] = backtest(gapped, [{ name: "AAA", assets: ["AAA"] }], PARAMS, OPTIONS);
      expect(aaa!.runs.map((r) => r.map((d) => d.date))).to.deep.equal([
        ["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04"],
        ["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-04"],
      ]);
      for (const d of aaa!.runs.flat()) expect(d.loss).to.be.above(-0.11).and.below(0.11);
      // Restarted: March replays January's requirements exactly (same returns, same unpoked start).
      expect(aaa!.runs[1]!.map((d) => d.requirement)).to.deep.equal(aaa!.runs[0]!.map((d) => d.requirement));
      expect(aaa!.runs[1]![0]!.sigma).to.be.closeTo(0.01, TOLERANCE);
      // Hits 0 1 0 0 | 0 1 0 0: three transitions per run, none from 01-04 to 03-01.
      expect(aaa!.maintenance.transitions).to.deep.equal({ n00: 2, n01: 2, n10: 2, n11: 0 });
      expect(aaa!.maintenance.days).to.equal(8);
    });

    it("test_backtest_basket_onlyDaysBothAssetsHave: BBB's missing 01-03 removes 01-02 and 01-03", () => {
      const [basket] = backtest(gapped, [{ name: "basket", assets: ["AAA", "BBB"] }], PARAMS, OPTIONS);
      expect(basket!.runs.map((r) => r.map((d) => d.date))).to.deep.equal([
        ["2021-01-01"],
        ["2021-01-04"],
        ["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-04"],
      ]);
    });

    it("test_backtest_windowInsideGap_refused: a window with no day to evaluate says where the data is", () => {
      const run = (from: string, to: string): unknown =>
        backtest(gapped, [{ name: "AAA", assets: ["AAA"] }], PARAMS, { ...OPTIONS, window: { from, to } });
      expect(() => run("2021-01-10", "2021-02-20")).to.throw(
        BacktestError,
        "AAA: no day to evaluate from 2021-01-10 to 2021-02-20. Prices used: AAA 2021-01-01 to 2021-01-05 and 2021-03-01 to 2021-03-05 (nothing between 2021-01-05 and 2021-03-01 in gapped.csv)",
      );
      // The last day before the gap has no next close: a window on it alone is empty too.
      expect(() => run("2021-01-05", "2021-03-01")).to.throw(BacktestError, "no day to evaluate");
      expect(() => run("2021-03-01", "2021-01-01")).to.throw(BacktestError, "window 2021-03-01 to 2021-01-01 ends before it starts");
      expect(() => run("2021-02-30", "2021-03-01")).to.throw(BacktestError, `window start "2021-02-30" is not a date`);
      expect(() => priceRuns(gapped, "CCC")).to.throw(BacktestError, `gapped.csv has no column "CCC" (AAA, BBB)`);
    });
  });

  it("test_parseDailyCloses_rejects: header, dates, order and prices, naming the line", () => {
    const bad: [string, string][] = [
      ["day,AAA\n2021-01-01,1\n2021-01-02,1\n", `first column must be "date"`],
      ["date,AAA\n2021-01-01,1\n2021-02-30,1\n", `line 3: "2021-02-30" is not a date YYYY-MM-DD`],
      ["date,AAA\n2021-01-02,1\n2021-01-01,1\n", "line 3: 2021-01-01 is not after the previous 2021-01-02"],
      ["date,AAA\n2021-01-01,1\n2021-01-02,-3\n", `line 3: AAA price "-3" is not a positive number`],
      ["date,AAA\n2021-01-01,1\n2021-01-02,1,2\n", "line 3: 3 fields, expected 2"],
      ["date,AAA,AAA\n2021-01-01,1,1\n", `column "AAA" appears twice`],
    ];
    for (const [text, message] of bad) expect(() => parseDailyCloses(text, "f.csv"), message).to.throw(SeriesError, message);
  });
});
