/**
 * The comparison of a stress report: the same scenario, book and seed replayed with dynamic or static margin (static:
 * the keeper never pokes the VolatilityOracle, so every σ stays at its floor), with the configured grace period or
 * none ("0s": a Callable position is liquidatable at once), and with the configured liquidation bonus curve or a
 * fixed penalty ℓ at every HF (docs/spec.md §4.4), each set against the protocol as configured.
 */
import { formatFixed } from "../src/units";
import { textTable } from "../src/units/table";
import type { ReplayResult } from "./replay";

export interface Variant {
  key: string;
  label: string;
  margin: "dynamic" | "static";
  /** Replaces the config's grace period; undefined = as configured. */
  gracePeriod?: string;
  /** "fixed": every asset pays its largest bonus ℓ at every HF (ℓmin = ℓ); undefined = the configured curves. */
  penalty?: "fixed";
}

/** The protocol as configured first: every other row is compared with it. */
export const VARIANTS: readonly Variant[] = [
  { key: "dynamic-grace", label: "dynamic σ + grace period (as configured)", margin: "dynamic" },
  { key: "static-grace", label: "static σ + grace period", margin: "static" },
  { key: "dynamic-no-grace", label: "dynamic σ, no grace period", margin: "dynamic", gracePeriod: "0s" },
  { key: "static-no-grace", label: "static σ, no grace period", margin: "static", gracePeriod: "0s" },
  { key: "fixed-penalty", label: "dynamic σ + grace period, fixed penalty ℓ (no bonus curve)", margin: "dynamic", penalty: "fixed" },
  // Without a grace period positions are liquidated between criticalHF and 1, where the curve pays less than ℓ.
  { key: "fixed-penalty-no-grace", label: "dynamic σ, no grace period, fixed penalty ℓ", margin: "dynamic", gracePeriod: "0s", penalty: "fixed" },
];

export interface VariantRow {
  key: string;
  label: string;
  liquidations: number;
  positionsLiquidated: number;
  /** Liquidated positions that would have been Safe at the end had they been left alone (see ./recovery). */
  wouldHaveRecovered: number;
  marginCalls: number;
  cured: number;
  /** [wad kUSD] Σ debt repaid by liquidations: the value liquidated. */
  liquidatedDebt: bigint;
  badDebt: bigint; // [wad kUSD]
  deficit: bigint; // [wad kUSD]
  keeperProfit: bigint; // [wad kUSD]
  /** The PSM: P at the end and its worst shortfall, P × (1 − reserve price) [wad kUSD]. */
  pegDebt: bigint;
  pegShortfall: bigint;
  cascadeDepth: number;
  cascadeLevels: number;
  cascadeLiquidations: number;
  invariantHeld: boolean;
  /** This row minus the first (the protocol as configured). */
  delta: { badDebt: bigint; liquidatedDebt: bigint; liquidations: number; positionsLiquidated: number; wouldHaveRecovered: number };
}

/** One row per replay, in order; deltas against the first. */
export function compareVariants(runs: readonly { variant: Variant; result: ReplayResult }[]): VariantRow[] {
  if (runs.length === 0) return [];
  const base = runs[0]!.result.summary;
  return runs.map(({ variant, result }) => {
    const s = result.summary;
    return {
      key: variant.key,
      label: variant.label,
      liquidations: s.liquidations,
      positionsLiquidated: s.positionsLiquidated,
      wouldHaveRecovered: s.wouldHaveRecovered,
      marginCalls: s.marginCalls,
      cured: s.cured,
      liquidatedDebt: s.liquidatedDebt,
      badDebt: s.badDebt,
      pegDebt: s.pegDebt,
      pegShortfall: s.pegShortfall,
      deficit: s.deficit,
      keeperProfit: s.keeperProfit,
      cascadeDepth: s.cascadeDepth,
      cascadeLevels: s.cascadeLevels,
      cascadeLiquidations: s.cascadeLiquidations,
      invariantHeld: s.invariantHeld,
      delta: {
        badDebt: s.badDebt - base.badDebt,
        liquidatedDebt: s.liquidatedDebt - base.liquidatedDebt,
        liquidations: s.liquidations - base.liquidations,
        positionsLiquidated: s.positionsLiquidated - base.positionsLiquidated,
        wouldHaveRecovered: s.wouldHaveRecovered - base.wouldHaveRecovered,
      },
    };
  });
}

/** The comparison as a terminal table. */
export function variantsTable(rows: readonly VariantRow[]): string {
  const kusd = (wad: bigint): string => formatFixed(wad, 18, 2);
  const delta = (wad: bigint): string => (wad === 0n ? "" : ` (${wad > 0n ? "+" : "−"}${kusd(wad < 0n ? -wad : wad)})`);
  const n = (x: number): string => (x === 0 ? "" : ` (${x > 0 ? "+" : "−"}${Math.abs(x)})`);
  const head = ["variant", "bad debt kUSD", "liquidated kUSD", "liquidations", "positions liq.", "would have recovered", "calls / cured", "cascade"];
  const body = rows.map((r) => [
    r.key,
    kusd(r.badDebt) + delta(r.delta.badDebt),
    kusd(r.liquidatedDebt) + delta(r.delta.liquidatedDebt),
    String(r.liquidations) + n(r.delta.liquidations),
    String(r.positionsLiquidated) + n(r.delta.positionsLiquidated),
    String(r.wouldHaveRecovered) + n(r.delta.wouldHaveRecovered),
    `${r.marginCalls} / ${r.cured}`,
    `${r.cascadeLevels} levels, ${r.cascadeLiquidations} liq.`,
  ]);
  return textTable([head, ...body], head.map((_, i) => (i === 0 ? "left" : "right")));
}
