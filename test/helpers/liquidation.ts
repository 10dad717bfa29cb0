/**
 * The mirror (`src/math`) of `LiquidationModule`: what one liquidation of a position repays, seizes and charges at a
 * given block time, computed from on-chain parameters and prices with the same operations and rounding, so the
 * liquidation tests assert exact equality. Also small helpers shared by the liquidation test files.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256 } from "ethers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import { basketValuer } from "./mirror";

/** `IVaultEngine.State`. */
export const State = { Safe: 0n, Callable: 1n, Called: 2n, Liquidatable: 3n } as const;

/** One asset's liquidation terms, as `RiskModel.liquidationTerms` computes them. */
export interface Terms {
  price: bigint;
  unit: bigint;
  penalty: bigint;
  maintenanceFactor: bigint;
}

/** All zero where the price fails, as `RiskModel.marginBook` reports such a holding. */
export async function termsOf(keel: Keel, asset: string): Promise<Terms> {
  const price = await keel.oracle.getPrice(asset).catch(() => 0n);
  if (price === 0n) return { price, unit: 0n, penalty: 0n, maintenanceFactor: 0n };
  const [zMaintenance] = await keel.risk.confidence();
  const r = await keel.risk.assetRisk(asset);
  const sigma = await keel.risk.sigma(asset);
  const zs = m.mulWadUp(zMaintenance, sigma);
  return {
    price,
    unit: await keel.risk.unitOf(asset),
    penalty: r.liquidationPenalty,
    maintenanceFactor: zs > r.maintenanceHaircut ? zs : r.maintenanceHaircut,
  };
}

/** Everything a liquidation at block time `ts` does, by the mirror. */
export interface ExpectedLiquidation {
  debt: bigint; // before [wad]
  value: bigint; // V before
  maintenanceLoss: bigint; // Lm before
  hf: bigint; // before
  coverable: bigint;
  target: bigint; // targetRepayDown (0 when insolvent or under criticalHF)
  repaid: bigint;
  seized: bigint;
  fee: bigint;
  badDebt: bigint;
  debtAfter: bigint;
  amountsAfter: bigint[]; // per `assets`
  assets: string[];
  hfAfter: bigint;
  /** All of the debt was due before the caps: a step short of it is a close-out step, exempt from raising HF. */
  fullDue: boolean;
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** A position and its market as one liquidation sees them, however they were read. */
export interface LiquidationInput {
  assets: string[];
  amounts: bigint[];
  /** Per asset of `assets`. */
  terms: Terms[];
  normDebt: bigint;
  rate: bigint; // the class accumulator at the liquidation's time [ray]
  /** The mirror's valuation of the basket with other amounts (for HF before and after). */
  valueOf(amounts: bigint[]): m.Valuation;
  params: { criticalHF: bigint; targetHF: bigint; closeFactor: bigint; protocolShare: bigint };
  dust: bigint;
}

/**
 * `LiquidationModule.liquidate(id, asset, maxRepay)` by the mirror: sizing, seizure, fee, bad debt and HF after.
 * Throws "MaxRepayTooLow" where the engine would. Does not check the state or the HF-must-rise rule.
 */
export function sizeLiquidation(x: LiquidationInput, asset: string, maxRepay: bigint): ExpectedLiquidation {
  const { assets, amounts, terms, normDebt, rate, params: p, dust } = x;
  const debt = m.toDebtUp(normDebt, rate);
  let coverable = 0n;
  for (let k = 0; k < assets.length; k++) {
    const u = terms[k]!;
    if (u.price !== 0n) coverable += m.repayForDown(amounts[k]!, u.penalty, u.price, u.unit);
  }
  const v = x.valueOf(amounts);
  const hf = m.healthFactorDown(v.value, v.maintenanceLoss, debt);
  const i = assets.findIndex((a) => a.toLowerCase() === asset.toLowerCase());
  if (i < 0) throw new Error("asset not held");
  const t = terms[i]!;
  const base = { debt, value: v.value, maintenanceLoss: v.maintenanceLoss, hf, coverable, assets };
  // A holding whose price failed (price 0) adds nothing and blocks bad debt: the priced ones are liquidated as solvent.
  const unpriced = terms.some((u) => u.price === 0n);
  if (coverable < debt && !unpriced) {
    if (coverable > maxRepay) throw new Error("MaxRepayTooLow");
    return {
      ...base, target: 0n, repaid: coverable, seized: amounts[i]!, fee: 0n, badDebt: debt - coverable, debtAfter: 0n,
      amountsAfter: amounts.map(() => 0n), hfAfter: m.INFINITE_HEALTH, fullDue: true,
    };
  }
  let target = 0n;
  let due = debt;
  if (hf >= p.criticalHF) {
    target = m.targetRepayDown(p.targetHF, debt, v.value, v.maintenanceLoss, t.penalty, t.maintenanceFactor);
    due = min(target, m.mulWadDown(debt, p.closeFactor));
    if (debt - due < dust) due = debt;
  }
  // Capped by what the holding pays for, a step may leave less than the dust; the liquidator's maxRepay may not.
  let repaid = min(due, m.repayForDown(amounts[i]!, t.penalty, t.price, t.unit));
  if (maxRepay < repaid) {
    const limited = debt - maxRepay < dust ? (debt > dust ? debt - dust : 0n) : maxRepay;
    if (limited === 0n) throw new Error("MaxRepayTooLow");
    repaid = limited;
  }
  const seized = min(m.seizeDown(repaid, t.penalty, t.price, t.unit), amounts[i]!);
  const removed = repaid === debt ? normDebt : m.toNormDebtDown(repaid, rate);
  const debtAfter = m.toDebtUp(normDebt - removed, rate);
  const after = [...amounts];
  after[i] = amounts[i]! - seized;
  const va = x.valueOf(after);
  return {
    ...base, target, repaid, seized, fee: m.protocolFeeUp(repaid, t.penalty, p.protocolShare), badDebt: 0n, debtAfter,
    amountsAfter: after, hfAfter: m.healthFactorDown(va.value, va.maintenanceLoss, debtAfter), fullDue: due === debt,
  };
}

/** The mirror of `liquidate(id, asset, maxRepay, …)` mined at block time `ts`, from views of the latest block. */
export async function expectedLiquidation(
  keel: Keel,
  id: bigint,
  asset: string,
  maxRepay: bigint,
  ts: bigint,
): Promise<ExpectedLiquidation> {
  const [, classKey, normDebt] = await keel.engine.positionInfo(id);
  const c = await keel.engine.debtClass(classKey);
  const assets = [...(await keel.engine.collateralAssets(id))];
  const amounts = await Promise.all(assets.map((a) => keel.engine.collateralOf(id, a)));
  const input: LiquidationInput = {
    assets,
    amounts,
    terms: await Promise.all(assets.map((a) => termsOf(keel, a))),
    normDebt,
    rate: m.accrueRateUp(c.rate, c.stabilityFee, ts - c.updatedAt),
    valueOf: await basketValuer(keel, assets),
    params: await keel.engine.liquidationParams(),
    dust: await keel.engine.dust(),
  };
  return sizeLiquidation(input, asset, maxRepay);
}
/** Sets `symbol`'s feed to `usd` dollars (8-decimal feeds). */
export async function setPrice(keel: Keel, symbol: string, usd: bigint | number): Promise<void> {
  const answer = typeof usd === "bigint" ? usd * 10n ** 8n : BigInt(Math.round(usd * 1e8));
  await (await keel.assets[symbol]!.feed.updateAnswer(answer)).wait();
}

/** Mints `amount` of `symbol` to `who`, approves the engine, opens an isolated position, deposits and borrows. */
export async function openIsolatedDebt(
  keel: Keel,
  who: HardhatEthersSigner,
  symbol: string,
  amount: bigint,
  debt: bigint,
): Promise<bigint> {
  const token = keel.assets[symbol]!.token;
  const asset = await token.getAddress();
  await (await token.mint(who.address, amount)).wait();
  await (await token.connect(who).approve(await keel.engine.getAddress(), MaxUint256)).wait();
  await (await keel.engine.connect(who).open(0, asset, who.address)).wait();
  const id = await keel.engine.lastPositionId();
  await (await keel.engine.connect(who).deposit(id, asset, amount)).wait();
  await (await keel.engine.connect(who).borrow(id, debt, who.address)).wait();
  return id;
}

/** Opens a cross position for `who` with `[symbol, amount]` holdings and borrows `debt`. */
export async function openCrossDebt(
  keel: Keel,
  who: HardhatEthersSigner,
  holdings: readonly (readonly [string, bigint])[],
  debt: bigint,
): Promise<bigint> {
  await (await keel.engine.connect(who).open(1, ethers.ZeroAddress, who.address)).wait();
  const id = await keel.engine.lastPositionId();
  for (const [symbol, amount] of holdings) {
    const token = keel.assets[symbol]!.token;
    await (await token.mint(who.address, amount)).wait();
    await (await token.connect(who).approve(await keel.engine.getAddress(), MaxUint256)).wait();
    await (await keel.engine.connect(who).deposit(id, await token.getAddress(), amount)).wait();
  }
  await (await keel.engine.connect(who).borrow(id, debt, who.address)).wait();
  return id;
}

/**
 * Gives `liquidator` `amount` kUSD by borrowing it against fresh USDC in a cross position of its own (USDC barely
 * moves in these tests, so that position stays safe).
 */
export async function fundKusd(keel: Keel, liquidator: HardhatEthersSigner, amount: bigint): Promise<bigint> {
  const usdc = amount / 10n ** 12n * 2n + 1_000_000n;
  return openCrossDebt(keel, liquidator, [["USDC", usdc]], amount);
}
