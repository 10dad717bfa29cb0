import { expect } from "chai";
import { ethers } from "hardhat";
import { encodeBytes32String, ZeroAddress } from "ethers";
import { EngineGovernance__factory, Liquidation__factory, VaultEngine__factory } from "../../typechain-types";
import { loadKeel } from "../helpers/fixtures";
import { governTx } from "../helpers/governance";
import type { Keel } from "../../deploy";

const WAD = 10n ** 18n;

interface Params {
  gracePeriod: bigint;
  criticalHF: bigint;
  targetHF: bigint;
  closeFactor: bigint;
  protocolShare: bigint;
}

async function current(keel: Keel): Promise<Params> {
  const p = await keel.engine.liquidationParams();
  return {
    gracePeriod: p.gracePeriod,
    criticalHF: p.criticalHF,
    targetHF: p.targetHF,
    closeFactor: p.closeFactor,
    protocolShare: p.protocolShare,
  };
}

const encode = (keel: Keel, p: Params): string => keel.engine.interface.encodeFunctionData("setLiquidationParams", [p]);

describe("VaultEngine liquidation parameters", () => {
  it("test_setLiquidationParams_success: emits LiquidationParamsSet and stores the terms", async () => {
    const keel = await loadKeel();
    const next = { ...(await current(keel)), gracePeriod: 3_600n, targetHF: 11n * WAD / 10n, closeFactor: WAD };
    await expect(governTx(keel, keel.engine, encode(keel, next)))
      .to.emit(keel.engine, "LiquidationParamsSet")
      .withArgs(Object.values(next));
    expect(await current(keel)).to.deep.equal(next);
  });

  it("test_setLiquidationParams_rangeChecks: InvalidParameter(name, value) for each field", async () => {
    const keel = await loadKeel();
    const base = await current(keel);
    const bad: [string, Partial<Params>, bigint][] = [
      ["gracePeriod", { gracePeriod: 7n * 86_400n + 1n }, 7n * 86_400n + 1n],
      ["criticalHF", { criticalHF: WAD / 2n - 1n }, WAD / 2n - 1n],
      ["criticalHF", { criticalHF: WAD }, WAD],
      ["targetHF", { targetHF: WAD }, WAD],
      ["targetHF", { targetHF: (3n * WAD) / 2n + 1n }, (3n * WAD) / 2n + 1n],
      ["closeFactor", { closeFactor: 0n }, 0n],
      ["closeFactor", { closeFactor: WAD + 1n }, WAD + 1n],
      ["protocolShare", { protocolShare: WAD + 1n }, WAD + 1n],
    ];
    for (const [name, change, value] of bad) {
      await expect(governTx(keel, keel.engine, encode(keel, { ...base, ...change })))
        .to.be.revertedWithCustomError(keel.engine, "InvalidParameter")
        .withArgs(encodeBytes32String(name), value);
    }
  });

  it("test_setLiquidationParams_criticalHFTooLow: refused while an asset's penalty needs more", async () => {
    const keel = await loadKeel();
    const weth = await keel.assets.WETH!.token.getAddress();
    // WETH: (1 + 5%)(1 − 10%) = 0.945, so a critical HF of 0.94 would let a partial liquidation lower HF.
    await expect(governTx(keel, keel.engine, encode(keel, { ...(await current(keel)), criticalHF: 94n * WAD / 100n })))
      .to.be.revertedWithCustomError(keel.risk, "PenaltyTooHighForCriticalHF")
      .withArgs(weth, 945n * WAD / 1000n, 94n * WAD / 100n);
  });

  it("test_setLiquidationParams_criticalHFAboveFullPenaltyHF: refused while an asset's bonus would reach ℓ under it", async () => {
    const keel = await loadKeel();
    const withFullPenaltyHF = async (symbol: string, fullPenaltyHF: bigint): Promise<void> => {
      const token = await keel.assets[symbol]!.token.getAddress();
      const { sigmaMin, sigmaMax, maintenanceHaircut, initialHaircut, liquidationPenalty, minLiquidationPenalty } =
        await keel.risk.assetRisk(token);
      const curve = { sigmaMin, sigmaMax, maintenanceHaircut, initialHaircut, liquidationPenalty, minLiquidationPenalty, fullPenaltyHF };
      await governTx(keel, keel.risk, keel.risk.interface.encodeFunctionData("setAssetRisk", [token, curve]));
    };
    const weth = await keel.assets.WETH!.token.getAddress();
    const wbtc = await keel.assets.WBTC!.token.getAddress();
    await withFullPenaltyHF("WETH", 96n * WAD / 100n);
    // With ℓ reached only at 0.96, a close-out step under a critical HF of 0.97 could pay less than the next one.
    await expect(governTx(keel, keel.engine, encode(keel, { ...(await current(keel)), criticalHF: 97n * WAD / 100n })))
      .to.be.revertedWithCustomError(keel.risk, "FullPenaltyHFBelowCriticalHF")
      .withArgs(weth, 96n * WAD / 100n, 97n * WAD / 100n);
    // The local curves of the other assets reach ℓ at the local critical HF, 0.95: 0.96 is refused for WBTC, listed next.
    await expect(governTx(keel, keel.engine, encode(keel, { ...(await current(keel)), criticalHF: 96n * WAD / 100n })))
      .to.be.revertedWithCustomError(keel.risk, "FullPenaltyHFBelowCriticalHF")
      .withArgs(wbtc, 95n * WAD / 100n, 96n * WAD / 100n);
    for (const symbol of ["WBTC", "USDC", "wstETH"]) await withFullPenaltyHF(symbol, 96n * WAD / 100n);
    await expect(governTx(keel, keel.engine, encode(keel, { ...(await current(keel)), criticalHF: 96n * WAD / 100n }))).to.emit(
      keel.engine,
      "LiquidationParamsSet",
    );
  });

  it("test_setLiquidationParams_noChange_and_unauthorized", async () => {
    const keel = await loadKeel();
    const [, stranger] = await ethers.getSigners();
    await expect(governTx(keel, keel.engine, encode(keel, await current(keel)))).to.be.revertedWithCustomError(
      keel.engine,
      "NoChange",
    );
    await expect(keel.engine.connect(stranger!).setLiquidationParams(await current(keel)))
      .to.be.revertedWithCustomError(keel.engine, "AccessManagedUnauthorized")
      .withArgs(stranger!.address);
  });

  it("test_constructor_zeroSurplusBuffer: an engine without a surplus buffer is refused", async () => {
    const keel = await loadKeel();
    const [deployer] = await ethers.getSigners();
    const [kusd, nft, risk, oracle] = await Promise.all([
      keel.kusd.getAddress(),
      keel.nft.getAddress(),
      keel.risk.getAddress(),
      keel.oracle.getAddress(),
    ]);
    const setup = {
      crossStabilityFee: 10n ** 27n,
      crossDebtCeiling: 0n,
      globalDebtCeiling: 0n,
      dust: 0n,
      liquidation: await current(keel),
    };
    const libraries = {
      "contracts/core/Liquidation.sol:Liquidation": await (await new Liquidation__factory(deployer!).deploy()).getAddress(),
      "contracts/core/EngineGovernance.sol:EngineGovernance": await (
        await new EngineGovernance__factory(deployer!).deploy()
      ).getAddress(),
    };
    const factory = new VaultEngine__factory(libraries, deployer!);
    const authority = await keel.accessManager.getAddress();
    await expect(factory.deploy(authority, kusd, nft, risk, oracle, ZeroAddress, setup)).to.be.revertedWithCustomError(
      factory,
      "ZeroAddress",
    );
  });
});
