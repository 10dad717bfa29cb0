/**
 * What a pass decided to send, kept beside its transaction so the outcome can be counted, priced and noticed
 * without re-deriving why it was sent. Margin calls and clears are built here; direct liquidations come from the
 * liquidation planner, flash batches from the batch planner, pokes and fee collections from the upkeep schedule.
 */
import type { KeelConnection, SwapVenueName } from "../client/manifest";
import type { TxRequest } from "./sender";
import type { Health } from "./sweep";

export type PlannedAction =
  | {
      kind: "liquidate";
      req: TxRequest;
      id: bigint;
      health: Health;
      /** Simulated profit [wad kUSD] before gas. */
      expectedProfit: bigint;
      /** USD per ETH [wad] the gas was priced with when it was planned. */
      ethPrice: bigint;
    }
  | {
      kind: "liquidateBatch";
      req: TxRequest;
      /** The positions of the batch, in the order the transaction attempts them. */
      targets: BatchedPosition[];
      /** The venue the batch sells on (the one whose simulation paid most). */
      venue: SwapVenueName;
      /** Simulated profit [wad kUSD] of the whole batch, before gas. */
      expectedProfit: bigint;
      /** USD per ETH [wad] the gas was priced with when it was planned. */
      ethPrice: bigint;
    }
  | { kind: "marginCall" | "clearMarginCall"; req: TxRequest; id: bigint; health: Health }
  | { kind: "pokeAll" | "collectFees"; req: TxRequest };

/** A planned flash batch. */
export type BatchAction = Extract<PlannedAction, { kind: "liquidateBatch" }>;

/** One position of a flash batch. */
export interface BatchedPosition {
  id: bigint;
  health: Health;
  /** The holding seized. */
  asset: string;
  /** The cap passed on chain [wad]: type(uint256).max, or less for a partial liquidation (the venue's depth). */
  maxRepay: bigint;
  partial: boolean;
}

/** Opens or clears the margin call of position `id` through the engine. */
export function marginCallAction(engine: KeelConnection["engine"], kind: "marginCall" | "clearMarginCall", id: bigint, health: Health): PlannedAction {
  return {
    kind,
    id,
    health,
    req: {
      to: engine.target as string,
      data:
        kind === "marginCall"
          ? engine.interface.encodeFunctionData("marginCall", [id])
          : engine.interface.encodeFunctionData("clearMarginCall", [id]),
      kind,
      context: { id, hf: health.hf },
    },
  };
}
