/**
 * `npm run bench:gas`: gas used per user operation on the in-process network, for an isolated WETH position and
 * a 3-asset cross position (WETH + WBTC + USDC; WETH + WBTC for liquidations). Each figure is the receipt's gasUsed
 * of one transaction, taken in steady state (the user already holds kUSD and has approved the tokens once), with
 * every asset's volatility seeded: a keeper pokes the VolatilityOracle every hour, so margin reads the dynamic σ.
 * Block times are pinned, so every run prints the same figures; `npm run snapshot` records them.
 */
import { gasRows, gasTable } from "./lib/bench/gas";
import { runMain } from "./lib/main";

runMain("bench:gas", async () => {
  console.log(gasTable(await gasRows()));
});
