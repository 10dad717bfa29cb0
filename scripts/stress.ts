/**
 * `npm run stress -- [--scenario name|file] [--positions N] [--seed s] [--out dir] [--history file] [--variants a,b]`
 *
 * Crash replays on the in-process Hardhat network against the real contracts and the real keeper: the scenario
 * (built in: black-thursday, slow-bear, usdc-depeg, btc-eth-gap, demo-crash; or a JSON file) is replayed once per
 * variant — dynamic or static σ, with or without the grace period — on the same book and seed. Writes
 * `<out>/report.html` (self-contained: inline CSS and SVG) and `<out>/report.json`, and prints the comparison.
 * Exits 0 only if the §6 ledger held after every step of every replay.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ethers, network } from "hardhat";
import { localConfig } from "../deploy";
import { SCENARIOS } from "../scenario/crashes";
import { replay, type ReplayResult, type StepRecord } from "../scenario/replay";
import { buildReport, reportHtml, reportJson } from "../scenario/report";
import { loadScenario } from "../scenario/crashFile";
import { loadSeries } from "../src/risk/series";
import { DEFAULT_RISK_OPTIONS, recommendationSection, riskTable, startMarket } from "../scenario/stressRisk";
import { progressLine } from "../scenario/summary";
import { compareVariants, type Variant, VARIANTS, variantsTable } from "../scenario/variants";

const DEFAULTS = { scenario: "black-thursday", positions: 100, seed: "1", out: "stress-report", history: "data/sample-history.csv" };

interface Args {
  scenario: string;
  positions: number;
  seed: bigint;
  out: string;
  history: string;
  variants: Variant[];
  paths: number;
}

class UsageError extends Error {
  override name = "UsageError";
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      scenario: { type: "string" },
      positions: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      history: { type: "string" },
      variants: { type: "string" },
      paths: { type: "string" },
    },
    strict: true,
  });
  const positions = values.positions === undefined ? DEFAULTS.positions : Number(values.positions);
  if (!Number.isInteger(positions) || positions < 1 || positions > 5_000) {
    throw new UsageError(`--positions: expected a whole number from 1 to 5000, got "${values.positions}"`);
  }
  const seedText = values.seed ?? DEFAULTS.seed;
  if (!/^\d+$/.test(seedText)) throw new UsageError(`--seed: expected a non-negative whole number, got "${seedText}"`);
  const keys = values.variants?.split(",").map((k) => k.trim()) ?? VARIANTS.map((v) => v.key);
  const variants = keys.map((k) => {
    const v = VARIANTS.find((x) => x.key === k);
    if (!v) throw new UsageError(`--variants: unknown "${k}" (${VARIANTS.map((x) => x.key).join(", ")})`);
    return v;
  });
  const paths = values.paths === undefined ? DEFAULT_RISK_OPTIONS.paths : Number(values.paths);
  if (!Number.isInteger(paths) || paths < 100) throw new UsageError(`--paths: expected a whole number ≥ 100, got "${values.paths}"`);
  return {
    scenario: values.scenario ?? DEFAULTS.scenario,
    positions,
    seed: BigInt(seedText),
    out: values.out ?? DEFAULTS.out,
    history: values.history ?? DEFAULTS.history,
    variants,
    paths,
  };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function main(): Promise<number> {
  const args = parse();
  const scenario = loadScenario(args.scenario);
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
      { provider: ethers.provider, reset: () => network.provider.send("hardhat_reset") },
      scenario,
      { positions: args.positions, seed: args.seed, margin: variant.margin, gracePeriod: variant.gracePeriod, onStep },
    );
    runs.push({ variant, result });
  }
  const comparison = compareVariants(runs);

  let series: ReturnType<typeof loadSeries> | undefined;
  let historyError = "";
  try {
    series = loadSeries(args.history);
  } catch (e) {
    historyError = message(e);
  }
  const start = runs[0]!.result.start;
  let risk: Parameters<typeof buildReport>[2] = { error: historyError };
  let recommendation: Parameters<typeof buildReport>[3] = { error: historyError };
  if (series) {
    try {
      risk = riskTable(start.book, startMarket(localConfig, start), series, { ...DEFAULT_RISK_OPTIONS, paths: args.paths, seed: args.seed });
    } catch (e) {
      risk = { error: message(e) };
    }
    try {
      recommendation = recommendationSection(localConfig, series, args.history);
    } catch (e) {
      recommendation = { error: message(e) };
    }
  }
  const report = buildReport(runs, comparison, risk, recommendation);
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, "report.json"), reportJson(report));
  writeFileSync(join(args.out, "report.html"), reportHtml(report));

  out.write(`\n${variantsTable(comparison)}\n`);
  if (!("error" in risk)) {
    const r = risk.rows;
    out.write(`\nstarting book, ${risk.horizonSeconds / 3600} h at ${risk.confidence * 100}%: ` + r.map((x) => `${x.method}: bad-debt VaR ${x.badDebtVar.toFixed(0)} ES ${x.badDebtEs.toFixed(0)} kUSD`).join("; ") + "\n");
  } else out.write(`\nVaR/ES skipped: ${risk.error}\n`);
  out.write(`(${((Date.now() - started) / 1000).toFixed(1)} s) wrote ${join(args.out, "report.html")} and report.json\n`);
  const violated = runs.filter((r) => !r.result.summary.invariantHeld);
  for (const r of violated) for (const v of r.result.summary.violations) process.stderr.write(`${r.variant.key}: invariant violated: ${v}\n`);
  return violated.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`stress: ${message(e)}\n`);
    process.exit(e instanceof UsageError ? 2 : 3);
  },
);
