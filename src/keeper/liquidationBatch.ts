/**
 * What goes into one `FlashLiquidator.liquidateBatch` transaction: positions in the pass's order (flagged first,
 * then worst HF), while the venue can take their collateral within the price-impact limit and the batch stays under
 * its gas budget. A position whose seizure would not fit whole is taken in part (its `maxRepay` capped so that the
 * seizure fills what is left of the depth); the rest of it waits for a later pass. An insolvent position cannot be
 * taken in part (the engine requires all it can pay, `MaxRepayTooLow`): it waits to lead a batch of its asset and
 * is then taken whole, beyond the depth, since waiting only lets its bad debt grow. Pure: no chain reads.
 */
import { MaxUint256 } from "ethers";
import type { Health } from "./sweep";
import type { IndexedPosition } from "./positionIndex";

/** A Liquidatable position and the liquidation the keeper would make of it now (from `Lens.liquidationStatus`). */
export interface Candidate {
  p: IndexedPosition;
  h: Health;
  /** The holding to seize (the one whose sale pays most). */
  asset: string;
  /** What one liquidation seizing `asset` repays now [wad]. */
  repay: bigint;
  /** What it seizes (token decimals of `asset`). */
  seize: bigint;
  /** The liquidation would record bad debt: it takes every holding and cannot be capped. */
  insolvent: boolean;
}

/** One target of a batch: the candidate, the cap passed on chain, and the collateral it is expected to seize. */
export interface BatchTarget {
  candidate: Candidate;
  /** type(uint256).max for a whole liquidation (what is due when mined); a cap [wad] for a partial one. */
  maxRepay: bigint;
  /** Expected seizure (token decimals): what the venue must absorb for it. */
  seize: bigint;
  partial: boolean;
}

/**
 * The next batch for a venue: `queue`'s candidates in order, each whole while `room` (per asset, lower case, token
 * decimals: the venue's remaining depth at the impact limit) holds its seizure, the first that does not fit taken in
 * part up to the room left, those whose asset has no room left skipped; at most `maxTargets`.
 */
export function composeBatch(queue: readonly Candidate[], room: ReadonlyMap<string, bigint>, maxTargets: number): BatchTarget[] {
  const left = new Map(room);
  const targets: BatchTarget[] = [];
  for (const c of queue) {
    if (targets.length >= maxTargets) break;
    const key = c.asset.toLowerCase();
    const free = left.get(key) ?? 0n;
    if (free === 0n || c.seize === 0n) continue;
    if (c.seize <= free) {
      targets.push({ candidate: c, maxRepay: MaxUint256, seize: c.seize, partial: false });
      left.set(key, free - c.seize);
      continue;
    }
    if (c.insolvent) {
      // Whole or not at all: first on its asset's untouched depth, otherwise in a later batch.
      if (free !== room.get(key)) continue;
      targets.push({ candidate: c, maxRepay: MaxUint256, seize: c.seize, partial: false });
      left.set(key, 0n);
      continue;
    }
    // Seizure is proportional to repayment at one state: cap the repayment so the seizure fills the room left.
    const repay = (c.repay * free) / c.seize;
    left.set(key, 0n);
    if (repay === 0n) continue;
    targets.push({ candidate: c, maxRepay: repay, seize: free, partial: true });
  }
  return targets;
}

/** Collateral [token decimals] each asset (lower case) of `targets` puts on the venue. */
export function salesOf(targets: readonly BatchTarget[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const t of targets) {
    const key = t.candidate.asset.toLowerCase();
    out.set(key, (out.get(key) ?? 0n) + t.seize);
  }
  return out;
}
