import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { MaxUint256 } from "ethers";
import type { Keel } from "../../deploy";
import { refreshFeeds, seedAmm } from "../../dev/localMarket";
import { evaluate, toSnapshot } from "../../src/keeper/evaluate";
import { PositionIndex } from "../../src/keeper/positionIndex";
import { Rpc } from "../../src/keeper/rpc";
import type { Health } from "../../src/keeper/sweep";
import { HealthSweeper } from "../../src/keeper/sweep";
import { loadKeel } from "../helpers/fixtures";
import { movePrice, type Node, openSamplePositions } from "./harness";

/** The keeper's two ways of reading health at one block: local from events + Lens.market, and Lens.healthScan. */
async function bothWays(keel: Keel): Promise<{ local: Map<bigint, Health>; chain: Map<bigint, Health> }> {
  const rpc = new Rpc(ethers.provider, 31337);
  const index = new PositionIndex(rpc, {
    chainId: 31337,
    engine: keel.engine.target as string,
    deploymentBlock: keel.deploymentBlock,
    confirmations: 0,
    logChunk: 1_000,
  });
  const head = await ethers.provider.getBlockNumber();
  await index.sync(head);
  const market = toSnapshot(await keel.lens.market({ blockTag: head }));
  const local = new Map<bigint, Health>();
  for (const p of index.positions()) {
    const h = evaluate(p, market);
    if (h) local.set(p.id, h);
  }
  const chain = await new HealthSweeper(rpc, keel.lens, 12_000_000, 2).sweep(index.positions(), head);
  return { local, chain };
}

async function book(): Promise<Keel> {
  const keel = await loadKeel();
  const [deployer] = await ethers.getSigners();
  await seedAmm(keel, deployer!, { WETH: "5000", WBTC: "250", USDC: "10000000", wstETH: "4000" });
  await openSamplePositions(keel, { provider: ethers.provider } as unknown as Node, { positions: 240, seed: 11n });
  return keel;
}

describe("keeper: local evaluation equals Lens.healthScan", function () {
  this.timeout(300_000);

  it("test_evaluate_equalsHealthScan: for every position of a mixed book, after accrual, σ changes, partial withdrawals, repayments and liquidations", async () => {
    const keel = await book();
    let { local, chain } = await bothWays(keel);
    expect(local.size).to.equal(241); // the book and the AMM seeding position
    expect(local).to.deep.equal(chain);

    // A month of accrual, σ moving on a shock, some owners acting.
    await time.increase(30 * 86_400);
    await refreshFeeds(keel);
    await (await keel.vol.pokeAll()).wait();
    await time.increase(3_600);
    await movePrice(keel, "WETH", -12);
    await refreshFeeds(keel);
    await (await keel.vol.pokeAll()).wait();
    await time.increase(7_200);
    await refreshFeeds(keel);
    const signers = await ethers.getSigners();
    const ownerOf = async (id: bigint): Promise<(typeof signers)[number]> => {
      const owner = await keel.nft.ownerOf(id);
      return signers.find((s) => s.address === owner)!;
    };
    const [o1, o4] = [await ownerOf(2n), await ownerOf(5n)];
    await (await keel.engine.connect(o1).repay(2n, 10n ** 20n)).wait();
    await (await keel.engine.connect(o4).repay(5n, MaxUint256)).wait();
    ({ local, chain } = await bothWays(keel));
    expect(local).to.deep.equal(chain);

    // A crash and a liquidation.
    await movePrice(keel, "WETH", -30);
    await movePrice(keel, "WBTC", -25);
    ({ local, chain } = await bothWays(keel));
    expect(local).to.deep.equal(chain);
    const worst = [...chain.values()].filter((h) => h.priced).sort((a, b) => (a.hf < b.hf ? -1 : 1))[0]!;
    const [liquidator] = await ethers.getSigners();
    await (await keel.flashLiquidator.connect(liquidator!).liquidate(worst.id, keel.assets.WETH!.token.target, MaxUint256, keel.amm.target, 0n)).wait().catch(() => undefined);
    ({ local, chain } = await bothWays(keel));
    expect(local).to.deep.equal(chain);
  });

  // The 1,000-position crash test found a 500-id healthScan priced under the gas budget by the estimate that needed
  // more than the node's eth_call cap; it failed without revert data and the keeper pass died.
  it("test_sweep_rangeOverItsGas_bisected: a range costing more than its call's gas is split until each half fits", async () => {
    const keel = await book();
    const { chain } = await bothWays(keel);
    const rpc = new Rpc(ethers.provider, 31337);
    const head = await ethers.provider.getBlockNumber();
    const tight = new HealthSweeper(rpc, keel.lens, 2_000_000, 1, 2_000_000n);
    const split = await tight.scanRanges([{ from: 1n, to: await keel.engine.lastPositionId() }], head);
    expect(split).to.deep.equal(chain);
    expect(tight.calls).to.be.greaterThan(4); // 241 positions at ~20k gas each do not fit 2M in fewer than 4 calls
  });

  it("test_evaluate_failedFeed_unpriced: marks the same positions unpriced when a feed fails", async () => {
    const keel = await book();
    await time.increase(3_601);
    // Refresh every feed but WBTC's.
    for (const s of ["WETH", "USDC", "wstETH"]) {
      const feed = keel.assets[s]!.feed;
      await (await feed.updateAnswer(await feed.latestAnswer())).wait();
    }
    const { local, chain } = await bothWays(keel);
    expect(local).to.deep.equal(chain);
    expect([...chain.values()].some((h) => !h.priced)).to.equal(true);
    expect([...chain.values()].some((h) => h.priced)).to.equal(true);
  });
});
