import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ScenarioError } from "../../scenario/crash";
import { loadHistoryScenario, scenarioFromCloses } from "../../scenario/historyScenario";
import { localConfig } from "../../deploy/networks/local";
import { DEFAULT_RISK_OPTIONS, recommendationSection, riskHistory, riskTable } from "../../scenario/stressRisk";
import { parseKeelConfig } from "../../src/client/config";
import { loadDailyCloses, loadHistory } from "../../src/risk/backtest/history";
import { marketFromConfig } from "../../src/risk/market";
import type { PriceSeries } from "../../src/risk/series";

/**
 * `npm run stress -- --replay FILE --from DATE --to DATE`: a window of the real daily closes as a scenario (one step a
 * day, ETH → WETH and BTC → WBTC), its refusals, and one short replay in a child process (a replay resets the
 * in-process chain) whose scenario and oracle prices are checked against the test's own reading of the file.
 */
const FILE = "data/history/daily-closes.csv";

/** date → { ETH, BTC } as the test reads the file (undefined where empty). */
function readCloses(): Map<string, { ETH?: number; BTC?: number }> {
  const rows = readFileSync(FILE, "utf8").trim().split("\n").slice(1);
  return new Map(
    rows.map((line) => {
      const [date, eth, btc] = line.split(",");
      return [date!, { ETH: eth ? Number(eth) : undefined, BTC: btc ? Number(btc) : undefined }];
    }),
  );
}

/** The closes of `column` from `from` to `to` over the first, by calendar day (each day must be in the file). */
function ratios(closes: Map<string, { ETH?: number; BTC?: number }>, column: "ETH" | "BTC", from: string, to: string): number[] {
  const out: number[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    const close = closes.get(new Date(t).toISOString().slice(0, 10))?.[column];
    if (close === undefined) throw new Error(`no ${column} close on ${new Date(t).toISOString()}`);
    out.push(close);
  }
  return out.map((p) => p / out[0]!);
}

function runStress(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync("npx", ["ts-node", "--transpile-only", "scripts/stress.ts", ...args], { encoding: "utf8", timeout: 360_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("Stress replay of real daily closes: the scenario", function () {
  const history = loadDailyCloses(FILE);
  const closes = readCloses();

  it("test_scenarioFromCloses_paths: one step a day, each path the file's closes over the first (2018's bear)", () => {
    const s = scenarioFromCloses(history, "2018-01-01", "2018-12-31");
    expect([s.name, s.stepSeconds, s.steps, s.feedback, s.cureRate]).to.deep.equal(["history-2018-01-01-2018-12-31", 86_400, 364, 0, 0.5]);
    expect(Object.keys(s.paths)).to.deep.equal(["WETH", "WBTC"]); // USDC flat, wstETH follows WETH: no path of their own
    expect(s.paths.WETH).to.deep.equal(ratios(closes, "ETH", "2018-01-01", "2018-12-31"));
    expect(s.paths.WBTC).to.deep.equal(ratios(closes, "BTC", "2018-01-01", "2018-12-31"));
    const end = (xs: number[]): number => xs[xs.length - 1]!;
    const weth = s.paths.WETH!;
    expect(s.description).to.contain(`WETH −${((1 - end(weth)) * 100).toFixed(1)}% (low −${((1 - Math.min(...weth)) * 100).toFixed(1)}%)`);
  });

  const refused: [string, string, string, string | RegExp][] = [
    ["the start after the end", "2024-08-15", "2024-07-25", "replay window 2024-08-15 to 2024-07-25: the start must be before the end"],
    ["one day only", "2024-08-05", "2024-08-05", "the start must be before the end (a replay needs two closes)"],
    ["dates before the file", "2015-01-01", "2015-09-01", `replay window 2015-01-01 to 2015-09-01 is outside ${FILE} (2015-08-07 to 2024-12-18)`],
    ["dates after the file", "2024-12-01", "2025-01-31", `is outside ${FILE} (2015-08-07 to 2024-12-18)`],
    ["a window across the held-out gap", "2019-12-01", "2023-01-10", `crosses a gap in ${FILE}: nothing between 2019-12-31 and 2023-01-01`],
    ["a window inside the gap", "2020-03-01", "2020-03-20", "nothing between 2019-12-31 and 2023-01-01"],
    ["ETH after its last close", "2024-10-01", "2024-10-20", `ETH has no close on 2024-10-10 in ${FILE} (its last before: 2024-10-09)`],
    ["ETH's illiquid first months", "2015-09-01", "2015-10-01", "ETH before 2016-03-01 is too illiquid to replay"],
    ["more steps than a replay takes", "2016-03-01", "2017-12-31", "670 daily steps; at most 500"],
    ["a date that is not one", "2019-02-30", "2019-03-10", `replay start "2019-02-30" is not a date YYYY-MM-DD`],
  ];
  for (const [what, from, to, message] of refused) {
    it(`test_scenarioFromCloses_rejects: ${what}`, () => {
      expect(() => scenarioFromCloses(history, from, to)).to.throw(ScenarioError, message);
    });
  }

  it("test_loadHistoryScenario_rejects: a missing file names it", () => {
    expect(() => loadHistoryScenario("data/history/none.csv", "2019-01-01", "2019-01-10")).to.throw("data/history/none.csv: cannot be read");
  });
});

describe("Stress replay of real daily closes: npm run stress -- --replay", function () {
  this.timeout(480_000);

  const refused: [string, string[], string][] = [
    ["--replay with --scenario", ["--replay", FILE, "--from", "2024-08-01", "--to", "2024-08-06", "--scenario", "slow-bear"], "stress: --replay and --scenario exclude each other"],
    ["a missing file", ["--replay", "data/history/none.csv", "--from", "2024-08-01", "--to", "2024-08-06"], "stress: data/history/none.csv: cannot be read"],
    ["--from after --to", ["--replay", FILE, "--from", "2024-08-06", "--to", "2024-08-01"], "stress: replay window 2024-08-06 to 2024-08-01: the start must be before the end"],
    ["--from without --replay", ["--from", "2024-08-01"], "stress: --from and --to choose the window of --replay FILE"],
  ];
  for (const [what, args, message] of refused) {
    it(`test_stress_replay_refuses: ${what}, exit 2`, function () {
      const r = runStress(args);
      expect(r.stderr).to.contain(message);
      expect(r.code).to.equal(2);
    });
  }

  it("test_stress_replay_run: 2024-08-01 to 2024-08-06 with 10 positions; the chain's oracle follows the file's closes", function () {
    const out = mkdtempSync(join(tmpdir(), "keel-replay-"));
    const [from, to] = ["2024-08-01", "2024-08-06"];
    const r = runStress(["--replay", FILE, "--from", from, "--to", to, "--positions", "10", "--seed", "1", "--variants", "dynamic-grace", "--paths", "200", "--out", out]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.contain(`Keel stress: Real daily closes ${from} to ${to} from ${FILE}`);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as {
      scenario: { name: string; stepSeconds: number; steps: number };
      runs: { result: { scenario: { paths: Record<string, number[]> }; steps: { step: number; prices: Record<string, number> }[]; summary: { invariantHeld: boolean } } }[];
    };
    const closes = readCloses();
    const weth = ratios(closes, "ETH", from, to);
    const wbtc = ratios(closes, "BTC", from, to);
    expect(report.scenario).to.include({ name: `history-${from}-${to}`, stepSeconds: 86_400, steps: 5 });
    const run = report.runs[0]!.result;
    expect(run.scenario.paths).to.deep.equal({ WETH: weth, WBTC: wbtc });
    // Every step publishes the local config's starting price × the close ratio (feedback 0); wstETH is its ratio × WETH.
    const initial = (symbol: string): number => Number(localConfig.assets.find((a) => a.symbol === symbol)!.price.initial);
    expect(run.steps.map((s) => s.step)).to.deep.equal([1, 2, 3, 4, 5]);
    for (const s of run.steps) {
      expect(s.prices.WETH).to.be.closeTo(initial("WETH") * weth[s.step]!, 1e-5);
      expect(s.prices.WBTC).to.be.closeTo(initial("WBTC") * wbtc[s.step]!, 1e-4);
      expect(s.prices.wstETH).to.be.closeTo(initial("wstETH") * s.prices.WETH!, 1e-5);
      expect(s.prices.USDC).to.equal(1);
    }
    expect(run.summary.invariantHeld).to.equal(true);
  });
});

describe("Stress report on real daily closes: VaR/ES history and the recommendation section", function () {
  this.timeout(120_000);
  const file = loadHistory(FILE);
  const closes = readCloses();

  it("test_riskHistory_closes: gap-free segments from ETH's liquid date, wstETH its configured ratio × WETH, no USDC", () => {
    const segments = riskHistory(localConfig, file) as PriceSeries[];
    // The test's own count: days from 2016-03-01 with both closes, split where a day lacks one or is missing.
    const both = [...closes].filter(([d, c]) => d >= "2016-03-01" && c.ETH !== undefined && c.BTC !== undefined);
    expect(segments.reduce((n, s) => n + s.timestamps.length, 0)).to.equal(both.length);
    const ratio = Number(localConfig.assets.find((a) => a.symbol === "wstETH")!.price.initial);
    for (const s of segments) {
      expect(Object.keys(s.prices).sort()).to.deep.equal(["WBTC", "WETH", "wstETH"]);
      expect(s.prices.wstETH).to.deep.equal(s.prices.WETH!.map((p) => p * ratio));
    }
    const windows = segments.reduce((n, s) => n + s.timestamps.length - 1, 0);
    const W = 10n ** 18n;
    const market = marketFromConfig(parseKeelConfig(localConfig), {
      prices: { WETH: 3000n * W, WBTC: 60_000n * W, USDC: W, wstETH: 3540n * W },
      sigmas: { WETH: W / 20n, WBTC: (45n * W) / 1000n, USDC: W / 200n, wstETH: (55n * W) / 1000n },
    });
    const table = riskTable([{ id: 1n, collateral: { WETH: 10n * W }, debt: 15_000n * W }], market, segments, { ...DEFAULT_RISK_OPTIONS, paths: 200 });
    expect(table.rows[0]!.scenarios).to.equal(windows); // one-day windows inside segments only
    const returns = segments.flatMap((s) => s.prices.WETH!.slice(1).map((p, i) => Math.log(p / s.prices.WETH![i]!)));
    const mean = returns.reduce((a, x) => a + x, 0) / returns.length;
    const sd = Math.sqrt(returns.reduce((a, x) => a + (x - mean) ** 2, 0) / (returns.length - 1));
    expect(table.volatility.WETH!.history).to.be.closeTo(sd, 1e-12);
  });

  it("test_recommendationSection_closes: the calibration's choice and the checks at the recommended values", () => {
    const W = 86_400;
    const grid = {
      halfLives: [3 * W, 14 * W],
      maxSteps: [2_500_000_000_000_000n],
      zMaintenances: [2_330_000_000_000_000_000n, 2_750_000_000_000_000_000n],
      sigmaMins: [{ ETH: 50_000_000_000_000_000n, BTC: 45_000_000_000_000_000n }],
      sigmaMaxes: [{ ETH: 100_000_000_000_000_000n, BTC: 100_000_000_000_000_000n }],
    };
    const section = recommendationSection(localConfig, file, FILE, { grid });
    const c = section.calibrated!;
    expect(c.gridPoints).to.equal(4);
    expect(c.inSample.map((s) => s.subject)).to.deep.equal(["ETH", "BTC", "basket"]);
    expect(c.inSample.every((s) => s.pass)).to.equal(true);
    expect(c.chosen).to.match(/^half-life (3|14)d, maxStep 0\.25%\/h, zm 2\.(33|75), σmin ETH 5% BTC 4\.5%, σmax ETH 10% BTC 10%$/);
    expect(section.diff).to.contain("for USDC, wstETH: their configured values are kept");
    // The local config already carries the recommended σmax (10%, from 25% in wave 1): listed, unchanged.
    expect(section.changes.find((x) => x.field === "assets.WETH.risk.sigmaMax")).to.include({ from: "10%", to: "10%", changed: false });
  });
});
