/**
 * `npm run bench:gas`: gas used per user operation on the in-process network, for an isolated WETH position and
 * a 3-asset cross position (WETH + WBTC + USDC; WETH + WBTC for liquidations). Each figure is the receipt's gasUsed
 * of one transaction, taken in steady state (the user already holds kUSD and has approved the tokens once), with
 * every asset's volatility seeded: a keeper pokes the VolatilityOracle every hour, so margin reads the dynamic σ.
 * Then batch flash liquidations (`FlashLiquidator.liquidateBatch`) of 1, 10 and 50 isolated WETH positions and the gas
 * each extra position adds, against the single flash liquidation (target ≤ 60%), printed as one line under the table.
 * Block times are pinned, so every run prints the same figures; `npm run snapshot` records them.
 *
 * `--profile` adds, for every operation with a target, where its gas goes (scripts/lib/bench/gasProfile.ts).
 */
import { batchSummary, gasRows, gasTable } from "./lib/bench/gas";
import { profileRecord, profileTransaction } from "./lib/bench/gasProfile";
import { parseFlags } from "./lib/args";
import { runMain } from "./lib/main";
import { markdownTable } from "../src/units/table";

runMain("bench:gas", async () => {
  const { values } = parseFlags({ options: { profile: { type: "boolean", default: false } } });
  const rows = await gasRows();
  console.log(gasTable(rows));
  console.log(`\n${batchSummary(rows)}`);
  if (!values.profile) return 0;
  const profiles: Record<string, string>[] = [];
  for (const row of rows.filter((r) => r.target)) {
    for (const variant of ["isolated", "cross"] as const) {
      const hash = row.hashes?.[variant];
      if (hash) profiles.push(profileRecord(`${row.operation} (${variant})`, await profileTransaction(hash)));
    }
  }
  console.log("\nWhere the gas goes (EIP-2929 costs; storage writes include their cold surcharge):\n");
  console.log(markdownTable(profiles));
  return 0;
});
