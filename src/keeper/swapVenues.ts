/**
 * The swap venues a flash liquidation may sell seized collateral on: every venue the deployment manifest lists
 * (`SWAP_VENUES`: the deep `amm` and the shallow `ammShallow` locally), with each pool's reserves read at the pass's
 * block. The batch planner sizes its batches to these depths at the keeper's price-impact limit; which venue a batch
 * goes to is decided by simulating it on each.
 */
import { type KeelConnection, SWAP_VENUES, type SwapVenueName } from "../client/manifest";
import { ammQuoteDown, maxSaleAtImpactDown } from "../math/amm";
import { mapLimit, type Rpc } from "./rpc";

/** One pool's reserves: the asset's (token decimals) and kUSD's [wad]. Zero for a pool that was never seeded. */
export interface PoolReserves {
  assetReserve: bigint;
  kusdReserve: bigint;
}

/** A venue as one pass sees it. */
export interface VenueDepth {
  name: SwapVenueName;
  address: string;
  /** Fee on the input, in basis points. */
  feeBps: bigint;
  /** By asset address (lower case). */
  pools: Map<string, PoolReserves>;
}

const EMPTY: PoolReserves = { assetReserve: 0n, kusdReserve: 0n };

/** A venue's pool of `asset` (empty when it has none). */
export const poolOf = (v: VenueDepth, asset: string): PoolReserves => v.pools.get(asset.toLowerCase()) ?? EMPTY;

/** What selling `amount` of `asset` alone on `v` pays [wad kUSD] by the venue's own formula. */
export const saleQuote = (v: VenueDepth, asset: string, amount: bigint): bigint => {
  const p = poolOf(v, asset);
  return ammQuoteDown(amount, p.assetReserve, p.kusdReserve, v.feeBps);
};

/** The most of `asset` that `v` takes within `impact` [wad] of price impact (token decimals). */
export const depthAt = (v: VenueDepth, asset: string, impact: bigint): bigint =>
  maxSaleAtImpactDown(poolOf(v, asset).assetReserve, v.feeBps, impact);

export class SwapVenues {
  private fees?: Map<SwapVenueName, bigint>;

  constructor(
    private readonly rpc: Rpc,
    private readonly keel: KeelConnection,
    private readonly concurrency: number,
  ) {}

  /** Every venue of the manifest with its pools of `assets` at block `head` (fees are immutable: read once). */
  async read(assets: readonly string[], head: number): Promise<VenueDepth[]> {
    const fees = await this.feeBps();
    const pairs = SWAP_VENUES.flatMap((name) => assets.map((asset) => ({ name, asset })));
    const reserves = await mapLimit(pairs, this.concurrency, ({ name, asset }) =>
      this.rpc.call("venuePools", () => this.keel[name].pools(asset, { blockTag: head })),
    );
    return SWAP_VENUES.map((name) => {
      const pools = new Map<string, PoolReserves>();
      pairs.forEach((pair, i) => {
        const r = reserves[i];
        if (pair.name === name && r) pools.set(pair.asset.toLowerCase(), { assetReserve: r[0], kusdReserve: r[1] });
      });
      return { name, address: this.keel[name].target as string, feeBps: fees.get(name)!, pools };
    });
  }

  private async feeBps(): Promise<Map<SwapVenueName, bigint>> {
    if (!this.fees) {
      const fees = await Promise.all(SWAP_VENUES.map((name) => this.rpc.call("venueFee", () => this.keel[name].feeBps())));
      this.fees = new Map(SWAP_VENUES.map((name, i) => [name, fees[i]!]));
    }
    return this.fees;
  }
}
