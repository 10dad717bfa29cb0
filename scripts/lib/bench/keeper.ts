/**
 * The keeper benchmark (`npm run bench:keeper`, scripts/bench-keeper.ts has what it measures): one book size on a
 * fresh local node (hardhat or anvil) and deployment, measured with the keeper's own parts.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import { id as topicOf, type Provider, type TransactionReceipt } from "ethers";
import type { Keel } from "../../../deploy";
import { connectKeel, readManifest } from "../../../src/client/manifest";
import { loadKeeperConfig } from "../../../src/keeper/config";
import { evaluate, toSnapshot } from "../../../src/keeper/evaluate";
import { DEFAULT_KEEPER } from "../../../src/keeper/keeper";
import { createLogger } from "../../../src/keeper/log";
import { startKeeper } from "../../../src/keeper/main";
import { PositionIndex } from "../../../src/keeper/positionIndex";
import { Rpc, sleep } from "../../../src/keeper/rpc";
import { decodeHealthScan, type Health, HealthSweeper, planRanges } from "../../../src/keeper/sweep";
import type { Lens } from "../../../typechain-types";
import { devWallet } from "../../../dev/accounts";
import { refreshFeeds } from "../../../dev/localMarket";
import { openLiquidatableBook } from "../../../dev/liquidatableBook";
import { deployOnNode, type Engine, type Node, startLocalNode } from "../../../dev/localNode";
import { type OpenOptions, openSamplePositions } from "../../../dev/samplePositions";
import { type GroupStat, groupStat, measure, median, medianRun, type Run, statDelta } from "./cpu";
import { fmtInt, fmtMs } from "./format";
import { nodeIsGone, rawLogs, type RawLogs, rawRpc } from "./rawRpc";

const started = performance.now();
/** A progress line on stderr, with the seconds since the benchmark started. */
export const progress = (msg: string): void => {
  process.stderr.write(`[bench:keeper ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
};

// ------------------------------------------------------------------ targets (the issue's, for a local node)

export const TARGET = {
  /** Positions the sweep and index targets are stated for. */
  at: 10_000,
  sweepMs: 2_000,
  sweepCalls: 25,
  indexMs: 30_000,
  /** 100 positions liquidatable at once: the last liquidated within this many blocks and ms of the update (on anvil). */
  reaction100Blocks: 2,
  reaction100Ms: 2_000,
  /** The engine the reaction100 targets are stated for (Hardhat's figures are reported beside them). */
  reaction100Engine: "anvil" as Engine,
  /** The book and the positions liquidatable at once for the batch target: ≤ ceil(gas / txGasCap) + 2 blocks. */
  batchAt: 10_000,
  batchLiquidatable: 1_000,
  /** The most gas one transaction may use (EIP-7825): the batches a block can hold. */
  txGasCap: 16_777_216n,
  batchExtraBlocks: 2,
};

/** Blocks the batch target allows for liquidations that used `gas` in all: ceil(gas / txGasCap) + 2. */
export const batchTargetBlocks = (gas: bigint): number =>
  Number((gas + TARGET.txGasCap - 1n) / TARGET.txGasCap) + TARGET.batchExtraBlocks;

const SWEEP_RUNS = 3;
/** Positions one update makes liquidatable, measured on every book; and on a book of TARGET.batchAt or more. */
const REACTION_SIZES = [1, 100];
const reactionSizes = (positions: number): number[] =>
  positions >= TARGET.batchAt ? [...REACTION_SIZES, TARGET.batchLiquidatable] : REACTION_SIZES;
const REACTION_TIMEOUT_MS = 900_000;

// ------------------------------------------------------------------ results

export interface SizeResult {
  engine: Engine;
  positions: number;
  setup: { deployMs: number; bookMs: number; bookBlocks: number };
  index: { ms: number; runs: Run[]; logQueries: number; rpcCalls: number; indexed: number; logs: RawLogs };
  sweep: { ms: number; runs: Run[]; rpcCalls: number; healthScans: number; swept: number; ranges: number };
  /** The keeper's local evaluation: one Lens.market() call, src/math over every indexed position. */
  local: { ms: number; runs: Run[]; rpcCalls: number; mismatches: number };
  profile: Profile;
  reactions: Reaction[];
}


export interface Profile {
  rangePositions: number;
  rangeIds: number;
  gas: bigint;
  /** One healthScan eth_call over raw HTTP (no ethers), median of 3, and the node's CPU time and faults per call. */
  rawCallMs: number;
  rawCallNode?: GroupStat;
  /** A trivial eth_call (Lens.engine()) over raw HTTP: the node's per-request overhead. */
  trivialCallMs: number;
  /** The same healthScan as the keeper's sweeper makes it (its Rpc, its decoder). */
  keeperCallMs: number;
  /** Decoding one healthScan result in this process, as the sweeper does (`decodeHealthScan`). */
  decodeMs: number;
  responseBytes: number;
  /** A full sweep with concurrency 1 (the keeper's default is DEFAULT_KEEPER.concurrency). */
  sequentialSweepMs: number;
}

export interface Reaction {
  liquidatable: number;
  setupMs: number;
  /** Update sent → last Liquidated event seen; undefined when it timed out. */
  ms?: number;
  blocks?: number;
  /** Transactions that liquidated the positions, and the gas they used in all. */
  txs: number;
  gas: bigint;
  liquidated: number;
  /** Other keeper actions in the window (must be 0: only the reaction positions were made unsafe). */
  otherLiquidations: number;
  marginCalls: number;
  /** The keeper pass that acted: when it started after the update, its sweep and its total time. */
  pass?: { startMs: number; sweepMs: number; durationMs: number; rpcCalls: number; liquidations: number };
  /** CPU time from the update to the last liquidation: the node's (and its kernel part), and this process's. */
  nodeCpuMs?: number;
  nodeSysMs?: number;
  selfCpuMs?: number;
  /** The keeper's RPC calls from the update to the last liquidation, by method: count and time window. */
  calls: { method: string; count: number; firstMs: number; lastMs: number }[];
}

/**
 * How each node is driven while a book opens. Hardhat's (EDR) gives back memory only when idle: a pause of 12 s every
 * 1,500 transactions and before each phase keeps 10,000 positions under ~10 GB. anvil needs no pause.
 */
const NODE_HANDLING: Record<Engine, { settleMs: number; open: OpenOptions }> = {
  hardhat: { settleMs: 12_000, open: {} },
  anvil: { settleMs: 0, open: { settleEvery: Number.MAX_SAFE_INTEGER } },
};

/**
 * Measures a book of `positions` on a node of `engine` of its own, started and stopped here; `onNode` hears of it (to
 * stop it).
 */
export async function benchSize(positions: number, engine: Engine, onNode: (node: Node | undefined) => void = () => undefined): Promise<SizeResult> {
  progress(`${engine}, ${fmtInt(positions)} positions: starting a node`);
  const node = await startLocalNode(engine);
  onNode(node);
  const handling = NODE_HANDLING[engine];
  const settle = (): Promise<void> => sleep(handling.settleMs);
  try {
    let t = performance.now();
    const { keel, manifest } = await deployOnNode(node);
    const deployMs = performance.now() - t;
    progress(`deployed in ${fmtMs(deployMs)}; opening ${fmtInt(positions)} positions`);
    const before = await node.provider.getBlockNumber();
    t = performance.now();
    await openSamplePositions(keel, node, { positions, ...handling.open });
    const bookMs = performance.now() - t;
    const bookBlocks = (await node.provider.getBlockNumber()) - before;
    progress(`book opened in ${fmtMs(bookMs)} (${bookBlocks} blocks, ${Math.round((positions * 1000) / bookMs)} positions/s)`);
    await refreshFeeds(keel); // the heartbeat: opening a big book takes minutes of block time
    await settle();

    const m = readManifest(manifest);
    const rpc = Rpc.connect(node.url, m.chainId);
    try {
      const conn = await connectKeel(m, rpc.provider);
      const head = await rpc.call("blockNumber", (p) => p.getBlockNumber());
      const indexOptions = { chainId: m.chainId, engine: m.contracts.engine.address, deploymentBlock: m.deploymentBlock };
      const defaults = loadKeeperConfig({ rpc: node.url, deployment: manifest }, { KEEPER_PRIVATE_KEY: devWallet(9).privateKey });

      // (a) index from scratch
      const indexRuns: Run[] = [];
      let index: PositionIndex | undefined;
      let logQueries = 0;
      let indexCalls = 0;
      for (let run = 0; run < SWEEP_RUNS; run++) {
        index = new PositionIndex(rpc, { ...indexOptions, confirmations: defaults.confirmations, logChunk: defaults.logChunk });
        const calls = rpc.totalCalls;
        indexRuns.push((await measure(node, () => index!.sync(head))).run);
        logQueries = index.logQueries;
        indexCalls = rpc.totalCalls - calls;
      }
      const all = index!.positions();
      progress(`indexed ${fmtInt(all.length)} positions in ${fmtMs(medianRun(indexRuns).ms)} (median of ${SWEEP_RUNS})`);
      const logs = await rawLogs(node, m.contracts.engine.address, m.deploymentBlock, head);

      // (b) one full sweep
      await settle();
      const sweeper = new HealthSweeper(rpc, conn.lens, DEFAULT_KEEPER.gasBudget, DEFAULT_KEEPER.concurrency);
      const withDebt = all.filter((p) => p.normDebt > 0n);
      const ranges = planRanges(withDebt, DEFAULT_KEEPER.gasBudget);
      const sweepRuns: Run[] = [];
      let sweepCalls = 0;
      let healthScans = 0;
      let swept = 0;
      let onChain = new Map<bigint, Health>();
      for (let run = 0; run < SWEEP_RUNS; run++) {
        const calls = rpc.totalCalls;
        const scans = sweeper.calls;
        const { value: health, run: timing } = await measure(node, () => sweeper.sweep(all, head));
        sweepRuns.push(timing);
        sweepCalls = rpc.totalCalls - calls;
        healthScans = sweeper.calls - scans;
        swept = health.size;
        onChain = health;
        if (health.size !== withDebt.length) throw new Error(`sweep returned ${health.size} of ${withDebt.length} positions with debt`);
      }
      progress(`swept in ${fmtMs(medianRun(sweepRuns).ms)} (median of ${SWEEP_RUNS}), ${sweepCalls} RPC calls`);

      // (b') the same health from one Lens.market() read and src/math over the indexed positions (evaluate.ts)
      const localRuns: Run[] = [];
      let localCalls = 0;
      let mismatches = 0;
      for (let run = 0; run < SWEEP_RUNS; run++) {
        const calls = rpc.totalCalls;
        const { value: local, run: timing } = await measure(node, async () => {
          const market = toSnapshot(await rpc.call("market", () => conn.lens.market({ blockTag: head })));
          const out = new Map<bigint, Health>();
          for (const p of all) {
            const h = evaluate(p, market);
            if (h) out.set(p.id, h);
          }
          return out;
        });
        localRuns.push(timing);
        localCalls = rpc.totalCalls - calls;
        mismatches = [...onChain.values()].filter((h) => local.get(h.id)?.hf !== h.hf || local.get(h.id)?.priced !== h.priced).length;
      }
      progress(`evaluated locally in ${fmtMs(medianRun(localRuns).ms)} (${mismatches} differences from healthScan); profiling`);

      await settle();
      const profile = await profileSweep(node, rpc, conn.lens, all, ranges, head);

      // (c) reaction
      const reactions: Reaction[] = [];
      const checkpoint = join(mkdtempSync(join(tmpdir(), "keel-bench-")), "checkpoint.json");
      for (const k of reactionSizes(positions)) {
        progress(`reaction: making ${fmtInt(k)} position(s) liquidatable with one WETH update`);
        await settle();
        reactions.push(await reaction(keel, node, manifest, checkpoint, k, handling.open));
      }
      return {
        engine,
        positions,
        setup: { deployMs, bookMs, bookBlocks },
        index: { ms: medianRun(indexRuns).ms, runs: indexRuns, logQueries, rpcCalls: indexCalls, indexed: all.length, logs },
        sweep: { ms: medianRun(sweepRuns).ms, runs: sweepRuns, rpcCalls: sweepCalls, healthScans, swept, ranges: ranges.length },
        local: { ms: medianRun(localRuns).ms, runs: localRuns, rpcCalls: localCalls, mismatches },
        profile,
        reactions,
      };
    } finally {
      rpc.destroy();
    }
  } catch (e) {
    throw (await nodeIsGone(node)) ? new Error(`the ${engine} node died or stopped answering (out of memory? see dmesg)`, { cause: e }) : e;
  } finally {
    await node.stop();
    onNode(undefined);
  }
}

async function profileSweep(
  node: Node,
  rpc: Rpc,
  lens: Lens,
  all: Parameters<HealthSweeper["sweep"]>[0],
  ranges: ReturnType<typeof planRanges>,
  head: number,
): Promise<Profile> {
  // The fullest range: the one with most positions.
  const count = (r: (typeof ranges)[number]): number => all.filter((p) => p.id >= r.from && p.id <= r.to && p.normDebt > 0n).length;
  const range = ranges.reduce((a, b) => (count(b) > count(a) ? b : a));
  const to = lens.target as string;
  const data = lens.interface.encodeFunctionData("healthScan", [range.from, range.to]);
  const tag = `0x${head.toString(16)}`;
  const gas = await rpc.provider.estimateGas({ to, data, blockTag: head });

  const raw = async (callData: string): Promise<{ ms: number; result: string }> => {
    const r = await rawRpc(node, "eth_call", [{ to, data: callData }, tag]);
    return { ms: r.ms, result: r.result as string };
  };
  const stat0 = groupStat(node);
  const scans = [await raw(data), await raw(data), await raw(data)];
  const perCall = statDelta(stat0, groupStat(node));
  const trivialData = lens.interface.encodeFunctionData("engine");
  const trivial = [await raw(trivialData), await raw(trivialData), await raw(trivialData)];
  const decodeRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    decodeHealthScan(scans[0]!.result);
    decodeRuns.push(performance.now() - t0);
  }
  const keeperRuns: number[] = [];
  const single = new HealthSweeper(rpc, lens, DEFAULT_KEEPER.gasBudget, 1);
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await single.scanRanges([range], head);
    keeperRuns.push(performance.now() - t0);
  }
  const sequential = new HealthSweeper(rpc, lens, DEFAULT_KEEPER.gasBudget, 1);
  const t0 = performance.now();
  await sequential.sweep(all, head);
  const sequentialSweepMs = performance.now() - t0;
  return {
    rangePositions: count(range),
    rangeIds: Number(range.to - range.from + 1n),
    gas,
    rawCallMs: median(scans.map((s) => s.ms)),
    rawCallNode: perCall && { userMs: perCall.userMs / scans.length, sysMs: perCall.sysMs / scans.length, faults: perCall.faults / scans.length },
    trivialCallMs: median(trivial.map((s) => s.ms)),
    keeperCallMs: median(keeperRuns),
    decodeMs: median(decodeRuns),
    responseBytes: (scans[0]!.result.length - 2) / 2,
    sequentialSweepMs,
  };
}

// ------------------------------------------------------------------ reaction

const LIQUIDATED = topicOf("Liquidated(uint256,address,address,uint256,uint256,uint256)");
const MARGIN_CALLED = topicOf("MarginCalled(uint256,uint256)");

interface PassLine {
  at: number; // performance.now() when the line arrived
  pass: { head: number; sweepMs: number; durationMs: number; rpcCalls: number; liquidations: number };
}

/**
 * `k` positions that one WETH update makes liquidatable at once (dev/liquidatableBook.ts) open, a keeper starts and
 * finishes its first pass; then the update (automine on, the node's default block gas limit). Timed from the update's
 * sending to the last of their Liquidated events (polled every 20 ms), in ms and blocks, with the gas of the
 * transactions that liquidated them.
 */
async function reaction(keel: Keel, node: Node, manifest: string, checkpoint: string, k: number, open: OpenOptions): Promise<Reaction> {
  const provider = node.provider;
  const engine = (keel.engine.target as string).toLowerCase();
  const setupStart = performance.now();
  const book = await openLiquidatableBook(keel, node, k, open);
  const targets = new Set(book.ids);

  const passes: PassLine[] = [];
  let partial = "";
  const destination = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const at = performance.now();
      const parts = (partial + chunk.toString()).split("\n");
      partial = parts.pop()!;
      for (const part of parts) {
        try {
          const line = JSON.parse(part) as { msg?: string; level?: string; pass?: PassLine["pass"] };
          if (line.msg === "pass" && line.pass) passes.push({ at, pass: line.pass });
          else if (line.level === "error" || line.level === "fatal") process.stderr.write(`keeper: ${part}\n`);
        } catch {
          // not JSON
        }
      }
      cb();
    },
  });
  const config = loadKeeperConfig(
    { rpc: node.url, deployment: manifest, checkpoint },
    { KEEPER_PRIVATE_KEY: devWallet(9).privateKey },
  );
  config.keeper.pollMs = 100;
  config.keeper.liquidation = "flash"; // the keeper holds no kUSD
  // Upkeep (volatility pokes, fee collection) would add transactions of its own; none is due in a benchmark's hour.
  config.keeper.pokeEvery = 0;
  config.keeper.collectFeesEvery = 0;
  const running = await startKeeper(config, createLogger({ level: "info", destination }));
  // Every RPC call of the keeper, timed (a profiling wrapper around its Rpc; nothing else changes).
  const calls: { method: string; start: number; end: number }[] = [];
  const rpc = running.rpc;
  const call = rpc.call.bind(rpc);
  rpc.call = async <T>(method: string, fn: (p: Provider) => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await call(method, fn);
    } finally {
      calls.push({ method, start, end: performance.now() });
    }
  };
  const out: Reaction = { liquidatable: k, setupMs: 0, liquidated: 0, txs: 0, gas: 0n, otherLiquidations: 0, marginCalls: 0, calls: [] };
  const liquidatedBy = new Set<string>();
  let block0 = 0;
  let t0: number | undefined;
  let lastBlock: number;
  try {
    // Caught up: a pass has swept the head, and nothing is being mined.
    for (const until = performance.now() + REACTION_TIMEOUT_MS; ; ) {
      const head = await provider.getBlockNumber();
      if (passes.some((p) => p.pass.head >= head)) break;
      if (performance.now() > until) throw new Error("the keeper never finished its first pass");
      await sleep(50);
    }
    await sleep(300);
    out.setupMs = performance.now() - setupStart;

    // From just before the update is sent: the keeper may act before the update's receipt is read (the node's provider
    // looks again every 50 ms; at ethers' default 4 s the reaction on 10,000 positions read 4.2 s).
    t0 = performance.now();
    const cpu0 = { node: groupStat(node), self: process.cpuUsage() };
    const receipt = await book.trigger();
    block0 = receipt.blockNumber;
    const seen = new Map<bigint, number>();
    for (;;) {
      // Up to a head read first: anvil refuses a range that starts past its head.
      const head = await provider.getBlockNumber();
      const logs = head > block0 ? await provider.getLogs({ address: engine, topics: [LIQUIDATED], fromBlock: block0 + 1, toBlock: head }) : [];
      for (const l of logs) {
        const id = BigInt(l.topics[1]!);
        if (targets.has(id)) {
          seen.set(id, l.blockNumber);
          liquidatedBy.add(l.transactionHash);
        }
      }
      if (seen.size === k) {
        out.ms = performance.now() - t0;
        out.blocks = Math.max(...seen.values()) - block0;
        break;
      }
      if (performance.now() - t0 > REACTION_TIMEOUT_MS) break;
      await sleep(20);
    }
    out.liquidated = seen.size;
    const t1 = performance.now();
    const nodeCpu = statDelta(cpu0.node, groupStat(node));
    const self = process.cpuUsage(cpu0.self);
    out.nodeCpuMs = nodeCpu && nodeCpu.userMs + nodeCpu.sysMs;
    out.nodeSysMs = nodeCpu?.sysMs;
    out.selfCpuMs = (self.user + self.system) / 1000;
    const byMethod = new Map<string, Reaction["calls"][number]>();
    for (const c of calls) {
      if (c.start < t0 || c.start > t1) continue;
      const m = byMethod.get(c.method) ?? { method: c.method, count: 0, firstMs: c.start - t0, lastMs: 0 };
      m.count++;
      m.lastMs = Math.max(m.lastMs, c.end - t0);
      byMethod.set(c.method, m);
    }
    out.calls = [...byMethod.values()].sort((a, b) => a.firstMs - b.firstMs);
  } finally {
    await running.stop();
    lastBlock = await provider.getBlockNumber();
  }
  // The pass that acted logs its report once every receipt is in, possibly after the last Liquidated event was seen.
  const acted = passes.find((p) => p.pass.head >= block0 && p.pass.liquidations > 0);
  if (acted && t0 !== undefined) {
    out.pass = {
      startMs: acted.at - acted.pass.durationMs - t0,
      sweepMs: acted.pass.sweepMs,
      durationMs: acted.pass.durationMs,
      rpcCalls: acted.pass.rpcCalls,
      liquidations: acted.pass.liquidations,
    };
  }
  const receipts = await Promise.all([...liquidatedBy].map((h) => provider.getTransactionReceipt(h)));
  out.txs = receipts.length;
  out.gas = receipts.reduce((sum, r: TransactionReceipt | null) => sum + (r?.gasUsed ?? 0n), 0n);
  // Nothing else may have been made unsafe by the update.
  const window = { address: engine, fromBlock: block0, toBlock: lastBlock };
  out.otherLiquidations = (await provider.getLogs({ ...window, topics: [LIQUIDATED] })).filter((l) => !targets.has(BigInt(l.topics[1]!))).length;
  out.marginCalls = (await provider.getLogs({ ...window, topics: [MARGIN_CALLED] })).length;
  return out;
}

