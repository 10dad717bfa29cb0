/**
 * What `npm run backtest` reports: the backtest at the given parameters, the calibration when it ran, and how the
 * history was read; as markdown tables for the terminal (`src/units/table`) and as JSON with every number (bigints
 * as decimal strings). The HTML page is `./html`.
 */
import { formatPercent } from "../../units";
import { markdownTable } from "../../units/table";
import type { BacktestOptions, MarginParams, SubjectBacktest } from "./backtest";
import { type Calibration, gridLabel, perAssetText, type SubjectSummary } from "./calibrate";
import type { BacktestWindow } from "./history";
import type { StaticSigma } from "./staticSigma";

export interface BacktestReport {
  history: { file: string; symbols: string[]; firstDate: string; lastDate: string; gaps: { before: string; after: string }[] };
  window: BacktestWindow;
  params: MarginParams;
  options: Pick<BacktestOptions, "warmupDays" | "liquidFrom" | "level" | "realizedWindow">;
  /** ρ of the basket and the window it was estimated on. */
  rho: { value: number; window: BacktestWindow; days: number };
  subjects: SubjectBacktest[];
  calibration?: Calibration;
}

export const pct = (x: number, digits = 2): string => `${(x * 100).toFixed(digits)}%`;
const p3 = (p: number): string => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));
/** A table: one record per row, the keys of the first its headers (`markdownTable`, or HTML in ./html). */
export type Row = Record<string, string>;

export const mark = (pass: boolean): string => (pass ? "pass" : "FAIL");

/** The parameters in words: "half-life 3d, maxStep 0.25%/h, zm 2.33; ETH σ 5%–25%, hm 10%; …". */
export function paramsLine(p: MarginParams): string {
  const assets = Object.entries(p.assets).map(
    ([s, a]) => `${s} σ ${formatPercent(a.sigmaMin)}–${formatPercent(a.sigmaMax)}, hm ${formatPercent(a.maintenanceHaircut)}`,
  );
  return `half-life ${p.halfLife / 86_400}d, maxStep ${formatPercent(p.maxStep, 3)}/h, zm ${Number(p.zMaintenance) / 1e18}; ${assets.join("; ")}`;
}

/** A subject's label in tables: the basket spelled out. */
export const subjectLabel = (s: { subject: string; assets: readonly string[] }): string =>
  s.assets.length > 1 ? `${s.assets.join("+")} basket` : s.subject;

/** Exceedances of both requirements per subject, with the tests. */
export function exceedanceRows(subjects: readonly SubjectBacktest[]): Row[] {
  return subjects.flatMap((s) =>
      (
        [
          ["max(zm σ, hm)", s.maintenance],
          ["zm σ alone", s.sigmaOnly],
        ] as const
      ).map(([what, r]) => ({
        subject: subjectLabel(s),
        days: `${r.days} (${s.firstDay} to ${s.lastDay})`,
        requirement: what,
        exceedances: `${r.exceedances} (${pct(r.rate)})`,
        "Kupiec LR (p)": `${r.kupiec.statistic.toFixed(2)} (${p3(r.kupiec.pValue)})`,
        "Christoffersen LR (p)": `${r.christoffersen.statistic.toFixed(2)} (${p3(r.christoffersen.pValue)})`,
        "worst run": String(r.worstRun),
        "at 5%": mark(r.pass),
      })),
  );
}

function staticCell(s: StaticSigma | undefined): string {
  if (!s) return "none passes";
  return s.floorBinds ? `the floor alone → ${pct(s.requirement)}` : `σ ${pct(s.sigma)} → ${pct(s.requirement)}`;
}

/** Mean requirement against the smallest static σ passing the same tests. */
export function capitalRows(subjects: readonly SubjectBacktest[]): Row[] {
  return subjects.flatMap((s) =>
      (
        [
          ["max(zm σ, hm)", s.maintenance, s.static?.maintenance],
          ["zm σ alone", s.sigmaOnly, s.static?.sigmaOnly],
        ] as const
      ).map(([what, r, st]) => ({
        subject: subjectLabel(s),
        requirement: what,
        "dynamic: mean requirement": pct(r.meanRequirement),
        "static: smallest passing σ → requirement": s.static ? staticCell(st) : "not searched",
        "dynamic − static": st ? `${((r.meanRequirement - st.requirement) * 100).toFixed(2)} pts` : "",
      })),
  );
}

/** σ in force and target through the named episodes, with the worst day. */
export function episodeRows(subjects: readonly SubjectBacktest[]): Row[] {
  return subjects.flatMap((s) =>
      s.episodes.map((e) => ({
        subject: subjectLabel(s),
        episode: `${e.name} (${e.from} to ${e.to})`,
        "σ in force: start → peak → end": `${pct(e.start.sigma)} → ${pct(e.peak.sigma)} (${e.peak.sigmaDate}) → ${pct(e.end.sigma)}`,
        "target: start → peak → end": `${pct(e.start.target)} → ${pct(e.peak.target)} (${e.peak.targetDate}) → ${pct(e.end.target)}`,
        "worst next-day loss vs requirement": `${pct(e.worst.loss)} on ${e.worst.date} vs ${pct(e.worst.requirement)}`,
        exceedances: `${e.exceedances} (zm σ: ${e.sigmaExceedances})`,
      })),
  );
}

const summaryCell = (s: SubjectSummary | undefined): string =>
  s
    ? `${s.maintenance.exceedances}/${s.days} (K ${p3(s.maintenance.kupiecP)}, C ${p3(s.maintenance.christoffersenP)}) ${pct(s.maintenance.meanRequirement)}`
    : "";

function subjectsOf(c: Calibration): string[] {
  return c.current.subjects.map((s) => s.subject);
}


/**
 * The trade-off table: per half-life × maxStep the cheapest point passing both tests for every subject (or, if none
 * does, the one closest to passing), then the current parameters; each cell exceedances/days (Kupiec p, Christoffersen
 * p) and the mean requirement, in sample.
 */
export function tradeOffRows(c: Calibration): Row[] {
  const names = subjectsOf(c);
  const row = (label: string, p: Calibration["points"][number]): Row => ({
    "half-life": `${p.halfLife / 86_400}d`,
    maxStep: `${formatPercent(p.maxStep, 3)}/h`,
    zm: String(Number(p.zMaintenance) / 1e18),
    σmin: perAssetText(p.sigmaMin, ", "),
    σmax: perAssetText(p.sigmaMax, ", "),
    "cost (mean requirement)": pct(p.cost),
    ...Object.fromEntries(names.map((n) => [n, summaryCell(p.subjects.find((s) => s.subject === n))])),
    "in sample": label || mark(p.pass),
  });
  return [...c.frontier.map((p) => row(p === c.chosen ? "pass: chosen" : "", p)), row(`current: ${mark(c.current.pass)}`, c.current)];
}

/** Out of sample: the chosen and the current parameters on each validation window. */
export function walkForwardRows(c: Calibration): Row[] {
  const names = subjectsOf(c);
  return c.validation
    .filter((v) => v.label === "chosen" || v.label === "current")
    .flatMap((v) =>
      v.windows.map((w) => ({
        parameters: `${v.label}: ${gridLabel(v.params)}`,
        window: `${w.window.from} to ${w.window.to}`,
        ...Object.fromEntries(names.map((n) => [n, summaryCell(w.subjects.find((s) => s.subject === n))])),
        "out of sample": mark(w.pass),
      })),
    );
}

/** Everything the terminal prints, as markdown. */
export function reportMarkdown(r: BacktestReport): string {
  const parts = [
    `## Backtest ${r.window.from} to ${r.window.to}`,
    "",
    `Parameters: ${paramsLine(r.params)}. Basket ρ ${r.rho.value.toFixed(3)} (daily returns ${r.rho.window.from} to ${r.rho.window.to}, ${r.rho.days} days).`,
    `Daily closes from ${r.history.file}; one poke a day; a day counts ${r.options.warmupDays} days after its run starts; ` +
      `expected exceedances ${pct(r.options.level.exceedanceProbability, 0)}, tests at ${pct(r.options.level.significance, 0)}.`,
    "",
    markdownTable(exceedanceRows(r.subjects)),
    "",
    "### Capital cost against a static σ",
    "",
    markdownTable(capitalRows(r.subjects)),
  ];
  const episodes = markdownTable(episodeRows(r.subjects));
  if (episodes) parts.push("", "### Episodes", "", episodes);
  const c = r.calibration;
  if (c) {
    parts.push(
      "",
      `## Calibration in sample ${c.inSample.from} to ${c.inSample.to} (${c.points.length} grid points, ${c.points.filter((p) => p.pass).length} pass)`,
      "",
      c.chosen
        ? `Chosen (cheapest passing): ${gridLabel(c.chosen)}, cost ${pct(c.chosen.cost)} (current: ${pct(c.current.cost)}, ${c.current.pass ? "passes" : "fails"}).`
        : `No grid point passes both tests for every subject; the table shows the closest per half-life and maxStep.`,
      "",
      markdownTable(tradeOffRows(c)),
      "",
      `### Walk-forward: out of sample (${c.outOfSample.map((w) => `${w.from} to ${w.to}`).join(", ")})`,
      "",
      markdownTable(walkForwardRows(c)),
    );
  }
  return parts.join("\n") + "\n";
}

/** The report as JSON: bigints as decimal strings, non-finite numbers as strings. */
export function reportJson(r: BacktestReport): string {
  return (
    JSON.stringify(r, (_k, v: unknown) =>
      typeof v === "bigint" ? v.toString() : typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
    ) + "\n"
  );
}
