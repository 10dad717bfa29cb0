/**
 * VolatilityOracle: deployment, pokes (state and events bit for bit against the TypeScript model in
 * `src/math/volatility`), the poke rate limit, price failures, `pokeAll`, the step limit on σ, the outlier cap, the
 * RiskModel bounds as a clamp, governed parameters with re-anchoring, and how the RiskModel reads the dynamic σ.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Keel } from "../../deploy";
import { refreshFeeds } from "../../dev/localMarket";
import { Prng } from "../../src/risk/random";
import { loadKeel } from "../helpers/fixtures";
import { governTx } from "../helpers/governance";
import {
  boundsOf,
  expectPoked,
  HOUR,
  later,
  pokeAt,
  sigmaAtTime,
  volatilityEvents,
  volParams,
  volState,
} from "../helpers/volatility";
import * as m from "../../src/math";
import {
  reanchor,
  sigmaAt,
  sigmaTargetOf,
  toVolatilityParams,
  UNPOKED,
  type VolatilityParams,
} from "../../src/math/volatility";

const WAD = m.WAD;
const DAY = 86_400n;
const pct = (x: number): bigint => BigInt(Math.round(x * 100)) * 10n ** 14n; // pct(2.5) = 0.025e18
/** An 8-decimal feed answer of `usd` dollars. */
const usd = (x: number): bigint => BigInt(Math.round(x * 100)) * 10n ** 6n;
const b32 = ethers.encodeBytes32String;
/** Local config: 0.25 points of σ per hour, WETH σ in [5%, 10%]. */
const STEP = pct(0.25);
const [WETH_MIN, WETH_MAX] = [pct(5), pct(10)];
/** σmax² / H for WETH: the most one return can add to the variance. */
const WETH_CAP = m.mulDivDown(WETH_MAX, WETH_MAX, DAY);

const addressOf = (keel: Keel, symbol: string): Promise<string> => keel.assets[symbol]!.token.getAddress();
const paramsTuple = (p: VolatilityParams): bigint[] => [p.horizon, p.halfLife, p.minInterval, p.maxStep];

/** WETH seeded by a +1000% return: target σmax, σ anchored at σmin at `t0 + 1h`, climbing 0.25 points an hour. */
async function shockWeth(keel: Keel, t0: bigint): Promise<void> {
  await expectPoked(keel, await pokeAt(keel, "WETH", t0, usd(3000)));
  const shock = await pokeAt(keel, "WETH", t0 + HOUR, usd(33_000));
  await expectPoked(keel, shock);
  expect(shock.after.variance).to.equal(WETH_CAP);
  expect(shock.after.target).to.equal(WETH_MAX);
}

/** `risk.setAssetRisk(asset, …)` through the timelock with some of the current fields changed. */
async function governAssetRisk(keel: Keel, asset: string, change: { sigmaMin?: bigint; sigmaMax?: bigint }) {
  const r = await keel.risk.assetRisk(asset);
  const next = {
    sigmaMin: change.sigmaMin ?? r.sigmaMin,
    sigmaMax: change.sigmaMax ?? r.sigmaMax,
    maintenanceHaircut: r.maintenanceHaircut,
    initialHaircut: r.initialHaircut,
    liquidationPenalty: r.liquidationPenalty,
    minLiquidationPenalty: r.minLiquidationPenalty,
    fullPenaltyHF: r.fullPenaltyHF,
  };
  const tx = await governTx(keel, keel.risk, keel.risk.interface.encodeFunctionData("setAssetRisk", [asset, next]));
  return (await tx.wait())!;
}

let salt = 0;
const governParams = (keel: Keel, p: VolatilityParams) =>
  governTx(keel, keel.vol, keel.vol.interface.encodeFunctionData("setParams", [p]), `vol-params-${++salt}`);

describe("VolatilityOracle", () => {
  describe("deployment", () => {
    it("test_deploy_paramsEqualTheConfig_immutablesAndConstants", async () => {
      const keel = await loadKeel();
      const p = await volParams(keel);
      expect(p).to.deep.equal(toVolatilityParams(keel.config.volatility));
      expect(p).to.deep.equal({ horizon: DAY, halfLife: 14n * DAY, minInterval: HOUR, maxStep: STEP });
      expect(await keel.vol.risk()).to.equal(await keel.risk.getAddress());
      expect(await keel.vol.oracle()).to.equal(await keel.oracle.getAddress());
      expect(await keel.risk.volatility()).to.equal(await keel.vol.getAddress());
      const v = keel.vol;
      const constants = await Promise.all([
        v.MIN_HORIZON(),
        v.MAX_HORIZON(),
        v.MIN_HALF_LIFE(),
        v.MAX_HALF_LIFE(),
        v.MIN_INTERVAL_FLOOR(),
        v.MAX_INTERVAL(),
        v.MIN_STEP(),
        v.MAX_STEP(),
      ]);
      expect(constants).to.deep.equal([HOUR, 30n * DAY, HOUR, 365n * DAY, 60n, DAY, 10n ** 14n, WAD / 10n]);
    });

    it("test_deploy_everyListedAssetStartsAtSigmaMin_withAnEmptyState", async () => {
      const keel = await loadKeel();
      const listed = await keel.risk.listedAssets();
      expect(listed).to.deep.equal(await Promise.all(keel.config.assets.map((a) => addressOf(keel, a.symbol))));
      for (const [i, asset] of listed.entries()) {
        const sigmaMin = keel.config.assets[i]!.risk.sigmaMin;
        expect(await keel.vol.sigma(asset)).to.equal(sigmaMin);
        expect(await keel.vol.sigmaTarget(asset)).to.equal(sigmaMin);
        expect(await keel.risk.sigma(asset)).to.equal(sigmaMin);
        expect(await volState(keel, asset)).to.deep.equal(UNPOKED);
        expect(await keel.vol.nextPokeAt(asset)).to.equal(0n);
      }
    });
  });

  describe("poke", () => {
    it("test_poke_firstPokeOnlyRecordsPrice", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const t0 = await later();
      const p = await pokeAt(keel, "WETH", t0, usd(3010));
      await expectPoked(keel, p);
      await expect(p.tx)
        .to.emit(keel.vol, "VolatilityUpdated")
        .withArgs(weth, 3010n * WAD, 0n, WETH_MIN, WETH_MIN);
      expect(await volState(keel, weth)).to.deep.equal({ ...UNPOKED, price: 3010n * WAD, sampledAt: t0 });
      expect(await sigmaAtTime(keel, weth, t0 + 10n * HOUR)).to.equal(WETH_MIN);
    });

    it("test_poke_secondPokeSeedsTheVarianceWithOneReturn_andAnchorsSigmaMin", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const t0 = await later();
      await pokeAt(keel, "WETH", t0, usd(3000));
      const p = await pokeAt(keel, "WETH", t0 + HOUR, usd(3060));
      await expectPoked(keel, p);
      // +2% in an hour: 0.02² / 3600 s = 1.1111e29 [1e36/s] rounded up, exactly what returnVarianceUp gives, below the
      // cap (0.1² / 86400 s = 1.1574e29).
      const variance = m.returnVarianceUp(3000n * WAD, 3060n * WAD, HOUR, WETH_CAP);
      expect(variance).to.equal(111_111_111_111_111_111_111_111_111_112n);
      const target = m.horizonSigmaUp(variance, DAY); // sqrt(0.0096), rounded up: 9.8%
      expect(target).to.equal(97_979_589_711_327_124n);
      expect(p.after).to.deep.equal({
        sigma: WETH_MIN,
        target,
        maxStep: STEP,
        anchoredAt: t0 + HOUR,
        seeded: true,
        variance,
        sampledAt: t0 + HOUR,
        price: 3060n * WAD,
      });
      await expect(p.tx)
        .to.emit(keel.vol, "VolatilityUpdated")
        .withArgs(weth, 3060n * WAD, variance, target, WETH_MIN);
      // From the anchor σ climbs 0.25 points an hour (floor per second).
      expect(await sigmaAtTime(keel, weth, t0 + HOUR + 1800n)).to.equal(WETH_MIN + STEP / 2n);
      expect(await sigmaAtTime(keel, weth, t0 + 2n * HOUR)).to.equal(WETH_MIN + STEP);
      expect(await sigmaAtTime(keel, weth, t0 + 2n * HOUR + 1n)).to.equal(
        WETH_MIN + STEP + m.mulDivDown(STEP, 1n, HOUR),
      );
    });

    it("test_poke_laterPokesFollowTheEwma_everyFieldAndEventMatchTheModel (WETH and composite wstETH)", async () => {
      const keel = await loadKeel();
      const rng = new Prng(0x766f6cn); // "vol"
      let t = await later();
      let [eth, rate] = [usd(3000), 118n * 10n ** 16n];
      for (let i = 0; i < 14; i++) {
        const weth = await pokeAt(keel, "WETH", t, eth);
        await expectPoked(keel, weth);
        const wsteth = await pokeAt(keel, "wstETH", t + 10n, rate);
        await expectPoked(keel, wsteth);
        if (weth.before.seeded) {
          // The EWMA by hand: λ = 2^(−elapsed/halfLife) on the old variance, 1 − λ on the new squared return.
          const elapsed = t - weth.before.sampledAt;
          const sample = m.returnVarianceUp(weth.before.price, weth.price, elapsed, WETH_CAP);
          const variance = m.ewmaUp(weth.before.variance, sample, m.decayDown(elapsed, 14n * DAY));
          expect(weth.after.variance).to.equal(variance);
          const sigma = m.horizonSigmaUp(variance, DAY);
          expect(weth.after.target).to.equal(sigma < WETH_MIN ? WETH_MIN : sigma > WETH_MAX ? WETH_MAX : sigma);
        }
        t += rng.between(HOUR, 12n * HOUR);
        eth = (eth * rng.between(92n, 108n)) / 100n;
        rate = (rate * rng.between(995n, 1005n)) / 1000n;
      }
    });

    it("test_poke_tooSoon_revertsWithNextAt_andSucceedsExactlyAtMinInterval", async () => {
      const keel = await loadKeel();
      const usdc = await addressOf(keel, "USDC"); // a 1-day heartbeat keeps its feed fresh for the hour
      const t0 = await later();
      await pokeAt(keel, "USDC", t0);
      expect(await keel.vol.nextPokeAt(usdc)).to.equal(t0 + HOUR);
      await time.setNextBlockTimestamp(t0 + HOUR - 1n);
      await expect(keel.vol.poke(usdc))
        .to.be.revertedWithCustomError(keel.vol, "PokeTooSoon")
        .withArgs(usdc, t0 + HOUR);
      await time.setNextBlockTimestamp(t0 + HOUR);
      await expect(keel.vol.poke(usdc)).to.emit(keel.vol, "VolatilityUpdated");
      expect(await keel.vol.nextPokeAt(usdc)).to.equal(t0 + 2n * HOUR);
    });

    it("test_poke_unlistedAsset_revertsWithTheRiskModelsAssetNotListed", async () => {
      const keel = await loadKeel();
      for (const asset of [ethers.Wallet.createRandom().address, await keel.kusd.getAddress()]) {
        await expect(keel.vol.poke(asset)).to.be.revertedWithCustomError(keel.risk, "AssetNotListed").withArgs(asset);
        await expect(keel.vol.sigma(asset)).to.be.revertedWithCustomError(keel.risk, "AssetNotListed").withArgs(asset);
        await expect(keel.vol.sigmaTarget(asset)).to.be.revertedWithCustomError(keel.risk, "AssetNotListed");
        expect(await keel.vol.nextPokeAt(asset)).to.equal(0n);
        // sigmaWithin takes the bounds from its caller and checks no listing: an unknown asset is at its floor.
        expect(await keel.vol.sigmaWithin(asset, pct(3), pct(9))).to.equal(pct(3));
      }
      // The shared error (IKeelErrors): one signature in every ABI, so the risk model's revert decodes the same anywhere.
      expect(keel.vol.interface.getError("AssetNotListed")!.selector).to.equal(keel.risk.interface.getError("AssetNotListed")!.selector);
    });

    it("test_poke_failingPrice_revertsWithThePriceOracleError_stateUnchanged", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const feed = keel.assets.WETH!.feed;
      const t0 = await later();
      await pokeAt(keel, "WETH", t0, usd(3000));
      await pokeAt(keel, "WETH", t0 + HOUR, usd(3100));
      const state = await volState(keel, weth);

      await time.increase(2n * HOUR); // no refresh: the WETH feed (1h heartbeat) is stale
      const [, , , updatedAt] = await feed.latestRoundData();
      await expect(keel.vol.poke(weth))
        .to.be.revertedWithCustomError(keel.oracle, "StalePrice")
        .withArgs(await feed.getAddress(), updatedAt, 3600n);
      for (const answer of [0n, -1n]) {
        await feed.updateAnswer(answer);
        await expect(keel.vol.poke(weth))
          .to.be.revertedWithCustomError(keel.oracle, "NonPositivePrice")
          .withArgs(await feed.getAddress(), answer);
      }
      const INT192_MAX = 2n ** 191n - 1n; // the mock's maxAnswer: a clamped answer
      await feed.updateAnswer(INT192_MAX);
      await expect(keel.vol.poke(weth)).to.be.revertedWithCustomError(keel.oracle, "PriceAtBound");
      expect(await volState(keel, weth)).to.deep.equal(state);
    });
  });

  describe("pokeAll", () => {
    it("test_pokeAll_pokesEveryDueAsset_returnsTheCount_thenNothingIsDue", async () => {
      const keel = await loadKeel();
      const listed = await keel.risk.listedAssets();
      expect(await keel.vol.pokeAll.staticCall()).to.equal(4n);
      const receipt = (await (await keel.vol.pokeAll()).wait())!;
      const at = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
      const prices = await Promise.all(listed.map((a) => keel.oracle.getPrice(a)));
      const mins = keel.config.assets.map((a) => a.risk.sigmaMin);
      expect(volatilityEvents(keel, receipt)).to.deep.equal(listed.map((a, i) => [a, prices[i], 0n, mins[i], mins[i]]));
      for (const [i, a] of listed.entries()) {
        expect(await volState(keel, a)).to.deep.equal({ ...UNPOKED, price: prices[i], sampledAt: at });
      }
      expect(await keel.vol.pokeAll.staticCall()).to.equal(0n);
      const again = (await (await keel.vol.pokeAll()).wait())!;
      expect(again.logs).to.deep.equal([]);
    });

    it("test_pokeAll_skipsAssetsNotDue", async () => {
      const keel = await loadKeel();
      const [weth, wbtc, usdc, wsteth] = await keel.risk.listedAssets();
      const t0 = await later();
      await pokeAt(keel, "WETH", t0, usd(3000));
      const state = await volState(keel, weth!);
      await time.setNextBlockTimestamp(t0 + 1800n);
      const receipt = (await (await keel.vol.pokeAll()).wait())!;
      expect(volatilityEvents(keel, receipt).map((e) => e[0])).to.deep.equal([wbtc, usdc, wsteth]);
      expect(await volState(keel, weth!)).to.deep.equal(state);
    });

    it("test_pokeAll_failingFeeds_emitPokeFailedWithTheEncodedError_andTheOthersAreSampled", async () => {
      const keel = await loadKeel();
      const [weth, wbtc, usdc, wsteth] = await keel.risk.listedAssets();
      const { WETH, WBTC, USDC } = keel.assets;
      await (await keel.vol.pokeAll()).wait();
      const before = await Promise.all([wbtc!, usdc!].map((a) => volState(keel, a)));
      await time.increase(2n * HOUR);
      await WETH!.feed.updateAnswer(usd(3150)); // fresh; WBTC stays stale (1h heartbeat)
      await USDC!.feed.updateAnswer(0n);
      const [, , , wbtcUpdatedAt] = await WBTC!.feed.latestRoundData();
      expect(await keel.vol.pokeAll.staticCall()).to.equal(2n);
      const tx = await keel.vol.pokeAll();
      const receipt = (await tx.wait())!;
      const stale = keel.oracle.interface.encodeErrorResult("StalePrice", [
        await WBTC!.feed.getAddress(),
        wbtcUpdatedAt,
        3600n,
      ]);
      const zero = keel.oracle.interface.encodeErrorResult("NonPositivePrice", [await USDC!.feed.getAddress(), 0n]);
      expect(volatilityEvents(keel, receipt, "PokeFailed")).to.deep.equal([
        [wbtc, stale],
        [usdc, zero],
      ]);
      await expect(tx).to.emit(keel.vol, "PokeFailed").withArgs(wbtc, stale);
      expect(volatilityEvents(keel, receipt).map((e) => e[0])).to.deep.equal([weth, wsteth]);
      expect(await Promise.all([wbtc!, usdc!].map((a) => volState(keel, a)))).to.deep.equal(before);
      expect((await volState(keel, weth!)).seeded).to.equal(true);
    });
  });

  describe("step limit and outliers", () => {
    it("test_sigma_movesAtMostMaxStepPerHour_upAfterAShock_andDownInTheCalm", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const t0 = await later();
      const readings: [bigint, bigint][] = [];
      // ±20% every hour: every return is capped; σ climbs from σmin one step an hour to σmax (10%, 20 steps up).
      const shock = [3000, 3600, 2880, 3456, 2765, 3318, 2654];
      for (const [k, price] of shock.entries()) {
        const p = await pokeAt(keel, "WETH", t0 + BigInt(k) * HOUR, usd(price));
        await expectPoked(keel, p);
        readings.push([p.at, await keel.vol.sigma(weth, { blockTag: p.receipt.blockNumber })]);
      }
      for (let k = 7n; k <= 30n; k++) readings.push([t0 + k * HOUR, await sigmaAtTime(keel, weth, t0 + k * HOUR)]);
      expect(readings.map(([, s]) => s)).to.deep.equal(
        readings.map((_, k) => {
          const up = WETH_MIN + BigInt(Math.max(k - 1, 0)) * STEP;
          return up < WETH_MAX ? up : WETH_MAX;
        }),
      );
      expect(readings[20]![1]).to.equal(pct(9.75));
      expect(readings[21]![1]).to.equal(WETH_MAX);
      expect(readings[30]![1]).to.equal(WETH_MAX);

      // Calm: a 1-hour half-life (governed; σ keeps climbing meanwhile) halves the variance at every flat poke,
      // and σ comes down one step an hour — never faster.
      const params = await volParams(keel);
      await (await governParams(keel, { ...params, halfLife: HOUR })).wait();
      let t = (await later()) + HOUR;
      const down: [bigint, bigint][] = [];
      for (let k = 0; k < 12; k++, t += HOUR) {
        const p = await pokeAt(keel, "WETH", t, usd(2654));
        await expectPoked(keel, p);
        down.push([t, await keel.vol.sigma(weth, { blockTag: p.receipt.blockNumber })]);
      }
      expect(down[11]![1]).to.equal(down[1]![1] - 10n * STEP);
      for (const series of [readings, down]) {
        for (let i = 1; i < series.length; i++) {
          const [[t1, s1], [t2, s2]] = [series[i - 1]!, series[i]!];
          const moved = s2 > s1 ? s2 - s1 : s1 - s2;
          expect(moved <= m.mulDivDown(STEP, t2 - t1, HOUR), `σ ${s1} → ${s2} in ${t2 - t1}s`).to.equal(true);
        }
      }
    });

    it("test_poke_outlierReturn_cappedAtTheSigmaMaxVariance_sigmaStillMovesByTheStep", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const t0 = await later();
      await shockWeth(keel, t0); // +1000%: variance = σmax²/H exactly, target σmax, σ still σmin
      expect(WETH_CAP).to.equal(115_740_740_740_740_740_740_740_740_740n);
      expect(await sigmaAtTime(keel, weth, t0 + 2n * HOUR - 10n)).to.equal(
        WETH_MIN + m.mulDivDown(STEP, HOUR - 10n, HOUR),
      );
      // A second outlier (−91%) on the capped variance: λ cap + (1 − λ) cap, rounded up, at most 1 wei above.
      const p = await pokeAt(keel, "WETH", t0 + 2n * HOUR, usd(3000));
      await expectPoked(keel, p);
      expect(p.after.variance - WETH_CAP <= 1n).to.equal(true);
      expect(p.after.target).to.equal(WETH_MAX);
      expect(await keel.vol.sigma(weth, { blockTag: p.receipt.blockNumber })).to.equal(WETH_MIN + STEP);

      // On a calm seeded history one outlier weighs only 1 − 2^(−1h/14d) ≈ 0.21%: the target stays near σmin.
      const [wbtc, t1] = [await addressOf(keel, "WBTC"), await later()];
      await pokeAt(keel, "WBTC", t1, usd(60_000));
      await pokeAt(keel, "WBTC", t1 + HOUR, usd(60_060)); // +0.1%
      const q = await pokeAt(keel, "WBTC", t1 + 2n * HOUR, usd(660_660)); // ×11
      await expectPoked(keel, q);
      const cap = m.mulDivDown(pct(10), pct(10), DAY); // WBTC's σmax is 10% too
      expect(q.after.variance).to.equal(m.ewmaUp(q.before.variance, cap, m.decayDown(HOUR, 14n * DAY)));
      expect(q.after.variance < cap).to.equal(true);
      expect(q.after.target).to.equal(pct(4.5)); // sqrt(0.0021 × 0.1²) ≈ 0.45% < σmin
      expect(await keel.vol.sigma(wbtc)).to.equal(pct(4.5));
    });
  });

  describe("bounds", () => {
    it("test_sigmaWithin_hiBelowLo_revertsInvalidParameter_otherwiseClamps", async () => {
      const keel = await loadKeel();
      const [weth, usdc] = [await addressOf(keel, "WETH"), await addressOf(keel, "USDC")];
      await expect(keel.vol.sigmaWithin(weth, pct(10), pct(10) - 1n))
        .to.be.revertedWithCustomError(keel.vol, "InvalidParameter")
        .withArgs(b32("sigmaMax"), pct(10) - 1n);
      const t0 = await later();
      await shockWeth(keel, t0);
      const t = t0 + 11n * HOUR;
      const raw = await sigmaAtTime(keel, weth, t);
      expect(raw).to.equal(pct(7.5)); // 5% + 10 steps
      const state = await volState(keel, weth);
      const cases: [bigint, bigint, bigint][] = [
        [WETH_MIN, WETH_MAX, raw],
        [pct(8), WETH_MAX, pct(8)],
        [pct(1), pct(6), pct(6)],
        [raw, raw, raw],
        [pct(20), pct(20), pct(20)],
        [0n, WAD, raw],
      ];
      for (const [lo, hi, want] of cases) {
        expect(sigmaAt(state, t, { sigmaMin: lo, sigmaMax: hi })).to.equal(want);
        expect(await keel.vol.sigmaWithin(weth, lo, hi)).to.equal(want);
      }
      expect(await keel.vol.sigmaWithin(usdc, pct(1), pct(2))).to.equal(pct(1)); // unseeded: the floor
    });

    it("test_riskBounds_raisingSigmaMinAboveTheSigmaInForce_appliesAtOnce", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      await shockWeth(keel, await later());
      const state = await volState(keel, weth);
      // σ reaches the 10% cap within the 2-day timelock delay, so a σmin above it needs a higher σmax too.
      const receipt = await governAssetRisk(keel, weth, { sigmaMin: pct(11), sigmaMax: pct(25) });
      const t = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
      const raw = sigmaAt(state, t, { sigmaMin: WETH_MIN, sigmaMax: WETH_MAX });
      expect(raw).to.equal(WETH_MAX);
      expect((await keel.vol.sigma(weth, { blockTag: receipt.blockNumber - 1 })) <= raw).to.equal(true);
      expect(await keel.vol.sigma(weth, { blockTag: receipt.blockNumber })).to.equal(pct(11));
      expect(await keel.risk.sigma(weth, { blockTag: receipt.blockNumber })).to.equal(pct(11));
      expect(await keel.vol.sigmaTarget(weth)).to.equal(pct(11)); // the stored target, the old 10% cap, under the new floor
      expect(await volState(keel, weth)).to.deep.equal(state); // a clamp in the view, no re-anchoring
    });

    it("test_riskBounds_loweringSigmaMaxBelowTheSigmaInForce_capsAtOnce", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      await shockWeth(keel, await later());
      const state = await volState(keel, weth);
      const receipt = await governAssetRisk(keel, weth, { sigmaMax: pct(8) });
      const t = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
      expect(sigmaAt(state, t, { sigmaMin: WETH_MIN, sigmaMax: WETH_MAX }) > pct(8)).to.equal(true);
      expect(await keel.vol.sigma(weth, { blockTag: receipt.blockNumber })).to.equal(pct(8));
      expect(await keel.risk.sigma(weth, { blockTag: receipt.blockNumber })).to.equal(pct(8));
      expect(await keel.vol.sigmaTarget(weth)).to.equal(pct(8));
      // The next poke anchors the capped σ and targets within the new cap.
      const p = await pokeAt(keel, "WETH", (await later()) + 10n, usd(33_000));
      await expectPoked(keel, p);
      expect([p.after.sigma, p.after.target]).to.deep.equal([pct(8), pct(8)]);
    });
  });

  describe("setParams", () => {
    it("test_setParams_stranger_revertsAccessManagedUnauthorized", async () => {
      const keel = await loadKeel();
      const [deployer, stranger] = await ethers.getSigners();
      const p = { ...(await volParams(keel)), maxStep: pct(1) };
      for (const who of [stranger!, deployer!]) {
        await expect(keel.vol.connect(who).setParams(p))
          .to.be.revertedWithCustomError(keel.vol, "AccessManagedUnauthorized")
          .withArgs(who.address);
      }
    });

    it("test_setParams_throughTheTimelock_emitsParamsSet_andNoChangeOnIdenticalParams", async () => {
      const keel = await loadKeel();
      const next: VolatilityParams = { horizon: 12n * HOUR, halfLife: DAY, minInterval: 1800n, maxStep: pct(0.5) };
      await expect(governParams(keel, next)).to.emit(keel.vol, "ParamsSet").withArgs(paramsTuple(next));
      expect(await volParams(keel)).to.deep.equal(next);
      await expect(governParams(keel, next)).to.be.revertedWithCustomError(keel.vol, "NoChange");
    });

    it("test_setParams_eachFieldOutOfRange_revertsInvalidParameter_atBothBounds", async () => {
      const keel = await loadKeel();
      const v = keel.vol;
      const base = await volParams(keel);
      const limits: [keyof VolatilityParams, bigint, bigint][] = [
        ["horizon", await v.MIN_HORIZON(), await v.MAX_HORIZON()],
        ["halfLife", await v.MIN_HALF_LIFE(), await v.MAX_HALF_LIFE()],
        ["minInterval", await v.MIN_INTERVAL_FLOOR(), await v.MAX_INTERVAL()],
        ["maxStep", await v.MIN_STEP(), await v.MAX_STEP()],
      ];
      for (const [name, lo, hi] of limits) {
        for (const bad of [lo - 1n, hi + 1n]) {
          await expect(governParams(keel, { ...base, [name]: bad }))
            .to.be.revertedWithCustomError(v, "InvalidParameter")
            .withArgs(b32(name), bad);
        }
      }
      for (const pick of [1, 2] as const) {
        const edge = Object.fromEntries(limits.map((l) => [l[0], l[pick]])) as unknown as VolatilityParams;
        await expect(governParams(keel, edge)).to.emit(v, "ParamsSet").withArgs(paramsTuple(edge));
        expect(await volParams(keel)).to.deep.equal(edge);
      }
    });

    it("test_setParams_reanchors_sigmaIsContinuous_andTheNewStepAndHorizonApplyFromThen", async () => {
      const keel = await loadKeel();
      const [weth, usdc] = [await addressOf(keel, "WETH"), await addressOf(keel, "USDC")];
      await shockWeth(keel, await later());
      await pokeAt(keel, "USDC", await later()); // sampled, not seeded: nothing to anchor
      const bounds = await boundsOf(keel, weth);
      const usdcState = await volState(keel, usdc);

      for (const change of [{ maxStep: pct(1) }, { horizon: 12n * HOUR }]) {
        const before = await volState(keel, weth);
        const next = { ...(await volParams(keel)), ...change };
        const receipt = (await (await governParams(keel, next)).wait())!;
        const t = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
        const sigma = sigmaAt(before, t, bounds); // the old step up to the governance block
        const after = reanchor(before, t, bounds, next);
        expect(await volState(keel, weth, receipt.blockNumber)).to.deep.equal(after);
        expect(after.sigma).to.equal(sigma);
        expect(await keel.vol.sigma(weth, { blockTag: receipt.blockNumber })).to.equal(sigma);
        expect(await keel.vol.sigmaTarget(weth, { blockTag: receipt.blockNumber })).to.equal(
          sigmaTargetOf(after, bounds),
        );
        expect(await sigmaAtTime(keel, weth, t + HOUR)).to.equal(sigmaAt(after, t + HOUR, bounds));
      }
      const final = await volState(keel, weth);
      // 1 point an hour now; a 12h horizon halves the variance's horizon σ²: target σmax/√2, rounded up.
      expect(final.maxStep).to.equal(pct(1));
      expect(final.target).to.equal(m.horizonSigmaUp(WETH_CAP, 12n * HOUR));
      expect(final.target).to.equal(70_710_678_118_654_753n);
      expect(await volState(keel, usdc)).to.deep.equal(usdcState);
    });
  });

  describe("RiskModel reads the dynamic σ", () => {
    it("test_riskModel_sigmaAndMaintenanceFactorAndLossesUseTheVolatilityOracle", async () => {
      const keel = await loadKeel();
      const listed = await keel.risk.listedAssets();
      const t0 = await later();
      await time.setNextBlockTimestamp(t0);
      await (await keel.vol.pokeAll()).wait();
      await time.setNextBlockTimestamp(t0 + HOUR - 1n);
      await (await keel.assets.WETH!.feed.updateAnswer(usd(3600))).wait();
      await time.setNextBlockTimestamp(t0 + HOUR);
      await (await keel.vol.pokeAll()).wait();
      await time.increaseTo(t0 + 6n * HOUR);
      await refreshFeeds(keel);
      const block = await ethers.provider.getBlockNumber();
      const at = { blockTag: block };
      const [zm] = await keel.risk.confidence();
      const wethSigma = await keel.vol.sigma(listed[0]!, at);
      expect(wethSigma > WETH_MIN).to.equal(true);
      for (const asset of listed) {
        const sigma = await keel.vol.sigma(asset, at);
        const r = await keel.risk.assetRisk(asset);
        expect(await keel.risk.sigma(asset, at)).to.equal(sigma);
        const factor = m.mulWadUp(zm, sigma) > r.maintenanceHaircut ? m.mulWadUp(zm, sigma) : r.maintenanceHaircut;
        expect((await keel.risk.liquidationTerms(asset, at)).maintenanceFactor).to.equal(factor);
        const unit = await keel.risk.unitOf(asset);
        const value = m.valueDown(unit, await keel.oracle.getPrice(asset, at), unit);
        const v = await keel.risk.assessOne(asset, unit, at);
        expect(v.maintenanceLoss).to.equal(m.isolatedLossUp(value, sigma, zm, r.maintenanceHaircut));
      }
      // WETH is on the σ branch (2.75 × σ > 10%), USDC on the haircut floor.
      expect(m.mulWadUp(zm, wethSigma) > pct(10)).to.equal(true);
    });
  });

  describe("zero price", () => {
    /** A composite price that rounds down to 0: 2e-18 WETH per wstETH at $0.10 a WETH. */
    async function roundToZero(keel: Keel): Promise<string> {
      const wsteth = await addressOf(keel, "wstETH");
      await keel.assets.WETH!.feed.updateAnswer(usd(0.1));
      await keel.assets.wstETH!.feed.updateAnswer(2n);
      return wsteth;
    }

    it("test_poke_priceRoundingToZero_isRefusedByTheOracle_stateUnchanged_laterPokesWork", async () => {
      const keel = await loadKeel();
      const wsteth = await roundToZero(keel);
      await expect(keel.oracle.getPrice(wsteth))
        .to.be.revertedWithCustomError(keel.oracle, "PriceRoundsToZero")
        .withArgs(wsteth);
      await expect(keel.vol.poke(wsteth))
        .to.be.revertedWithCustomError(keel.oracle, "PriceRoundsToZero")
        .withArgs(wsteth);
      expect((await keel.vol.stateOf(wsteth)).sampledAt).to.equal(0n);
      await keel.assets.WETH!.feed.updateAnswer(usd(3000));
      await keel.assets.wstETH!.feed.updateAnswer(118n * 10n ** 16n);
      expect(await keel.oracle.getPrice(wsteth)).to.equal(3540n * WAD);
      await expect(keel.vol.poke(wsteth)).to.emit(keel.vol, "VolatilityUpdated");
    });

    it("test_pokeAll_priceRoundingToZero_skipsThatAsset_andSamplesTheOthers", async () => {
      const keel = await loadKeel();
      await refreshFeeds(keel);
      const wsteth = await roundToZero(keel);
      const reason = keel.oracle.interface.encodeErrorResult("PriceRoundsToZero", [wsteth]);
      await expect(keel.vol.pokeAll()).to.emit(keel.vol, "PokeFailed").withArgs(wsteth, reason);
      expect((await keel.vol.stateOf(wsteth)).sampledAt).to.equal(0n);
      expect((await keel.vol.stateOf(await addressOf(keel, "WBTC"))).sampledAt).to.not.equal(0n);
    });
  });
});
