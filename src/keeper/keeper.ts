/**
 * The keeper's loop: on every new block, one pass — index positions, assess their health, decide what to send,
 * send it, account for the outcome. Each job is a part with one file (docs/spec.md §9): PositionIndex (position
 * source), HealthAssessor (evaluation), PriceSource (feed updates and failing feeds), LiquidationPlanner over
 * DirectLiquidation (own kUSD) and FlashBatchPlanner over SwapVenues (FlashLiquidator batches; which of the two, or
 * both, is chosen once here), UpkeepSchedule (pokes, fees), TxSender (sending),
 * OutcomeAccounting (counts, profit) and MarginCallNotifier (webhook notices). This file only wires them.
 */
import type { KeelConnection } from "../client/manifest";
import { shortMessage } from "../client/errors";
import { MarginState, marginStateAt, WAD } from "../math";
import { type AssessedPosition, HealthAssessor } from "./assessment";
import { DirectLiquidation } from "./directLiquidation";
import { type MarketSnapshot, toSnapshot } from "./evaluate";
import { type BatchPlan, FlashBatchPlanner } from "./flashBatchPlanner";
import { LiquidationPlanner } from "./liquidationPlanner";
import type { LiquidationPriceIndex } from "./liquidationPrices";
import type { LiquidationMode } from "./liquidationStrategy";
import type { Logger } from "./log";
import { MarginCallNotifier } from "./marginCallNotifier";
import type { HealthReport, KeeperMetrics } from "./metrics";
import { type ActionCounts, noActions, OutcomeAccounting } from "./outcomes";
import { marginCallAction, type PlannedAction } from "./plannedAction";
import type { PositionIndex } from "./positionIndex";
import { PriceSource } from "./priceSource";
import { type Rpc, sleep, TX_GAS_CAP } from "./rpc";
import type { SendOutcome, TxSender } from "./sender";
import { HealthSweeper } from "./sweep";
import { SwapVenues } from "./swapVenues";
import { UpkeepSchedule } from "./upkeep";
import type { Webhook } from "./webhook";

export interface KeeperOptions {
  /** This instance acts on positions with id % count === index; shard 0 also pokes and collects fees. */
  shard: { index: number; count: number };
  /** Estimated gas one healthScan eth_call is planned to (each runs with the transaction cap: room for misestimates). */
  gasBudget: number;
  /** Parallel healthScan calls. */
  concurrency: number;
  /** Least profit [wad kUSD] after gas for a liquidation to be sent. */
  minProfit: bigint;
  /** "flash": FlashLiquidator batches; "direct": repay from the keeper's kUSD; "auto": direct while it holds enough. */
  liquidation: LiquidationMode;
  /** Largest price impact [wad] a pass's flash sales of one asset may have on one venue: larger liquidations are split. */
  maxPriceImpact: bigint;
  /** Gas one flash batch is simulated and sent with (at most the 16,777,216 transaction cap). */
  batchGasLimit: bigint;
  /** Gas assumed per position when composing a flash batch, before its exact simulation (above the measured cost). */
  batchTargetGas: bigint;
  /** [s] between volatility pokes (0 = never). */
  pokeEvery: number;
  /** [s] between fee collections (0 = never). */
  collectFeesEvery: number;
  /** How often to look for a new block. */
  pollMs: number;
  /** Gas assumed for a liquidation when pricing it before simulation. */
  liquidationGas: bigint;
  /** --once: passes to run at most while actions keep succeeding. */
  maxPasses: number;
  /** Positions whose local HF is below this [wad] are confirmed through Lens.healthScan before acting. */
  confirmBelow: bigint;
  /** Every this many passes, every position is read through Lens.healthScan (1 = always; 0 = never). */
  fullSweepEvery: number;
}

export const DEFAULT_KEEPER: KeeperOptions = {
  shard: { index: 0, count: 1 },
  gasBudget: 15_000_000,
  concurrency: 4,
  minProfit: 0n,
  liquidation: "auto",
  maxPriceImpact: (WAD * 2n) / 100n,
  batchGasLimit: TX_GAS_CAP,
  // Measured: 68,910 per isolated position beyond the first (docs/gas.md); cross baskets cost more.
  batchTargetGas: 80_000n,
  pokeEvery: 3600,
  collectFeesEvery: 6 * 3600,
  pollMs: 500,
  liquidationGas: 350_000n,
  maxPasses: 10,
  confirmBelow: (WAD * 105n) / 100n,
  fullSweepEvery: 100,
};

export interface KeeperDeps {
  rpc: Rpc;
  keel: KeelConnection;
  index: PositionIndex;
  sender: TxSender;
  metrics: KeeperMetrics;
  log: Logger;
  webhook?: Webhook;
  options: KeeperOptions;
}

export interface PassReport extends ActionCounts {
  head: number;
  timestamp: bigint;
  indexed: number;
  swept: number;
  callable: number;
  called: number;
  liquidatable: number;
  /** Positions with a failing price among their collateral (acted on where the margin valuation allows). */
  unpriced: number;
  /** Positions that cannot be valued at all (an isolated position's feed, or every cross price, failing): no action. */
  unvalued: number;
  rpcCalls: number;
  /** Positions whose local health was read again through Lens.healthScan (near the threshold, or all on a full sweep). */
  confirmed: number;
  /** Confirmed positions whose local health differed from the chain's (0 unless the mirror is wrong). */
  mismatches: number;
  sweepMs: number;
  durationMs: number;
}

export class Keeper {
  readonly sweeper: HealthSweeper;
  readonly liquidationPrices: LiquidationPriceIndex;
  private readonly assessor: HealthAssessor;
  private readonly prices: PriceSource;
  /** Direct liquidations (modes "direct" and "auto"). */
  private readonly direct?: LiquidationPlanner;
  /** Flash batches (modes "flash" and "auto"). */
  private readonly flash?: FlashBatchPlanner;
  private readonly upkeep: UpkeepSchedule;
  private readonly accounting: OutcomeAccounting;
  private readonly notifier?: MarginCallNotifier;
  /** The last pass had failed actions: run again without waiting for a block. */
  private retry = false;
  private lastSweptBlock = 0;
  private lastSweepAt?: Date;
  private rpcUp = true;

  constructor(private readonly d: KeeperDeps) {
    const { rpc, keel, metrics, log, options } = d;
    this.sweeper = new HealthSweeper(rpc, keel.lens, options.gasBudget, options.concurrency);
    this.assessor = new HealthAssessor(this.sweeper, options, metrics, log);
    this.prices = new PriceSource(rpc, keel, log);
    this.liquidationPrices = this.prices.liquidationPrices;
    const mode = options.liquidation;
    if (mode !== "flash") this.direct = new LiquidationPlanner(rpc, new DirectLiquidation(rpc, keel, d.sender.address), this.prices, options, log);
    if (mode !== "direct") {
      const venues = new SwapVenues(rpc, keel, options.concurrency);
      this.flash = new FlashBatchPlanner(rpc, keel, d.sender.address, venues, this.prices, options, log);
    }
    this.upkeep = new UpkeepSchedule(rpc, keel, options);
    this.accounting = new OutcomeAccounting(keel, metrics, log);
    if (d.webhook) this.notifier = new MarginCallNotifier(d.webhook, keel, rpc.chainId);
  }

  private get o(): KeeperOptions {
    return this.d.options;
  }

  /** One complete pass at the current head: index, sweep, act on everything actionable, wait for receipts. */
  async pass(): Promise<PassReport> {
    const started = Date.now();
    const callsBefore = this.d.rpc.totalCalls;
    const head = await this.d.rpc.call("blockNumber", (p) => p.getBlockNumber());
    await this.d.index.sync(head);
    const positions = this.d.index.positions();
    const sweepStart = Date.now();
    const market = toSnapshot(await this.d.rpc.call("market", () => this.d.keel.lens.market({ blockTag: head })));
    const timestamp = market.timestamp;
    const { health, confirmed, mismatches } = await this.assessor.assess(positions, market, head, this.prices.flagged);
    const sweepMs = Date.now() - sweepStart;
    const report: PassReport = {
      head,
      timestamp,
      indexed: positions.length,
      swept: health.size,
      callable: 0,
      called: 0,
      liquidatable: 0,
      unpriced: 0,
      unvalued: 0,
      ...noActions(),
      rpcCalls: 0,
      confirmed,
      mismatches,
      sweepMs,
      durationMs: 0,
    };

    const liquidatable: AssessedPosition[] = [];
    const planned: PlannedAction[] = [];
    let atRisk = 0;
    const unpriced: AssessedPosition[] = [];
    for (const p of positions) {
      const h = health.get(p.id);
      if (!h) continue;
      if (!h.priced) {
        report.unpriced++;
        unpriced.push({ p, h });
      }
      if (!h.valued) {
        report.unvalued++;
        continue; // nothing to act on until the feed is back
      }
      if (h.hf < (WAD * 11n) / 10n) atRisk++;
      const state = marginStateAt(h.hf, p.deadline, market.criticalHF, timestamp);
      if (state === MarginState.Callable) report.callable++;
      if (state === MarginState.Called) report.called++;
      if (state === MarginState.Liquidatable) report.liquidatable++;
      if (!this.mine(p.id)) continue;
      if (state === MarginState.Liquidatable) liquidatable.push({ p, h });
      else if (state === MarginState.Callable) planned.push(marginCallAction(this.d.keel.engine, "marginCall", p.id, h));
      else if (state === MarginState.Safe && p.deadline !== 0n) {
        planned.push(marginCallAction(this.d.keel.engine, "clearMarginCall", p.id, h));
      }
    }
    if (unpriced.length > 0) await this.prices.reportFailingFeeds(unpriced, market, head);
    this.prices.rebuildLiquidationPrices(positions, health, market);
    // Positions a price update flagged first, then the worst.
    const flagged = this.prices.flagged;
    const rank = (x: AssessedPosition): number => (flagged.has(x.p.id) ? 0 : 1);
    liquidatable.sort((a, b) => rank(a) - rank(b) || (a.h.hf < b.h.hf ? -1 : 1));
    this.prices.clearFlagged();
    const liquidations = await this.planLiquidations(liquidatable, head, market);
    report.failed += liquidations.failed;
    report.unprofitable += liquidations.unprofitable;
    report.deferred += liquidations.deferred;
    planned.unshift(...liquidations.actions);
    planned.push(...(await this.upkeep.due(timestamp, head)));

    const sending = await this.recheckBatches(planned, report);
    // Liquidations (direct and batched) go through the private relay when one is configured.
    const isLiquidation = (x: PlannedAction): boolean => x.kind === "liquidate" || x.kind === "liquidateBatch";
    const outcomes = await this.d.sender.sendAll(sending.map((x) => (isLiquidation(x) ? { ...x.req, private: true } : x.req)));
    this.accounting.record(sending, outcomes, report, await this.explainRevertedBatches(sending, outcomes));
    await this.notifier?.notifyMined(sending, outcomes);

    this.lastSweptBlock = head;
    this.lastSweepAt = new Date();
    report.rpcCalls = this.d.rpc.totalCalls - callsBefore;
    report.durationMs = Date.now() - started;
    const m = this.d.metrics;
    m.positionsIndexed.set(positions.length);
    m.positionsAtRisk.set(atRisk);
    m.liquidatable.set(report.liquidatable);
    m.positionsUnpriced.set(report.unpriced);
    m.positionsUnvalued.set(report.unvalued);
    m.headBlock.set(head);
    m.lagBlocks.set(0);
    m.sweepSeconds.set(sweepMs / 1000);
    this.d.log.info({ pass: report }, "pass");
    return report;
  }

  /** `--once`: passes until one has nothing left to do (or `maxPasses`), all receipts awaited. */
  async runOnce(): Promise<PassReport[]> {
    const reports: PassReport[] = [];
    for (let i = 0; i < this.o.maxPasses; i++) {
      const r = await this.pass();
      reports.push(r);
      // Done when a pass neither acted nor failed to act; a failed action is retried by the next pass.
      if (r.marginCalls + r.cleared + r.liquidations === 0 && r.failed === 0) break;
    }
    return reports;
  }

  /** Runs until `signal` aborts: a pass on every new block; a price-feed update first checks the positions it made
   * unsafe. RPC failures are logged and retried with backoff; the loop never exits on them. */
  async run(signal: AbortSignal): Promise<void> {
    let backoff = this.o.pollMs;
    while (!signal.aborted) {
      try {
        const head = await this.d.rpc.call("blockNumber", (p) => p.getBlockNumber());
        this.d.metrics.headBlock.set(head);
        this.d.metrics.lagBlocks.set(Math.max(0, head - this.lastSweptBlock));
        this.rpcUp = true;
        // A new block, or a retry of actions that failed in the last pass.
        if (head > this.lastSweptBlock || this.retry) {
          await this.prices.watchFeeds(head, this.lastSweptBlock);
          const r = await this.pass();
          this.retry = r.failed > 0;
        }
        backoff = this.o.pollMs;
        await sleep(this.o.pollMs, signal);
      } catch (e) {
        this.rpcUp = false;
        this.d.metrics.rpcErrors.inc();
        this.d.log.error({ error: shortMessage(e), retryInMs: backoff }, "pass failed; retrying");
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  health(): HealthReport {
    const lag = Math.max(0, this.d.index.head - this.lastSweptBlock);
    return {
      healthy: this.rpcUp && this.lastSweepAt !== undefined && lag <= 5,
      head: this.d.index.head,
      lastSweptBlock: this.lastSweptBlock,
      lagBlocks: lag,
      lastSweepAt: this.lastSweepAt?.toISOString(),
      rpcUp: this.rpcUp,
    };
  }

  /** Direct liquidations first while the keeper's kUSD lasts, flash batches for the rest (by the `liquidation` mode). */
  private async planLiquidations(items: AssessedPosition[], head: number, market: MarketSnapshot): Promise<BatchPlan> {
    const plan: BatchPlan = { actions: [], failed: 0, unprofitable: 0, deferred: 0 };
    let rest: readonly AssessedPosition[] = items;
    if (this.direct) {
      const direct = await this.direct.plan(rest, head, market);
      plan.actions.push(...direct.actions);
      plan.unprofitable += direct.unprofitable;
      rest = direct.declined;
    }
    if (!this.flash) {
      plan.failed += rest.length;
      return plan;
    }
    const flash = await this.flash.plan(rest, head, market);
    plan.actions.push(...flash.actions);
    plan.failed += flash.failed;
    plan.unprofitable += flash.unprofitable;
    plan.deferred += flash.deferred;
    return plan;
  }

  /**
   * `planned` with each flash batch checked again at the pending block right before sending (the pass planned at
   * `head`; another keeper may have been mined since): targets done meanwhile are dropped and counted as already
   * done, a batch with nothing left is not sent.
   */
  private async recheckBatches(planned: readonly PlannedAction[], report: PassReport): Promise<PlannedAction[]> {
    const flash = this.flash;
    if (!flash || !planned.some((x) => x.kind === "liquidateBatch")) return [...planned];
    const fee = await this.d.rpc.call("feeData", (p) => p.getFeeData());
    const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
    const out: PlannedAction[] = [];
    for (const x of planned) {
      if (x.kind !== "liquidateBatch") {
        out.push(x);
        continue;
      }
      const r = await flash.recheck(x, gasPrice);
      this.accounting.recordDoneBeforeSending(r.done, report);
      report.failed += r.failed;
      report.unprofitable += r.unprofitable;
      if (r.action) out.push(r.action);
    }
    return out;
  }

  /** For each flash batch that reverted on chain, its targets someone else did first (read at its block). */
  private async explainRevertedBatches(sent: readonly PlannedAction[], outcomes: readonly SendOutcome[]): Promise<Map<PlannedAction, ReadonlySet<bigint>>> {
    const out = new Map<PlannedAction, ReadonlySet<bigint>>();
    const flash = this.flash;
    if (!flash) return out;
    for (let i = 0; i < sent.length; i++) {
      const x = sent[i]!;
      const o = outcomes[i];
      if (x.kind !== "liquidateBatch" || o?.status !== "revertedOnChain") continue;
      // Unexplained (the node failing now) leaves the targets failed: the next pass plans them afresh.
      const done = await flash.doneBeforeRevert(x, o.hash).catch((e: unknown) => {
        this.d.log.warn({ hash: o.hash, error: shortMessage(e) }, "could not read a reverted batch's targets");
        return new Set<bigint>();
      });
      out.set(x, done);
    }
    return out;
  }

  /** This instance acts on positions with id % count === index. */
  private mine(id: bigint): boolean {
    return id % BigInt(this.o.shard.count) === BigInt(this.o.shard.index);
  }
}
