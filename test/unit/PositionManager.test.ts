import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { MaxUint256, ZeroAddress } from "ethers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import { refreshFeeds } from "../../dev/localMarket";
import { Mode, Op, rateAt, YEAR } from "../helpers/engine";
import { keelFixture, pinNext } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { debtAfterBorrow, expectedHealth, largestBorrow } from "../helpers/mirror";
import {
  expectManagerEmpty,
  fundForManager,
  gasCost,
  mirrorDebt,
  mirrorHealth,
  mirrorNewDebt,
  signKusdPermit,
  supplyKusd,
  units,
} from "../helpers/periphery";

const WAD = m.WAD;

interface Scene {
  keel: Keel;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  weth: string;
  wbtc: string;
  usdc: string;
  wstEth: string;
  manager: string;
}

/** Keel with alice holding every asset, the manager approved for all of them (not for kUSD, not as NFT operator). */
async function managerFixture(): Promise<Scene> {
  const keel = await keelFixture();
  const [, alice, bob, carol] = await ethers.getSigners();
  const weth = await fundForManager(keel, "WETH", alice!, units(100n, 18));
  const wbtc = await fundForManager(keel, "WBTC", alice!, units(10n, 8));
  const usdc = await fundForManager(keel, "USDC", alice!, units(1_000_000n, 6));
  const wstEth = await fundForManager(keel, "wstETH", alice!, units(100n, 18));
  return { keel, alice: alice!, bob: bob!, carol: carol!, weth, wbtc, usdc, wstEth, manager: await keel.manager.getAddress() };
}

/** Alice's isolated WETH position (10 WETH, 10,000 kUSD to alice) opened through the manager; returns its id. */
async function openWethPosition(s: Scene, collateral = units(10n, 18), debt = 10_000n * WAD): Promise<bigint> {
  await (await s.keel.manager.connect(s.alice).openAndBorrow(s.weth, collateral, debt, s.alice.address)).wait();
  return s.keel.engine.lastPositionId();
}

/** Ends a state-changing test: the manager is empty and the accounting invariant holds. */
async function settle(keel: Keel): Promise<void> {
  await expectManagerEmpty(keel);
  await checkInvariants(keel);
}

describe("PositionManager", () => {
  describe("openAndBorrow", () => {
    it("test_openAndBorrow_isolated: opens for the caller, deposits exactly, borrows exactly to `to`", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, bob, weth } = s;
      const id = (await keel.engine.lastPositionId()) + 1n;
      const collateral = units(10n, 18);
      const borrowed = 12_345n * WAD + 6789n;
      const wethBefore = await keel.assets.WETH!.token.balanceOf(alice.address);
      const ts = await pinNext();
      const expectedDebt = await mirrorNewDebt(keel, weth, borrowed, ts);

      await expect(keel.manager.connect(alice).openAndBorrow(weth, collateral, borrowed, bob.address))
        .to.emit(keel.engine, "PositionOpened")
        .withArgs(id, alice.address, Mode.Isolated, weth);

      expect(await keel.nft.ownerOf(id)).to.equal(alice.address);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(collateral);
      expect(await keel.engine.debtOf(id)).to.equal(expectedDebt);
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(borrowed);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(0n);
      expect(await keel.assets.WETH!.token.balanceOf(alice.address)).to.equal(wethBefore - collateral);
      // No NFT approval was needed: the engine lets the manager act on the position it opened in this transaction.
      expect(await keel.nft.isApprovedForAll(alice.address, s.manager)).to.equal(false);
      const health = await keel.engine.healthFactor(id);
      const expected = await mirrorHealth(keel, [weth], [collateral], expectedDebt);
      expect([...health]).to.deep.equal([expected.hf, expected.hfInitial]);
      await settle(keel);
    });

    it("test_openAndBorrow_zeroDebt: does not borrow when debt is 0", async () => {
      const { keel, alice, bob, weth } = await loadFixture(managerFixture);
      const supply = await keel.kusd.totalSupply();
      const id = (await keel.engine.lastPositionId()) + 1n;
      await expect(keel.manager.connect(alice).openAndBorrow(weth, units(1n, 18), 0n, bob.address)).not.to.emit(
        keel.kusd,
        "Transfer",
      );
      expect(await keel.engine.collateralOf(id, weth)).to.equal(units(1n, 18));
      expect(await keel.engine.debtOf(id)).to.equal(0n);
      expect(await keel.kusd.totalSupply()).to.equal(supply);
      expect([...(await keel.engine.healthFactor(id))]).to.deep.equal([m.INFINITE_HEALTH, m.INFINITE_HEALTH]);
      await settle(keel);
    });

    it("test_openAndBorrow_atLimit: borrows the mirror's maxDebt exactly, one wei more reverts Unhealthy", async () => {
      const { keel, alice, weth } = await loadFixture(managerFixture);
      const collateral = units(7n, 18) + 123_456_789n;
      const id = (await keel.engine.lastPositionId()) + 1n;
      let ts = await pinNext();
      const { amount, limit } = await largestBorrow(keel, { classKey: weth, assets: [weth], amounts: [collateral] }, ts);
      const over = amount + 1n;
      const overDebt = await mirrorNewDebt(keel, weth, over, ts);
      const overHealth = await mirrorHealth(keel, [weth], [collateral], overDebt);
      expect(overDebt).to.be.gt(limit);
      await expect(keel.manager.connect(alice).openAndBorrow(weth, collateral, over, alice.address))
        .to.be.revertedWithCustomError(keel.engine, "Unhealthy")
        .withArgs(id, overHealth.hfInitial);

      ts = await pinNext();
      const fit = await largestBorrow(keel, { classKey: weth, assets: [weth], amounts: [collateral] }, ts);
      await (await keel.manager.connect(alice).openAndBorrow(weth, collateral, fit.amount, alice.address)).wait();
      expect(await keel.engine.debtOf(id)).to.equal(await mirrorNewDebt(keel, weth, fit.amount, ts));
      const [, hfInitial] = await keel.engine.healthFactor(id);
      expect(hfInitial).to.equal((await expectedHealth(keel, id)).hfInitial);
      expect(hfInitial).to.be.gte(WAD);
      await settle(keel);
    });
  });

  describe("openCrossAndBorrow", () => {
    it("test_openCrossAndBorrow_threeAssets: deposits the basket in order and borrows exactly", async () => {
      const { keel, alice, bob, weth, wbtc, usdc } = await loadFixture(managerFixture);
      const assets = [weth, wbtc, usdc];
      const amounts = [units(5n, 18), units(1n, 8) / 2n, units(10_000n, 6)];
      const borrowed = 20_000n * WAD;
      const id = (await keel.engine.lastPositionId()) + 1n;
      const cross = await keel.engine.CROSS_CLASS();
      const ts = await pinNext();
      const expectedDebt = await mirrorNewDebt(keel, cross, borrowed, ts);

      await expect(keel.manager.connect(alice).openCrossAndBorrow(assets, amounts, borrowed, bob.address))
        .to.emit(keel.engine, "PositionOpened")
        .withArgs(id, alice.address, Mode.Cross, ZeroAddress);

      expect(await keel.nft.ownerOf(id)).to.equal(alice.address);
      expect([...(await keel.engine.collateralAssets(id))]).to.deep.equal(assets);
      for (let i = 0; i < assets.length; i++) {
        expect(await keel.engine.collateralOf(id, assets[i]!)).to.equal(amounts[i]);
      }
      expect(await keel.engine.debtOf(id)).to.equal(expectedDebt);
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(borrowed);
      const expected = await mirrorHealth(keel, assets, amounts, expectedDebt);
      expect([...(await keel.engine.healthFactor(id))]).to.deep.equal([expected.hf, expected.hfInitial]);
      await settle(keel);
    });

    it("test_openCrossAndBorrow_lengthMismatch: reverts LengthMismatch(assets, amounts)", async () => {
      const { keel, alice, weth, wbtc, usdc } = await loadFixture(managerFixture);
      await expect(
        keel.manager.connect(alice).openCrossAndBorrow([weth, wbtc, usdc], [1n, 1n], 0n, alice.address),
      ).to.be.revertedWithCustomError(keel.manager, "LengthMismatch").withArgs(3n, 2n);
    });
  });

  describe("native ether", () => {
    it("test_openWithEthAndBorrow: wraps the attached ether into WETH collateral", async () => {
      const { keel, alice, bob, weth, manager } = await loadFixture(managerFixture);
      const value = units(3n, 18) + 17n;
      const borrowed = 2_000n * WAD;
      const id = (await keel.engine.lastPositionId()) + 1n;
      const wethSupply = await keel.assets.WETH!.token.totalSupply();
      const engineWeth = await keel.assets.WETH!.token.balanceOf(await keel.engine.getAddress());
      const ethBefore = await ethers.provider.getBalance(alice.address);
      const ts = await pinNext();
      const expectedDebt = await mirrorNewDebt(keel, weth, borrowed, ts);

      const tx = await keel.manager.connect(alice).openWithEthAndBorrow(borrowed, bob.address, { value });
      const cost = await gasCost(tx);

      expect(await ethers.provider.getBalance(alice.address)).to.equal(ethBefore - value - cost);
      expect(await keel.nft.ownerOf(id)).to.equal(alice.address);
      expect([...(await keel.engine.collateralAssets(id))]).to.deep.equal([weth]);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(value);
      expect(await keel.assets.WETH!.token.totalSupply()).to.equal(wethSupply + value);
      expect(await keel.assets.WETH!.token.balanceOf(await keel.engine.getAddress())).to.equal(engineWeth + value);
      expect(await keel.engine.debtOf(id)).to.equal(expectedDebt);
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(borrowed);
      expect(await ethers.provider.getBalance(manager)).to.equal(0n);
      await settle(keel);
    });

    it("test_depositEth: anyone adds attached ether to a WETH position; none attached reverts ZeroAmount", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, carol, weth } = s;
      const id = await openWethPosition(s);
      const value = units(2n, 18) + 5n;
      await expect(keel.manager.connect(carol).depositEth(id, { value }))
        .to.emit(keel.engine, "PositionUpdated")
        .withArgs(id, Op.Deposit, weth, units(10n, 18) + value, (await keel.engine.positionInfo(id))[2]);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(units(10n, 18) + value);
      await expect(keel.manager.connect(carol).depositEth(id)).to.be.revertedWithCustomError(keel.manager, "ZeroAmount");
      await settle(keel);
    });

    it("test_depositEth_wrongAsset: ether into a non-WETH isolated position reverts WrongAsset", async () => {
      const { keel, alice, usdc, weth } = await loadFixture(managerFixture);
      await (await keel.manager.connect(alice).openAndBorrow(usdc, units(1_000n, 6), 0n, alice.address)).wait();
      const id = await keel.engine.lastPositionId();
      await expect(keel.manager.connect(alice).depositEth(id, { value: 1n }))
        .to.be.revertedWithCustomError(keel.engine, "WrongAsset")
        .withArgs(id, weth);
    });

    it("test_openWithEthAndBorrow_noDebt: attached ether becomes collateral and nothing is borrowed", async () => {
      const { keel, alice, weth } = await loadFixture(managerFixture);
      const value = units(1n, 18);
      await (await keel.manager.connect(alice).openWithEthAndBorrow(0n, alice.address, { value })).wait();
      const id = await keel.engine.lastPositionId();
      expect(await keel.engine.collateralOf(id, weth)).to.equal(value);
      expect(await keel.engine.debtOf(id)).to.equal(0n);
      await settle(keel);
    });

    it("test_closePositionToEth_noDebtNoCollateral: an empty position closes with no kUSD pulled and no ether sent", async () => {
      const { keel, alice, weth } = await loadFixture(managerFixture);
      await (await keel.engine.connect(alice).open(Mode.Isolated, weth, alice.address)).wait();
      const id = await keel.engine.lastPositionId();
      await (await keel.nft.connect(alice).setApprovalForAll(keel.manager, true)).wait();
      const kusdBefore = await keel.kusd.balanceOf(alice.address);
      await expect(keel.manager.connect(alice).closePositionToEth(id, alice.address)).to.emit(keel.engine, "PositionClosed").withArgs(id);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(kusdBefore);
      await settle(keel);
    });

    it("test_closePositionToEth_recipientRefusesEther: a recipient that rejects ether reverts EthTransferFailed and the position stays open", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice } = s;
      const id = await openWethPosition(s, units(1n, 18), 0n);
      await (await keel.nft.connect(alice).setApprovalForAll(keel.manager, true)).wait();
      // kUSD's contract has no way to receive ether.
      await expect(keel.manager.connect(alice).closePositionToEth(id, await keel.kusd.getAddress())).to.be.revertedWithCustomError(
        keel.manager,
        "EthTransferFailed",
      );
      expect(await keel.nft.ownerOf(id)).to.equal(alice.address);
      await settle(keel);
    });

    it("test_closePosition_noDebt: a debt-free position closes through the manager without pulling kUSD", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, weth } = s;
      const id = await openWethPosition(s, units(1n, 18), 0n);
      await (await keel.nft.connect(alice).setApprovalForAll(keel.manager, true)).wait();
      const wethBefore = await keel.assets.WETH!.token.balanceOf(alice.address);
      await (await keel.manager.connect(alice).closePosition(id, alice.address)).wait();
      expect(await keel.assets.WETH!.token.balanceOf(alice.address)).to.equal(wethBefore + units(1n, 18));
      expect(await keel.engine.collateralOf(id, weth)).to.equal(0n);
      await settle(keel);
    });

    it("test_receive: ether sent directly reverts UnexpectedEther", async () => {
      const { keel, alice, manager } = await loadFixture(managerFixture);
      await expect(alice.sendTransaction({ to: manager, value: 1n })).to.be.revertedWithCustomError(
        keel.manager,
        "UnexpectedEther",
      );
      await expectManagerEmpty(keel);
    });
  });

  describe("deposit", () => {
    it("test_deposit: anyone deposits into any position, pulled from the caller", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, bob, weth } = s;
      const id = await openWethPosition(s);
      const amount = units(1n, 18) + 3n;
      await fundForManager(keel, "WETH", bob, amount);
      await (await keel.manager.connect(bob).deposit(id, weth, amount)).wait();
      expect(await keel.engine.collateralOf(id, weth)).to.equal(units(10n, 18) + amount);
      expect(await keel.assets.WETH!.token.balanceOf(bob.address)).to.equal(0n);
      await settle(keel);
    });
  });

  describe("operator actions", () => {
    /** Alice's WETH position with the manager set as her NFT operator. */
    async function operated(): Promise<Scene & { id: bigint }> {
      const s = await loadFixture(managerFixture);
      const id = await openWethPosition(s);
      await (await s.keel.nft.connect(s.alice).setApprovalForAll(s.manager, true)).wait();
      return { ...s, id };
    }

    it("test_borrow_operator: borrows exactly to `to`", async () => {
      const { keel, alice, bob, id } = await operated();
      const amount = 3_000n * WAD + 1n;
      const ts = await pinNext();
      const expected = await debtAfterBorrow(keel, id, amount, ts);
      await (await keel.manager.connect(alice).borrow(id, amount, bob.address)).wait();
      expect(await keel.engine.debtOf(id)).to.equal(expected);
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(amount);
      await settle(keel);
    });

    it("test_borrow_withoutOperator: the engine refuses the manager with NotAuthorized(id, manager)", async () => {
      const s = await loadFixture(managerFixture);
      const id = await openWethPosition(s);
      await expect(s.keel.manager.connect(s.alice).borrow(id, 1_000n * WAD, s.alice.address))
        .to.be.revertedWithCustomError(s.keel.engine, "NotAuthorized")
        .withArgs(id, s.manager);
    });

    it("test_withdraw_operator: withdraws an amount, then max withdraws the rest of the asset", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, bob, weth } = s;
      const id = await openWethPosition(s, units(10n, 18), 0n);
      await (await keel.nft.connect(alice).setApprovalForAll(s.manager, true)).wait();
      await (await keel.manager.connect(alice).withdraw(id, weth, units(4n, 18), bob.address)).wait();
      expect(await keel.engine.collateralOf(id, weth)).to.equal(units(6n, 18));
      expect(await keel.assets.WETH!.token.balanceOf(bob.address)).to.equal(units(4n, 18));
      await (await keel.manager.connect(alice).withdraw(id, weth, MaxUint256, bob.address)).wait();
      expect(await keel.engine.collateralOf(id, weth)).to.equal(0n);
      expect(await keel.assets.WETH!.token.balanceOf(bob.address)).to.equal(units(10n, 18));
      await settle(keel);
    });

    it("test_withdraw_operator_unhealthy: a withdrawal below HFi 1 reverts Unhealthy with the mirror's HFi", async () => {
      const { keel, alice, weth, id } = await operated();
      const amount = units(8n, 18);
      const debt = await mirrorDebt(keel, id, await pinNext());
      const after = await mirrorHealth(keel, [weth], [units(2n, 18)], debt);
      expect(after.hfInitial).to.be.lt(WAD);
      await expect(keel.manager.connect(alice).withdraw(id, weth, amount, alice.address))
        .to.be.revertedWithCustomError(keel.engine, "Unhealthy")
        .withArgs(id, after.hfInitial);
    });

    it("test_withdrawEth_operator: unwraps WETH and sends ether to `to`; max sends the rest", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, bob, weth } = s;
      const id = await openWethPosition(s, units(10n, 18), 0n);
      await (await keel.nft.connect(alice).setApprovalForAll(s.manager, true)).wait();
      const before = await ethers.provider.getBalance(bob.address);
      await (await keel.manager.connect(alice).withdrawEth(id, units(3n, 18) + 1n, bob.address)).wait();
      expect(await ethers.provider.getBalance(bob.address)).to.equal(before + units(3n, 18) + 1n);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(units(7n, 18) - 1n);
      await (await keel.manager.connect(alice).withdrawEth(id, MaxUint256, bob.address)).wait();
      expect(await ethers.provider.getBalance(bob.address)).to.equal(before + units(10n, 18));
      expect(await keel.engine.collateralOf(id, weth)).to.equal(0n);
      await settle(keel);
    });

    it("test_closePosition_operator: pulls exactly the debt from the caller, returns collateral, burns the NFT", async () => {
      const { keel, alice, bob, weth, id } = await operated();
      await supplyKusd(keel, bob, alice.address, 1_000n * WAD); // for the interest accrued since the borrow
      const kusdBefore = await keel.kusd.balanceOf(alice.address);
      await (await keel.kusd.connect(alice).approve(await keel.manager.getAddress(), MaxUint256)).wait();
      const ts = await pinNext(3600n);
      const debt = await mirrorDebt(keel, id, ts);
      await expect(keel.manager.connect(alice).closePosition(id, bob.address))
        .to.emit(keel.engine, "PositionClosed")
        .withArgs(id);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(kusdBefore - debt);
      expect(await keel.assets.WETH!.token.balanceOf(bob.address)).to.equal(units(10n, 18));
      await expect(keel.nft.ownerOf(id)).to.be.revertedWithCustomError(keel.nft, "ERC721NonexistentToken").withArgs(id);
      await expect(keel.engine.positionInfo(id)).to.be.revertedWithCustomError(keel.engine, "PositionNotFound").withArgs(id);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(0n);
      await settle(keel);
    });

    it("test_closePositionToEth_operator: cross basket, WETH as ether and other tokens as tokens", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, bob, carol, weth, usdc } = s;
      const amounts = [units(2n, 18) + 9n, units(5_000n, 6)];
      await (await keel.manager.connect(alice).openCrossAndBorrow([weth, usdc], amounts, 1_000n * WAD, alice.address)).wait();
      const id = await keel.engine.lastPositionId();
      await (await keel.nft.connect(alice).setApprovalForAll(s.manager, true)).wait();
      await supplyKusd(keel, bob, alice.address, 100n * WAD);
      await (await keel.kusd.connect(alice).approve(s.manager, MaxUint256)).wait();
      const kusdBefore = await keel.kusd.balanceOf(alice.address);
      const ethBefore = await ethers.provider.getBalance(carol.address);
      const ts = await pinNext(600n);
      const debt = await mirrorDebt(keel, id, ts);
      await (await keel.manager.connect(alice).closePositionToEth(id, carol.address)).wait();
      expect(await ethers.provider.getBalance(carol.address)).to.equal(ethBefore + amounts[0]!);
      expect(await keel.assets.USDC!.token.balanceOf(carol.address)).to.equal(amounts[1]);
      expect(await keel.assets.WETH!.token.balanceOf(carol.address)).to.equal(0n);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(kusdBefore - debt);
      await expect(keel.engine.positionInfo(id)).to.be.revertedWithCustomError(keel.engine, "PositionNotFound").withArgs(id);
      await settle(keel);
    });

    it("test_stranger: NotAuthorized(id, stranger) for every owner action, even with the manager approved", async () => {
      const { keel, carol, weth, id, manager } = await operated();
      // The stranger approves the manager for its own NFTs and tokens: irrelevant to alice's position.
      await (await keel.nft.connect(carol).setApprovalForAll(manager, true)).wait();
      await (await keel.kusd.connect(carol).approve(manager, MaxUint256)).wait();
      const asCarol = keel.manager.connect(carol);
      const calls = [
        () => asCarol.borrow(id, 1_000n * WAD, carol.address),
        () => asCarol.withdraw(id, weth, 1n, carol.address),
        () => asCarol.withdraw(id, weth, MaxUint256, carol.address),
        () => asCarol.withdrawEth(id, 1n, carol.address),
        () => asCarol.closePosition(id, carol.address),
        () => asCarol.closePositionToEth(id, carol.address),
      ];
      for (const call of calls) {
        await expect(call()).to.be.revertedWithCustomError(keel.manager, "NotAuthorized").withArgs(id, carol.address);
      }
      // Nor through multicall, where each step runs as the stranger.
      const data = keel.manager.interface.encodeFunctionData("borrow", [id, 1_000n * WAD, carol.address]);
      await expect(asCarol.multicall([data]))
        .to.be.revertedWithCustomError(keel.manager, "NotAuthorized")
        .withArgs(id, carol.address);
    });
  });

  describe("repay", () => {
    it("test_repay_amount: pulls exactly the amount and credits it", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, manager } = s;
      const id = await openWethPosition(s);
      await (await keel.kusd.connect(alice).approve(manager, MaxUint256)).wait();
      const amount = 4_000n * WAD + 7n;
      const ts = await pinNext(86_400n);
      const [, classKey, normDebt] = await keel.engine.positionInfo(id);
      const rate = await rateAt(keel, classKey, ts);
      const rest = normDebt - m.toNormDebtDown(amount, rate);
      await expect(keel.manager.connect(alice).repay(id, amount))
        .to.emit(keel.engine, "PositionUpdated")
        .withArgs(id, Op.Repay, ZeroAddress, 0n, rest);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(10_000n * WAD - amount);
      expect(await keel.engine.debtOf(id)).to.equal(m.toDebtUp(rest, rate));
      await settle(keel);
    });

    it("test_repay_max: after a year pulls exactly the accrued debt (mirror) and clears it", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, bob, manager } = s;
      const id = await openWethPosition(s);
      await time.increase(YEAR);
      await refreshFeeds(keel);
      await supplyKusd(keel, bob, alice.address, 1_000n * WAD);
      await (await keel.kusd.connect(alice).approve(manager, MaxUint256)).wait();
      const before = await keel.kusd.balanceOf(alice.address);
      const ts = await pinNext();
      const debt = await mirrorDebt(keel, id, ts);
      expect(debt).to.be.gt(10_000n * WAD + 199n * WAD); // ≈ 2% a year on 10,000
      await expect(keel.manager.connect(alice).repay(id, MaxUint256))
        .to.emit(keel.engine, "PositionUpdated")
        .withArgs(id, Op.Repay, ZeroAddress, 0n, 0n);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(before - debt);
      expect(await keel.engine.debtOf(id)).to.equal(0n);
      await settle(keel);
    });

    it("test_repay_noDebt: reverts ZeroAmount", async () => {
      const s = await loadFixture(managerFixture);
      const id = await openWethPosition(s, units(1n, 18), 0n);
      await expect(s.keel.manager.connect(s.alice).repay(id, MaxUint256)).to.be.revertedWithCustomError(
        s.keel.manager,
        "ZeroAmount",
      );
      await expect(s.keel.manager.connect(s.alice).repay(id, 5n)).to.be.revertedWithCustomError(
        s.keel.manager,
        "ZeroAmount",
      );
    });
  });

  describe("permit", () => {
    it("test_multicall_permitAndRepay: an ERC-2612 permit and a repay in one multicall", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, manager } = s;
      const id = await openWethPosition(s);
      expect(await keel.kusd.allowance(alice.address, manager)).to.equal(0n);
      const value = 5_000n * WAD;
      const amount = 2_500n * WAD;
      const deadline = BigInt(await time.latest()) + 3600n;
      const { v, r, s: sig } = await signKusdPermit(keel, alice, manager, value, deadline);
      const calls = [
        keel.manager.interface.encodeFunctionData("permitKusd", [value, deadline, v, r, sig]),
        keel.manager.interface.encodeFunctionData("repay", [id, amount]),
      ];
      const ts = await pinNext();
      const [, , normDebt] = await keel.engine.positionInfo(id);
      const rate = await rateAt(keel, s.weth, ts);
      await (await keel.manager.connect(alice).multicall(calls)).wait();
      expect(await keel.kusd.nonces(alice.address)).to.equal(1n);
      expect(await keel.kusd.allowance(alice.address, manager)).to.equal(value - amount);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(10_000n * WAD - amount);
      expect(await keel.engine.debtOf(id)).to.equal(m.toDebtUp(normDebt - m.toNormDebtDown(amount, rate), rate));
      await settle(keel);
    });

    it("test_multicall_usedPermit: a permit already used (front-run) does not break the multicall", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, carol, manager } = s;
      const id = await openWethPosition(s);
      const value = 5_000n * WAD;
      const deadline = BigInt(await time.latest()) + 3600n;
      const { v, r, s: sig } = await signKusdPermit(keel, alice, manager, value, deadline);
      // A front-runner submits alice's signature first.
      await (await keel.kusd.connect(carol).permit(alice.address, manager, value, deadline, v, r, sig)).wait();
      const calls = [
        keel.manager.interface.encodeFunctionData("permitKusd", [value, deadline, v, r, sig]),
        keel.manager.interface.encodeFunctionData("repay", [id, 1_000n * WAD]),
      ];
      await (await keel.manager.connect(alice).multicall(calls)).wait();
      expect(await keel.kusd.nonces(alice.address)).to.equal(1n);
      expect(await keel.kusd.allowance(alice.address, manager)).to.equal(value - 1_000n * WAD);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(9_000n * WAD);
      await settle(keel);
    });
  });

  describe("multicall with ether", () => {
    it("test_multicall_payable_openDepositEthBorrow: spends msg.value once", async () => {
      // Every step is payable: under `multicall`'s delegatecall each sees the outer msg.value, and only the
      // ether step spends it.
      const { keel, alice, bob, weth } = await loadFixture(managerFixture);
      const id = (await keel.engine.lastPositionId()) + 1n;
      const value = units(4n, 18);
      const borrowed = 3_000n * WAD;
      const calls = [
        keel.manager.interface.encodeFunctionData("open", [Mode.Isolated, weth]),
        keel.manager.interface.encodeFunctionData("depositEth", [id]),
        keel.manager.interface.encodeFunctionData("borrow", [id, borrowed, bob.address]),
      ];
      const ethBefore = await ethers.provider.getBalance(alice.address);
      const ts = await pinNext();
      const expectedDebt = await mirrorNewDebt(keel, weth, borrowed, ts);
      const tx = await keel.manager.connect(alice).multicall(calls, { value });
      const cost = await gasCost(tx);
      expect(await ethers.provider.getBalance(alice.address)).to.equal(ethBefore - value - cost);
      expect(await keel.nft.ownerOf(id)).to.equal(alice.address);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(value);
      expect(await keel.engine.debtOf(id)).to.equal(expectedDebt);
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(borrowed);
      await settle(keel);
    });

    it("test_multicall_payable_refundsUnspentEther", async () => {
      // With value attached, every step still runs and the unspent ether comes back.
      const { keel, alice, weth } = await loadFixture(managerFixture);
      const id = (await keel.engine.lastPositionId()) + 1n;
      const calls = [
        keel.manager.interface.encodeFunctionData("open", [Mode.Isolated, weth]),
        keel.manager.interface.encodeFunctionData("deposit", [id, weth, units(1n, 18)]),
      ];
      const ethBefore = await ethers.provider.getBalance(alice.address);
      const tx = await keel.manager.connect(alice).multicall(calls, { value: units(1n, 18) });
      const cost = await gasCost(tx);
      expect(await ethers.provider.getBalance(alice.address)).to.equal(ethBefore - cost);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(units(1n, 18));
      await settle(keel);
    });

    it("test_multicall_depositEthTwice: msg.value is spent once, a second depositEth reverts ZeroAmount", async () => {
      const s = await loadFixture(managerFixture);
      const { keel, alice, weth } = s;
      const id = await openWethPosition(s);
      const deposit = keel.manager.interface.encodeFunctionData("depositEth", [id]);
      await expect(keel.manager.connect(alice).multicall([deposit, deposit], { value: units(1n, 18) }))
        .to.be.revertedWithCustomError(keel.manager, "ZeroAmount");
      const ethBefore = await ethers.provider.getBalance(alice.address);
      const tx = await keel.manager.connect(alice).multicall([deposit], { value: units(1n, 18) });
      expect(await ethers.provider.getBalance(alice.address)).to.equal(ethBefore - units(1n, 18) - (await gasCost(tx)));
      expect(await keel.engine.collateralOf(id, weth)).to.equal(units(11n, 18));
      await settle(keel);
    });

    it("test_multicall_refund: ether attached to a multicall whose steps spend none comes back", async () => {
      const { keel, alice } = await loadFixture(managerFixture);
      const ethBefore = await ethers.provider.getBalance(alice.address);
      const tx = await keel.manager.connect(alice).multicall([], { value: units(2n, 18) });
      expect(await ethers.provider.getBalance(alice.address)).to.equal(ethBefore - (await gasCost(tx)));
      await expectManagerEmpty(keel);
    });

    it("test_multicall_openDepositBorrow: without ether, [open, deposit, borrow] needs no NFT approval", async () => {
      const { keel, alice, bob, weth, manager } = await loadFixture(managerFixture);
      const id = (await keel.engine.lastPositionId()) + 1n;
      const calls = [
        keel.manager.interface.encodeFunctionData("open", [Mode.Isolated, weth]),
        keel.manager.interface.encodeFunctionData("deposit", [id, weth, units(2n, 18)]),
        keel.manager.interface.encodeFunctionData("borrow", [id, 1_500n * WAD, bob.address]),
      ];
      const ts = await pinNext();
      const expectedDebt = await mirrorNewDebt(keel, weth, 1_500n * WAD, ts);
      await (await keel.manager.connect(alice).multicall(calls)).wait();
      expect(await keel.nft.isApprovedForAll(alice.address, manager)).to.equal(false);
      expect(await keel.nft.ownerOf(id)).to.equal(alice.address);
      expect(await keel.engine.collateralOf(id, weth)).to.equal(units(2n, 18));
      expect(await keel.engine.debtOf(id)).to.equal(expectedDebt);
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(1_500n * WAD);
      await settle(keel);
    });
  });
});
