import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, parseUnits, type Signer, ZeroAddress } from "ethers";
import type { Keel } from "../../deploy";
import { MockAggregator__factory, MockERC20__factory } from "../../typechain-types";
import type { IRiskModel } from "../../typechain-types/contracts/core/RiskModel";
import type { IVaultEngineTypes as IVaultEngine } from "../../typechain-types/contracts/core/VaultEngine";
import * as m from "../../src/math";
import { refreshFeeds } from "../../dev/localMarket";
import { Prng } from "../../src/risk/random";
import { loadKeel } from "../helpers/fixtures";
import { govern, governBatch, governTx } from "../helpers/governance";
import { expectedHealth, expectedValuation } from "../helpers/mirror";

const SYMBOLS = ["WETH", "WBTC", "USDC", "wstETH"] as const;
type Sym = (typeof SYMBOLS)[number];
type RiskParams = IRiskModel.AssetRiskParamsStruct & {
  sigmaMin: bigint;
  sigmaMax: bigint;
  maintenanceHaircut: bigint;
  initialHaircut: bigint;
  liquidationPenalty: bigint;
  minLiquidationPenalty: bigint;
  fullPenaltyHF: bigint;
};

const WAD = m.WAD;
const name = (s: string): string => encodeBytes32String(s);
const tuple = (p: RiskParams): bigint[] => [
  p.sigmaMin,
  p.sigmaMax,
  p.maintenanceHaircut,
  p.initialHaircut,
  p.liquidationPenalty,
  p.minLiquidationPenalty,
  p.fullPenaltyHF,
];

async function addressOf(keel: Keel, symbol: Sym): Promise<string> {
  return keel.assets[symbol]!.token.getAddress();
}

async function paramsOf(keel: Keel, asset: string): Promise<RiskParams> {
  const p = await keel.risk.assetRisk(asset);
  return {
    sigmaMin: p.sigmaMin,
    sigmaMax: p.sigmaMax,
    maintenanceHaircut: p.maintenanceHaircut,
    initialHaircut: p.initialHaircut,
    liquidationPenalty: p.liquidationPenalty,
    minLiquidationPenalty: p.minLiquidationPenalty,
    fullPenaltyHF: p.fullPenaltyHF,
  };
}

function expectValuation(actual: IRiskModel.ValuationStructOutput, expected: m.Valuation, what: string): void {
  expect(actual.value, `${what}: value`).to.equal(expected.value);
  expect(actual.maintenanceLoss, `${what}: maintenance loss`).to.equal(expected.maintenanceLoss);
  expect(actual.initialLoss, `${what}: initial loss`).to.equal(expected.initialLoss);
}

/** Mints, approves and deposits `amount` of `symbol` into position `id` from `user`. */
async function fund(keel: Keel, user: Signer, id: bigint, symbol: Sym, amount: bigint): Promise<void> {
  const { token } = keel.assets[symbol]!;
  await (await token.mint(await user.getAddress(), amount)).wait();
  await (await token.connect(user).approve(keel.engine, amount)).wait();
  await (await keel.engine.connect(user).deposit(id, await token.getAddress(), amount)).wait();
}

async function openPosition(keel: Keel, user: Signer, mode: 0 | 1, asset = ZeroAddress): Promise<bigint> {
  await (await keel.engine.connect(user).open(mode, asset, await user.getAddress())).wait();
  return keel.engine.lastPositionId();
}

/** HF of `id` from RiskModel, VaultEngine and the mirror, asserted equal; returns it. */
async function expectHealthAgrees(keel: Keel, id: bigint): Promise<{ hf: bigint; hfInitial: bigint }> {
  const expected = await expectedHealth(keel, id);
  const [riskHf, riskHfi] = await keel.risk.healthFactor(id);
  const [engineHf, engineHfi] = await keel.engine.healthFactor(id);
  expect(riskHf, "RiskModel hf").to.equal(expected.hf);
  expect(riskHfi, "RiskModel hfInitial").to.equal(expected.hfInitial);
  expect(engineHf, "VaultEngine hf").to.equal(expected.hf);
  expect(engineHfi, "VaultEngine hfInitial").to.equal(expected.hfInitial);
  return expected;
}

describe("RiskModel", () => {
  describe("assess", () => {
    it("test_assess_closedForms: matches hand-computed closed forms for one whole unit of each asset", async () => {
      const keel = await loadKeel();
      // V, Lm = max(zm σ, hm)·V, Li = max(zi σ, hi)·V with zm = 2.75, zi = 3.66 (deploy/networks/local.ts).
      const cases: [Sym, bigint, string, string, string][] = [
        ["WETH", parseUnits("1", 18), "3000", "412.5", "549"], // σ 5% binds: 13.75% > 10%, 18.3% > 15%
        ["WBTC", parseUnits("1", 8), "60000", "7425", "9882"], // σ 4.5% binds: 12.375% > 10%, 16.47% > 14.5%
        ["USDC", parseUnits("1000", 6), "1000", "70", "90"], // floors bind: 1.375% < 7%, 1.83% < 9%
        ["wstETH", parseUnits("1", 18), "3540", "535.425", "712.602"], // 1.18 × 3000; σ 5.5% binds both
      ];
      for (const [symbol, amount, v, lm, li] of cases) {
        const asset = await addressOf(keel, symbol);
        const got = await keel.risk.assess([asset], [amount]);
        expectValuation(
          got,
          { value: parseUnits(v, 18), maintenanceLoss: parseUnits(lm, 18), initialLoss: parseUnits(li, 18) },
          symbol,
        );
        expectValuation(got, await expectedValuation(keel, [asset], [amount]), `${symbol} mirror`);
      }
    });

    it("test_assess_singleAssets_mirror: equals the mirror for single assets across magnitudes, including 6/8-decimal and composite tokens", async () => {
      const keel = await loadKeel();
      const prng = new Prng(0x5eed_0001n);
      for (const symbol of SYMBOLS) {
        const asset = await addressOf(keel, symbol);
        const decimals = keel.assets[symbol]!.config.decimals;
        const amounts = [1n, 7n, 10n ** BigInt(decimals), 10n ** BigInt(decimals) + 1n];
        for (let i = 0; i < 6; i++) amounts.push(prng.between(1n, 10n ** BigInt(prng.int(1, decimals + 8))));
        for (const amount of amounts) {
          expectValuation(
            await keel.risk.assess([asset], [amount]),
            await expectedValuation(keel, [asset], [amount]),
            `${symbol} × ${amount}`,
          );
        }
      }
    });

    it("test_assess_randomBaskets_mirror: equals the mirror for random 2–4 asset baskets (seeded), amounts across magnitudes and zeros", async () => {
      const keel = await loadKeel();
      const prng = new Prng(0x6b65_656cn);
      const addresses = await Promise.all(SYMBOLS.map((s) => addressOf(keel, s)));
      for (let round = 0; round < 40; round++) {
        const n = prng.int(2, 4);
        const picked = prng.shuffle(SYMBOLS.map((s, i) => ({ s, a: addresses[i]! }))).slice(0, n);
        const amounts = picked.map(({ s }) => {
          if (prng.int(0, 9) === 0) return 0n;
          const decimals = keel.assets[s]!.config.decimals;
          return prng.between(1n, 10n ** BigInt(prng.int(0, decimals + 8)));
        });
        const assets = picked.map(({ a }) => a);
        expectValuation(
          await keel.risk.assess(assets, amounts),
          await expectedValuation(keel, assets, amounts),
          `round ${round}: ${picked.map(({ s }) => s).join("+")} ${amounts.join(",")}`,
        );
      }
    });

    it("test_assess_zeroAmounts: values zero amounts at zero", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const usdc = await addressOf(keel, "USDC");
      const zero = { value: 0n, maintenanceLoss: 0n, initialLoss: 0n };
      expectValuation(await keel.risk.assess([weth], [0n]), zero, "single zero");
      expectValuation(await keel.risk.assess([weth, usdc], [0n, 0n]), zero, "basket of zeros");
      expectValuation(await keel.risk.assess([], []), zero, "empty basket");
      const amounts = [0n, parseUnits("2500.5", 6)];
      const got = await keel.risk.assess([weth, usdc], amounts);
      expectValuation(got, await expectedValuation(keel, [weth, usdc], amounts), "zero + USDC");
      // A zero holding adds nothing: the basket's loss is USDC's floor alone (7% / 9% of 2500.5).
      expect(got.value).to.equal(parseUnits("2500.5", 18));
      expect(got.maintenanceLoss).to.equal(parseUnits("175.035", 18));
      expect(got.initialLoss).to.equal(parseUnits("225.045", 18));
    });

    it("test_assess_badInput_reverts: reverts on mismatched lengths and unlisted assets", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const stranger = ethers.Wallet.createRandom().address;
      await expect(keel.risk.assess([weth, weth], [1n]))
        .to.be.revertedWithCustomError(keel.risk, "LengthMismatch")
        .withArgs(2n, 1n);
      await expect(keel.risk.assess([stranger], [1n]))
        .to.be.revertedWithCustomError(keel.risk, "AssetNotListed")
        .withArgs(stranger);
      // Listing is checked before the zero-amount shortcut, in both branches.
      await expect(keel.risk.assess([stranger], [0n]))
        .to.be.revertedWithCustomError(keel.risk, "AssetNotListed")
        .withArgs(stranger);
      await expect(keel.risk.assess([weth, stranger], [1n, 0n]))
        .to.be.revertedWithCustomError(keel.risk, "AssetNotListed")
        .withArgs(stranger);
    });
  });

  describe("healthFactor", () => {
    it("test_healthFactor_noDebt_infinite: is infinite without debt", async () => {
      const keel = await loadKeel();
      const [, alice] = await ethers.getSigners();
      const id = await openPosition(keel, alice!, 1);
      await fund(keel, alice!, id, "WETH", parseUnits("1", 18));
      expect([...(await keel.risk.healthFactor(id))]).to.deep.equal([m.INFINITE_HEALTH, m.INFINITE_HEALTH]);
      expect([...(await keel.engine.healthFactor(id))]).to.deep.equal([m.INFINITE_HEALTH, m.INFINITE_HEALTH]);
    });

    it("test_healthFactor_equalsEngineAndMirror: equals VaultEngine.healthFactor and the mirror for isolated and cross positions, over time and prices", async () => {
      const keel = await loadKeel();
      const [, alice] = await ethers.getSigners();
      const ids: bigint[] = [];
      const isolated: [Sym, string, string][] = [
        ["WETH", "10", "20000"],
        ["WBTC", "0.5", "20000"],
        ["USDC", "50000", "40000"],
        ["wstETH", "3.3", "8000"],
      ];
      for (const [symbol, amount, debt] of isolated) {
        const id = await openPosition(keel, alice!, 0, await addressOf(keel, symbol));
        await fund(keel, alice!, id, symbol, parseUnits(amount, keel.assets[symbol]!.config.decimals));
        await (await keel.engine.connect(alice!).borrow(id, parseUnits(debt, 18), alice!.address)).wait();
        ids.push(id);
      }
      const cross = await openPosition(keel, alice!, 1);
      await fund(keel, alice!, cross, "WETH", parseUnits("4.2", 18));
      await fund(keel, alice!, cross, "WBTC", parseUnits("0.123", 8));
      await fund(keel, alice!, cross, "USDC", parseUnits("7777.77", 6));
      await fund(keel, alice!, cross, "wstETH", parseUnits("1.5", 18));
      await (await keel.engine.connect(alice!).borrow(cross, parseUnits("15000", 18), alice!.address)).wait();
      ids.push(cross);

      for (const id of ids) await expectHealthAgrees(keel, id);
      await time.increase(1800); // debt accrues
      await refreshFeeds(keel); // prices unchanged but fresh, whatever else ran before this test
      for (const id of ids) await expectHealthAgrees(keel, id);
      await (await keel.assets.WETH!.feed.updateAnswer(2_750n * 10n ** 8n)).wait(); // WETH and wstETH move
      await (await keel.assets.WBTC!.feed.updateAnswer(51_234_56789012n)).wait();
      for (const id of ids) await expectHealthAgrees(keel, id);
    });
  });

  describe("views", () => {
    it("test_sigma_isSigmaMin: sigma is sigmaMin for each asset (no volatility oracle yet) and reverts for unlisted assets", async () => {
      const keel = await loadKeel();
      for (const symbol of SYMBOLS) {
        const asset = await addressOf(keel, symbol);
        expect(await keel.risk.sigma(asset), symbol).to.equal(keel.assets[symbol]!.config.risk.sigmaMin);
        expect(await keel.risk.sigma(asset), symbol).to.equal((await keel.risk.assetRisk(asset)).sigmaMin);
      }
      const stranger = ethers.Wallet.createRandom().address;
      await expect(keel.risk.sigma(stranger))
        .to.be.revertedWithCustomError(keel.risk, "AssetNotListed")
        .withArgs(stranger);
    });

    it("test_views_asConfigured: reports parameters, units, listing order, confidence and symmetric correlations as configured", async () => {
      const keel = await loadKeel();
      const addresses = await Promise.all(SYMBOLS.map((s) => addressOf(keel, s)));
      expect([...(await keel.risk.listedAssets())]).to.deep.equal(addresses);
      expect([...(await keel.risk.confidence())]).to.deep.equal([parseUnits("2.75", 18), parseUnits("3.66", 18)]);
      for (const [i, symbol] of SYMBOLS.entries()) {
        const { config } = keel.assets[symbol]!;
        expect(tuple(await paramsOf(keel, addresses[i]!))).to.deep.equal(tuple(config.risk as RiskParams));
        expect(await keel.risk.unitOf(addresses[i]!)).to.equal(10n ** BigInt(config.decimals));
        expect(await keel.risk.correlation(addresses[i]!, addresses[i]!)).to.equal(WAD);
        for (const [j, other] of SYMBOLS.entries()) {
          if (j <= i) continue;
          const rho = keel.config.correlations.get(`${symbol}/${other}`)!;
          expect(await keel.risk.correlation(addresses[i]!, addresses[j]!), `${symbol}/${other}`).to.equal(rho);
          expect(await keel.risk.correlation(addresses[j]!, addresses[i]!), `${other}/${symbol}`).to.equal(rho);
        }
      }
      const stranger = ethers.Wallet.createRandom().address;
      await expect(keel.risk.assetRisk(stranger)).to.be.revertedWithCustomError(keel.risk, "AssetNotListed");
      await expect(keel.risk.unitOf(stranger)).to.be.revertedWithCustomError(keel.risk, "AssetNotListed");
    });
  });

  describe("setAssetRisk", () => {
    const encode = (keel: Keel, asset: string, p: RiskParams): string =>
      keel.risk.interface.encodeFunctionData("setAssetRisk", [asset, p]);

    it("test_setAssetRisk_rangeLimits: stores the parameters at their range limits and emits AssetRiskSet", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      // The largest penalty needs hm ≥ 24% to keep (1 + ℓ)(1 − hm) ≤ criticalHF 0.95.
      const upper: RiskParams = {
        sigmaMin: 10n ** 14n,
        sigmaMax: WAD,
        maintenanceHaircut: parseUnits("0.99", 18),
        initialHaircut: parseUnits("0.99", 18),
        liquidationPenalty: parseUnits("0.25", 18),
        minLiquidationPenalty: 0n,
        fullPenaltyHF: WAD,
      };
      await expect(governTx(keel, keel.risk, encode(keel, weth, upper)))
        .to.emit(keel.risk, "AssetRiskSet")
        .withArgs(weth, tuple(upper));
      expect(tuple(await paramsOf(keel, weth))).to.deep.equal(tuple(upper));
      expect(await keel.risk.sigma(weth)).to.equal(upper.sigmaMin);
      // The smallest haircut, 0.1%, needs no penalty and a critical HF of at least 0.999, which every other asset's curve
      // must reach ℓ at or above: the local curves reach it at 0.95, so they become fixed penalties (fullPenaltyHF 1).
      const risk = await keel.risk.getAddress();
      const others = await Promise.all(
        (["WBTC", "USDC", "wstETH"] as const).map(async (symbol) => {
          const asset = await addressOf(keel, symbol);
          return { target: risk, data: encode(keel, asset, { ...(await paramsOf(keel, asset)), fullPenaltyHF: WAD }) };
        }),
      );
      await governBatch(keel, others);
      const params = await keel.engine.liquidationParams();
      await governTx(
        keel,
        keel.engine,
        keel.engine.interface.encodeFunctionData("setLiquidationParams", [
          {
            gracePeriod: params.gracePeriod,
            criticalHF: parseUnits("0.999", 18),
            targetHF: params.targetHF,
            closeFactor: params.closeFactor,
            protocolShare: params.protocolShare,
          },
        ]),
      );
      const lower: RiskParams = { ...upper, maintenanceHaircut: 10n ** 15n, liquidationPenalty: 0n };
      await expect(governTx(keel, keel.risk, encode(keel, weth, lower))).to.emit(keel.risk, "AssetRiskSet");
      expect(tuple(await paramsOf(keel, weth))).to.deep.equal(tuple(lower));
    });

    it("test_setAssetRisk_penaltyTooHigh: refuses a penalty the critical HF cannot carry: PenaltyTooHighForCriticalHF", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const next: RiskParams = { ...(await paramsOf(keel, weth)), liquidationPenalty: parseUnits("0.06", 18) };
      await expect(governTx(keel, keel.risk, encode(keel, weth, next)))
        .to.be.revertedWithCustomError(keel.risk, "PenaltyTooHighForCriticalHF")
        .withArgs(weth, parseUnits("0.954", 18), parseUnits("0.95", 18));
    });

    it("test_setAssetRisk_fullPenaltyHFBelowCriticalHF: a bonus curve must reach ℓ at or above criticalHF", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const base = await paramsOf(keel, weth);
      const critical = (await keel.engine.liquidationParams()).criticalHF; // 0.95
      const curve = { ...base, minLiquidationPenalty: parseUnits("0.03", 18), fullPenaltyHF: critical - 1n }; // local: 2% at 0.95
      await expect(governTx(keel, keel.risk, encode(keel, weth, curve)))
        .to.be.revertedWithCustomError(keel.risk, "FullPenaltyHFBelowCriticalHF")
        .withArgs(weth, critical - 1n, critical);
      const atCritical = { ...curve, fullPenaltyHF: critical };
      await expect(governTx(keel, keel.risk, encode(keel, weth, atCritical)))
        .to.emit(keel.risk, "AssetRiskSet")
        .withArgs(weth, tuple(atCritical));
      expect(tuple(await paramsOf(keel, weth))).to.deep.equal(tuple(atCritical));
      await refreshFeeds(keel); // the timelock's delay outlived the feeds' heartbeat
      const terms = await keel.risk.liquidationTerms(weth);
      expect([terms.penalty, terms.minPenalty, terms.fullPenaltyHF]).to.deep.equal([base.liquidationPenalty, parseUnits("0.03", 18), critical]);
      // A change of the curve alone is a change; the same curve again is not.
      await expect(governTx(keel, keel.risk, encode(keel, weth, atCritical))).to.be.revertedWithCustomError(keel.risk, "NoChange");
      await expect(governTx(keel, keel.risk, encode(keel, weth, { ...atCritical, fullPenaltyHF: WAD }))).to.emit(keel.risk, "AssetRiskSet");
    });

    it("test_setAssetRisk_rangeChecks: range-checks every field: InvalidParameter(name, value)", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const base = await paramsOf(keel, weth); // σmin 5%, σmax 10%, hm 10%, hi 15%, ℓmin 2% → ℓ 5% at HF 0.95
      const bad: [string, Partial<RiskParams>, bigint][] = [
        ["sigmaMin", { sigmaMin: 10n ** 14n - 1n }, 10n ** 14n - 1n],
        ["sigmaMin", { sigmaMin: WAD + 1n, sigmaMax: WAD + 1n }, WAD + 1n],
        ["sigmaMax", { sigmaMax: base.sigmaMin - 1n }, base.sigmaMin - 1n],
        ["sigmaMax", { sigmaMax: WAD + 1n }, WAD + 1n],
        ["maintenanceHaircut", { maintenanceHaircut: 10n ** 15n - 1n }, 10n ** 15n - 1n],
        ["maintenanceHaircut", { maintenanceHaircut: parseUnits("0.99", 18) + 1n }, parseUnits("0.99", 18) + 1n],
        ["initialHaircut", { initialHaircut: base.maintenanceHaircut - 1n }, base.maintenanceHaircut - 1n],
        ["initialHaircut", { initialHaircut: parseUnits("0.99", 18) + 1n }, parseUnits("0.99", 18) + 1n],
        ["liquidationPenalty", { liquidationPenalty: parseUnits("0.25", 18) + 1n }, parseUnits("0.25", 18) + 1n],
        ["minLiquidationPenalty", { minLiquidationPenalty: base.liquidationPenalty + 1n }, base.liquidationPenalty + 1n],
        ["fullPenaltyHF", { fullPenaltyHF: WAD + 1n }, WAD + 1n],
      ];
      for (const [field, change, value] of bad) {
        await expect(governTx(keel, keel.risk, encode(keel, weth, { ...base, ...change })), field)
          .to.be.revertedWithCustomError(keel.risk, "InvalidParameter")
          .withArgs(name(field), value);
      }
    });

    it("test_setAssetRisk_noOpUnlistedStranger: rejects a no-op, an unlisted asset and callers without the RISK role", async () => {
      const keel = await loadKeel();
      const [deployer, stranger] = await ethers.getSigners();
      const weth = await addressOf(keel, "WETH");
      const base = await paramsOf(keel, weth);
      await expect(govern(keel, keel.risk, encode(keel, weth, base))).to.be.revertedWithCustomError(
        keel.risk,
        "NoChange",
      );
      const unlisted = ethers.Wallet.createRandom().address;
      await expect(govern(keel, keel.risk, encode(keel, unlisted, base)))
        .to.be.revertedWithCustomError(keel.risk, "AssetNotListed")
        .withArgs(unlisted);
      // The deployer gave its roles away at the end of deployKeel.
      for (const caller of [stranger!, deployer!]) {
        await expect(keel.risk.connect(caller).setAssetRisk(weth, { ...base, maintenanceHaircut: WAD / 8n }))
          .to.be.revertedWithCustomError(keel.risk, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
    });

    it("test_setAssetRisk_hm_movesHF: raising WETH's hm moves an existing position's HF exactly to the mirror value", async () => {
      const keel = await loadKeel();
      const [, alice] = await ethers.getSigners();
      const weth = await addressOf(keel, "WETH");
      const id = await openPosition(keel, alice!, 0, weth);
      await fund(keel, alice!, id, "WETH", parseUnits("10", 18));
      await (await keel.engine.connect(alice!).borrow(id, parseUnits("20000", 18), alice!.address)).wait();
      const before = await expectHealthAgrees(keel, id);

      const base = await paramsOf(keel, weth);
      const next = { ...base, maintenanceHaircut: parseUnits("0.14", 18) }; // now above zm σ = 13.75%
      await govern(keel, keel.risk, encode(keel, weth, next));
      await refreshFeeds(keel);
      const after = await expectHealthAgrees(keel, id);

      // By hand: V = 30,000; Lm = 14% of V = 4,200 (was 13.75% = 4,125), against the accrued debt.
      const debt = await keel.engine.debtOf(id);
      const value = parseUnits("30000", 18);
      expect(after.hf).to.equal(m.healthFactorDown(value, parseUnits("4200", 18), debt));
      const unchanged = m.healthFactorDown(value, parseUnits("4125", 18), debt);
      expect(after.hf).to.be.lt(unchanged);
      expect(after.hf).to.be.lt(before.hf);
      // Li is unchanged (zi σ = 18.3% still binds over hi = 15%).
      expect(after.hfInitial).to.equal(m.healthFactorDown(value, parseUnits("5490", 18), debt));
    });

    it("test_setAssetRisk_sigmaMin_movesCrossHF: raising WETH's σmin moves a cross position's HF and HFi exactly to the mirror values", async () => {
      const keel = await loadKeel();
      const [, alice] = await ethers.getSigners();
      const weth = await addressOf(keel, "WETH");
      const id = await openPosition(keel, alice!, 1);
      await fund(keel, alice!, id, "WETH", parseUnits("10", 18));
      await fund(keel, alice!, id, "WBTC", parseUnits("0.25", 8));
      await (await keel.engine.connect(alice!).borrow(id, parseUnits("25000", 18), alice!.address)).wait();
      const before = await expectHealthAgrees(keel, id);
      await govern(keel, keel.risk, encode(keel, weth, { ...(await paramsOf(keel, weth)), sigmaMin: WAD / 10n }));
      await refreshFeeds(keel);
      expect(await keel.risk.sigma(weth)).to.equal(WAD / 10n);
      const after = await expectHealthAgrees(keel, id);
      expect(after.hf).to.be.lt(before.hf);
      expect(after.hfInitial).to.be.lt(before.hfInitial);
    });
  });

  describe("setCorrelation", () => {
    const encode = (keel: Keel, a: string, b: string, rho: bigint): string =>
      keel.risk.interface.encodeFunctionData("setCorrelation", [a, b, rho]);

    it("test_setCorrelation_symmetric: stores ρ symmetrically and emits CorrelationSet", async () => {
      const keel = await loadKeel();
      const weth = await addressOf(keel, "WETH");
      const usdc = await addressOf(keel, "USDC");
      // Small enough to stay consistent with ρ(WETH, WBTC) = 0.9 and ρ(WETH, wstETH) = 0.95 while USDC has ρ 0 with both
      // (that matrix is nearly singular: USDC/WETH may be at most ≈ 0.025).
      const rho = parseUnits("0.02", 18);
      await expect(governTx(keel, keel.risk, encode(keel, usdc, weth, rho)))
        .to.emit(keel.risk, "CorrelationSet")
        .withArgs(usdc, weth, rho);
      expect(await keel.risk.correlation(weth, usdc)).to.equal(rho);
      expect(await keel.risk.correlation(usdc, weth)).to.equal(rho);
      // The reversed order is the same entry: setting it again is a no-op.
      await expect(govern(keel, keel.risk, encode(keel, weth, usdc, rho))).to.be.revertedWithCustomError(
        keel.risk,
        "NoChange",
      );
      // ρ = 1 is the upper bound and allowed, when the rest of the matrix agrees: USDC then moves exactly with WETH.
      const wbtc = await addressOf(keel, "WBTC");
      const wsteth = await addressOf(keel, "wstETH");
      const [wethWbtc, wethWsteth] = [await keel.risk.correlation(weth, wbtc), await keel.risk.correlation(weth, wsteth)];
      await govern(
        keel,
        keel.risk,
        keel.risk.interface.encodeFunctionData("setCorrelations", [[weth, usdc, usdc], [usdc, wbtc, wsteth], [WAD, wethWbtc, wethWsteth]]),
      );
      expect(await keel.risk.correlation(usdc, weth)).to.equal(WAD);
    });

    it("test_setCorrelation_notPsd: refuses a matrix that is not positive semi-definite; setCorrelations reaches it in one step", async () => {
      const keel = await loadKeel();
      const [weth, wbtc, usdc, wsteth] = [
        await addressOf(keel, "WETH"),
        await addressOf(keel, "WBTC"),
        await addressOf(keel, "USDC"),
        await addressOf(keel, "wstETH"),
      ];
      const nine = parseUnits("0.9", 18);
      // USDC at 0.9 with WETH while still 0 with wstETH (0.95 with WETH): no set of returns has these correlations.
      const listed = [...(await keel.risk.listedAssets())];
      const n = listed.length;
      const matrix: bigint[] = [];
      for (const a of listed) {
        for (const b of listed) {
          const pair = new Set([a, b]);
          matrix.push(pair.has(weth) && pair.has(usdc) ? nine : await keel.risk.correlation(a, b));
        }
      }
      const verdict = m.choleskyPsd(matrix, n);
      expect(verdict.ok).to.equal(false);
      await expect(governTx(keel, keel.risk, encode(keel, weth, usdc, nine)))
        .to.be.revertedWithCustomError(keel.risk, "CorrelationNotPositiveSemiDefinite")
        .withArgs(listed[verdict.failedAt]!);
      expect(await keel.risk.correlation(weth, usdc)).to.equal(0n);
      // USDC = 0.9 WETH + independent noise: ρ with each asset is 0.9 × WETH's. As one change it is consistent.
      const toWbtc = (nine * (await keel.risk.correlation(weth, wbtc))) / WAD;
      const toWsteth = (nine * (await keel.risk.correlation(weth, wsteth))) / WAD;
      const batch = keel.risk.interface.encodeFunctionData("setCorrelations", [[weth, usdc, usdc], [usdc, wbtc, wsteth], [nine, toWbtc, toWsteth]]);
      await expect(governTx(keel, keel.risk, batch)).to.emit(keel.risk, "CorrelationSet").withArgs(usdc, wsteth, toWsteth);
      expect(await keel.risk.correlation(usdc, wbtc)).to.equal(toWbtc);
      await expect(governTx(keel, keel.risk, batch)).to.be.revertedWithCustomError(keel.risk, "NoChange");
      const uneven = keel.risk.interface.encodeFunctionData("setCorrelations", [[weth], [usdc, wbtc], [nine]]);
      await expect(governTx(keel, keel.risk, uneven)).to.be.revertedWithCustomError(keel.risk, "LengthMismatch").withArgs(1n, 2n);
      const noRho = keel.risk.interface.encodeFunctionData("setCorrelations", [[weth], [usdc], []]);
      await expect(governTx(keel, keel.risk, noRho)).to.be.revertedWithCustomError(keel.risk, "LengthMismatch").withArgs(1n, 0n);
    });

    it("test_setCorrelation_badInput: rejects ρ > 1, the same asset twice, unlisted assets and strangers", async () => {
      const keel = await loadKeel();
      const [, stranger] = await ethers.getSigners();
      const weth = await addressOf(keel, "WETH");
      const usdc = await addressOf(keel, "USDC");
      await expect(governTx(keel, keel.risk, encode(keel, weth, usdc, WAD + 1n)))
        .to.be.revertedWithCustomError(keel.risk, "InvalidParameter")
        .withArgs(name("correlation"), WAD + 1n);
      await expect(governTx(keel, keel.risk, encode(keel, weth, weth, WAD / 2n)))
        .to.be.revertedWithCustomError(keel.risk, "InvalidParameter")
        .withArgs(name("correlation"), WAD / 2n);
      const unlisted = ethers.Wallet.createRandom().address;
      await expect(governTx(keel, keel.risk, encode(keel, unlisted, usdc, 0n)))
        .to.be.revertedWithCustomError(keel.risk, "AssetNotListed")
        .withArgs(unlisted);
      await expect(governTx(keel, keel.risk, encode(keel, weth, unlisted, 0n)))
        .to.be.revertedWithCustomError(keel.risk, "AssetNotListed")
        .withArgs(unlisted);
      await expect(keel.risk.connect(stranger!).setCorrelation(weth, usdc, WAD / 2n))
        .to.be.revertedWithCustomError(keel.risk, "AccessManagedUnauthorized")
        .withArgs(stranger!.address);
    });

    it("test_setCorrelation_movesCrossHF: moves a cross position's HF exactly as the mirror says", async () => {
      const keel = await loadKeel();
      const [, alice] = await ethers.getSigners();
      const weth = await addressOf(keel, "WETH");
      const wbtc = await addressOf(keel, "WBTC");
      const id = await openPosition(keel, alice!, 1);
      await fund(keel, alice!, id, "WETH", parseUnits("20", 18));
      await fund(keel, alice!, id, "WBTC", parseUnits("1", 8));
      await (await keel.engine.connect(alice!).borrow(id, parseUnits("60000", 18), alice!.address)).wait();
      const before = await expectHealthAgrees(keel, id);
      // 0.9 → 1: less diversification. WBTC then moves exactly with WETH, so it takes WETH's 0.95 with wstETH too.
      const wsteth = await addressOf(keel, "wstETH");
      const toWsteth = await keel.risk.correlation(weth, wsteth);
      await govern(keel, keel.risk, keel.risk.interface.encodeFunctionData("setCorrelations", [[weth, wbtc], [wbtc, wsteth], [WAD, toWsteth]]));
      await refreshFeeds(keel);
      const after = await expectHealthAgrees(keel, id);
      expect(after.hf).to.be.lt(before.hf);
    });
  });

  describe("setConfidence", () => {
    const encode = (keel: Keel, zm: bigint, zi: bigint): string =>
      keel.risk.interface.encodeFunctionData("setConfidence", [zm, zi]);

    it("test_setConfidence_rangeLimits: stores (zm, zi) at the range limits and emits ConfidenceSet", async () => {
      const keel = await loadKeel();
      await expect(governTx(keel, keel.risk, encode(keel, WAD, 10n * WAD)))
        .to.emit(keel.risk, "ConfidenceSet")
        .withArgs(WAD, 10n * WAD);
      expect([...(await keel.risk.confidence())]).to.deep.equal([WAD, 10n * WAD]);
    });

    it("test_setConfidence_rangeChecks: range-checks zm in [1, 10] and zm < zi ≤ 10, rejects no-ops and strangers", async () => {
      const keel = await loadKeel();
      const [, stranger] = await ethers.getSigners();
      const zm = parseUnits("2.75", 18);
      const zi = parseUnits("3.66", 18);
      const bad: [string, bigint, bigint, bigint][] = [
        ["zMaintenance", WAD - 1n, zi, WAD - 1n],
        ["zMaintenance", 10n * WAD + 1n, 11n * WAD, 10n * WAD + 1n],
        ["zInitial", zm, zm, zm],
        ["zInitial", zm, zm - 1n, zm - 1n],
        ["zInitial", zm, 10n * WAD + 1n, 10n * WAD + 1n],
      ];
      for (const [field, a, b, value] of bad) {
        await expect(governTx(keel, keel.risk, encode(keel, a, b)), `${field} ${a} ${b}`)
          .to.be.revertedWithCustomError(keel.risk, "InvalidParameter")
          .withArgs(name(field), value);
      }
      await expect(govern(keel, keel.risk, encode(keel, zm, zi))).to.be.revertedWithCustomError(keel.risk, "NoChange");
      await expect(keel.risk.connect(stranger!).setConfidence(zm, zi + 1n))
        .to.be.revertedWithCustomError(keel.risk, "AccessManagedUnauthorized")
        .withArgs(stranger!.address);
    });

    it("test_setConfidence_movesHF: raising zm moves HF exactly as the mirror says, HFi unchanged", async () => {
      const keel = await loadKeel();
      const [, alice] = await ethers.getSigners();
      const weth = await addressOf(keel, "WETH");
      const id = await openPosition(keel, alice!, 0, weth);
      await fund(keel, alice!, id, "WETH", parseUnits("10", 18));
      await (await keel.engine.connect(alice!).borrow(id, parseUnits("20000", 18), alice!.address)).wait();
      await govern(keel, keel.risk, encode(keel, parseUnits("3", 18), parseUnits("3.66", 18)));
      await refreshFeeds(keel);
      const after = await expectHealthAgrees(keel, id);
      const debt = await keel.engine.debtOf(id);
      // Lm = 3 × 5% × 30,000 = 4,500; Li = 3.66 × 5% × 30,000 = 5,490.
      expect(after.hf).to.equal(m.healthFactorDown(parseUnits("30000", 18), parseUnits("4500", 18), debt));
      expect(after.hfInitial).to.equal(m.healthFactorDown(parseUnits("30000", 18), parseUnits("5490", 18), debt));
    });
  });

  describe("listAsset", () => {
    /** A fresh 24-decimal mock token at $2 with a listing for it carrying `correlations`. */
    async function newListing(
      keel: Keel,
      correlations: bigint[],
    ): Promise<{ token: string; listing: IVaultEngine.ListingStruct }> {
      const [deployer] = await ethers.getSigners();
      const token = await new MockERC20__factory(deployer).deploy("Twenty-four", "T24", 24);
      const feed = await new MockAggregator__factory(deployer).deploy(8, 2n * 10n ** 8n);
      const listing: IVaultEngine.ListingStruct = {
        engine: { stabilityFee: m.RAY, debtCeiling: parseUnits("1000000", 18), supplyCap: parseUnits("1000000", 24) },
        feed: {
          primary: {
            aggregator: await feed.getAddress(),
            heartbeat: 86_400 * 7,
            decimals: 8,
            minAnswer: await feed.minAnswer(),
            maxAnswer: await feed.maxAnswer(),
          },
          base: { aggregator: ZeroAddress, heartbeat: 0, decimals: 0, minAnswer: 0, maxAnswer: 0 },
        },
        risk: {
          sigmaMin: parseUnits("0.08", 18),
          sigmaMax: parseUnits("0.3", 18),
          maintenanceHaircut: parseUnits("0.12", 18),
          initialHaircut: parseUnits("0.2", 18),
          liquidationPenalty: parseUnits("0.07", 18), // (1.07)(0.88) = 0.9416 ≤ criticalHF 0.95
          minLiquidationPenalty: parseUnits("0.07", 18),
          fullPenaltyHF: WAD,
        },
        correlations,
      };
      return { token: await token.getAddress(), listing };
    }

    it("test_listAsset_onlyEngine: is callable by the engine only", async () => {
      const keel = await loadKeel();
      const [deployer, stranger] = await ethers.getSigners();
      const { token, listing } = await newListing(keel, [0n, 0n, 0n, 0n]);
      for (const caller of [stranger!, deployer!]) {
        await expect(keel.risk.connect(caller).listAsset(token, listing.risk, listing.correlations))
          .to.be.revertedWithCustomError(keel.risk, "OnlyEngine")
          .withArgs(caller.address);
      }
    });

    it("test_listAsset_correlationCount: needs one correlation per listed asset: CorrelationCountMismatch(expected, given)", async () => {
      const keel = await loadKeel();
      for (const given of [0, 3, 5]) {
        const { token, listing } = await newListing(keel, new Array<bigint>(given).fill(WAD / 2n));
        const data = keel.engine.interface.encodeFunctionData("listAsset", [token, listing]);
        await expect(governTx(keel, keel.engine, data))
          .to.be.revertedWithCustomError(keel.risk, "CorrelationCountMismatch")
          .withArgs(4n, BigInt(given));
      }
    });

    it("test_listAsset_validates: validates the listing's risk parameters and correlations", async () => {
      const keel = await loadKeel();
      const { token, listing } = await newListing(keel, [0n, WAD + 1n, 0n, 0n]);
      const data = (l: IVaultEngine.ListingStruct): string =>
        keel.engine.interface.encodeFunctionData("listAsset", [token, l]);
      await expect(governTx(keel, keel.engine, data(listing)))
        .to.be.revertedWithCustomError(keel.risk, "InvalidParameter")
        .withArgs(name("correlation"), WAD + 1n);
      const badRisk = { ...listing, correlations: [0n, 0n, 0n, 0n], risk: { ...listing.risk, sigmaMin: 0n } };
      await expect(governTx(keel, keel.engine, data(badRisk)))
        .to.be.revertedWithCustomError(keel.risk, "InvalidParameter")
        .withArgs(name("sigmaMin"), 0n);
    });

    it("test_listAsset_24Decimals: lists a 24-decimal asset: events, parameters, correlations, and assess equal to the mirror", async () => {
      const keel = await loadKeel();
      const addresses = await Promise.all(SYMBOLS.map((s) => addressOf(keel, s)));
      const rhos = [parseUnits("0.3", 18), parseUnits("0.2", 18), 0n, parseUnits("0.35", 18)];
      const { token, listing } = await newListing(keel, rhos);
      const tx = governTx(keel, keel.engine, keel.engine.interface.encodeFunctionData("listAsset", [token, listing]));
      await expect(tx).to.emit(keel.risk, "AssetRiskSet").withArgs(token, tuple(listing.risk as RiskParams));
      for (const [i, a] of addresses.entries()) {
        await expect(tx).to.emit(keel.risk, "CorrelationSet").withArgs(token, a, rhos[i]!);
        expect(await keel.risk.correlation(a, token)).to.equal(rhos[i]!);
      }
      await refreshFeeds(keel);
      expect([...(await keel.risk.listedAssets())]).to.deep.equal([...addresses, token]);
      expect(await keel.risk.unitOf(token)).to.equal(10n ** 24n);
      expect(await keel.risk.sigma(token)).to.equal(parseUnits("0.08", 18));
      const amount = parseUnits("1234.567890123456789012345678", 24);
      // $2 × 1234.567890123456789012 (24 → 18 decimals rounds down), Lm = max(22%, 12%), Li = max(29.28%, 20%).
      const single = await keel.risk.assess([token], [amount]);
      expectValuation(single, await expectedValuation(keel, [token], [amount]), "T24");
      expect(single.value).to.equal(parseUnits("2469.135780246913578024", 18));
      const basket = [...addresses, token];
      const amounts = [parseUnits("1.5", 18), parseUnits("0.02", 8), parseUnits("999.99", 6), 10n ** 17n, amount];
      const got = await keel.risk.assess(basket, amounts);
      expectValuation(got, await expectedValuation(keel, basket, amounts), "basket");
    });
  });
});
