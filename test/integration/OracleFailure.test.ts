/**
 * docs/spec.md §5: borrowing and withdrawing with debt never proceed on a failed price, while repay, deposit, close and
 * withdraw with zero debt never read the oracle and keep working through every oracle failure.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { MaxUint256, type Signer } from "ethers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import type { MockAggregator } from "../../typechain-types";
import { refreshFeeds } from "../../dev/localMarket";
import { keelFixture } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { expectedHealth } from "../helpers/mirror";
import { deployAggregator, feedConfig, governSetFeed, governSetSequencer } from "../helpers/oracle";

const WAD = m.WAD;
const HOUR = 3600;
const ETH_USD = 3000n * 10n ** 8n;
const ISOLATED = 0;

interface Scene {
  keel: Keel;
  alice: Signer;
  aliceAddress: string;
  weth: string;
  feed: MockAggregator;
  /** Isolated WETH: 10 WETH, 10,000 kUSD debt. */
  indebted: bigint;
  /** Isolated WETH: 5 WETH, no debt. */
  debtFree: bigint;
  /** Isolated WETH: 2 WETH, 1,000 kUSD debt, closed while the price fails. */
  toClose: bigint;
}

/** Opens an isolated position of `symbol` for `owner`, deposits `amount`, borrows `debt`; returns its id. */
async function openPosition(keel: Keel, owner: Signer, symbol: string, amount: bigint, debt: bigint): Promise<bigint> {
  const { token } = keel.assets[symbol]!;
  const ownerAddress = await owner.getAddress();
  const engine = keel.engine.connect(owner);
  await (await token.mint(ownerAddress, amount)).wait();
  await (await token.connect(owner).approve(await engine.getAddress(), amount)).wait();
  await (await engine.open(ISOLATED, await token.getAddress(), ownerAddress)).wait();
  const id = await keel.engine.lastPositionId();
  await (await engine.deposit(id, await token.getAddress(), amount)).wait();
  if (debt !== 0n) await (await engine.borrow(id, debt, ownerAddress)).wait();
  return id;
}

/** Keel with alice's three WETH positions and a WBTC position whose kUSD pays for the WETH positions' interest. */
async function oracleFailureFixture(): Promise<Scene> {
  const keel = await keelFixture();
  const [, alice] = await ethers.getSigners();
  const indebted = await openPosition(keel, alice!, "WETH", 10n * WAD, 10_000n * WAD);
  const debtFree = await openPosition(keel, alice!, "WETH", 5n * WAD, 0n);
  const toClose = await openPosition(keel, alice!, "WETH", 2n * WAD, 1_000n * WAD);
  await openPosition(keel, alice!, "WBTC", 10n ** 8n, 5_000n * WAD);
  const { token, feed } = keel.assets.WETH!;
  return {
    keel,
    alice: alice!,
    aliceAddress: alice!.address,
    weth: await token.getAddress(),
    feed,
    indebted,
    debtFree,
    toClose,
  };
}

/** The oracle error a failure mode causes: its name and arguments. */
interface OracleError {
  name: string;
  args: unknown[];
}

interface FailureMode {
  name: string;
  /** Governance set-up done before the prices are known good (the timelock delay makes every feed stale). */
  prepare?: (s: Scene) => Promise<void>;
  /** Breaks the WETH price and returns the error every price-dependent action must revert with. */
  induce: (s: Scene) => Promise<OracleError>;
}

let uptime: MockAggregator | undefined;

const MAX_BOUND = 6000n * 10n ** 8n;

const modes: FailureMode[] = [
  {
    name: "stale price",
    induce: async ({ keel, feed }) => {
      const [, , , updatedAt] = await feed.latestRoundData();
      await time.increaseTo(updatedAt + BigInt(HOUR) + 1n);
      return { name: "StalePrice", args: [await keel.assets.WETH!.feed.getAddress(), updatedAt, HOUR] };
    },
  },
  {
    name: "updatedAt in the future",
    induce: async ({ feed }) => {
      const future = BigInt((await time.latest()) + 1_000);
      await (await feed.updateRoundData(99n, ETH_USD, future, future)).wait();
      return { name: "StalePrice", args: [await feed.getAddress(), future, HOUR] };
    },
  },
  {
    name: "zero price",
    induce: async ({ feed }) => {
      await (await feed.updateAnswer(0n)).wait();
      return { name: "NonPositivePrice", args: [await feed.getAddress(), 0n] };
    },
  },
  {
    name: "negative price",
    induce: async ({ feed }) => {
      await (await feed.updateAnswer(-ETH_USD)).wait();
      return { name: "NonPositivePrice", args: [await feed.getAddress(), -ETH_USD] };
    },
  },
  {
    name: "price at the aggregator's min bound",
    induce: async ({ feed }) => {
      await (await feed.updateAnswer(1n)).wait(); // the deployed bound: MockAggregator's default minAnswer
      return { name: "PriceAtBound", args: [await feed.getAddress(), 1n] };
    },
  },
  {
    name: "price at the aggregator's max bound",
    prepare: async ({ keel, weth, feed }) => {
      await (await feed.setBounds(1n, MAX_BOUND)).wait();
      await (await governSetFeed(keel, weth, await feedConfig(feed, HOUR))).wait();
    },
    induce: async ({ feed }) => {
      // Twice the real price: borrowing on it would be generous, so refusing it is what protects the protocol.
      await (await feed.updateAnswer(MAX_BOUND)).wait();
      return { name: "PriceAtBound", args: [await feed.getAddress(), MAX_BOUND] };
    },
  },
  {
    name: "sequencer down",
    prepare: async ({ keel }) => {
      uptime = await deployAggregator(0, 0n);
      await (await governSetSequencer(keel, await uptime.getAddress(), HOUR)).wait();
    },
    induce: async () => {
      await (await uptime!.updateAnswer(1n)).wait();
      return { name: "SequencerDown", args: [] };
    },
  },
  {
    name: "sequencer within its grace period",
    prepare: async ({ keel }) => {
      uptime = await deployAggregator(0, 0n);
      await (await governSetSequencer(keel, await uptime.getAddress(), HOUR)).wait();
    },
    induce: async () => {
      await (await uptime!.updateAnswer(1n)).wait();
      await (await uptime!.updateAnswer(0n)).wait();
      const [, , startedAt] = await uptime!.latestRoundData();
      return { name: "SequencerGracePeriod", args: [startedAt] };
    },
  },
];

/** Asserts that `action` reverts with the oracle's `error`. */
async function expectOracleRevert(keel: Keel, action: Promise<unknown>, error: OracleError): Promise<void> {
  await expect(action)
    .to.be.revertedWithCustomError(keel.oracle, error.name)
    .withArgs(...error.args);
}

describe("Oracle failure: price-dependent actions stop, the rest keeps working", () => {
  for (const mode of modes) {
    it(`test_oracleFailure_${mode.name.replace(/\W+/g, "_")}`, async () => {
      const s = await loadFixture(oracleFailureFixture);
      const { keel, alice, aliceAddress, weth, indebted, debtFree, toClose } = s;
      const engine = keel.engine.connect(alice);
      const wethToken = keel.assets.WETH!.token;
      const engineAddress = await keel.engine.getAddress();
      if (mode.prepare) {
        await mode.prepare(s);
        await refreshFeeds(keel);
      }

      // With a good price the very same borrow and withdraw would go through: only the price can stop them.
      await engine.borrow.staticCall(indebted, 100n * WAD, aliceAddress);
      await engine.borrow.staticCall(debtFree, 100n * WAD, aliceAddress);
      await engine.withdraw.staticCall(indebted, weth, WAD, aliceAddress);
      const health = await keel.engine.healthFactor(indebted);
      const expected = await expectedHealth(keel, indebted);
      expect([health.hf, health.hfInitial]).to.deep.equal([expected.hf, expected.hfInitial]);
      expect(health.hfInitial).to.be.gte(WAD);

      const error = await mode.induce(s);

      // Price-dependent: refused with the oracle's own error.
      await expectOracleRevert(keel, engine.borrow(indebted, 100n * WAD, aliceAddress), error);
      await expectOracleRevert(keel, engine.borrow(debtFree, 100n * WAD, aliceAddress), error);
      await expectOracleRevert(keel, engine.withdraw(indebted, weth, WAD, aliceAddress), error);
      await expectOracleRevert(keel, keel.engine.healthFactor(indebted), error);
      await expectOracleRevert(keel, keel.oracle.getPrice(weth), error);
      expect(await keel.engine.healthFactor(debtFree)).to.deep.equal([m.INFINITE_HEALTH, m.INFINITE_HEALTH]);

      // Deposit.
      await (await wethToken.mint(aliceAddress, WAD)).wait();
      await (await wethToken.connect(alice).approve(engineAddress, WAD)).wait();
      await (await engine.deposit(indebted, weth, WAD)).wait();
      expect(await keel.engine.collateralOf(indebted, weth)).to.equal(11n * WAD);

      // Partial repay: debt credited rounds down at the rate of the repaying block.
      const partial = 1_000n * WAD;
      let [, , normBefore] = await keel.engine.positionInfo(indebted);
      let kusdBefore = await keel.kusd.balanceOf(aliceAddress);
      await (await engine.repay(indebted, partial)).wait();
      let rate = (await keel.engine.debtClass(weth)).rate;
      const [, , normAfter] = await keel.engine.positionInfo(indebted);
      expect(normAfter).to.equal(normBefore - m.toNormDebtDown(partial, rate));
      expect(await keel.kusd.balanceOf(aliceAddress)).to.equal(kusdBefore - partial);
      expect(await keel.engine.debtOf(indebted)).to.equal(m.toDebtUp(normAfter, rate));

      // Full repay: all the debt, rounded up, at the rate of the repaying block.
      normBefore = normAfter;
      kusdBefore = await keel.kusd.balanceOf(aliceAddress);
      await (await engine.repay(indebted, MaxUint256)).wait();
      rate = (await keel.engine.debtClass(weth)).rate;
      expect(await keel.kusd.balanceOf(aliceAddress)).to.equal(kusdBefore - m.toDebtUp(normBefore, rate));
      expect(await keel.engine.debtOf(indebted)).to.equal(0n);
      expect(await keel.engine.healthFactor(indebted)).to.deep.equal([m.INFINITE_HEALTH, m.INFINITE_HEALTH]);

      // Now debt-free: every token of collateral can leave.
      let wethBefore = await wethToken.balanceOf(aliceAddress);
      await (await engine.withdraw(indebted, weth, 11n * WAD, aliceAddress)).wait();
      expect(await keel.engine.collateralOf(indebted, weth)).to.equal(0n);
      expect(await wethToken.balanceOf(aliceAddress)).to.equal(wethBefore + 11n * WAD);

      // Withdraw from a position that never had debt.
      wethBefore = await wethToken.balanceOf(aliceAddress);
      await (await engine.withdraw(debtFree, weth, 2n * WAD, aliceAddress)).wait();
      expect(await keel.engine.collateralOf(debtFree, weth)).to.equal(3n * WAD);
      expect(await wethToken.balanceOf(aliceAddress)).to.equal(wethBefore + 2n * WAD);

      // Close a position that still has debt: repays all of it and returns all collateral, without a price.
      const [, , normToClose] = await keel.engine.positionInfo(toClose);
      kusdBefore = await keel.kusd.balanceOf(aliceAddress);
      wethBefore = await wethToken.balanceOf(aliceAddress);
      await expect(engine.close(toClose, aliceAddress)).to.emit(keel.engine, "PositionClosed").withArgs(toClose);
      rate = (await keel.engine.debtClass(weth)).rate;
      expect(await keel.kusd.balanceOf(aliceAddress)).to.equal(kusdBefore - m.toDebtUp(normToClose, rate));
      expect(await wethToken.balanceOf(aliceAddress)).to.equal(wethBefore + 2n * WAD);
      expect(await keel.engine.debtOf(toClose)).to.equal(0n);
      await expect(keel.engine.positionInfo(toClose))
        .to.be.revertedWithCustomError(keel.engine, "PositionNotFound")
        .withArgs(toClose);
      await expect(keel.nft.ownerOf(toClose))
        .to.be.revertedWithCustomError(keel.nft, "ERC721NonexistentToken")
        .withArgs(toClose);

      // Close the emptied and the debt-free positions too.
      await (await engine.close(indebted, aliceAddress)).wait();
      wethBefore = await wethToken.balanceOf(aliceAddress);
      await (await engine.close(debtFree, aliceAddress)).wait();
      expect(await wethToken.balanceOf(aliceAddress)).to.equal(wethBefore + 3n * WAD);

      // Still failing at the end: nothing above needed a price.
      await expectOracleRevert(keel, keel.oracle.getPrice(weth), error);
      await checkInvariants(keel);
    });
  }
});
