/**
 * Helpers for the periphery tests (PositionManager, Lens) and the user-flow integration tests: funded users, the
 * mirror's debt at a given time, kUSD permits, gas cost of a transaction, and the check that the manager holds
 * nothing between transactions.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { type ContractTransactionResponse, MaxUint256, Signature } from "ethers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import { MockWETH__factory } from "../../typechain-types";
import { classKeys, rateAt } from "./engine";
import { expectedValuation } from "./mirror";

/** `amount` whole units of a token with `decimals` decimals. */
export const units = (amount: bigint, decimals: number): bigint => amount * 10n ** BigInt(decimals);

/** The token address of `symbol`. */
export function assetOf(keel: Keel, symbol: string): Promise<string> {
  return keel.assets[symbol]!.token.getAddress();
}

/**
 * Gives `who` `amount` of `symbol` and approves the manager for everything. WETH is wrapped from `who`'s ether, so
 * the mock WETH holds the ether it must pay out on unwrapping (its open `mint` creates unbacked WETH).
 */
export async function fundForManager(keel: Keel, symbol: string, who: HardhatEthersSigner, amount: bigint): Promise<string> {
  const { token } = keel.assets[symbol]!;
  if (symbol === keel.config.wrappedNative) {
    await (await MockWETH__factory.connect(await token.getAddress(), who).deposit({ value: amount })).wait();
  } else {
    await (await token.mint(who.address, amount)).wait();
  }
  await (await token.connect(who).approve(await keel.manager.getAddress(), MaxUint256)).wait();
  return token.getAddress();
}


/** The mirror's debt [wad] of position `id` at block time `ts` (default: the latest block, as views see it). */
export async function mirrorDebt(keel: Keel, id: bigint, ts?: bigint): Promise<bigint> {
  const [, classKey, normDebt] = await keel.engine.positionInfo(id);
  const at = ts ?? BigInt(await time.latest());
  return m.toDebtUp(normDebt, await rateAt(keel, classKey, at));
}

/** The mirror's debt [wad] of a new position of `classKey` borrowing `amount` at block time `ts`. */
export async function mirrorNewDebt(keel: Keel, classKey: string, amount: bigint, ts: bigint): Promise<bigint> {
  const rate = await rateAt(keel, classKey, ts);
  return m.toDebtUp(m.toNormDebtUp(amount, rate), rate);
}

/** The mirror's (HF, HFi) of `assets`/`amounts` against `debt`. */
export async function mirrorHealth(
  keel: Keel,
  assets: string[],
  amounts: bigint[],
  debt: bigint,
): Promise<{ hf: bigint; hfInitial: bigint }> {
  return m.healthFactors(await expectedValuation(keel, assets, amounts), debt);
}

/** Ether spent on gas by a mined transaction. */
export async function gasCost(tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = await tx.wait();
  if (!receipt) throw new Error("gasCost: transaction was not mined");
  return receipt.gasUsed * receipt.gasPrice;
}

/** EIP-712 types of an ERC-2612 permit. */
export const KUSD_PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** An ERC-2612 permit of `owner`'s kUSD to `spender`, signed with the kUSD domain. */
export async function signKusdPermit(
  keel: Keel,
  owner: HardhatEthersSigner,
  spender: string,
  value: bigint,
  deadline: bigint,
): Promise<{ v: number; r: string; s: string }> {
  const { chainId } = await ethers.provider.getNetwork();
  const domain = { name: "Keel USD", version: "1", chainId, verifyingContract: await keel.kusd.getAddress() };
  const types = KUSD_PERMIT_TYPES;
  const nonce = await keel.kusd.nonces(owner.address);
  const sig = Signature.from(await owner.signTypedData(domain, types, { owner: owner.address, spender, value, nonce, deadline }));
  return { v: sig.v, r: sig.r, s: sig.s };
}

/** The manager holds no collateral token, no kUSD and no ether. */
export async function expectManagerEmpty(keel: Keel): Promise<void> {
  const manager = await keel.manager.getAddress();
  for (const [symbol, { token }] of Object.entries(keel.assets)) {
    expect(await token.balanceOf(manager), `manager's ${symbol}`).to.equal(0n);
  }
  expect(await keel.kusd.balanceOf(manager), "manager's kUSD").to.equal(0n);
  expect(await ethers.provider.getBalance(manager), "manager's ether").to.equal(0n);
}

/**
 * Moves `amount` kUSD to `to` by borrowing it against a fresh, generously collateralized USDC position of
 * `lender` (for paying accrued interest).
 */
export async function supplyKusd(keel: Keel, lender: HardhatEthersSigner, to: string, amount: bigint): Promise<void> {
  const usdc = await fundForManager(keel, "USDC", lender, units(amount / m.WAD + 1000n, 6) * 2n);
  const collateral = await keel.assets.USDC!.token.balanceOf(lender.address);
  await (await keel.manager.connect(lender).openAndBorrow(usdc, collateral, amount, to)).wait();
}

/** The mirror's fees [wad] `collectFees` mints at block time `ts`: stored fees plus every class's accrual to `ts`. */
export async function mirrorFeesAt(keel: Keel, ts: bigint): Promise<bigint> {
  const latest = BigInt(await time.latest());
  let pendingNow = 0n;
  let pendingAt = 0n;
  for (const key of await classKeys(keel)) {
    const c = await keel.engine.debtClass(key);
    const stored = m.toDebtUp(c.normDebt, c.rate);
    pendingNow += m.toDebtUp(c.normDebt, m.accrueRateUp(c.rate, c.stabilityFee, latest - c.updatedAt)) - stored;
    pendingAt += m.toDebtUp(c.normDebt, m.accrueRateUp(c.rate, c.stabilityFee, ts - c.updatedAt)) - stored;
  }
  const storedFees = (await keel.engine.accruedFees()) - pendingNow;
  return storedFees + pendingAt;
}
