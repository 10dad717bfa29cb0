/**
 * CI coverage gate: prints line and branch coverage of contracts/core and contracts/oracles (and of each file) from
 * solidity-coverage's coverage/coverage-summary.json, and exits 1 when a directory is below the thresholds (lines
 * 95%, branches 90%) or the summary is missing. `--report-only` prints without failing.
 * Run `npm run coverage` (which runs this) or `hardhat coverage` first: it writes the summary.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";

interface Metric {
  total: number;
  covered: number;
}
type Summary = Record<string, { lines: Metric; branches: Metric }>;

const THRESHOLDS = { lines: 95, branches: 90 } as const;
const DIRECTORIES = ["contracts/core/", "contracts/oracles/"];
const SUMMARY = resolve("coverage/coverage-summary.json");

const pct = (m: Metric): number => (m.total === 0 ? 100 : (100 * m.covered) / m.total);
const sum = (metrics: Metric[]): Metric =>
  metrics.reduce((a, m) => ({ total: a.total + m.total, covered: a.covered + m.covered }), { total: 0, covered: 0 });

function main(): boolean {
  if (!existsSync(SUMMARY)) {
    console.error(`coverage-summary: ${SUMMARY} not found; run solidity-coverage first`);
    return false;
  }
  const summary = JSON.parse(readFileSync(SUMMARY, "utf8")) as Summary;
  let ok = true;
  console.log(`thresholds: lines ≥ ${THRESHOLDS.lines}%, branches ≥ ${THRESHOLDS.branches}%`);
  for (const dir of DIRECTORIES) {
    const files = Object.entries(summary).filter(([file]) => file.includes(dir));
    if (files.length === 0) {
      console.error(`${dir}: no files in the summary`);
      ok = false;
      continue;
    }
    const lines = sum(files.map(([, s]) => s.lines));
    const branches = sum(files.map(([, s]) => s.branches));
    const linesOk = pct(lines) >= THRESHOLDS.lines;
    const branchesOk = pct(branches) >= THRESHOLDS.branches;
    ok &&= linesOk && branchesOk;
    console.log(
      `${dir.padEnd(20)} lines ${pct(lines).toFixed(2)}% (${lines.covered}/${lines.total})${linesOk ? "" : " BELOW"}  ` +
        `branches ${pct(branches).toFixed(2)}% (${branches.covered}/${branches.total})${branchesOk ? "" : " BELOW"}  ` +
        `${linesOk && branchesOk ? "ok" : "BELOW THRESHOLD"}`,
    );
    for (const [file, s] of files) {
      console.log(`  ${file.slice(file.indexOf(dir) + dir.length).padEnd(28)} lines ${pct(s.lines).toFixed(1)}%  branches ${pct(s.branches).toFixed(1)}%`);
    }
  }
  return ok;
}

if (!main() && !process.argv.includes("--report-only")) process.exitCode = 1;
