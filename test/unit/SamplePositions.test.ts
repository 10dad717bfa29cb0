import { expect } from "chai";
import { ethers } from "hardhat";
import { deployKeel, localConfig, type RawKeelConfig } from "../../deploy";
import type { DevProvider } from "../../dev/accounts";
import { movePrice } from "../../dev/localMarket";
import { openSamplePositions, openPositions } from "../../dev/samplePositions";
import { loadKeel } from "../helpers/fixtures";

const node = { provider: ethers.provider as unknown as DevProvider };

/** The local config without wstETH, as a `npm run node -- --config` file might list. */
const withoutWstEth: RawKeelConfig = {
  ...localConfig,
  assets: localConfig.assets.filter((a) => a.symbol !== "wstETH"),
  correlations: Object.fromEntries(Object.entries(localConfig.correlations).filter(([pair]) => !pair.includes("wstETH"))),
};

describe("dev: sample positions and local prices", () => {
  it("test_openBook_unlistedAsset: a deployment without wstETH is refused by name before anything is funded or opened", async () => {
    const [deployer] = await ethers.getSigners();
    const keel = await deployKeel(deployer!, withoutWstEth);
    const before = await keel.engine.lastPositionId();
    await expect(openSamplePositions(keel, node, { positions: 3 })).to.be.rejectedWith(
      Error,
      "openSamplePositions: the deployment lists no wstETH (it lists WETH, WBTC, USDC)",
    );
    await expect(openPositions(keel, node, [{ assets: ["WETH"], amounts: [10n ** 18n], debt: 0n }])).to.be.rejectedWith(
      Error,
      "openPositions: the deployment lists no wstETH (it lists WETH, WBTC, USDC)",
    );
    expect(await keel.engine.lastPositionId()).to.equal(before);
  });

  it("test_openPositions_isolatedSpecWithoutAsset: a spec with no asset or no amount, an unlisted asset or no owners is refused, nothing sent", async () => {
    const keel = await loadKeel();
    const before = await keel.engine.lastPositionId();
    await expect(openPositions(keel, node, [{ assets: [], amounts: [], debt: 1n }])).to.be.rejectedWith(
      Error,
      "openPositions: spec 0 is isolated and needs one asset and one amount (got 0 and 0)",
    );
    await expect(openPositions(keel, node, [{ assets: ["DOGE"], amounts: [1n], debt: 1n }])).to.be.rejectedWith(
      Error,
      "openPositions: the deployment lists no DOGE (it lists WETH, WBTC, USDC, wstETH)",
    );
    await expect(openPositions(keel, node, [{ assets: ["WETH"], amounts: [1n], debt: 0n }], { owners: 0 })).to.be.rejectedWith(
      Error,
      "openPositions: options.owners is 0; no account to hold the positions",
    );
    expect(await keel.engine.lastPositionId()).to.equal(before);
  });

  it("test_movePrice_unknownAsset: a symbol the deployment does not list is refused by name", async () => {
    const keel = await loadKeel();
    await expect(movePrice(keel, "DOGE", -10)).to.be.rejectedWith(Error, "movePrice: unknown asset DOGE");
  });
});
