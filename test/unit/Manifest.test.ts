import { expect } from "chai";
import { ethers } from "hardhat";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeManifest } from "../../deploy/manifest";
import { connectKeel, ManifestError, readManifest, type Manifest } from "../../src/client/manifest";
import { loadKeel } from "../helpers/fixtures";

const tmp = (): string => mkdtempSync(join(tmpdir(), "keel-manifest-"));

function expectManifestError(f: () => unknown, message: string): void {
  expect(f).to.throw(ManifestError, message);
}

describe("deployment manifest", () => {
  it("test_manifest_roundTrip: writes chainId, every contract with its ABI, and every asset; reads back equal", async () => {
    const keel = await loadKeel();
    const path = await writeManifest(keel, "hardhat", tmp());
    const m = readManifest(path);
    expect(m.chainId).to.equal(31337);
    expect(m.deploymentBlock).to.equal(keel.deploymentBlock);
    expect(m.contracts.engine.address).to.equal(keel.engine.target);
    expect(m.contracts.vol.address).to.equal(keel.vol.target);
    expect(m.contracts.lens.abi.length).to.be.greaterThan(5);
    expect(Object.keys(m.assets)).to.deep.equal(["WETH", "WBTC", "USDC", "wstETH"]);
    expect(m.assets.WBTC).to.deep.equal({
      token: keel.assets.WBTC!.token.target,
      feed: keel.assets.WBTC!.feed.target,
      decimals: 8,
    });
    expect(m.assets.wstETH!.baseFeed).to.equal(keel.assets.WETH!.feed.target);
    expect(JSON.parse(readFileSync(path, "utf8"))).to.deep.equal(m);
  });

  it("test_connectKeel_typedHandles: connectKeel gives working typed handles", async () => {
    const keel = await loadKeel();
    const m = readManifest(await writeManifest(keel, "hardhat", tmp()));
    const c = await connectKeel(m, ethers.provider);
    expect(await c.engine.lastPositionId()).to.equal(await keel.engine.lastPositionId());
    expect(await c.oracle.getPrice(m.assets.WETH!.token)).to.equal(3000n * 10n ** 18n);
    expect(await c.assets.USDC!.token.decimals()).to.equal(6n);
  });

  it("test_connectKeel_wrongChainOrNoCode: refuses a manifest for another chain, or one whose engine has no code", async () => {
    const keel = await loadKeel();
    const m = readManifest(await writeManifest(keel, "hardhat", tmp()));
    const otherChain: Manifest = { ...m, chainId: 1 };
    await expect(connectKeel(otherChain, ethers.provider)).to.be.rejectedWith(
      ManifestError,
      "connectKeel: the RPC is chain 31337, the manifest is for chain 1",
    );
    const noCode: Manifest = {
      ...m,
      contracts: { ...m.contracts, engine: { ...m.contracts.engine, address: ethers.Wallet.createRandom().address } },
    };
    await expect(connectKeel(noCode, ethers.provider)).to.be.rejectedWith(ManifestError, "no contract at the engine address");
  });

  it("test_readManifest_invalid_namesField: names the file and the first bad field of an invalid manifest", async () => {
    const dir = tmp();
    const missing = join(dir, "missing.json");
    expectManifestError(() => readManifest(missing), `${missing}: cannot read the deployment manifest`);
    const garbled = join(dir, "garbled.json");
    writeFileSync(garbled, "{ not json");
    expectManifestError(() => readManifest(garbled), `${garbled}: cannot read the deployment manifest`);
    const keel = await loadKeel();
    const good = JSON.parse(readFileSync(await writeManifest(keel, "hardhat", dir), "utf8")) as Manifest;
    const badAddress = join(dir, "bad.json");
    writeFileSync(badAddress, JSON.stringify({ ...good, contracts: { ...good.contracts, lens: { address: "0x12", abi: [] } } }));
    expectManifestError(() => readManifest(badAddress), `${badAddress}: contracts.lens.address: not an address`);
    const noVol = join(dir, "novol.json");
    const { vol: _vol, ...rest } = good.contracts;
    writeFileSync(noVol, JSON.stringify({ ...good, contracts: rest }));
    expectManifestError(() => readManifest(noVol), `${noVol}: contracts.vol: Required`);
  });

  it("test_manifestPath_badNetworkName: refuses a network name that is not a plain file name", async () => {
    const keel = await loadKeel();
    await expect(writeManifest(keel, "../etc", tmp())).to.be.rejectedWith(ManifestError, 'bad network name "../etc"');
  });
});
