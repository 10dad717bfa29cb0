/**
 * Hostile oracle answers (docs/spec.md §5) against the margin-call and liquidation paths, which
 * test/integration/OracleFailure.test.ts does not exercise: on every failure mode no borrow, withdrawal with debt,
 * margin call, call clearing, liquidation or liquidation preview proceeds (each refused with the oracle's named error
 * and its arguments), while deposit, repay and withdrawal without debt still work. Plus a huge price jump: refused at
 * the aggregator's bounds, trusted inside them, with σ moving no faster than its step limit.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256 } from "ethers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import type { MockAggregator } from "../../typechain-types";
import { refreshFeeds } from "../../dev/localMarket";
import { keelFixture } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { fundKusd, openIsolatedDebt, setPrice, State } from "../helpers/liquidation";
import { deployAggregator, feedConfig, governSetFeed, governSetSequencer } from "../helpers/oracle";

const E18 = m.WAD;
const HOUR = 3600;
const GRACE = 6n * 3600n;
const MAX_BOUND = 6000n * 10n ** 8n;

interface Scene {
  keel: Keel;
  alice: HardhatEthersSigner;
  liq: HardhatEthersSigner;
  weth: string;
  feed: MockAggregator;
  /** 10 WETH, 24,500 kUSD: Callable at $2,800. */
  callable: bigint;
  /** 10 WETH, 24,500 kUSD: margin-called at $2,800 and past its deadline (Liquidatable). */
  lapsed: bigint;
  /** 5 WETH, no debt. */
  debtFree: bigint;
}

async function sceneFixture(): Promise<Scene> {
  const keel = await keelFixture();
  const [, alice, liq] = await ethers.getSigners();
  await fundKusd(keel, liq!, 30_000n * E18);
  const callable = await openIsolatedDebt(keel, alice!, "WETH", 10n * E18, 24_500n * E18);
  const lapsed = await openIsolatedDebt(keel, alice!, "WETH", 10n * E18, 24_500n * E18);
  const weth = keel.assets.WETH!.token;
  await (await weth.mint(alice!.address, 5n * E18)).wait();
  await (await keel.engine.connect(alice!).open(0, await weth.getAddress(), alice!.address)).wait();
  const debtFree = await keel.engine.lastPositionId();
  await (await keel.engine.connect(alice!).deposit(debtFree, await weth.getAddress(), 5n * E18)).wait();
  await setPrice(keel, "WETH", 2800);
  await (await keel.engine.marginCall(lapsed)).wait();
  await time.increase(GRACE);
  await refreshFeeds(keel);
  return { keel, alice: alice!, liq: liq!, weth: await weth.getAddress(), feed: keel.assets.WETH!.feed, callable, lapsed, debtFree };
}

interface OracleError {
  name: string;
  args: unknown[];
}

interface Mode {
  name: string;
  prepare?: (s: Scene) => Promise<void>;
  induce: (s: Scene) => Promise<OracleError>;
}

let uptime: MockAggregator | undefined;

const withBounds = async ({ keel, weth, feed }: Scene): Promise<void> => {
  await (await feed.setBounds(10n ** 8n, MAX_BOUND)).wait();
  await (await governSetFeed(keel, weth, await feedConfig(feed, HOUR))).wait();
};

const withSequencer = async ({ keel }: Scene): Promise<void> => {
  uptime = await deployAggregator(0, 0n);
  await (await governSetSequencer(keel, await uptime.getAddress(), HOUR)).wait();
};

const MODES: Mode[] = [
  {
    name: "answer zero",
    induce: async ({ feed }) => {
      await (await feed.updateAnswer(0n)).wait();
      return { name: "NonPositivePrice", args: [await feed.getAddress(), 0n] };
    },
  },
  {
    name: "answer negative",
    induce: async ({ feed }) => {
      await (await feed.updateAnswer(-1n)).wait();
      return { name: "NonPositivePrice", args: [await feed.getAddress(), -1n] };
    },
  },
  {
    name: "stale by one second",
    induce: async ({ feed }) => {
      const [, , , updatedAt] = await feed.latestRoundData();
      await time.increaseTo(updatedAt + BigInt(HOUR) + 1n);
      return { name: "StalePrice", args: [await feed.getAddress(), updatedAt, HOUR] };
    },
  },
  {
    name: "exactly at the aggregator's min bound",
    prepare: withBounds,
    induce: async ({ feed }) => {
      await (await feed.updateAnswer(10n ** 8n)).wait();
      return { name: "PriceAtBound", args: [await feed.getAddress(), 10n ** 8n] };
    },
  },
  {
    name: "huge jump up, clamped exactly at the aggregator's max bound",
    prepare: withBounds,
    induce: async ({ feed }) => {
      await (await feed.updateAnswer(MAX_BOUND)).wait();
      return { name: "PriceAtBound", args: [await feed.getAddress(), MAX_BOUND] };
    },
  },
  {
    name: "sequencer down",
    prepare: withSequencer,
    induce: async () => {
      await (await uptime!.updateAnswer(1n)).wait();
      return { name: "SequencerDown", args: [] };
    },
  },
  {
    name: "sequencer restarted, within its grace period",
    prepare: withSequencer,
    induce: async () => {
      await (await uptime!.updateAnswer(1n)).wait();
      await (await uptime!.updateAnswer(0n)).wait();
      const [, , startedAt] = await uptime!.latestRoundData();
      return { name: "SequencerGracePeriod", args: [startedAt] };
    },
  },
];

async function expectOracleRevert(keel: Keel, action: Promise<unknown>, error: OracleError): Promise<void> {
  await expect(action)
    .to.be.revertedWithCustomError(keel.oracle, error.name)
    .withArgs(...error.args);
}

describe("Hostile oracles: margin calls and liquidations stop, deposits and repayments go on", () => {
  for (const mode of MODES) {
    it(`test_oracle_${mode.name.replace(/\W+/g, "_")}`, async () => {
      const s = await loadFixture(sceneFixture);
      const { keel, alice, liq, weth, callable, lapsed, debtFree } = s;
      const engine = keel.engine.connect(alice);
      if (mode.prepare) {
        await mode.prepare(s);
        await refreshFeeds(keel);
      }
      // With a good price every refused action below would go through.
      expect((await keel.engine.stateOf(callable)).state).to.equal(State.Callable);
      expect((await keel.engine.stateOf(lapsed)).state).to.equal(State.Liquidatable);
      await keel.engine.marginCall.staticCall(callable);
      await keel.engine.connect(liq).liquidate.staticCall(lapsed, weth, MaxUint256, liq.address, "0x");
      await engine.borrow.staticCall(debtFree, 100n * E18, alice.address);
      const deadline = await keel.engine.callDeadline(lapsed);

      const error = await mode.induce(s);

      await expectOracleRevert(keel, keel.engine.marginCall(callable), error);
      await expectOracleRevert(keel, keel.engine.clearMarginCall(lapsed), error);
      await expectOracleRevert(keel, keel.engine.connect(liq).liquidate(lapsed, weth, MaxUint256, liq.address, "0x"), error);
      await expectOracleRevert(keel, keel.engine.connect(liq).previewLiquidation.staticCall(lapsed, weth, MaxUint256), error);
      await expectOracleRevert(keel, keel.engine.stateOf(lapsed), error);
      await expectOracleRevert(keel, engine.borrow(callable, 100n * E18, alice.address), error);
      await expectOracleRevert(keel, engine.borrow(debtFree, 100n * E18, alice.address), error);
      await expectOracleRevert(keel, engine.withdraw(callable, weth, 1n, alice.address), error);

      // Deposit into the callable position and repay part of the lapsed one: both work; the call stays open,
      // since no price says the position is healthy again.
      const wethToken = keel.assets.WETH!.token;
      await (await wethToken.mint(alice.address, E18)).wait();
      await (await engine.deposit(callable, weth, E18)).wait();
      expect(await keel.engine.collateralOf(callable, weth)).to.equal(11n * E18);
      const [, , normBefore] = await keel.engine.positionInfo(lapsed);
      await (await engine.repay(lapsed, 1_000n * E18)).wait();
      const { rate } = await keel.engine.debtClass(weth);
      expect((await keel.engine.positionInfo(lapsed)).normDebt).to.equal(normBefore - m.toNormDebtDown(1_000n * E18, rate));
      expect(await keel.engine.callDeadline(lapsed)).to.equal(deadline);
      // Repay all, then withdraw everything without a price; and a debt-free withdrawal.
      await (await keel.kusd.connect(liq).transfer(alice.address, 30_000n * E18)).wait();
      await (await engine.repay(lapsed, MaxUint256)).wait();
      expect(await keel.engine.callDeadline(lapsed)).to.equal(0n);
      const before = await wethToken.balanceOf(alice.address);
      await (await engine.withdraw(lapsed, weth, 10n * E18, alice.address)).wait();
      await (await engine.withdraw(debtFree, weth, 5n * E18, alice.address)).wait();
      expect(await wethToken.balanceOf(alice.address)).to.equal(before + 15n * E18);

      await expectOracleRevert(keel, keel.oracle.getPrice(weth), error);
      await checkInvariants(keel);
    });
  }

  it("test_oracle_hugeJumpInsideBounds_isTrusted_sigmaMovesAtMostMaxStepPerHour", async () => {
    // docs/spec.md §5 has no deviation breaker: inside the aggregator's bounds a 10× move is a price like any other.
    // What limits its effect on margin is σ's step limit (§3): one poke cannot move σ by more than maxStep per hour.
    const { keel, weth, feed, callable } = await loadFixture(sceneFixture);
    await (await keel.vol.poke(weth)).wait();
    const sigmaBefore = await keel.risk.sigma(weth);
    const { maxStep } = await keel.vol.params();
    await time.increase(HOUR);
    await (await feed.updateAnswer(28_000n * 10n ** 8n)).wait();
    expect(await keel.oracle.getPrice(weth)).to.equal(28_000n * E18);
    await (await keel.vol.poke(weth)).wait();
    const hours = 2n; // at most two hours since the first poke, rounding up
    expect(await keel.risk.sigma(weth)).to.be.lte(sigmaBefore + maxStep * hours);
    expect((await keel.engine.stateOf(callable)).state).to.equal(State.Safe);
    // And a 10× crash makes the position insolvent at once: liquidated in full with bad debt, invariant intact.
    await (await feed.updateAnswer(280n * 10n ** 8n)).wait();
    expect((await keel.engine.stateOf(callable)).state).to.equal(State.Liquidatable);
    const [, , liq] = await ethers.getSigners();
    await expect(keel.engine.connect(liq!).liquidate(callable, weth, MaxUint256, liq!.address, "0x")).to.emit(
      keel.engine,
      "Liquidated",
    );
    expect(await keel.engine.debtOf(callable)).to.equal(0n);
    expect(await keel.engine.collateralOf(callable, weth)).to.equal(0n);
    await checkInvariants(keel);
  });
});
