/**
 * Prints line and branch coverage of contracts/core and contracts/oracles from solidity-coverage's
 * coverage/coverage-summary.json, and exits 1 below the thresholds (lines 95%, branches 90%) when run with --check.
 * Run `npm run coverage` first (it writes the summary).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

interface Metric {
  total: number;
  covered: number;
}
type Summary = Record<string, { lines: Metric; branches: Metric }>;

const THRESHOLDS = { lines: 95, branches: 90 };
const DIRECTORIES = ["contracts/core/", "contracts/oracles/"];

const summary = JSON.parse(readFileSync(resolve("coverage/coverage-summary.json"), "utf8")) as Summary;
const pct = (m: Metric): number => (m.total === 0 ? 100 : (100 * m.covered) / m.total);
let failed = false;
for (const dir of DIRECTORIES) {
  const files = Object.entries(summary).filter(([file]) => file.includes(dir));
  const lines = files.reduce((a, [, s]) => ({ total: a.total + s.lines.total, covered: a.covered + s.lines.covered }), { total: 0, covered: 0 });
  const branches = files.reduce(
    (a, [, s]) => ({ total: a.total + s.branches.total, covered: a.covered + s.branches.covered }),
    { total: 0, covered: 0 },
  );
  const ok = pct(lines) >= THRESHOLDS.lines && pct(branches) >= THRESHOLDS.branches;
  failed ||= !ok;
  console.log(
    `${dir.padEnd(20)} lines ${pct(lines).toFixed(2)}% (${lines.covered}/${lines.total})  ` +
      `branches ${pct(branches).toFixed(2)}% (${branches.covered}/${branches.total})  ${ok ? "ok" : "BELOW THRESHOLD"}`,
  );
  for (const [file, s] of files) {
    console.log(`  ${file.slice(file.indexOf(dir) + dir.length).padEnd(28)} lines ${pct(s.lines).toFixed(1)}%  branches ${pct(s.branches).toFixed(1)}%`);
  }
}
if (process.argv.includes("--check") && failed) process.exitCode = 1;
