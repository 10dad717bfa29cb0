import { expect } from "chai";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { setTimeout as sleep } from "node:timers/promises";
import { loadKeel } from "../helpers/fixtures";

describe("Fixtures", () => {
  it("test_loadKeel_clockStartsAtFixture: a restored fixture starts one second after its block, however long the run has taken", async () => {
    await loadKeel();
    await mine();
    const firstBlockAfterFixture = await time.latest();
    await sleep(2_500); // the wall clock moves on, as it does over a long run; the snapshot's clock must not follow it
    const keel = await loadKeel();
    await mine();
    expect(await time.latest()).to.equal(firstBlockAfterFixture);
    const [, , , updatedAt] = await keel.assets.WETH!.feed.latestRoundData();
    expect(BigInt(await time.latest()) - updatedAt).to.be.lessThan(60n); // the fixture's prices are as fresh as it made them
  });
});
