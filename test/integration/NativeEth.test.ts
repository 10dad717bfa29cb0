/**
 * User flow: native ether through the PositionManager — open with ETH, add ETH, withdraw to ETH, close to ETH.
 * Ether balances are asserted exactly, net of each transaction's gas (gasUsed × gasPrice).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { MaxUint256 } from "ethers";
import * as m from "../../src/math";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { debtAfterBorrow, expectedHealth } from "../helpers/mirror";
import { expectManagerEmpty, gasCost, mirrorDebt, mirrorNewDebt, supplyKusd, units } from "../helpers/periphery";

const WAD = m.WAD;

describe("Native ether lifecycle", () => {
  it("test_lifecycle_nativeEth: opens with ETH, adds ETH, withdraws to ETH, closes to ETH with exact ether balances", async () => {
    const keel = await loadKeel();
    const [, alice, bob] = await ethers.getSigners();
    const user = alice!;
    const manager = keel.manager.connect(user);
    const managerAddress = await keel.manager.getAddress();
    const wethToken = keel.assets.WETH!.token;
    const weth = await wethToken.getAddress();
    const balance = (): Promise<bigint> => ethers.provider.getBalance(user.address);
    const step = async (): Promise<void> => {
      await expectManagerEmpty(keel);
      // Every WETH in this flow was wrapped from ether: the WETH contract holds exactly its supply in ether.
      expect(await ethers.provider.getBalance(weth)).to.equal(await wethToken.totalSupply());
      await checkInvariants(keel);
    };

    // 1. Open with 5 ETH and borrow 5,000 kUSD.
    const id = (await keel.engine.lastPositionId()) + 1n;
    const opened = units(5n, 18);
    const borrowed = 5_000n * WAD;
    let before = await balance();
    let ts = await pinNext();
    const openDebt = await mirrorNewDebt(keel, weth, borrowed, ts);
    let tx = await manager.openWithEthAndBorrow(borrowed, user.address, { value: opened });
    expect(await balance()).to.equal(before - opened - (await gasCost(tx)));
    expect(await keel.nft.ownerOf(id)).to.equal(user.address);
    expect(await keel.engine.collateralOf(id, weth)).to.equal(opened);
    expect(await keel.engine.debtOf(id)).to.equal(openDebt);
    expect(await keel.kusd.balanceOf(user.address)).to.equal(borrowed);
    await step();

    // 2. Add 1.5 ETH.
    const added = units(3n, 18) / 2n;
    before = await balance();
    tx = await manager.depositEth(id, { value: added });
    expect(await balance()).to.equal(before - added - (await gasCost(tx)));
    expect(await keel.engine.collateralOf(id, weth)).to.equal(opened + added);
    await step();

    // 3. With the manager as NFT operator: borrow a little more, then withdraw 2 ETH as ether.
    await (await keel.nft.connect(user).setApprovalForAll(managerAddress, true)).wait();
    ts = await pinNext();
    const moreDebt = await debtAfterBorrow(keel, id, 1_000n * WAD, ts);
    await (await manager.borrow(id, 1_000n * WAD, user.address)).wait();
    expect(await keel.engine.debtOf(id)).to.equal(moreDebt);
    const withdrawn = units(2n, 18);
    before = await balance();
    tx = await manager.withdrawEth(id, withdrawn, user.address);
    expect(await balance()).to.equal(before + withdrawn - (await gasCost(tx)));
    expect(await keel.engine.collateralOf(id, weth)).to.equal(opened + added - withdrawn);
    expect(await wethToken.balanceOf(user.address)).to.equal(0n);
    const health = await keel.engine.healthFactor(id);
    const expected = await expectedHealth(keel, id);
    expect([...health]).to.deep.equal([expected.hf, expected.hfInitial]);
    expect(health[1]).to.be.gte(WAD);
    await step();

    // 4. Close to ETH: repay-all pulls exactly the debt, the remaining 4.5 WETH arrives as ether.
    await supplyKusd(keel, bob!, user.address, 100n * WAD); // for the fees accrued since the borrows
    await (await keel.kusd.connect(user).approve(managerAddress, MaxUint256)).wait();
    const kusdBefore = await keel.kusd.balanceOf(user.address);
    before = await balance();
    ts = await pinNext(7_200n);
    const closeDebt = await mirrorDebt(keel, id, ts);
    tx = await manager.closePositionToEth(id, user.address);
    const remaining = opened + added - withdrawn;
    expect(await balance()).to.equal(before + remaining - (await gasCost(tx)));
    expect(await keel.kusd.balanceOf(user.address)).to.equal(kusdBefore - closeDebt);
    expect(await wethToken.balanceOf(user.address)).to.equal(0n);
    await expect(keel.engine.positionInfo(id)).to.be.revertedWithCustomError(keel.engine, "PositionNotFound").withArgs(id);
    await step();
  });
});
