/**
 * `npm run stress -- [--scenario name|file | --replay closes.csv --from YYYY-MM-DD --to YYYY-MM-DD] [--positions N]
 *   [--seed s] [--out dir] [--history file] [--variants a,b]`
 *
 * Crash replays on the in-process Hardhat network against the real contracts and the real keeper: the scenario
 * (built in: black-thursday, slow-bear, usdc-depeg, btc-eth-gap, demo-crash; a JSON file; or, with --replay, a window
 * of real daily closes, one step a day: scenario/historyScenario) is replayed once per variant — dynamic or static
 * σ, with or without the grace period — on the same book and seed. `--history` (a price series, or daily closes such
 * as data/history/daily-closes.csv, told apart by the header) feeds the VaR/ES tables and the recommendation. Writes
 * `<out>/report.html` (self-contained: inline CSS and SVG) and `<out>/report.json`, and prints the comparison.
 * Exits 0 only if the §6 ledger held after every step of every replay.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ethers, network } from "hardhat";
import { localConfig } from "../deploy";
import { SCENARIOS } from "../scenario/crashes";
import { replay, type ReplayResult, type StepRecord } from "../scenario/replay";
import { buildReport, reportHtml, reportJson } from "../scenario/report";
import { loadScenario } from "../scenario/crashFile";
import { DEFAULT_RISK_OPTIONS, recommendationSection, riskHistory, riskTable, startMarket } from "../scenario/stressRisk";
import { kusd, progressLine } from "../scenario/summary";
import { parseKeelConfig } from "../src/client/config";
import { pegCeiling } from "../src/risk/pegCeiling";
import { compareVariants, type Variant, VARIANTS, variantsTable } from "../scenario/variants";
import { loadHistoryScenario } from "../scenario/historyScenario";
import { dayNumber, type HistoryFile, loadHistory } from "../src/risk/backtest/history";
import { int, listOf, oneOf, parseFlags, required, uint, UsageError } from "./lib/args";
import { REPLAY_EXIT_STATUS, runMain } from "./lib/main";

const DEFAULTS = { scenario: "black-thursday", positions: 100, seed: 1n, out: "stress-report", history: "data/sample-history.csv" };

interface Args {
  /** A built-in name or a scenario file, or a window of daily closes. */
  scenario: string | { replay: string; from: string; to: string };
  positions: number;
  seed: bigint;
  out: string;
  history: string;
  variants: Variant[];
  paths: number;
}

function parse(): Args {
  const { values } = parseFlags({
    options: {
      scenario: { type: "string" },
      positions: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      history: { type: "string" },
      variants: { type: "string" },
      paths: { type: "string" },
      replay: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
    },
  });
  return {
    scenario: scenarioArg(values),
    positions: int("--positions", values.positions, { min: 1, max: 5_000, fallback: DEFAULTS.positions }),
    seed: uint("--seed", values.seed, { fallback: DEFAULTS.seed }),
    out: values.out ?? DEFAULTS.out,
    history: values.history ?? DEFAULTS.history,
    variants: values.variants === undefined ? [...VARIANTS] : listOf(values.variants, (k) => oneOf("--variants", k, VARIANTS, (v) => v.key)),
    paths: int("--paths", values.paths, { min: 100, fallback: DEFAULT_RISK_OPTIONS.paths }),
  };
}

/** --scenario, or --replay with its window (each date checked; the file and the window by the converter). */
function scenarioArg(values: { scenario?: string; replay?: string; from?: string; to?: string }): Args["scenario"] {
  if (values.replay === undefined) {
    if (values.from !== undefined || values.to !== undefined) throw new UsageError("--from and --to choose the window of --replay FILE");
    return values.scenario ?? DEFAULTS.scenario;
  }
  if (values.scenario !== undefined) throw new UsageError("--replay and --scenario exclude each other: the replay's scenario is the window of the file");
  const date = (flag: string, text: string | undefined): string => {
    const value = required(flag, text, `--replay needs ${flag} YYYY-MM-DD`);
    if (dayNumber(value) === undefined) throw new UsageError(`${flag}: expected a date YYYY-MM-DD, got "${value}"`);
    return value;
  };
  return { replay: values.replay, from: date("--from", values.from), to: date("--to", values.to) };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function main(): Promise<number> {
  const args = parse();
  const scenario =
    typeof args.scenario === "string" ? loadScenario(args.scenario) : loadHistoryScenario(args.scenario.replay, args.scenario.from, args.scenario.to);
  const out = process.stdout;
  out.write(`Keel stress: ${scenario.description}\n`);
  out.write(`${args.positions} positions, seed ${args.seed}, ${args.variants.length} variants (built in: ${Object.keys(SCENARIOS).join(", ")})\n\n`);
  const started = Date.now();
  const runs: { variant: Variant; result: ReplayResult }[] = [];
  for (const variant of args.variants) {
    const label = variant.key.padEnd(16);
    const onStep = (s: StepRecord): void => {
      const line = `${label} ${progressLine(s, scenario.steps)}`;
      if (out.isTTY) out.write(`\r${line}\x1b[K${s.step === scenario.steps ? "\n" : ""}`);
      else if (s.step === scenario.steps || s.step % 8 === 0) out.write(`${line}\n`);
    };
    const result = await replay(
      { provider: ethers.provider, hardhat: network.provider, reset: () => network.provider.send("hardhat_reset") },
      scenario,
      { positions: args.positions, seed: args.seed, margin: variant.margin, gracePeriod: variant.gracePeriod, penalty: variant.penalty, onStep },
    );
    runs.push({ variant, result });
  }
  const comparison = compareVariants(runs);

  let history: HistoryFile | undefined;
  let historyError = "";
  try {
    history = loadHistory(args.history);
  } catch (e) {
    historyError = message(e);
  }
  const start = runs[0]!.result.start;
  let risk: Parameters<typeof buildReport>[2] = { error: historyError };
  let recommendation: Parameters<typeof buildReport>[3] = { error: historyError };
  if (history) {
    try {
      const market = startMarket(localConfig, start);
      risk = riskTable(start.book, market, riskHistory(localConfig, history), { ...DEFAULT_RISK_OPTIONS, paths: args.paths, seed: args.seed });
    } catch (e) {
      risk = { error: message(e) };
    }
    if (history.kind === "closes") out.write(`recommending from ${args.history}: walk-forward calibration …\n`);
    try {
      recommendation = recommendationSection(localConfig, history, args.history);
    } catch (e) {
      recommendation = { error: message(e) };
    }
  }
  let peg: Parameters<typeof buildReport>[4] = { error: historyError };
  if (history) {
    try {
      const cfg = parseKeelConfig(localConfig);
      const reserve = cfg.assets.find((a) => a.symbol === cfg.peg.reserve)!;
      peg = pegCeiling(riskHistory(localConfig, history), {
        reserve: reserve.symbol,
        configuredCeiling: Number(cfg.peg.debtCeiling / 10n ** 18n),
        bookDebt: Number(start.book.reduce((sum, p) => sum + p.debt, 0n) / 10n ** 18n),
        sigmaMax: Number(reserve.risk.sigmaMax) / 1e18,
        zMaintenance: Number(cfg.confidence.zMaintenance) / 1e18,
      });
    } catch (e) {
      peg = { error: message(e) };
    }
  }
  const report = buildReport(runs, comparison, risk, recommendation, peg);
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, "report.json"), reportJson(report));
  writeFileSync(join(args.out, "report.html"), reportHtml(report));

  out.write(`\n${variantsTable(comparison)}\n`);
  if (!("error" in risk)) {
    const r = risk.rows;
    out.write(`\nstarting book, ${risk.horizonSeconds / 3600} h at ${risk.confidence * 100}%: ` + r.map((x) => `${x.method}: bad-debt VaR ${x.badDebtVar.toFixed(0)} ES ${x.badDebtEs.toFixed(0)} kUSD`).join("; ") + "\n");
  } else out.write(`\nVaR/ES skipped: ${risk.error}\n`);
  if (!("error" in peg)) {
    out.write(
      `PSM (${peg.reserve}): worst shortfall ${runs.map((r) => `${r.variant.key} ${kusd(r.result.summary.pegShortfall)}`).join(", ")} kUSD; ` +
        `ceiling from the history ${peg.recommended === undefined ? "unbounded (no depeg in the data)" : `${peg.recommended.toLocaleString("en-US")} kUSD`} (configured ${peg.configured.toLocaleString("en-US")}; ${peg.source})\n`,
    );
  }
  out.write(`(${((Date.now() - started) / 1000).toFixed(1)} s) wrote ${join(args.out, "report.html")} and report.json\n`);
  const violated = runs.filter((r) => !r.result.summary.invariantHeld);
  for (const r of violated) for (const v of r.result.summary.violations) process.stderr.write(`${r.variant.key}: invariant violated: ${v}\n`);
  return violated.length === 0 ? 0 : 1;
}

runMain("stress", main, { statuses: REPLAY_EXIT_STATUS, stack: false });
