/**
 * The mirror of `Liquidation.plan`'s sizing: what one liquidation of a position repays, seizes, charges
 * and writes off, and the HF it leaves, from the position and its market however they were read (views of a block,
 * `Lens.market()` at the pending block), with the same operations and rounding as the contracts, so a caller
 * predicts the engine's figures exactly. Pure and browser-safe.
 */
import { KeelError } from "../units/error";
import {
  healthFactorDown,
  INFINITE_HEALTH,
  mulWadDown,
  penaltyAtDown,
  protocolFeeUp,
  repayForDown,
  seizeDown,
  targetRepayDown,
  toDebtUp,
  toNormDebtDown,
  type Valuation,
} from ".";

/** Why the mirror sizes no liquidation: the engine's `MaxRepayTooLow`, or an asset the position does not hold. */
export class LiquidationRefused extends KeelError {
  override name = "LiquidationRefused";
  constructor(
    readonly reason: "MaxRepayTooLow" | "AssetNotHeld",
    message: string,
  ) {
    super("REFUSED", message);
  }
}

/** One asset's liquidation terms, as `RiskModel.liquidationTerms` computes them; all zero where the price fails. */
export interface LiquidationTerms {
  price: bigint; // [wad]
  unit: bigint; // 10^decimals
  penalty: bigint; // ℓ [wad]: the bonus at HF ≤ fullPenaltyHF
  minPenalty: bigint; // ℓmin [wad]: the bonus at HF = 1
  fullPenaltyHF: bigint; // [wad]
  maintenanceFactor: bigint; // max(zMaintenance·σ, maintenance haircut) [wad]
}

/** A position and its market as one liquidation sees them, however they were read. */
export interface LiquidationInput {
  assets: string[];
  amounts: bigint[]; // per asset of `assets`, token decimals
  /** Per asset of `assets`. */
  terms: LiquidationTerms[];
  normDebt: bigint; // [wad]
  rate: bigint; // the class accumulator at the liquidation's time [ray]
  /** The mirror's valuation of the basket with other amounts (for HF before and after). */
  valueOf(amounts: bigint[]): Valuation;
  params: { criticalHF: bigint; targetHF: bigint; closeFactor: bigint; protocolShare: bigint }; // [wad]
  dust: bigint; // [wad]
}

/** Everything one liquidation does, by the mirror. */
export interface LiquidationOutcome {
  debt: bigint; // before [wad]
  value: bigint; // V before [wad]
  maintenanceLoss: bigint; // Lm before [wad]
  hf: bigint; // before [wad]
  /** Each asset's bonus at `hf` [wad] (docs/spec.md §4.4): what this liquidation pays on repaid debt. */
  penalties: bigint[];
  coverable: bigint; // [wad]
  target: bigint; // targetRepayDown (0 when insolvent or under criticalHF) [wad]
  repaid: bigint; // [wad]
  seized: bigint; // token decimals
  fee: bigint; // [wad]
  badDebt: bigint; // [wad]
  debtAfter: bigint; // [wad]
  amountsAfter: bigint[]; // per `assets`, token decimals
  assets: string[];
  hfAfter: bigint; // [wad]
  /** All of the debt was due before the caps: a step short of it is a close-out step, exempt from raising HF. */
  fullDue: boolean;
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * `Liquidation.plan(id, asset, maxRepay)` by the mirror: sizing, seizure, fee, bad debt and HF after.
 * Throws a LiquidationRefused "MaxRepayTooLow" where the engine would. Does not check the state or the
 * HF-must-rise rule.
 */
export function sizeLiquidation(x: LiquidationInput, asset: string, maxRepay: bigint): LiquidationOutcome {
  const { assets, amounts, terms, normDebt, rate, params: p, dust } = x;
  const debt = toDebtUp(normDebt, rate);
  const v = x.valueOf(amounts);
  const hf = healthFactorDown(v.value, v.maintenanceLoss, debt);
  // Every step is priced at the bonus of the HF it starts from.
  const penalties = terms.map((u) => (u.price === 0n ? 0n : penaltyAtDown(hf, u.minPenalty, u.penalty, u.fullPenaltyHF)));
  let coverable = 0n;
  for (let k = 0; k < assets.length; k++) {
    const u = terms[k]!;
    if (u.price !== 0n) coverable += repayForDown(amounts[k]!, penalties[k]!, u.price, u.unit);
  }
  const i = assets.findIndex((a) => a.toLowerCase() === asset.toLowerCase());
  if (i < 0) throw new LiquidationRefused("AssetNotHeld", "asset not held");
  const t = { ...terms[i]!, penalty: penalties[i]! };
  const base = { debt, value: v.value, maintenanceLoss: v.maintenanceLoss, hf, penalties, coverable, assets };
  // A holding whose price failed (price 0) adds nothing and blocks bad debt: the priced ones are liquidated as solvent.
  const unpriced = terms.some((u) => u.price === 0n);
  if (coverable < debt && !unpriced) {
    if (coverable > maxRepay) throw new LiquidationRefused("MaxRepayTooLow", "MaxRepayTooLow");
    return {
      ...base, target: 0n, repaid: coverable, seized: amounts[i]!, fee: 0n, badDebt: debt - coverable, debtAfter: 0n,
      amountsAfter: amounts.map(() => 0n), hfAfter: INFINITE_HEALTH, fullDue: true,
    };
  }
  let target = 0n;
  let due = debt;
  if (hf >= p.criticalHF) {
    target = targetRepayDown(p.targetHF, debt, v.value, v.maintenanceLoss, t.penalty, t.maintenanceFactor);
    due = min(target, mulWadDown(debt, p.closeFactor));
    if (debt - due < dust) due = debt;
  }
  // Capped by what the holding pays for, a step may leave less than the dust; the liquidator's maxRepay may not.
  let repaid = min(due, repayForDown(amounts[i]!, t.penalty, t.price, t.unit));
  if (maxRepay < repaid) {
    const limited = debt - maxRepay < dust ? (debt > dust ? debt - dust : 0n) : maxRepay;
    if (limited === 0n) throw new LiquidationRefused("MaxRepayTooLow", "MaxRepayTooLow");
    repaid = limited;
  }
  const seized = min(seizeDown(repaid, t.penalty, t.price, t.unit), amounts[i]!);
  const removed = repaid === debt ? normDebt : toNormDebtDown(repaid, rate);
  const debtAfter = toDebtUp(normDebt - removed, rate);
  const after = [...amounts];
  after[i] = amounts[i]! - seized;
  const va = x.valueOf(after);
  return {
    ...base, target, repaid, seized, fee: protocolFeeUp(repaid, t.penalty, p.protocolShare), badDebt: 0n, debtAfter,
    amountsAfter: after, hfAfter: healthFactorDown(va.value, va.maintenanceLoss, debtAfter), fullDue: due === debt,
  };
}
