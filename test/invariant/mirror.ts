/**
 * The math mirror (`src/math`) evaluated on `Lens.market()` read at the pinned next block ("pending"): prices,
 * σ, haircuts, correlations and class rates exactly as the action's transaction will see them. σ moves with time
 * while it steps towards its target, so mirrors fed with views of the latest block (test/helpers) can be off by
 * a second's σ step; these are exact.
 */
import { MaxUint256 } from "ethers";
import * as m from "../../src/math";
import { type LiquidationInput, type LiquidationOutcome, sizeLiquidation } from "../../src/math/liquidation";
import type { World } from "./model";

export interface Market {
  assets: string[];
  prices: bigint[];
  priced: boolean[];
  units: bigint[];
  sigmas: bigint[];
  maintenanceHaircuts: bigint[];
  initialHaircuts: bigint[];
  penalties: bigint[];
  minPenalties: bigint[];
  fullPenaltyHFs: bigint[];
  correlation: bigint[];
  z: m.Confidence;
  rates: Map<string, bigint>;
  liquidation: { criticalHF: bigint; targetHF: bigint; closeFactor: bigint; protocolShare: bigint };
}

export async function marketAtPending(w: World): Promise<Market> {
  const v = await w.keel.lens.market({ blockTag: "pending" });
  const rates = new Map<string, bigint>();
  v.classes.forEach((c, i) => rates.set(c, v.rates[i]!));
  return {
    assets: [...v.assets], prices: [...v.prices], priced: [...v.priced], units: [...v.units], sigmas: [...v.sigmas],
    maintenanceHaircuts: [...v.maintenanceHaircuts], initialHaircuts: [...v.initialHaircuts],
    penalties: [...v.liquidationPenalties], minPenalties: [...v.minLiquidationPenalties], fullPenaltyHFs: [...v.fullPenaltyHFs],
    correlation: [...v.correlation],
    z: { zMaintenance: v.zMaintenance, zInitial: v.zInitial }, rates,
    liquidation: { criticalHF: v.liquidation.criticalHF, targetHF: v.liquidation.targetHF, closeFactor: v.liquidation.closeFactor, protocolShare: v.liquidation.protocolShare },
  };
}

const indexOf = (mk: Market, asset: string): number => mk.assets.findIndex((a) => a.toLowerCase() === asset.toLowerCase());

/**
 * The margin valuation of a basket for margin calls and liquidation (RiskModel.marginInputs): a holding whose price
 * failed counts as worth nothing; undefined when nothing in it has a price, or an isolated position's does not.
 */
export function marginValuation(mk: Market, assets: string[], amounts: bigint[], cross: boolean): m.Valuation | undefined {
  const idx = assets.map((a) => indexOf(mk, a));
  if (idx.every((i) => mk.priced[i]!)) return valuation(mk, assets, amounts);
  if (!cross || !idx.some((i, k) => mk.priced[i]! && amounts[k]! !== 0n)) return undefined;
  const priced = amounts.map((x, k) => (mk.priced[idx[k]!]! ? x : 0n));
  return valuation({ ...mk, priced: mk.priced.map(() => true) }, assets, priced);
}

/** The mirror's valuation of a basket; undefined when a price is unavailable. */
export function valuation(mk: Market, assets: string[], amounts: bigint[]): m.Valuation | undefined {
  const idx = assets.map((a) => indexOf(mk, a));
  if (idx.some((i) => !mk.priced[i]!)) return undefined;
  const holdings = idx.map((i, k) => ({
    amount: amounts[k]!, price: mk.prices[i]!, unit: mk.units[i]!, sigma: mk.sigmas[i]!,
    maintenanceHaircut: mk.maintenanceHaircuts[i]!, initialHaircut: mk.initialHaircuts[i]!,
  }));
  const n = mk.assets.length;
  const correlation = idx.flatMap((i) => idx.map((j) => (i === j ? m.WAD : mk.correlation[i * n + j]!)));
  return m.assess(holdings, correlation, mk.z);
}

async function holdings(w: World, id: bigint): Promise<{ assets: string[]; amounts: bigint[]; classKey: string; normDebt: bigint }> {
  const [, classKey, normDebt] = await w.keel.engine.positionInfo(id);
  const assets = [...(await w.keel.engine.collateralAssets(id))];
  const amounts = await Promise.all(assets.map((a) => w.keel.engine.collateralOf(id, a)));
  return { assets, amounts, classKey, normDebt };
}

/** The largest borrow with HFi ≥ 1 afterwards in the pinned block; undefined when a price is unavailable. */
export async function largestBorrowAtPending(w: World, id: bigint): Promise<bigint | undefined> {
  const mk = await marketAtPending(w);
  const h = await holdings(w, id);
  const v = h.assets.length === 0 ? { value: 0n, maintenanceLoss: 0n, initialLoss: 0n } : valuation(mk, h.assets, h.amounts);
  if (!v) return undefined;
  const limit = m.maxDebt(v);
  const rate = mk.rates.get(h.classKey)!;
  const debtAfter = (x: bigint): bigint => m.toDebtUp(h.normDebt + m.toNormDebtUp(x, rate), rate);
  let amount = limit - m.toDebtUp(h.normDebt, rate);
  while (amount > 0n && debtAfter(amount) > limit) amount--;
  return amount;
}

/**
 * `VaultEngine.liquidate(id, asset, maxRepay)` in the pinned block, by the mirror (test/helpers'
 * `sizeLiquidation` on pending-block market data). Throws when the engine must revert for sizing reasons.
 */
export async function expectedLiquidationAtPending(w: World, id: bigint, asset: string, maxRepay = MaxUint256): Promise<LiquidationOutcome> {
  const mk = await marketAtPending(w);
  const h = await holdings(w, id);
  const idx = h.assets.map((a) => indexOf(mk, a));
  const cross = h.classKey.toLowerCase() === w.crossClass.toLowerCase();
  if (!marginValuation(mk, h.assets, h.amounts, cross)) throw new Error("price unavailable");
  const terms = idx.map((i) => {
    if (!mk.priced[i]!) return { price: 0n, unit: 0n, penalty: 0n, minPenalty: 0n, fullPenaltyHF: 0n, maintenanceFactor: 0n };
    const zs = m.mulWadUp(mk.z.zMaintenance, mk.sigmas[i]!);
    const curve = { penalty: mk.penalties[i]!, minPenalty: mk.minPenalties[i]!, fullPenaltyHF: mk.fullPenaltyHFs[i]! };
    return { price: mk.prices[i]!, unit: mk.units[i]!, ...curve, maintenanceFactor: zs > mk.maintenanceHaircuts[i]! ? zs : mk.maintenanceHaircuts[i]! };
  });
  const input: LiquidationInput = {
    assets: h.assets,
    amounts: h.amounts,
    terms,
    normDebt: h.normDebt,
    rate: mk.rates.get(h.classKey)!,
    valueOf: (amounts) => marginValuation(mk, h.assets, amounts, cross) ?? { value: 0n, maintenanceLoss: 0n, initialLoss: 0n },
    params: mk.liquidation,
    dust: await w.keel.engine.dust(),
  };
  return sizeLiquidation(input, asset, maxRepay);
}
