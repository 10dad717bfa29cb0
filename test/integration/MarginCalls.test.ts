/**
 * Margin calls (docs/spec.md §4): every state transition of a position, read through `engine.stateOf`, with the errors'
 * health-factor arguments computed by the mirror at the pinned block time.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256 } from "ethers";
import type { Keel } from "../../deploy";
import { refreshFeeds } from "../../dev/localMarket";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { govern } from "../helpers/governance";
import { checkInvariants } from "../helpers/invariant";
import { expectedLiquidation, openIsolatedDebt, setPrice, State } from "../helpers/liquidation";
import { expectedHealth } from "../helpers/mirror";
import * as m from "../../src/math";

const E18 = m.WAD;
const GRACE = 6n * 3600n;

interface Ctx {
  keel: Keel;
  user: HardhatEthersSigner;
  caller: HardhatEthersSigner;
  weth: string;
  id: bigint;
}

/** 10 WETH, 24,500 kUSD debt at $3,000 (Safe). */
async function position(): Promise<Ctx> {
  const keel = await loadKeel();
  const [, user, caller] = await ethers.getSigners();
  const id = await openIsolatedDebt(keel, user!, "WETH", 10n * E18, 24_500n * E18);
  return { keel, user: user!, caller: caller!, weth: await keel.assets.WETH!.token.getAddress(), id };
}

/** The mirror's HF of `id` in the next block, pinned. */
async function hfNext(c: Ctx): Promise<bigint> {
  const ts = await pinNext();
  return (await expectedLiquidation(c.keel, c.id, c.weth, MaxUint256, ts)).hf;
}

async function call(c: Ctx): Promise<bigint> {
  const ts = await pinNext();
  await expect(c.keel.engine.connect(c.caller).marginCall(c.id))
    .to.emit(c.keel.engine, "MarginCalled")
    .withArgs(c.id, ts + (await c.keel.engine.liquidationParams()).gracePeriod);
  return ts;
}

describe("Margin calls", () => {
  it("test_marginCall_curedByDeposit: Safe → Callable → Called → cured by a deposit (MarginCallCleared, Safe)", async () => {
    const c = await position();
    const { keel } = c;
    let [state, deadline, hf] = await keel.engine.stateOf(c.id);
    expect(state).to.equal(State.Safe);
    expect(deadline).to.equal(0n);
    expect(hf).to.equal((await expectedHealth(keel, c.id)).hf);
    await setPrice(keel, "WETH", 2800);
    [state, , hf] = await keel.engine.stateOf(c.id);
    expect(state).to.equal(State.Callable);
    expect(hf).to.equal((await expectedHealth(keel, c.id)).hf).and.lt(E18);
    const ts = await call(c);
    [state, deadline] = await keel.engine.stateOf(c.id);
    expect(state).to.equal(State.Called);
    expect(deadline).to.equal(ts + GRACE);
    expect(await keel.engine.callDeadline(c.id)).to.equal(ts + GRACE);

    // Anyone may deposit: 1 WETH cures it.
    const token = keel.assets.WETH!.token;
    await (await token.mint(c.caller.address, E18)).wait();
    await (await token.connect(c.caller).approve(keel.engine, E18)).wait();
    await expect(keel.engine.connect(c.caller).deposit(c.id, c.weth, E18))
      .to.emit(keel.engine, "MarginCallCleared")
      .withArgs(c.id);
    [state, deadline, hf] = await keel.engine.stateOf(c.id);
    expect(state).to.equal(State.Safe);
    expect(deadline).to.equal(0n);
    expect(hf).to.equal((await expectedHealth(keel, c.id)).hf).and.gte(E18);
    await checkInvariants(keel);
  });

  it("test_marginCall_lapses: a call that lapses: Called → Liquidatable at the deadline; under criticalHF Liquidatable without a call", async () => {
    const c = await position();
    const { keel } = c;
    const other = await openIsolatedDebt(keel, c.user, "WETH", 10n * E18, 24_500n * E18);
    await setPrice(keel, "WETH", 2800);
    const ts = await call(c);
    await time.increaseTo(ts + GRACE - 10n);
    await refreshFeeds(keel);
    expect((await keel.engine.stateOf(c.id)).state).to.equal(State.Called); // view at the latest block
    await time.increaseTo(ts + GRACE);
    expect((await keel.engine.stateOf(c.id)).state).to.equal(State.Liquidatable);

    await setPrice(keel, "WETH", 2650);
    const [state, deadline, hf] = await keel.engine.stateOf(other);
    expect(state).to.equal(State.Liquidatable);
    expect(deadline).to.equal(0n);
    expect(hf).to.equal((await expectedHealth(keel, other)).hf).and.lt((await keel.engine.liquidationParams()).criticalHF);
    await checkInvariants(keel);
  });

  it("test_marginCall_notCallable_alreadyCalled: marginCall reverts NotCallable on a Safe position and AlreadyCalled when called twice", async () => {
    const c = await position();
    const { keel } = c;
    const hf = await hfNext(c);
    await expect(keel.engine.marginCall(c.id)).to.be.revertedWithCustomError(keel.engine, "NotCallable").withArgs(c.id, hf);
    await setPrice(keel, "WETH", 2800);
    const ts = await call(c);
    await expect(keel.engine.marginCall(c.id))
      .to.be.revertedWithCustomError(keel.engine, "AlreadyCalled")
      .withArgs(c.id, ts + GRACE);
    // A position without debt is never callable.
    await (await keel.engine.connect(c.user).open(0, c.weth, c.user.address)).wait();
    const empty = await keel.engine.lastPositionId();
    await expect(keel.engine.marginCall(empty))
      .to.be.revertedWithCustomError(keel.engine, "NotCallable")
      .withArgs(empty, m.INFINITE_HEALTH);
    await checkInvariants(keel);
  });

  it("test_clearMarginCall_errorsThenRecovery: clearMarginCall: NotCalled, StillUnhealthy(id, hf), then succeeds after a price recovery", async () => {
    const c = await position();
    const { keel } = c;
    await expect(keel.engine.clearMarginCall(c.id)).to.be.revertedWithCustomError(keel.engine, "NotCalled").withArgs(c.id);
    await setPrice(keel, "WETH", 2800);
    await call(c);
    const hf = await hfNext(c);
    await expect(keel.engine.connect(c.caller).clearMarginCall(c.id))
      .to.be.revertedWithCustomError(keel.engine, "StillUnhealthy")
      .withArgs(c.id, hf);
    await setPrice(keel, "WETH", 3000);
    await expect(keel.engine.connect(c.caller).clearMarginCall(c.id))
      .to.emit(keel.engine, "MarginCallCleared")
      .withArgs(c.id);
    const [state, deadline] = await keel.engine.stateOf(c.id);
    expect(state).to.equal(State.Safe);
    expect(deadline).to.equal(0n);
    await expect(keel.engine.clearMarginCall(c.id)).to.be.revertedWithCustomError(keel.engine, "NotCalled").withArgs(c.id);
    await checkInvariants(keel);
  });

  it("test_marginCall_zeroGrace_liquidatable: a grace period of 0 makes a called position Liquidatable at once", async () => {
    const c = await position();
    const { keel } = c;
    const p = await keel.engine.liquidationParams();
    const params = {
      gracePeriod: 0n,
      criticalHF: p.criticalHF,
      targetHF: p.targetHF,
      closeFactor: p.closeFactor,
      protocolShare: p.protocolShare,
    };
    await govern(keel, keel.engine, keel.engine.interface.encodeFunctionData("setLiquidationParams", [params]));
    await refreshFeeds(keel);
    expect((await keel.engine.liquidationParams()).gracePeriod).to.equal(0n);
    await setPrice(keel, "WETH", 2800);
    expect((await keel.engine.stateOf(c.id)).state).to.equal(State.Callable);
    const ts = await call(c);
    const [state, deadline] = await keel.engine.stateOf(c.id);
    expect(deadline).to.equal(ts);
    expect(state).to.equal(State.Liquidatable);
    await checkInvariants(keel);
  });

  it("test_repay_clearsCallOnlyIfHealthy: a repayment that restores HF ≥ 1 clears the call; one that does not keeps it", async () => {
    const c = await position();
    const { keel } = c;
    await setPrice(keel, "WETH", 2800);
    const ts = await call(c);
    await (await keel.kusd.connect(c.user).approve(keel.engine, MaxUint256)).wait();
    // 10 kUSD is not enough: still Called, same deadline.
    await expect(keel.engine.connect(c.user).repay(c.id, 10n * E18)).to.not.emit(keel.engine, "MarginCallCleared");
    expect(await keel.engine.stateOf(c.id)).to.deep.equal([State.Called, ts + GRACE, (await expectedHealth(keel, c.id)).hf]);
    await expect(keel.engine.connect(c.user).repay(c.id, 2_000n * E18))
      .to.emit(keel.engine, "MarginCallCleared")
      .withArgs(c.id);
    const [state, deadline, hf] = await keel.engine.stateOf(c.id);
    expect(state).to.equal(State.Safe);
    expect(deadline).to.equal(0n);
    expect(hf).to.equal((await expectedHealth(keel, c.id)).hf).and.gte(E18);
    await checkInvariants(keel);
  });

  it("test_marginCall_failedPrice_reverts: a margin call on a failed price reverts with the oracle's error", async () => {
    const c = await position();
    const { keel } = c;
    const feed = keel.assets.WETH!.feed;
    const feedAddress = await feed.getAddress();
    await (await feed.updateAnswer(0n)).wait();
    await expect(keel.engine.marginCall(c.id))
      .to.be.revertedWithCustomError(keel.oracle, "NonPositivePrice")
      .withArgs(feedAddress, 0n);
    await (await feed.updateAnswer(2800n * 10n ** 8n)).wait();
    const updatedAt = BigInt(await time.latest());
    await time.increase(3601n);
    await expect(keel.engine.marginCall(c.id))
      .to.be.revertedWithCustomError(keel.oracle, "StalePrice")
      .withArgs(feedAddress, updatedAt, 3600n);
    expect(await keel.engine.callDeadline(c.id)).to.equal(0n);
    await refreshFeeds(keel);
    await checkInvariants(keel);
  });
});
