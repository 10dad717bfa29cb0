/**
 * `src/protocol/preview` (what the web app shows before a transaction) against the engine: for each action on an
 * isolated and a cross position, the preview computed for a pinned block time equals the engine's debt, HF and
 * initial HF after the action mined at that time, while fees accrue and σ steps toward a new target; the borrow
 * and withdrawal limits are exactly the engine's (the limit goes through, one unit more reverts with Unhealthy).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Keel } from "../../deploy";
import { WAD } from "../../src/math";
import { type Action, type MarketAt, maxBorrow, maxWithdraw, type PositionState, preview, repayToClear, sigmaAt } from "../../src/protocol/preview";
import { refreshFeeds } from "../../dev/localMarket";
import { E18, openCross, openIsolated } from "../helpers/engine";
import { loadKeel } from "../helpers/fixtures";
import { setPrice } from "../helpers/liquidation";

/** The market at block time `t`, read as the web app reads it (Lens.market, σ anchors, σ bounds). */
async function marketAt(keel: Keel, t: bigint): Promise<MarketAt> {
  const m = await keel.lens.market();
  const assets = await Promise.all(
    m.assets.map(async (address, i) => {
      const [s, r] = await Promise.all([keel.vol.stateOf(address), keel.risk.assetRisk(address)]);
      const anchor = { sigma: s.sigma, target: s.target, maxStep: s.maxStep, anchoredAt: s.anchoredAt, seeded: s.seeded };
      return {
        address: address.toLowerCase(),
        price: m.prices[i]!,
        unit: m.units[i]!,
        sigma: sigmaAt(anchor, r.sigmaMin, r.sigmaMax, t),
        maintenanceHaircut: m.maintenanceHaircuts[i]!,
        initialHaircut: m.initialHaircuts[i]!,
      };
    }),
  );
  return {
    time: t,
    assets,
    correlation: [...m.correlation],
    zMaintenance: m.zMaintenance,
    zInitial: m.zInitial,
    criticalHF: m.liquidation.criticalHF,
    dust: await keel.engine.dust(),
  };
}

/** A position as stored, with its class's accumulator. */
async function stateOf(keel: Keel, id: bigint): Promise<PositionState> {
  const [mode, classKey, normDebt] = await keel.engine.positionInfo(id);
  const c = await keel.engine.debtClass(classKey);
  const holdings = new Map<string, bigint>();
  for (const a of await keel.engine.collateralAssets(id)) holdings.set(a.toLowerCase(), await keel.engine.collateralOf(id, a));
  return {
    id,
    cross: mode === 1n,
    holdings,
    normDebt,
    debtClass: { rate: c.rate, updatedAt: c.updatedAt, stabilityFee: c.stabilityFee, normDebt: c.normDebt, debtCeiling: c.debtCeiling },
    deadline: await keel.engine.callDeadline(id),
  };
}

/** Sends `action` on `id` in a block at time `t`. */
async function act(keel: Keel, user: HardhatEthersSigner, id: bigint, action: Action): Promise<unknown> {
  const engine = keel.engine.connect(user);
  switch (action.kind) {
    case "deposit":
      return (await engine.deposit(id, action.asset, action.amount)).wait();
    case "withdraw":
      return (await engine.withdraw(id, action.asset, action.amount, user.address)).wait();
    case "borrow":
      return (await engine.borrow(id, action.amount, user.address)).wait();
    case "repay":
      return (await engine.repay(id, action.amount)).wait();
    case "none":
      return undefined;
  }
}

describe("Preview", () => {
  let keel: Keel;
  let user: HardhatEthersSigner;
  let weth: string;
  let wbtc: string;
  let isolated: bigint;
  let cross: bigint;

  beforeEach(async () => {
    keel = await loadKeel();
    [, user] = (await ethers.getSigners()) as [HardhatEthersSigner, HardhatEthersSigner];
    weth = await keel.assets.WETH!.token.getAddress();
    wbtc = await keel.assets.WBTC!.token.getAddress();
    isolated = await openIsolated(keel, user, "WETH", 20n * E18);
    cross = await openCross(keel, user, [["WETH", 20n * E18], ["WBTC", 10n ** 8n]]);
    await (await keel.engine.connect(user).borrow(isolated, 20_000n * E18, user.address)).wait();
    await (await keel.engine.connect(user).borrow(cross, 50_000n * E18, user.address)).wait();
    // σ of WETH starts stepping toward a higher target: two pokes around a 6% drop an hour apart.
    await (await keel.vol.poke(weth)).wait();
    await time.increase(3601);
    await setPrice(keel, "WETH", 2820);
    await refreshFeeds(keel);
    await (await keel.vol.poke(weth)).wait();
    for (const [symbol, amount] of [["WETH", 10n * E18], ["WBTC", 10n ** 8n]] as const) {
      await (await keel.assets[symbol]!.token.mint(user.address, amount)).wait();
    }
  });

  for (const which of ["isolated", "cross"] as const) {
    it(`test_preview_${which}_equalsEngineAfterEachActionAtThePinnedTime`, async () => {
      const id = which === "isolated" ? isolated : cross;
      const actions: Action[] = [
        { kind: "borrow", amount: 1_234_567_890_123_456_789n },
        { kind: "deposit", asset: weth, amount: 3n * E18 + 7n },
        { kind: "withdraw", asset: weth, amount: E18 / 3n },
        { kind: "repay", amount: 987n * E18 + 1n },
      ];
      if (which === "cross") actions.push({ kind: "withdraw", asset: wbtc, amount: 12_345n });
      for (const [k, action] of actions.entries()) {
        await time.increase(1800 * (k + 1)); // fees accrue, σ steps
        await refreshFeeds(keel);
        const t = BigInt(await time.latest()) + 7n;
        const expected = preview(await stateOf(keel, id), await marketAt(keel, t), action);
        await time.setNextBlockTimestamp(t);
        await act(keel, user, id, action);
        expect(BigInt(await time.latest())).to.equal(t);
        const [hf, hfInitial] = await keel.engine.healthFactor(id);
        expect([await keel.engine.debtOf(id), hf, hfInitial], `${which} ${action.kind}`).to.deep.equal([expected.debt, expected.hf, expected.hfInitial]);
      }
    });
  }

  it("test_maxBorrow_isTheEngineLimit", async () => {
    const t = BigInt(await time.latest()) + 600n;
    const most = maxBorrow(await stateOf(keel, cross), await marketAt(keel, t));
    expect(most).to.be.greaterThan(0n);
    const before = await takeSnapshot();
    await time.setNextBlockTimestamp(t);
    await expect(keel.engine.connect(user).borrow(cross, most + 1n, user.address)).to.be.revertedWithCustomError(keel.engine, "Unhealthy");
    await before.restore();
    await time.setNextBlockTimestamp(t);
    await act(keel, user, cross, { kind: "borrow", amount: most });
    const [, hfInitial] = await keel.engine.healthFactor(cross);
    expect(hfInitial).to.be.at.least(WAD);
  });

  it("test_maxWithdraw_isTheEngineLimit", async () => {
    const t = BigInt(await time.latest()) + 600n;
    const most = maxWithdraw(await stateOf(keel, isolated), await marketAt(keel, t), weth);
    expect(most).to.be.greaterThan(0n);
    const before = await takeSnapshot();
    await time.setNextBlockTimestamp(t);
    await expect(keel.engine.connect(user).withdraw(isolated, weth, most + 1n, user.address)).to.be.revertedWithCustomError(keel.engine, "Unhealthy");
    await before.restore();
    await time.setNextBlockTimestamp(t);
    await act(keel, user, isolated, { kind: "withdraw", asset: weth, amount: most });
  });

  it("test_repayToClear_bringsHealthBackToOne", async () => {
    // 20 WETH at $1,120 with 20,000 kUSD of debt: HF ≈ 22,400 × (1 − 2.75σ) / 20,000 < 1.
    await setPrice(keel, "WETH", 1120);
    const at = BigInt(await time.latest()) + 5n;
    const state = await stateOf(keel, isolated);
    const market = await marketAt(keel, at);
    expect(preview(state, market).hf).to.be.lessThan(WAD);
    const repay = repayToClear(state, market);
    expect(preview(state, market, { kind: "repay", amount: repay }).hf).to.be.at.least(WAD);
    expect(preview(state, market, { kind: "repay", amount: repay - 1n }).hf).to.be.lessThan(WAD);
    await time.setNextBlockTimestamp(at);
    await act(keel, user, isolated, { kind: "repay", amount: repay });
    expect((await keel.engine.healthFactor(isolated))[0]).to.be.at.least(WAD);
  });
});
