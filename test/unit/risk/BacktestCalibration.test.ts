/**
 * The walk-forward calibration (`src/risk/backtest/calibrate`) on the real daily closes, over a small grid: the chosen
 * point passes both tests for every subject in sample and no passing point is cheaper; each half-life × maxStep has
 * its frontier point; the current parameters' figures are those of a plain backtest; the out-of-sample windows are
 * the years the choice never saw.
 */
import { expect } from "chai";
import { localConfig } from "../../../deploy/networks/local";
import { parseKeelConfig } from "../../../src/client/config";
import { WAD } from "../../../src/math";
import { backtest, DEFAULT_BACKTEST_OPTIONS } from "../../../src/risk/backtest/backtest";
import { type Calibration, calibrate, type CalibrationGrid, defaultGrid, WALK_FORWARD, withGridParams } from "../../../src/risk/backtest/calibrate";
import { BacktestError, loadDailyCloses } from "../../../src/risk/backtest/history";
import { marginParamsFromConfig, SUBJECTS } from "../../../src/risk/backtest/params";
import { estimateRho } from "../../../src/risk/backtest/rho";
import { fractionToWad } from "../../../src/risk/coverage";

const DAY = 86_400;

describe("Backtest calibration, walk-forward", function () {
  const history = loadDailyCloses("data/history/daily-closes.csv");
  const base = marginParamsFromConfig(parseKeelConfig(localConfig));
  const subjects = Object.values(SUBJECTS);
  const grid: CalibrationGrid = {
    halfLives: [DAY, 3 * DAY],
    maxSteps: [fractionToWad(0.0025), fractionToWad(0.01)],
    zMaintenances: [2.33, 2.75, 3].map(fractionToWad),
    sigmaMins: [{ ETH: base.assets.ETH!.sigmaMin, BTC: base.assets.BTC!.sigmaMin }, { ETH: fractionToWad(0.04), BTC: fractionToWad(0.04) }],
  };
  const options = { ...DEFAULT_BACKTEST_OPTIONS, ...WALK_FORWARD };
  let c: Calibration;
  before(() => {
    c = calibrate(history, subjects, base, grid, options);
  });

  it("test_calibrate_chosen_cheapestPassing: passes both tests for every subject; no passing point costs less", () => {
    expect(c.points).to.have.length(2 * 2 * 3 * 2);
    const chosen = c.chosen!;
    expect(chosen, "a point passes on this grid").to.not.equal(undefined);
    for (const s of chosen.subjects) {
      expect(s.maintenance.kupiecP, s.subject).to.be.at.least(0.05);
      expect(s.maintenance.christoffersenP, s.subject).to.be.at.least(0.05);
    }
    for (const p of c.points.filter((x) => x.pass)) expect(p.cost).to.be.at.least(chosen.cost);
    // The cost is the subjects' mean maintenance requirement, averaged.
    expect(chosen.cost).to.be.closeTo(chosen.subjects.reduce((a, s) => a + s.maintenance.meanRequirement, 0) / 3, 1e-15);
    expect(c.points.some((p) => !p.pass)).to.equal(true); // the choice is not vacuous
  });

  it("test_calibrate_frontier: one point per half-life × maxStep, the cheapest passing one of its group", () => {
    expect(c.frontier.map((p) => [p.halfLife, p.maxStep])).to.deep.equal(
      grid.halfLives.flatMap((h) => grid.maxSteps.map((m) => [h, m])),
    );
    for (const f of c.frontier) {
      const group = c.points.filter((p) => p.halfLife === f.halfLife && p.maxStep === f.maxStep);
      const passing = group.filter((p) => p.pass);
      if (passing.length > 0) expect(f.cost).to.equal(Math.min(...passing.map((p) => p.cost)));
      else expect(f.minP).to.equal(Math.max(...group.map((p) => p.minP)));
    }
  });

  it("test_calibrate_current_isThePlainBacktest: the same days, exceedances and mean requirement in sample", () => {
    const rho = estimateRho(history, ["ETH", "BTC"], WALK_FORWARD.inSample, options.liquidFrom);
    expect(c.rho).to.equal(rho.rho);
    const plain = backtest(history, subjects, base, { ...DEFAULT_BACKTEST_OPTIONS, window: WALK_FORWARD.inSample, rho: rho.rho, staticSearch: false });
    plain.forEach((r, i) => {
      const s = c.current.subjects[i]!;
      expect([s.subject, s.days, s.maintenance.exceedances, s.sigmaOnly.exceedances]).to.deep.equal([
        r.subject,
        r.maintenance.days,
        r.maintenance.exceedances,
        r.sigmaOnly.exceedances,
      ]);
      expect(s.maintenance.meanRequirement).to.equal(r.maintenance.meanRequirement);
    });
    // A grid point's parameters are the base's with its values: here, the chosen σmin on every asset.
    const applied = withGridParams(base, c.chosen!);
    expect(applied.assets.ETH!.sigmaMin).to.equal(c.chosen!.sigmaMin.ETH);
    expect(applied.assets.ETH!.maintenanceHaircut).to.equal(base.assets.ETH!.maintenanceHaircut);
  });

  it("test_calibrate_walkForward_outOfSampleOnly: 2019 and 2023–2024, after the in-sample window, never across the gap", () => {
    const [chosen, current] = c.validation;
    expect([chosen!.label, current!.label]).to.deep.equal(["chosen", "current"]);
    expect(c.validation).to.have.length(2 + c.frontier.length);
    for (const v of c.validation) {
      expect(v.windows.map((w) => w.window)).to.deep.equal(WALK_FORWARD.outOfSample);
      for (const w of v.windows) {
        for (const s of w.subjects) {
          expect(s.firstDay > c.inSample.to, `${v.label} ${s.subject}`).to.equal(true);
          expect(s.firstDay >= w.window.from && s.lastDay <= w.window.to).to.equal(true);
        }
      }
    }
    // 2023–2024 restarts the oracle: its first counted day is 30 days into the run.
    expect(chosen!.windows[1]!.subjects.map((s) => s.firstDay)).to.deep.equal(["2023-01-31", "2023-01-31", "2023-01-31"]);
  });

  it("test_defaultGrid_containsTheBase: the base's half-life, maxStep, zm and σmin are grid values", () => {
    const g = defaultGrid(base);
    expect(g.halfLives).to.include(base.halfLife);
    expect(g.maxSteps).to.include(base.maxStep);
    expect(g.zMaintenances).to.include(base.zMaintenance);
    expect(g.sigmaMins[0]).to.deep.equal({ ETH: base.assets.ETH!.sigmaMin, BTC: base.assets.BTC!.sigmaMin });
    expect(g.zMaintenances).to.include((233n * WAD) / 100n);
    expect(() => calibrate(history, subjects, base, { ...grid, zMaintenances: [] }, options)).to.throw(BacktestError, "every axis");
  });
});
