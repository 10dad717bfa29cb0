/**
 * The coverage gate behind `npm run coverage` (scripts/coverage-summary.ts prints it): which contract files are
 * gated, and whether each directory's totals and the overall total meet the thresholds. Pure: it reads
 * solidity-coverage's coverage/coverage-summary.json as already parsed.
 */

/** Covered of total lines or branches. */
export interface Metric {
  total: number;
  covered: number;
}

/** coverage/coverage-summary.json (istanbul's json-summary): absolute file path (and "total") → metrics. */
export type CoverageSummary = Record<string, { lines: Metric; branches: Metric }>;

export interface Thresholds {
  lines: number; // [%]
  branches: number; // [%]
}

export const THRESHOLDS: Thresholds = { lines: 95, branches: 90 };

/** Everything under contracts/ is gated except these: test doubles, test harnesses, and interfaces (no code). */
export const UNGATED = ["contracts/mocks/", "contracts/test/", "contracts/interfaces/"] as const;

/** Lines and branches of one file, or the sum over several. */
export interface Figures {
  lines: Metric;
  branches: Metric;
}

/** A directory's (or the overall) totals against the thresholds, with the files they sum. */
export interface GroupCoverage extends Figures {
  name: string;
  linesOk: boolean;
  branchesOk: boolean;
  files: (Figures & { file: string })[];
}

export interface CoverageGate {
  directories: GroupCoverage[];
  total: GroupCoverage;
  ok: boolean;
}

/**
 * The repository path (`contracts/core/VaultEngine.sol`) of a summary key when that file is gated, else undefined.
 * Keys are absolute paths under `root` (solidity-coverage's); a key outside it is read as a repository path.
 */
export function gatedPath(key: string, root: string): string | undefined {
  const base = root.endsWith("/") ? root : `${root}/`;
  const path = key.startsWith(base) ? key.slice(base.length) : key;
  if (!path.startsWith("contracts/") || !path.endsWith(".sol")) return undefined;
  return UNGATED.some((dir) => path.startsWith(dir)) ? undefined : path;
}

/** covered / total [%]; 100 when there is nothing to cover. */
export const percent = (m: Metric): number => (m.total === 0 ? 100 : (100 * m.covered) / m.total);

/** covered / total ≥ threshold %, in whole numbers (no rounding at the boundary). */
const meets = (m: Metric, threshold: number): boolean => m.covered * 100 >= threshold * m.total;

const sum = (metrics: readonly Metric[]): Metric =>
  metrics.reduce((a, m) => ({ total: a.total + m.total, covered: a.covered + m.covered }), { total: 0, covered: 0 });

function group(name: string, files: (Figures & { file: string })[], thresholds: Thresholds): GroupCoverage {
  const lines = sum(files.map((f) => f.lines));
  const branches = sum(files.map((f) => f.branches));
  return { name, lines, branches, linesOk: meets(lines, thresholds.lines), branchesOk: meets(branches, thresholds.branches), files };
}

/**
 * The gate: every gated file grouped by its directory (sorted), each directory's totals and the total over all
 * gated files against `thresholds`. Not ok when any of them is below, or when the summary holds no gated file.
 */
export function gateCoverage(summary: CoverageSummary, root: string, thresholds: Thresholds = THRESHOLDS): CoverageGate {
  const byDirectory = new Map<string, (Figures & { file: string })[]>();
  for (const [key, s] of Object.entries(summary)) {
    const file = gatedPath(key, root);
    if (file === undefined) continue;
    const directory = file.slice(0, file.lastIndexOf("/") + 1);
    const files = byDirectory.get(directory) ?? [];
    files.push({ file, lines: s.lines, branches: s.branches });
    byDirectory.set(directory, files);
  }
  const directories = [...byDirectory.keys()]
    .sort()
    .map((dir) => group(dir, (byDirectory.get(dir) ?? []).sort((a, b) => a.file.localeCompare(b.file)), thresholds));
  const total = group("all gated contracts", directories.flatMap((d) => d.files), thresholds);
  const ok = directories.length > 0 && [...directories, total].every((g) => g.linesOk && g.branchesOk);
  return { directories, total, ok };
}
