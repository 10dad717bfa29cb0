/**
 * The backtest report as one self-contained HTML page (inline CSS and SVG, nothing fetched): the tables of `./report`
 * and, per subject and run of consecutive days, σ in force against its target and the realized σ, and the
 * requirement against the next day's loss with exceedances marked; σ through each episode; the calibration's
 * capital cost against exceedances.
 */
import { lineChart, type Series } from "../svg";
import type { SubjectBacktest } from "./backtest";
import type { Calibration } from "./calibrate";
import type { BacktestDay } from "./day";
import { dateOf, dayNumber } from "./history";
import {
  type BacktestReport,
  capitalRows,
  episodeRows,
  exceedanceRows,
  paramsLine,
  pct,
  type Row,
  subjectLabel,
  tradeOffRows,
  walkForwardRows,
} from "./report";

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const percent = (y: number): string => `${Number((y * 100).toFixed(1))}%`;
const dayOf = (d: BacktestDay): number => dayNumber(d.date)!;
/** A loss as charted: gains at 0, so the chart shows the losses the requirement had to cover. */
const lossOf = (d: BacktestDay): number => Math.max(0, d.loss);

/** A day as a fractional year (2018-07-02 → 2018.5), the x axis of the long charts. */
function yearOf(d: BacktestDay): number {
  const day = dayOf(d);
  const year = Number(d.date.slice(0, 4));
  const start = Date.UTC(year, 0, 1) / 86_400_000;
  const end = Date.UTC(year + 1, 0, 1) / 86_400_000;
  return year + (day - start) / (end - start);
}

/** A fractional year as the month it falls in: 2018 → "2018", 2018.5 → "2018-07". */
function monthLabel(x: number): string {
  const year = Math.floor(x + 1e-9);
  const month = Math.min(11, Math.floor((x - year) * 12 + 1e-6));
  return month === 0 ? String(year) : `${year}-${String(month + 1).padStart(2, "0")}`;
}

/** Rows (from ./report) as an HTML table; a "FAIL" cell stands out. */
function htmlTable(rows: readonly Row[], id: string): string {
  const first = rows[0];
  if (!first) return "";
  const head = Object.keys(first);
  const th = head.map((h) => `<th>${esc(h)}</th>`).join("");
  const td = (c: string): string => `<td${c.startsWith("FAIL") ? ' class="fail"' : ""}>${esc(c)}</td>`;
  const body = rows.map((r) => `<tr>${head.map((h) => td(r[h] ?? "")).join("")}</tr>`).join("\n");
  return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function sigmaChart(s: SubjectBacktest, run: readonly BacktestDay[], id: string): string {
  const series: Series[] = [
    { name: "σ in force", color: "#111", points: run.map((d) => [yearOf(d), d.sigma] as const) },
    { name: "σ target", color: "#c0392b", points: run.map((d) => [yearOf(d), d.target] as const), dashed: true },
    {
      name: "realized σ (30-day RMS)",
      color: "#2e86c1",
      points: run.flatMap((d) => (d.realized === null ? [] : [[yearOf(d), d.realized] as const])),
    },
  ];
  return lineChart(series, {
    id,
    title: `${subjectLabel(s)}: one-day σ in force, its target and the realized σ (${run[0]!.date} to ${run[run.length - 1]!.date})`,
    xLabel: "date",
    yLabel: "σ over one day",
    yFormat: percent,
    xFormat: monthLabel,
    width: 960,
    height: 260,
  });
}

function requirementChart(s: SubjectBacktest, run: readonly BacktestDay[], id: string): string {
  const series: Series[] = [
    { name: "next-day loss (gains at 0)", color: "#aaa", points: run.map((d) => [yearOf(d), lossOf(d)] as const) },
    { name: "requirement max(zm σ, hm)", color: "#111", points: run.map((d) => [yearOf(d), d.requirement] as const) },
    { name: "zm σ alone", color: "#7d3c98", points: run.map((d) => [yearOf(d), d.sigmaRequirement] as const), dashed: true },
    { name: "exceedance", color: "#e74c3c", points: run.filter((d) => d.exceeded).map((d) => [yearOf(d), d.loss] as const), dots: true },
  ];
  return lineChart(series, {
    id,
    title: `${subjectLabel(s)}: maintenance requirement and the next day's loss (${run[0]!.date} to ${run[run.length - 1]!.date})`,
    xLabel: "date",
    yLabel: "share of collateral value",
    yFormat: percent,
    xFormat: monthLabel,
    width: 960,
    height: 280,
  });
}

function episodeCharts(s: SubjectBacktest, index: number): string {
  const days = s.runs.flat();
  return s.episodes
    .map((e, k) => {
      const inside = days.filter((d) => d.date >= e.from && d.date <= e.to);
      if (inside.length < 2) return "";
      const svg = lineChart(
        [
          { name: "σ in force", color: "#111", points: inside.map((d) => [dayOf(d), d.sigma] as const) },
          { name: "σ target", color: "#c0392b", points: inside.map((d) => [dayOf(d), d.target] as const), dashed: true },
          { name: "next-day loss (gains at 0)", color: "#aaa", points: inside.map((d) => [dayOf(d), lossOf(d)] as const) },
          { name: "requirement", color: "#7d3c98", points: inside.map((d) => [dayOf(d), d.requirement] as const) },
        ],
        {
          id: `episode-${index}-${k}`,
          title: `${subjectLabel(s)}: ${e.name}`,
          xLabel: "date",
          yLabel: "share of value",
          yFormat: percent,
          xFormat: dateOf,
          width: 580,
          height: 240,
        },
      );
      return `<figure class="half">${svg}</figure>`;
    })
    .join("\n");
}

function tradeOffChart(c: Calibration): string {
  const total = (p: Calibration["points"][number]): number => p.subjects.reduce((a, s) => a + s.maintenance.exceedances, 0);
  const series: Series[] = [
    { name: "fails a test", color: "#bbb", points: c.points.filter((p) => !p.pass).map((p) => [p.cost, total(p)] as const), dots: true },
    { name: "passes both, every subject", color: "#27ae60", points: c.points.filter((p) => p.pass).map((p) => [p.cost, total(p)] as const), dots: true },
    { name: "current parameters", color: "#2e86c1", points: [[c.current.cost, total(c.current)]], dots: true },
    ...(c.chosen ? [{ name: "chosen", color: "#e74c3c", points: [[c.chosen.cost, total(c.chosen)] as const], dots: true }] : []),
  ];
  return lineChart(series, {
    id: "chart-trade-off",
    title: `Calibration in sample: capital cost against exceedances (${c.points.length} grid points)`,
    xLabel: "mean maintenance requirement, averaged over the subjects",
    yLabel: "exceedances, all subjects",
    xFormat: percent,
    width: 960,
    height: 320,
  });
}

const CSS = `body{font-family:sans-serif;max-width:1200px;margin:24px auto;padding:0 16px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px;font-size:12px}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}td.fail{color:#b00;font-weight:bold}
figure{margin:8px 0 16px}figure.half{display:inline-block;margin:4px}.note{color:#555;font-size:13px}`;

/** The report as one self-contained HTML page. */
export function reportHtml(r: BacktestReport): string {
  const subjects = r.subjects
    .map((s, i) => {
      const charts = s.runs
        .map(
          (run, k) =>
            `<figure>${sigmaChart(s, run, `chart-sigma-${i}-${k}`)}</figure>\n<figure>${requirementChart(s, run, `chart-requirement-${i}-${k}`)}</figure>`,
        )
        .join("\n");
      return `<h3>${esc(subjectLabel(s))}</h3>\n${charts}\n${episodeCharts(s, i)}`;
    })
    .join("\n");
  const c = r.calibration;
  const calibration = c
    ? `<h2>Calibration, walk-forward</h2>
<p>Every grid point backtested in sample (${esc(c.inSample.from)} to ${esc(c.inSample.to)}, ρ ${c.rho.toFixed(3)} on ${c.rhoDays} days);
the chosen point is the cheapest (mean maintenance requirement averaged over the subjects) whose exceedances of max(zm σ, hm) pass
Kupiec and Christoffersen at ${pct(r.options.level.significance, 0)} for every subject. ${c.chosen ? "" : "<b>No point passes.</b>"}
Each cell: exceedances/days (Kupiec p, Christoffersen p) and the mean requirement.</p>
<figure>${tradeOffChart(c)}</figure>
${htmlTable(tradeOffRows(c), "table-trade-off")}
<h3>Out of sample</h3>
${htmlTable(walkForwardRows(c), "table-walk-forward")}`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keel backtest: ${esc(r.window.from)} to ${esc(r.window.to)}</title><style>${CSS}</style></head>
<body>
<h1>Keel margin backtest on daily closes</h1>
<p>${esc(paramsLine(r.params))}. Basket: equal USD weights rebalanced daily, ρ ${r.rho.value.toFixed(3)} (daily returns
${esc(r.rho.window.from)} to ${esc(r.rho.window.to)}, ${r.rho.days} days).</p>
<p class="note">History ${esc(r.history.file)}: ${esc(r.history.firstDate)} to ${esc(r.history.lastDate)}${r.history.gaps.map((g) => `, nothing between ${esc(g.before)} and ${esc(g.after)}`).join("")}.
The VolatilityOracle's TypeScript model is poked once a day with the day's close; it restarts at every run of consecutive days (no return spans a gap),
and a day counts ${r.options.warmupDays} days after its run starts${Object.entries(r.options.liquidFrom).map(([s, d]) => `; ${esc(s)} from ${esc(d)}`).join("")}.
The requirement in force at a day's close (after its poke, so formed from the closes up to the day before) is compared with the loss to the next close:
an exceedance is a larger loss. Expected exceedances ${pct(r.options.level.exceedanceProbability, 0)}; tests at ${pct(r.options.level.significance, 0)}.</p>
<h2>Exceedances, ${esc(r.window.from)} to ${esc(r.window.to)}</h2>
${htmlTable(exceedanceRows(r.subjects), "table-exceedances")}
<h2>Capital cost against a static σ</h2>
<p class="note">Static σ: the smallest constant σ (0.05-point grid) whose requirement passes the same two tests on the same days.</p>
${htmlTable(capitalRows(r.subjects), "table-capital")}
<h2>Episodes</h2>
${htmlTable(episodeRows(r.subjects), "table-episodes")}
<h2>Charts</h2>
${subjects}
${calibration}
</body></html>
`;
}
