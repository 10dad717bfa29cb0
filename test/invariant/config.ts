/**
 * Campaign size and seeds of the invariant suite, from the environment:
 *   INVARIANT_RUNS   sequences to run (default 4)
 *   INVARIANT_STEPS  actions per sequence (default 80)
 *   INVARIANT_SEED   seed of the first sequence (default fixed, so CI is reproducible); sequence i uses seed + i
 *   INVARIANT_EXIT_EVERY  check "an owner can always exit" every this many steps (default 8) and at the end
 *   INVARIANT_SHRINK=1    on failure, also search for a shorter failing sequence by dropping steps
 *   INVARIANT_LOG=1       print every sequence's action log, not only a failing one's
 */
export interface CampaignConfig {
  runs: number;
  steps: number;
  seed: bigint;
  exitEvery: number;
  shrink: boolean;
  printLog: boolean;
}

function intFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

export function campaignConfig(): CampaignConfig {
  const seedRaw = process.env.INVARIANT_SEED;
  return {
    runs: intFromEnv("INVARIANT_RUNS", 4, 1),
    steps: intFromEnv("INVARIANT_STEPS", 80, 1),
    seed: seedRaw ? BigInt(seedRaw) : 0x6b65656cn,
    exitEvery: intFromEnv("INVARIANT_EXIT_EVERY", 8, 1),
    shrink: process.env.INVARIANT_SHRINK === "1",
    printLog: process.env.INVARIANT_LOG === "1",
  };
}
