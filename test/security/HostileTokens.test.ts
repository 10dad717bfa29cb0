/**
 * Hostile ERC-20s as collateral (STYLE "weird tokens", docs/spec.md §2 and §6): each is listed through governance and run
 * through deposit, borrow, repay, withdraw, liquidation and close. Each either works with exact balances and the
 * §6 invariants intact, or is refused with a named error; none can take or lock anyone's funds.
 *
 * The engine credits deposits by the balance difference (`VaultEngine._pull`), so a fee-on-transfer token is
 * credited what actually arrived; outgoing transfers send the booked amount and the fee is the recipient's loss.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256 } from "ethers";
import type { Keel } from "../../deploy";
import { refreshFeeds } from "../../dev/localMarket";
import { mockListing, Op } from "../helpers/engine";
import { keelFixture, pinNext } from "../helpers/fixtures";
import { governBatch } from "../helpers/governance";
import { checkInvariants } from "../helpers/invariant";
import { expectedLiquidation, fundKusd } from "../helpers/liquidation";
import { expectedHealth } from "../helpers/mirror";
import * as m from "../../src/math";
import {
  MockAggregator__factory,
  MockBlocklistERC20__factory,
  MockERC20__factory,
  MockFalseReturnERC20__factory,
  MockFeeOnTransferERC20__factory,
  MockNoReturnERC20__factory,
  MockReentrantERC20__factory,
  MockZeroRevertERC20__factory,
  type MockAggregator,
  type MockERC20,
} from "../../typechain-types";

const E18 = m.WAD;
const FEE_BPS = 100n; // 1% burnt on every transfer
const PRICE = 100n * 10n ** 8n; // $100, 8-decimal feeds
const CRASH = 47n * 10n ** 8n; // under criticalHF for the lifecycle's position

type Kind = "NoReturn" | "FalseReturn" | "FeeOnTransfer" | "Decimals6" | "Decimals8" | "Decimals24" | "Blocklist" | "ZeroRevert" | "Reentrant";

const KINDS: readonly { kind: Kind; decimals: number }[] = [
  { kind: "NoReturn", decimals: 6 },
  { kind: "FalseReturn", decimals: 18 },
  { kind: "FeeOnTransfer", decimals: 18 },
  { kind: "Decimals6", decimals: 6 },
  { kind: "Decimals8", decimals: 8 },
  { kind: "Decimals24", decimals: 24 },
  { kind: "Blocklist", decimals: 18 },
  { kind: "ZeroRevert", decimals: 18 },
  { kind: "Reentrant", decimals: 18 },
];

interface Hostile {
  asset: string;
  /** The token through MockERC20's ABI (mint, approve, balanceOf are the same selectors for every kind). */
  token: MockERC20;
  feed: MockAggregator;
  unit: bigint;
  decimals: number;
}

interface Scene {
  keel: Keel;
  tokens: Record<Kind, Hostile>;
  user: HardhatEthersSigner;
  liq: HardhatEthersSigner;
  receiver: HardhatEthersSigner;
  attacker: HardhatEthersSigner;
}

async function deployToken(kind: Kind, decimals: number, deployer: HardhatEthersSigner): Promise<string> {
  const name = `Hostile ${kind}`;
  switch (kind) {
    case "NoReturn":
      return (await new MockNoReturnERC20__factory(deployer).deploy(name, kind, decimals)).getAddress();
    case "FalseReturn":
      return (await new MockFalseReturnERC20__factory(deployer).deploy(name, kind, decimals)).getAddress();
    case "FeeOnTransfer":
      return (await new MockFeeOnTransferERC20__factory(deployer).deploy(name, kind, decimals, FEE_BPS)).getAddress();
    case "Blocklist":
      return (await new MockBlocklistERC20__factory(deployer).deploy(name, kind, decimals)).getAddress();
    case "ZeroRevert":
      return (await new MockZeroRevertERC20__factory(deployer).deploy(name, kind, decimals)).getAddress();
    case "Reentrant":
      return (await new MockReentrantERC20__factory(deployer).deploy(name, kind, decimals)).getAddress();
    default:
      return (await new MockERC20__factory(deployer).deploy(name, kind, decimals)).getAddress();
  }
}

/** Keel with every hostile token listed in one governance batch, each priced $100 by its own feed. */
async function hostileFixture(): Promise<Scene> {
  const keel = await keelFixture();
  const [deployer, user, liq, receiver, attacker] = await ethers.getSigners();
  const listed = (await keel.risk.listedAssets()).length;
  const tokens = {} as Record<Kind, Hostile>;
  const calls: { target: string; data: string }[] = [];
  for (const [i, { kind, decimals }] of KINDS.entries()) {
    const asset = await deployToken(kind, decimals, deployer!);
    const feed = await new MockAggregator__factory(deployer!).deploy(8, PRICE);
    const unit = 10n ** BigInt(decimals);
    const listing = mockListing(await feed.getAddress(), listed + i, {
      stabilityFee: m.RAY,
      debtCeiling: 10n ** 24n,
      supplyCap: 1_000_000n * unit,
    });
    calls.push({
      target: await keel.engine.getAddress(),
      data: keel.engine.interface.encodeFunctionData("listAsset", [asset, listing]),
    });
    tokens[kind] = { asset, token: MockERC20__factory.connect(asset, deployer!), feed, unit, decimals };
  }
  await governBatch(keel, calls);
  await refreshFeeds(keel); // the timelock delay outlasted the local feeds' heartbeats
  return { keel, tokens, user: user!, liq: liq!, receiver: receiver!, attacker: attacker! };
}

/** What arrives when `amount` is sent: less the fee for the fee-on-transfer token. */
function received(kind: Kind, amount: bigint): bigint {
  return kind === "FeeOnTransfer" ? amount - (amount * FEE_BPS) / 10_000n : amount;
}

async function mintAndApprove(s: Scene, t: Hostile, who: HardhatEthersSigner, amount: bigint): Promise<void> {
  await (await t.token.mint(who.address, amount)).wait();
  if ((await t.token.allowance(who.address, await s.keel.engine.getAddress())) === 0n) {
    await (await t.token.connect(who).approve(await s.keel.engine.getAddress(), MaxUint256)).wait();
  }
}

async function openIsolated(s: Scene, t: Hostile, who: HardhatEthersSigner): Promise<bigint> {
  await (await s.keel.engine.connect(who).open(0, t.asset, who.address)).wait();
  return s.keel.engine.lastPositionId();
}

/** The full lifecycle of one hostile token, with exact balances at every step. */
async function lifecycle(s: Scene, kind: Kind): Promise<void> {
  const { keel, user, liq, receiver } = s;
  const t = s.tokens[kind];
  const engine = keel.engine.connect(user);
  const engineAddress = await keel.engine.getAddress();
  const u = t.unit;
  const check = (): Promise<unknown> => checkInvariants(keel, [t.asset]);
  await mintAndApprove(s, t, user, 200n * u);
  await fundKusd(keel, liq, 10_000n * E18);

  // Deposit: credited exactly what arrived.
  const id = await openIsolated(s, t, user);
  const credited = received(kind, 100n * u);
  let userBefore = await t.token.balanceOf(user.address);
  await expect(engine.deposit(id, t.asset, 100n * u))
    .to.emit(keel.engine, "PositionUpdated")
    .withArgs(id, Op.Deposit, t.asset, credited, 0n);
  expect(await t.token.balanceOf(user.address)).to.equal(userBefore - 100n * u);
  expect(await t.token.balanceOf(engineAddress)).to.equal(credited);
  expect(await keel.engine.collateralOf(id, t.asset)).to.equal(credited);
  await check();

  // Borrow and partial repayment (no stability fee on these listings: debt is exact).
  await (await engine.borrow(id, 5_000n * E18, user.address)).wait();
  expect(await keel.kusd.balanceOf(user.address)).to.equal(5_000n * E18);
  const health = await keel.engine.healthFactor(id);
  const mirror = await expectedHealth(keel, id);
  expect([health.hf, health.hfInitial]).to.deep.equal([mirror.hf, mirror.hfInitial]);
  await (await engine.repay(id, 1_000n * E18)).wait();
  expect(await keel.engine.debtOf(id)).to.equal(4_000n * E18);
  expect(await keel.kusd.balanceOf(user.address)).to.equal(4_000n * E18);
  await check();

  // Withdraw with debt: the engine sends the booked amount; the recipient bears any transfer fee.
  userBefore = await t.token.balanceOf(user.address);
  await (await engine.withdraw(id, t.asset, 10n * u, user.address)).wait();
  expect(await t.token.balanceOf(user.address)).to.equal(userBefore + received(kind, 10n * u));
  expect(await keel.engine.collateralOf(id, t.asset)).to.equal(credited - 10n * u);
  expect(await t.token.balanceOf(engineAddress)).to.equal(credited - 10n * u);
  await check();

  // Crash under criticalHF: liquidated at once, exactly as the mirror.
  await (await t.feed.updateAnswer(CRASH)).wait();
  const deficitBefore = await keel.engine.deficit();
  const surplusBefore = await keel.kusd.balanceOf(await keel.surplus.getAddress());
  const kusdBefore = await keel.kusd.balanceOf(liq.address);
  const ts = await pinNext();
  const e = await expectedLiquidation(keel, id, t.asset, MaxUint256, ts);
  await expect(keel.engine.connect(liq).liquidate(id, t.asset, MaxUint256, receiver.address, "0x"))
    .to.emit(keel.engine, "Liquidated")
    .withArgs(id, liq.address, t.asset, e.repaid, e.seized, e.badDebt);
  expect(await t.token.balanceOf(receiver.address)).to.equal(received(kind, e.seized));
  expect(await keel.kusd.balanceOf(liq.address)).to.equal(kusdBefore - e.repaid - e.fee);
  expect(await keel.engine.debtOf(id)).to.equal(e.debtAfter);
  expect(await keel.engine.collateralOf(id, t.asset)).to.equal(e.amountsAfter[0]);
  const owedBad = deficitBefore + e.badDebt;
  const covered = owedBad < surplusBefore + e.fee ? owedBad : surplusBefore + e.fee;
  expect(await keel.engine.deficit()).to.equal(deficitBefore + e.badDebt - covered);
  expect(await keel.kusd.balanceOf(await keel.surplus.getAddress())).to.equal(surplusBefore + e.fee - covered);
  await check();

  // Close what is left: the rest of the collateral goes back to the owner.
  const left = e.amountsAfter[0]!;
  userBefore = await t.token.balanceOf(user.address);
  await (await keel.kusd.connect(liq).transfer(user.address, e.debtAfter)).wait();
  await (await engine.close(id, user.address)).wait();
  expect(await t.token.balanceOf(user.address)).to.equal(userBefore + received(kind, left));
  await check();

  // A second position: open, deposit, borrow, close.
  const id2 = await openIsolated(s, t, user);
  await (await engine.deposit(id2, t.asset, 10n * u)).wait();
  await (await engine.borrow(id2, 200n * E18, user.address)).wait();
  userBefore = await t.token.balanceOf(user.address);
  const kusdUser = await keel.kusd.balanceOf(user.address);
  await (await engine.close(id2, user.address)).wait();
  expect(await keel.kusd.balanceOf(user.address)).to.equal(kusdUser - 200n * E18);
  expect(await t.token.balanceOf(user.address)).to.equal(userBefore + received(kind, received(kind, 10n * u)));
  // Nothing stranded: the engine holds exactly what positions hold (zero: every position is closed).
  const [, total] = await keel.engine.collateralConfig(t.asset);
  expect(total).to.equal(0n);
  expect(await t.token.balanceOf(engineAddress)).to.equal(0n);
  await check();
}

describe("Hostile tokens as collateral", () => {
  describe("full lifecycle: deposit, borrow, repay, withdraw, liquidate, close", () => {
    for (const { kind, decimals } of KINDS) {
      it(`test_lifecycle_${kind}_${decimals}decimals_exactBalancesAndInvariants`, async () => {
        const s = await loadFixture(hostileFixture);
        await lifecycle(s, kind);
      });
    }
  });

  describe("refusals", () => {
    it("test_deposit_falseReturningToken_revertsSafeERC20FailedOperation", async () => {
      const s = await loadFixture(hostileFixture);
      const t = s.tokens.FalseReturn;
      await mintAndApprove(s, t, s.user, 10n * t.unit);
      const id = await openIsolated(s, t, s.user);
      // More than the balance: the token returns false instead of reverting; SafeERC20 turns that into a revert.
      await expect(s.keel.engine.connect(s.user).deposit(id, t.asset, 11n * t.unit))
        .to.be.revertedWithCustomError(s.keel.engine, "SafeERC20FailedOperation")
        .withArgs(t.asset);
      // No allowance: same.
      await (await t.token.mint(s.attacker.address, 10n * t.unit)).wait();
      const id2 = await openIsolated(s, t, s.attacker);
      await expect(s.keel.engine.connect(s.attacker).deposit(id2, t.asset, t.unit))
        .to.be.revertedWithCustomError(s.keel.engine, "SafeERC20FailedOperation")
        .withArgs(t.asset);
      expect(await s.keel.engine.collateralOf(id, t.asset)).to.equal(0n);
      expect(await t.token.balanceOf(await s.keel.engine.getAddress())).to.equal(0n);
      await checkInvariants(s.keel, [t.asset]);
    });

    it("test_deposit_noReturnToken_insufficientBalance_revertsWithTheTokensError", async () => {
      const s = await loadFixture(hostileFixture);
      const t = s.tokens.NoReturn;
      await mintAndApprove(s, t, s.user, 10n * t.unit);
      const id = await openIsolated(s, t, s.user);
      const noReturn = MockNoReturnERC20__factory.connect(t.asset, s.user);
      await expect(s.keel.engine.connect(s.user).deposit(id, t.asset, 11n * t.unit))
        .to.be.revertedWithCustomError(noReturn, "BalanceTooLow")
        .withArgs(s.user.address, 10n * t.unit, 11n * t.unit);
      // Withdrawing more than the position holds is the engine's own refusal, before any transfer.
      await (await s.keel.engine.connect(s.user).deposit(id, t.asset, 10n * t.unit)).wait();
      await expect(s.keel.engine.connect(s.user).withdraw(id, t.asset, 10n * t.unit + 1n, s.user.address))
        .to.be.revertedWithCustomError(s.keel.engine, "InsufficientCollateral")
        .withArgs(id, t.asset, 10n * t.unit);
      await checkInvariants(s.keel, [t.asset]);
    });

    it("test_deposit_feeOnTransfer_viaPositionManager_creditsWhatReachedTheEngine", async () => {
      const s = await loadFixture(hostileFixture);
      const t = s.tokens.FeeOnTransfer;
      const { keel, user } = s;
      await (await t.token.mint(user.address, 100n * E18)).wait();
      await (await t.token.connect(user).approve(await keel.manager.getAddress(), MaxUint256)).wait();
      await (await keel.manager.connect(user).openAndBorrow(t.asset, 100n * E18, 1_000n * E18, user.address)).wait();
      const id = await keel.engine.lastPositionId();
      // Two hops (user → manager → engine), each paying 1%.
      const credited = received("FeeOnTransfer", received("FeeOnTransfer", 100n * E18));
      expect(await keel.engine.collateralOf(id, t.asset)).to.equal(credited);
      expect(await t.token.balanceOf(await keel.engine.getAddress())).to.equal(credited);
      expect(await t.token.balanceOf(await keel.manager.getAddress())).to.equal(0n);
      await checkInvariants(keel, [t.asset]);
    });

    it("test_feeOnTransfer_feeRaisedToAll_depositRevertsZeroAmount", async () => {
      const s = await loadFixture(hostileFixture);
      const t = s.tokens.FeeOnTransfer;
      await mintAndApprove(s, t, s.user, 10n * E18);
      const id = await openIsolated(s, t, s.user);
      await (await MockFeeOnTransferERC20__factory.connect(t.asset, s.user).setFee(10_000n)).wait();
      // Nothing arrives: the engine refuses to credit a zero deposit.
      await expect(s.keel.engine.connect(s.user).deposit(id, t.asset, E18)).to.be.revertedWithCustomError(
        s.keel.engine,
        "ZeroAmount",
      );
      await checkInvariants(s.keel, [t.asset]);
    });

    it("test_blocklist_withdrawToBlockedAddress_revertsAndOwnerCanStillWithdrawElsewhere", async () => {
      const s = await loadFixture(hostileFixture);
      const t = s.tokens.Blocklist;
      const { keel, user, attacker } = s;
      await mintAndApprove(s, t, user, 10n * E18);
      const id = await openIsolated(s, t, user);
      await (await keel.engine.connect(user).deposit(id, t.asset, 10n * E18)).wait();
      const blocklist = MockBlocklistERC20__factory.connect(t.asset, user);
      await (await blocklist.setBlocked(attacker.address, true)).wait();
      await expect(keel.engine.connect(user).withdraw(id, t.asset, E18, attacker.address))
        .to.be.revertedWithCustomError(blocklist, "Blocklisted")
        .withArgs(attacker.address);
      // The owner blocklisted: the position can still be closed to any other address; nothing is locked.
      await (await blocklist.setBlocked(user.address, true)).wait();
      await (await keel.engine.connect(user).close(id, s.receiver.address)).wait();
      expect(await t.token.balanceOf(s.receiver.address)).to.equal(10n * E18);
      await checkInvariants(keel, [t.asset]);
    });

    it("test_zeroRevert_emptyPositionCloses_andZeroAmountsAreRefusedBeforeAnyTransfer", async () => {
      const s = await loadFixture(hostileFixture);
      const t = s.tokens.ZeroRevert;
      const { keel, user } = s;
      await mintAndApprove(s, t, user, 10n * E18);
      const id = await openIsolated(s, t, user);
      await expect(keel.engine.connect(user).deposit(id, t.asset, 0n)).to.be.revertedWithCustomError(keel.engine, "ZeroAmount");
      await (await keel.engine.connect(user).deposit(id, t.asset, 10n * E18)).wait();
      await expect(keel.engine.connect(user).withdraw(id, t.asset, 0n, user.address)).to.be.revertedWithCustomError(
        keel.engine,
        "ZeroAmount",
      );
      await (await keel.engine.connect(user).withdraw(id, t.asset, 10n * E18, user.address)).wait();
      // Closing a position with no collateral transfers nothing, so the token's zero-transfer revert never fires.
      await expect(keel.engine.connect(user).close(id, user.address)).to.emit(keel.engine, "PositionClosed").withArgs(id);
      // An empty cross position too.
      await (await keel.engine.connect(user).open(1, ethers.ZeroAddress, user.address)).wait();
      const cross = await keel.engine.lastPositionId();
      await (await keel.engine.connect(user).deposit(cross, t.asset, 5n * E18)).wait();
      await (await keel.engine.connect(user).withdraw(cross, t.asset, 5n * E18, user.address)).wait();
      expect(await keel.engine.collateralAssets(cross)).to.deep.equal([]);
      await (await keel.engine.connect(user).close(cross, user.address)).wait();
      expect(await t.token.balanceOf(user.address)).to.equal(10n * E18);
      await checkInvariants(keel, [t.asset]);
    });
  });

  describe("reentrant token: the transfer hook calls back into the engine", () => {
    async function reentrantScene(): Promise<Scene & { id: bigint; t: Hostile }> {
      const s = await loadFixture(hostileFixture);
      const t = s.tokens.Reentrant;
      await mintAndApprove(s, t, s.user, 200n * E18);
      const id = await openIsolated(s, t, s.user);
      await (await s.keel.engine.connect(s.user).deposit(id, t.asset, 100n * E18)).wait();
      await (await s.keel.engine.connect(s.user).borrow(id, 5_000n * E18, s.user.address)).wait();
      return { ...s, id, t };
    }

    async function arm(t: Hostile, keel: Keel, fn: string, args: unknown[]): Promise<void> {
      const data = keel.engine.interface.encodeFunctionData(fn as "withdraw", args as [bigint, string, bigint, string]);
      await (await MockReentrantERC20__factory.connect(t.asset, keel.engine.runner).setHook(await keel.engine.getAddress(), data)).wait();
    }

    async function disarm(t: Hostile, keel: Keel): Promise<void> {
      await (await MockReentrantERC20__factory.connect(t.asset, keel.engine.runner).setHook(ethers.ZeroAddress, "0x")).wait();
    }

    it("test_deposit_hookReentersWithdraw_revertsReentrancyGuardReentrantCall", async () => {
      const { keel, user, attacker, id, t } = await reentrantScene();
      await arm(t, keel, "withdraw", [id, t.asset, 50n * E18, attacker.address]);
      await expect(keel.engine.connect(user).deposit(id, t.asset, E18)).to.be.revertedWithCustomError(
        keel.engine,
        "ReentrancyGuardReentrantCall",
      );
      expect(await keel.engine.collateralOf(id, t.asset)).to.equal(100n * E18);
      expect(await t.token.balanceOf(attacker.address)).to.equal(0n);
      await checkInvariants(keel, [t.asset]);
    });

    it("test_withdraw_hookReentersBorrowOrDeposit_revertsReentrancyGuardReentrantCall", async () => {
      const { keel, user, attacker, id, t } = await reentrantScene();
      await arm(t, keel, "borrow", [id, 1_000n * E18, attacker.address]);
      await expect(keel.engine.connect(user).withdraw(id, t.asset, E18, user.address)).to.be.revertedWithCustomError(
        keel.engine,
        "ReentrancyGuardReentrantCall",
      );
      await arm(t, keel, "repay", [id, 1_000n * E18]);
      await expect(keel.engine.connect(user).close(id, user.address)).to.be.revertedWithCustomError(
        keel.engine,
        "ReentrancyGuardReentrantCall",
      );
      expect(await keel.engine.debtOf(id)).to.equal(5_000n * E18);
      expect(await keel.kusd.balanceOf(attacker.address)).to.equal(0n);
      // Disarmed, nothing is locked: the owner closes and gets every token back.
      await disarm(t, keel);
      const before = await t.token.balanceOf(user.address);
      await (await keel.engine.connect(user).close(id, user.address)).wait();
      expect(await t.token.balanceOf(user.address)).to.equal(before + 100n * E18);
      await checkInvariants(keel, [t.asset]);
    });

    it("test_liquidate_hookReentersLiquidate_revertsReentrancyGuardReentrantCall", async () => {
      const { keel, liq, receiver, id, t } = await reentrantScene();
      await fundKusd(keel, liq, 10_000n * E18);
      await (await t.feed.updateAnswer(50n * 10n ** 8n)).wait(); // HF under criticalHF
      await arm(t, keel, "liquidate", [id, t.asset, MaxUint256, receiver.address, "0x"]);
      await expect(
        keel.engine.connect(liq).liquidate(id, t.asset, MaxUint256, receiver.address, "0x"),
      ).to.be.revertedWithCustomError(keel.engine, "ReentrancyGuardReentrantCall");
      expect(await keel.engine.debtOf(id)).to.equal(5_000n * E18);
      // A hook can block liquidations of its token (why docs/spec.md §2 makes tokens with hooks unlistable); disarmed, the
      // liquidation goes through.
      await disarm(t, keel);
      await (await keel.engine.connect(liq).liquidate(id, t.asset, MaxUint256, receiver.address, "0x")).wait();
      expect(await keel.engine.debtOf(id)).to.equal(0n);
      await checkInvariants(keel, [t.asset]);
    });
  });
});
