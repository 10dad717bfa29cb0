/**
 * The backtest on the real daily closes (data/history/daily-closes.csv) at the local parameters: every figure checked
 * here is recomputed in the test from the file by its own reading (its own split into runs, its own day arithmetic,
 * its own replay of the oracle model and its own requirement), never copied from a run; and the gap between
 * 2019-12-31 and 2023-01-01 is never spanned.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { localConfig } from "../../../deploy/networks/local";
import { parseKeelConfig } from "../../../src/client/config";
import { assess, isolatedLossUp, WAD } from "../../../src/math";
import { replay } from "../../../src/math/volatility";
import { backtest, DEFAULT_BACKTEST_OPTIONS, type BacktestOptions, type SubjectBacktest } from "../../../src/risk/backtest/backtest";
import { testExceedances } from "../../../src/risk/backtest/exceedanceTests";
import { BacktestError, gapsOf, loadDailyCloses, priceRuns } from "../../../src/risk/backtest/history";
import { marginParamsFromConfig, SUBJECTS } from "../../../src/risk/backtest/params";
import { estimateRho } from "../../../src/risk/backtest/rho";
import { fractionToWad, priceToWad } from "../../../src/risk/coverage";

const FILE = "data/history/daily-closes.csv";
const DAY_MS = 86_400_000;
const WARMUP = 30;
const PARAMS = marginParamsFromConfig(parseKeelConfig(localConfig));

/** The file read again, by hand: per asset, date → price. */
function readByHand(): Record<"ETH" | "BTC", Map<string, number>> {
  const [header, ...rows] = readFileSync(FILE, "utf8").trim().split("\n");
  expect(header).to.equal("date,ETH,BTC");
  const out = { ETH: new Map<string, number>(), BTC: new Map<string, number>() };
  for (const row of rows) {
    const [date, eth, btc] = row.split(",");
    if (eth) out.ETH.set(date!, Number(eth));
    if (btc) out.BTC.set(date!, Number(btc));
  }
  return out;
}

const nextDate = (date: string): string => new Date(Date.parse(date) + DAY_MS).toISOString().slice(0, 10);

/** Runs of consecutive dates with a price from `since`, by walking the calendar. */
function runsByHand(prices: Map<string, number>, since: string): { dates: string[]; prices: number[] }[] {
  const dates = [...prices.keys()].filter((d) => d >= since).sort();
  const runs: { dates: string[]; prices: number[] }[] = [];
  for (const d of dates) {
    const last = runs[runs.length - 1];
    if (last && nextDate(last.dates[last.dates.length - 1]!) === d) {
      last.dates.push(d);
      last.prices.push(prices.get(d)!);
    } else runs.push({ dates: [d], prices: [prices.get(d)!] });
  }
  return runs;
}

/** Per date: σ in force [wad] after that day's poke, replaying each run from an unpoked oracle. */
function sigmasByHand(runs: { dates: string[]; prices: number[] }[], symbol: "ETH" | "BTC"): Map<string, { sigma: bigint; index: number; next?: number; price: number }> {
  const a = PARAMS.assets[symbol]!;
  const out = new Map<string, { sigma: bigint; index: number; next?: number; price: number }>();
  for (const run of runs) {
    const steps = run.dates.map((d, i) => ({ time: BigInt(Date.parse(d) / 1000), price: priceToWad(run.prices[i]!) }));
    const path = replay(steps, { sigmaMin: a.sigmaMin, sigmaMax: a.sigmaMax }, {
      horizon: BigInt(PARAMS.horizon),
      halfLife: BigInt(PARAMS.halfLife),
      minInterval: 3600n,
      maxStep: PARAMS.maxStep,
    });
    run.dates.forEach((d, i) => out.set(d, { sigma: path[i]!.sigma, index: i, next: run.prices[i + 1], price: run.prices[i]! }));
  }
  return out;
}

const OPTIONS: BacktestOptions = { ...DEFAULT_BACKTEST_OPTIONS, window: { from: "2015-01-01", to: "2024-12-31" }, rho: 0 };

describe("Backtest on the real daily closes", function () {
  const history = loadDailyCloses(FILE);
  const hand = readByHand();
  const since = { ETH: "2016-03-01", BTC: "0000-00-00" };
  const rho = estimateRho(history, ["ETH", "BTC"], { from: "2016-01-01", to: "2018-12-31" }, OPTIONS.liquidFrom);
  let results: SubjectBacktest[];
  before(() => {
    results = backtest(history, Object.values(SUBJECTS), PARAMS, { ...OPTIONS, rho: rho.rho });
  });
  const result = (name: string): SubjectBacktest => results.find((r) => r.subject === name)!;

  it("test_history_shape: 2,326 days, one gap 2019-12-31 → 2023-01-01, ETH to 2024-10-09, BTC to 2024-12-18", () => {
    expect(history.dates).to.have.length(2326);
    expect(gapsOf(history)).to.deep.equal([{ before: "2019-12-31", after: "2023-01-01" }]);
    const ends = (s: "ETH" | "BTC"): string[] => priceRuns(history, s, since[s]).map((r) => new Date(r.days[r.days.length - 1]! * DAY_MS).toISOString().slice(0, 10));
    expect(ends("ETH")).to.deep.equal(["2019-12-31", "2024-10-09"]);
    expect(ends("BTC")).to.deep.equal(["2019-12-31", "2024-12-18"]);
  });

  for (const symbol of ["ETH", "BTC"] as const) {
    it(`test_backtest_${symbol}_matchesIndependentCount: days, exceedances of max(zm σ, hm) and zm σ, mean requirement`, () => {
      const a = PARAMS.assets[symbol]!;
      const sigmas = sigmasByHand(runsByHand(hand[symbol], since[symbol]), symbol);
      let days = 0;
      let exceedances = 0;
      let sigmaExceedances = 0;
      let sum = 0;
      for (const s of sigmas.values()) {
        if (s.index < WARMUP || s.next === undefined) continue;
        days++;
        const loss = 1 - s.next / s.price;
        const requirement = Number(isolatedLossUp(WAD, s.sigma, PARAMS.zMaintenance, a.maintenanceHaircut)) / 1e18;
        const zSigma = Number(isolatedLossUp(WAD, s.sigma, PARAMS.zMaintenance, 0n)) / 1e18;
        if (loss > requirement) exceedances++;
        if (loss > zSigma) sigmaExceedances++;
        sum += requirement;
      }
      const r = result(symbol);
      expect(r.maintenance.days).to.equal(days);
      expect(r.maintenance.exceedances).to.equal(exceedances);
      expect(r.sigmaOnly.exceedances).to.equal(sigmaExceedances);
      expect(r.maintenance.meanRequirement).to.be.closeTo(sum / days, 1e-12);
      expect(exceedances).to.be.above(5); // the check is not vacuous
    });
  }

  it("test_backtest_basket_matchesIndependentCount: equal weights, ρ by the Pearson formula, assess of two holdings", () => {
    // ρ again: daily returns ending on days both assets have, 2016-01-01 to 2018-12-31, ETH from 2016-03-01.
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [date, p] of hand.ETH) {
      const prev = new Date(Date.parse(date) - DAY_MS).toISOString().slice(0, 10);
      if (prev < "2016-03-01" || date > "2018-12-31") continue; // ETH's liquid start is after the window's 2016-01-01
      const e0 = hand.ETH.get(prev);
      const b0 = hand.BTC.get(prev);
      const b1 = hand.BTC.get(date);
      if (e0 === undefined || b0 === undefined || b1 === undefined) continue;
      xs.push(p / e0 - 1);
      ys.push(b1 / b0 - 1);
    }
    const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
    const my = ys.reduce((s, y) => s + y, 0) / ys.length;
    const sxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0);
    const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    const syy = ys.reduce((s, y) => s + (y - my) ** 2, 0);
    expect(rho.days).to.equal(xs.length);
    expect(rho.rho).to.be.closeTo(sxy / Math.sqrt(sxx * syy), 1e-12);

    const eth = sigmasByHand(runsByHand(hand.ETH, since.ETH), "ETH");
    const btc = sigmasByHand(runsByHand(hand.BTC, since.BTC), "BTC");
    const rhoWad = fractionToWad(rho.rho);
    let days = 0;
    let exceedances = 0;
    for (const [date, e] of eth) {
      const b = btc.get(date);
      if (!b || e.index < WARMUP || b.index < WARMUP || e.next === undefined || b.next === undefined) continue;
      days++;
      const loss = 1 - 0.5 * (e.next / e.price) - 0.5 * (b.next / b.price);
      const holding = (sigma: bigint, hm: bigint) => ({ amount: WAD / 2n, price: WAD, unit: WAD, sigma, maintenanceHaircut: hm, initialHaircut: hm });
      const v = assess(
        [holding(e.sigma, PARAMS.assets.ETH!.maintenanceHaircut), holding(b.sigma, PARAMS.assets.BTC!.maintenanceHaircut)],
        [WAD, rhoWad, rhoWad, WAD],
        { zMaintenance: PARAMS.zMaintenance, zInitial: PARAMS.zMaintenance },
      );
      if (loss > Number(v.maintenanceLoss) / Number(v.value)) exceedances++;
    }
    const r = result("basket");
    expect(r.maintenance.days).to.equal(days);
    expect(r.maintenance.exceedances).to.equal(exceedances);
  });

  it("test_backtest_gapNeverSpanned: every counted day's next close is the next calendar day; nothing in 2020–2022", () => {
    for (const r of results) {
      const assets = r.assets as ("ETH" | "BTC")[];
      const spanning = r.runs
        .flat()
        .filter((d) => !assets.every((a) => hand[a].has(nextDate(d.date))) || (d.date >= "2019-12-31" && d.date < "2023-01-01"));
      expect(spanning.map((d) => d.date), r.subject).to.deep.equal([]);
      // Two runs: up to 2019-12-30 (its loss ends on 2019-12-31), and from 30 days into 2023 (the oracle restarts).
      expect(r.runs.map((run) => [run[0]!.date, run[run.length - 1]!.date]).flat().slice(1, 3)).to.deep.equal(["2019-12-30", "2023-01-31"]);
      const transitions = Object.values(r.maintenance.transitions).reduce((a, b) => a + b, 0);
      expect(transitions).to.equal(r.maintenance.days - r.runs.length);
    }
  });

  it("test_backtest_illiquidEthSkipped: ETH counts from 2016-03-31 (2016-03-01 + warm-up), from 2015-09-09 when asked", () => {
    expect(result("ETH").firstDay).to.equal("2016-03-31");
    expect(result("basket").firstDay).to.equal("2016-03-31");
    expect(result("BTC").firstDay).to.equal("2015-09-06"); // 2015-08-07 + 30 days
    // Without the default, the missing 2015-08-09 still ends ETH's first run: 2015-08-10 + 30 days.
    const [eth] = backtest(history, [SUBJECTS.ETH!], PARAMS, { ...OPTIONS, liquidFrom: {}, staticSearch: false });
    expect(eth!.firstDay).to.equal("2015-09-09");
  });

  it("test_staticSigma_smallestPassing: the static σ passes both tests; one grid step less does not", () => {
    const rhoWad = fractionToWad(rho.rho);
    /** zm σ alone at a constant σ: the isolated formula, or the basket's at equal weights. */
    const constant = (assets: number, sigma: number): number => {
      const s = fractionToWad(sigma);
      if (assets === 1) return Number(isolatedLossUp(WAD, s, PARAMS.zMaintenance, 0n)) / 1e18;
      const h = { amount: WAD / 2n, price: WAD, unit: WAD, sigma: s, maintenanceHaircut: 0n, initialHaircut: 0n };
      const v = assess([h, h], [WAD, rhoWad, rhoWad, WAD], { zMaintenance: PARAMS.zMaintenance, zInitial: PARAMS.zMaintenance });
      return Number(v.maintenanceLoss) / Number(v.value);
    };
    for (const name of ["ETH", "BTC", "basket"]) {
      const r = result(name);
      const s = r.static?.sigmaOnly;
      expect(s, name).to.not.equal(undefined);
      const hits = (sigma: number): boolean[][] => r.runs.map((run) => run.map((d) => d.loss > constant(r.assets.length, sigma)));
      expect(s!.requirement, name).to.be.closeTo(constant(r.assets.length, s!.sigma), 1e-15);
      expect(testExceedances(hits(s!.sigma)).exceedances, name).to.equal(s!.test.exceedances);
      expect(testExceedances(hits(s!.sigma)).pass, name).to.equal(true);
      expect(testExceedances(hits(s!.sigma - 0.0005)).pass, name).to.equal(false);
    }
  });

  it("test_backtest_windowOnlyInGap_refused: 2020–2022 is not in the file", () => {
    expect(() => backtest(history, [SUBJECTS.BTC!], PARAMS, { ...OPTIONS, rho: rho.rho, window: { from: "2020-03-01", to: "2022-06-30" } })).to.throw(
      BacktestError,
      "BTC: no day to evaluate from 2020-03-01 to 2022-06-30. Prices used: BTC 2015-08-07 to 2019-12-31 and 2023-01-01 to 2024-12-18 (nothing between 2019-12-31 and 2023-01-01 in data/history/daily-closes.csv)",
    );
  });
});
