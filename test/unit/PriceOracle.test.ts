import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress } from "ethers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import type { MockAggregator } from "../../typechain-types";
import type { IPriceOracle } from "../../typechain-types/contracts/interfaces/IPriceOracle";
import { refreshFeeds } from "../../dev/localMarket";
import { loadKeel } from "../helpers/fixtures";
import { expectedValuation } from "../helpers/mirror";
import {
  deployAggregator,
  feedConfig,
  type FeedConfig,
  governSetFeed,
  governSetSequencer,
  INT128_MAX,
  INT192_MAX,
  NO_FEED,
} from "../helpers/oracle";

const WAD = m.WAD;
const HOUR = 3600;
const DAY = 86_400;
/** 10^n as a bigint. */
const e = (n: number): bigint => 10n ** BigInt(n);

/** A fresh address to configure test feeds on: the oracle does not care what the asset is. */
const newAsset = (): string => ethers.Wallet.createRandom().address;

async function address(of: { getAddress(): Promise<string> }): Promise<string> {
  return of.getAddress();
}

/** The feed as `feedOf` returns it, every number a bigint, for deep equality. */
function tuple(f: IPriceOracle.FeedStructOutput | FeedConfig): [string, bigint, bigint, bigint, bigint] {
  return [
    String(f.aggregator),
    BigInt(f.heartbeat),
    BigInt(f.decimals),
    BigInt(f.minAnswer),
    BigInt(f.maxAnswer),
  ];
}

/** What `feedOf` returns for a configuration: bounds saturated to int128, as the oracle stores them. */
function asStored(f: FeedConfig): [string, bigint, bigint, bigint, bigint] {
  const [aggregator, heartbeat, decimals, min, max] = tuple(f);
  const sat = (x: bigint): bigint => (x > INT128_MAX ? INT128_MAX : x);
  return [aggregator, heartbeat, decimals, sat(min), sat(max)];
}

/** The block time of `feed`'s latest round. */
async function updatedAtOf(feed: MockAggregator): Promise<bigint> {
  const [, , , updatedAt] = await feed.latestRoundData();
  return updatedAt;
}

/** Configures a fresh asset priced by a new `decimals`-decimal feed answering `answer`, and returns both. */
async function freshFeed(
  keel: Keel,
  decimals: number,
  answer: bigint,
): Promise<{ asset: string; feed: MockAggregator }> {
  const feed = await deployAggregator(decimals, answer);
  const asset = newAsset();
  await (await governSetFeed(keel, asset, await feedConfig(feed, HOUR))).wait();
  await (await feed.updateAnswer(answer)).wait(); // the timelock delay made the first answer stale
  return { asset, feed };
}

describe("PriceOracle", () => {
  describe("getPrice: normalization", () => {
    it("test_getPrice_8DecimalFeed_scalesToWad", async () => {
      const keel = await loadKeel();
      const weth = await address(keel.assets.WETH!.token);
      expect(await keel.oracle.getPrice(weth)).to.equal(3000n * WAD);
      await keel.assets.WETH!.feed.updateAnswer(3000_12345678n);
      expect(await keel.oracle.getPrice(weth)).to.equal(3000_12345678n * e(10));
    });

    it("test_getPrice_18DecimalFeed_passesThrough", async () => {
      const keel = await loadKeel();
      const answer = 1234_567890123456789012n;
      const { asset } = await freshFeed(keel, 18, answer);
      expect(await keel.oracle.getPrice(asset)).to.equal(answer);
    });

    it("test_getPrice_20DecimalFeed_roundsDown", async () => {
      const keel = await loadKeel();
      const answer = 3000n * e(20) + 99n; // 3000.00000000000000000099
      expect(answer % 100n).to.not.equal(0n);
      const { asset } = await freshFeed(keel, 20, answer);
      expect(await keel.oracle.getPrice(asset)).to.equal(3000n * WAD);
      expect(await keel.oracle.getPrice(asset)).to.equal(answer / 100n);
    });

    it("test_getPrice_0And36DecimalFeeds_scaleExactly", async () => {
      const keel = await loadKeel();
      const whole = await freshFeed(keel, 0, 42n);
      expect(await keel.oracle.getPrice(whole.asset)).to.equal(42n * WAD);
      const answer36 = 7n * e(36) + e(18) - 1n; // 7.000000000000000000999…: the last 18 digits are cut
      const max = await freshFeed(keel, 36, answer36);
      expect(await keel.oracle.getPrice(max.asset)).to.equal(7n * WAD);
    });

    it("test_getPrice_positiveAnswerRoundingToZero_revertsPriceRoundsToZero", async () => {
      const keel = await loadKeel();
      const tiny = await freshFeed(keel, 36, e(18) - 1n); // 0.999…e-18 USD: positive, but 0 in wad
      await expect(keel.oracle.getPrice(tiny.asset))
        .to.be.revertedWithCustomError(keel.oracle, "PriceRoundsToZero")
        .withArgs(tiny.asset);
      const smallest = await freshFeed(keel, 36, e(18)); // exactly 1 wei of wad
      expect(await keel.oracle.getPrice(smallest.asset)).to.equal(1n);
    });

    it("test_getPrice_composite_isMulWadDownOfRateAndBase", async () => {
      const keel = await loadKeel();
      const { token, feed: rateFeed, baseFeed } = keel.assets.wstETH!;
      const wstEth = await address(token);
      expect(await address(baseFeed!)).to.equal(await address(keel.assets.WETH!.feed));
      // Default local config: 1.18 × 3000.
      expect(await keel.oracle.getPrice(wstEth)).to.equal(m.mulWadDown(118n * e(16), 3000n * WAD));
      expect(await keel.oracle.getPrice(wstEth)).to.equal(3540n * WAD);

      const rate = 1_181234567890123457n; // 18 decimals
      const ethUsd = 3000_12345678n; // 8 decimals
      await rateFeed.updateAnswer(rate);
      await baseFeed!.updateAnswer(ethUsd);
      const expected = m.mulWadDown(rate, ethUsd * e(10));
      expect(m.mulWadUp(rate, ethUsd * e(10))).to.equal(expected + 1n); // the product is inexact: rounding shows
      expect(await keel.oracle.getPrice(wstEth)).to.equal(expected);
    });

    it("test_assess_6And8And18DecimalTokens_matchMirror", async () => {
      const keel = await loadKeel();
      const { USDC, WBTC, WETH, wstETH } = keel.assets;
      await USDC!.feed.updateAnswer(99987654n); // 0.99987654
      await WBTC!.feed.updateAnswer(61234_56789012n);
      await WETH!.feed.updateAnswer(3123_45678901n);
      await wstETH!.feed.updateAnswer(1_187654321987654321n);
      const cases: { asset: string; amount: bigint; price: bigint; unit: bigint }[] = [
        { asset: await address(USDC!.token), amount: 1234_567891n, price: 99987654n * e(10), unit: e(6) },
        { asset: await address(WBTC!.token), amount: 12345679n, price: 61234_56789012n * e(10), unit: e(8) },
        {
          asset: await address(WETH!.token),
          amount: 1_234567890123456789n,
          price: 3123_45678901n * e(10),
          unit: e(18),
        },
        {
          asset: await address(wstETH!.token),
          amount: 987654321987654321n,
          price: m.mulWadDown(1_187654321987654321n, 3123_45678901n * e(10)),
          unit: e(18),
        },
      ];
      for (const c of cases) {
        expect(await keel.oracle.getPrice(c.asset)).to.equal(c.price);
        const expected = await expectedValuation(keel, [c.asset], [c.amount]);
        expect(expected.value).to.equal(m.valueDown(c.amount, c.price, c.unit));
        const v = await keel.risk.assess([c.asset], [c.amount]);
        expect([v.value, v.maintenanceLoss, v.initialLoss]).to.deep.equal([
          expected.value,
          expected.maintenanceLoss,
          expected.initialLoss,
        ]);
      }
      // The same holdings as one cross basket.
      const assets = cases.map((c) => c.asset);
      const amounts = cases.map((c) => c.amount);
      const expected = await expectedValuation(keel, assets, amounts);
      expect(expected.value).to.equal(cases.reduce((sum, c) => sum + m.valueDown(c.amount, c.price, c.unit), 0n));
      const v = await keel.risk.assess(assets, amounts);
      expect([v.value, v.maintenanceLoss, v.initialLoss]).to.deep.equal([
        expected.value,
        expected.maintenanceLoss,
        expected.initialLoss,
      ]);
    });
  });

  describe("getPrice: failures", () => {
    it("test_getPrice_zeroAnswer_revertsNonPositivePrice", async () => {
      const keel = await loadKeel();
      const { token, feed } = keel.assets.WETH!;
      await feed.updateAnswer(0n);
      await expect(keel.oracle.getPrice(await address(token)))
        .to.be.revertedWithCustomError(keel.oracle, "NonPositivePrice")
        .withArgs(await address(feed), 0n);
    });

    it("test_getPrice_negativeAnswer_revertsNonPositivePrice", async () => {
      const keel = await loadKeel();
      const { token, feed } = keel.assets.WBTC!;
      for (const answer of [-1n, -60000n * e(8)]) {
        await feed.updateAnswer(answer);
        await expect(keel.oracle.getPrice(await address(token)))
          .to.be.revertedWithCustomError(keel.oracle, "NonPositivePrice")
          .withArgs(await address(feed), answer);
      }
    });

    for (const [symbol, heartbeat] of [
      ["WETH", HOUR],
      ["WBTC", HOUR],
      ["USDC", DAY],
    ] as const) {
      it(`test_getPrice_${symbol}_freshAtHeartbeat_staleOneSecondLater`, async () => {
        const keel = await loadKeel();
        const { token, feed } = keel.assets[symbol]!;
        const asset = await address(token);
        await feed.updateAnswer(await feed.latestAnswer());
        const updatedAt = await updatedAtOf(feed);
        const price = await keel.oracle.getPrice(asset);
        await time.increaseTo(updatedAt + BigInt(heartbeat));
        expect(await keel.oracle.getPrice(asset)).to.equal(price);
        await time.increaseTo(updatedAt + BigInt(heartbeat) + 1n);
        await expect(keel.oracle.getPrice(asset))
          .to.be.revertedWithCustomError(keel.oracle, "StalePrice")
          .withArgs(await address(feed), updatedAt, heartbeat);
      });
    }

    it("test_getPrice_updatedAtZero_revertsStalePrice", async () => {
      const keel = await loadKeel();
      const { token, feed } = keel.assets.WETH!;
      const now = await time.latest();
      await feed.updateRoundData(7n, 3000n * e(8), 0n, now);
      await expect(keel.oracle.getPrice(await address(token)))
        .to.be.revertedWithCustomError(keel.oracle, "StalePrice")
        .withArgs(await address(feed), 0n, HOUR);
    });

    it("test_getPrice_updatedAtInFuture_revertsStalePrice", async () => {
      const keel = await loadKeel();
      const { token, feed } = keel.assets.WETH!;
      for (const ahead of [1, 1000]) {
        const now = await time.latest();
        const future = BigInt(now + 1 + ahead); // the update is mined at now + 1
        await time.setNextBlockTimestamp(now + 1); // another test may have left a later timestamp pinned
        await feed.updateRoundData(7n, 3000n * e(8), future, future);
        expect(await time.latest()).to.equal(now + 1);
        await expect(keel.oracle.getPrice(await address(token)))
          .to.be.revertedWithCustomError(keel.oracle, "StalePrice")
          .withArgs(await address(feed), future, HOUR);
      }
    });

    it("test_getPrice_answerAtDeployedMinBound_revertsPriceAtBound", async () => {
      const keel = await loadKeel();
      const { token, feed } = keel.assets.WETH!;
      const asset = await address(token);
      // The deploy read the mock's bounds (1, int192 max); the oracle stores the max saturated to int128.
      const [primary] = await keel.oracle.feedOf(asset);
      expect(primary.minAnswer).to.equal(1n);
      expect(primary.maxAnswer).to.equal(INT128_MAX);
      await feed.updateAnswer(1n);
      await expect(keel.oracle.getPrice(asset))
        .to.be.revertedWithCustomError(keel.oracle, "PriceAtBound")
        .withArgs(await address(feed), 1n);
      await feed.updateAnswer(2n);
      expect(await keel.oracle.getPrice(asset)).to.equal(2n * e(10));
    });

    it("test_getPrice_answerAtGovernedBounds_revertsPriceAtBound", async () => {
      const keel = await loadKeel();
      const { token, feed } = keel.assets.WETH!;
      const asset = await address(token);
      const [min, max] = [1000n * e(8), 5000n * e(8)];
      await feed.setBounds(min, max);
      await (await governSetFeed(keel, asset, await feedConfig(feed, HOUR))).wait();
      const [primary] = await keel.oracle.feedOf(asset);
      expect([primary.minAnswer, primary.maxAnswer]).to.deep.equal([min, max]);

      for (const answer of [min, max, min - 1n, max + 1n]) {
        await feed.updateAnswer(answer);
        await expect(keel.oracle.getPrice(asset))
          .to.be.revertedWithCustomError(keel.oracle, "PriceAtBound")
          .withArgs(await address(feed), answer);
      }
      for (const answer of [min + 1n, max - 1n]) {
        await feed.updateAnswer(answer);
        expect(await keel.oracle.getPrice(asset)).to.equal(answer * e(10));
      }
    });

    it("test_getPrice_compositeWithStaleBase_revertsStalePrice", async () => {
      const keel = await loadKeel();
      const { token, feed: rateFeed, baseFeed } = keel.assets.wstETH!;
      const wstEth = await address(token);
      await rateFeed.updateAnswer(118n * e(16));
      await baseFeed!.updateAnswer(3000n * e(8));
      const baseUpdatedAt = await updatedAtOf(baseFeed!);
      await time.increaseTo(baseUpdatedAt + BigInt(HOUR) + 1n); // base (1 h) stale, rate (1 day) fresh
      await expect(keel.oracle.getPrice(wstEth))
        .to.be.revertedWithCustomError(keel.oracle, "StalePrice")
        .withArgs(await address(baseFeed!), baseUpdatedAt, HOUR);
      await baseFeed!.updateAnswer(3000n * e(8));
      expect(await keel.oracle.getPrice(wstEth)).to.equal(3540n * WAD);
    });

    it("test_getPrice_compositeWithStaleRate_revertsStalePrice", async () => {
      const keel = await loadKeel();
      const { token, feed: rateFeed, baseFeed } = keel.assets.wstETH!;
      const wstEth = await address(token);
      await rateFeed.updateAnswer(118n * e(16));
      const rateUpdatedAt = await updatedAtOf(rateFeed);
      // Exactly one heartbeat old, with a fresh base: still fresh.
      await time.setNextBlockTimestamp(rateUpdatedAt + BigInt(DAY));
      await baseFeed!.updateAnswer(3000n * e(8));
      expect(await keel.oracle.getPrice(wstEth)).to.equal(3540n * WAD);
      await time.setNextBlockTimestamp(rateUpdatedAt + BigInt(DAY) + 1n);
      await baseFeed!.updateAnswer(3000n * e(8));
      await expect(keel.oracle.getPrice(wstEth))
        .to.be.revertedWithCustomError(keel.oracle, "StalePrice")
        .withArgs(await address(rateFeed), rateUpdatedAt, DAY);
    });

    it("test_getPrice_compositeWithFailingBase_revertsWithBaseError", async () => {
      const keel = await loadKeel();
      const { token, baseFeed } = keel.assets.wstETH!;
      const wstEth = await address(token);
      await baseFeed!.updateAnswer(0n);
      await expect(keel.oracle.getPrice(wstEth))
        .to.be.revertedWithCustomError(keel.oracle, "NonPositivePrice")
        .withArgs(await address(baseFeed!), 0n);
      await baseFeed!.updateAnswer(1n);
      await expect(keel.oracle.getPrice(wstEth))
        .to.be.revertedWithCustomError(keel.oracle, "PriceAtBound")
        .withArgs(await address(baseFeed!), 1n);
    });

    it("test_getPrice_unknownAsset_revertsFeedNotSet", async () => {
      const keel = await loadKeel();
      const unknown = newAsset();
      await expect(keel.oracle.getPrice(unknown))
        .to.be.revertedWithCustomError(keel.oracle, "FeedNotSet")
        .withArgs(unknown);
      await expect(keel.oracle.getPrice(ZeroAddress))
        .to.be.revertedWithCustomError(keel.oracle, "FeedNotSet")
        .withArgs(ZeroAddress);
      const [primary, base] = await keel.oracle.feedOf(unknown);
      expect(tuple(primary)).to.deep.equal(tuple(NO_FEED));
      expect(tuple(base)).to.deep.equal(tuple(NO_FEED));
    });
  });

  describe("sequencer", () => {
    const GRACE = HOUR;

    /** Keel with an L2 sequencer uptime feed (up since its deployment, long before) and fresh prices. */
    async function withSequencer(): Promise<{ keel: Keel; uptime: MockAggregator }> {
      const keel = await loadKeel();
      const uptime = await deployAggregator(0, 0n);
      await expect(governSetSequencer(keel, await address(uptime), GRACE))
        .to.emit(keel.oracle, "SequencerSet")
        .withArgs(await address(uptime), GRACE);
      await refreshFeeds(keel);
      return { keel, uptime };
    }

    it("test_setSequencer_upPastGrace_pricesFlow", async () => {
      const { keel, uptime } = await withSequencer();
      const s = await keel.oracle.sequencer();
      expect([s.uptimeFeed, s.gracePeriod]).to.deep.equal([await address(uptime), BigInt(GRACE)]);
      expect(await keel.oracle.getPrice(await address(keel.assets.WETH!.token))).to.equal(3000n * WAD);
      expect(await keel.oracle.getPrice(await address(keel.assets.wstETH!.token))).to.equal(3540n * WAD);
    });

    it("test_getPrice_sequencerDown_revertsSequencerDown", async () => {
      const { keel, uptime } = await withSequencer();
      await uptime.updateAnswer(1n);
      for (const { token } of Object.values(keel.assets)) {
        await expect(keel.oracle.getPrice(await address(token))).to.be.revertedWithCustomError(
          keel.oracle,
          "SequencerDown",
        );
      }
    });

    it("test_getPrice_sequencerWithinGrace_revertsSequencerGracePeriod", async () => {
      const { keel, uptime } = await withSequencer();
      const weth = await address(keel.assets.WETH!.token);
      await uptime.updateAnswer(1n);
      const restartedAt = BigInt((await time.latest()) + 10);
      await time.setNextBlockTimestamp(restartedAt);
      await uptime.updateAnswer(0n); // back up: startedAt = restartedAt
      await expect(keel.oracle.getPrice(weth))
        .to.be.revertedWithCustomError(keel.oracle, "SequencerGracePeriod")
        .withArgs(restartedAt);
      // Exactly at the end of the grace period: still refused (fresh price, so only the sequencer fails).
      await time.setNextBlockTimestamp(restartedAt + BigInt(GRACE));
      await keel.assets.WETH!.feed.updateAnswer(3000n * e(8));
      await expect(keel.oracle.getPrice(weth))
        .to.be.revertedWithCustomError(keel.oracle, "SequencerGracePeriod")
        .withArgs(restartedAt);
      // One second later prices flow again.
      await time.setNextBlockTimestamp(restartedAt + BigInt(GRACE) + 1n);
      await keel.assets.WETH!.feed.updateAnswer(3000n * e(8));
      expect(await keel.oracle.getPrice(weth)).to.equal(3000n * WAD);
    });

    it("test_getPrice_sequencerStartedAtZero_revertsSequencerGracePeriod", async () => {
      const { keel, uptime } = await withSequencer();
      await uptime.updateRoundData(2n, 0n, await time.latest(), 0n);
      await expect(keel.oracle.getPrice(await address(keel.assets.WETH!.token)))
        .to.be.revertedWithCustomError(keel.oracle, "SequencerGracePeriod")
        .withArgs(0n);
    });

    // A restart time ahead of the block time (on Arbitrum the uptime feed's startedAt is the L1 timestamp of the
    // status message, which can be ahead of the L2 block time) counts as within the grace period.
    it("test_getPrice_sequencerStartedAtInFuture_revertsSequencerGracePeriod", async () => {
      const { keel, uptime } = await withSequencer();
      const weth = await address(keel.assets.WETH!.token);
      const now = await time.latest();
      const startedAt = BigInt(now + 1 + 60); // the update is mined at now + 1: a restart 60 s "in the future"
      await uptime.updateRoundData(2n, 0n, now + 1, startedAt);
      await expect(keel.oracle.getPrice(weth)).to.be.reverted; // refused: it never returns a price
      await expect(keel.oracle.getPrice(weth))
        .to.be.revertedWithCustomError(keel.oracle, "SequencerGracePeriod")
        .withArgs(startedAt);
    });

    it("test_getPrice_unknownAssetWhileSequencerDown_revertsFeedNotSet", async () => {
      const { keel, uptime } = await withSequencer();
      await uptime.updateAnswer(1n);
      const unknown = newAsset();
      await expect(keel.oracle.getPrice(unknown))
        .to.be.revertedWithCustomError(keel.oracle, "FeedNotSet")
        .withArgs(unknown);
    });

    it("test_setSequencer_zeroAddress_disablesTheCheck", async () => {
      const { keel, uptime } = await withSequencer();
      await uptime.updateAnswer(1n);
      await (await governSetSequencer(keel, ZeroAddress, 0)).wait();
      await refreshFeeds(keel);
      expect(await keel.oracle.getPrice(await address(keel.assets.WETH!.token))).to.equal(3000n * WAD);
    });
  });

  describe("setFeed / setSequencer", () => {
    it("test_setFeed_valid_emitsFeedSetAndFeedOfReturnsIt", async () => {
      const keel = await loadKeel();
      const asset = newAsset();
      const rate = await deployAggregator(18, 105n * e(16));
      const base = await deployAggregator(8, 2000n * e(8));
      await base.setBounds(10n * e(8), 100_000n * e(8));
      const primary = await feedConfig(rate, DAY);
      const baseConfig = await feedConfig(base, HOUR);
      await expect(governSetFeed(keel, asset, primary, baseConfig))
        .to.emit(keel.oracle, "FeedSet")
        .withArgs(asset, [tuple(primary), tuple(baseConfig)]);
      // The event carries the parameters as given; storage saturates the int192-max bound of the rate feed.
      const stored = await keel.oracle.feedOf(asset);
      expect(tuple(stored.primary)).to.deep.equal([primary.aggregator, BigInt(DAY), 18n, 1n, INT128_MAX]);
      expect(tuple(stored.primary)).to.deep.equal(asStored(primary));
      expect(tuple(stored.base)).to.deep.equal(tuple(baseConfig));
      await refreshFeedsOf(rate, base);
      expect(await keel.oracle.getPrice(asset)).to.equal(2100n * WAD);
    });

    it("test_setFeed_heartbeatLimits_acceptedAt60sAnd7Days", async () => {
      const keel = await loadKeel();
      const asset = newAsset();
      const feed = await deployAggregator(8, 1n * e(8));
      for (const heartbeat of [60, 7 * DAY]) {
        const config = await feedConfig(feed, heartbeat);
        await (await governSetFeed(keel, asset, config)).wait();
        const [primary] = await keel.oracle.feedOf(asset);
        expect(tuple(primary)).to.deep.equal(asStored(config));
        expect(primary.heartbeat).to.equal(heartbeat);
      }
    });

    it("test_setFeed_replacesAComposite_withAPlainFeed", async () => {
      const keel = await loadKeel();
      const { token, feed } = keel.assets.wstETH!;
      const wstEth = await address(token);
      const config = await feedConfig(feed, DAY);
      await (await governSetFeed(keel, wstEth, config)).wait();
      const stored = await keel.oracle.feedOf(wstEth);
      expect(tuple(stored.primary)).to.deep.equal([config.aggregator, BigInt(DAY), 18n, 1n, INT128_MAX]);
      expect(tuple(stored.base)).to.deep.equal(tuple(NO_FEED));
      await feed.updateAnswer(118n * e(16));
      expect(await keel.oracle.getPrice(wstEth)).to.equal(118n * e(16));
    });

    it("test_setFeed_aggregatorWithoutCode_revertsInvalidFeed", async () => {
      const keel = await loadKeel();
      const asset = newAsset();
      const noCode = newAsset();
      const good = await feedConfig(await deployAggregator(8, e(8)), HOUR);
      const bad: FeedConfig = { ...good, aggregator: noCode };
      await expect(governSetFeed(keel, asset, bad))
        .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
        .withArgs(noCode);
      await expect(governSetFeed(keel, asset, good, bad))
        .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
        .withArgs(noCode);
      await expect(governSetFeed(keel, asset, { ...good, aggregator: ZeroAddress }))
        .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
        .withArgs(ZeroAddress);
    });

    it("test_setFeed_zeroAsset_revertsInvalidFeed", async () => {
      const keel = await loadKeel();
      const good = await feedConfig(await deployAggregator(8, e(8)), HOUR);
      await expect(governSetFeed(keel, ZeroAddress, good))
        .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
        .withArgs(ZeroAddress);
    });

    it("test_setFeed_heartbeatOutOfRange_revertsInvalidFeed", async () => {
      const keel = await loadKeel();
      const asset = newAsset();
      const feed = await deployAggregator(8, e(8));
      const good = await feedConfig(feed, HOUR);
      for (const heartbeat of [0, 59, 7 * DAY + 1]) {
        await expect(governSetFeed(keel, asset, { ...good, heartbeat }))
          .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
          .withArgs(good.aggregator);
      }
      // The base feed is checked the same way.
      await expect(governSetFeed(keel, asset, good, { ...good, heartbeat: 59 }))
        .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
        .withArgs(good.aggregator);
    });

    it("test_setFeed_decimalsMismatch_revertsInvalidFeed", async () => {
      const keel = await loadKeel();
      const asset = newAsset();
      const good = await feedConfig(await deployAggregator(8, e(8)), HOUR);
      for (const decimals of [0, 6, 18]) {
        await expect(governSetFeed(keel, asset, { ...good, decimals }))
          .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
          .withArgs(good.aggregator);
      }
      // A feed with more decimals than the oracle supports (36), even if the aggregator agrees.
      const tooPrecise = await feedConfig(await deployAggregator(37, e(37)), HOUR);
      await expect(governSetFeed(keel, asset, tooPrecise))
        .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
        .withArgs(tooPrecise.aggregator);
    });

    it("test_setFeed_invalidBounds_revertsInvalidFeed", async () => {
      const keel = await loadKeel();
      const asset = newAsset();
      const good = await feedConfig(await deployAggregator(8, e(8)), HOUR);
      for (const [minAnswer, maxAnswer] of [
        [-1n, e(10)],
        [10n, 10n],
        [10n, 9n],
        [0n, 0n],
      ] as const) {
        await expect(governSetFeed(keel, asset, { ...good, minAnswer, maxAnswer }))
          .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
          .withArgs(good.aggregator);
      }
    });

    it("test_setFeed_identicalConfig_revertsNoChange", async () => {
      const keel = await loadKeel();
      const weth = await address(keel.assets.WETH!.token);
      const stored = await keel.oracle.feedOf(weth);
      await expect(governSetFeed(keel, weth, toConfig(stored.primary))).to.be.revertedWithCustomError(
        keel.oracle,
        "NoChange",
      );
      // As the deploy passed it (max bound int192 max, saturated to the same stored value).
      const asListed = await feedConfig(keel.assets.WETH!.feed, HOUR);
      expect(asListed.maxAnswer).to.equal(INT192_MAX);
      await expect(governSetFeed(keel, weth, asListed)).to.be.revertedWithCustomError(keel.oracle, "NoChange");
      // A composite, including its base.
      const wstEth = await address(keel.assets.wstETH!.token);
      const composite = await keel.oracle.feedOf(wstEth);
      await expect(
        governSetFeed(keel, wstEth, toConfig(composite.primary), toConfig(composite.base)),
      ).to.be.revertedWithCustomError(keel.oracle, "NoChange");
      // A second identical setFeed after a successful one.
      const asset = newAsset();
      const config = await feedConfig(await deployAggregator(8, e(8)), HOUR);
      await (await governSetFeed(keel, asset, config)).wait();
      await expect(governSetFeed(keel, asset, config)).to.be.revertedWithCustomError(keel.oracle, "NoChange");
    });

    it("test_setSequencer_validation", async () => {
      const keel = await loadKeel();
      const uptime = await address(await deployAggregator(0, 0n));
      const noCode = newAsset();
      await expect(governSetSequencer(keel, uptime, DAY + 1))
        .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
        .withArgs(uptime);
      await expect(governSetSequencer(keel, noCode, HOUR))
        .to.be.revertedWithCustomError(keel.oracle, "InvalidFeed")
        .withArgs(noCode);
      // Disabled by default: disabling again is a no-op.
      await expect(governSetSequencer(keel, ZeroAddress, 0)).to.be.revertedWithCustomError(keel.oracle, "NoChange");
      // One day is the longest grace period.
      await expect(governSetSequencer(keel, uptime, DAY)).to.emit(keel.oracle, "SequencerSet").withArgs(uptime, DAY);
      await expect(governSetSequencer(keel, uptime, DAY)).to.be.revertedWithCustomError(keel.oracle, "NoChange");
      await expect(governSetSequencer(keel, uptime, HOUR)).to.emit(keel.oracle, "SequencerSet").withArgs(uptime, HOUR);
    });

    it("test_setters_calledDirectlyByAStranger_revertAccessManagedUnauthorized", async () => {
      const keel = await loadKeel();
      const [deployer, stranger] = await ethers.getSigners();
      const config = await feedConfig(await deployAggregator(8, e(8)), HOUR);
      const uptime = await address(await deployAggregator(0, 0n));
      for (const caller of [stranger!, deployer!]) {
        await expect(keel.oracle.connect(caller).setFeed(newAsset(), { primary: config, base: NO_FEED }))
          .to.be.revertedWithCustomError(keel.oracle, "AccessManagedUnauthorized")
          .withArgs(caller.address);
        await expect(keel.oracle.connect(caller).setSequencer({ uptimeFeed: uptime, gracePeriod: HOUR }))
          .to.be.revertedWithCustomError(keel.oracle, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
    });
  });
});

/** A `feedOf` result as setter input. */
function toConfig(f: IPriceOracle.FeedStructOutput): FeedConfig {
  return {
    aggregator: f.aggregator,
    heartbeat: f.heartbeat,
    decimals: f.decimals,
    minAnswer: f.minAnswer,
    maxAnswer: f.maxAnswer,
  };
}

/** Republishes each feed's latest answer now. */
async function refreshFeedsOf(...feeds: MockAggregator[]): Promise<void> {
  for (const feed of feeds) await (await feed.updateAnswer(await feed.latestAnswer())).wait();
}
