/** Self-contained SVG line charts (no fonts or scripts fetched), for reports and the README. */

export interface Series {
  name: string;
  color: string;
  /** [x, y] points in data units. */
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
  /** Draw each point as a dot, with no line between them (a scatter, or events marked on a line chart). */
  dots?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Format of y tick labels. */
  yFormat?: (y: number) => string;
  /** Format of x tick labels (line charts; default the number). */
  xFormat?: (x: number) => string;
  /** `id` attribute of the `<svg>`, for reports and tests. */
  id?: string;
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Round tick steps (1, 2, 5 × 10^k) covering [lo, hi] with about `count` ticks. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** One line chart as an `<svg>` element string. */
export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 240;
  const margin = { left: 64, right: 16, top: 28, bottom: 40 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) throw new Error(`lineChart "${options.title}": no points`);
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number): number => margin.left + ((x - x0) / (x1 - x0 || 1)) * (width - margin.left - margin.right);
  const sy = (y: number): number => height - margin.bottom - ((y - y0) / (y1 - y0)) * (height - margin.top - margin.bottom);
  const fmt = options.yFormat ?? ((y: number) => String(y));
  const parts: string[] = chartHeader(options, width, height, margin.left);
  for (const t of ticks(y0, y1)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(fmt(t))}</text>`);
  }
  for (const t of ticks(x0, x1, 8)) {
    const x = sx(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${height - margin.bottom}" y2="${height - margin.bottom + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x}" y="${height - margin.bottom + 16}" text-anchor="middle">${escapeXml(options.xFormat ? options.xFormat(t) : String(t))}</text>`);
  }
  parts.push(
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${height - margin.bottom}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<text x="${(margin.left + width - margin.right) / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(14 ${(margin.top + height - margin.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const dash = s.dashed ? ` stroke-dasharray="5 4"` : "";
    if (s.dots) {
      for (const p of s.points) parts.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    } else {
      const d = s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.8"${dash} points="${d}"/>`);
    }
    const lx = width - margin.right - 200;
    const ly = margin.top + 4 + i * 15;
    if (s.dots) parts.push(`<circle cx="${lx + 9}" cy="${ly}" r="3" fill="${s.color}"/>`);
    else parts.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${lx + 24}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Charts stacked vertically into one SVG document. */
export function stack(charts: readonly string[], width = 720): string {
  let y = 0;
  const inner = charts.map((c) => {
    const h = Number(/height="(\d+)"/.exec(c)?.[1] ?? 0);
    const g = `<g transform="translate(0 ${y})">${c}</g>`;
    y += h;
    return g;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">\n${inner.join("\n")}\n</svg>\n`;
}

export interface BarSeries {
  name: string;
  color: string;
  /** One value per category (≥ 0). */
  values: readonly number[];
}

export interface BarChartOptions extends ChartOptions {
  /** The category labels under the bars (one per value); long runs are thinned to about 12 labels. */
  categories: readonly string[];
  /** Stack the series in each category instead of grouping them side by side. */
  stacked?: boolean;
}

/** A bar chart (grouped or stacked series over categories, e.g. a histogram or counts per step) as an `<svg>` string. */
export function barChart(series: readonly BarSeries[], options: BarChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 240;
  const margin = { left: 64, right: 16, top: 28 + 16 * Math.ceil(series.length / 3), bottom: 40 };
  const n = options.categories.length;
  if (n === 0 || series.length === 0) throw new Error(`barChart "${options.title}": no bars`);
  for (const s of series) {
    if (s.values.length !== n) throw new Error(`barChart "${options.title}": ${s.name} has ${s.values.length} values for ${n} categories`);
  }
  const totals = options.categories.map((_, i) =>
    options.stacked ? series.reduce((t, s) => t + s.values[i]!, 0) : Math.max(...series.map((s) => s.values[i]!)),
  );
  const y1 = Math.max(1, ...totals) * 1.05;
  const plotW = width - margin.left - margin.right;
  const slot = plotW / n;
  const sy = (y: number): number => height - margin.bottom - (y / y1) * (height - margin.top - margin.bottom);
  const fmt = options.yFormat ?? ((y: number) => String(y));
  const parts: string[] = chartHeader(options, width, height, margin.left);
  const counts = series.every((s) => s.values.every(Number.isInteger));
  for (const t of ticks(0, y1).filter((t) => !counts || Number.isInteger(t))) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(fmt(t))}</text>`);
  }
  const groupW = slot * 0.8;
  const barW = options.stacked ? groupW : groupW / series.length;
  for (let i = 0; i < n; i++) {
    let base = 0;
    series.forEach((s, k) => {
      const v = s.values[i]!;
      if (v <= 0) return;
      const x = margin.left + i * slot + slot * 0.1 + (options.stacked ? 0 : k * barW);
      const top = sy(base + v);
      const bottom = sy(base);
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(0.5, barW - 0.5).toFixed(1)}" height="${(bottom - top).toFixed(1)}" fill="${s.color}"><title>${escapeXml(`${s.name} ${options.categories[i]}: ${fmt(v)}`)}</title></rect>`,
      );
      if (options.stacked) base += v;
    });
  }
  const every = Math.max(1, Math.ceil(n / 12));
  options.categories.forEach((c, i) => {
    if (i % every !== 0) return;
    const x = (margin.left + i * slot + slot / 2).toFixed(1);
    parts.push(`<text x="${x}" y="${height - margin.bottom + 14}" text-anchor="middle">${escapeXml(c)}</text>`);
  });
  parts.push(
    `<line x1="${margin.left}" x2="${width - margin.right}" y1="${height - margin.bottom}" y2="${height - margin.bottom}" stroke="#333"/>`,
    `<text x="${(margin.left + width - margin.right) / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(14 ${(margin.top + height - margin.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const lx = margin.left + (i % 3) * 210;
    const ly = 30 + Math.floor(i / 3) * 15;
    parts.push(`<rect x="${lx}" y="${ly - 5}" width="14" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${lx + 20}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Counts of `values` in the bins [edges[i], edges[i+1]); values past the last edge go into the last bin. */
export function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(Math.max(0, edges.length - 1)).fill(0);
  for (const v of values) {
    if (!(v >= edges[0]!)) continue;
    let i = edges.findIndex((e) => v < e) - 1;
    if (i < 0) i = counts.length - 1;
    counts[i]!++;
  }
  return counts;
}

/** The opening of every chart: the svg element (with its id, when given), a white background and the title. */
function chartHeader(options: { id?: string; title: string }, width: number, height: number, left: number): string[] {
  const idAttr = options.id ? ` id="${escapeXml(options.id)}"` : "";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg"${idAttr} width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="16" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
}
