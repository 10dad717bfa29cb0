/**
 * The Foundry campaign behind `npm run fuzz` and `npm run fuzz:long`: runs `forge test` over test/foundry with the
 * campaign's size, reads forge's JSON report, and summarizes it: every test's outcome, invariant calls, reverts by
 * handler selector, wall time, and how to replay a failure. FOUNDRY_INVARIANT_RUNS, FOUNDRY_INVARIANT_DEPTH and
 * FOUNDRY_FUZZ_SEED, when set, override the campaign's values (forge reads them itself).
 */
import { runCaptured } from "./captured";

export interface Campaign {
  name: string;
  /** Invariant runs per invariant function, and calls per run. */
  runs: number;
  depth: number;
  /** Stateless fuzz runs per test. */
  fuzzRuns: number;
  /** Hex seed; undefined lets forge draw one (printed, so the campaign replays). */
  seed?: string;
}

export const CAMPAIGNS: Record<"ci" | "long", Campaign> = {
  // 22 invariant functions × 45 runs × 250 calls = 247,500 calls: about 5 minutes on 2 cores.
  ci: { name: "fuzz", runs: 45, depth: 250, fuzzRuns: 2_000, seed: "0x4b45454c" },
  // 22 × 445 × 250 = 2,447,500 calls, with a fresh seed each time.
  long: { name: "fuzz:long", runs: 445, depth: 250, fuzzRuns: 20_000 },
};

interface Metric {
  calls: number;
  reverts: number;
  discards: number;
}

interface TestResult {
  status: "Success" | "Failure" | "Skipped";
  reason: string | null;
  counterexample?: unknown;
  kind: {
    Invariant?: { runs: number; calls: number; reverts: number; metrics?: Record<string, Metric> };
    Fuzz?: { runs: number };
    Unit?: unknown;
  };
}

type Report = Record<string, { test_results: Record<string, TestResult> }>;

export interface Outcome {
  passed: number;
  failed: number;
  skipped: string[];
  calls: number;
  seconds: number;
  lines: string[];
}

/** Runs the campaign; resolves to its summary (never throws on test failures, only when forge cannot run). */
export async function runCampaign(campaign: Campaign, extraArgs: readonly string[] = []): Promise<Outcome> {
  const env = { ...process.env };
  env.FOUNDRY_INVARIANT_RUNS ??= String(campaign.runs);
  env.FOUNDRY_INVARIANT_DEPTH ??= String(campaign.depth);
  env.FOUNDRY_FUZZ_RUNS ??= String(campaign.fuzzRuns);
  env.FOUNDRY_FUZZ_SEED ??= campaign.seed ?? `0x${BigInt(Date.now()).toString(16)}`;
  env.KEEL_KNOWN_LIVENESS_BUGS ??= "0";
  const started = Date.now();
  const { stdout, stderr, code } = await runCaptured("npx", ["forge", "test", "--json", ...extraArgs], env);
  const seconds = (Date.now() - started) / 1000;
  const json = stdout.slice(stdout.indexOf("{"));
  let report: Report;
  try {
    report = JSON.parse(json) as Report;
  } catch (error) {
    throw new Error(`forge test exited ${code} without a JSON report:\n${stderr}\n${stdout}`, { cause: error });
  }
  return summarize(report, campaign, env, seconds);
}

function summarize(report: Report, campaign: Campaign, env: NodeJS.ProcessEnv, seconds: number): Outcome {
  const lines: string[] = [];
  const out: Outcome = { passed: 0, failed: 0, skipped: [], calls: 0, seconds, lines };
  const bySelector = new Map<string, Metric>();
  const failures: string[] = [];
  lines.push(
    `${campaign.name}: invariant runs ${env.FOUNDRY_INVARIANT_RUNS} × depth ${env.FOUNDRY_INVARIANT_DEPTH}, fuzz runs ` +
      `${env.FOUNDRY_FUZZ_RUNS}, seed ${env.FOUNDRY_FUZZ_SEED}, KEEL_KNOWN_LIVENESS_BUGS=${env.KEEL_KNOWN_LIVENESS_BUGS}`,
  );
  lines.push("", "| test | kind | runs | calls | result |", "| --- | --- | ---: | ---: | --- |");
  for (const [file, suite] of Object.entries(report).sort()) {
    const contract = file.split(":").pop() ?? file;
    for (const [test, r] of Object.entries(suite.test_results).sort()) {
      const inv = r.kind.Invariant;
      const kind = inv ? "invariant" : r.kind.Fuzz ? "fuzz" : "unit";
      const runs = inv?.runs ?? r.kind.Fuzz?.runs ?? 1;
      const calls = inv?.calls ?? 0;
      out.calls += calls;
      for (const [selector, m] of Object.entries(inv?.metrics ?? {})) {
        const name = selector.split(".").pop() ?? selector;
        const sum = bySelector.get(name) ?? { calls: 0, reverts: 0, discards: 0 };
        bySelector.set(name, { calls: sum.calls + m.calls, reverts: sum.reverts + m.reverts, discards: sum.discards + m.discards });
      }
      const result = r.status === "Success" ? "pass" : r.status === "Skipped" ? `skipped: ${r.reason ?? ""}` : "FAIL";
      if (r.status === "Success") out.passed++;
      else if (r.status === "Skipped") out.skipped.push(`${contract}.${test}`);
      else {
        out.failed++;
        failures.push(`${contract}.${test}: ${r.reason ?? "failed"}\n  counterexample: ${JSON.stringify(r.counterexample ?? null)}`);
      }
      lines.push(`| ${contract}.${test} | ${kind} | ${runs} | ${calls} | ${result} |`);
    }
  }
  lines.push("", "| handler action | calls | reverts | reverted |", "| --- | ---: | ---: | ---: |");
  for (const [name, m] of [...bySelector.entries()].sort((a, b) => b[1].calls - a[1].calls)) {
    const share = m.calls === 0 ? 0 : (100 * m.reverts) / m.calls;
    lines.push(`| ${name} | ${m.calls} | ${m.reverts} | ${share.toFixed(1)}% |`);
  }
  lines.push(
    "",
    `invariant calls: ${out.calls.toLocaleString("en-US")}; time: ${seconds.toFixed(0)} s ` +
      `(${Math.round(out.calls / Math.max(seconds, 1)).toLocaleString("en-US")} calls/s)`,
  );
  if (out.skipped.length !== 0) {
    lines.push(`known failures skipped (KEEL_KNOWN_LIVENESS_BUGS=1, issue 15): ${out.skipped.join(", ")}`);
  }
  for (const f of failures) lines.push("", `FAILED ${f}`);
  if (failures.length !== 0) {
    lines.push(
      "",
      `replay: FOUNDRY_FUZZ_SEED=${env.FOUNDRY_FUZZ_SEED} FOUNDRY_INVARIANT_RUNS=${env.FOUNDRY_INVARIANT_RUNS} ` +
        `FOUNDRY_INVARIANT_DEPTH=${env.FOUNDRY_INVARIANT_DEPTH} npx forge test --match-test <test> -vvv`,
    );
  }
  return out;
}
