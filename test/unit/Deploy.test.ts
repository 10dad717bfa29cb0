import { expect } from "chai";
import { ethers } from "hardhat";
import type { BaseContract } from "ethers";
import { ConfigError, deployKeel, localConfig, parseKeelConfig, ROLES } from "../../deploy";
import { governedAddresses, permissions } from "../../deploy/governance";
import { loadKeel } from "../helpers/fixtures";

describe("deployKeel", () => {
  it("test_deployKeel_listsAssets: lists the four local assets with live prices", async () => {
    const keel = await loadKeel();
    for (const symbol of ["WETH", "WBTC", "USDC", "wstETH"]) {
      const { token } = keel.assets[symbol]!;
      const [, , listed] = await keel.engine.collateralConfig(await token.getAddress());
      expect(listed).to.equal(true);
    }
    expect(await keel.oracle.getPrice(await keel.assets.WETH!.token.getAddress())).to.equal(3000n * 10n ** 18n);
  });

  it("test_deployKeel_wiring: wires every contract to the others at their deployed addresses", async () => {
    const keel = await loadKeel();
    const [engine, risk, oracle, vol, kusd, nft, surplus] = [
      keel.engine,
      keel.risk,
      keel.oracle,
      keel.vol,
      keel.kusd,
      keel.nft,
      keel.surplus,
    ].map((c) => c.target);
    expect([await keel.engine.kusd(), await keel.engine.nft(), await keel.engine.risk()]).to.deep.equal([kusd, nft, risk]);
    expect([await keel.engine.oracle(), await keel.engine.surplusBuffer()]).to.deep.equal([oracle, surplus]);
    expect([await keel.risk.engine(), await keel.risk.oracle(), await keel.risk.volatility()]).to.deep.equal([
      engine,
      oracle,
      vol,
    ]);
    expect([await keel.vol.risk(), await keel.vol.oracle()]).to.deep.equal([risk, oracle]);
    expect([await keel.kusd.engine(), await keel.kusd.surplusBuffer(), await keel.nft.engine()]).to.deep.equal([
      engine,
      surplus,
      engine,
    ]);
    expect(await keel.surplus.kusd()).to.equal(kusd);
    expect([await keel.lens.engine(), await keel.lens.risk(), await keel.lens.oracle()]).to.deep.equal([engine, risk, oracle]);
    expect([await keel.flashLiquidator.engine(), await keel.flashLiquidator.risk()]).to.deep.equal([engine, risk]);
    expect([await keel.manager.engine(), await keel.manager.kusd()]).to.deep.equal([engine, kusd]);
  });

  it("test_deployKeel_volatilityParams: sets the volatility oracle's parameters from the config", async () => {
    const keel = await loadKeel();
    const p = await keel.vol.params();
    const v = keel.config.volatility;
    expect([p.horizon, p.halfLife, p.minInterval, p.maxStep]).to.deep.equal([
      BigInt(v.horizon),
      BigInt(v.halfLife),
      BigInt(v.minInterval),
      v.maxStep,
    ]);
  });

  it("test_deployKeel_roles: assigns every governed function to its role; the deployer keeps only GUARDIAN (the local default)", async () => {
    const keel = await loadKeel();
    const contracts: BaseContract[] = [keel.engine, keel.risk, keel.vol, keel.oracle, keel.kusd, keel.surplus, keel.psm, keel.savings];
    for (const p of permissions(governedAddresses(keel))) {
      const c = contracts.find((x) => x.target === p.target)!;
      for (const f of p.functions) {
        const selector = c.interface.getFunction(f)!.selector;
        expect(await keel.accessManager.getTargetFunctionRole(p.target, selector), f).to.equal(p.role);
      }
    }
    const [deployer] = await ethers.getSigners();
    for (const role of Object.values(ROLES)) {
      const [member] = await keel.accessManager.hasRole(role, deployer!.address);
      expect(member, `deployer holds role ${role}`).to.equal(role === ROLES.GUARDIAN);
    }
    for (const role of [ROLES.ADMIN, ROLES.RISK, ROLES.ORACLE]) {
      const [member, delay] = await keel.accessManager.hasRole(role, keel.timelock.target as string);
      expect([member, delay]).to.deep.equal([true, 0n]);
    }
  });

  it("test_deployKeel_unlistedWrappedNative: a hand-built KeelConfig whose wrappedNative is not an asset gets a ConfigError naming it", async () => {
    const [deployer] = await ethers.getSigners();
    const config = { ...parseKeelConfig(localConfig), wrappedNative: "WMATIC" };
    await expect(deployKeel(deployer!, config)).to.be.rejectedWith(ConfigError, 'wrappedNative: "WMATIC" is not an asset');
  });

  it("test_deployKeel_unlistedPriceBase: a hand-built KeelConfig pricing an asset in an unlisted base gets a ConfigError naming it", async () => {
    const [deployer] = await ethers.getSigners();
    const parsed = parseKeelConfig(localConfig);
    const config = {
      ...parsed,
      assets: parsed.assets.map((a) => (a.symbol === "wstETH" ? { ...a, price: { ...a.price, base: "stETH" } } : a)),
    };
    await expect(deployKeel(deployer!, config)).to.be.rejectedWith(
      ConfigError,
      'assets.wstETH.price.base: "stETH" must be an asset listed before wstETH',
    );
  });
});
