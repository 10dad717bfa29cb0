/**
 * Bigint mirror of `contracts/libraries/KeelMath.sol` and of the margin formula in `RiskModel`:
 * the same operations in the same order with the same rounding, so tests can assert exact equality.
 */
import { KeelError } from "../units/error";

export const WAD = 10n ** 18n;
export const RAY = 10n ** 27n;
export const SQRT_WAD = 10n ** 9n;
export const INFINITE_HEALTH = 2n ** 256n - 1n;
export const SECONDS_PER_YEAR = 31_536_000n;

export class MathError extends KeelError {
  override name = "MathError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("MATH", message, options);
  }
}

export const UINT256_MAX = 2n ** 256n - 1n;

function requireNonNegative(...xs: bigint[]): void {
  for (const x of xs) if (x < 0n) throw new MathError(`negative operand ${x}`);
}

/** Solidity's checked arithmetic: a result that does not fit 256 bits reverts there, so it throws here. */
function u256(x: bigint): bigint {
  if (x > UINT256_MAX) throw new MathError(`uint256 overflow: ${x}`);
  return x;
}

// ------------------------------------------------------------------ fixed point

export function mulDivDown(x: bigint, y: bigint, d: bigint): bigint {
  requireNonNegative(x, y, d);
  if (d === 0n) throw new MathError("division by zero");
  return u256((x * y) / d);
}

export function mulDivUp(x: bigint, y: bigint, d: bigint): bigint {
  requireNonNegative(x, y, d);
  if (d === 0n) throw new MathError("division by zero");
  const p = x * y;
  return u256(p === 0n ? 0n : (p - 1n) / d + 1n);
}

export const mulWadDown = (x: bigint, y: bigint): bigint => mulDivDown(x, y, WAD);
export const mulWadUp = (x: bigint, y: bigint): bigint => mulDivUp(x, y, WAD);
export const divWadDown = (x: bigint, y: bigint): bigint => mulDivDown(x, WAD, y);
export const mulRayUp = (x: bigint, y: bigint): bigint => mulDivUp(x, y, RAY);

/** `x^n` for a RAY base by squaring, every product rounded up (as `KeelMath.rpowUp`). */
export function rpowUp(x: bigint, n: bigint): bigint {
  let z = RAY;
  let base = x;
  let e = n;
  while (e !== 0n) {
    if ((e & 1n) !== 0n) z = mulRayUp(z, base);
    e >>= 1n;
    if (e !== 0n) base = mulRayUp(base, base);
  }
  return z;
}

/** floor(sqrt(x)) by Newton's method. */
export function sqrtDown(x: bigint): bigint {
  requireNonNegative(x);
  if (x < 2n) return x;
  let r = 1n << (BigInt(x.toString(2).length + 1) / 2n);
  for (;;) {
    const next = (r + x / r) >> 1n;
    if (next >= r) return r;
    r = next;
  }
}

/** ceil(sqrt(x)), as OpenZeppelin's `Math.sqrt(x, Rounding.Ceil)`. */
export function sqrtUp(x: bigint): bigint {
  const r = sqrtDown(x);
  return r * r < x ? r + 1n : r;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

// ------------------------------------------------------------------ rates and debt

export function accrueRateUp(rate: bigint, feePerSecond: bigint, elapsed: bigint): bigint {
  if (elapsed === 0n || feePerSecond === RAY) return rate;
  return mulRayUp(rate, rpowUp(feePerSecond, elapsed));
}

export const toDebtUp = (normDebt: bigint, rate: bigint): bigint => mulDivUp(normDebt, rate, RAY);
export const toNormDebtUp = (amount: bigint, rate: bigint): bigint => mulDivUp(amount, RAY, rate);
export const toNormDebtDown = (amount: bigint, rate: bigint): bigint => mulDivDown(amount, RAY, rate);

/**
 * The per-second fee factor [ray] for an annual rate [wad] (0.05e18 = 5% a year, compounded per second):
 * the largest f with rpowUp(f, 1 year) ≤ 1 + annual. Found by bisection on the mirror itself, so the
 * on-chain accrual over one year never exceeds the stated rate.
 */
export function perSecondFee(annualWad: bigint): bigint {
  requireNonNegative(annualWad);
  if (annualWad === 0n) return RAY;
  if (annualWad > 10n * WAD) throw new MathError(`perSecondFee: ${annualWad} is above 1,000% a year`);
  const target = RAY + annualWad * 10n ** 9n;
  let lo = RAY;
  let hi = RAY + RAY / 10_000_000n; // > 1.0000001 per second ≈ 2,300% a year: far above any fee
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (rpowUp(mid, SECONDS_PER_YEAR) <= target) lo = mid;
    else hi = mid;
  }
  return lo;
}

// ------------------------------------------------------------------ valuation and margin

/** USD value [wad] of `amount` at `price` [wad]; `unit` = 10^decimals. */
export const valueDown = (amount: bigint, price: bigint, unit: bigint): bigint => mulDivDown(amount, price, unit);

export function isolatedLossUp(value: bigint, sigma: bigint, z: bigint, haircut: bigint): bigint {
  return mulWadUp(value, max(mulWadUp(z, sigma), haircut));
}

/**
 * sqrt(Σ_i Σ_j w_i w_j ρ_ij), rounded up, as `KeelMath.portfolioDeviationUp`.
 * @param weighted w_i = mulWadUp(v_i, σ_i)
 * @param correlation row-major n×n [wad]; only i < j is read.
 */
export function portfolioDeviationUp(weighted: readonly bigint[], correlation: readonly bigint[]): bigint {
  const n = weighted.length;
  let variance = 0n;
  for (let i = 0; i < n; i++) {
    const wi = weighted[i]!;
    if (wi === 0n) continue;
    variance = u256(variance + mulWadUp(wi, wi));
    for (let j = i + 1; j < n; j++) {
      const rho = correlation[i * n + j]!;
      const wj = weighted[j]!;
      if (rho === 0n || wj === 0n) continue;
      variance = u256(variance + u256(2n * mulWadUp(mulWadUp(wi, wj), rho)));
    }
  }
  return u256(sqrtUp(variance) * SQRT_WAD);
}

/** Rounding slack [wad] of `choleskyPsd`: 1e-9, as `KeelMath.PSD_TOLERANCE`. */
export const PSD_TOLERANCE = 10n ** 9n;

/**
 * Whether a correlation matrix is positive semi-definite, as `KeelMath.choleskyPsd`: LDLᵀ in signed WAD fixed
 * point, every division truncating toward zero (BigInt division does, as Solidity's signed division).
 * @param rho row-major n×n [wad], ones on the diagonal; only i ≥ j is read.
 * @returns ok, and the first failing column (n when ok).
 */
export function choleskyPsd(rho: readonly bigint[], n: number): { ok: boolean; failedAt: number } {
  const lower: bigint[] = new Array<bigint>(n * n).fill(0n);
  const d: bigint[] = new Array<bigint>(n).fill(0n);
  for (let j = 0; j < n; j++) {
    let pivot = rho[j * n + j]!;
    for (let k = 0; k < j; k++) pivot -= (((lower[j * n + k]! * lower[j * n + k]!) / WAD) * d[k]!) / WAD;
    if (pivot < -PSD_TOLERANCE) return { ok: false, failedAt: j };
    const singular = pivot <= PSD_TOLERANCE;
    if (!singular) d[j] = pivot;
    for (let i = j + 1; i < n; i++) {
      let a = rho[i * n + j]!;
      for (let k = 0; k < j; k++) a -= (((lower[i * n + k]! * lower[j * n + k]!) / WAD) * d[k]!) / WAD;
      if (!singular) lower[i * n + j] = (a * WAD) / pivot;
      else if (a > PSD_TOLERANCE || a < -PSD_TOLERANCE) return { ok: false, failedAt: j };
    }
  }
  return { ok: true, failedAt: n };
}

export const stressLossUp = (deviation: bigint, z: bigint, floorLoss: bigint): bigint =>
  max(mulWadUp(z, deviation), floorLoss);

export function healthFactorDown(value: bigint, loss: bigint, debt: bigint): bigint {
  if (debt === 0n) return INFINITE_HEALTH;
  if (loss >= value) return 0n;
  return mulDivDown(value - loss, WAD, debt);
}

// ------------------------------------------------------------------ RiskModel.assess

/** One holding of a basket with everything the margin formula reads. */
export interface Holding {
  amount: bigint; // token decimals
  price: bigint; // [wad]
  unit: bigint; // 10^decimals
  sigma: bigint; // [wad]
  maintenanceHaircut: bigint; // [wad]
  initialHaircut: bigint; // [wad]
}

export interface Valuation {
  value: bigint;
  maintenanceLoss: bigint;
  initialLoss: bigint;
}

export interface Confidence {
  zMaintenance: bigint;
  zInitial: bigint;
}

/**
 * Mirror of `RiskModel.assess`: the one-asset closed form, or the portfolio formula for a basket.
 * @param correlation row-major n×n matrix [wad] over the holdings, in the same order.
 */
export function assess(holdings: readonly Holding[], correlation: readonly bigint[], z: Confidence): Valuation {
  if (holdings.length === 1) {
    const h = holdings[0]!;
    if (h.amount === 0n) return { value: 0n, maintenanceLoss: 0n, initialLoss: 0n };
    const value = valueDown(h.amount, h.price, h.unit);
    return {
      value,
      maintenanceLoss: isolatedLossUp(value, h.sigma, z.zMaintenance, h.maintenanceHaircut),
      initialLoss: isolatedLossUp(value, h.sigma, z.zInitial, h.initialHaircut),
    };
  }
  let total = 0n;
  let floorMaintenance = 0n;
  let floorInitial = 0n;
  const weighted = holdings.map((h) => {
    if (h.amount === 0n) return 0n;
    const value = valueDown(h.amount, h.price, h.unit);
    total = u256(total + value);
    floorMaintenance = u256(floorMaintenance + mulWadUp(value, h.maintenanceHaircut));
    floorInitial = u256(floorInitial + mulWadUp(value, h.initialHaircut));
    return mulWadUp(value, h.sigma);
  });
  const deviation = portfolioDeviationUp(weighted, correlation);
  return {
    value: total,
    maintenanceLoss: stressLossUp(deviation, z.zMaintenance, floorMaintenance),
    initialLoss: stressLossUp(deviation, z.zInitial, floorInitial),
  };
}

/** (HF, HFi) of a valuation against `debt`, as `VaultEngine.healthFactor`. */
export function healthFactors(v: Valuation, debt: bigint): { hf: bigint; hfInitial: bigint } {
  return {
    hf: healthFactorDown(v.value, v.maintenanceLoss, debt),
    hfInitial: healthFactorDown(v.value, v.initialLoss, debt),
  };
}

/**
 * Largest debt [wad] a valuation supports at HFi ≥ 1: floor(V − Li) is the exact bound since
 * HFi = floor((V − Li)·WAD / D) ≥ WAD ⇔ D ≤ V − Li.
 */
export const maxDebt = (v: Valuation): bigint => (v.initialLoss >= v.value ? 0n : v.value - v.initialLoss);

// ------------------------------------------------------------------ liquidation (KeelMath liquidation helpers)

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** (1 + ℓ)(1 − hm) [wad], rounded up: the lowest critical HF at which a partial liquidation always raises HF. */
export const criticalHFFloorUp = (penalty: bigint, maintenanceHaircut: bigint): bigint =>
  mulWadUp(WAD + penalty, WAD - maintenanceHaircut);

/**
 * The liquidation bonus [wad] at health factor `hf` (as `KeelMath.penaltyAtDown`, docs/spec.md §4.4): `minPenalty`
 * at HF ≥ 1, `penalty` at HF ≤ `fullPenaltyHF`, linear in between, rounded down.
 */
export function penaltyAtDown(hf: bigint, minPenalty: bigint, penalty: bigint, fullPenaltyHF: bigint): bigint {
  if (hf <= fullPenaltyHF) return penalty;
  if (hf >= WAD) return minPenalty;
  return minPenalty + mulDivDown(penalty - minPenalty, WAD - hf, WAD - fullPenaltyHF);
}

/**
 * Repayment [wad] that brings HF to `targetHF` when collateral worth repaid × (1 + ℓ) is seized from an asset whose
 * value carries at most `factor` of maintenance loss, rounded down (as `KeelMath.targetRepayDown`):
 * r = (T·D − (V − Lm)) / (T − (1 + ℓ)(1 − m)); `debt` when no partial repayment reaches T.
 */
export function targetRepayDown(
  targetHF: bigint,
  debt: bigint,
  value: bigint,
  maintenanceLoss: bigint,
  penalty: bigint,
  factor: bigint,
): bigint {
  const kept = mulWadDown(WAD + penalty, WAD - min(factor, WAD));
  if (targetHF <= kept) return debt;
  const needed = u256(mulWadDown(targetHF, debt) + maintenanceLoss);
  if (needed <= value) return 0n;
  return min(mulDivDown(needed - value, WAD, targetHF - kept), debt);
}

/** Collateral (token decimals) worth repaid × (1 + ℓ) at `price`, rounded down. */
export const seizeDown = (repaid: bigint, penalty: bigint, price: bigint, unit: bigint): bigint =>
  mulDivDown(mulWadDown(repaid, WAD + penalty), unit, price);

/** Repayment [wad] that `amount` of collateral pays for at penalty ℓ: value / (1 + ℓ), rounded down. */
export const repayForDown = (amount: bigint, penalty: bigint, price: bigint, unit: bigint): bigint =>
  mulDivDown(valueDown(amount, price, unit), WAD, WAD + penalty);

/** The protocol's part [wad] of the penalty on `repaid`: repaid × ℓ × share, rounded up. */
export const protocolFeeUp = (repaid: bigint, penalty: bigint, share: bigint): bigint =>
  mulWadUp(mulWadUp(repaid, penalty), share);

// ------------------------------------------------------------------ volatility (docs/spec.md §3, dynamic)

/** ln 2 [wad], rounded down (as `KeelMath.LN2`). */
export const LN2 = 693_147_180_559_945_309n;
const UINT128_MAX = 2n ** 128n - 1n;

/** λ = 2^(−elapsed / halfLife) [wad], rounded down, as `KeelMath.decayDown`. */
export function decayDown(elapsed: bigint, halfLife: bigint): bigint {
  requireNonNegative(elapsed);
  if (halfLife <= 0n) throw new MathError("division by zero");
  const halvings = elapsed / halfLife;
  if (halvings >= 64n) return 0n;
  const y = mulDivDown(elapsed % halfLife, LN2, halfLife);
  let expY = WAD;
  let term = WAD;
  for (let n = 1n; term !== 0n; n++) {
    term = mulDivDown(term, y, n * WAD);
    expY += term;
  }
  return mulDivDown(WAD, WAD, expY) >> halvings;
}

/** ((p1 − p0) / p0)² / elapsed [1e36 per second], rounded up and capped, as `KeelMath.returnVarianceUp`. */
export function returnVarianceUp(previousPrice: bigint, price: bigint, elapsed: bigint, cap: bigint): bigint {
  const move = price > previousPrice ? price - previousPrice : previousPrice - price;
  const r = mulDivUp(move, WAD, previousPrice);
  if (r > UINT128_MAX) return cap;
  return min(mulDivUp(r, r, elapsed), cap);
}

/** λ × old + (1 − λ) × sample, rounded up, as `KeelMath.ewmaUp`. */
export const ewmaUp = (old: bigint, sample: bigint, decay: bigint): bigint =>
  mulDivUp(old, decay, WAD) + mulDivUp(sample, WAD - decay, WAD);

/** sqrt(variance × horizon) [wad], rounded up, as `KeelMath.horizonSigmaUp`. */
export const horizonSigmaUp = (variance: bigint, horizon: bigint): bigint => sqrtUp(u256(variance * horizon));

/** `from` moved toward `to` by at most `maxMove`, as `KeelMath.stepToward`. */
export function stepToward(from: bigint, to: bigint, maxMove: bigint): bigint {
  if (to > from) return to - from > maxMove ? from + maxMove : to;
  return from - to > maxMove ? from - maxMove : to;
}

// ------------------------------------------------------------------ margin states (docs/spec.md §4)

/** `IVaultEngineTypes.State`. */
export const MarginState = { Safe: 0, Callable: 1, Called: 2, Liquidatable: 3 } as const;
export type MarginState = (typeof MarginState)[keyof typeof MarginState];
/** Each state's name, indexed by its value (as the contracts' enum names it). */
export const MARGIN_STATE_NAMES = ["Safe", "Callable", "Called", "Liquidatable"] as const satisfies readonly string[] & { [K in MarginState]: string };

/** `IVaultEngineTypes.Mode`: one collateral asset, or a basket of them backing one debt (docs/spec.md §2). */
export const Mode = { Isolated: 0, Cross: 1 } as const;
export type Mode = (typeof Mode)[keyof typeof Mode];
/** Each mode's name, indexed by its value, as the CLI and the app print it. */
export const MODE_NAMES = ["isolated", "cross"] as const satisfies readonly string[] & { [K in Mode]: string };

/** A position's state from its HF, open call deadline [s] (0 = none) and the time, as `Ledger.stateAt`. */
export function marginStateAt(hf: bigint, deadline: bigint, criticalHF: bigint, now: bigint): MarginState {
  if (hf < criticalHF) return MarginState.Liquidatable;
  if (hf >= WAD) return MarginState.Safe;
  if (deadline === 0n) return MarginState.Callable;
  return now >= deadline ? MarginState.Liquidatable : MarginState.Called;
}
