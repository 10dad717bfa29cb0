/**
 * Parameter recommendations (`src/risk/recommend`, `recommendConfig`, `coverage`) on the shipped sample history: the
 * applied config parses, every asset's maintenance margin covers every horizon window (no bad debt in the mirror),
 * the current local parameters do not, and the diff reads in human units.
 */
import { expect } from "chai";
import { parseKeelConfig, type RawKeelConfig } from "../../../src/client/config";
import { localConfig } from "../../../deploy/networks/local";
import { checkCoverage, sigmaInForce, windowLosses } from "../../../src/risk/coverage";
import { recommend } from "../../../src/risk/recommend";
import { type Recommendation, RecommendationError } from "../../../src/risk/recommendation";
import { applyRecommendation, configChanges, configDiff } from "../../../src/risk/recommendConfig";
import { loadSeries, type PriceSeries } from "../../../src/risk/series";
import { toVolatilityParams } from "../../../src/math/volatility";

describe("risk parameter recommendations", () => {
  let history: PriceSeries;
  let rec: Recommendation;
  before(() => {
    history = loadSeries("data/sample-history.csv");
    rec = recommend(history, localConfig);
  });

  it("test_recommend_sampleHistory_parsesAsConfig", () => {
    const applied = applyRecommendation(localConfig, rec);
    const parsed = parseKeelConfig(applied);
    expect(parsed.assets.map((a) => a.symbol)).to.deep.equal(["WETH", "WBTC", "USDC", "wstETH"]);
    expect(rec.stepSeconds).to.equal(4 * 3600);
    expect(rec.horizonSeconds).to.equal(86_400);
    expect(rec.zInitial).to.be.greaterThan(rec.zMaintenance);
    expect(rec.zMaintenance).to.be.at.least(2.33); // never below the normal 99% quantile
    for (const a of rec.assets) {
      expect(a.sigmaMin).to.be.at.most(a.sigmaMax);
      expect(a.initialHaircut).to.be.greaterThan(a.maintenanceHaircut);
      expect(a.sigmaMax).to.be.at.least(a.evidence.peakSigma);
    }
    // The fitted σ reflects the model: WETH's calm 70%-a-year is ≈ 3.7% a day; WBTC's 55% ≈ 2.9%.
    const weth = rec.assets.find((a) => a.symbol === "WETH")!;
    expect(weth.evidence.medianSigma).to.be.closeTo(0.7 * Math.sqrt(1 / 365), 0.01);
    // ρ WETH/WBTC stressed at or above the model's 0.8; stablecoin pairs far below.
    expect(rec.correlations["WETH/WBTC"]).to.be.at.least(0.8);
    expect(rec.correlations["WETH/USDC"]).to.be.lessThan(0.3);
  });

  it("test_recommend_coversWorstWindow_noBadDebt", () => {
    expect(rec.covered).to.equal(true);
    for (const a of rec.assets) {
      expect(a.coverage.windows).to.equal(720);
      expect(a.coverage.failures, a.symbol).to.equal(0);
      expect(a.coverage.worst.loss, a.symbol).to.be.at.most(a.coverage.worst.covers);
      expect(a.coverage.tightest.loss, a.symbol).to.be.at.most(a.coverage.tightest.covers);
      expect(a.coverage.worst.loss).to.equal(a.evidence.worstLoss);
    }
    expect(rec.assets.find((a) => a.symbol === "WETH")!.evidence.worstLoss).to.be.greaterThan(0.3); // the crash
  });

  it("test_currentLocalParameters_leaveBadDebtInTheCrash", () => {
    const config = parseKeelConfig(localConfig);
    const weth = config.assets[0]!;
    const prices = history.prices.WETH!;
    const sigmas = sigmaInForce(history.timestamps, prices, weth.risk, toVolatilityParams(config.volatility));
    const check = checkCoverage("WETH", history.timestamps, prices, 6, sigmas, {
      decimals: 18,
      zMaintenance: config.confidence.zMaintenance,
      maintenanceHaircut: weth.risk.maintenanceHaircut,
      liquidationPenalty: weth.risk.liquidationPenalty,
    });
    expect(check.covered).to.equal(false);
    expect(check.failures).to.be.greaterThan(0);
    expect(check.worst.badDebt > 0n).to.equal(true);
  });

  it("test_windowLosses_handComputed", () => {
    // Worst fall within 2 steps after each start: from 100 the low is 80 (20%), from 90 it is 80; from 80 the only
    // later price is 120, a gain (a negative loss).
    const losses = windowLosses([100, 90, 80, 120], 2);
    expect(losses).to.have.length(3);
    expect(losses[0]).to.be.closeTo(0.2, 1e-12);
    expect(losses[1]).to.be.closeTo(1 - 80 / 90, 1e-12);
    expect(losses[2]).to.be.closeTo(-0.5, 1e-12);
  });

  it("test_configDiff_humanUnits", () => {
    const diff = configDiff(localConfig, rec);
    const weth = rec.assets.find((a) => a.symbol === "WETH")!;
    expect(diff).to.contain(`assets.WETH.risk.sigmaMax: 10% → ${Number((weth.sigmaMax * 100).toFixed(4))}%`);
    expect(diff).to.contain(`confidence.maintenance: 2.75 → ${rec.zMaintenance}`);
    expect(diff).to.match(/WETH: worst \d+(\.\d+)?% loss vs\. \d+(\.\d+)?% covered .*0\/720 windows with bad debt ✓/);
    // Once applied, the same recommendation changes nothing.
    const applied = applyRecommendation(localConfig, rec);
    expect(configChanges(applied, rec).filter((c) => c.changed)).to.deep.equal([]);
    expect(configDiff(applied, rec)).to.contain("(no changes)");
  });

  it("test_applyRecommendation_keepsPairOrientation_andSkipsMissingAssets", () => {
    const reversed: RawKeelConfig = { ...localConfig, correlations: { ...localConfig.correlations } };
    delete reversed.correlations["WETH/WBTC"];
    reversed.correlations["WBTC/WETH"] = "0.75";
    const partial: PriceSeries = { timestamps: history.timestamps, prices: { WETH: history.prices.WETH!, WBTC: history.prices.WBTC! } };
    const r = recommend(partial, reversed);
    expect(r.skipped).to.deep.equal(["USDC", "wstETH"]);
    const applied = applyRecommendation(reversed, r);
    expect(applied.correlations["WBTC/WETH"]).to.equal(String(r.correlations["WETH/WBTC"]));
    expect(applied.correlations["WETH/WBTC"]).to.equal(undefined);
    expect(applied.assets[2]).to.deep.equal(localConfig.assets[2]);
    expect(configDiff(reversed, r)).to.contain("Not in the history, unchanged: USDC, wstETH");
  });

  it("test_applyRecommendation_unparsable_throwsRecommendationError", () => {
    const broken: Recommendation = { ...rec, zMaintenance: 4, zInitial: 3 };
    expect(() => applyRecommendation(localConfig, broken)).to.throw(
      RecommendationError,
      "recommended config does not parse: confidence.initial: must exceed confidence.maintenance",
    );
    expect(() => recommend({ timestamps: [0, 1], prices: { DOGE: [1, 2] } }, localConfig)).to.throw(
      RecommendationError,
      "no column for any asset",
    );
  });
});
