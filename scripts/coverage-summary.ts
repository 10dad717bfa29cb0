/**
 * CI coverage gate: line and branch coverage of every contract file under contracts/ except contracts/mocks/,
 * contracts/test/ and contracts/interfaces/ (scripts/lib/coverage.ts), from solidity-coverage's
 * coverage/coverage-summary.json. Prints each directory's totals with its files' figures, then the total over all
 * of them, and exits 1 when a directory or the total is below the thresholds (lines 95%, branches 90%), or the
 * summary is missing or holds no such file. `--report-only` prints without failing.
 * Run `npm run coverage` (which runs this) or `hardhat coverage` first: it writes the summary.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type CoverageSummary, gateCoverage, type GroupCoverage, type Metric, percent, THRESHOLDS, UNGATED } from "./lib/coverage";

const SUMMARY = resolve("coverage/coverage-summary.json");

const figure = (m: Metric, ok: boolean): string => `${percent(m).toFixed(2)}% (${m.covered}/${m.total})${ok ? "" : " BELOW"}`;

function printGroup(g: GroupCoverage, files: boolean): void {
  console.log(
    `${g.name.padEnd(24)} lines ${figure(g.lines, g.linesOk)}  branches ${figure(g.branches, g.branchesOk)}  ` +
      `${g.linesOk && g.branchesOk ? "ok" : "BELOW THRESHOLD"}`,
  );
  if (!files) return;
  for (const f of g.files) {
    console.log(`  ${f.file.slice(g.name.length).padEnd(28)} lines ${percent(f.lines).toFixed(1)}%  branches ${percent(f.branches).toFixed(1)}%`);
  }
}

function main(): boolean {
  if (!existsSync(SUMMARY)) {
    console.error(`coverage-summary: ${SUMMARY} not found; run solidity-coverage first`);
    return false;
  }
  const gate = gateCoverage(JSON.parse(readFileSync(SUMMARY, "utf8")) as CoverageSummary, process.cwd());
  console.log(`thresholds: lines ≥ ${THRESHOLDS.lines}%, branches ≥ ${THRESHOLDS.branches}% for each directory and in total`);
  console.log(`gated: every file under contracts/ except ${UNGATED.join(", ")}`);
  if (gate.directories.length === 0) {
    console.error("coverage-summary: no gated contract file in the summary");
    return false;
  }
  for (const d of gate.directories) printGroup(d, true);
  printGroup(gate.total, false);
  return gate.ok;
}

if (!main() && !process.argv.includes("--report-only")) process.exitCode = 1;
