import { expect } from "chai";
import { ethers, network } from "hardhat";
import { installStepClock } from "../../scenario/stepClock";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const latest = async (): Promise<number> => (await ethers.provider.getBlock("latest"))!.timestamp;

describe("Stress: the replay's clock", function () {
  it("test_stepClock_wallClockIgnored: blocks one second apart and the pending block at the next second, however long the wait (the demo's profit moved 0.08 kUSD between runs)", async function () {
    this.timeout(30_000);
    const [a] = await ethers.getSigners();
    const pay = async (): Promise<void> => void (await (await a!.sendTransaction({ to: a!.address, value: 1n })).wait());
    const uninstall = installStepClock(network.provider);
    let t0: number;
    try {
      await pay();
      t0 = await latest();
      await sleep(2_100);
      await pay();
      expect(await latest()).to.equal(t0 + 1);
      await sleep(1_100);
      await ethers.provider.estimateGas({ to: a!.address, value: 1n });
      const pending = (await ethers.provider.send("eth_getBlockByNumber", ["pending", false])) as { timestamp: string };
      expect(Number(pending.timestamp)).to.equal(t0 + 2);
      // A time the replay sets wins.
      await ethers.provider.send("evm_setNextBlockTimestamp", [t0 + 100]);
      await pay();
      expect(await latest()).to.equal(t0 + 100);
    } finally {
      uninstall();
    }
    // Taken off, the wall clock is back: two seconds later the block is at least two seconds on.
    await sleep(2_100);
    await pay();
    expect(await latest()).to.be.at.least(t0 + 102);
  });
});
