/**
 * The maintenance requirement of one unit of collateral value through the margin formula's mirror (`assess` in
 * `src/math`, as `RiskModel.assess`): max(zm σ, hm) for one asset, max(zm sqrt(Σ w_i w_j σ_i σ_j ρ_ij), Σ hm_i w_i)
 * for a basket with USD weights w. Bigint [wad] inside, a fraction at the edge.
 */
import { assess, WAD, type Holding } from "../../math";

/** A basket of one or more assets: USD weights [wad] summing to about WAD, and ρ (row-major n×n [wad]). */
export interface Basket {
  weights: readonly bigint[];
  correlation: readonly bigint[];
}

/** The basket of one asset. */
export const SINGLE: Basket = { weights: [WAD], correlation: [WAD] };

/** n assets at equal USD weights with one ρ between every pair. */
export function equalWeights(n: number, rho: bigint): Basket {
  const weights = Array.from({ length: n }, () => WAD / BigInt(n));
  const correlation = Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? WAD : rho));
  return { weights, correlation };
}

/**
 * The maintenance loss Lm over the value V of the basket [fraction]: `assess(...)`'s maintenanceLoss / value, with
 * σ and hm per asset [wad] and zm [wad]. Zero haircuts give zm·σ alone; z = WAD and zero haircuts give the basket's σ.
 */
export function requirementOf(basket: Basket, sigmas: readonly bigint[], haircuts: readonly bigint[], z: bigint): number {
  const holdings: Holding[] = basket.weights.map((weight, i) => ({
    amount: weight,
    price: WAD,
    unit: WAD,
    sigma: sigmas[i]!,
    maintenanceHaircut: haircuts[i]!,
    initialHaircut: haircuts[i]!,
  }));
  const v = assess(holdings, basket.correlation, { zMaintenance: z, zInitial: z });
  return Number(v.maintenanceLoss) / Number(v.value);
}
