/**
 * What a pass's actions came to: counts for the pass report, the Prometheus counters, and liquidation profit
 * after gas as realised (FlashLiquidated's profit from the receipt), so the numbers say what happened on chain,
 * not what was planned.
 */
import type { KeelConnection } from "../client/manifest";
import { WAD } from "../math";
import type { Logger } from "./log";
import type { KeeperMetrics } from "./metrics";
import type { PlannedAction } from "./plannedAction";
import type { SendOutcome } from "./sender";

/** The pass report's action counts. */
export interface ActionCounts {
  marginCalls: number;
  cleared: number;
  liquidations: number;
  alreadyDone: number;
  failed: number;
  unprofitable: number;
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
  profit: 0n,
});

type Mined = Extract<SendOutcome, { status: "mined" }>;

export class OutcomeAccounting {
  constructor(
    private readonly keel: KeelConnection,
    private readonly metrics: KeeperMetrics,
    private readonly log: Logger,
  ) {}

  /** Adds the outcome of each planned action (`outcomes[i]` of `planned[i]`) to `counts` and the metrics. */
  record(planned: readonly PlannedAction[], outcomes: readonly SendOutcome[], counts: ActionCounts): void {
    const m = this.metrics;
    for (let i = 0; i < planned.length; i++) {
      const plan = planned[i]!;
      const out = outcomes[i]!;
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
