/**
 * Isolated positions indexed by liquidation price, per asset. An isolated position's HF is linear in its
 * asset's price (value and maintenance loss both scale with it), so from a sweep at price P0 its liquidation
 * price is p* = P0 / HF0 — the closed form debt × unit / (amount × (1 − max(zm σ, hm))) without reading σ. When a
 * feed moves to P, every position with p* ≥ P is newly unsafe and is checked at once, before the next full sweep.
 */
import { WAD } from "../math";
import { liquidationPriceFromHealth } from "../protocol/preview";

interface Entry {
  id: bigint;
  price: bigint; // [wad] liquidation price
}

export interface IsolatedHealth {
  id: bigint;
  asset: string; // lower case
  hf: bigint; // [wad] at `price`
}

export class LiquidationPriceIndex {
  private byAsset = new Map<string, Entry[]>();

  /** Rebuilds from a sweep's isolated positions and the prices [wad] it was taken at (asset → price). */
  rebuild(positions: readonly IsolatedHealth[], prices: ReadonlyMap<string, bigint>): void {
    const next = new Map<string, Entry[]>();
    for (const p of positions) {
      const price = prices.get(p.asset);
      if (price === undefined || p.hf === 0n) continue;
      const list = next.get(p.asset) ?? [];
      list.push({ id: p.id, price: liquidationPriceFromHealth(price, p.hf) });
      next.set(p.asset, list);
    }
    for (const list of next.values()) list.sort((a, b) => (a.price > b.price ? -1 : a.price < b.price ? 1 : 0));
    this.byAsset = next;
  }

  /** Ids of isolated `asset` positions whose liquidation price is at or above `price`, highest first. */
  unsafeAt(asset: string, price: bigint): bigint[] {
    const out: bigint[] = [];
    for (const e of this.byAsset.get(asset.toLowerCase()) ?? []) {
      if (e.price < price) break;
      out.push(e.id);
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const l of this.byAsset.values()) n += l.length;
    return n;
  }
}

/** The closed form [wad], rounded up: debt × unit / (amount × (1 − factor)), factor = max(zm σ, hm). */
export function liquidationPrice(debt: bigint, amount: bigint, unit: bigint, factor: bigint): bigint {
  if (amount === 0n || factor >= WAD) return 2n ** 256n - 1n;
  const denominator = amount * (WAD - factor);
  return (debt * unit * WAD + denominator - 1n) / denominator;
}
