/**
 * How a Liquidatable position is liquidated one at a time: the interface of a per-position strategy (the keeper's
 * own kUSD, `DirectLiquidation`), so the planner asks "what would liquidating this pay?" without knowing which way
 * it is done. Flash liquidations go in batches instead (`FlashBatchPlanner`). The `liquidation` option picks: "direct",
 * "flash", or "auto" (direct while the keeper's kUSD lasts, flash batches for the rest).
 */
import type { MarketSnapshot } from "./evaluate";
import type { IndexedPosition } from "./positionIndex";
import type { TxRequest } from "./sender";

/** "flash": FlashLiquidator batches; "direct": repay from the keeper's kUSD; "auto": direct while it holds enough. */
export type LiquidationMode = "auto" | "flash" | "direct";

/** One way to liquidate a position, with its simulated profit [wad kUSD] before gas. */
export interface LiquidationChoice {
  req: TxRequest;
  profit: bigint;
  /** kUSD the keeper pays from its balance. */
  pays: bigint;
}

export interface LiquidationStrategy {
  /** kUSD [wad] the keeper can repay from its own balance this pass (0 without an RPC call when it never does). */
  funds(): Promise<bigint>;
  /**
   * Simulates seizing `asset` of `position` at block `head`. Undefined when this strategy cannot do it (not enough
   * kUSD, no price); a failing simulation may throw.
   */
  simulate(position: IndexedPosition, asset: string, head: number, market: MarketSnapshot, funds: bigint): Promise<LiquidationChoice | undefined>;
}
