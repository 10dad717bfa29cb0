/**
 * Tables as text: a markdown table with padded columns (the benchmarks), and an aligned plain-text table (the
 * terminal summaries). Cells are strings, formatted by the caller; widths count UTF-16 code units. Pure.
 */

export type Align = "left" | "right";

/**
 * `| a | b |` rows under a `|---|---|` rule, every column as wide as its widest cell; the headers are the keys of
 * the first row. "" for no rows.
 */
export function markdownTable(rows: readonly Readonly<Record<string, string>>[]): string {
  const first = rows[0];
  if (!first) return "";
  const headers = Object.keys(first);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => (r[h] ?? "").length)));
  const line = (cells: readonly string[]): string => "| " + cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ") + " |";
  return [line(headers), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...rows.map((r) => line(headers.map((h) => r[h] ?? "")))].join("\n");
}

/**
 * Rows of cells in columns two spaces apart, each column as wide as its widest cell, aligned by `align` (by column;
 * left where not given). A left-aligned last column is not padded, so no line ends in spaces.
 */
export function textTable(rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const cell = (c: string, i: number): string => {
    const w = widths[i] ?? 0;
    if (align[i] === "right") return c.padStart(w);
    return i === columns - 1 ? c : c.padEnd(w);
  };
  return rows.map((r) => r.map(cell).join("  ")).join("\n");
}
