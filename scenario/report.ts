/**
 * The stress report: one self-contained HTML page (inline CSS and SVG, no scripts, fonts or images fetched) and the
 * same numbers as JSON. Charts: oracle price paths against the scenario's path (the gap is the feedback of
 * liquidation sales), the HF distribution before and after, liquidations per step split into first-round and
 * cascade liquidations, cumulative bad debt per variant, margin calls and cures, and the variants side by side;
 * tables: the variant comparison, the cascade, VaR/ES of the starting book, the recommended parameters.
 */
import { formatFixed } from "../src/units";
import type { ReplayResult } from "./replay";
import type { RecommendationSection, RiskTable } from "./stressRisk";
import { barChart, histogram, lineChart, type Series } from "../src/risk/svg";
import { outOfSampleRows, rhoText, staticComparisonRows } from "../src/risk/recommendHistory";
import type { Variant, VariantRow } from "./variants";
import type { PegCeilingAdvice } from "../src/risk/pegCeiling";
import { ScenarioError } from "./crash";

export interface StressReport {
  scenario: {
    name: string;
    description: string;
    stepSeconds: number;
    steps: number;
    feedback: number;
    cureRate: number;
    ammDepth: Record<string, string>;
  };
  positions: number;
  seed: bigint;
  runs: { variant: Variant; result: ReplayResult }[];
  comparison: VariantRow[];
  /** HF histogram: bin edges, counts before (the same book in every variant) and after each variant. */
  hfHistogram: { edges: number[]; labels: string[]; before: number[]; after: Record<string, number[]> };
  risk: RiskTable | { error: string };
  recommendation: RecommendationSection | { error: string };
  /** The PSM: a ceiling from the history (`src/risk/pegCeiling.ts`), next to each variant's P and shortfall. */
  peg: PegCeilingAdvice | { error: string };
}

/** The chart ids every report contains, in page order. */
export const CHART_IDS = [
  "chart-prices",
  "chart-hf",
  "chart-liquidations",
  "chart-bad-debt",
  "chart-margin-calls",
  "chart-variants",
] as const;

const HF_EDGES = [0, 0.5, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.2, 1.35, 1.5, 2, Infinity];
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"] as const;

/** Assembles the report from the variant runs (first = the protocol as configured) and the risk sections. */
export function buildReport(
  runs: { variant: Variant; result: ReplayResult }[],
  comparison: VariantRow[],
  risk: RiskTable | { error: string },
  recommendation: RecommendationSection | { error: string },
  peg: PegCeilingAdvice | { error: string } = { error: "no history" },
): StressReport {
  const first = runs[0]?.result;
  if (first === undefined) throw new ScenarioError("buildReport: no runs (the first is the protocol as configured)");
  const s = first.scenario;
  const labels = HF_EDGES.slice(0, -1).map((e, i) => (HF_EDGES[i + 1] === Infinity ? `≥${e}` : `${e}–${HF_EDGES[i + 1]}`));
  return {
    scenario: {
      name: s.name,
      description: s.description,
      stepSeconds: s.stepSeconds,
      steps: s.steps,
      feedback: s.feedback,
      cureRate: s.cureRate,
      ammDepth: { ...s.ammDepth },
    },
    positions: first.options.positions,
    seed: first.options.seed,
    runs,
    comparison,
    hfHistogram: {
      edges: HF_EDGES,
      labels,
      before: histogram(first.hfBefore, HF_EDGES),
      after: Object.fromEntries(runs.map((r) => [r.variant.key, histogram(r.result.hfAfter, HF_EDGES)])),
    },
    risk,
    recommendation,
    peg,
  };
}

/** The report as JSON: bigints as decimal strings, Infinity as "Infinity". */
export function reportJson(r: StressReport): string {
  return (
    JSON.stringify(
      r,
      (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : typeof v === "number" && !Number.isFinite(v) ? String(v) : v),
      2,
    ) + "\n"
  );
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const kusd = (wad: bigint): string => formatFixed(wad, 18, 2);
const signedKusd = (wad: bigint): string => (wad > 0n ? `+${kusd(wad)}` : wad < 0n ? `−${kusd(-wad)}` : "0");
const signed = (n: number): string => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "0");
const usd = (x: number): string => x.toLocaleString("en-US", { maximumFractionDigits: 0 });
const pct = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}%`;
const wadNumber = (wad: bigint): number => Number(wad / 10n ** 9n) / 1e9;

function table(head: readonly string[], rows: readonly (readonly string[])[], id?: string): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table${id ? ` id="${id}"` : ""}><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function priceChart(r: StressReport): string {
  const run = r.runs[0]!.result;
  const series: Series[] = [];
  Object.entries(run.scenario.paths).forEach(([symbol, path], i) => {
    const p0 = wadNumber(run.start.prices[symbol] ?? 0n);
    if (!(p0 > 0)) return;
    const color = COLORS[i % COLORS.length]!;
    const oracle: [number, number][] = [[0, 100], ...run.steps.map((s): [number, number] => [s.hour, (100 * s.prices[symbol]!) / p0])];
    series.push({ name: `${symbol} oracle`, color, points: oracle });
    series.push({
      name: `${symbol} path (no feedback)`,
      color,
      dashed: true,
      points: path.map((m, k): [number, number] => [(k * run.scenario.stepSeconds) / 3600, 100 * m]),
    });
  });
  return lineChart(series, {
    id: "chart-prices",
    title: "Price paths: oracle (solid) vs. scenario path (dashed), % of start — as configured",
    xLabel: "hours",
    yLabel: "% of starting price",
    height: 300,
  });
}

function hfChart(r: StressReport): string {
  const h = r.hfHistogram;
  return barChart(
    [
      { name: "before", color: "#7f7f7f", values: h.before },
      ...r.runs.map((run, i) => ({ name: `after: ${run.variant.key}`, color: COLORS[i % COLORS.length]!, values: h.after[run.variant.key]! })),
    ],
    {
      id: "chart-hf",
      title: "HF distribution of positions with debt, before and after",
      xLabel: "health factor",
      yLabel: "positions",
      categories: h.labels,
      height: 280,
    },
  );
}

function liquidationChart(r: StressReport): string {
  const run = r.runs[0]!.result;
  return barChart(
    [
      { name: "first keeper round", color: COLORS[0], values: run.steps.map((s) => s.roundLiquidations[0] ?? 0) },
      { name: "cascade (after feedback)", color: COLORS[1], values: run.steps.map((s) => s.roundLiquidations.slice(1).reduce((a, x) => a + x, 0)) },
    ],
    {
      id: "chart-liquidations",
      title: "Liquidations per step — as configured",
      xLabel: "hours",
      yLabel: "liquidations",
      categories: run.steps.map((s) => String(s.hour)),
      stacked: true,
    },
  );
}

function badDebtChart(r: StressReport): string {
  return lineChart(
    r.runs.map((run, i) => ({
      name: run.variant.key,
      color: COLORS[i % COLORS.length]!,
      dashed: i > 0 && i % 2 === 1,
      points: [[0, 0] as [number, number], ...run.result.steps.map((s): [number, number] => [s.hour, wadNumber(s.badDebt)])],
    })),
    {
      id: "chart-bad-debt",
      title: "Cumulative bad debt per variant (kUSD)",
      xLabel: "hours",
      yLabel: "kUSD",
      yFormat: (y) => usd(y),
    },
  );
}

function marginCallChart(r: StressReport): string {
  const run = r.runs[0]!.result;
  return barChart(
    [
      { name: "margin calls", color: COLORS[3], values: run.steps.map((s) => s.marginCalls) },
      { name: "owner cures", color: COLORS[2], values: run.steps.map((s) => s.cures) },
    ],
    {
      id: "chart-margin-calls",
      title: "Margin calls and owner cures per step — as configured",
      xLabel: "hours",
      yLabel: "positions",
      categories: run.steps.map((s) => String(s.hour)),
    },
  );
}

function variantChart(r: StressReport): string {
  return barChart(
    [
      { name: "positions liquidated", color: COLORS[0], values: r.comparison.map((c) => c.positionsLiquidated) },
      { name: "…that would have recovered", color: COLORS[1], values: r.comparison.map((c) => c.wouldHaveRecovered) },
    ],
    {
      id: "chart-variants",
      title: "Variants: positions liquidated, of which would have recovered",
      xLabel: "variant",
      yLabel: "positions",
      categories: r.comparison.map((c) => c.key),
    },
  );
}

function comparisonTable(r: StressReport): string {
  return table(
    [
      "variant",
      "bad debt (kUSD)",
      "Δ bad debt",
      "debt liquidated (kUSD)",
      "Δ",
      "deficit (kUSD)",
      "PSM P at the end (kUSD)",
      "PSM worst shortfall (kUSD)",
      "liquidations",
      "positions liquidated",
      "Δ",
      "would have recovered",
      "Δ",
      "margin calls",
      "cured",
      "cascade levels",
      "cascade liquidations",
      "§6 invariant",
    ],
    r.comparison.map((c) => [
      c.label,
      kusd(c.badDebt),
      signedKusd(c.delta.badDebt),
      kusd(c.liquidatedDebt),
      signedKusd(c.delta.liquidatedDebt),
      kusd(c.deficit),
      kusd(c.pegDebt),
      kusd(c.pegShortfall),
      String(c.liquidations),
      String(c.positionsLiquidated),
      signed(c.delta.positionsLiquidated),
      String(c.wouldHaveRecovered),
      signed(c.delta.wouldHaveRecovered),
      String(c.marginCalls),
      String(c.cured),
      String(c.cascadeLevels),
      String(c.cascadeLiquidations),
      c.invariantHeld ? "held" : "VIOLATED",
    ]),
    "table-variants",
  );
}

/** The PSM: each variant's P and worst shortfall, fee income against savings paid, and the ceiling the history allows. */
function pegSection(r: StressReport): string {
  const rows = r.runs.map(({ variant, result }) => [
    variant.label,
    kusd(result.summary.pegMinted),
    kusd(result.summary.pegDebt),
    kusd(result.summary.pegShortfall),
    kusd(result.summary.badDebt),
    kusd(result.summary.pegFees),
    kusd(result.summary.savingsPaid),
  ]);
  const head = ["variant", "minted for arbitrage (kUSD)", "P at the end", "worst shortfall P × (1 − price)", "positions' bad debt", "PSM fees to the buffer", "savings interest paid"];
  const p = r.peg;
  const advice =
    "error" in p
      ? `<p>No ceiling advice: ${esc(p.error)}</p>`
      : `<p>Ceiling for the ${esc(p.reserve)} module: a stressed depeg of ${pct(p.stressedDepeg, 2)} (${esc(p.source)}) against a loss budget of ${pct(p.budgetShare, 2)} of the book's ${usd(p.bookDebt)} kUSD debt (${usd(p.budget)} kUSD) allows <strong>${p.recommended === undefined ? "any ceiling (the reserve never left $1 in the data)" : `${usd(p.recommended)} kUSD`}</strong>; configured: ${usd(p.configured)} kUSD.</p>`;
  return table(head, rows, "table-peg") + advice;
}

function cascadeTable(r: StressReport): string {
  return table(
    ["variant", "cascade levels (rounds with liquidations in one step)", "keeper rounds in one step", "cascade liquidations", "deepest feedback impact", "keeper profit (kUSD)", "collateral ratio at end"],
    r.runs.map(({ variant, result }) => [
      variant.key,
      String(result.summary.cascadeLevels),
      String(result.summary.cascadeDepth),
      String(result.summary.cascadeLiquidations),
      Object.entries(result.summary.deepestImpact)
        .map(([s, m]) => `${s} ${m < 1 ? "−" : ""}${pct(1 - m, 2)}`)
        .join(", "),
      kusd(result.summary.keeperProfit),
      pct(result.summary.collateralRatio),
    ]),
    "table-cascade",
  );
}

function riskSection(risk: RiskTable | { error: string }): string {
  if ("error" in risk) return `<p class="error">VaR/ES not computed: ${esc(risk.error)}</p>`;
  const rows = risk.rows.map((row) => [
    row.method,
    usd(row.collateralVar),
    usd(row.collateralEs),
    usd(row.badDebtVar),
    usd(row.badDebtEs),
    usd(row.expectedBadDebt),
    pct(row.probLiquidatable),
  ]);
  const vols = table(
    ["asset", "σ over the margin horizon, from the history", "σ margin used at the start"],
    Object.entries(risk.volatility).map(([s, v]) => [s, pct(v.history, 2), pct(v.margin, 2)]),
  );
  return (
    `<p>The starting book (${risk.positions} positions with debt, collateral ${usd(risk.bookValue)} USD, debt ${usd(risk.bookDebt)} kUSD) ` +
    `over ${risk.horizonSeconds / 3600} h at ${pct(risk.confidence, 0)}. Bad debt: what liquidating every position at the horizon's prices would leave, valued by the src/math mirror.</p>\n` +
    table(
      ["method", "collateral VaR (USD)", "collateral ES (USD)", "bad-debt VaR (kUSD)", "bad-debt ES (kUSD)", "expected bad debt (kUSD)", "P(any HF < 1)"],
      rows,
      "table-var",
    ) +
    `\n<h3>Volatility behind the Monte Carlo rows</h3>\n${vols}`
  );
}

function recommendationHtml(rec: RecommendationSection | { error: string }): string {
  if ("error" in rec) return `<p class="error">No recommendation: ${esc(rec.error)}</p>`;
  const changes = table(
    ["config field", "current", "recommended", "changed"],
    rec.changes.map((c) => [c.field, c.from ?? "(unset)", c.to, c.changed ? "yes" : ""]),
    "table-recommendation",
  );
  return (
    `<p>From <code>${esc(rec.history)}</code> (${rec.recommendation.stepSeconds / 3600} h samples); ` +
    `every window of the history covered without bad debt: <b>${rec.recommendation.covered ? "yes" : "no"}</b>.</p>\n${changes}\n` +
    `<h3>Governance diff</h3>\n<pre>${esc(rec.diff)}</pre>` +
    (rec.calibrated ? calibratedHtml(rec.calibrated) : "")
  );
}

/** Daily closes: the calibration's choice, then the backtest at the recommended parameters in and out of sample. */
function calibratedHtml(c: NonNullable<RecommendationSection["calibrated"]>): string {
  const rows = (records: readonly Record<string, string>[], id: string): string => {
    const first = records[0];
    return first ? table(Object.keys(first), records.map((r) => Object.values(r)), id) : "";
  };
  return (
    `\n<h3>Calibration on daily closes</h3>\n<p>The cheapest of ${c.gridPoints} grid points passing Kupiec and Christoffersen ` +
    `(99% coverage, 5% significance) for every subject in ${esc(c.inSampleWindow)} (${c.passing} pass): ${esc(c.chosen)}. ` +
    `${esc(rhoText(c.rho))}</p>\n` +
    `<p class="note">In sample at the recommended parameters, against the smallest static σ of equal coverage:</p>\n` +
    rows(staticComparisonRows(c.inSample), "table-recommendation-in-sample") +
    `\n<p class="note">Out of sample at the recommended parameters:</p>\n` +
    rows(outOfSampleRows(c.outOfSample), "table-recommendation-out-of-sample")
  );
}

const CSS = `body{font-family:sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}pre{background:#f7f7f7;padding:8px;font-size:12px;overflow-x:auto}
figure{margin:8px 0 20px}.error{color:#b00}.note{color:#555;font-size:13px}`;

/** The report as one self-contained HTML page. */
export function reportHtml(r: StressReport): string {
  const s = r.scenario;
  const base = r.comparison[0]!;
  const fig = (svg: string): string => `<figure>${svg}</figure>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keel stress report: ${esc(s.name)}</title><style>${CSS}</style></head>
<body>
<h1>Keel stress report: ${esc(s.name)}</h1>
<p>${esc(s.description)}. ${s.steps} steps of ${s.stepSeconds / 60} min; feedback ${s.feedback}; owners cure ${pct(s.cureRate, 0)} of margin calls;
AMM depth ${esc(Object.entries(s.ammDepth).map(([k, v]) => `${k} ${v}`).join(", "))}. ${r.positions} positions, seed ${r.seed}.
Replayed on the real contracts (in-process Hardhat network) with the real keeper; kUSD figures are exact, from chain events and state.</p>
<h2>Variants</h2>
<p>As configured: bad debt <b>${kusd(base.badDebt)} kUSD</b>, ${base.liquidations} liquidations of ${base.positionsLiquidated} positions,
of which ${base.wouldHaveRecovered} would have recovered. Δ columns compare each variant with the first row.</p>
${comparisonTable(r)}
<p class="note">Would have recovered: a liquidated position whose collateral and debt just before its first liquidation, left untouched,
would have HF ≥ 1 at the end of the scenario (final oracle prices, σ in force and debt rates of that run). Static σ: the volatility oracle is never
poked, so every σ stays at its floor. No grace period: a margin-called position is liquidatable at once.</p>
${fig(variantChart(r))}
<h2>Price paths and the feedback loop</h2>
${fig(priceChart(r))}
<h2>Cascade</h2>
<p class="note">Each step the keeper runs on the path price (round 1); when the scenario has feedback, the oracle then takes on that share of
the AMM price impact of the round's liquidation sales and the keeper runs again, until a round liquidates nothing. Cascade levels: the most
rounds with liquidations in one step (1 = no cascade). Cascade liquidations: those of rounds 2 and later, set off by the feedback alone.</p>
${cascadeTable(r)}
${fig(liquidationChart(r))}
<h2>Bad debt</h2>
${fig(badDebtChart(r))}
<h2>Peg stability module</h2>
<p class="note">The replay's arbitrageur gets the kUSD it lacks from the PSM (reserve in at $1 less the fee), so P grows with the kUSD the
pools need. Worst shortfall: the most the PSM's reserve fell short of P at the reserve's oracle price during the run, next to the positions'
bad debt. Fees go to the surplus buffer; savings interest comes out of it (never minted).</p>
${pegSection(r)}
<h2>Health factors</h2>
${fig(hfChart(r))}
${table(["HF bin", "before", ...r.runs.map((x) => `after: ${x.variant.key}`)], r.hfHistogram.labels.map((l, i) => [l, String(r.hfHistogram.before[i]), ...r.runs.map((x) => String(r.hfHistogram.after[x.variant.key]![i]))]), "table-hf")}
<h2>Margin calls and cures</h2>
${fig(marginCallChart(r))}
<h2>VaR and expected shortfall of the starting book</h2>
${riskSection(r.risk)}
<h2>Recommended parameters</h2>
${recommendationHtml(r.recommendation)}
</body></html>
`;
}
