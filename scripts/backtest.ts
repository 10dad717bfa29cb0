/**
 * `npm run backtest -- [--asset ETH|BTC|basket|all] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--half-life 3d]
 *   [--max-step 0.25%] [--zm 2.33] [--hm 10%] [--sigma-min 5%] [--sigma-max 25%] [--out backtest-report]
 *   [--history FILE] [--skip-calibration | --recommend]`
 *
 * The margin model (the VolatilityOracle's TypeScript model poked once a day, and the margin formula's mirror)
 * replayed on real daily closes (data/history/daily-closes.csv): exceedances, Kupiec and Christoffersen, capital cost
 * against a static σ, episodes; then the walk-forward calibration over a grid (in sample 2016–2018, out of sample 2019
 * and 2023–2024). Parameters are deploy/networks/local.ts's unless a flag changes them (--hm, --sigma-min and
 * --sigma-max set every asset's). `--recommend` (no parameter flags) runs the calibration through `recommendFromCloses`
 * and adds the recommended local config: the governance diff, and the backtest at the recommended parameters in
 * sample (against the static σ) and out of sample. Prints markdown tables and
 * writes `<out>/backtest.html` (self-contained) and `<out>/backtest.json` (every number).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { localConfig } from "../deploy/networks/local";
import { parseKeelConfig } from "../src/client/config";
import { backtest, DEFAULT_BACKTEST_OPTIONS, type MarginParams } from "../src/risk/backtest/backtest";
import { calibrate, defaultGrid, WALK_FORWARD } from "../src/risk/backtest/calibrate";
import { dayNumber, gapsOf, loadDailyCloses } from "../src/risk/backtest/history";
import { reportHtml } from "../src/risk/backtest/html";
import { HISTORY_ASSETS, marginParamsFromConfig, SUBJECTS } from "../src/risk/backtest/params";
import { type BacktestReport, reportJson, reportMarkdown } from "../src/risk/backtest/report";
import { estimateRho } from "../src/risk/backtest/rho";
import { recommendationMarkdown, recommendFromCloses } from "../src/risk/recommendHistory";
import { parseDuration, parsePercent, parseWad, UnitError } from "../src/units";
import { oneOf, parseFlags, UsageError } from "./lib/args";
import { runMain } from "./lib/main";

const DEFAULTS = { asset: "all", out: "backtest-report", history: "data/history/daily-closes.csv" };
const ASSETS = [...Object.keys(SUBJECTS), "all"];
const WAD = 10n ** 18n;
/** The contracts' ranges (src/client/config.ts), checked here so a flag fails before the replay. */
const RANGES = {
  halfLife: [3600, 365 * 86_400],
  maxStep: [10n ** 14n, WAD / 10n],
  zm: [WAD, 10n * WAD],
  hm: [10n ** 15n, (99n * WAD) / 100n],
  sigma: [10n ** 14n, WAD],
} as const;

/** A flag's value read by a src/units parser (given the flag's name for its errors) and range-checked. */
function read<T extends number | bigint>(flag: string, text: string | undefined, parse: (t: string) => T, [lo, hi]: readonly [T, T], unit: (x: T) => string): T | undefined {
  if (text === undefined) return undefined;
  let value: T;
  try {
    value = parse(text);
  } catch (e) {
    if (e instanceof UnitError) throw new UsageError(e.message, { cause: e });
    throw e;
  }
  if (value < lo || value > hi) throw new UsageError(`${flag}: expected ${unit(lo)} to ${unit(hi)}, got "${text}"`);
  return value;
}

function date(flag: string, text: string | undefined): string | undefined {
  if (text !== undefined && dayNumber(text) === undefined) throw new UsageError(`${flag}: expected a date YYYY-MM-DD, got "${text}"`);
  return text;
}

const percentOf = (wad: bigint): string => `${Number(wad) / 1e16}%`;

/** Parameters a flag changes; the rest are the local config's. */
interface Overrides {
  halfLife?: number; // [s]
  maxStep?: bigint; // [wad per hour]
  zm?: bigint; // [wad]
  hm?: bigint; // [wad], every asset
  sigmaMin?: bigint; // [wad], every asset
  sigmaMax?: bigint; // [wad], every asset
}

interface Args {
  subjects: string[];
  from?: string;
  to?: string;
  out: string;
  history: string;
  calibrate: boolean;
  /** Recommend parameters for the local config from the calibration (recommendFromCloses) and print the diff. */
  recommend: boolean;
  overrides: Overrides;
}

function parse(): Args {
  const { values } = parseFlags({
    options: {
      asset: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      "half-life": { type: "string" },
      "max-step": { type: "string" },
      zm: { type: "string" },
      hm: { type: "string" },
      "sigma-min": { type: "string" },
      "sigma-max": { type: "string" },
      out: { type: "string" },
      history: { type: "string" },
      "skip-calibration": { type: "boolean" },
      recommend: { type: "boolean" },
    },
  });
  const asset = oneOf("--asset", values.asset ?? DEFAULTS.asset, ASSETS);
  const recommend = values.recommend === true;
  if (recommend && values["skip-calibration"] === true) throw new UsageError("--recommend runs the calibration: drop --skip-calibration");
  const flags = ["half-life", "max-step", "zm", "hm", "sigma-min", "sigma-max"] as const;
  const given = flags.filter((f) => values[f] !== undefined);
  if (recommend && given.length > 0) {
    throw new UsageError(`--recommend recommends against deploy/networks/local.ts: drop ${given.map((f) => `--${f}`).join(", ")}`);
  }
  return {
    recommend,
    subjects: asset === "all" ? Object.keys(SUBJECTS) : [asset],
    from: date("--from", values.from),
    to: date("--to", values.to),
    out: values.out ?? DEFAULTS.out,
    history: values.history ?? DEFAULTS.history,
    calibrate: values["skip-calibration"] !== true,
    overrides: {
      halfLife: read("--half-life", values["half-life"], (t) => parseDuration(t, "--half-life"), RANGES.halfLife, (s) => `${s / 3600}h`),
      maxStep: read("--max-step", values["max-step"], (t) => parsePercent(t, "--max-step"), RANGES.maxStep, percentOf),
      zm: read("--zm", values.zm, (t) => parseWad(t, "--zm"), RANGES.zm, (z) => String(Number(z) / 1e18)),
      hm: read("--hm", values.hm, (t) => parsePercent(t, "--hm"), RANGES.hm, percentOf),
      sigmaMin: read("--sigma-min", values["sigma-min"], (t) => parsePercent(t, "--sigma-min"), RANGES.sigma, percentOf),
      sigmaMax: read("--sigma-max", values["sigma-max"], (t) => parsePercent(t, "--sigma-max"), RANGES.sigma, percentOf),
    },
  };
}

/** The local config's parameters with the flags' overrides (--hm, --sigma-min, --sigma-max set every asset's). */
function marginParams(o: Overrides): MarginParams {
  const base = marginParamsFromConfig(parseKeelConfig(localConfig), HISTORY_ASSETS);
  const assets = Object.entries(base.assets).map(([symbol, a]) => {
    const asset = {
      sigmaMin: o.sigmaMin ?? a.sigmaMin,
      sigmaMax: o.sigmaMax ?? a.sigmaMax,
      maintenanceHaircut: o.hm ?? a.maintenanceHaircut,
    };
    if (asset.sigmaMin > asset.sigmaMax) {
      throw new UsageError(`${symbol}: σmin ${percentOf(asset.sigmaMin)} is above σmax ${percentOf(asset.sigmaMax)} (--sigma-min, --sigma-max)`);
    }
    return [symbol, asset] as const;
  });
  return {
    ...base,
    halfLife: o.halfLife ?? base.halfLife,
    maxStep: o.maxStep ?? base.maxStep,
    zMaintenance: o.zm ?? base.zMaintenance,
    assets: Object.fromEntries(assets),
  };
}

async function main(): Promise<number> {
  const args = parse();
  const history = loadDailyCloses(args.history);
  const params = marginParams(args.overrides);
  const window = { from: args.from ?? history.dates[0]!, to: args.to ?? history.dates[history.dates.length - 1]! };
  const subjects = args.subjects.map((s) => SUBJECTS[s]!);
  const options = DEFAULT_BACKTEST_OPTIONS;
  const rho = estimateRho(history, ["ETH", "BTC"], WALK_FORWARD.inSample, options.liquidFrom);
  const started = Date.now();
  const results = backtest(history, subjects, params, { ...options, window, rho: rho.rho });
  const out = process.stdout;
  let calibration: BacktestReport["calibration"];
  let recommended: string | undefined;
  if (args.recommend) {
    out.write(`recommending for deploy/networks/local.ts: calibration in sample ${WALK_FORWARD.inSample.from} to ${WALK_FORWARD.inSample.to}, then the checks …\n`);
    const rec = recommendFromCloses(history, localConfig);
    calibration = rec.calibration;
    recommended = recommendationMarkdown(rec, localConfig);
  } else if (args.calibrate) {
    const grid = defaultGrid(params);
    const size = grid.halfLives.length * grid.maxSteps.length * grid.zMaintenances.length * grid.sigmaMins.length * (grid.sigmaMaxes?.length ?? 1);
    out.write(`calibrating: ${size} grid points in sample ${WALK_FORWARD.inSample.from} to ${WALK_FORWARD.inSample.to}, then out of sample …\n`);
    calibration = calibrate(history, subjects, params, grid, { ...options, ...WALK_FORWARD });
  }
  const report: BacktestReport = {
    history: { file: history.file, symbols: history.symbols, firstDate: history.dates[0]!, lastDate: history.dates[history.dates.length - 1]!, gaps: gapsOf(history) },
    window,
    params,
    options: { warmupDays: options.warmupDays, liquidFrom: options.liquidFrom, level: options.level, realizedWindow: options.realizedWindow },
    rho: { value: rho.rho, window: WALK_FORWARD.inSample, days: rho.days },
    subjects: results,
    ...(calibration ? { calibration } : {}),
  };
  out.write(`\n${reportMarkdown(report)}\n`);
  if (recommended) out.write(`${recommended}\n`);
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, "backtest.html"), reportHtml(report));
  writeFileSync(join(args.out, "backtest.json"), reportJson(report));
  out.write(`(${((Date.now() - started) / 1000).toFixed(1)} s) wrote ${join(args.out, "backtest.html")} and backtest.json\n`);
  return 0;
}

runMain("backtest", main);
