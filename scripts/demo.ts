/**
 * `npm run demo -- [--seed n] [--positions n] [--json file]`
 *
 * The main job on the in-process Hardhat network, with nothing to set up: deploys Keel, seeds the AMM, opens a
 * book of isolated and cross positions on all four assets at varied leverage, and drives the demo crash (WETH −45%
 * and WBTC −35% over 24 hours with a wick at hour 10) while the real keeper runs in this process: margin calls,
 * cures by half of the called owners, flash liquidations, volatility pokes. Prints progress and a summary, and
 * exits 0 only if the §6 ledger held after every step.
 */
import { writeFileSync } from "node:fs";
import { ethers, network } from "hardhat";
import { replay, type ReplayResult, type StepRecord } from "../scenario/replay";
import { demoCrash } from "../scenario/crash";
import { progressLine, summaryTable, toJson } from "../scenario/summary";
import { int, parseFlags, uint } from "./lib/args";
import { REPLAY_EXIT_STATUS, runMain } from "./lib/main";

const DEFAULTS = { positions: 300, seed: 1n };

function parse(): { positions: number; seed: bigint; json?: string } {
  const { values } = parseFlags({ options: { positions: { type: "string" }, seed: { type: "string" }, json: { type: "string" } } });
  return {
    positions: int("--positions", values.positions, { min: 1, max: 5_000, fallback: DEFAULTS.positions }),
    seed: uint("--seed", values.seed, { fallback: DEFAULTS.seed }),
    json: values.json,
  };
}

async function main(): Promise<number> {
  const args = parse();
  const scenario = demoCrash;
  const out = process.stdout;
  out.write(`Keel demo: ${scenario.description}\n`);
  out.write(`${args.positions} positions, seed ${args.seed}, keeper in process (flash liquidations), invariant checked every step\n\n`);
  const started = Date.now();
  const onStep = (s: StepRecord): void => {
    const line = progressLine(s, scenario.steps);
    if (out.isTTY) out.write(`\r${line}\x1b[K${s.step === scenario.steps ? "\n" : ""}`);
    else if (s.step % 4 === 0 || s.liquidations > 0 || s.step === scenario.steps) out.write(`${line}\n`);
  };
  const result: ReplayResult = await replay(
    { provider: ethers.provider, hardhat: network.provider, reset: () => network.provider.send("hardhat_reset") },
    scenario,
    { positions: args.positions, seed: args.seed, margin: "dynamic", onStep },
  );
  out.write(`\n${summaryTable(result)}\n`);
  out.write(`(${((Date.now() - started) / 1000).toFixed(1)} s; kUSD figures are exact, from chain events and state)\n`);
  if (args.json) {
    writeFileSync(args.json, toJson(result));
    out.write(`wrote ${args.json}\n`);
  }
  if (!result.summary.invariantHeld) {
    for (const v of result.summary.violations) process.stderr.write(`invariant violated: ${v}\n`);
    return 1;
  }
  return 0;
}

runMain("demo", main, { statuses: REPLAY_EXIT_STATUS, stack: false });
