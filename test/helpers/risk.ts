/**
 * Helpers for the risk-model, kUSD, NFT, surplus and cross-margin tests: governed calls that return their
 * transaction, feed refreshes after the timelock delay, a seeded PRNG, and the mirror's largest borrow at a
 * given block time.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { type ContractTransactionResponse, id as keccakId, ZeroHash } from "ethers";
import type { Keel } from "../../deploy";
import { schedule } from "../../deploy/governance";
import * as m from "../../src/math";
import { expectedValuation } from "./mirror";

/**
 * Like `govern`, but returns the timelock's execute transaction so tests can assert its events. A `salt` makes
 * the operation distinct, so the same call can be governed twice (the timelock refuses a repeated operation).
 */
export async function governTx(
  keel: Keel,
  target: { getAddress(): Promise<string> },
  data: string,
  salt?: string,
): Promise<ContractTransactionResponse> {
  const [deployer] = await ethers.getSigners();
  const call = { target: await target.getAddress(), data, salt };
  await schedule(keel, deployer!, call);
  await time.increase(await keel.timelock.getMinDelay());
  const saltHash = salt ? keccakId(salt) : ZeroHash;
  return keel.timelock.connect(deployer!).execute(call.target, 0, call.data, ZeroHash, saltHash);
}

export { refreshFeeds } from "../../dev/localMarket";

export { Prng } from "../../src/risk/random";

/** The mirror's HFi of position `id` if its debt were `debt`, at current prices and parameters. */
export async function initialHealthAt(keel: Keel, id: bigint, debt: bigint): Promise<bigint> {
  const assets = [...(await keel.engine.collateralAssets(id))];
  const amounts = await Promise.all(assets.map((a) => keel.engine.collateralOf(id, a)));
  return m.healthFactors(await expectedValuation(keel, assets, amounts), debt).hfInitial;
}

/**
 * Debt of position `id` after borrowing `amount` in a block at `timestamp`, as `VaultEngine.borrow` computes it:
 * the class accrues to `timestamp`, the borrow adds ceil(amount / rate) normalized debt, debt = ceil(norm × rate).
 */
export async function debtAfterBorrow(keel: Keel, id: bigint, amount: bigint, timestamp: bigint): Promise<bigint> {
  const [, classKey, normDebt] = await keel.engine.positionInfo(id);
  const c = await keel.engine.debtClass(classKey);
  const rate = m.accrueRateUp(c.rate, c.stabilityFee, timestamp - c.updatedAt);
  return m.toDebtUp(normDebt + m.toNormDebtUp(amount, rate), rate);
}

/**
 * The largest amount position `id` can borrow in a block at `timestamp` with HFi ≥ 1 afterwards: the largest
 * `a` with debtAfterBorrow(a) ≤ maxDebt(valuation) (debt after borrowing is non-decreasing in `a` and ≥ the
 * current debt + `a`, so counting down from maxDebt − debt finds it in a few steps).
 */
export async function largestBorrow(keel: Keel, id: bigint, timestamp: bigint): Promise<bigint> {
  const assets = [...(await keel.engine.collateralAssets(id))];
  const amounts = await Promise.all(assets.map((a) => keel.engine.collateralOf(id, a)));
  const limit = m.maxDebt(await expectedValuation(keel, assets, amounts));
  const current = await debtAfterBorrow(keel, id, 0n, timestamp);
  let amount = limit - current;
  while (amount > 0n && (await debtAfterBorrow(keel, id, amount, timestamp)) > limit) amount--;
  return amount;
}
