/**
 * `npm run bench:keeper [-- --sizes 1000,10000] [--engine hardhat|anvil|both]`: the keeper against a real local
 * JSON-RPC node on 127.0.0.1 (`hardhat node`, anvil from the npm package, or both one after the other: the default,
 * printed side by side), started and stopped here, for books of 1,000 and 10,000 positions, each on a fresh node and
 * deployment. Measured with the keeper's own parts:
 *
 * - index from scratch: a new PositionIndex without checkpoint, `sync(head)` (and its eth_getLogs queries);
 * - one full health sweep: HealthSweeper.sweep over every indexed position at head (median of 3), its wall time and
 *   its RPC calls; and, for comparison, the same health from one Lens.market() read valued here with src/math
 *   (src/keeper/evaluate.ts), checked equal to the sweep's;
 * - reaction: the keeper as it is in src/ running as in production (startKeeper, long-running, 100 ms poll; upkeep
 *   off) while one WETH feed update makes exactly 1, then 100 (and on a book of 10,000, 1,000) positions
 *   liquidatable at once (HF under criticalHF: no grace period), automine on, the node's default block gas limit;
 *   from sending the update to the last of their Liquidated events, in milliseconds and blocks, and the gas of the
 *   transactions that liquidated them (the batch target: ≤ ceil(gas / 16,777,216) + 2 blocks).
 *
 * Prints a table with the targets of the issue, each engine in its own column, the setup times, and where the time
 * goes (CPU of the node and of this process, a healthScan profile, the keeper's RPC calls during each reaction).
 * Opening 10,000 positions takes a few minutes and, on Hardhat, ~10 GB of node memory at peak. Exits non-zero only
 * on errors (after the report of what was measured; a failed engine leaves its column empty), never on a missed
 * target.
 */
import { ENGINES, type Engine, type Node } from "../dev/localNode";
import { benchSize, progress, type SizeResult } from "./lib/bench/keeper";
import { type BenchFailure, keeperReport } from "./lib/bench/keeperReport";
import { oneOf, parseFlags, UsageError } from "./lib/args";
import { runMain } from "./lib/main";

const ENGINE_CHOICES = [...ENGINES, "both"] as const;

async function main(): Promise<number> {
  const { values } = parseFlags({
    options: { sizes: { type: "string", default: "1000,10000" }, engine: { type: "string", default: "both" } },
  });
  const sizes = values.sizes.split(",").map((s) => {
    const n = Number(s.trim().replace(/_/g, ""));
    if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new UsageError(`--sizes: "${s}" is not a whole number of positions (1 … 100,000)`);
    return n;
  });
  const choice = oneOf("--engine", values.engine, ENGINE_CHOICES);
  const engines: readonly Engine[] = choice === "both" ? ENGINES : [choice];
  let current: Node | undefined;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping the node`);
      void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  // A node that dies (Hardhat's, out of memory at 10,000 positions on a small machine) fails its own column only.
  const results: SizeResult[] = [];
  const failures: BenchFailure[] = [];
  for (const positions of sizes) {
    for (const engine of engines) {
      try {
        results.push(await benchSize(positions, engine, (node) => (current = node)));
      } catch (e) {
        failures.push({ engine, positions, error: (e as Error).message });
        progress(`${engine}, ${positions} positions failed: ${(e as Error).message}`);
      }
    }
  }
  console.log(keeperReport(results, engines, failures));
  return failures.length === 0 ? 0 : 1;
}

runMain("bench:keeper", main);
