/**
 * Engine actions for the tests: the engine's enums, the mirror's class accumulator at a given time, funded positions,
 * and extra mock listings (listed through one timelock batch).
 */
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256, ZeroAddress } from "ethers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import { MockAggregator__factory, MockERC20__factory, type MockAggregator, type MockERC20 } from "../../typechain-types";
import type { IVaultEngineTypes as IVaultEngine } from "../../typechain-types/contracts/core/VaultEngine";
import { governBatch } from "./governance";

/** `IVaultEngine.Mode` as returned by ethers (uint8 → bigint). */
export const Mode = { Isolated: 0n, Cross: 1n } as const;
/** `IVaultEngine.Operation`. */
export const Op = { Deposit: 0n, Withdraw: 1n, Borrow: 2n, Repay: 3n, Close: 4n } as const;

export const E18 = 10n ** 18n;
export const YEAR = m.SECONDS_PER_YEAR;

/** The mirror's accumulator [ray] of `classKey` at block time `ts`, from the class as stored now. */
export async function rateAt(keel: Keel, classKey: string, ts: bigint): Promise<bigint> {
  const c = await keel.engine.debtClass(classKey);
  return m.accrueRateUp(c.rate, c.stabilityFee, ts - c.updatedAt);
}

/** Fees [wad] the class would add when accrued at `ts` (as `VaultEngine._accrue`). */
export async function pendingFeesAt(keel: Keel, classKey: string, ts: bigint): Promise<bigint> {
  const c = await keel.engine.debtClass(classKey);
  const next = m.accrueRateUp(c.rate, c.stabilityFee, ts - c.updatedAt);
  return m.toDebtUp(c.normDebt, next) - m.toDebtUp(c.normDebt, c.rate);
}

/** Every debt class: the listed assets and CROSS_CLASS. */
export async function classKeys(keel: Keel): Promise<string[]> {
  return [...(await keel.risk.listedAssets()), await keel.engine.CROSS_CLASS()];
}

/** Σ_class ceil(normDebt × rate) at each class's last accrual: what `globalDebt()` must equal. */
export async function storedGlobalDebt(keel: Keel): Promise<bigint> {
  let sum = 0n;
  for (const key of await classKeys(keel)) {
    const c = await keel.engine.debtClass(key);
    sum += m.toDebtUp(c.normDebt, c.rate);
  }
  return sum;
}

/** Mints `amount` of the asset `symbol` to `who` and approves the engine for all of it. */
export async function fund(keel: Keel, symbol: string, who: HardhatEthersSigner, amount: bigint): Promise<string> {
  const token = keel.assets[symbol]!.token;
  await (await token.mint(who.address, amount)).wait();
  await (await token.connect(who).approve(await keel.engine.getAddress(), MaxUint256)).wait();
  return token.getAddress();
}

/** Opens a position owned by (and opened by) `owner`; returns its id. */
export async function open(keel: Keel, owner: HardhatEthersSigner, mode: bigint, asset = ZeroAddress): Promise<bigint> {
  await (await keel.engine.connect(owner).open(mode, asset, owner.address)).wait();
  return keel.engine.lastPositionId();
}

/** Opens an isolated position of `symbol` for `owner` and deposits `amount` (token decimals). */
export async function openIsolated(keel: Keel, owner: HardhatEthersSigner, symbol: string, amount: bigint): Promise<bigint> {
  const asset = await fund(keel, symbol, owner, amount);
  const id = await open(keel, owner, Mode.Isolated, asset);
  if (amount !== 0n) await (await keel.engine.connect(owner).deposit(id, asset, amount)).wait();
  return id;
}

/** Opens a cross position for `owner` and deposits each `[symbol, amount]` in order. */
export async function openCross(
  keel: Keel,
  owner: HardhatEthersSigner,
  holdings: readonly (readonly [string, bigint])[],
): Promise<bigint> {
  const id = await open(keel, owner, Mode.Cross);
  for (const [symbol, amount] of holdings) {
    const asset = await fund(keel, symbol, owner, amount);
    await (await keel.engine.connect(owner).deposit(id, asset, amount)).wait();
  }
  return id;
}

/** An isolated WETH position of `user` holding `collateral` that borrowed `amount` kUSD to `user`; returns its id. */
export async function borrowAgainstWeth(
  keel: Keel,
  user: HardhatEthersSigner,
  amount: bigint,
  collateral = 10n * E18,
): Promise<bigint> {
  const id = await openIsolated(keel, user, "WETH", collateral);
  await (await keel.engine.connect(user).borrow(id, amount, user.address)).wait();
  return id;
}

/** A listing of a mock asset priced by `feed` (8 decimals, 7-day heartbeat), uncorrelated with `listed` assets. */
export function mockListing(
  feed: string,
  listed: number,
  engine: IVaultEngine.AssetConfigStruct = { stabilityFee: m.RAY, debtCeiling: 0n, supplyCap: 10n ** 30n },
): IVaultEngine.ListingStruct {
  return {
    engine,
    feed: {
      primary: { aggregator: feed, heartbeat: 7 * 86_400, decimals: 8, minAnswer: 0n, maxAnswer: 2n ** 191n - 1n },
      base: { aggregator: ZeroAddress, heartbeat: 0, decimals: 0, minAnswer: 0n, maxAnswer: 0n },
    },
    risk: {
      sigmaMin: 5n * 10n ** 16n,
      sigmaMax: 25n * 10n ** 16n,
      maintenanceHaircut: 10n ** 17n,
      initialHaircut: 15n * 10n ** 16n,
      liquidationPenalty: 5n * 10n ** 16n,
      minLiquidationPenalty: 5n * 10n ** 16n,
      fullPenaltyHF: m.WAD,
    },
    correlations: new Array<bigint>(listed).fill(0n),
  };
}

/** Deploys a mock token (18 decimals) and a $100 mock feed (8 decimals). */
export async function deployMockAsset(name: string): Promise<{ token: MockERC20; feed: string; aggregator: MockAggregator }> {
  const [deployer] = await ethers.getSigners();
  const token = await new MockERC20__factory(deployer!).deploy(name, name, 18);
  const aggregator = await new MockAggregator__factory(deployer!).deploy(8, 100n * 10n ** 8n);
  return { token, feed: await aggregator.getAddress(), aggregator };
}

/** Lists `count` extra mock assets through one timelock batch; returns their tokens. */
export async function listMockAssets(keel: Keel, count: number): Promise<MockERC20[]> {
  const listed = (await keel.risk.listedAssets()).length;
  const engine = await keel.engine.getAddress();
  const tokens: MockERC20[] = [];
  const calls: { target: string; data: string }[] = [];
  for (let i = 0; i < count; i++) {
    const { token, feed } = await deployMockAsset(`MOCK${i}`);
    tokens.push(token);
    const listing = mockListing(feed, listed + i);
    calls.push({ target: engine, data: keel.engine.interface.encodeFunctionData("listAsset", [await token.getAddress(), listing]) });
  }
  await governBatch(keel, calls);
  return tokens;
}
