/**
 * Recommendations from the real daily closes (`src/risk/recommendHistory`) over a small calibration grid: columns
 * map to config assets by the explicit map (ETH → WETH, BTC → WBTC), assets without a series keep their values and
 * are named, the recommended point is the calibration's cheapest passing one and passes both tests at exactly the
 * recommended values, ρ and the gap-free segments agree with the test's own reading of the file.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localConfig } from "../../../deploy/networks/local";
import { parseKeelConfig } from "../../../src/client/config";
import { type CalibrationGrid, withGridParams } from "../../../src/risk/backtest/calibrate";
import { closesAsSeries, loadDailyCloses, loadHistory } from "../../../src/risk/backtest/history";
import { HISTORY_ASSETS, marginParamsFromConfig } from "../../../src/risk/backtest/params";
import { fractionToWad } from "../../../src/risk/coverage";
import { RecommendationError } from "../../../src/risk/recommendation";
import { applyRecommendation, configChanges, configDiff } from "../../../src/risk/recommendConfig";
import { type HistoryRecommendation, recommendFromCloses } from "../../../src/risk/recommendHistory";
import { correlation, quantile, rollingCorrelation } from "../../../src/risk/stats";

const FILE = "data/history/daily-closes.csv";
const DAY = 86_400;

/** The file as the test reads it: date → { ETH, BTC } (undefined where empty). */
function readCloses(): Map<string, { ETH?: number; BTC?: number }> {
  const rows = readFileSync(FILE, "utf8").trim().split("\n").slice(1);
  return new Map(
    rows.map((line) => {
      const [date, eth, btc] = line.split(",");
      return [date!, { ETH: eth ? Number(eth) : undefined, BTC: btc ? Number(btc) : undefined }];
    }),
  );
}
const nextDate = (date: string): string => new Date(Date.parse(`${date}T00:00:00Z`) + DAY * 1000).toISOString().slice(0, 10);

describe("Recommendations from real daily closes", function () {
  this.timeout(120_000);
  const history = loadDailyCloses(FILE);
  const base = marginParamsFromConfig(parseKeelConfig(localConfig));
  // A small grid around the local parameters: 2 × 2 × 2 × 1 × 2 points.
  const grid: CalibrationGrid = {
    halfLives: [3 * DAY, 14 * DAY],
    maxSteps: [fractionToWad(0.0005), fractionToWad(0.0025)],
    zMaintenances: [2.33, 2.75].map(fractionToWad),
    sigmaMins: [{ ETH: base.assets.ETH!.sigmaMin, BTC: base.assets.BTC!.sigmaMin }],
    sigmaMaxes: [
      { ETH: base.assets.ETH!.sigmaMax, BTC: base.assets.BTC!.sigmaMax },
      { ETH: fractionToWad(0.1), BTC: fractionToWad(0.1) },
    ],
  };
  let r: HistoryRecommendation;
  before(() => {
    r = recommendFromCloses(history, localConfig, { grid });
  });

  it("test_recommendFromCloses_symbolMap: ETH → WETH and BTC → WBTC; USDC and wstETH keep their values and are named", () => {
    expect(HISTORY_ASSETS).to.deep.equal({ ETH: "WETH", BTC: "WBTC" });
    expect(r.recommendation.assets.map((a) => a.symbol)).to.deep.equal(["WETH", "WBTC"]);
    expect(r.recommendation.skipped).to.deep.equal(["USDC", "wstETH"]);
    expect(configDiff(localConfig, r.recommendation)).to.contain(
      `No series in ${FILE} (columns ETH → WETH, BTC → WBTC) for USDC, wstETH: their configured values are kept`,
    );
    const applied = applyRecommendation(localConfig, r.recommendation);
    for (const symbol of ["USDC", "wstETH"]) {
      expect(applied.assets.find((a) => a.symbol === symbol)).to.deep.equal(localConfig.assets.find((a) => a.symbol === symbol));
    }
    for (const pair of ["WETH/USDC", "WETH/wstETH", "WBTC/USDC", "WBTC/wstETH", "USDC/wstETH"]) {
      expect(applied.correlations[pair], pair).to.equal(localConfig.correlations[pair]);
    }
    expect(configChanges(localConfig, r.recommendation).some((c) => /USDC|wstETH/.test(c.field))).to.equal(false);
  });

  it("test_recommendFromCloses_cheapestPassing: the calibration's choice, passing both tests at the recommended values", () => {
    const c = r.calibration;
    const chosen = c.chosen!;
    for (const p of c.points.filter((x) => x.pass)) expect(p.cost).to.be.at.least(chosen.cost);
    expect(r.params).to.deep.equal(withGridParams({ ...base, assets: r.params.assets }, chosen));
    expect(r.recommendation.zMaintenance).to.equal(Number(chosen.zMaintenance) / 1e18);
    expect(r.recommendation.volatility).to.deep.equal({ halfLife: chosen.halfLife, maxStepPerHour: Number(chosen.maxStep) / 1e18 });
    for (const a of r.recommendation.assets) {
      const column = a.symbol === "WETH" ? "ETH" : "BTC";
      expect(a.sigmaMin).to.equal(Number(chosen.sigmaMin[column]) / 1e18);
      expect(a.sigmaMax).to.equal(Number(chosen.sigmaMax[column]) / 1e18);
    }
    // In sample at exactly the recommended parameters: both tests pass for every subject.
    expect(r.inSample.map((s) => s.subject)).to.deep.equal(["ETH", "BTC", "basket"]);
    for (const s of r.inSample) {
      expect(s.pass, s.subject).to.equal(true);
      expect(s.kupiecP).to.be.at.least(0.05);
      expect(s.christoffersenP).to.be.at.least(0.05);
      expect(s.beatsStatic).to.equal(s.staticRequirement === undefined || s.dynamicRequirement < s.staticRequirement);
      // The requirement is never below the floor: when the floor alone passes, nothing dynamic costs less.
      if (s.floorBinds) expect(s.dynamicRequirement).to.be.at.least(s.staticRequirement!);
    }
    // Among points as cheap and as far from rejection, the chosen one changes the fewest of the current values.
    const changed = (p: typeof chosen): number =>
      [
        p.halfLife !== base.halfLife,
        p.maxStep !== base.maxStep,
        p.zMaintenance !== base.zMaintenance,
        Object.entries(p.sigmaMin).some(([k, v]) => base.assets[k]!.sigmaMin !== v),
        Object.entries(p.sigmaMax).some(([k, v]) => base.assets[k]!.sigmaMax !== v),
      ].filter(Boolean).length;
    for (const p of c.points.filter((x) => x.pass && x.cost === chosen.cost && x.minP === chosen.minP)) {
      expect(changed(p)).to.be.at.least(changed(chosen));
    }
    expect(r.outOfSample.map((w) => w.window)).to.deep.equal([
      { from: "2019-01-01", to: "2019-12-31" },
      { from: "2023-01-01", to: "2024-12-31" },
    ]);
  });

  it("test_recommendFromCloses_haircuts: hm the least criticalHF allows on the 0.5% grid; hi above it; zi above zm", () => {
    const criticalHF = 0.95;
    const penalty = 0.05; // local.ts: liquidationPenalty of WETH and WBTC
    const floor = Math.ceil((1 - criticalHF / (1 + penalty)) / 0.005 - 1e-9) * 0.005;
    for (const a of r.recommendation.assets) {
      expect(a.maintenanceHaircut).to.be.closeTo(floor, 1e-12);
      expect(a.initialHaircut).to.be.greaterThan(a.maintenanceHaircut);
      expect(a.sigmaMax).to.be.at.least(a.sigmaMin);
    }
    expect(r.recommendation.zInitial).to.be.greaterThan(r.recommendation.zMaintenance);
    const applied = parseKeelConfig(applyRecommendation(localConfig, r.recommendation));
    expect(applied.volatility.halfLife).to.equal(r.params.halfLife);
    expect(applied.volatility.maxStep).to.equal(r.params.maxStep);
  });

  it("test_recommendFromCloses_rho: in-sample ρ and its rolling quantile from the test's own reading, never across a gap", () => {
    const closes = readCloses();
    // Days d with both returns close(d−1) → close(d) inside 2016-01-01..2018-12-31, ETH from 2016-03-01.
    const segments: { x: number[]; y: number[] }[] = [];
    let previousDay: string | undefined;
    for (const [date, today] of closes) {
      const yesterday = previousDay === undefined ? undefined : closes.get(previousDay);
      const consecutive = previousDay !== undefined && nextDate(previousDay) === date;
      const inside = previousDay !== undefined && previousDay >= "2016-03-01" && date <= "2018-12-31";
      if (consecutive && inside && yesterday?.ETH && yesterday.BTC && today.ETH && today.BTC) {
        const last = segments[segments.length - 1];
        const x = today.ETH / yesterday.ETH - 1;
        const y = today.BTC / yesterday.BTC - 1;
        if (last && last.x.length > 0 && (last as { end?: string }).end === previousDay) {
          last.x.push(x);
          last.y.push(y);
        } else segments.push({ x: [x], y: [y] });
        (segments[segments.length - 1] as { end?: string }).end = date;
      }
      previousDay = date;
    }
    const xs = segments.flatMap((s) => s.x);
    const ys = segments.flatMap((s) => s.y);
    expect(r.rho.days).to.equal(xs.length);
    expect(r.rho.sample).to.be.closeTo(correlation(xs, ys), 1e-12);
    const rolling = quantile(segments.flatMap((s) => (s.x.length >= 14 ? rollingCorrelation(s.x, s.y, 14) : [])), 0.95);
    expect(r.rho.rollingQuantile).to.be.closeTo(rolling, 1e-12);
    expect(r.rho.stressed).to.be.closeTo(Math.ceil(Math.max(correlation(xs, ys), rolling) / 0.01 - 1e-9) * 0.01, 1e-12);
  });

  it("test_recommendFromCloses_rhoCapped: the stressed ρ unless the config's matrix (wstETH's pairs as configured) would not be PSD", () => {
    const rho = r.recommendation.correlations["WETH/WBTC"]!;
    expect(rho).to.equal(r.rho.recommended);
    expect(rho).to.be.at.most(r.rho.stressed);
    expect(r.rho.capped).to.equal(rho < r.rho.stressed);
    const withRho = (v: number) => ({ ...localConfig, correlations: { ...localConfig.correlations, "WETH/WBTC": v.toFixed(2) } });
    expect(() => parseKeelConfig(withRho(rho))).to.not.throw();
    if (r.rho.capped) expect(() => parseKeelConfig(withRho(rho + 0.01))).to.throw(/positive semi-definite/);
    expect(parseKeelConfig(applyRecommendation(localConfig, r.recommendation)).assets).to.have.length(4);
  });

  it("test_closesAsSeries_gapFree: runs of days where both have a close, ETH from 2016-03-01, config symbols", () => {
    const segments = closesAsSeries(history, HISTORY_ASSETS, { ETH: "2016-03-01" });
    const closes = readCloses();
    const both = [...closes].filter(([d, c]) => d >= "2016-03-01" && c.ETH !== undefined && c.BTC !== undefined).map(([d]) => d);
    expect(segments.reduce((n, s) => n + s.timestamps.length, 0)).to.equal(both.length);
    for (const s of segments) {
      expect(Object.keys(s.prices)).to.deep.equal(["WETH", "WBTC"]);
      for (let i = 1; i < s.timestamps.length; i++) expect(s.timestamps[i]! - s.timestamps[i - 1]!).to.equal(DAY);
      const first = new Date(s.timestamps[0]! * 1000).toISOString().slice(0, 10);
      expect(s.prices.WETH![0]).to.equal(closes.get(first)!.ETH);
      expect(s.prices.WBTC![0]).to.equal(closes.get(first)!.BTC);
    }
    const span = (s: (typeof segments)[number]): string[] =>
      [s.timestamps[0]!, s.timestamps[s.timestamps.length - 1]!].map((t) => new Date(t * 1000).toISOString().slice(0, 10));
    // The gap splits the file, and ETH's last close (2024-10-09) ends the second run.
    expect(segments.map(span)).to.deep.equal([
      ["2016-03-01", "2019-12-31"],
      ["2023-01-01", "2024-10-09"],
    ]);
  });

  it("test_loadHistory_byHeader: daily closes by their `date` column, the sample series by `timestamp`", () => {
    expect(loadHistory(FILE).kind).to.equal("closes");
    expect(loadHistory("data/sample-history.csv").kind).to.equal("series");
  });

  it("test_recommendFromCloses_rejects: a file without a mapped column names it", () => {
    const file = join(mkdtempSync(join(tmpdir(), "keel-closes-")), "eth-only.csv");
    writeFileSync(file, "date,ETH\n2019-01-01,140\n2019-01-02,150\n");
    expect(() => recommendFromCloses(loadDailyCloses(file), localConfig, { grid })).to.throw(
      RecommendationError,
      `${file} has no column "BTC" (for WBTC); its columns: ETH`,
    );
  });
});
