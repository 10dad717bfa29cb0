/**
 * `npm run analyze`: forge lint over contracts/ against the committed triage (analysis/forge-lint-triage.json).
 * Exits 1 on any new high or medium finding. solhint's security rules run in `npm run lint:sol` (solhint:recommended).
 */
import { lint, readTriage, review } from "./lib/analyze";

const TRIAGE = "analysis/forge-lint-triage.json";

async function main(): Promise<void> {
  const findings = await lint(["contracts"]);
  const r = review(findings, readTriage(TRIAGE));
  const count = (s: string): number => findings.filter((f) => f.severity === s).length;
  console.log(`forge lint contracts/: ${findings.length} findings (high ${count("high")}, medium ${count("med")}, low ${count("low")}); ${r.triaged.length} triaged in ${TRIAGE}`);
  for (const f of r.fresh) console.log(`NEW ${f.severity} ${f.lint} ${f.file}:${f.line}: ${f.code}`);
  for (const e of r.stale) console.log(`stale triage (no longer found): ${e.lint} ${e.file}: ${e.code}`);
  const blocking = r.fresh.filter((f) => f.severity !== "low");
  console.log(`analyze: ${blocking.length} new high/medium, ${r.fresh.length - blocking.length} new low, ${r.stale.length} stale`);
  if (blocking.length !== 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
