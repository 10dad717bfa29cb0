/**
 * The health-scaled liquidation bonus (docs/spec.md §4.4) on the local deployment: WETH's local curve, 2% at HF 1 → 5%
 * at HF ≤ 0.95 (= criticalHF), and WBTC's governed to 1% → 5% at HF ≤ 0.97 (locally 2% → 5% at 0.95). Every liquidation is asserted exactly
 * against the mirror (`src/math/liquidation.ts`), and each bonus against the curve written out here by hand:
 *   ℓ(HF) = ℓmin + ⌊(ℓ − ℓmin)(1 − HF)/(1 − fullPenaltyHF)⌋, ℓ at HF ≤ fullPenaltyHF.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256 } from "ethers";
import type { Keel } from "../../deploy";
import { refreshFeeds } from "../../dev/localMarket";
import { keelFixture, pinNext } from "../helpers/fixtures";
import { govern } from "../helpers/governance";
import { checkInvariants } from "../helpers/invariant";
import { expectedLiquidation, fundKusd, openCrossDebt, openIsolatedDebt, State } from "../helpers/liquidation";
import * as m from "../../src/math";
import type { LiquidationOutcome } from "../../src/math/liquidation";

const { WAD } = m;
const GRACE = 6n * 3600n;
const pct = (bps: bigint): bigint => (bps * WAD) / 10_000n;
const CURVES = {
  WETH: { min: pct(200n), max: pct(500n), full: (95n * WAD) / 100n },
  WBTC: { min: pct(100n), max: pct(500n), full: (97n * WAD) / 100n },
} as const;
type Curved = keyof typeof CURVES;

/** The curve by hand (not through src/math), so the mirror and the engine are both checked against it. */
function bonusByHand(symbol: Curved, hf: bigint): bigint {
  const c = CURVES[symbol];
  if (hf <= c.full) return c.max;
  if (hf >= WAD) return c.min;
  return c.min + ((c.max - c.min) * (WAD - hf)) / (WAD - c.full);
}

interface Ctx {
  keel: Keel;
  user: HardhatEthersSigner;
  liq: HardhatEthersSigner;
  address: Record<Curved, string>;
}

/** The local deployment with WBTC's curve governed in and a funded liquidator (one snapshot, shared by the tests). */
const curvedKeel = (): Promise<Ctx> => loadFixture(curvedFixture);

async function curvedFixture(): Promise<Ctx> {
  const keel = await keelFixture();
  const [, user, liq] = await ethers.getSigners();
  const address = { WETH: await keel.assets.WETH!.token.getAddress(), WBTC: await keel.assets.WBTC!.token.getAddress() };
  for (const symbol of ["WETH", "WBTC"] as const) {
    const r = await keel.risk.assetRisk(address[symbol]);
    const c = CURVES[symbol];
    const local = [r.liquidationPenalty, r.minLiquidationPenalty, r.fullPenaltyHF];
    // WETH's curve is the local config's own; WBTC's differs from it, so it is governed in.
    if (symbol === "WETH") {
      expect(local, "WETH's local curve").to.deep.equal([c.max, c.min, c.full]);
      continue;
    }
    expect(local, "WBTC's local curve").to.deep.equal([pct(500n), pct(200n), (95n * WAD) / 100n]);
    const { sigmaMin, sigmaMax, maintenanceHaircut, initialHaircut } = r;
    const params = { sigmaMin, sigmaMax, maintenanceHaircut, initialHaircut, liquidationPenalty: c.max, minLiquidationPenalty: c.min, fullPenaltyHF: c.full };
    await govern(keel, keel.risk, keel.risk.interface.encodeFunctionData("setAssetRisk", [address[symbol], params]));
  }
  await refreshFeeds(keel);
  await fundKusd(keel, liq!, 60_000n * WAD);
  return { keel, user: user!, liq: liq!, address };
}

/** 10 WETH against 24,500 kUSD, with the WETH price set so that HF ≈ `hf`; margin-called and lapsed when HF ≥ criticalHF. */
async function isolatedAt(c: Ctx, hf: bigint): Promise<bigint> {
  const id = await openIsolatedDebt(c.keel, c.user, "WETH", 10n * WAD, 24_500n * WAD);
  await lowerTo(c, id, "WETH", hf);
  return id;
}

/** Scales `symbol`'s price (8-decimal feed) so the position's HF moves to ≈ `hf` (HF is linear in one price). */
async function lowerTo(c: Ctx, id: bigint, symbol: Curved, hf: bigint, others: Curved[] = []): Promise<void> {
  const [now] = await c.keel.engine.healthFactor(id);
  for (const s of [symbol, ...others]) {
    const feed = c.keel.assets[s]!.feed;
    const [, answer] = await feed.latestRoundData();
    await (await feed.updateAnswer((answer * hf) / now)).wait();
  }
  const critical = (await c.keel.engine.liquidationParams()).criticalHF;
  const [after] = await c.keel.engine.healthFactor(id);
  if (after >= critical) {
    await (await c.keel.engine.connect(c.liq).marginCall(id)).wait();
    await time.increase(GRACE);
    await refreshFeeds(c.keel);
  }
  expect((await c.keel.engine.stateOf(id)).state).to.equal(State.Liquidatable);
}

/** Liquidates at a pinned time, asserting the Liquidated event equals the mirror's; returns the mirror's outcome. */
async function liquidateExactly(c: Ctx, id: bigint, symbol: Curved, maxRepay: bigint): Promise<LiquidationOutcome> {
  const ts = await pinNext();
  const e = await expectedLiquidation(c.keel, id, c.address[symbol], maxRepay, ts);
  await expect(c.keel.engine.connect(c.liq).liquidate(id, c.address[symbol], maxRepay, c.liq.address, "0x"))
    .to.emit(c.keel.engine, "Liquidated")
    .withArgs(id, c.liq.address, c.address[symbol], e.repaid, e.seized, e.badDebt);
  await checkInvariants(c.keel);
  return e;
}

const indexIn = (e: LiquidationOutcome, address: string): number => e.assets.findIndex((a) => a.toLowerCase() === address.toLowerCase());

/** The liquidator's gain [wad kUSD]: the seized collateral at the oracle price, less what it repaid and the protocol fee. */
async function gain(c: Ctx, symbol: Curved, e: LiquidationOutcome): Promise<bigint> {
  const price = await c.keel.oracle.getPrice(c.address[symbol]);
  return m.valueDown(e.seized, price, await c.keel.risk.unitOf(c.address[symbol])) - e.repaid - e.fee;
}

describe("Liquidation bonus (health-scaled)", () => {
  it("test_bonus_isolated_curve: ℓmin near HF 1, in between at HF 0.975, ℓ under criticalHF; seizure and fee at that bonus", async () => {
    const seen: bigint[] = [];
    for (const hf of [(WAD * 998n) / 1000n, (WAD * 975n) / 1000n, (WAD * 93n) / 100n]) {
      const c = await curvedKeel();
      const id = await isolatedAt(c, hf);
      const e = await liquidateExactly(c, id, "WETH", MaxUint256);
      const bonus = bonusByHand("WETH", e.hf);
      expect(e.penalties[0]).to.equal(bonus);
      const price = await c.keel.oracle.getPrice(c.address.WETH);
      expect(e.seized).to.equal(m.seizeDown(e.repaid, bonus, price, WAD));
      expect(e.fee).to.equal(m.protocolFeeUp(e.repaid, bonus, (await c.keel.engine.liquidationParams()).protocolShare));
      seen.push(bonus);
    }
    const { min, max } = CURVES.WETH;
    // HF 0.998: within 5% of the range above ℓmin (0.002 of the 0.05 from 1 to 0.95); HF 0.975: the middle third;
    // HF 0.93 < 0.95: exactly ℓ.
    expect(seen[0]).to.be.gt(min).and.lt(min + ((max - min) * 5n) / 100n);
    expect(seen[1]).to.be.gt(min + (max - min) / 3n).and.lt(max - (max - min) / 3n);
    expect(seen[2]).to.equal(max);
  });

  it("test_bonus_cross_eachAssetOnItsOwnCurve: a basket at one HF seizes WETH and WBTC at different bonuses", async () => {
    const c = await curvedKeel();
    const id = await openCrossDebt(c.keel, c.user, [["WETH", 5n * WAD], ["WBTC", 25_000_000n]], 24_500n * WAD);
    await lowerTo(c, id, "WETH", (WAD * 98n) / 100n, ["WBTC"]);
    const snapshot = await takeSnapshot();
    const viaWbtc = await liquidateExactly(c, id, "WBTC", MaxUint256);
    await snapshot.restore();
    const viaWeth = await liquidateExactly(c, id, "WETH", MaxUint256);
    for (const e of [viaWbtc, viaWeth]) {
      expect(e.penalties[indexIn(e, c.address.WETH)]).to.equal(bonusByHand("WETH", e.hf));
      expect(e.penalties[indexIn(e, c.address.WBTC)]).to.equal(bonusByHand("WBTC", e.hf));
    }
    // At HF 0.98 WBTC (1% → 5% by 0.97) is two-thirds up its curve, WETH (2% → 5% by 0.95) two-fifths up its own.
    const wbtcBonus = viaWbtc.penalties[indexIn(viaWbtc, c.address.WBTC)]!;
    const wethBonus = viaWeth.penalties[indexIn(viaWeth, c.address.WETH)]!;
    expect(wbtcBonus).to.be.closeTo(pct(100n) + (pct(400n) * 2n) / 3n, pct(20n));
    expect(wethBonus).to.be.closeTo(pct(200n) + (pct(300n) * 2n) / 5n, pct(20n));
  });

  it("test_bonus_splitNeverPaysMoreThanOneStep: above criticalHF each step raises HF, so the next step's bonus is lower and the split gains less", async () => {
    const c = await curvedKeel();
    // At HF 0.99 one step repays what brings HF to targetHF, under the close factor (which caps each step, not a
    // sequence: a split that the close factor binds may repay more in all, and is not what this compares).
    const id = await isolatedAt(c, (WAD * 99n) / 100n);
    const snapshot = await takeSnapshot();
    const one = await liquidateExactly(c, id, "WETH", MaxUint256);
    const p = await c.keel.engine.liquidationParams();
    expect(one.repaid).to.equal(one.target).and.be.lt(m.mulWadDown(one.debt, p.closeFactor));
    const oneGain = await gain(c, "WETH", one);
    await snapshot.restore();

    const first = await liquidateExactly(c, id, "WETH", one.repaid / 10n);
    const second = await liquidateExactly(c, id, "WETH", MaxUint256);
    expect(first.penalties[0]).to.equal(one.penalties[0]); // the same starting HF, the same bonus
    expect(second.hf).to.be.gt(first.hf);
    expect(second.penalties[0]).to.be.lt(first.penalties[0]);
    expect(second.penalties[0]).to.equal(bonusByHand("WETH", second.hf));
    // A lower bonus seizes less per kUSD, so the split reaches targetHF with less repaid, and gains less in all.
    expect(first.repaid + second.repaid).to.be.lte(one.repaid);
    const splitGain = (await gain(c, "WETH", first)) + (await gain(c, "WETH", second));
    expect(splitGain).to.be.lt(oneGain);
    // Per kUSD repaid, too.
    expect((splitGain * WAD) / (first.repaid + second.repaid)).to.be.lt((oneGain * WAD) / one.repaid);
    expect((await c.keel.engine.stateOf(id)).state).to.equal(State.Safe);
  });

  it("test_bonus_closeOutUnderCriticalHF_everyStepEarnsTheMaximum: steps that may lower HF all stay at ℓ", async () => {
    const c = await curvedKeel();
    const id = await openCrossDebt(c.keel, c.user, [["WETH", 5n * WAD], ["WBTC", 25_000_000n]], 24_500n * WAD);
    // 0.92: under criticalHF, above where this basket turns insolvent ((1 + 5%)(1 − Lm/V) ≈ 0.916).
    await lowerTo(c, id, "WETH", (WAD * 92n) / 100n, ["WBTC"]);
    // WBTC first: WETH alone carries 13.75% of its value, more than the basket's 12.7% at ρ 0.9, so taking the WBTC
    // lowers HF here (it takes off V − Lm at 1.05 × (1 − (Lm − Lm_WETH) / v_WBTC) ≈ 0.927 per kUSD repaid, under HF
    // 0.92's debt share; taking the WETH first would raise HF).
    const wbtc = await liquidateExactly(c, id, "WBTC", MaxUint256); // all of the debt is due: WBTC goes whole
    expect([wbtc.fullDue, wbtc.badDebt]).to.deep.equal([true, 0n]);
    expect(wbtc.amountsAfter[indexIn(wbtc, c.address.WBTC)]).to.be.lte(1n); // seizeDown(repayForDown(all)) may keep a wei
    expect(wbtc.penalties[indexIn(wbtc, c.address.WBTC)]).to.equal(CURVES.WBTC.max);
    expect(wbtc.hfAfter).to.be.lt(wbtc.hf); // a close-out step that lowered HF…
    expect(wbtc.hfAfter).to.be.lt(CURVES.WETH.full); // …still under the level where WETH's bonus is full
    const weth = await liquidateExactly(c, id, "WETH", MaxUint256);
    expect(weth.penalties[indexIn(weth, c.address.WETH)]).to.equal(CURVES.WETH.max);
    expect(await c.keel.engine.debtOf(id)).to.equal(0n);
  });
});
