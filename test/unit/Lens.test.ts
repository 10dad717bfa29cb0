import { expect } from "chai";
import { MaxUint256 } from "ethers";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Keel } from "../../deploy";
import { refreshFeeds, setFeedAnswer } from "../../dev/localMarket";
import { Mode, YEAR } from "../helpers/engine";
import { keelFixture } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { expectedHealth } from "../helpers/mirror";
import { assetOf, fundForManager, mirrorDebt, units } from "../helpers/periphery";
import * as m from "../../src/math";
import type { Lens } from "../../typechain-types";

type PositionView = Lens.PositionViewStructOutput;
type HealthScan = Lens.HealthScanStructOutput;

const WAD = m.WAD;
const BLOCK_GAS_CAP = 16_777_216n; // a common eth_call / transaction gas cap (2^24)

interface Scene {
  keel: Keel;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  weth: string;
  wbtc: string;
  usdc: string;
  wstEth: string;
}

/**
 * Alice: 1 isolated WETH with debt, 2 isolated WBTC with debt, 3 cross WETH+WBTC+USDC with debt, 4 isolated USDC
 * without debt, 5 isolated WETH (closed). Bob: 6 isolated WETH with debt, 7 cross USDC+wstETH with debt, 8 isolated
 * USDC with debt.
 */
async function lensFixture(): Promise<Scene> {
  const keel = await keelFixture();
  const [, alice, bob] = await ethers.getSigners();
  const [weth, wbtc, usdc, wstEth] = await Promise.all(["WETH", "WBTC", "USDC", "wstETH"].map((s) => assetOf(keel, s)));
  for (const who of [alice!, bob!]) {
    await fundForManager(keel, "WETH", who, units(100n, 18));
    await fundForManager(keel, "WBTC", who, units(10n, 8));
    await fundForManager(keel, "USDC", who, units(1_000_000n, 6));
    await fundForManager(keel, "wstETH", who, units(100n, 18));
  }
  const a = keel.manager.connect(alice!);
  const b = keel.manager.connect(bob!);
  await (await a.openAndBorrow(weth!, units(10n, 18), 10_000n * WAD, alice!.address)).wait();
  await (await a.openAndBorrow(wbtc!, units(1n, 8), 20_000n * WAD, alice!.address)).wait();
  await (
    await a.openCrossAndBorrow([weth!, wbtc!, usdc!], [units(5n, 18), units(1n, 8) / 2n, units(10_000n, 6)], 15_000n * WAD, alice!.address)
  ).wait();
  await (await a.openAndBorrow(usdc!, units(50_000n, 6), 0n, alice!.address)).wait();
  await (await a.openAndBorrow(weth!, units(2n, 18), 1_000n * WAD, alice!.address)).wait();
  await (await keel.engine.connect(alice!).close(5n, alice!.address)).wait();
  await (await b.openAndBorrow(weth!, units(3n, 18), 2_000n * WAD, bob!.address)).wait();
  await (await b.openCrossAndBorrow([usdc!, wstEth!], [units(1_000n, 6), units(2n, 18)], 500n * WAD, bob!.address)).wait();
  await (await b.openAndBorrow(usdc!, units(20_000n, 6), 10_000n * WAD, bob!.address)).wait();
  return { keel, alice: alice!, bob: bob!, weth: weth!, wbtc: wbtc!, usdc: usdc!, wstEth: wstEth! };
}

/** Asserts a fully priced view against the engine and the mirror, field by field. */
async function expectPricedView(keel: Keel, v: PositionView, id: bigint): Promise<void> {
  const what = `position ${id}`;
  expect(v.id, what).to.equal(id);
  expect(v.owner, `${what} owner`).to.equal(await keel.nft.ownerOf(id));
  expect(v.mode, `${what} mode`).to.equal((await keel.engine.positionInfo(id))[0]);
  const assets = [...(await keel.engine.collateralAssets(id))];
  expect([...v.assets], `${what} assets`).to.deep.equal(assets);
  let total = 0n;
  for (let i = 0; i < assets.length; i++) {
    const amount = await keel.engine.collateralOf(id, assets[i]!);
    const value = m.valueDown(amount, await keel.oracle.getPrice(assets[i]!), await keel.risk.unitOf(assets[i]!));
    expect(v.amounts[i], `${what} amount ${i}`).to.equal(amount);
    expect(valuesOf(v)[i], `${what} value ${i}`).to.equal(value);
    total += value;
  }
  expect(v.value, `${what} value`).to.equal(total);
  const debt = await keel.engine.debtOf(id);
  expect(v.debt, `${what} debt = engine`).to.equal(debt);
  expect(v.debt, `${what} debt = mirror`).to.equal(await mirrorDebt(keel, id));
  const [hf, hfInitial] = await keel.engine.healthFactor(id);
  const expected = debt === 0n ? { hf: m.INFINITE_HEALTH, hfInitial: m.INFINITE_HEALTH } : await expectedHealth(keel, id);
  expect([v.hf, v.hfInitial], `${what} health = engine`).to.deep.equal([hf, hfInitial]);
  expect([v.hf, v.hfInitial], `${what} health = mirror`).to.deep.equal([expected.hf, expected.hfInitial]);
  expect(v.priced, `${what} priced`).to.equal(true);
}

const COUNT = 500;

/** Keel with `COUNT` isolated WETH positions with debt, opened through the manager. */
async function crowdedFixture(): Promise<Keel> {
  const keel = await keelFixture();
  const [, alice] = await ethers.getSigners();
  const weth = await fundForManager(keel, "WETH", alice!, units(BigInt(COUNT), 18) * 2n);
  const manager = keel.manager.connect(alice!);
  for (let i = 0; i < COUNT; i++) {
    // Vary collateral and debt so no two positions are alike.
    await manager.openAndBorrow(weth, units(1n, 18) + BigInt(i) * 10n ** 15n, 1_000n * WAD + BigInt(i) * WAD, alice!.address);
  }
  return keel;
}

const valuesOf = (v: PositionView): bigint[] => [...v.assetValues];

const ids = (views: readonly PositionView[]): bigint[] => views.map((v) => v.id);

/** A scan's parallel arrays as plain arrays: [ids, hf, debt, priced]. */
const columns = (s: HealthScan): [bigint[], bigint[], bigint[], boolean[]] => [[...s.ids], [...s.hf], [...s.debt], [...s.priced]];

/**
 * Asserts `scan` (healthScan(from, to)) is exactly the positions with debt of positions(from, to), ascending, with the
 * same hf, debt and priced; and that each debt is engine.debtOf, each priced hf engine.healthFactor, each unpriced hf 0.
 */
async function expectScan(keel: Keel, scan: HealthScan, from: bigint, to: bigint): Promise<void> {
  const n = scan.ids.length;
  expect([scan.hf.length, scan.debt.length, scan.priced.length, scan.valued.length], "parallel arrays").to.deep.equal([n, n, n, n]);
  for (let i = 1; i < n; i++) expect(scan.ids[i]!, "ascending").to.be.gt(scan.ids[i - 1]!);
  const full = (await keel.lens.positions(from, to)).filter((v) => v.debt !== 0n);
  expect([...scan.ids], "ids = positions() with debt").to.deep.equal(ids(full));
  for (const [i, v] of full.entries()) {
    const what = `position ${v.id}`;
    expect([scan.hf[i], scan.debt[i], scan.priced[i], scan.valued[i]], `${what} = positions()`).to.deep.equal([v.hf, v.debt, v.priced, v.valued]);
    expect(scan.debt[i], `${what} debt = engine`).to.equal(await keel.engine.debtOf(v.id));
    if (scan.priced[i]) {
      expect(scan.hf[i], `${what} hf = engine`).to.equal((await keel.engine.healthFactor(v.id))[0]);
    } else if (scan.valued[i]) {
      expect(scan.hf[i], `${what} margin hf = engine.stateOf`).to.equal((await keel.engine.stateOf(v.id))[2]);
    } else {
      expect(scan.hf[i], `${what} unvalued hf`).to.equal(0n);
    }
  }
}

/** Republishes every mock feed's latest answer except `stale`'s, which goes stale once past its heartbeat. */
async function refreshFeedsBut(keel: Keel, stale: string): Promise<void> {
  const skip = keel.assets[stale]!.feed;
  const feeds = new Set(Object.values(keel.assets).flatMap((a) => (a.baseFeed ? [a.feed, a.baseFeed] : [a.feed])));
  for (const feed of feeds) {
    if (feed.target === skip.target) continue;
    await (await feed.updateAnswer(await feed.latestAnswer())).wait();
  }
}

describe("Lens", () => {
  describe("positions", () => {
    it("test_positions_range: every open position in the range, closed ids skipped, exact values", async () => {
      const { keel, alice, bob } = await loadFixture(lensFixture);
      const views = await keel.lens.positions(1n, 8n);
      expect(ids(views)).to.deep.equal([1n, 2n, 3n, 4n, 6n, 7n, 8n]);
      for (const v of views) await expectPricedView(keel, v, v.id);
      expect(views.map((v) => v.owner)).to.deep.equal([...Array(4).fill(alice.address), ...Array(3).fill(bob.address)]);
      expect(views.map((v) => v.mode)).to.deep.equal([Mode.Isolated, Mode.Isolated, Mode.Cross, Mode.Isolated, Mode.Isolated, Mode.Cross, Mode.Isolated]);
      // Isolated WETH position 1: 10 WETH at $3000.
      expect(valuesOf(views[0]!)).to.deep.equal([30_000n * WAD]);
      expect(views[3]!.hf).to.equal(m.INFINITE_HEALTH);
      expect(ids(await keel.lens.positions(2n, 6n))).to.deep.equal([2n, 3n, 4n, 6n]);
      await checkInvariants(keel);
    });

    it("test_positions_edges: empty and clamped ranges; position() of a closed id reverts PositionNotFound", async () => {
      const { keel } = await loadFixture(lensFixture);
      expect(await keel.lens.positions(5n, 5n)).to.deep.equal([]);
      expect(await keel.lens.positions(9n, 20n)).to.deep.equal([]);
      expect(await keel.lens.positions(3n, 2n)).to.deep.equal([]);
      expect(ids(await keel.lens.positions(0n, 499n))).to.deep.equal([1n, 2n, 3n, 4n, 6n, 7n, 8n]);
      expect(ids(await keel.lens.positions(7n, 506n))).to.deep.equal([7n, 8n]);
      await expect(keel.lens.position(5n)).to.be.revertedWithCustomError(keel.engine, "PositionNotFound").withArgs(5n);
      await expectPricedView(keel, await keel.lens.position(3n), 3n);
    });

    it("test_positions_batchTooLarge: a span over 500 ids reverts BatchTooLarge(span, 500)", async () => {
      const { keel, alice } = await loadFixture(lensFixture);
      expect(await keel.lens.MAX_BATCH()).to.equal(500n);
      await expect(keel.lens.positions(1n, 501n)).to.be.revertedWithCustomError(keel.lens, "BatchTooLarge").withArgs(501n, 500n);
      await expect(keel.lens.positions(10n, 1_000n))
        .to.be.revertedWithCustomError(keel.lens, "BatchTooLarge")
        .withArgs(991n, 500n);
      await expect(keel.lens.positionsOf(alice.address, 1n, 501n))
        .to.be.revertedWithCustomError(keel.lens, "BatchTooLarge")
        .withArgs(501n, 500n);
    });

    it("test_positions_postAccrual: after a year, debt = engine.debtOf = mirror and health = engine = mirror", async () => {
      const { keel } = await loadFixture(lensFixture);
      const before = await keel.lens.positions(1n, 8n);
      await time.increase(YEAR);
      await refreshFeeds(keel);
      const views = await keel.lens.positions(1n, 8n);
      expect(ids(views)).to.deep.equal(ids(before));
      for (let i = 0; i < views.length; i++) {
        const v = views[i]!;
        await expectPricedView(keel, v, v.id);
        if (before[i]!.debt !== 0n) expect(v.debt, `position ${v.id} accrued`).to.be.gt(before[i]!.debt);
      }
      // Position 1: 10,000 kUSD at 2% a year (per-second compounding never exceeds the stated rate).
      expect(views[0]!.debt).to.be.gt(10_199n * WAD);
      expect(views[0]!.debt).to.be.lt(10_200n * WAD + WAD / 1_000n);
      await checkInvariants(keel);
    });
  });

  describe("positionsOf", () => {
    it("test_positionsOf_paging: pages through ids with nextId, 0 when done", async () => {
      const { keel, alice, bob } = await loadFixture(lensFixture);
      let [views, next] = await keel.lens.positionsOf(alice.address, 1n, 3n);
      expect(ids(views)).to.deep.equal([1n, 2n, 3n]);
      expect(next).to.equal(4n);
      for (const v of views) await expectPricedView(keel, v, v.id);
      [views, next] = await keel.lens.positionsOf(alice.address, next, 3n);
      expect(ids(views)).to.deep.equal([4n]); // 5 closed, 6 is bob's
      expect(next).to.equal(7n);
      [views, next] = await keel.lens.positionsOf(alice.address, next, 3n);
      expect(ids(views)).to.deep.equal([]);
      expect(next).to.equal(0n);

      // Bob, from id 0 (treated as 1), in pages of 2 until done.
      const found: bigint[] = [];
      let from = 0n;
      let pages = 0;
      do {
        [views, next] = await keel.lens.positionsOf(bob.address, from, 2n);
        found.push(...ids(views));
        views.forEach((v) => expect(v.owner).to.equal(bob.address));
        from = next;
        pages++;
      } while (from !== 0n);
      expect(found).to.deep.equal([6n, 7n, 8n]);
      expect(pages).to.equal(4); // [1,2] [3,4] [5,6] [7,8]

      [views, next] = await keel.lens.positionsOf(bob.address, 1n, 500n);
      expect(ids(views)).to.deep.equal([6n, 7n, 8n]);
      expect(next).to.equal(0n);
    });

    it("test_positionsOf_batchTooLarge: a scan of 0 or over 500 ids reverts BatchTooLarge(scan, 500)", async () => {
      const { keel, alice } = await loadFixture(lensFixture);
      for (const scan of [0n, 501n]) {
        await expect(keel.lens.positionsOf(alice.address, 1n, scan))
          .to.be.revertedWithCustomError(keel.lens, "BatchTooLarge")
          .withArgs(scan, 500n);
      }
    });
  });

  describe("liquidationStatuses (a view)", () => {
    it("test_liquidationStatuses_range: every open position with debt, closed and debt-free ids skipped, equal to liquidationStatus and the engine", async () => {
      const { keel } = await loadFixture(lensFixture);
      const last = await keel.engine.lastPositionId();
      const all = await keel.lens.liquidationStatuses(1n, last);
      expect(all.map((s) => s.id)).to.deep.equal([1n, 2n, 3n, 6n, 7n, 8n]); // 4 has no debt, 5 is closed
      for (const s of all) {
        const one = await keel.lens.liquidationStatus(s.id);
        expect(one.debt).to.equal(await keel.engine.debtOf(s.id));
        const [state, deadline, hf] = await keel.engine.stateOf(s.id);
        expect([s.state, s.deadline, s.hf]).to.deep.equal([state, deadline, hf]);
        expect(state).to.equal(0n); // Safe: nothing to liquidate
        expect(s.maxRepay.every((x) => x === 0n) && s.seizable.every((x) => x === 0n)).to.equal(true);
      }
      // A range past the last id is clipped; a reversed range is empty.
      expect((await keel.lens.liquidationStatuses(6n, last + 100n)).map((s) => s.id)).to.deep.equal([6n, 7n, 8n]);
      expect(await keel.lens.liquidationStatuses(3n, 2n)).to.deep.equal([]);
    });

    it("test_liquidationStatuses_batchTooLarge: 501 ids revert BatchTooLarge(501, 500); 500 ids are accepted", async () => {
      const { keel } = await loadFixture(lensFixture);
      await expect(keel.lens.liquidationStatuses(1n, 501n))
        .to.be.revertedWithCustomError(keel.lens, "BatchTooLarge")
        .withArgs(501n, 500n);
      expect((await keel.lens.liquidationStatuses(1n, 500n)).length).to.equal(6);
    });
  });

  describe("failing feeds", () => {
    it("test_positions_staleFeed: stale WETH/WBTC give priced=false there, others reported, no revert", async () => {
      const { keel, usdc } = await loadFixture(lensFixture);
      await time.increase(3_601); // past WETH's and WBTC's 1-hour heartbeat; USDC's is a day; wstETH is × WETH
      await expect(keel.engine.healthFactor(1n)).to.be.revertedWithCustomError(keel.oracle, "StalePrice");
      const views = await keel.lens.positions(1n, 8n);
      expect(ids(views)).to.deep.equal([1n, 2n, 3n, 4n, 6n, 7n, 8n]);
      const byId = new Map(views.map((v) => [v.id, v]));
      const usdcValue = (amount: bigint): bigint => m.valueDown(amount, WAD, 10n ** 6n);

      for (const id of [1n, 2n, 6n]) {
        const v = byId.get(id)!;
        expect([v.priced, v.valued], `position ${id}`).to.deep.equal([false, false]);
        expect(valuesOf(v)).to.deep.equal([0n]);
        expect([v.value, v.hf, v.hfInitial]).to.deep.equal([0n, 0n, 0n]);
        expect(v.debt).to.equal(await mirrorDebt(keel, id));
        expect(v.amounts[0]).to.equal(await keel.engine.collateralOf(id, v.assets[0]!));
      }
      // Cross positions keep the values of the assets that did price, and the margin HF that values the others at
      // zero (what margin calls and liquidation use); no initial HF (borrowing needs every price).
      const cross = byId.get(3n)!;
      expect([cross.priced, cross.valued]).to.deep.equal([false, true]);
      expect(valuesOf(cross)).to.deep.equal([0n, 0n, usdcValue(units(10_000n, 6))]);
      expect(cross.value).to.equal(10_000n * WAD);
      expect([cross.hf, cross.hfInitial]).to.deep.equal([(await keel.engine.stateOf(3n))[2], 0n]);
      expect(cross.debt).to.equal(await mirrorDebt(keel, 3n));
      const bobCross = byId.get(7n)!;
      expect([bobCross.priced, bobCross.valued]).to.deep.equal([false, true]);
      expect(valuesOf(bobCross)).to.deep.equal([usdcValue(units(1_000n, 6)), 0n]);
      expect([bobCross.hf, bobCross.hfInitial]).to.deep.equal([(await keel.engine.stateOf(7n))[2], 0n]);

      // USDC positions are still fully priced.
      await expectPricedView(keel, byId.get(4n)!, 4n);
      await expectPricedView(keel, byId.get(8n)!, 8n);
      expect(byId.get(8n)!.assets).to.deep.equal([usdc]);

      const [, ok] = await keel.lens.prices([usdc, (await keel.lens.position(1n)).assets[0]!]);
      expect([...ok]).to.deep.equal([true, false]);
    });

    it("test_positions_zeroAnswer: a WBTC answer of 0 unprices WBTC positions only", async () => {
      const { keel } = await loadFixture(lensFixture);
      await setFeedAnswer(keel, "WBTC", 0n);
      const views = await keel.lens.positions(1n, 8n);
      const unpriced = views.filter((v) => !v.priced).map((v) => v.id);
      expect(unpriced).to.deep.equal([2n, 3n]);
      for (const v of views) if (v.priced) await expectPricedView(keel, v, v.id);
      const cross = views.find((v) => v.id === 3n)!;
      expect(valuesOf(cross)).to.deep.equal([15_000n * WAD, 0n, 10_000n * WAD]);
      expect(cross.value).to.equal(25_000n * WAD);
      expect([cross.valued, cross.hf, cross.hfInitial]).to.deep.equal([true, (await keel.engine.stateOf(3n))[2], 0n]);
      const [page, next] = await keel.lens.positionsOf(await keel.nft.ownerOf(2n), 2n, 1n);
      expect(ids(page)).to.deep.equal([2n]);
      expect(page[0]!.priced).to.equal(false);
      expect(next).to.equal(3n);
    });

    it("test_positions_unpricedWithoutDebt: no debt keeps infinite health even when unpriced", async () => {
      const { keel, alice, weth } = await loadFixture(lensFixture);
      await (await keel.manager.connect(alice).openAndBorrow(weth, units(1n, 18), 0n, alice.address)).wait();
      const id = await keel.engine.lastPositionId();
      await time.increase(3_601);
      const v = await keel.lens.position(id);
      expect(v.priced).to.equal(false);
      expect(v.debt).to.equal(0n);
      expect([v.hf, v.hfInitial]).to.deep.equal([m.INFINITE_HEALTH, m.INFINITE_HEALTH]);
      expect(v.mode).to.equal(Mode.Isolated);
      await checkInvariants(keel);
    });
  });

  describe("prices", () => {
    it("test_prices: oracle prices in WAD; ok=false for a failing or unknown feed", async () => {
      const { keel, weth, wbtc, usdc, wstEth } = await loadFixture(lensFixture);
      const stranger = ethers.Wallet.createRandom().address;
      let [values, ok] = await keel.lens.prices([weth, wbtc, usdc, wstEth, stranger]);
      expect([...values]).to.deep.equal([3_000n * WAD, 60_000n * WAD, WAD, 3_540n * WAD, 0n]);
      for (const [i, a] of [weth, wbtc, usdc, wstEth].entries()) expect(values[i]).to.equal(await keel.oracle.getPrice(a));
      expect([...ok]).to.deep.equal([true, true, true, true, false]);
      await setFeedAnswer(keel, "WBTC", 0n);
      [values, ok] = await keel.lens.prices([weth, wbtc]);
      expect([...values]).to.deep.equal([3_000n * WAD, 0n]);
      expect([...ok]).to.deep.equal([true, false]);
      expect(await keel.lens.prices([])).to.deep.equal([[], []]);
    });
  });

  describe("healthScan", () => {
    it("test_healthScan_range: exactly the open positions with debt, ascending, equal to positions() and the engine", async () => {
      const { keel } = await loadFixture(lensFixture);
      const scan = await keel.lens.healthScan(1n, 8n);
      expect([...scan.ids]).to.deep.equal([1n, 2n, 3n, 6n, 7n, 8n]); // 4 has no debt, 5 is closed
      expect([...scan.priced]).to.deep.equal(Array(6).fill(true));
      await expectScan(keel, scan, 1n, 8n);
      // Isolated and cross alike, against the TS mirror too.
      for (const [i, id] of scan.ids.entries()) {
        expect(scan.hf[i], `position ${id} hf = mirror`).to.equal((await expectedHealth(keel, id)).hf);
        expect(scan.debt[i], `position ${id} debt = mirror`).to.equal(await mirrorDebt(keel, id));
      }
      // Sub-ranges: each is the matching slice.
      for (const [from, to, want] of [
        [2n, 6n, [2n, 3n, 6n]],
        [3n, 3n, [3n]],
        [4n, 7n, [6n, 7n]],
        [8n, 8n, [8n]],
      ] as const) {
        const part = await keel.lens.healthScan(from, to);
        expect([...part.ids], `healthScan(${from}, ${to})`).to.deep.equal(want);
        await expectScan(keel, part, from, to);
      }
      // After a year of accrual (feeds republished), still equal to positions() and the engine.
      await time.increase(YEAR);
      await refreshFeeds(keel);
      const later = await keel.lens.healthScan(1n, 8n);
      expect([...later.ids]).to.deep.equal([...scan.ids]);
      for (let i = 0; i < later.ids.length; i++) expect(later.debt[i]!, `position ${later.ids[i]} accrued`).to.be.gt(scan.debt[i]!);
      await expectScan(keel, later, 1n, 8n);
      await checkInvariants(keel);
    });

    it("test_healthScan_edges: toId past lastPositionId is clipped; toId < fromId and empty ranges return empty arrays", async () => {
      const { keel } = await loadFixture(lensFixture);
      const empty = [[], [], [], []];
      expect(columns(await keel.lens.healthScan(3n, 2n)), "toId < fromId").to.deep.equal(empty);
      expect(columns(await keel.lens.healthScan(MaxUint256, 0n)), "toId < fromId, far apart").to.deep.equal(empty);
      expect(columns(await keel.lens.healthScan(4n, 5n)), "no debt, closed").to.deep.equal(empty);
      expect(columns(await keel.lens.healthScan(0n, 0n)), "id 0").to.deep.equal(empty);
      expect(columns(await keel.lens.healthScan(9n, 20n)), "past the last id").to.deep.equal(empty);
      expect(columns(await keel.lens.healthScan(MaxUint256 - 499n, MaxUint256)), "at the top of uint256").to.deep.equal(empty);

      const clipped = await keel.lens.healthScan(7n, 506n);
      expect([...clipped.ids]).to.deep.equal([7n, 8n]);
      expect(columns(clipped)).to.deep.equal(columns(await keel.lens.healthScan(7n, 8n)));
      await expectScan(keel, clipped, 7n, 506n);
      const fromZero = await keel.lens.healthScan(0n, 499n);
      expect([...fromZero.ids]).to.deep.equal([1n, 2n, 3n, 6n, 7n, 8n]);
      await expectScan(keel, fromZero, 0n, 499n);
    });

    it("test_healthScan_batchTooLarge: 501 ids revert BatchTooLarge(501, 500); 500 ids are accepted", async () => {
      const { keel } = await loadFixture(lensFixture);
      await expect(keel.lens.healthScan(1n, 501n)).to.be.revertedWithCustomError(keel.lens, "BatchTooLarge").withArgs(501n, 500n);
      await expect(keel.lens.healthScan(0n, 500n)).to.be.revertedWithCustomError(keel.lens, "BatchTooLarge").withArgs(501n, 500n);
      await expect(keel.lens.healthScan(10n, 1_000n)).to.be.revertedWithCustomError(keel.lens, "BatchTooLarge").withArgs(991n, 500n);
      await expect(keel.lens.healthScan(0n, MaxUint256))
        .to.be.revertedWithCustomError(keel.lens, "BatchTooLarge")
        .withArgs(MaxUint256, 500n);
      for (const [from, to] of [
        [1n, 500n],
        [0n, 499n],
        [2n, 501n],
      ] as const) {
        const scan = await keel.lens.healthScan(from, to);
        expect([...scan.ids], `healthScan(${from}, ${to})`).to.deep.equal(from === 2n ? [2n, 3n, 6n, 7n, 8n] : [1n, 2n, 3n, 6n, 7n, 8n]);
      }
    });

    it("test_healthScan_staleFeed: a stale WBTC feed gives priced=false; isolated WBTC positions hf=0, baskets the margin HF without WBTC", async () => {
      const { keel } = await loadFixture(lensFixture);
      await time.increase(3_601); // past WBTC's 1-hour heartbeat
      await refreshFeedsBut(keel, "WBTC");
      await expect(keel.engine.healthFactor(2n)).to.be.revertedWithCustomError(keel.oracle, "StalePrice");
      await expect(keel.engine.healthFactor(3n)).to.be.revertedWithCustomError(keel.oracle, "StalePrice");
      const scan = await keel.lens.healthScan(1n, 8n);
      expect([...scan.ids]).to.deep.equal([1n, 2n, 3n, 6n, 7n, 8n]);
      expect([...scan.priced]).to.deep.equal([true, false, false, true, true, true]);
      expect([...scan.valued]).to.deep.equal([true, false, true, true, true, true]);
      expect([scan.hf[1], scan.hf[2]]).to.deep.equal([0n, (await keel.engine.stateOf(3n))[2]]);
      for (const [i, id] of scan.ids.entries()) {
        expect(scan.debt[i], `position ${id} debt = mirror`).to.equal(await mirrorDebt(keel, id));
        if (scan.priced[i]) expect(scan.hf[i], `position ${id} hf`).to.be.gt(0n);
      }
      await expectScan(keel, scan, 1n, 8n);
    });

    it("test_healthScan_nonPositiveAnswer: WETH at -1 unprices WETH and wstETH positions, WBTC at 0 WBTC ones", async () => {
      const { keel, alice, weth } = await loadFixture(lensFixture);
      // 9: WETH without debt; unpriced, yet still skipped (no debt).
      await (await keel.manager.connect(alice).openAndBorrow(weth, units(1n, 18), 0n, alice.address)).wait();
      expect(await keel.engine.lastPositionId()).to.equal(9n);
      const wethAnswer = await keel.assets.WETH!.feed.latestAnswer();

      await setFeedAnswer(keel, "WETH", -1n);
      await expect(keel.engine.healthFactor(1n)).to.be.revertedWithCustomError(keel.oracle, "NonPositivePrice");
      let scan = await keel.lens.healthScan(1n, 9n);
      expect([...scan.ids]).to.deep.equal([1n, 2n, 3n, 6n, 7n, 8n]);
      // 7 holds wstETH, priced through WETH.
      expect([...scan.priced]).to.deep.equal([false, true, false, false, false, true]);
      expect([...scan.hf].filter((_, i) => !scan.valued[i])).to.deep.equal(new Array<bigint>(scan.valued.filter((x) => !x).length).fill(0n));
      for (const [i, id] of scan.ids.entries()) {
        if (!scan.priced[i] && scan.valued[i]) expect(scan.hf[i], `basket ${id}: margin HF`).to.equal((await keel.engine.stateOf(id))[2]);
      }
      await expectScan(keel, scan, 1n, 9n);

      await setFeedAnswer(keel, "WETH", wethAnswer);
      await setFeedAnswer(keel, "WBTC", 0n);
      scan = await keel.lens.healthScan(1n, 9n);
      expect([...scan.ids]).to.deep.equal([1n, 2n, 3n, 6n, 7n, 8n]);
      expect([...scan.priced]).to.deep.equal([true, false, false, true, true, true]);
      expect([...scan.valued]).to.deep.equal([true, false, true, true, true, true]);
      expect([scan.hf[1], scan.hf[2]]).to.deep.equal([0n, (await keel.engine.stateOf(3n))[2]]);
      await expectScan(keel, scan, 1n, 9n);
    });

    it("test_healthScan_repaid: fully repaid positions skipped, partly repaid kept; a new borrow brings one back", async () => {
      const { keel, alice, bob } = await loadFixture(lensFixture);
      await time.increase(YEAR);
      await refreshFeeds(keel);
      await (await keel.engine.connect(alice).repay(2n, MaxUint256)).wait(); // isolated WBTC
      await (await keel.engine.connect(bob).repay(7n, MaxUint256)).wait(); // cross USDC+wstETH
      await (await keel.engine.connect(alice).repay(1n, 4_000n * WAD)).wait(); // partly
      expect([await keel.engine.debtOf(2n), await keel.engine.debtOf(7n)]).to.deep.equal([0n, 0n]);

      let scan = await keel.lens.healthScan(1n, 8n);
      expect([...scan.ids]).to.deep.equal([1n, 3n, 6n, 8n]);
      await expectScan(keel, scan, 1n, 8n);
      expect(scan.debt[0]).to.equal(await mirrorDebt(keel, 1n));
      // Still open: positions() lists them, with no debt and infinite health.
      const views = await keel.lens.positions(1n, 8n);
      expect(ids(views)).to.deep.equal([1n, 2n, 3n, 4n, 6n, 7n, 8n]);
      for (const v of views.filter((x) => x.id === 2n || x.id === 7n)) {
        expect([v.debt, v.hf], `position ${v.id}`).to.deep.equal([0n, m.INFINITE_HEALTH]);
      }

      await (await keel.engine.connect(alice).borrow(2n, 1_000n * WAD, alice.address)).wait();
      scan = await keel.lens.healthScan(1n, 8n);
      expect([...scan.ids]).to.deep.equal([1n, 2n, 3n, 6n, 8n]);
      await expectScan(keel, scan, 1n, 8n);
      await checkInvariants(keel);
    });

    it("test_healthScan_gas_small: cheaper than positions() over the same range", async function () {
      // Gas figures mean nothing under coverage instrumentation.
      if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) this.skip();
      const { keel } = await loadFixture(lensFixture);
      for (const [from, to] of [
        [1n, 8n],
        [1n, 500n],
        [6n, 8n],
      ] as const) {
        const scan = await keel.lens.healthScan.estimateGas(from, to);
        const full = await keel.lens.positions.estimateGas(from, to);
        expect(scan, `healthScan(${from}, ${to}) ${scan} gas vs positions ${full} gas`).to.be.lt(full);
      }
    });

    it(`test_healthScan_gas_fullBatch: ${COUNT} real positions cost less than positions() and stay under 2^24 gas`, async function () {
      this.timeout(180_000);
      // Gas figures mean nothing under coverage instrumentation, which also runs out of memory on 500 positions.
      if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) this.skip();
      const keel = await loadFixture(crowdedFixture);
      const half = BigInt(COUNT / 2);
      const [scanHalf, fullHalf] = [await keel.lens.healthScan.estimateGas(1n, half), await keel.lens.positions.estimateGas(1n, half)];
      const scanAll = await keel.lens.healthScan.estimateGas(1n, BigInt(COUNT));
      const fullAll = await keel.lens.positions.estimateGas(1n, BigInt(COUNT));
      console.log(
        `      Lens.healthScan(1, ${COUNT}) ${scanAll} gas vs positions ${fullAll} gas; ` +
          `healthScan(1, ${half}) ${scanHalf} gas vs positions ${fullHalf} gas`,
      );
      expect(scanHalf).to.be.lt(fullHalf);
      expect(scanAll).to.be.lt(fullAll);
      expect(scanAll).to.be.lt(BLOCK_GAS_CAP);
      const scan = await keel.lens.healthScan(1n, BigInt(COUNT));
      expect(scan.ids.length).to.equal(COUNT);
      expect([...scan.ids]).to.deep.equal(Array.from({ length: COUNT }, (_, i) => BigInt(i + 1)));
      for (const id of [1n, half, BigInt(COUNT)]) {
        const i = Number(id) - 1;
        expect([scan.hf[i], scan.debt[i], scan.priced[i]], `position ${id}`).to.deep.equal([
          (await keel.engine.healthFactor(id))[0],
          await keel.engine.debtOf(id),
          true,
        ]);
      }
    });
  });

  describe("gas", () => {
    it(`test_positions_gas_fullBatch: ${COUNT} real positions in one call stay under 2^24 gas`, async function () {
      // The in-process network (Osaka, EIP-7825) refuses any call over 2^24 gas. The halves are printed too.
      this.timeout(180_000);
      // Gas figures mean nothing under coverage instrumentation, which also runs out of memory on 500 positions.
      if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) this.skip();
      const keel = await loadFixture(crowdedFixture);
      expect(await keel.engine.lastPositionId()).to.equal(BigInt(COUNT));
      const half = BigInt(COUNT / 2);
      const first = await keel.lens.positions.estimateGas(1n, half);
      const second = await keel.lens.positions.estimateGas(half + 1n, BigInt(COUNT));
      let gas: bigint | undefined;
      try {
        gas = await keel.lens.positions.estimateGas(1n, BigInt(COUNT));
      } catch {
        gas = undefined;
      }
      console.log(
        `      Lens.positions(1, ${COUNT}) over ${COUNT} isolated positions with debt: ` +
          `${gas === undefined ? `over the ${BLOCK_GAS_CAP} cap (estimateGas failed)` : `${gas} gas`}; ` +
          `positions(1, ${half}) ${first} gas, positions(${half + 1n}, ${COUNT}) ${second} gas`,
      );
      expect(gas === undefined, `positions(1, ${COUNT}) could not be estimated under ${BLOCK_GAS_CAP} gas`).to.equal(false);
      expect(gas!).to.be.lt(BLOCK_GAS_CAP);
      const views = await keel.lens.positions(1n, BigInt(COUNT));
      expect(views.length).to.equal(COUNT);
      for (const id of [1n, half, BigInt(COUNT)]) await expectPricedView(keel, views[Number(id) - 1]!, id);
    });

    it("test_positions_gas_halfBatch: 250 real positions per call fit under 2^24 gas and equal the engine", async function () {
      this.timeout(180_000);
      // Gas figures mean nothing under coverage instrumentation, which also runs out of memory on 500 positions.
      if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) this.skip();
      const keel = await loadFixture(crowdedFixture);
      const views = await keel.lens.positions(251n, BigInt(COUNT));
      expect(ids(views)).to.deep.equal(Array.from({ length: COUNT - 250 }, (_, i) => BigInt(251 + i)));
      for (const id of [251n, BigInt(COUNT)]) await expectPricedView(keel, views[Number(id) - 251]!, id);
      const gas = await keel.lens.positions.estimateGas(251n, BigInt(COUNT));
      expect(gas).to.be.lt(BLOCK_GAS_CAP);
    });
  });

  describe("peg", () => {
    it("test_lens_peg_readsThePsmAndTheVault: debt, ceiling, fees, freeze, rate, vault size and what the buffer can pay, as the contracts say", async () => {
      const keel = await loadFixture(keelFixture);
      const [, user] = await ethers.getSigners();
      const usdc = keel.assets.USDC!.token;
      await refreshFeeds(keel);
      await (await usdc.mint(user!.address, 5_000n * 10n ** 6n)).wait();
      await (await usdc.connect(user!).approve(keel.psm.target, MaxUint256)).wait();
      await (await keel.psm.connect(user!).sellGem(user!.address, 5_000n * 10n ** 6n)).wait();
      await (await keel.kusd.connect(user!).approve(keel.savings.target, MaxUint256)).wait();
      await (await keel.savings.connect(user!).deposit(1_000n * WAD, user!.address)).wait();
      const v = await keel.lens.peg();
      expect(v.reserve).to.equal(await usdc.getAddress());
      expect(v.debt).to.equal(5_000n * WAD);
      expect([v.debtCeiling, v.feeIn, v.feeOut, v.freezeThreshold]).to.deep.equal([
        await keel.psm.debtCeiling(),
        await keel.psm.feeIn(),
        await keel.psm.feeOut(),
        await keel.psm.freezeThreshold(),
      ]);
      expect([v.sellGemFrozen, v.sellGemPaused]).to.deep.equal([false, false]);
      expect(v.savingsRate).to.equal(await keel.savings.savingsRate());
      expect(v.savingsAssets).to.equal(1_000n * WAD);
      expect(v.savingsShares).to.equal(await keel.savings.totalSupply());
      expect(v.bufferSpendable).to.equal(await keel.kusd.balanceOf(keel.surplus.target));
      await setFeedAnswer(keel, "USDC", 95_000_000n); // 5% off $1
      expect((await keel.lens.peg()).sellGemFrozen).to.equal(true);
    });
  });
});
