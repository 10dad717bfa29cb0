/**
 * "Would it have recovered?" for a liquidated position: its collateral and normalized debt just before its first
 * liquidation (read at the block before), left untouched to the end of the scenario, valued at the final oracle
 * prices, σ in force and debt rates through the keeper's `src/math` evaluation (the same numbers as
 * Lens.healthScan). HF ≥ 1 there means the liquidation took a position that the path alone would have left Safe.
 */
import type { KeelConnection } from "../src/client/manifest";
import { evaluate, type MarketSnapshot } from "../src/keeper/evaluate";
import type { IndexedPosition } from "../src/keeper/positionIndex";
import { WAD } from "../src/math";

/** A position as it stood before its first liquidation. */
export interface PreLiquidation {
  /** The block the state is read at (the liquidation's block − 1). */
  block: number;
  position: IndexedPosition;
  /** [wad] HF then, as the engine reported it. */
  hf: bigint;
  /** [wad] debt then. */
  debt: bigint;
}

const ISOLATED = 0;

/** Reads position `id` at `block` from the engine. */
export async function readPreLiquidation(keel: Pick<KeelConnection, "engine" | "assets">, id: bigint, block: number): Promise<PreLiquidation> {
  const at = { blockTag: block };
  const [info, [hf], debt] = await Promise.all([
    keel.engine.positionInfo(id, at),
    keel.engine.healthFactor(id, at),
    keel.engine.debtOf(id, at),
  ]);
  const collateral: Record<string, bigint> = {};
  for (const a of Object.values(keel.assets)) {
    const address = (a.token.target as string).toLowerCase();
    const amount = await keel.engine.collateralOf(id, address, at);
    if (amount > 0n) collateral[address] = amount;
  }
  const mode = Number(info.mode) === ISOLATED ? 0 : 1;
  const position: IndexedPosition = {
    id,
    mode,
    asset: mode === 0 ? info.classKey.toLowerCase() : undefined,
    collateral,
    normDebt: info.normDebt,
    deadline: 0n,
  };
  return { block, position, hf, debt };
}

/** HF [wad] of the pre-liquidation position in `market` (the scenario's end); 0 when it cannot be priced. */
export function hfAtEnd(pre: PreLiquidation, market: MarketSnapshot): bigint {
  const h = evaluate(pre.position, market);
  return h?.priced ? h.hf : 0n;
}

export const recovered = (hf: bigint): boolean => hf >= WAD;
