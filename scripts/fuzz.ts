/**
 * `npm run fuzz` (the CI campaign, ≥ 200,000 invariant calls, fixed seed) and `npm run fuzz:long` (≥ 2,000,000
 * calls, fresh seed): Foundry invariant and fuzz tests of test/foundry. Extra arguments go to `forge test` (for
 * example `-- --match-test invariant_ledger`). Prints a summary and, last, `fuzz: N passed, N failed`; exits 1 on
 * any failure. See test/foundry/README.md for replaying a failure.
 */
import { CAMPAIGNS, runCampaign } from "./lib/fuzz";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const long = args[0] === "--long";
  const outcome = await runCampaign(long ? CAMPAIGNS.long : CAMPAIGNS.ci, long ? args.slice(1) : args);
  for (const line of outcome.lines) console.log(line);
  console.log(`fuzz: ${outcome.passed} passed, ${outcome.failed} failed`);
  if (outcome.failed !== 0 || outcome.passed === 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
