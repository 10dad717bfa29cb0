/**
 * The liquidation mirror (`src/math/liquidation.ts`) fed with views of the latest block: what one liquidation of a
 * position repays, seizes and charges at a given block time, so the liquidation tests assert exact equality. Also
 * small helpers shared by the liquidation test files.
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256 } from "ethers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import { type LiquidationInput, type LiquidationOutcome, type LiquidationTerms, sizeLiquidation } from "../../src/math/liquidation";
import { basketValuer } from "./mirror";

/** `IVaultEngine.State`. */
export const State = { Safe: 0n, Callable: 1n, Called: 2n, Liquidatable: 3n } as const;

/**
 * `asset`'s liquidation terms as `RiskModel.liquidationTerms` computes them now; all zero where the price fails, as
 * `RiskModel.marginInputs` reports such a holding.
 */
export async function termsOf(keel: Keel, asset: string): Promise<LiquidationTerms> {
  const price = await keel.oracle.getPrice(asset).catch(() => 0n);
  if (price === 0n) return { price, unit: 0n, penalty: 0n, minPenalty: 0n, fullPenaltyHF: 0n, maintenanceFactor: 0n };
  const [zMaintenance] = await keel.risk.confidence();
  const r = await keel.risk.assetRisk(asset);
  const sigma = await keel.risk.sigma(asset);
  const zs = m.mulWadUp(zMaintenance, sigma);
  return {
    price,
    unit: await keel.risk.unitOf(asset),
    penalty: r.liquidationPenalty,
    minPenalty: r.minLiquidationPenalty,
    fullPenaltyHF: r.fullPenaltyHF,
    maintenanceFactor: zs > r.maintenanceHaircut ? zs : r.maintenanceHaircut,
  };
}

/** The mirror of `liquidate(id, asset, maxRepay, …)` mined at block time `ts`, from views of the latest block. */
export async function expectedLiquidation(
  keel: Keel,
  id: bigint,
  asset: string,
  maxRepay: bigint,
  ts: bigint,
): Promise<LiquidationOutcome> {
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

/** MockAMM._quote: out = in·(1 − fee)·R_out / (R_in + in·(1 − fee)), rounded down. */
export function ammOut(amountIn: bigint, reserveIn: bigint, reserveOut: bigint, feeBps: bigint): bigint {
  const inAfterFee = amountIn * (10_000n - feeBps);
  return (inAfterFee * reserveOut) / (reserveIn * 10_000n + inAfterFee);
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
