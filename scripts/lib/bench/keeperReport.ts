/** The keeper benchmark's report: the targets table, then where the time went, as markdown tables. */
import { cpus, loadavg } from "node:os";
import { markdownTable } from "../../../src/units/table";
import type { Run } from "./cpu";
import { fmtInt, fmtMs, fmtOpt } from "./format";
import { type SizeResult, TARGET } from "./keeper";

/** The report `npm run bench:keeper` prints, for the sizes measured. */
export function keeperReport(results: readonly SizeResult[]): string {
  const out: string[] = [];
  const table = (rows: readonly Record<string, string>[]): void => {
    if (rows.length > 0) out.push(markdownTable(rows));
  };
  const rows: Record<string, string>[] = [];
  const row = (positions: number, measure: string, value: string, target = "", ok = ""): void => {
    rows.push({ positions: fmtInt(positions), measure, value, target, ok });
  };
  const check = (applies: boolean, pass: boolean): string => (applies ? (pass ? "ok" : "NO") : "");
  for (const r of results) {
    const at = r.positions === TARGET.at;
    row(r.positions, "index from scratch", `${fmtMs(r.index.ms)} (${fmtInt(r.index.indexed)} positions, ${r.index.logQueries} eth_getLogs, ${r.index.rpcCalls} RPC calls)`, at ? `< ${fmtMs(TARGET.indexMs)}` : "", check(at, r.index.ms < TARGET.indexMs));
    row(r.positions, "full health sweep (median of 3)", `${fmtMs(r.sweep.ms)} (${fmtInt(r.sweep.swept)} with debt, ${r.sweep.ranges} ranges)`, at ? `< ${fmtMs(TARGET.sweepMs)}` : "", check(at, r.sweep.ms < TARGET.sweepMs));
    row(r.positions, "RPC calls per sweep", `${r.sweep.rpcCalls} (${r.sweep.healthScans} healthScan)`, at ? `≤ ${TARGET.sweepCalls}` : "", check(at, r.sweep.rpcCalls <= TARGET.sweepCalls));
    const localValue = `${fmtMs(r.local.ms)}, ${r.local.rpcCalls} RPC call${r.local.rpcCalls === 1 ? "" : "s"} (${r.local.mismatches} differences from healthScan)`;
    row(r.positions, "local evaluation (Lens.market + src/math, median of 3)", localValue, at ? `< ${fmtMs(TARGET.sweepMs)}, ≤ ${TARGET.sweepCalls} calls` : "", check(at, r.local.ms < TARGET.sweepMs && r.local.rpcCalls <= TARGET.sweepCalls && r.local.mismatches === 0));
    for (const x of r.reactions) {
      const is100 = x.liquidatable === 100;
      const value = x.ms === undefined ? `timed out: ${x.liquidated} of ${x.liquidatable} liquidated` : `${fmtMs(x.ms)}, ${x.blocks} blocks`;
      row(r.positions, `reaction: ${x.liquidatable} liquidatable → last liquidation`, value, is100 ? `< ${fmtMs(TARGET.reaction100Ms)}` : "", check(is100, x.ms !== undefined && x.ms < TARGET.reaction100Ms));
    }
  }
  const load = loadavg().map((x) => x.toFixed(1)).join(" ");
  out.push(`\nKeeper benchmark: hardhat node on 127.0.0.1, ${cpus().length} CPUs, load average now ${load}`);
  out.push("(sweep and index targets are stated for 10,000 positions; the reaction target for every book)\n");
  table(rows);

  out.push("\nSetup (not measured against targets)\n");
  table(
    results.map((r) => ({
      positions: fmtInt(r.positions),
      "deploy + seed AMM": fmtMs(r.setup.deployMs),
      "open book (incl. 12 s idle per 1,500 txs)": `${fmtMs(r.setup.bookMs)} (${r.setup.bookBlocks} blocks, ${Math.round((r.positions * 1000) / r.setup.bookMs)}/s)`,
      "reaction setups (1; 100)": r.reactions.map((x) => fmtMs(x.setupMs)).join("; "),
    })),
  );

  out.push("\nEvery timed run: wall time [node CPU (of which kernel) / keeper-side CPU (of which kernel)]\n");
  table(
    results.flatMap((r) => [
      { positions: fmtInt(r.positions), measure: "index from scratch", runs: r.index.runs.map(fmtRun).join(", ") },
      { positions: fmtInt(r.positions), measure: "full health sweep", runs: r.sweep.runs.map(fmtRun).join(", ") },
      { positions: fmtInt(r.positions), measure: "local evaluation", runs: r.local.runs.map(fmtRun).join(", ") },
    ]),
  );

  out.push("\nWhere indexing time goes (node: the same logs in one raw eth_getLogs; the rest is ethers and parsing here)\n");
  table(
    results.map((r) => ({
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
        positions: fmtInt(r.positions),
        range: `${p.rangePositions} positions / ${p.rangeIds} ids`,
        gas: `${(Number(p.gas) / 1e6).toFixed(2)}M`,
        "node: healthScan": fmtMs(p.rawCallMs),
        "node CPU: user (EVM) + kernel, page faults": n ? `${fmtMs(n.userMs)} (${Math.round(Number(p.gas) / 1e3 / Math.max(n.userMs, 1))}M gas/s) + ${fmtMs(n.sysMs)}, ${fmtInt(Math.round(n.faults))}` : "?",
        "node: trivial call": fmtMs(p.trivialCallMs),
        "keeper path (Rpc + ethers)": fmtMs(p.ethersCallMs),
        "decode": `${fmtMs(p.decodeMs)} (${Math.round(p.responseBytes / 1024)} KiB)`,
        "sweep: 1 / 4 in flight": `${fmtMs(p.sequentialSweepMs)} / ${fmtMs(r.sweep.ms)}`,
      };
    }),
  );

  out.push("\nReaction passes (the keeper pass that sent the liquidations; times from the update's receipt)\n");
  table(
    results.flatMap((r) =>
      r.reactions.map((x) => ({
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
