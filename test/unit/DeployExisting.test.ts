import { expect } from "chai";
import { ethers } from "hardhat";
import { deployKeel, localConfig } from "../../deploy";
import { ConfigError } from "../../src/client/config";
import { withExistingAssets, type ExistingAssets } from "../../deploy/networks/mainnet";
import { MockAggregator__factory, MockERC20__factory } from "../../typechain-types";

/** Tokens and feeds already on chain, as a fork has them: deployed here as plain mocks. */
async function existingAssets(): Promise<ExistingAssets> {
  const [deployer] = await ethers.getSigners();
  const spec = { WETH: [18, 3_000n], WBTC: [8, 60_000n], USDC: [6, 1n], wstETH: [18, 3_500n] } as const;
  const out: ExistingAssets = {};
  for (const [symbol, [decimals, usd]] of Object.entries(spec)) {
    const token = await new MockERC20__factory(deployer).deploy(symbol, symbol, decimals);
    const feed = await new MockAggregator__factory(deployer).deploy(8, usd * 10n ** 8n);
    out[symbol] = { token: await token.getAddress(), feed: await feed.getAddress(), heartbeat: "1h" };
  }
  return out;
}

describe("deployKeel against existing tokens and feeds", () => {
  it("test_deployKeel_existingTokens: lists the given tokens with the given feeds instead of deploying mocks", async () => {
    const [deployer] = await ethers.getSigners();
    const existing = await existingAssets();
    const keel = await deployKeel(deployer!, withExistingAssets(localConfig, existing));
    for (const [symbol, e] of Object.entries(existing)) {
      expect(await keel.assets[symbol]!.token.getAddress()).to.equal(e.token);
      expect(await keel.assets[symbol]!.feed.getAddress()).to.equal(e.feed);
    }
    expect(await keel.oracle.getPrice(existing.WBTC!.token)).to.equal(60_000n * 10n ** 18n);
  });

  it("test_deployKeel_tokenWithoutCode: refuses, before sending anything, a token address without code", async () => {
    const [deployer] = await ethers.getSigners();
    const existing = await existingAssets();
    const nonce = await deployer!.getNonce();
    const missing = "0x000000000000000000000000000000000000dEaD";
    const config = withExistingAssets(localConfig, { ...existing, WBTC: { ...existing.WBTC!, token: missing } });
    await expect(deployKeel(deployer!, config)).to.be.rejectedWith(ConfigError, `config.assets.WBTC.token: no contract at ${missing}`);
    expect(await deployer!.getNonce()).to.equal(nonce);
  });

  it("test_deployKeel_decimalsMismatch: refuses a token whose decimals differ from the config's", async () => {
    const [deployer] = await ethers.getSigners();
    const existing = await existingAssets();
    const config = withExistingAssets(localConfig, { ...existing, USDC: { ...existing.USDC!, decimals: 18 } });
    await expect(deployKeel(deployer!, config)).to.be.rejectedWith(
      ConfigError,
      `config.assets.USDC.decimals: the config says 18, the token at ${existing.USDC!.token} has 6`,
    );
  });

  it("test_deployKeel_notAnAggregator: refuses a feed that is not a Chainlink aggregator", async () => {
    const [deployer] = await ethers.getSigners();
    const existing = await existingAssets();
    const notAFeed = existing.WETH!.token;
    const config = withExistingAssets(localConfig, { ...existing, WETH: { ...existing.WETH!, feed: notAFeed } });
    await expect(deployKeel(deployer!, config)).to.be.rejectedWith(
      ConfigError,
      `config.assets.WETH.price.feed: ${notAFeed} does not answer latestRoundData() like a Chainlink feed`,
    );
  });
});

describe("the mainnet fork config", () => {
  it("test_mainnetConfig_existingAssets: parses, and points every asset at an existing token and feed (no mocks)", async () => {
    const { mainnetForkConfig } = await import("../../deploy/networks/mainnet");
    const { parseKeelConfig } = await import("../../src/client/config");
    const parsed = parseKeelConfig(mainnetForkConfig);
    expect(parsed.assets.map((a) => a.symbol)).to.deep.equal(["WETH", "WBTC", "USDC", "wstETH"]);
    for (const a of parsed.assets) {
      expect(a.token, a.symbol).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(a.price.feed, a.symbol).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(a.price.base, a.symbol).to.equal(undefined);
    }
    expect(parsed.assets.find((a) => a.symbol === "USDC")!.decimals).to.equal(6);
  });
});
