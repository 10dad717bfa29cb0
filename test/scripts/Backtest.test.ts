import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * `npm run backtest` as a user runs it, in a child process: refusals of bad input with the exit status of
 * scripts/lib/main.ts (2: fix what you typed), and one short run (ETH, 2019, no calibration) whose JSON agrees with
 * its own days and whose HTML is self-contained.
 */
function runBacktest(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync("npx", ["ts-node", "--transpile-only", "scripts/backtest.ts", ...args], { encoding: "utf8", timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("Backtest: npm run backtest", function () {
  this.timeout(240_000);

  const refused: [string, string[], string][] = [
    ["an unknown asset", ["--asset", "XRP"], `backtest: --asset: unknown "XRP" (ETH, BTC, basket, all)`],
    ["a date that is not one", ["--from", "2019-02-30"], `backtest: --from: expected a date YYYY-MM-DD, got "2019-02-30"`],
    ["a window that ends before it starts", ["--from", "2019-06-01", "--to", "2019-01-01", "--skip-calibration"], "backtest: window 2019-06-01 to 2019-01-01 ends before it starts"],
    [
      "a window only in the held-out gap",
      ["--asset", "BTC", "--from", "2020-03-01", "--to", "2022-06-30", "--skip-calibration"],
      "backtest: BTC: no day to evaluate from 2020-03-01 to 2022-06-30. Prices used: BTC 2015-08-07 to 2019-12-31 and 2023-01-01 to 2024-12-18 (nothing between 2019-12-31 and 2023-01-01",
    ],
    ["a parameter out of the contracts' range", ["--zm", "0.5"], `backtest: --zm: expected 1 to 10, got "0.5"`],
    ["σmin above σmax", ["--sigma-min", "30%"], "backtest: ETH: σmin 30% is above σmax 10% (--sigma-min, --sigma-max)"],
    ["--recommend with a parameter flag", ["--recommend", "--zm", "2.5", "--max-step", "1%"], "backtest: --recommend recommends against deploy/networks/local.ts: drop --max-step, --zm"],
    ["--recommend without the calibration", ["--recommend", "--skip-calibration"], "backtest: --recommend runs the calibration: drop --skip-calibration"],
  ];
  for (const [what, args, message] of refused) {
    it(`test_backtest_refuses: ${what}, exit 2`, function () {
      const r = runBacktest(args);
      expect(r.stderr).to.contain(message);
      expect(r.code).to.equal(2);
    });
  }

  it("test_backtest_run: ETH over 2019 prints the tables and writes the HTML and a JSON consistent with its days", function () {
    const out = mkdtempSync(join(tmpdir(), "keel-backtest-"));
    const r = runBacktest(["--asset", "ETH", "--from", "2019-01-01", "--to", "2019-12-31", "--half-life", "2 days", "--max-step", "0.5%", "--sigma-min", "4%", "--skip-calibration", "--out", out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain("## Backtest 2019-01-01 to 2019-12-31");
    expect(r.stdout).to.contain("half-life 2d, maxStep 0.5%/h, zm 2.75; ETH σ 4%–10%, hm 10%; BTC σ 4%–10%, hm 10%");
    expect(r.stdout).not.to.contain("## Calibration");
    const json = JSON.parse(readFileSync(join(out, "backtest.json"), "utf8")) as {
      params: { halfLife: number; maxStep: string };
      subjects: { subject: string; maintenance: { days: number; exceedances: number }; runs: { date: string; exceeded: boolean }[][] }[];
    };
    expect(json.params).to.include({ halfLife: 2 * 86_400, maxStep: "5000000000000000" });
    const [eth] = json.subjects;
    const days = eth!.runs.flat();
    expect(eth!.subject).to.equal("ETH");
    expect([days[0]!.date, days[days.length - 1]!.date]).to.deep.equal(["2019-01-01", "2019-12-30"]);
    expect(eth!.maintenance.days).to.equal(days.length);
    expect(eth!.maintenance.exceedances).to.equal(days.filter((d) => d.exceeded).length);
    const html = readFileSync(join(out, "backtest.html"), "utf8");
    for (const id of ["table-exceedances", "table-capital", "table-episodes", "chart-sigma-0-0", "chart-requirement-0-0"]) expect(html).to.contain(`id="${id}"`);
    expect(html).not.to.match(/<script|<link|src="http/);
  });
});
