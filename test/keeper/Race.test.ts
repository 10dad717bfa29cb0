/**
 * Several keepers on one book (docs/spec.md §9: "can run as several instances at once"), each started with --once right
 * after the same crash: two with different keys racing for the same positions, two sharing one key (and so its
 * nonce lock), and two shards splitting the ids. Whoever wins, every Callable position must be called exactly
 * once, every Liquidatable one liquidated, every transaction that reverted on chain must be one another keeper
 * front-ran, no nonce may stay pending, and nothing may be left to do.
 *
 * What losing a race looks like:
 * - simulated after the winner's transaction was mined: eth_estimateGas reverts with NotCallable/AlreadyCalled/
 *   NothingToRepay/… → `alreadyDone`, nothing sent.
 * - simulated before it and mined after: the transaction reverts on chain; the sender replays it at its block,
 *   finds the "someone was first" error and reports `alreadyDone` too — never a failure.
 * - on Hardhat with automine, eth_sendRawTransaction of a transaction that reverts is answered with an error while
 *   the transaction is still mined: the sender finds it by hash and does not send it again.
 */
import { expect } from "chai";
import { JsonRpcProvider, type NonceManager, type Provider, Wallet } from "ethers";
import type { Keel } from "../../deploy";
import type { KeeperConfig } from "../../src/keeper/config";
import type { PassReport } from "../../src/keeper/keeper";
import { type RunningKeeper, startKeeper } from "../../src/keeper/main";
import { sleep } from "../../src/keeper/rpc";
import { MarginState } from "../../src/math";
import {
  capturedLogger,
  countState,
  type Deployed,
  deployOnNode,
  devWallet,
  type LineCollector,
  type LogLine,
  movePrice,
  type Node,
  openSamplePositions,
  openPositionIds,
  passOf,
  startNode,
  statesOf,
  testKeeperConfig,
} from "./harness";

const BOOK = 200;

interface Action {
  block: number;
  index: number;
  hash: string;
  from: string;
  kind: "marginCall" | "clearMarginCall" | "liquidate" | "other";
  id?: bigint;
  ok: boolean;
}

/** Every transaction sent by `senders` in blocks [from, to], decoded, with its receipt status. */
async function actionsOf(provider: Provider, keel: Keel, from: number, to: number, senders: readonly string[]): Promise<Action[]> {
  const who = new Set(senders.map((s) => s.toLowerCase()));
  const engine = (keel.engine.target as string).toLowerCase();
  const flash = (keel.flashLiquidator.target as string).toLowerCase();
  const out: Action[] = [];
  for (let n = from; n <= to; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block!.prefetchedTransactions) {
      if (!who.has(tx.from.toLowerCase())) continue;
      const receipt = await provider.getTransactionReceipt(tx.hash);
      let kind: Action["kind"] = "other";
      let id: bigint | undefined;
      const to = tx.to?.toLowerCase();
      const parsed =
        to === engine
          ? keel.engine.interface.parseTransaction({ data: tx.data })
          : to === flash
            ? keel.flashLiquidator.interface.parseTransaction({ data: tx.data })
            : null;
      if (parsed?.name === "liquidateBatch") {
        // A flash batch is where batches change what an action is: one transaction acts on many positions, so it is
        // decoded into one action per target of its calldata, ok when the receipt holds that target's Liquidated
        // event. A target the batch skipped (LiquidationSkipped) and every target of a batch that reverted (no logs:
        // e.g. FlashRepaymentShort when all were skipped after the flash mint) are not-ok actions, held to the same
        // rule as a reverted single transaction: an earlier successful action on that position front-ran it. The
        // nonce check below counts distinct transactions, not these actions.
        const done = new Set(
          receipt!.logs.flatMap((l) => (l.address.toLowerCase() === engine ? [keel.engine.interface.parseLog(l)] : []))
            .flatMap((e) => (e?.name === "Liquidated" ? [e.args.getValue("id") as bigint] : [])),
        );
        for (const t of parsed.args[0] as { id: bigint }[]) {
          out.push({ block: n, index: tx.index, hash: tx.hash, from: tx.from.toLowerCase(), kind: "liquidate", id: t.id, ok: receipt!.status === 1 && done.has(t.id) });
        }
        continue;
      }
      if (parsed && (parsed.name === "marginCall" || parsed.name === "clearMarginCall" || parsed.name === "liquidate")) {
        kind = parsed.name;
        id = parsed.args[0] as bigint;
      }
      out.push({ block: n, index: tx.index, hash: tx.hash, from: tx.from.toLowerCase(), kind, id, ok: receipt!.status === 1 });
    }
  }
  return out;
}

interface Crashed {
  block: number;
  callable: Set<bigint>;
  liquidatable: Set<bigint>;
  /** Collateral assets of each Liquidatable position before any liquidation. */
  assets: Map<bigint, number>;
}

const sum = (reports: readonly PassReport[], field: "marginCalls" | "liquidations" | "failed" | "alreadyDone"): number =>
  reports.reduce((n, r) => n + r[field], 0);

const addressOf = (key: string): string => new Wallet(key).address.toLowerCase();

const minedBefore = (a: Action, b: Action): boolean => a.block < b.block || (a.block === b.block && a.index < b.index);

describe("keeper: several instances at once", function () {
  this.timeout(300_000);
  let node: Node;
  let d: Deployed;
  let ids: bigint[];
  let snapshot: string;
  /** The node without ethers' 250 ms read cache (no read from before an evm_revert may survive it). */
  let direct: JsonRpcProvider;
  /** The deployment with its engine read through `direct`. */
  let view: Keel;
  const running: RunningKeeper[] = [];

  before(async () => {
    node = await startNode();
    direct = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    d = await deployOnNode(node);
    view = { ...d.keel, engine: d.keel.engine.connect(direct) } as Keel;
    ids = await openSamplePositions(d.keel, node, { positions: BOOK, seed: 21n });
    snapshot = (await node.provider.send("evm_snapshot", [])) as string;
  });
  after(async () => {
    for (const k of running) await k.stop();
    direct?.destroy();
    await node?.stop();
  });

  /** Back to the book before any crash, then the same crash every time. */
  async function crash(): Promise<Crashed> {
    await node.provider.send("evm_revert", [snapshot]);
    snapshot = (await node.provider.send("evm_snapshot", [])) as string;
    (d.deployer as NonceManager).reset();
    await movePrice(d.keel, "WETH", -25);
    await movePrice(d.keel, "WBTC", -20);
    const s = await statesOf(view, ids);
    const pick = (state: number): Set<bigint> => new Set([...s].filter(([, x]) => x === state).map(([id]) => id));
    const callable = pick(MarginState.Callable);
    const liquidatable = pick(MarginState.Liquidatable);
    expect(callable.size).to.be.greaterThan(5);
    expect(liquidatable.size).to.be.greaterThan(5);
    const assets = new Map<bigint, number>();
    for (const id of liquidatable) assets.set(id, (await d.keel.engine.collateralAssets(id)).length);
    return { block: await direct.getBlockNumber(), callable, liquidatable, assets };
  }

  function config(key: string, shard?: string): KeeperConfig {
    return testKeeperConfig({ rpc: node.url, deployment: d.manifest, privateKey: key, once: true, shard });
  }

  async function start(c: KeeperConfig): Promise<{ k: RunningKeeper; lines: LineCollector }> {
    const { log, lines } = capturedLogger();
    const k = await startKeeper(c, log);
    running.push(k);
    return { k, lines };
  }

  /** Runs `configs` concurrently with --once; both promises must resolve. */
  async function race(configs: readonly KeeperConfig[]): Promise<{ reports: PassReport[][]; lines: LineCollector[]; ms: number }> {
    const t0 = Date.now();
    const started = await Promise.all(configs.map((c) => start(c)));
    const reports = await Promise.all(started.map((s) => s.k.done));
    if (process.env.KEEPER_TEST_LOGS) {
      started.forEach((s, i) => console.log(i, s.lines.lines.filter((x) => x.msg !== "mined").map((x) => JSON.stringify(x).slice(0, 400)).join("\n")));
    }
    return { reports, lines: started.map((s) => s.lines), ms: Date.now() - t0 };
  }

  /** What must hold whoever wins; returns every keeper transaction since the crash. */
  async function checkOutcome(
    crashed: Crashed,
    keys: readonly string[],
    reports: readonly PassReport[][],
  ): Promise<Action[]> {
    const head = await direct.getBlockNumber();
    const addresses = [...new Set(keys.map(addressOf))];
    const actions = await actionsOf(direct, d.keel, crashed.block + 1, head, addresses);
    if (process.env.KEEPER_TEST_LOGS) console.log(actions.map((a) => `${a.block}.${a.index} ${a.from.slice(0, 6)} ${a.kind}(${a.id}) ${a.ok}`).join("\n"));
    expect(actions.filter((a) => a.kind !== "marginCall" && a.kind !== "liquidate")).to.deep.equal([]);

    // Every Callable position called exactly once (the engine refuses a second call: AlreadyCalled).
    const calls = actions.filter((a) => a.kind === "marginCall" && a.ok);
    expect(calls.map((a) => a.id!).sort()).to.deep.equal([...crashed.callable].sort());
    const called = await d.keel.engine.queryFilter(d.keel.engine.filters.MarginCalled(), crashed.block + 1, head);
    expect(called).to.have.length(crashed.callable.size);

    // Every Liquidatable position liquidated; each Liquidated event is one successful keeper transaction, and a
    // position is liquidated at most once per collateral asset (a cross position may need one per asset).
    const liquidations = actions.filter((a) => a.kind === "liquidate" && a.ok);
    expect(new Set(liquidations.map((a) => a.id!))).to.deep.equal(crashed.liquidatable);
    const liquidated = await d.keel.engine.queryFilter(d.keel.engine.filters.Liquidated(), crashed.block + 1, head);
    expect(liquidated.map((e) => e.transactionHash).sort()).to.deep.equal(liquidations.map((a) => a.hash).sort());
    for (const id of crashed.liquidatable) {
      const times = liquidated.filter((e) => e.args.id === id).length;
      expect(times, `liquidations of ${id}`).to.be.lte(crashed.assets.get(id)!);
    }

    // The reports add up to the chain: no keeper lost track of a transaction it got mined.
    expect(reports.reduce((n, r) => n + sum(r, "marginCalls"), 0)).to.equal(calls.length);
    expect(reports.reduce((n, r) => n + sum(r, "liquidations"), 0)).to.equal(liquidations.length);

    // A transaction that reverted on chain is always one whose work a successful transaction had already done.
    const reverted = actions.filter((a) => !a.ok);
    for (const r of reverted) {
      const first = actions.find((a) => a.ok && a.kind === r.kind && a.id === r.id && minedBefore(a, r));
      expect(first, `reverted ${r.kind}(${r.id}) in block ${r.block} was not front-run`).to.not.equal(undefined);
    }
    // Such a revert is work someone else did: reported as alreadyDone, and no keeper reports a failure.
    for (const address of addresses) {
      const of = (field: "failed" | "alreadyDone"): number =>
        keys.reduce((n, k, i) => n + (addressOf(k) === address ? sum(reports[i]!, field) : 0), 0);
      expect(of("failed"), `failed of ${address}`).to.equal(0);
      if (reverted.some((a) => a.from === address)) expect(of("alreadyDone"), `alreadyDone of ${address}`).to.be.greaterThan(0);
    }

    // Nothing left to do, and no nonce left pending or skipped.
    const final = await statesOf(view, await openPositionIds(view));
    expect(countState(final, MarginState.Callable)).to.equal(0);
    expect(countState(final, MarginState.Liquidatable)).to.equal(0);
    for (const address of addresses) {
      const [latest, pending] = await Promise.all([
        direct.getTransactionCount(address, "latest"),
        direct.getTransactionCount(address, "pending"),
      ]);
      expect(pending, `pending nonce of ${address}`).to.equal(latest);
      // Nonces count transactions, not actions: a liquidateBatch is one transaction decoded into one action per
      // target, so the address's distinct transaction hashes are compared, not its actions.
      const transactions = new Set(actions.filter((a) => a.from === address).map((a) => a.hash));
      expect(latest, `every nonce of ${address} used by a mined transaction`).to.equal(transactions.size);
    }
    return actions;
  }

  const summary = (reports: readonly PassReport[][], actions: readonly Action[], ms: number): string =>
    `      ${ms} ms; ` +
    reports
      .map((r, i) => `keeper ${i}: ${sum(r, "marginCalls")} calls, ${sum(r, "liquidations")} liquidations, ${sum(r, "alreadyDone")} already done, ${sum(r, "failed")} failed`)
      .join("; ") +
    `; ${actions.filter((a) => !a.ok).length} reverted on chain`;

  it("test_twoKeepers_differentKeys: two keepers with different keys: each position acted on once, every revert a front-run, nothing left", async () => {
    const crashed = await crash();
    const keys = [devWallet(12).privateKey, devWallet(13).privateKey];
    const { reports, ms } = await race(keys.map((k) => config(k)));
    const actions = await checkOutcome(crashed, keys, reports);
    console.log(summary(reports, actions, ms));
  });

  it("test_twoKeepers_sharedKey: two keepers sharing one key: the nonce lock serialises them, no nonce stuck or skipped", async () => {
    const crashed = await crash();
    const key = devWallet(14).privateKey;
    const { reports, ms } = await race([config(key), config(key)]);
    const actions = await checkOutcome(crashed, [key, key], reports);
    console.log(summary(reports, actions, ms));
  });

  it("test_shards_splitByParity: shards 0/2 and 1/2 split the work by id parity and never meet", async () => {
    const crashed = await crash();
    const keys = [devWallet(15).privateKey, devWallet(16).privateKey];
    const { reports, lines, ms } = await race([config(keys[0]!, "0/2"), config(keys[1]!, "1/2")]);
    const actions = await checkOutcome(crashed, keys, reports);
    const address = keys.map(addressOf);
    for (const a of actions) expect(a.from, `${a.kind}(${a.id}) by the wrong shard`).to.equal(address[Number(a.id! % 2n)]);
    expect(actions.filter((a) => !a.ok)).to.deep.equal([]);
    for (const r of reports) expect(sum(r, "failed")).to.equal(0);
    // Each liquidation (in a shard's FlashLiquidator batch) was sent by that shard: its own ids only.
    const liquidated = await d.keel.engine.queryFilter(d.keel.engine.filters.Liquidated(), crashed.block + 1);
    expect(liquidated.length).to.equal(actions.filter((a) => a.kind === "liquidate" && a.ok).length);
    for (const e of liquidated) {
      const sentBy = actions.find((a) => a.hash === e.transactionHash && a.id === e.args.id)?.from;
      expect(sentBy).to.equal(address[Number(e.args.id % 2n)]);
    }
    // The shards never meet, so an `alreadyDone` can only be a shard's own earlier work that a later pass planned
    // again: the pass's head is read right after the previous pass's broadcasts, and ethers answers
    // getBlockNumber from a 250 ms cache that broadcastTransaction itself filled, so that pass sweeps a block
    // older than the keeper's own last transactions.
    lines.forEach((l, shard) => {
      let pendingDone: LogLine[] = [];
      for (const line of l.lines) {
        if (line.msg === "already done") pendingDone.push(line);
        if (line.msg !== "pass") continue;
        const head = passOf(line).head;
        for (const done of pendingDone) {
          const id = BigInt(done.id as string);
          expect(Number(id % 2n), `shard ${shard} found ${id} already done`).to.equal(shard);
          const own = actions.find((a) => a.ok && a.id === id && a.kind === done.kind && a.from === address[shard]);
          expect(own, `${done.kind}(${id}) already done, by ${address[shard]}`).to.not.equal(undefined);
          expect(own!.block, `${done.kind}(${id}) was mined after the head ${head} of the pass that planned it again`).to.be.greaterThan(head);
        }
        pendingDone = [];
      }
    });
    console.log(
      `${summary(reports, actions, ms)}; shard 0: ${actions.filter((a) => a.from === address[0]).length} txs, shard 1: ${actions.filter((a) => a.from === address[1]).length} txs`,
    );
  });

  it("test_frontRun_alreadyDone: a transaction front-run between simulation and inclusion is reported as alreadyDone, not failed", async () => {
    const crashed = await crash();
    const key = devWallet(17).privateKey;
    const rival = devWallet(18, node.provider);
    const keeperAddress = addressOf(key);
    // Nothing is mined until the keeper has broadcast its margin calls; then a rival with a higher tip calls the
    // same positions, so the rival's calls come first in the block and the keeper's revert on chain.
    await node.provider.send("evm_setAutomine", [false]);
    try {
      const { k } = await start(config(key));
      let pending: { from: string; to: string; input: string }[] = [];
      const deadline = Date.now() + 60_000;
      for (let stable = 0, last = -1; stable < 4; ) {
        if (Date.now() > deadline) throw new Error("the keeper broadcast nothing within 60 s");
        await sleep(250);
        const block = (await node.provider.send("eth_getBlockByNumber", ["pending", true])) as { transactions: { from: string; to: string; input: string }[] };
        pending = block.transactions.filter((t) => t.from.toLowerCase() === keeperAddress);
        stable = pending.length > 0 && pending.length === last ? stable + 1 : 0;
        last = pending.length;
      }
      const engine = (d.keel.engine.target as string).toLowerCase();
      const targets = pending
        .filter((t) => t.to.toLowerCase() === engine)
        .map((t) => d.keel.engine.interface.parseTransaction({ data: t.input })!)
        .filter((p) => p.name === "marginCall")
        .map((p) => p.args[0] as bigint);
      expect(targets.length).to.equal(crashed.callable.size);
      let nonce = await node.provider.getTransactionCount(rival.address, "pending");
      for (const id of targets) {
        await rival.sendTransaction({
          to: d.keel.engine.target as string,
          data: d.keel.engine.interface.encodeFunctionData("marginCall", [id]),
          nonce: nonce++,
          gasLimit: 300_000,
          maxFeePerGas: 10n ** 12n,
          maxPriorityFeePerGas: 10n ** 11n,
        });
      }
      for (let i = 0; i < 20; i++) {
        await node.provider.send("evm_mine", []);
        const left = (await node.provider.send("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] };
        if (left.transactions.length === 0) break;
      }
      await node.provider.send("evm_setAutomine", [true]);
      const reports = await k.done;
      const head = await direct.getBlockNumber();
      const actions = await actionsOf(direct, d.keel, crashed.block + 1, head, [keeperAddress]);
      const frontRun = actions.filter((a) => a.kind === "marginCall" && !a.ok).length;
      expect(frontRun, "every margin call of the keeper was front-run").to.equal(targets.length);
      expect(actions.filter((a) => a.kind === "liquidate" && !a.ok)).to.deep.equal([]);
      // Today: { failed: frontRun, alreadyDone: 0 } — each lost race counted as a failure (and in
      // keel_keeper_tx_failures_total), because TxSender.outcome() returns revertedOnChain for any status-0 receipt
      // without asking why, and Keeper.record() counts revertedOnChain as failed.
      expect({ failed: sum(reports, "failed"), alreadyDone: sum(reports, "alreadyDone") }).to.deep.equal({ failed: 0, alreadyDone: frontRun });
    } finally {
      await node.provider.send("evm_setAutomine", [true]);
    }
  });
});
