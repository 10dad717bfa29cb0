/**
 * Which direct liquidations a pass sends: for each Liquidatable position, the collateral whose seizure pays most
 * under the keeper's strategy (repaying from its own kUSD), sent only when the profit after gas reaches `minProfit`,
 * and only while the keeper's kUSD lasts. Positions it cannot take go back to the keeper (`declined`): flash batches
 * in "auto" mode, failures in "direct" mode.
 */
import { revertReason } from "../client/errors";
import { WAD } from "../math";
import type { AssessedPosition } from "./assessment";
import type { MarketSnapshot } from "./evaluate";
import type { LiquidationChoice, LiquidationStrategy } from "./liquidationStrategy";
import type { Logger } from "./log";
import type { PlannedAction } from "./plannedAction";
import type { IndexedPosition } from "./positionIndex";
import { mapLimit, type Rpc } from "./rpc";

export interface LiquidationPlan {
  actions: PlannedAction[];
  /** Positions no collateral of which this strategy could liquidate (every simulation failed, or too little kUSD). */
  declined: AssessedPosition[];
  /** Positions whose best liquidation pays less than `minProfit` after gas. */
  unprofitable: number;
}

export class LiquidationPlanner {
  constructor(
    private readonly rpc: Rpc,
    private readonly strategy: LiquidationStrategy,
    /** Prices the gas in kUSD: USD per ETH [wad] at this pass's market read. */
    private readonly prices: { ethPrice(market: MarketSnapshot): bigint },
    private readonly options: {
      /** Least profit [wad kUSD] after gas for a liquidation to be sent. */
      minProfit: bigint;
      /** Gas assumed for a liquidation when pricing it before simulation. */
      liquidationGas: bigint;
      /** Simulations in flight at once. */
      concurrency: number;
    },
    private readonly log: Logger,
  ) {}

  /** `items` in the order they should be sent. */
  async plan(items: readonly AssessedPosition[], head: number, market: MarketSnapshot): Promise<LiquidationPlan> {
    const plan: LiquidationPlan = { actions: [], declined: [], unprofitable: 0 };
    if (items.length === 0) return plan;
    const ethPrice = this.prices.ethPrice(market);
    const [fee, funds] = await Promise.all([this.rpc.call("feeData", (p) => p.getFeeData()), this.strategy.funds()]);
    const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
    const gasCost = (this.options.liquidationGas * gasPrice * ethPrice) / WAD; // [wad kUSD]
    let available = funds;
    const choices = await mapLimit(items, this.options.concurrency, ({ p }) => this.best(p, head, market, funds));
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const { p, h } = item;
      const choice = choices[i];
      if (!choice) {
        plan.declined.push(item);
        continue;
      }
      if (choice.profit - gasCost < this.options.minProfit) {
        plan.unprofitable++;
        this.log.info({ id: p.id, profit: choice.profit, gasCost }, "liquidation not profitable after gas: skipped");
        continue;
      }
      if (available < choice.pays) {
        plan.declined.push(item);
        continue;
      }
      available -= choice.pays;
      plan.actions.push({ kind: "liquidate", id: p.id, health: h, expectedProfit: choice.profit, ethPrice, req: choice.req });
    }
    return plan;
  }

  /** The collateral whose seizure pays most; undefined when no simulation succeeded. */
  private async best(p: IndexedPosition, head: number, market: MarketSnapshot, funds: bigint): Promise<LiquidationChoice | undefined> {
    let best: LiquidationChoice | undefined;
    for (const asset of Object.keys(p.collateral)) {
      try {
        const candidate = await this.strategy.simulate(p, asset, head, market, funds);
        if (candidate && (!best || candidate.profit > best.profit)) best = candidate;
      } catch (e) {
        this.log.debug({ id: p.id, asset, reason: revertReason(e) }, "liquidation simulation failed for this asset");
      }
    }
    return best;
  }
}
