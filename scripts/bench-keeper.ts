/**
 * `npm run bench:keeper [-- --sizes 1000,10000]`: the keeper against a real local JSON-RPC node (`hardhat node` on
 * 127.0.0.1, started and stopped here), for books of 1,000 and 10,000 positions, each on a fresh node and
 * deployment. Measured with the keeper's own parts:
 *
 * - index from scratch: a new PositionIndex without checkpoint, `sync(head)` (and its eth_getLogs queries);
 * - one full health sweep: HealthSweeper.sweep over every indexed position at head (median of 3), its wall time and
 *   its RPC calls; and, for comparison, the same health from one Lens.market() read valued here with src/math
 *   (src/keeper/evaluate.ts), checked equal to the sweep's;
 * - reaction: the keeper as it is in src/ running as in production (startKeeper, long-running, 100 ms poll; upkeep
 *   off) while one WETH feed update makes exactly 1, then 100, positions liquidatable (HF under criticalHF: no grace
 *   period); from the update's receipt to the last of their Liquidated events, in milliseconds and blocks.
 *
 * Prints a table with the targets of the issue, the setup times, and where the time goes (CPU of the node and of this
 * process, a healthScan profile, the keeper's RPC calls during each reaction). Opening 10,000 positions takes a few
 * minutes and ~10 GB of node memory at peak. Exits non-zero only on errors, never on a missed target.
 */
import type { Node } from "../dev/localNode";
import { benchSize, progress, type SizeResult } from "./lib/bench/keeper";
import { keeperReport } from "./lib/bench/keeperReport";
import { parseFlags, UsageError } from "./lib/args";
import { runMain } from "./lib/main";

async function main(): Promise<number> {
  const { values } = parseFlags({ options: { sizes: { type: "string", default: "1000,10000" } } });
  const sizes = values.sizes.split(",").map((s) => {
    const n = Number(s.trim().replace(/_/g, ""));
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new UsageError(`--sizes: "${s}" is not a whole number of positions (1 … 100,000)`);
    return n;
  });
  let current: Node | undefined;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping the node`);
      void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  const results: SizeResult[] = [];
  try {
    for (const n of sizes) results.push(await benchSize(n, (node) => (current = node)));
  } finally {
    if (results.length > 0) console.log(keeperReport(results)); // what was measured before an error, too
  }
  return 0;
}

runMain("bench:keeper", main);
