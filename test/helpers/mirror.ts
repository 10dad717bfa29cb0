/**
 * Expected values from the math mirror (`src/math`) using the parameters and prices currently on chain, so tests
 * assert exact equality with the contracts.
 */
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import { rateAt } from "./engine";

/** The mirror's valuation of a basket at current oracle prices and on-chain risk parameters. */
export async function expectedValuation(keel: Keel, assets: string[], amounts: bigint[]): Promise<m.Valuation> {
  return (await basketValuer(keel, assets))(amounts);
}

/**
 * Reads prices and risk parameters of `assets` once; values any amounts of them as the contracts would now. A
 * holding whose price fails is left out, as margin calls and liquidation value it (RiskModel.marginInputs).
 */
export async function basketValuer(keel: Keel, assets: string[]): Promise<(amounts: bigint[]) => m.Valuation> {
  const [zMaintenance, zInitial] = await keel.risk.confidence();
  const holdings: Omit<m.Holding, "amount">[] = [];
  for (const asset of assets) {
    const params = await keel.risk.assetRisk(asset);
    holdings.push({
      price: await keel.oracle.getPrice(asset).catch(() => 0n),
      unit: await keel.risk.unitOf(asset),
      sigma: await keel.risk.sigma(asset),
      maintenanceHaircut: params.maintenanceHaircut,
      initialHaircut: params.initialHaircut,
    });
  }
  const n = assets.length;
  const correlation: bigint[] = new Array<bigint>(n * n).fill(0n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      correlation[i * n + j] = i === j ? m.WAD : await keel.risk.correlation(assets[i]!, assets[j]!);
    }
  }
  const z = { zMaintenance, zInitial };
  return (amounts) => m.assess(holdings.map((h, i) => ({ ...h, amount: h.price === 0n ? 0n : amounts[i]! })), correlation, z);
}

/** The mirror's (HF, HFi) of position `id` at current prices and post-accrual debt. */
export async function expectedHealth(keel: Keel, id: bigint): Promise<{ hf: bigint; hfInitial: bigint }> {
  const assets = await keel.engine.collateralAssets(id);
  const amounts = await Promise.all(assets.map((a) => keel.engine.collateralOf(id, a)));
  const debt = await keel.engine.debtOf(id);
  return m.healthFactors(await expectedValuation(keel, [...assets], amounts), debt);
}

/** The mirror's debt of a class after `elapsed` seconds from its stored state. */
export async function expectedRate(keel: Keel, classKey: string, elapsed: bigint): Promise<bigint> {
  const c = await keel.engine.debtClass(classKey);
  return m.accrueRateUp(c.rate, c.stabilityFee, elapsed);
}

/** The mirror's HFi of position `id` if its debt were `debt`, at current prices and parameters. */
export async function initialHealthAt(keel: Keel, id: bigint, debt: bigint): Promise<bigint> {
  const assets = [...(await keel.engine.collateralAssets(id))];
  const amounts = await Promise.all(assets.map((a) => keel.engine.collateralOf(id, a)));
  return m.healthFactors(await expectedValuation(keel, assets, amounts), debt).hfInitial;
}

/**
 * Debt [wad] of position `id` after borrowing `amount` in a block at `ts`, as `VaultEngine.borrow` computes it: the
 * class accrues to `ts`, the borrow adds ceil(amount / rate) normalized debt, debt = ceil(norm × rate).
 */
export async function debtAfterBorrow(keel: Keel, id: bigint, amount: bigint, ts: bigint): Promise<bigint> {
  const [, classKey, normDebt] = await keel.engine.positionInfo(id);
  const rate = await rateAt(keel, classKey, ts);
  return m.toDebtUp(normDebt + m.toNormDebtUp(amount, rate), rate);
}

/** A position not opened yet: its debt class and the basket it will hold. */
export interface NewPosition {
  classKey: string;
  assets: string[];
  amounts: bigint[];
}

/**
 * The largest amount that can be borrowed in a block at `ts` with HFi ≥ 1 afterwards, by an open position `id` or by
 * a position about to be opened: the largest `amount` whose debt after the borrow is at most the mirror's `limit`
 * (`maxDebt` = V − Li). Debt after borrowing is non-decreasing in the amount and ≥ the current debt + amount, so
 * counting down from limit − debt finds it in a few steps.
 */
export async function largestBorrow(
  keel: Keel,
  position: bigint | NewPosition,
  ts: bigint,
): Promise<{ amount: bigint; limit: bigint }> {
  let classKey: string;
  let normDebt = 0n;
  let assets: string[];
  let amounts: bigint[];
  if (typeof position === "bigint") {
    [, classKey, normDebt] = await keel.engine.positionInfo(position);
    assets = [...(await keel.engine.collateralAssets(position))];
    amounts = await Promise.all(assets.map((a) => keel.engine.collateralOf(position, a)));
  } else {
    ({ classKey, assets, amounts } = position);
  }
  const limit = m.maxDebt(await expectedValuation(keel, assets, amounts));
  const rate = await rateAt(keel, classKey, ts);
  const debtAfter = (x: bigint): bigint => m.toDebtUp(normDebt + m.toNormDebtUp(x, rate), rate);
  let amount = limit - m.toDebtUp(normDebt, rate);
  while (amount > 0n && debtAfter(amount) > limit) amount--;
  return { amount, limit };
}
