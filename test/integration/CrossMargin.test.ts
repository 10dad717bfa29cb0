/**
 * The headline of Keel's margin model (docs/spec.md §3): a cross position's requirement is a portfolio stress loss, so
 * uncorrelated collateral borrows strictly more together than apart; fully correlated collateral borrows exactly
 * what the isolated positions would (up to the 1e-9 USD grain of the portfolio deviation); and the per-asset floors
 * always hold.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits, type Signer } from "ethers";
import { deployKeel, localConfig, type Keel, type RawKeelConfig } from "../../deploy";
import * as m from "../../src/math";
import { refreshFeeds } from "../../dev/localMarket";
import { Prng } from "../../src/risk/random";
import { loadKeel } from "../helpers/fixtures";
import { govern } from "../helpers/governance";
import { checkInvariants } from "../helpers/invariant";
import { debtAfterBorrow, expectedHealth, expectedValuation, initialHealthAt, largestBorrow } from "../helpers/mirror";

const WAD = m.WAD;

/**
 * The local config with the σ term binding over the floors for WETH and USDC, in both margins:
 *   WETH  σ 5%: zm σ = 13.75% > hm 1%,  zi σ = 18.3%  > hi 1%
 *   USDC  σ 3%: zm σ = 8.25%  > hm 2%,  zi σ = 10.98% > hi 3%
 * Every stability fee is 0% so the accumulators stay at RAY and debt equals what was borrowed, to the wei: the
 * largest borrow is then exactly maxDebt(valuation). ρ(WETH, USDC) starts at 0.3 and each test governs it.
 */
function sigmaBindingConfig(): RawKeelConfig {
  const cfg = structuredClone(localConfig);
  for (const asset of cfg.assets) asset.stabilityFee = "0%";
  cfg.cross.stabilityFee = "0%";
  const weth = cfg.assets.find((a) => a.symbol === "WETH")!;
  // Floors this low need no liquidation penalty and a critical HF of 0.99: (1 + ℓ)(1 − hm) ≤ criticalHF. Every bonus
  // curve must reach ℓ at or above criticalHF, so each now reaches it at 0.99 (locally at 0.95).
  const noPenalty = { liquidationPenalty: "0%", minLiquidationPenalty: "0%" };
  weth.risk = { ...weth.risk, maintenanceHaircut: "1%", initialHaircut: "1%", ...noPenalty };
  const usdc = cfg.assets.find((a) => a.symbol === "USDC")!;
  usdc.risk = { ...usdc.risk, sigmaMin: "3%", maintenanceHaircut: "2%", initialHaircut: "3%", ...noPenalty };
  for (const asset of cfg.assets) asset.risk.fullPenaltyHF = "0.99";
  cfg.liquidation = { ...cfg.liquidation, criticalHF: "0.99" };
  // USDC = 0.3 WETH + independent noise: its ρ with WBTC and wstETH is 0.3 times WETH's, so the matrix is a
  // correlation matrix (positive semi-definite, which listing checks).
  cfg.correlations["WETH/USDC"] = "0.3";
  cfg.correlations["WBTC/USDC"] = "0.27";
  cfg.correlations["USDC/wstETH"] = "0.285";
  return cfg;
}

async function sigmaBindingFixture(): Promise<Keel> {
  const [deployer] = await ethers.getSigners();
  return deployKeel(deployer!, sigmaBindingConfig());
}

interface Setup {
  keel: Keel;
  alice: Signer;
  weth: string;
  usdc: string;
}

async function setRho(rho: bigint): Promise<Setup> {
  const keel = await loadFixture(sigmaBindingFixture);
  const [, alice] = await ethers.getSigners();
  const weth = await keel.assets.WETH!.token.getAddress();
  const usdc = await keel.assets.USDC!.token.getAddress();
  // USDC = ρ WETH + independent noise, so the whole matrix stays a correlation matrix (positive semi-definite):
  // USDC's ρ with WBTC and wstETH is ρ times WETH's. The positions here hold only WETH and USDC.
  const others = [await keel.assets.WBTC!.token.getAddress(), await keel.assets.wstETH!.token.getAddress()];
  const scaled = await Promise.all(others.map(async (a) => (rho * (await keel.risk.correlation(weth, a))) / m.WAD));
  const data = keel.risk.interface.encodeFunctionData("setCorrelations", [[weth, ...others.map(() => usdc)], [usdc, ...others], [rho, ...scaled]]);
  await govern(keel, keel.risk, data);
  await refreshFeeds(keel); // the timelock delay outlasts the heartbeats
  expect(await keel.risk.correlation(usdc, weth)).to.equal(rho);
  return { keel, alice: alice!, weth, usdc };
}

async function openWith(keel: Keel, user: Signer, mode: 0 | 1, holdings: [string, bigint][]): Promise<bigint> {
  const owner = await user.getAddress();
  await (await keel.engine.connect(user).open(mode, mode === 0 ? holdings[0]![0] : ethers.ZeroAddress, owner)).wait();
  const id = await keel.engine.lastPositionId();
  for (const [asset, amount] of holdings) {
    const token = Object.values(keel.assets).find((a) => a.token.target === asset)!.token;
    await (await token.mint(owner, amount)).wait();
    await (await token.connect(user).approve(keel.engine, amount)).wait();
    await (await keel.engine.connect(user).deposit(id, asset, amount)).wait();
  }
  return id;
}

/** Σ_c mulWadUp(v_c, h_c): the floor loss, computed from prices and parameters independently of assess. */
async function floorLoss(keel: Keel, holdings: [string, bigint][], which: "initial" | "maintenance"): Promise<bigint> {
  let sum = 0n;
  for (const [asset, amount] of holdings) {
    const value = m.valueDown(amount, await keel.oracle.getPrice(asset), await keel.risk.unitOf(asset));
    const p = await keel.risk.assetRisk(asset);
    sum += m.mulWadUp(value, which === "initial" ? p.initialHaircut : p.maintenanceHaircut);
  }
  return sum;
}

/**
 * Borrows exactly `max` (fees are 0%, so debt = amount) after proving `max + 1` is refused with the mirror's HFi,
 * then proves one more wei is refused too. Leaves the position at HFi = 1 exactly.
 */
async function borrowExactlyMax(keel: Keel, user: Signer, id: bigint, max: bigint): Promise<void> {
  const to = await user.getAddress();
  const v = await valuationOf(keel, id);
  const refused = m.healthFactorDown(v.value, v.initialLoss, max + 1n);
  expect(refused).to.be.lt(WAD);
  await expect(keel.engine.connect(user).borrow(id, max + 1n, to))
    .to.be.revertedWithCustomError(keel.engine, "Unhealthy")
    .withArgs(id, refused);
  await (await keel.engine.connect(user).borrow(id, max, to)).wait();
  expect(await keel.engine.debtOf(id)).to.equal(max);
  const [hf, hfInitial] = await keel.engine.healthFactor(id);
  expect(hfInitial).to.equal(WAD);
  expect(hf).to.equal((await expectedHealth(keel, id)).hf);
  await expect(keel.engine.connect(user).borrow(id, 1n, to))
    .to.be.revertedWithCustomError(keel.engine, "Unhealthy")
    .withArgs(id, refused);
}

async function valuationOf(keel: Keel, id: bigint): Promise<m.Valuation> {
  const assets = [...(await keel.engine.collateralAssets(id))];
  const amounts = await Promise.all(assets.map((a) => keel.engine.collateralOf(id, a)));
  const v = await expectedValuation(keel, assets, amounts);
  const onChain = await keel.risk.assess(assets, amounts);
  expect([onChain.value, onChain.maintenanceLoss, onChain.initialLoss]).to.deep.equal([
    v.value,
    v.maintenanceLoss,
    v.initialLoss,
  ]);
  return v;
}

/** Opens a cross position holding both and two isolated ones, and returns the mirror's maxima. */
async function crossAndIsolated(
  s: Setup,
  wethAmount: bigint,
  usdcAmount: bigint,
): Promise<{ cross: bigint; isoWeth: bigint; isoUsdc: bigint; crossMax: bigint; wethMax: bigint; usdcMax: bigint }> {
  const { keel, alice, weth, usdc } = s;
  const cross = await openWith(keel, alice, 1, [
    [weth, wethAmount],
    [usdc, usdcAmount],
  ]);
  const isoWeth = await openWith(keel, alice, 0, [[weth, wethAmount]]);
  const isoUsdc = await openWith(keel, alice, 0, [[usdc, usdcAmount]]);
  return {
    cross,
    isoWeth,
    isoUsdc,
    crossMax: m.maxDebt(await valuationOf(keel, cross)),
    wethMax: m.maxDebt(await valuationOf(keel, isoWeth)),
    usdcMax: m.maxDebt(await valuationOf(keel, isoUsdc)),
  };
}

describe("Cross margin (docs/spec.md §3)", () => {
  const X = parseUnits("10.123456789012345678", 18); // WETH: $30,370.37…
  const Y = parseUnits("20000.123456", 6); // USDC

  it("test_sigmaTerm_bindsOverFloors: the σ term binds over the floors for WETH and USDC in the custom config", async () => {
    const keel = await loadFixture(sigmaBindingFixture);
    const [zm, zi] = await keel.risk.confidence();
    for (const symbol of ["WETH", "USDC"]) {
      const asset = await keel.assets[symbol]!.token.getAddress();
      const p = await keel.risk.assetRisk(asset);
      const sigma = await keel.risk.sigma(asset);
      expect(m.mulWadUp(zm, sigma), `${symbol} zm σ > hm`).to.be.gt(p.maintenanceHaircut);
      expect(m.mulWadUp(zi, sigma), `${symbol} zi σ > hi`).to.be.gt(p.initialHaircut);
    }
  });

  it("test_maxDebt_rhoZero_beatsIsolated: ρ = 0: the cross position borrows exactly maxDebt, strictly more than the two isolated positions together", async () => {
    const s = await setRho(0n);
    const { keel, alice, weth, usdc } = s;
    const r = await crossAndIsolated(s, X, Y);

    // The stress term binds for the basket too: Li = zi · sqrt(w_weth² + w_usdc²) > Σ hi v.
    const v = await valuationOf(keel, r.cross);
    const floor = await floorLoss(
      keel,
      [
        [weth, X],
        [usdc, Y],
      ],
      "initial",
    );
    expect(v.initialLoss).to.be.gt(floor);

    await borrowExactlyMax(keel, alice, r.cross, r.crossMax);
    await borrowExactlyMax(keel, alice, r.isoWeth, r.wethMax);
    await borrowExactlyMax(keel, alice, r.isoUsdc, r.usdcMax);

    // The diversification benefit: exactly the isolated losses minus the portfolio loss, and strictly positive.
    const isolatedSum = r.wethMax + r.usdcMax;
    expect(r.crossMax).to.be.gt(isolatedSum);
    const vw = await valuationOf(keel, r.isoWeth);
    const vu = await valuationOf(keel, r.isoUsdc);
    expect(r.crossMax - isolatedSum).to.equal(vw.initialLoss + vu.initialLoss - v.initialLoss);
    // About $1,780 here: zi (0.05 vw + 0.03 vu − sqrt((0.05 vw)² + (0.03 vu)²)), zi = 3.66.
    expect(r.crossMax - isolatedSum).to.be.gt(parseUnits("1400", 18));
    await checkInvariants(keel);
  });

  it("test_maxDebt_rhoOne_equalsIsolatedSum: ρ = 1: the cross maximum equals the sum of the isolated maxima up to the 1e-9 USD deviation grain", async () => {
    const s = await setRho(WAD);
    const { keel, alice } = s;
    const [, zi] = await keel.risk.confidence();
    // Tolerance. With w_c = ⌈v_c σ_c⌉ and S = Σ w_c, the variance summed by KeelMath is S²/1e18 plus < 4 wei of
    // rounding, and the deviation is 1e9 · ⌈sqrt(variance)⌉, a multiple of 1e-9 USD in [S, S + 1e9 + 1] wei for
    // S ≥ $1. Li_cross = ⌈zi · deviation⌉, while Σ Li_iso = Σ ⌈v_c · (zi σ_c)⌉ (zi σ_c is exact here). So
    // Σ Li_iso − 2 ≤ Li_cross ≤ Σ Li_iso + ⌈zi · (1e9 + 1)⌉ + 2 · ⌈zi⌉ + 1 (the last terms: ⌈v σ⌉ rounding times
    // zi, and the ceilings). In USD: the cross maximum is at most 2 wei above, and about 3.66e-9 USD below, the sum.
    const below = m.mulWadUp(zi, m.SQRT_WAD + 1n) + 2n * m.mulWadUp(zi, 1n) + 1n;
    const above = 2n;
    const prng = new Prng(0xc0_55n);
    const cases: [bigint, bigint][] = [
      [X, Y],
      [parseUnits("1", 18), parseUnits("1", 6)],
      [parseUnits("123456.789", 18), parseUnits("0.5", 6)],
    ];
    for (let i = 0; i < 3; i++) {
      cases.push([prng.between(10n ** 17n, 10n ** 24n), prng.between(10n ** 6n, 10n ** 13n)]);
    }
    for (const [i, [x, y]] of cases.entries()) {
      const r = await crossAndIsolated(s, x, y);
      const isolatedSum = r.wethMax + r.usdcMax;
      const what = `case ${i}: ${x} WETH-wei + ${y} USDC-units, cross ${r.crossMax} vs isolated ${isolatedSum}`;
      expect(r.crossMax, what).to.be.lte(isolatedSum + above);
      expect(isolatedSum - r.crossMax, what).to.be.lte(below);
      if (i === 0) {
        // Prove the first case on chain: the cross maximum (mirror) and each isolated maximum, to the wei.
        await borrowExactlyMax(keel, alice, r.cross, r.crossMax);
        await borrowExactlyMax(keel, alice, r.isoWeth, r.wethMax);
        await borrowExactlyMax(keel, alice, r.isoUsdc, r.usdcMax);
      }
    }
    await checkInvariants(keel);
  });

  describe("with the default config (floors binding)", () => {
    it("test_losses_floorsBind_borrowStops: a cross position's losses are exactly the floors when they bind, and borrowing stops there", async () => {
      const keel = await loadKeel();
      const [, alice] = await ethers.getSigners();
      const a = async (symbol: string): Promise<string> => keel.assets[symbol]!.token.getAddress();
      const holdings: [string, bigint][] = [
        [await a("WETH"), parseUnits("2", 18)],
        [await a("WBTC"), parseUnits("0.1", 8)],
        [await a("USDC"), parseUnits("50000", 6)],
        [await a("wstETH"), parseUnits("1", 18)],
      ];
      const id = await openWith(keel, alice!, 1, holdings);
      const v = await valuationOf(keel, id);
      // Floors: Li = 15%·6,000 + 14.5%·6,000 + 9%·50,000 + 16%·3,540 = 6,836.4 (zi · deviation ≈ 2,825 is below).
      expect(v.initialLoss).to.equal(await floorLoss(keel, holdings, "initial"));
      expect(v.initialLoss).to.equal(parseUnits("6836.4", 18));
      expect(v.maintenanceLoss).to.equal(await floorLoss(keel, holdings, "maintenance"));
      expect(v.maintenanceLoss).to.equal(parseUnits("5089.4", 18));

      // The largest amount the floors allow, at pinned block times (cross debt accrues at 3% a year). A refused
      // borrow is still mined, so the refusal of max + 1 and the successful max borrow are one second apart.
      const ts = BigInt(await time.latest()) + 10n;
      const tooMuch = (await largestBorrow(keel, id, ts)).amount + 1n;
      const refused = await initialHealthAt(keel, id, await debtAfterBorrow(keel, id, tooMuch, ts));
      expect(refused).to.be.lt(WAD);
      await time.setNextBlockTimestamp(ts);
      await expect(keel.engine.connect(alice!).borrow(id, tooMuch, alice!.address))
        .to.be.revertedWithCustomError(keel.engine, "Unhealthy")
        .withArgs(id, refused);
      const { amount: max } = await largestBorrow(keel, id, ts + 1n);
      await time.setNextBlockTimestamp(ts + 1n);
      await (await keel.engine.connect(alice!).borrow(id, max, alice!.address)).wait();
      const debt = await keel.engine.debtOf(id);
      expect(debt).to.be.lte(m.maxDebt(v));
      expect(debt).to.equal(await debtAfterBorrow(keel, id, 0n, ts + 1n));
      const [hf, hfInitial] = await keel.engine.healthFactor(id);
      expect({ hf, hfInitial }).to.deep.equal(await expectedHealth(keel, id));
      expect(hfInitial).to.equal(WAD); // debt is within a few wei of V − Σ hi v
      await checkInvariants(keel);
    });

    it("test_losses_neverBelowFloors: never charges less than the floors: Li ≥ Σ hi v and Lm ≥ Σ hm v for random baskets, even at ρ = 0", async () => {
      const keel = await loadKeel();
      const symbols = ["WETH", "WBTC", "USDC", "wstETH"];
      const addresses = await Promise.all(symbols.map((s) => keel.assets[s]!.token.getAddress()));
      const check = async (prng: Prng, rounds: number): Promise<number> => {
        let floorsBound = 0;
        for (let round = 0; round < rounds; round++) {
          const n = prng.int(2, 4);
          const picked = prng.shuffle(symbols.map((s, i) => ({ s, a: addresses[i]! }))).slice(0, n);
          const holdings = picked.map(({ s, a }): [string, bigint] => {
            const decimals = keel.assets[s]!.config.decimals;
            return [a, prng.between(1n, 10n ** BigInt(prng.int(decimals - 2, decimals + 6)))];
          });
          const assets = holdings.map(([x]) => x);
          const amounts = holdings.map(([, y]) => y);
          const got = await keel.risk.assess(assets, amounts);
          const mirror = await expectedValuation(keel, assets, amounts);
          expect([got.value, got.maintenanceLoss, got.initialLoss]).to.deep.equal([
            mirror.value,
            mirror.maintenanceLoss,
            mirror.initialLoss,
          ]);
          const fi = await floorLoss(keel, holdings, "initial");
          expect(got.initialLoss, `round ${round}`).to.be.gte(fi);
          expect(got.maintenanceLoss, `round ${round}`).to.be.gte(await floorLoss(keel, holdings, "maintenance"));
          if (got.initialLoss === fi) floorsBound++;
        }
        return floorsBound;
      };
      expect(await check(new Prng(0xf1_00n), 25)).to.be.gt(0);

      // ρ = 0 for every pair: the largest diversification benefit, and still never below the floors. One batch: the
      // matrix passes through no inconsistent (non positive semi-definite) intermediate.
      const pairs: [string, string][] = [];
      for (let i = 0; i < addresses.length; i++) {
        for (let j = i + 1; j < addresses.length; j++) {
          if ((await keel.risk.correlation(addresses[i]!, addresses[j]!)) !== 0n) pairs.push([addresses[i]!, addresses[j]!]);
        }
      }
      const data = keel.risk.interface.encodeFunctionData("setCorrelations", [pairs.map((p) => p[0]), pairs.map((p) => p[1]), pairs.map(() => 0n)]);
      await govern(keel, keel.risk, data);
      await refreshFeeds(keel);
      expect(await check(new Prng(0xf1_01n), 25)).to.be.gt(0);
      await checkInvariants(keel);
    });
  });
});
