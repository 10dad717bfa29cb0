/**
 * How a Liquidatable position is liquidated: through FlashLiquidator (flash-minted kUSD, collateral sold on the
 * AMM) or from the keeper's own kUSD. The keeper picks one strategy when it is built (`liquidation` option), so
 * the pass asks "what would liquidating this pay?" without knowing which way it is done.
 */
import type { MarketSnapshot } from "./evaluate";
import type { IndexedPosition } from "./positionIndex";
import type { TxRequest } from "./sender";

/** "flash": always FlashLiquidator; "direct": repay from the keeper's kUSD; "auto": direct when it holds enough. */
export type LiquidationMode = "auto" | "flash" | "direct";

/** One way to liquidate a position, with its simulated profit [wad kUSD] before gas. */
export interface LiquidationChoice {
  req: TxRequest;
  profit: bigint;
  /** kUSD the keeper pays from its balance (0 through FlashLiquidator). */
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

/** "auto": repay from the keeper's kUSD when it holds enough, otherwise through FlashLiquidator. */
export class DirectElseFlash implements LiquidationStrategy {
  constructor(
    private readonly direct: LiquidationStrategy,
    private readonly flash: LiquidationStrategy,
  ) {}

  funds(): Promise<bigint> {
    return this.direct.funds();
  }

  async simulate(position: IndexedPosition, asset: string, head: number, market: MarketSnapshot, funds: bigint): Promise<LiquidationChoice | undefined> {
    return (await this.direct.simulate(position, asset, head, market, funds)) ?? this.flash.simulate(position, asset, head, market, funds);
  }
}
