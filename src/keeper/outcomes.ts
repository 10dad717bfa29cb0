/**
 * What a pass's actions came to: counts for the pass report, the Prometheus counters, and liquidation profit
 * after gas as realised (FlashLiquidated's or BatchLiquidated's profit from the receipt), so the numbers say what
 * happened on chain, not what was planned. A flash batch counts each of its positions from the receipt's events:
 * liquidated (the engine's `Liquidated`), or skipped (`LiquidationSkipped`) — done by someone else first when the
 * reason means so (`NotLiquidatable`, …: success), failed otherwise.
 */
import type { KeelConnection } from "../client/manifest";
import { revertReason } from "../client/errors";
import { WAD } from "../math";
import type { Logger } from "./log";
import type { KeeperMetrics } from "./metrics";
import type { BatchAction, PlannedAction } from "./plannedAction";
import { ALREADY_DONE, type SendOutcome } from "./sender";

/** The pass report's action counts. */
export interface ActionCounts {
  marginCalls: number;
  cleared: number;
  liquidations: number;
  alreadyDone: number;
  failed: number;
  unprofitable: number;
  /** Liquidatable positions left for a later pass: no venue depth left for them at the price-impact limit. */
  deferred: number;
  /** [wad kUSD] realised liquidation profit after gas. */
  profit: bigint;
}

export const noActions = (): ActionCounts => ({
  marginCalls: 0,
  cleared: 0,
  liquidations: 0,
  alreadyDone: 0,
  failed: 0,
  unprofitable: 0,
  deferred: 0,
  profit: 0n,
});

type Mined = Extract<SendOutcome, { status: "mined" }>;

export class OutcomeAccounting {
  constructor(
    private readonly keel: KeelConnection,
    private readonly metrics: KeeperMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * Adds the outcome of each planned action (`outcomes[i]` of `planned[i]`) to `counts` and the metrics.
   * `doneElsewhere` holds, for a flash batch that reverted on chain, its targets someone else did first.
   */
  record(
    planned: readonly PlannedAction[],
    outcomes: readonly SendOutcome[],
    counts: ActionCounts,
    doneElsewhere: ReadonlyMap<PlannedAction, ReadonlySet<bigint>> = new Map(),
  ): void {
    const m = this.metrics;
    for (let i = 0; i < planned.length; i++) {
      const plan = planned[i]!;
      const out = outcomes[i]!;
      if (plan.kind === "liquidateBatch") {
        this.recordBatch(plan, out, counts, doneElsewhere.get(plan) ?? new Set());
        continue;
      }
      if (out.status === "alreadyDone") {
        counts.alreadyDone++;
        m.alreadyDone.inc();
        continue;
      }
      if (out.status === "failed" || out.status === "revertedOnChain") {
        counts.failed++;
        m.txFailures.inc();
        this.log.warn({ kind: plan.kind, id: "id" in plan ? plan.id : undefined, outcome: out }, "action failed");
        continue;
      }
      if (out.status !== "mined") continue;
      switch (plan.kind) {
        case "liquidate": {
          counts.liquidations++;
          m.liquidations.inc();
          const profit = this.realisedProfit(plan, out);
          counts.profit += profit;
          if (profit > 0n) m.profitKusd.inc(Number(profit) / 1e18);
          break;
        }
        case "marginCall":
          counts.marginCalls++;
          m.marginCalls.inc();
          break;
        case "clearMarginCall":
          counts.cleared++;
          m.callsCleared.inc();
          break;
        case "pokeAll":
          m.pokes.inc();
          break;
        case "collectFees":
          m.feeCollections.inc();
          break;
      }
    }
  }

  /** Targets of flash batches dropped before sending because they were no longer Liquidatable: already done. */
  recordDoneBeforeSending(ids: readonly bigint[], counts: ActionCounts): void {
    counts.alreadyDone += ids.length;
    this.metrics.alreadyDone.inc(ids.length);
  }

  /**
   * Each position of a flash batch, from the receipt's events. A batch that reverted on chain counts each target
   * in `doneElsewhere` (no longer Liquidatable at its block) as already done and fails the others; a batch that
   * failed otherwise fails each of them.
   */
  private recordBatch(plan: BatchAction, out: SendOutcome, counts: ActionCounts, doneElsewhere: ReadonlySet<bigint>): void {
    const m = this.metrics;
    const n = plan.targets.length;
    if (out.status === "alreadyDone") {
      counts.alreadyDone += n;
      m.alreadyDone.inc(n);
      return;
    }
    if (out.status === "revertedOnChain") {
      const done = plan.targets.filter((t) => doneElsewhere.has(t.id)).map((t) => t.id);
      const failed = plan.targets.filter((t) => !doneElsewhere.has(t.id)).map((t) => t.id);
      counts.alreadyDone += done.length;
      m.alreadyDone.inc(done.length);
      if (done.length > 0) this.log.info({ ids: done, hash: out.hash }, "batch reverted: its targets were already done by someone else");
      counts.failed += failed.length;
      if (failed.length > 0) {
        m.txFailures.inc();
        this.log.warn({ kind: plan.kind, ids: failed, outcome: out }, "batch failed");
      }
      return;
    }
    if (out.status === "failed") {
      counts.failed += n;
      m.txFailures.inc();
      this.log.warn({ kind: plan.kind, ids: plan.targets.map((t) => t.id), outcome: out }, "batch failed");
      return;
    }
    if (out.status !== "mined") return;
    const fl = this.keel.flashLiquidator;
    const engine = this.keel.engine;
    const liquidated = new Set<bigint>();
    const skipped = new Map<bigint, string>();
    let profit = plan.expectedProfit;
    for (const log of out.receipt.logs) {
      const from = (log.address as string).toLowerCase();
      if (from === (engine.target as string).toLowerCase()) {
        const parsed = engine.interface.parseLog(log);
        if (parsed?.name === "Liquidated") liquidated.add(parsed.args.getValue("id") as bigint);
      } else if (from === (fl.target as string).toLowerCase()) {
        const parsed = fl.interface.parseLog(log);
        if (parsed?.name === "LiquidationSkipped") {
          skipped.set(parsed.args.getValue("id") as bigint, revertReason({ data: parsed.args.getValue("reason") as string }));
        }
        if (parsed?.name === "BatchLiquidated") profit = parsed.args.getValue("profit") as bigint;
      }
    }
    for (const t of plan.targets) {
      if (liquidated.has(t.id)) {
        counts.liquidations++;
        m.liquidations.inc();
        this.log.info({ id: t.id, asset: t.asset, partial: t.partial, hash: out.hash }, "liquidated in a batch");
        continue;
      }
      const reason = skipped.get(t.id) ?? "not in the receipt";
      if (ALREADY_DONE.has(reason.split("(")[0]!)) {
        counts.alreadyDone++;
        m.alreadyDone.inc();
        this.log.info({ id: t.id, reason, hash: out.hash }, "skipped by the batch: already done");
      } else {
        counts.failed++;
        m.batchSkips.inc();
        this.log.warn({ id: t.id, reason, hash: out.hash }, "skipped by the batch");
      }
    }
    const afterGas = profit - (out.gasCost * plan.ethPrice) / WAD;
    counts.profit += afterGas;
    if (afterGas > 0n) m.profitKusd.inc(Number(afterGas) / 1e18);
  }

  /** Profit after gas [wad kUSD]: FlashLiquidated's profit from the receipt (direct: the expected value). */
  private realisedProfit(plan: Extract<PlannedAction, { kind: "liquidate" }>, out: Mined): bigint {
    const fl = this.keel.flashLiquidator;
    let profit = plan.expectedProfit;
    for (const log of out.receipt.logs) {
      if ((log.address as string).toLowerCase() !== (fl.target as string).toLowerCase()) continue;
      const parsed = fl.interface.parseLog(log);
      if (parsed?.name === "FlashLiquidated") profit = parsed.args.getValue("profit") as bigint;
    }
    return profit - (out.gasCost * plan.ethPrice) / WAD;
  }
}
