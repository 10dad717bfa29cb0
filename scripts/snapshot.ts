/**
 * `npm run snapshot`: measures gas per operation (the gas bench, scripts/lib/bench/gas.ts) and the contract sizes
 * on the in-process network and writes snapshots/gas.json and snapshots/sizes.json (commit them).
 *
 * `npm run snapshot:check` (`--check`; CI runs it): measures again and compares with the committed snapshots
 * (scripts/lib/bench/snapshot.ts): prints old / new / change per operation and per contract, and exits 1 when an
 * operation's gas grew more than 1%, an operation or contract is in one of measurement and snapshot but not the
 * other, or a contract is over the 24,576-byte limit. Exits 2 when the snapshots are missing or malformed.
 */
import { gasRows, gasTable } from "./lib/bench/gas";
import { contractSizes } from "./lib/bench/sizes";
import { compareSnapshots, comparisonTables, findingMessage, gasSnapshot, readSnapshot, type Snapshot, writeSnapshot } from "./lib/bench/snapshot";
import { parseFlags } from "./lib/args";
import { runMain } from "./lib/main";

const DIRECTORY = "snapshots";

runMain("snapshot", async () => {
  const { values } = parseFlags({ options: { check: { type: "boolean", default: false } } });
  const recorded = values.check ? readSnapshot(DIRECTORY) : undefined; // before measuring: a missing file fails fast
  const rows = await gasRows();
  const measured: Snapshot = { gas: gasSnapshot(rows), sizes: await contractSizes() };
  if (recorded === undefined) {
    console.log(gasTable(rows));
    for (const path of writeSnapshot(DIRECTORY, measured)) console.log(`wrote ${path}`);
    return 0;
  }
  const findings = compareSnapshots(recorded, measured);
  console.log(comparisonTables(recorded, measured, findings));
  console.log("");
  for (const f of findings) console.log(findingMessage(f));
  console.log(`snapshot:check: ${findings.length === 0 ? "gas and sizes match snapshots/" : `${findings.length} finding${findings.length === 1 ? "" : "s"}`}`);
  return findings.length === 0 ? 0 : 1;
});
