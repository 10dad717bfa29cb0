/**
 * Stateful invariant fuzzing (docs/spec.md §3–§6): seeded random sequences of user, keeper, market and governance
 * actions over the real deployment, with every invariant checked after every step (see checks.ts, exec.ts and
 * actions.ts for the list). Sizes and seeds come from the environment (config.ts); a failure prints the seed, the
 * step and the action log up to it, and `INVARIANT_SEED=<seed> INVARIANT_RUNS=1` replays it.
 */
import { installDeterministicClock } from "./clock";
import { campaignConfig } from "./config";
import { Stats } from "./model";
import { runSequence, SequenceFailure, shrink } from "./sequence";

describe("Invariants: stateful random action sequences", function () {
  this.timeout(0);
  const cfg = campaignConfig();

  it(`test_campaign_keepsEveryInvariant: ${cfg.runs} sequence(s) × ${cfg.steps} steps from seed ${cfg.seed} keep every invariant`, async () => {
    const stats = new Stats();
    const started = Date.now();
    const uninstallClock = installDeterministicClock();
    try {
      for (let i = 0; i < cfg.runs; i++) {
        const log = await runSequence(cfg.seed + BigInt(i), cfg, stats);
        if (cfg.printLog) console.log(`sequence seed ${cfg.seed + BigInt(i)}:\n${log.join("\n")}`);
        if (cfg.runs > 4) console.log(`  sequence ${i + 1}/${cfg.runs} (seed ${cfg.seed + BigInt(i)}) passed, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    } catch (error) {
      if (!(error instanceof SequenceFailure)) throw error;
      console.log(`\nINVARIANT FAILURE — seed ${error.seed}, step ${error.step}\n${error.message}\nactions up to the failure:`);
      console.log(error.log.join("\n"));
      if (cfg.shrink) {
        const { skip, failure } = await shrink(error, cfg);
        console.log(`\nshrunk (steps skipped: ${[...skip].sort((a, b) => a - b).join(",") || "none"}):\n${failure.log.join("\n")}`);
      }
      console.log(`\nreplay: INVARIANT_SEED=${error.seed} INVARIANT_RUNS=1 INVARIANT_STEPS=${error.step + 1} npx hardhat test test/invariant/Invariants.test.ts`);
      throw error;
    } finally {
      uninstallClock();
      console.log(stats.report(Date.now() - started));
    }
  });
});
