/**
 * What a position would look like after one action, at a given block time, computed with the bigint mirror
 * (src/math) exactly as the engine computes it: accrual of the position's debt class to that time, σ in force at
 * that time (the VolatilityOracle's step toward its target), the valuation of `RiskModel.assess` and the engine's
 * rounding of borrow and repay. Plain data in and out (no RPC, no node: imports), so the web app, the CLI and
 * tests can share it.
 */
import { KeelError } from "../units/error";
import {
  accrueRateUp,
  assess,
  healthFactors,
  type Holding,
  INFINITE_HEALTH,
  marginStateAt,
  type MarginState,
  maxDebt,
  mulDivDown,
  stepToward,
  toDebtUp,
  toNormDebtDown,
  toNormDebtUp,
  WAD,
} from "../math";

/** One listed asset with everything the margin formula reads, σ already taken at the preview's time. */
export interface AssetAt {
  address: string; // lower case
  price: bigint; // [wad]
  unit: bigint; // 10^decimals
  sigma: bigint; // [wad] σ in force at `MarketAt.time`
  maintenanceHaircut: bigint; // [wad]
  initialHaircut: bigint; // [wad]
}

/** A debt class's accumulator as stored (`IVaultEngineTypes.DebtClass`). */
export interface DebtClassState {
  rate: bigint; // [ray] at `updatedAt`
  updatedAt: bigint; // [s]
  stabilityFee: bigint; // [ray] per second
  normDebt: bigint; // [wad] Σ normalized debt of the class
  debtCeiling: bigint; // [wad]
}

/** The market as of block time `time` [s]. */
export interface MarketAt {
  time: bigint;
  assets: readonly AssetAt[]; // listing order
  correlation: readonly bigint[]; // row-major over `assets` [wad]
  zMaintenance: bigint; // [wad]
  zInitial: bigint; // [wad]
  criticalHF: bigint; // [wad]
  dust: bigint; // [wad]
}

/** `IVolatilityOracle.State`'s first slot: all that σ at a time needs. */
export interface SigmaAnchor {
  sigma: bigint; // [wad] at `anchoredAt`
  target: bigint; // [wad]
  maxStep: bigint; // [wad per hour]
  anchoredAt: bigint; // [s]
  seeded: boolean;
}

/** σ in force at `time` [s], as `VolatilityOracle._sigmaNow`: σmin until seeded, then stepped and clamped. */
export function sigmaAt(s: SigmaAnchor, sigmaMin: bigint, sigmaMax: bigint, time: bigint): bigint {
  if (!s.seeded) return sigmaMin;
  const maxMove = mulDivDown(s.maxStep, time - s.anchoredAt, 3600n);
  const stepped = stepToward(s.sigma, s.target, maxMove);
  return stepped < sigmaMin ? sigmaMin : stepped > sigmaMax ? sigmaMax : stepped;
}

/** The class's rate [ray] at `time`, as `Ledger.currentRate`. */
export const rateAt = (c: DebtClassState, time: bigint): bigint =>
  time <= c.updatedAt ? c.rate : accrueRateUp(c.rate, c.stabilityFee, time - c.updatedAt);

/** A position as the engine stores it: collateral per asset (token decimals) and normalized debt. */
export interface PositionState {
  id: bigint;
  cross: boolean;
  holdings: ReadonlyMap<string, bigint>; // asset (lower case) → amount, in the engine's order
  normDebt: bigint; // [wad]
  debtClass: DebtClassState;
  deadline: bigint; // [s] of an open margin call, 0 if none
}

/** The action a form is about to send. */
export type Action =
  | { kind: "deposit"; asset: string; amount: bigint }
  | { kind: "withdraw"; asset: string; amount: bigint }
  | { kind: "borrow"; amount: bigint }
  | { kind: "repay"; amount: bigint } // ≥ debt repays all
  | { kind: "none" };

export interface Health {
  debt: bigint; // [wad]
  normDebt: bigint; // [wad]
  value: bigint; // [wad USD]
  hf: bigint; // [wad]; INFINITE_HEALTH without debt
  hfInitial: bigint; // [wad]
  maxDebt: bigint; // [wad] the most debt the collateral supports at HFi ≥ 1
  state: MarginState; // with the open call's deadline, at the market's time
  /** Debt of the position's class after the action [wad], for the ceiling. */
  classDebt: bigint;
}

export class PreviewError extends KeelError {
  override name = "PreviewError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("REFUSED", message, options);
  }
}

/** The position's health after `action` at `market.time` (throws `PreviewError` for an impossible action). */
export function preview(p: PositionState, market: MarketAt, action: Action = { kind: "none" }): Health {
  const rate = rateAt(p.debtClass, market.time);
  const holdings = new Map(p.holdings);
  let normDebt = p.normDebt;
  let classNormDebt = p.debtClass.normDebt;
  switch (action.kind) {
    case "deposit": {
      const key = action.asset.toLowerCase();
      holdings.set(key, (holdings.get(key) ?? 0n) + action.amount);
      break;
    }
    case "withdraw": {
      const key = action.asset.toLowerCase();
      const held = holdings.get(key) ?? 0n;
      if (action.amount > held) throw new PreviewError("withdraw: more than the position holds");
      holdings.set(key, held - action.amount);
      break;
    }
    case "borrow": {
      const added = toNormDebtUp(action.amount, rate);
      normDebt += added;
      classNormDebt += added;
      break;
    }
    case "repay": {
      const debt = toDebtUp(normDebt, rate);
      const removed = action.amount >= debt ? normDebt : toNormDebtDown(action.amount, rate);
      normDebt -= removed;
      classNormDebt -= removed < classNormDebt ? removed : classNormDebt;
      break;
    }
    case "none":
      break;
  }
  const valuation = assess(...basket(holdings, market));
  const debt = normDebt === 0n ? 0n : toDebtUp(normDebt, rate);
  const { hf, hfInitial } = healthFactors(valuation, debt);
  return {
    debt,
    normDebt,
    value: valuation.value,
    hf,
    hfInitial,
    maxDebt: maxDebt(valuation),
    state: debt === 0n ? 0 : marginStateAt(hf, p.deadline, market.criticalHF, market.time),
    classDebt: toDebtUp(classNormDebt, rate),
  };
}

/** The holdings and correlation sub-matrix `assess` takes, in the engine's order of the position's assets. */
function basket(holdings: ReadonlyMap<string, bigint>, market: MarketAt): [Holding[], bigint[], { zMaintenance: bigint; zInitial: bigint }] {
  const n = market.assets.length;
  const idx: number[] = [];
  const list: Holding[] = [];
  for (const [asset, amount] of holdings) {
    const i = market.assets.findIndex((a) => a.address === asset);
    const a = market.assets[i];
    if (!a) throw new PreviewError(`asset ${asset} is not listed`);
    idx.push(i);
    list.push({ amount, price: a.price, unit: a.unit, sigma: a.sigma, maintenanceHaircut: a.maintenanceHaircut, initialHaircut: a.initialHaircut });
  }
  const rho = idx.flatMap((i) => idx.map((j) => market.correlation[i * n + j] ?? 0n));
  return [list, rho, { zMaintenance: market.zMaintenance, zInitial: market.zInitial }];
}

/**
 * The most kUSD [wad] the position can borrow at `market.time` with HFi ≥ 1 after the borrow (0 if none), by
 * bisection on `preview` itself, so the limit shown is exactly the one the engine applies.
 */
export function maxBorrow(p: PositionState, market: MarketAt): bigint {
  const now = preview(p, market);
  if (now.maxDebt <= now.debt) return 0n;
  let lo = 0n;
  let hi = now.maxDebt - now.debt + 1n;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (preview(p, market, { kind: "borrow", amount: mid }).hfInitial >= WAD) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The most of `asset` (token decimals) the position can withdraw with HFi ≥ 1 after it, by bisection. */
export function maxWithdraw(p: PositionState, market: MarketAt, asset: string): bigint {
  const held = p.holdings.get(asset.toLowerCase()) ?? 0n;
  if (p.normDebt === 0n) return held;
  if (preview(p, market, { kind: "withdraw", asset, amount: held }).hfInitial >= WAD) return held;
  let lo = 0n;
  let hi = held;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (preview(p, market, { kind: "withdraw", asset, amount: mid }).hfInitial >= WAD) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The smallest repayment [wad] that brings HF to at least 1 (clears a margin call); repaying all always does. */
export function repayToClear(p: PositionState, market: MarketAt): bigint {
  const now = preview(p, market);
  if (now.hf >= WAD) return 0n;
  let lo = 0n;
  let hi = now.debt;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (preview(p, market, { kind: "repay", amount: mid }).hf >= WAD) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The smallest deposit of `asset` (token decimals) that brings HF to at least 1, or `undefined` if none does. */
export function depositToClear(p: PositionState, market: MarketAt, asset: string): bigint | undefined {
  const now = preview(p, market);
  if (now.hf >= WAD) return 0n;
  let hi = 1n;
  for (; preview(p, market, { kind: "deposit", asset, amount: hi }).hf < WAD; hi *= 2n) {
    if (hi > 10n ** 40n) return undefined;
  }
  let lo = hi / 2n;
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (preview(p, market, { kind: "deposit", asset, amount: mid }).hf >= WAD) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** p* = price / hf [wad], rounded up: where an isolated position seen at HF `hf` and `price` reaches HF 1. */
export const liquidationPriceFromHealth = (price: bigint, hf: bigint): bigint =>
  hf === 0n || hf === INFINITE_HEALTH ? 0n : (price * WAD + hf - 1n) / hf;
