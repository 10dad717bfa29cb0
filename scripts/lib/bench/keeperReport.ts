/** The keeper benchmark's report: the targets table, then where the time went, as markdown tables. */
import { cpus, loadavg } from "node:os";
import { markdownTable } from "../../../src/units/table";
import type { Run } from "./cpu";
import { fmtInt, fmtMs, fmtOpt } from "./format";
import type { Engine } from "../../../dev/localNode";
import { batchTargetBlocks, type SizeResult, TARGET } from "./keeper";

/** A measure of one book on one engine: its figure, and whether it meets the target (undefined: no target there). */
interface Cell {
  value: string;
  ok?: boolean;
}

/** One row of the targets table: a measure, its target, and how each engine computes its cell from a result. */
interface Measure {
  name: string;
  target: string;
  cell(r: SizeResult): Cell | undefined;
}

/** The measures of a book of `positions`, given the reaction sizes measured on it. */
function measures(positions: number, reactionSizes: readonly number[]): Measure[] {
  const at = positions === TARGET.at;
  const applies = (ok: boolean): boolean | undefined => (at ? ok : undefined);
  const list: Measure[] = [
    {
      name: "index from scratch",
      target: at ? `< ${fmtMs(TARGET.indexMs)}` : "",
      cell: (r) => ({
        value: `${fmtMs(r.index.ms)} (${fmtInt(r.index.indexed)} positions, ${r.index.logQueries} eth_getLogs, ${r.index.rpcCalls} RPC calls)`,
        ok: applies(r.index.ms < TARGET.indexMs),
      }),
    },
    {
      name: "full health sweep (median of 3)",
      target: at ? `< ${fmtMs(TARGET.sweepMs)}` : "",
      cell: (r) => ({ value: `${fmtMs(r.sweep.ms)} (${fmtInt(r.sweep.swept)} with debt, ${r.sweep.ranges} ranges)`, ok: applies(r.sweep.ms < TARGET.sweepMs) }),
    },
    {
      name: "RPC calls per sweep",
      target: at ? `≤ ${TARGET.sweepCalls}` : "",
      cell: (r) => ({ value: `${r.sweep.rpcCalls} (${r.sweep.healthScans} healthScan)`, ok: applies(r.sweep.rpcCalls <= TARGET.sweepCalls) }),
    },
    {
      name: "local evaluation (Lens.market + src/math, median of 3)",
      target: at ? `< ${fmtMs(TARGET.sweepMs)}, ≤ ${TARGET.sweepCalls} calls` : "",
      cell: (r) => ({
        value: `${fmtMs(r.local.ms)}, ${r.local.rpcCalls} RPC call${r.local.rpcCalls === 1 ? "" : "s"} (${r.local.mismatches} differences from healthScan)`,
        ok: applies(r.local.ms < TARGET.sweepMs && r.local.rpcCalls <= TARGET.sweepCalls && r.local.mismatches === 0),
      }),
    },
  ];
  for (const k of reactionSizes) list.push(reactionMeasure(k));
  return list;
}

/** Update → last liquidation for `k` positions liquidatable at once, with the target that applies to `k`. */
function reactionMeasure(k: number): Measure {
  const is100 = k === 100;
  const isBatch = k === TARGET.batchLiquidatable;
  const target = is100
    ? `≤ ${TARGET.reaction100Blocks} blocks, ≤ ${fmtMs(TARGET.reaction100Ms)} (on ${TARGET.reaction100Engine})`
    : isBatch
      ? `≤ ceil(gas / ${fmtInt(Number(TARGET.txGasCap))}) + ${TARGET.batchExtraBlocks} blocks`
      : "";
  return {
    name: `reaction: ${fmtInt(k)} liquidatable at once → last liquidation`,
    target,
    cell: (r) => {
      const x = r.reactions.find((y) => y.liquidatable === k);
      if (!x) return undefined;
      if (x.ms === undefined || x.blocks === undefined) return { value: `timed out: ${fmtInt(x.liquidated)} of ${fmtInt(x.liquidatable)} liquidated`, ok: is100 || isBatch ? false : undefined };
      const gas = `${fmtInt(x.txs)} txs, ${(Number(x.gas) / 1e6).toFixed(1)}M gas`;
      const value = `${fmtMs(x.ms)}, ${fmtInt(x.blocks)} blocks (${gas})`;
      if (is100) {
        return { value, ok: r.engine === TARGET.reaction100Engine ? x.blocks <= TARGET.reaction100Blocks && x.ms <= TARGET.reaction100Ms : undefined };
      }
      if (isBatch) {
        const allowed = batchTargetBlocks(x.gas);
        return { value: `${value}: target ≤ ${allowed} blocks`, ok: x.blocks <= allowed };
      }
      return { value };
    },
  };
}

const fmtCell = (c: Cell | undefined): string => (c === undefined ? "" : c.ok === undefined ? c.value : `${c.value} — ${c.ok ? "ok" : "NO"}`);

/** A book size that could not be measured on an engine (its node died, say), and why. */
export interface BenchFailure {
  engine: Engine;
  positions: number;
  error: string;
}

/** The report `npm run bench:keeper` prints, for the sizes and engines measured (one column per engine). */
export function keeperReport(results: readonly SizeResult[], engines: readonly Engine[], failures: readonly BenchFailure[] = []): string {
  const out: string[] = [];
  const table = (rows: readonly Record<string, string>[]): void => {
    if (rows.length > 0) out.push(markdownTable(rows));
  };
  const rows: Record<string, string>[] = [];
  const sizes = [...new Set([...results, ...failures].map((r) => r.positions))];
  for (const positions of sizes) {
    const here = results.filter((r) => r.positions === positions);
    const reactionSizes = [...new Set(here.flatMap((r) => r.reactions.map((x) => x.liquidatable)))];
    for (const m of measures(positions, reactionSizes)) {
      const row: Record<string, string> = { positions: fmtInt(positions), measure: m.name, target: m.target };
      for (const engine of engines) {
        const r = here.find((x) => x.engine === engine);
        const failed = failures.some((f) => f.engine === engine && f.positions === positions);
        row[engine] = r ? fmtCell(m.cell(r)) : failed ? "failed (below)" : "";
      }
      rows.push(row);
    }
  }
  const load = loadavg().map((x) => x.toFixed(1)).join(" ");
  out.push(`\nKeeper benchmark: ${engines.join(" and ")} on 127.0.0.1 (automine, default block gas limit), ${cpus().length} CPUs, load average now ${load}`);
  out.push("(sweep and index targets are stated for 10,000 positions; the 100-position reaction target for anvil, on every book; the batch target for 1,000 of 10,000)\n");
  table(rows);
  for (const f of failures) out.push(`\n${f.engine}, ${fmtInt(f.positions)} positions: not measured: ${f.error}`);

  out.push("\nSetup (not measured against targets)\n");
  table(
    results.map((r) => ({
      engine: r.engine,
      positions: fmtInt(r.positions),
      "deploy + seed AMM": fmtMs(r.setup.deployMs),
      "open book (hardhat: incl. 12 s idle per 1,500 txs)": `${fmtMs(r.setup.bookMs)} (${r.setup.bookBlocks} blocks, ${Math.round((r.positions * 1000) / r.setup.bookMs)}/s)`,
      "reaction setups (1; 100; 1,000)": r.reactions.map((x) => fmtMs(x.setupMs)).join("; "),
    })),
  );

  out.push("\nEvery timed run: wall time [node CPU (of which kernel) / keeper-side CPU (of which kernel)]\n");
  table(
    results.flatMap((r) => [
      { engine: r.engine, positions: fmtInt(r.positions), measure: "index from scratch", runs: r.index.runs.map(fmtRun).join(", ") },
      { engine: r.engine, positions: fmtInt(r.positions), measure: "full health sweep", runs: r.sweep.runs.map(fmtRun).join(", ") },
      { engine: r.engine, positions: fmtInt(r.positions), measure: "local evaluation", runs: r.local.runs.map(fmtRun).join(", ") },
    ]),
  );

  out.push("\nWhere indexing time goes (node: the same logs in one raw eth_getLogs; the rest is ethers and parsing here)\n");
  table(
    results.map((r) => ({
      engine: r.engine,
      positions: fmtInt(r.positions),
      "index (median)": fmtMs(r.index.ms),
      logs: fmtInt(r.index.logs.count),
      "node: eth_getLogs": `${fmtMs(r.index.logs.ms)} (${(r.index.logs.bytes / 2 ** 20).toFixed(1)} MiB)`,
      "this process": fmtMs(r.index.ms - r.index.logs.ms),
    })),
  );

  out.push("\nWhere a sweep's time goes (one healthScan over the fullest range, at the same block)\n");
  table(
    results.map((r) => {
      const p = r.profile;
      const n = p.rawCallNode;
      return {
        engine: r.engine,
      positions: fmtInt(r.positions),
        range: `${p.rangePositions} positions / ${p.rangeIds} ids`,
        gas: `${(Number(p.gas) / 1e6).toFixed(2)}M`,
        "node: healthScan": fmtMs(p.rawCallMs),
        "node CPU: user (EVM) + kernel, page faults": n ? `${fmtMs(n.userMs)} (${Math.round(Number(p.gas) / 1e3 / Math.max(n.userMs, 1))}M gas/s) + ${fmtMs(n.sysMs)}, ${fmtInt(Math.round(n.faults))}` : "?",
        "node: trivial call": fmtMs(p.trivialCallMs),
        "keeper path (Rpc + decode)": fmtMs(p.keeperCallMs),
        "decode": `${fmtMs(p.decodeMs)} (${Math.round(p.responseBytes / 1024)} KiB)`,
        "sweep: 1 / 4 in flight": `${fmtMs(p.sequentialSweepMs)} / ${fmtMs(r.sweep.ms)}`,
      };
    }),
  );

  out.push("\nReaction passes (the keeper pass that sent the liquidations; times from sending the update)\n");
  table(
    results.flatMap((r) =>
      r.reactions.map((x) => ({
        engine: r.engine,
      positions: fmtInt(r.positions),
        liquidatable: String(x.liquidatable),
        "pass started": x.pass ? fmtMs(x.pass.startMs) : "",
        "its sweep": x.pass ? fmtMs(x.pass.sweepMs) : "",
        "rest of pass (simulate, send, receipts)": x.pass ? fmtMs(x.pass.durationMs - x.pass.sweepMs) : "",
        "RPC calls": x.pass ? String(x.pass.rpcCalls) : "",
        "liquidated in that pass": x.pass ? String(x.pass.liquidations) : "",
        "CPU node (kernel) / keeper": `${fmtOpt(x.nodeCpuMs)} (${fmtOpt(x.nodeSysMs)}) / ${fmtOpt(x.selfCpuMs)}`,
        "other liquidations / margin calls": `${x.otherLiquidations} / ${x.marginCalls}`,
      })),
    ),
  );

  out.push("\nThe keeper's RPC calls from the update to the last liquidation (count, first start → last end)\n");
  table(
    results.flatMap((r) =>
      r.reactions.flatMap((x) =>
        x.calls.map((c) => ({
          engine: r.engine,
      positions: fmtInt(r.positions),
          liquidatable: String(x.liquidatable),
          method: c.method,
          calls: String(c.count),
          "from → to (after the update)": `${fmtMs(c.firstMs)} → ${fmtMs(c.lastMs)}`,
        })),
      ),
    ),
  );
  return out.join("\n");
}

const fmtRun = (r: Run): string => `${fmtMs(r.ms)} [${fmtOpt(r.nodeCpuMs)} (${fmtOpt(r.nodeSysMs)}) / ${fmtMs(r.selfCpuMs)} (${fmtMs(r.selfSysMs)})]`;
