/**
 * Flash liquidations at scale (issue 21), the keeper's side, on a real node: a crash of 100 positions cleared by one
 * pass in at most two liquidateBatch transactions; a batch some of whose positions recovered between the simulation
 * and the block; the venue chosen by simulated output (the deep AMM, or the shallow one when the deep one is
 * skewed); an oversize position liquidated in parts within the price-impact limit. Amounts are checked against
 * src/math's venue and seizure formulas, and the ledger (§6) after each.
 */
import { expect } from "chai";
import { NonceManager, type TransactionReceipt } from "ethers";
import type { Keel } from "../../deploy";
import { borrowAgainstUsdc } from "../../dev/localMarket";
import { arbitrageTo } from "../../scenario/arbitrage";
import type { PassReport } from "../../src/keeper/keeper";
import { createLogger } from "../../src/keeper/log";
import { startKeeper } from "../../src/keeper/main";
import { TX_GAS_CAP } from "../../src/keeper/rpc";
import { RecordingRpc } from "./recordingRpc";
import { MarginState, seizeDown, WAD } from "../../src/math";
import { ammQuoteDown, maxSaleAtImpactDown } from "../../src/math/amm";
import { checkInvariants } from "../helpers/invariant";
import { countState, type Deployed, deployOnNode, devWallet, movePrice, type Node, openPositions, type PositionSpec, startNode, statesOf, testKeeperConfig } from "./harness";

const E18 = 10n ** 18n;
const IMPACT = (WAD * 2n) / 100n; // the keeper's default maxPriceImpact

describe("keeper: flash liquidation batches", function () {
  this.timeout(600_000);
  let node: Node;
  let d: Deployed;
  let clean: string;

  before(async () => {
    node = await startNode();
    d = await deployOnNode(node);
    clean = (await node.provider.send("evm_snapshot", [])) as string;
  });
  beforeEach(async () => {
    await node.provider.send("evm_revert", [clean]);
    if (d.deployer instanceof NonceManager) d.deployer.reset(); // its cached nonce is from after the reverted blocks
    clean = (await node.provider.send("evm_snapshot", [])) as string;
  });
  after(async () => {
    await node?.stop();
  });

  const keeperWallet = (): ReturnType<typeof devWallet> => devWallet(9, node.provider);

  /** The keeper with --once: passes while they act (at most `maxPasses`). */
  async function pass(maxPasses = 10): Promise<PassReport[]> {
    const config = testKeeperConfig({ rpc: node.url, deployment: d.manifest, privateKey: keeperWallet().privateKey, once: true });
    config.keeper.maxPasses = maxPasses;
    return (await startKeeper(config, createLogger({ level: process.env.KEEPER_TEST_LOG ?? "warn" }))).done;
  }

  /** Isolated WETH positions of 0.5 WETH each, debt 1,035..1,054 kUSD: under criticalHF and solvent once WETH is 26% down. */
  const smallWeth = (n: number): PositionSpec[] =>
    Array.from({ length: n }, (_, i) => ({ assets: ["WETH"], amounts: [E18 / 2n], debt: (1035n + BigInt(i % 20)) * E18 }));

  /** The keeper's mined liquidateBatch receipts from block `from` on. */
  async function batchReceipts(keel: Keel, from: number): Promise<TransactionReceipt[]> {
    const events = await keel.flashLiquidator.queryFilter(keel.flashLiquidator.filters.BatchLiquidated(keeperWallet().address), from);
    return Promise.all(events.map(async (e) => (await e.getTransactionReceipt())!));
  }

  /** The venue sale of a batch receipt: which venue, amounts in and out. */
  function saleOf(keel: Keel, r: TransactionReceipt): { venue: string; amountIn: bigint; amountOut: bigint } {
    for (const log of r.logs) {
      for (const amm of [keel.amm, keel.ammShallow]) {
        if (log.address.toLowerCase() !== (amm.target as string).toLowerCase()) continue;
        const parsed = amm.interface.parseLog(log);
        if (parsed?.name === "Swapped") return { venue: amm.target as string, amountIn: parsed.args.amountIn as bigint, amountOut: parsed.args.amountOut as bigint };
      }
    }
    throw new Error(`no sale in ${r.hash}`);
  }

  /** Each Liquidated event of a receipt: seized equals src/math's seizure of what was repaid at the block's price. */
  async function expectExactSeizures(keel: Keel, r: TransactionReceipt): Promise<{ id: bigint; repaid: bigint; seized: bigint }[]> {
    const weth = keel.assets.WETH!.token.target as string;
    const price = await keel.oracle.getPrice(weth, { blockTag: r.blockNumber });
    const penalty = (await keel.risk.assetRisk(weth)).liquidationPenalty;
    const out: { id: bigint; repaid: bigint; seized: bigint }[] = [];
    for (const log of r.logs) {
      if (log.address.toLowerCase() !== (keel.engine.target as string).toLowerCase()) continue;
      const parsed = keel.engine.interface.parseLog(log);
      if (parsed?.name !== "Liquidated") continue;
      const { id, repaid, seized } = parsed.args as unknown as { id: bigint; repaid: bigint; seized: bigint };
      expect(seized, `seized of ${id}`).to.equal(seizeDown(repaid, penalty, price, E18));
      out.push({ id, repaid, seized });
    }
    return out;
  }

  it("test_batch_crash100_clearedInOnePass_atMostTwoTransactions: one price update, one pass, ≤ 2 batches, every position liquidated", async () => {
    const { keel } = d;
    const ids = await openPositions(keel, node, smallWeth(100));
    await movePrice(keel, "WETH", -26);
    const before = await statesOf(keel, ids);
    expect(countState(before, MarginState.Liquidatable)).to.equal(100);
    const from = await node.provider.getBlockNumber();
    const nonce = await node.provider.getTransactionCount(keeperWallet().address);

    const reports = await pass();
    expect(reports[0]!.liquidations).to.equal(100); // the first pass clears the crash
    expect(reports[0]!.failed).to.equal(0);
    const sent = (await node.provider.getTransactionCount(keeperWallet().address)) - nonce;
    expect(sent).to.be.within(1, 2);
    const receipts = await batchReceipts(keel, from + 1);
    expect(receipts).to.have.length(sent);

    let liquidated = 0;
    let profit = 0n;
    for (const r of receipts) {
      const seizures = await expectExactSeizures(keel, r);
      liquidated += seizures.length;
      // The sale: all the batch seized, on the deep venue, priced by the constant-product formula, within the limit.
      const sale = saleOf(keel, r);
      expect(sale.venue).to.equal(keel.amm.target);
      expect(sale.amountIn).to.equal(seizures.reduce((s, x) => s + x.seized, 0n));
      const [reserveIn, reserveOut] = await keel.amm.pools(keel.assets.WETH!.token.target, { blockTag: r.blockNumber - 1 });
      expect(sale.amountOut).to.equal(ammQuoteDown(sale.amountIn, reserveIn, reserveOut, await keel.amm.feeBps()));
      expect(sale.amountIn <= maxSaleAtImpactDown(reserveIn, await keel.amm.feeBps(), IMPACT)).to.equal(true);
      const done = keel.flashLiquidator.interface.parseLog(r.logs.find((l) => keel.flashLiquidator.interface.parseLog(l)?.name === "BatchLiquidated")!)!;
      profit += done.args.profit as bigint;
      console.log(`      batch of ${seizures.length}: gas ${r.gasUsed}, block ${r.blockNumber}, sold ${sale.amountIn} wei WETH`);
      // Sent with the gas it was simulated with, the transaction cap (no margin on top: it would exceed the cap).
      expect((await node.provider.getTransaction(r.hash))!.gasLimit).to.equal(TX_GAS_CAP);
    }
    expect(liquidated).to.equal(100);
    for (const id of ids) expect(await keel.engine.debtOf(id)).to.equal(0n);
    expect(await keel.kusd.balanceOf(keeperWallet().address)).to.equal(profit);
    expect(profit).to.be.greaterThan(0n);
    await checkInvariants(keel);
  });

  /**
   * Ten small WETH positions made Liquidatable; the keeper (--once) runs with automine off. `rescue(sent)` is
   * called while nothing is mined: before the keeper sends anything (`sent` false: the owner's deposits wait in the
   * mempool while the keeper simulates at the head block, and are in the pending block it checks right before
   * sending) or once the keeper's batch is in the mempool (`sent` true: the owner's deposits, with a higher tip, are
   * mined first in the batch's block). Returns the keeper's reports, the ids, and the keeper's transactions' receipts.
   */
  async function rescueRace(rescuedCount: number, afterBroadcast: boolean): Promise<{ reports: PassReport[]; ids: bigint[]; rescued: bigint[]; receipts: TransactionReceipt[] }> {
    const { keel } = d;
    const ids = await openPositions(keel, node, smallWeth(10), { owners: 1 });
    const owner = devWallet(1, node.provider);
    const weth = keel.assets.WETH!.token;
    await (await weth.connect(owner).mint(owner.address, 10n * E18)).wait();
    await (await weth.connect(owner).approve(keel.engine.target, 10n * E18)).wait();
    await movePrice(keel, "WETH", -26);
    const rescued = ids.slice(0, rescuedCount);
    const keeperAddress = keeperWallet().address;
    const nonce = await node.provider.getTransactionCount(keeperAddress);
    const from = await node.provider.getBlockNumber();
    const rescue = async (): Promise<void> => {
      let ownerNonce = await node.provider.getTransactionCount(owner.address, "pending");
      for (const id of rescued) {
        // The gas is given: estimated on top of the keeper's pending batch, a deposit into a liquidated position
        // costs less than it does when it is mined first, and would run out.
        const fees = { nonce: ownerNonce++, gasLimit: 300_000n, maxPriorityFeePerGas: 50n * 10n ** 9n, maxFeePerGas: 400n * 10n ** 9n };
        await keel.engine.connect(owner).deposit(id, weth.target, E18, fees);
      }
    };
    await node.provider.send("evm_setAutomine", [false]);
    let reports: PassReport[];
    try {
      if (!afterBroadcast) await rescue();
      const running = pass();
      for (let i = 0; (await node.provider.getTransactionCount(keeperAddress, "pending")) === nonce; i++) {
        if (i > 600) throw new Error("the keeper sent no batch");
        await new Promise((r) => setTimeout(r, 100));
      }
      if (afterBroadcast) await rescue();
      await node.provider.send("evm_mine", []);
      await node.provider.send("evm_setAutomine", [true]);
      reports = await running;
    } finally {
      await node.provider.send("evm_setAutomine", [true]);
    }
    const receipts: TransactionReceipt[] = [];
    for (let n = from + 1; n <= (await node.provider.getBlockNumber()); n++) {
      const block = await node.provider.getBlock(n, true);
      for (const tx of block!.prefetchedTransactions) {
        if (tx.from === owner.address) expect((await node.provider.getTransactionReceipt(tx.hash))!.status, "an owner's deposit").to.equal(1);
        if (tx.from === keeperAddress) receipts.push((await node.provider.getTransactionReceipt(tx.hash))!);
      }
    }
    return { reports, ids, rescued, receipts };
  }

  /** The target ids of a liquidateBatch transaction. */
  async function batchTargets(keel: Keel, hash: string): Promise<bigint[]> {
    const tx = (await node.provider.getTransaction(hash))!;
    const parsed = keel.flashLiquidator.interface.parseTransaction({ data: tx.data })!;
    expect(parsed.name).to.equal("liquidateBatch");
    return (parsed.args[0] as { id: bigint }[]).map((t) => t.id);
  }

  const ascending = (xs: readonly bigint[]): bigint[] => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  it("test_batch_nodeCapsCallGas_everyoneLiquidated: behind a node that caps an eth_call at 1.5M gas, the statuses are read one by one and the batches bisected", async () => {
    const { keel } = d;
    const ids = await openPositions(keel, node, smallWeth(30));
    await movePrice(keel, "WETH", -26);
    const capped = await RecordingRpc.start({ target: node.url, callGasCap: 1_500_000n });
    try {
      const config = testKeeperConfig({ rpc: capped.url, deployment: d.manifest, privateKey: keeperWallet().privateKey, once: true });
      const reports = await (await startKeeper(config, createLogger({ level: process.env.KEEPER_TEST_LOG ?? "warn" }))).done;
      expect(reports.reduce((n, r) => n + r.liquidations, 0)).to.equal(30);
      for (const id of ids) expect(await keel.engine.debtOf(id), `position ${id}`).to.equal(0n);
      // The 30-id range ran out of gas at the cap and each id was read on its own.
      const lens = keel.lens.interface;
      const calls = capped.received.filter((r) => r.method === "eth_call").map((r) => String((r.params[0] as { data: string }).data));
      expect(calls.filter((c) => c.startsWith(lens.getFunction("liquidationStatuses")!.selector))).to.have.length.greaterThan(0);
      expect(calls.filter((c) => c.startsWith(lens.getFunction("liquidationStatus")!.selector))).to.have.length.at.least(30);
    } finally {
      await capped.stop();
    }
    await checkInvariants(keel);
  });

  it("test_batch_someRecoveredBeforeTheBlock_skippedAsAlreadyDone: positions repaired after the batch was sent are skipped, the rest liquidated", async () => {
    const { keel } = d;
    const { reports, ids, rescued, receipts } = await rescueRace(3, true);
    expect(reports[0]!.liquidations).to.equal(7);
    expect(reports[0]!.alreadyDone).to.equal(3);
    expect(reports[0]!.failed).to.equal(0);
    expect(receipts).to.have.length(1);
    expect(ascending(await batchTargets(keel, receipts[0]!.hash))).to.deep.equal(ids);
    const skipped = await keel.flashLiquidator.queryFilter(keel.flashLiquidator.filters.LiquidationSkipped());
    expect(ascending(skipped.map((e) => e.args.id))).to.deep.equal(rescued);
    for (const e of skipped) expect(keel.engine.interface.parseError(e.args.reason)?.name).to.equal("NotLiquidatable");
    for (const id of rescued) expect(await keel.engine.debtOf(id)).to.be.greaterThan(0n);
    for (const id of ids.slice(3)) expect(await keel.engine.debtOf(id)).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_batch_recoveredBeforeSending_droppedAtThePendingBlock: positions repaired in the pending block are left out of the batch, counted as already done", async () => {
    const { keel } = d;
    const { reports, ids, rescued, receipts } = await rescueRace(3, false);
    expect(reports[0]!.liquidations).to.equal(7);
    expect(reports[0]!.alreadyDone).to.equal(3);
    expect(reports[0]!.failed).to.equal(0);
    // One batch, of the seven still Liquidatable: the planned batch (simulated at the head) was checked again at
    // the pending block, where the owner's deposits had rescued three.
    expect(receipts).to.have.length(1);
    expect(receipts[0]!.status).to.equal(1);
    expect(ascending(await batchTargets(keel, receipts[0]!.hash))).to.deep.equal(ids.slice(3));
    expect(await keel.flashLiquidator.queryFilter(keel.flashLiquidator.filters.LiquidationSkipped())).to.deep.equal([]);
    for (const id of rescued) expect(await keel.engine.debtOf(id)).to.be.greaterThan(0n);
    for (const id of ids.slice(3)) expect(await keel.engine.debtOf(id)).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_batch_allRecoveredBeforeTheBlock_revertedBatchIsAlreadyDone: a batch reverting FlashRepaymentShort because every target recovered is already done, not failed, and not sent again", async () => {
    const { keel } = d;
    const { reports, ids, receipts } = await rescueRace(10, true);
    // Every target skipped after the flash mint: the fee on their caps cannot be paid (docs/known-issues.md).
    expect(receipts).to.have.length(1);
    expect(receipts[0]!.status).to.equal(0);
    expect(ascending(await batchTargets(keel, receipts[0]!.hash))).to.deep.equal(ids);
    const tx = (await node.provider.getTransaction(receipts[0]!.hash))!;
    const reason = await node.provider.call({ from: tx.from, to: tx.to, data: tx.data, blockTag: receipts[0]!.blockNumber }).then(
      () => "no revert",
      (e: { data?: string }) => keel.flashLiquidator.interface.parseError(e.data ?? "0x")?.name,
    );
    expect(reason).to.equal("FlashRepaymentShort");
    for (const id of ids) expect(Number((await keel.engine.stateOf(id)).state)).to.not.equal(MarginState.Liquidatable);
    expect(reports.map((r) => ({ liquidations: r.liquidations, alreadyDone: r.alreadyDone, failed: r.failed }))).to.deep.equal([{ liquidations: 0, alreadyDone: 10, failed: 0 }]);
    expect(await node.provider.getTransactionCount(keeperWallet().address)).to.equal(tx.nonce + 1);
    await checkInvariants(keel);
  });

  it("test_batch_venueChoice_deepUnlessSkewed: the deep AMM by default; the shallow one once the deep one's WETH price is pushed down", async () => {
    const { keel } = d;
    const weth = keel.assets.WETH!.token;
    const ids = await openPositions(keel, node, smallWeth(3));
    await movePrice(keel, "WETH", -26);
    const snapshot = (await node.provider.send("evm_snapshot", [])) as string;

    /** What each venue would pay for `amount` WETH at block `tag`, by the constant-product formula. */
    const quotes = async (amount: bigint, tag: number): Promise<[bigint, bigint]> => {
      const out: bigint[] = [];
      for (const amm of [keel.amm, keel.ammShallow]) {
        const [x, y] = await amm.pools(weth.target, { blockTag: tag });
        out.push(ammQuoteDown(amount, x, y, await amm.feeBps()));
      }
      return out as [bigint, bigint];
    };

    let from = await node.provider.getBlockNumber();
    await pass();
    let [r] = await batchReceipts(keel, from + 1);
    let sale = saleOf(keel, r!);
    let [deep, shallow] = await quotes(sale.amountIn, r!.blockNumber - 1);
    expect(sale.venue).to.equal(keel.amm.target);
    expect(sale.amountOut).to.equal(deep);
    expect(deep > shallow).to.equal(true);

    // Someone dumps 100 WETH on the deep pool (≈ −4% there); the shallow pool still pays near the oracle.
    await node.provider.send("evm_revert", [snapshot]);
    const trader = devWallet(7, node.provider);
    await (await weth.connect(trader).mint(trader.address, 100n * E18)).wait();
    await (await weth.connect(trader).approve(keel.amm.target, 100n * E18)).wait();
    await (await keel.amm.connect(trader).swapExactIn(weth.target, keel.kusd.target, 100n * E18, 0n, trader.address)).wait();
    from = await node.provider.getBlockNumber();
    await pass();
    [r] = await batchReceipts(keel, from + 1);
    sale = saleOf(keel, r!);
    [deep, shallow] = await quotes(sale.amountIn, r!.blockNumber - 1);
    expect(sale.venue).to.equal(keel.ammShallow.target);
    expect(sale.amountOut).to.equal(shallow);
    expect(shallow > deep).to.equal(true);
    for (const id of ids) expect(await keel.engine.debtOf(id)).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_batch_oversizePosition_liquidatedInPartsWithinTheImpactLimit: each pass repays what the venue's depth takes at 2%", async () => {
    const { keel } = d;
    const weth = keel.assets.WETH!.token;
    // 300 WETH against 633,000 kUSD: at −26% (WETH 2,220) under criticalHF and solvent; its 298 WETH seizure is
    // about three times what the deep pool takes within 2%.
    const [id] = await openPositions(keel, node, [{ assets: ["WETH"], amounts: [300n * E18], debt: 633_000n * E18 }]);
    await movePrice(keel, "WETH", -26);
    const status = await keel.lens.liquidationStatus(id!);
    const fee = await keel.amm.feeBps();
    const [reserve] = await keel.amm.pools(weth.target);
    const depth = maxSaleAtImpactDown(reserve, fee, IMPACT);
    expect(status.seizable[0]! > depth).to.equal(true);
    const arbitrageur = devWallet(8, node.provider);
    await borrowAgainstUsdc(keel, arbitrageur, 2_000_000n * E18);
    const oracle = await keel.oracle.getPrice(weth.target);

    let steps = 0;
    for (; steps < 8 && (await keel.engine.debtOf(id!)) > 0n; steps++) {
      const from = await node.provider.getBlockNumber();
      const head = await node.provider.getBlockNumber();
      const s = await keel.lens.liquidationStatus(id!, { blockTag: head });
      const reports = await pass(1);
      const receipts = await batchReceipts(keel, from + 1);
      expect(receipts.length, `step ${steps}: ${JSON.stringify(reports, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}, state ${(await keel.engine.stateOf(id!))[0]}`).to.be.greaterThan(0);
      const r = receipts[0]!;
      const sale = saleOf(keel, r);
      const venue = sale.venue === keel.amm.target ? keel.amm : keel.ammShallow;
      const [x] = await venue.pools(weth.target, { blockTag: r.blockNumber - 1 });
      const room = maxSaleAtImpactDown(x, await venue.feeBps(), IMPACT);
      expect(sale.amountIn <= room, `step ${steps}: sold ${sale.amountIn} > ${room}`).to.equal(true);
      const [step] = await expectExactSeizures(keel, r);
      if (s.seizable[0]! > room) {
        // Partial: the cap passed on chain is the status's repayment scaled to the room left.
        const tx = (await node.provider.getTransaction(r.hash))!;
        const [targets] = keel.flashLiquidator.interface.decodeFunctionData("liquidateBatch", tx.data) as unknown as [{ maxRepay: bigint }[]];
        expect(targets[0]!.maxRepay).to.equal((s.maxRepay[0]! * room) / s.seizable[0]!);
        expect(step!.repaid).to.equal(targets[0]!.maxRepay);
      }
      // Arbitrage brings both pools back to the oracle price before the next block's pass.
      for (const amm of [keel.amm, keel.ammShallow]) await arbitrageTo(amm, keel.kusd, weth, E18, oracle, arbitrageur);
    }
    expect(await keel.engine.debtOf(id!)).to.equal(0n);
    expect(steps).to.be.greaterThan(2);
    console.log(`      300 WETH position liquidated in ${steps} passes`);
    await checkInvariants(keel);
  });
});
