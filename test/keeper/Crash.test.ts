import { expect } from "chai";
import type { Keel } from "../../deploy";
import { loadKeeperConfig, type KeeperConfig } from "../../src/keeper/config";
import type { PassReport } from "../../src/keeper/keeper";
import { createLogger } from "../../src/keeper/log";
import { startKeeper } from "../../src/keeper/main";
import { MarginState } from "../../src/math";
import { checkInvariants } from "../helpers/invariant";
import { deployOnNode, devWallet, ENGINES, movePrice, type Node, openSamplePositions, refreshFeeds, startLocalNode } from "./harness";

const POSITIONS = 1000;

/** engine.stateOf of every id, in parallel chunks. */
async function states(keel: Keel, ids: readonly bigint[]): Promise<Map<bigint, number>> {
  const out = new Map<bigint, number>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const res = await Promise.all(chunk.map((id) => keel.engine.stateOf(id).catch(() => undefined)));
    chunk.forEach((id, j) => res[j] && out.set(id, Number(res[j]![0])));
  }
  return out;
}

const count = (m: Map<bigint, number>, s: number): number => [...m.values()].filter((x) => x === s).length;

async function keeperPass(config: KeeperConfig): Promise<PassReport[]> {
  return (await startKeeper(config, createLogger({ level: process.env.KEEPER_TEST_LOG ?? "warn" }))).done;
}

// The same crash on both local nodes the project supports: `hardhat node` and anvil (from the npm package).
for (const engine of ENGINES) {
  describe(`keeper: a crash over 1,000 positions (${engine})`, function () {
    this.timeout(900_000);
    let node: Node;

    before(async () => {
      node = await startLocalNode(engine);
    });
    after(async () => {
      await node?.stop();
    });

    it("test_crash_liquidatesEverything: margin-calls, waits out the grace period, liquidates every Liquidatable position and leaves none", async () => {
      const { keel, manifest, deployer } = await deployOnNode(node);
      const ids = await openSamplePositions(keel, node, { positions: POSITIONS });
      const keeper = devWallet(9, node.provider);
      const config = loadKeeperConfig(
        { rpc: node.url, deployment: manifest, once: true, checkpoint: `${manifest}.checkpoint.json` },
        { KEEPER_PRIVATE_KEY: keeper.privateKey },
      );
      config.confirmations = 0;
      config.keeper.liquidation = "flash";

      // Nothing to do before the crash.
      const calm = await keeperPass(config);
      expect(calm).to.have.length(1);
      expect(calm[0]!.indexed).to.equal(POSITIONS + 1); // + the AMM seeding position
      expect([calm[0]!.marginCalls, calm[0]!.liquidations, calm[0]!.callable, calm[0]!.liquidatable]).to.deep.equal([0, 0, 0, 0]);

      await movePrice(keel, "WETH", -25);
      await movePrice(keel, "WBTC", -20);
      const before = await states(keel, ids);
      const callable = count(before, MarginState.Callable);
      const liquidatable = count(before, MarginState.Liquidatable);
      expect(callable).to.be.greaterThan(20);
      expect(liquidatable).to.be.greaterThan(10);

      // First pass: every Callable position is called, every Liquidatable (under criticalHF) one liquidated.
      const first = await keeperPass(config);
      expect(first.reduce((n, r) => n + r.liquidations, 0)).to.be.gte(liquidatable);
      const afterFirst = await states(keel, ids);
      expect(count(afterFirst, MarginState.Callable)).to.equal(0);
      expect(count(afterFirst, MarginState.Liquidatable)).to.equal(0);
      // A position too large for the AMM's depth is liquidated in parts over the run's passes; a part that lifts it
      // over criticalHF but not to 1 leaves it Callable, and the next pass calls it: the only calls beyond `callable`.
      const liftedThenCalled = ids.filter((id) => before.get(id) === MarginState.Liquidatable && afterFirst.get(id) === MarginState.Called).length;
      expect(first.reduce((n, r) => n + r.marginCalls, 0)).to.equal(callable + liftedThenCalled);
      const called = count(afterFirst, MarginState.Called);
      expect(called).to.be.greaterThan(0);

      // The grace period lapses; the feeds keep their heartbeat.
      const grace = (await keel.engine.liquidationParams()).gracePeriod;
      await node.provider.send("evm_increaseTime", [Number(grace) + 1]);
      await node.provider.send("evm_mine", []);
      await refreshFeeds(keel);
      const lapsed = await states(keel, ids);
      expect(count(lapsed, MarginState.Liquidatable)).to.equal(called);

      const second = await keeperPass(config);
      const final = await states(keel, ids);
      expect(count(final, MarginState.Liquidatable)).to.equal(0);
      expect(count(final, MarginState.Callable)).to.equal(0);

      // Profit: the keeper's kUSD is exactly what FlashLiquidator paid it.
      const reports = [...first, ...second];
      const liquidations = reports.reduce((n, r) => n + r.liquidations, 0);
      const paid = await keel.flashLiquidator.queryFilter(keel.flashLiquidator.filters.BatchLiquidated(keeper.address));
      expect(paid.reduce((n, e) => n + Number(e.args.liquidated), 0)).to.equal(liquidations);
      const profit = paid.reduce((s, e) => s + e.args.profit, 0n);
      expect(await keel.kusd.balanceOf(keeper.address)).to.equal(profit);
      expect(profit).to.be.greaterThan(0n);
      expect(reports.every((r) => r.failed === 0)).to.equal(true);
      console.log(
        `      ${POSITIONS} positions: ${callable} called, ${liquidations} liquidations, profit ${profit / 10n ** 18n} kUSD`,
      );
      void deployer;
      await checkInvariants(keel);
    });
  });
}
