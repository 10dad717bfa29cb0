/**
 * Health of mirrored positions from one `Lens.market()` read: the index knows every position's collateral and
 * normalized debt from the engine's events, the market view has every price, σ, haircut, correlation and class
 * rate at one block, and `src/math` values them bit for bit as the engine does. Ten thousand positions cost one
 * RPC call and a few milliseconds; positions near the threshold are then confirmed through `Lens.healthScan`.
 */
import type { Lens } from "../../typechain-types";
import { assess, type Holding, healthFactorDown, penaltyAtDown, toDebtUp } from "../math";
import type { IndexedPosition } from "./positionIndex";
import type { Health } from "./sweep";

/** `Lens.market()` with lower-case keys for lookups. */
export interface MarketSnapshot {
  timestamp: bigint;
  index: Map<string, number>; // asset → position in the arrays below
  prices: bigint[];
  priced: boolean[];
  units: bigint[];
  sigmas: bigint[];
  maintenanceHaircuts: bigint[];
  initialHaircuts: bigint[];
  penalties: bigint[]; // ℓ: the bonus at HF ≤ fullPenaltyHF
  minPenalties: bigint[]; // ℓmin: the bonus at HF = 1
  fullPenaltyHFs: bigint[];
  correlation: bigint[]; // row-major n×n
  zMaintenance: bigint;
  zInitial: bigint;
  rates: Map<string, bigint>; // class → accumulator [ray]
  crossClass: string;
  criticalHF: bigint;
  protocolShare: bigint;
}

export function toSnapshot(v: Awaited<ReturnType<Lens["market"]>>): MarketSnapshot {
  const assets = v.assets.map((a) => a.toLowerCase());
  const classes = v.classes.map((c) => c.toLowerCase());
  return {
    timestamp: v.timestamp,
    index: new Map(assets.map((a, i) => [a, i])),
    prices: [...v.prices],
    priced: [...v.priced],
    units: [...v.units],
    sigmas: [...v.sigmas],
    maintenanceHaircuts: [...v.maintenanceHaircuts],
    initialHaircuts: [...v.initialHaircuts],
    penalties: [...v.liquidationPenalties],
    minPenalties: [...v.minLiquidationPenalties],
    fullPenaltyHFs: [...v.fullPenaltyHFs],
    correlation: [...v.correlation],
    zMaintenance: v.zMaintenance,
    zInitial: v.zInitial,
    rates: new Map(classes.map((c, i) => [c, v.rates[i]!])),
    crossClass: classes[classes.length - 1]!,
    criticalHF: v.liquidation.criticalHF,
    protocolShare: v.liquidation.protocolShare,
  };
}

/** Asset `i`'s liquidation bonus [wad] at health factor `hf` (docs/spec.md §4.4). */
export const bonusAt = (m: MarketSnapshot, i: number, hf: bigint): bigint =>
  penaltyAtDown(hf, m.minPenalties[i]!, m.penalties[i]!, m.fullPenaltyHFs[i]!);

/**
 * A position's health as `Lens.healthScan` reports it (debt 0 → not reported). A failing price makes `priced`
 * false; a cross basket is still valued with that holding at zero while another holding has a price (docs/spec.md §4
 * liveness, as RiskModel.marginInputs), an isolated position is not (`valued` false, HF 0).
 */
export function evaluate(p: IndexedPosition, m: MarketSnapshot): Health | undefined {
  if (p.normDebt === 0n) return undefined;
  const rate = m.rates.get(p.asset ?? m.crossClass);
  if (rate === undefined) return undefined; // an asset listed after the snapshot: leave it to healthScan
  const debt = toDebtUp(p.normDebt, rate);
  // The engine prices an isolated position's asset even when it holds none of it.
  const assets = p.asset !== undefined ? [p.asset] : Object.keys(p.collateral);
  const idx = assets.map((a) => m.index.get(a));
  if (idx.some((i) => i === undefined)) return undefined;
  const priced = idx.every((i) => m.priced[i!]);
  const amountOf = (a: string, i: number): bigint => (m.priced[i] ? (p.collateral[a] ?? 0n) : 0n);
  const anyPriced = assets.some((a, k) => amountOf(a, idx[k]!) > 0n);
  if (!priced && (p.asset !== undefined || !anyPriced)) return { id: p.id, hf: 0n, debt, priced, valued: false };
  const holdings: Holding[] = assets.map((a, k) => {
    const i = idx[k]!;
    return {
      amount: amountOf(a, i),
      price: m.prices[i]!,
      unit: m.units[i]!,
      sigma: m.sigmas[i]!,
      maintenanceHaircut: m.maintenanceHaircuts[i]!,
      initialHaircut: m.initialHaircuts[i]!,
    };
  });
  const n = m.index.size;
  const rho = idx.flatMap((i) => idx.map((j) => m.correlation[i! * n + j!]!));
  const v = assess(holdings, rho, { zMaintenance: m.zMaintenance, zInitial: m.zInitial });
  return { id: p.id, hf: healthFactorDown(v.value, v.maintenanceLoss, debt), debt, priced, valued: true };
}
