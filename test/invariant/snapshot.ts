/**
 * One consistent read of the chain at a block tag: every open position (through `Lens.positions`) and the market
 * (prices, rates). Read at "pending" with the next block's time pinned, it shows the state an action will meet,
 * accrued to the action's own timestamp; read at "latest" afterwards, the state it left, at the same timestamp.
 */
import type { BlockTag } from "ethers";
import type { Keel } from "../../deploy";

export interface PositionState {
  id: bigint;
  owner: string;
  assets: string[];
  amounts: bigint[];
  assetValues: bigint[];
  debt: bigint;
  hf: bigint;
  hfInitial: bigint;
  priced: boolean;
  /** The margin HF could be computed (every price, or a basket with a failed holding valued at zero). */
  valued: boolean;
}

export interface Snapshot {
  timestamp: bigint;
  positions: Map<bigint, PositionState>;
  prices: Map<string, bigint>; // only assets whose price reads succeed
  rates: Map<string, bigint>; // class → accumulator [ray] as of `timestamp`
}

export async function readSnapshot(w: { keel: Keel }, blockTag: BlockTag): Promise<Snapshot> {
  const { lens, engine } = w.keel;
  const last = await engine.lastPositionId({ blockTag });
  const market = await lens.market({ blockTag });
  const views = last === 0n ? [] : await lens.positions(1n, last, { blockTag });
  const positions = new Map<bigint, PositionState>();
  for (const v of views) {
    positions.set(v.id, {
      id: v.id,
      owner: v.owner,
      assets: [...v.assets],
      amounts: [...v.amounts],
      assetValues: [...v.assetValues],
      debt: v.debt,
      hf: v.hf,
      hfInitial: v.hfInitial,
      priced: v.priced,
      valued: v.valued,
    });
  }
  const prices = new Map<string, bigint>();
  market.assets.forEach((a, i) => {
    if (market.priced[i]) prices.set(a, market.prices[i]!);
  });
  const rates = new Map<string, bigint>();
  market.classes.forEach((c, i) => rates.set(c, market.rates[i]!));
  return { timestamp: market.timestamp, positions, prices, rates };
}

/** The amount of `asset` a position state holds (0 if none). */
export function amountOf(s: PositionState, asset: string): bigint {
  const i = s.assets.findIndex((a) => a.toLowerCase() === asset.toLowerCase());
  return i < 0 ? 0n : s.amounts[i]!;
}
