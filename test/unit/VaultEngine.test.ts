import { expect } from "chai";
import { ethers, network } from "hardhat";
import { impersonateAccount, mine, setBalance, stopImpersonatingAccount, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { type ContractTransactionResponse, encodeBytes32String, type Interface, MaxUint256, ZeroAddress } from "ethers";
import type { IVaultEngineTypes as IVaultEngine } from "../../typechain-types/contracts/core/VaultEngine";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import { refreshFeeds } from "../../dev/localMarket";
import {
  deployMockAsset,
  E18,
  fund,
  listMockAssets,
  mockListing,
  Mode,
  Op,
  open,
  openCross,
  openIsolated,
  pendingFeesAt,
  rateAt,
  storedGlobalDebt,
  YEAR,
} from "../helpers/engine";
import { loadKeel, pinNext } from "../helpers/fixtures";
import { governTx, prepareGoverned } from "../helpers/governance";
import { checkInvariants } from "../helpers/invariant";
import { expectedHealth, expectedRate, expectedValuation } from "../helpers/mirror";

const U120_MAX = 2n ** 120n - 1n;
const MAX_DEBT_CEILING = 10n ** 28n;
const MAX_DUST = 10n ** 24n;
const bytes32 = encodeBytes32String;

interface Ctx {
  keel: Keel;
  engine: Keel["engine"];
  guardian: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  WETH: string;
  WBTC: string;
  USDC: string;
  WSTETH: string;
  CROSS: string;
  dust: bigint;
}

async function setup(): Promise<Ctx> {
  const keel = await loadKeel();
  const [guardian, alice, bob, carol, stranger] = await ethers.getSigners();
  const addr = (s: string): Promise<string> => keel.assets[s]!.token.getAddress();
  return {
    keel,
    engine: keel.engine,
    guardian: guardian!,
    alice: alice!,
    bob: bob!,
    carol: carol!,
    stranger: stranger!,
    WETH: await addr("WETH"),
    WBTC: await addr("WBTC"),
    USDC: await addr("USDC"),
    WSTETH: await addr("wstETH"),
    CROSS: await keel.engine.CROSS_CLASS(),
    dust: await keel.engine.dust(),
  };
}

const normDebtOf = async (keel: Keel, id: bigint): Promise<bigint> => (await keel.engine.positionInfo(id))[2];

/** Borrows `amount` in a block whose time is pinned; returns the class rate used and the position's new normDebt. */
async function borrowPinned(
  keel: Keel,
  signer: HardhatEthersSigner,
  id: bigint,
  amount: bigint,
  to = signer.address,
): Promise<{ ts: bigint; rate: bigint; normDebt: bigint }> {
  const [, classKey, before] = await keel.engine.positionInfo(id);
  const ts = await pinNext();
  const rate = await rateAt(keel, classKey, ts);
  await (await keel.engine.connect(signer).borrow(id, amount, to)).wait();
  const normDebt = before + m.toNormDebtUp(amount, rate);
  expect(await normDebtOf(keel, id)).to.equal(normDebt);
  return { ts, rate, normDebt };
}

/** Hands `to` freshly borrowed kUSD from a separate WETH position of `lender`, so repayments stay a closed system. */
async function giveKusd(keel: Keel, lender: HardhatEthersSigner, to: string, amount: bigint): Promise<void> {
  const id = await openIsolated(keel, lender, "WETH", 10n * E18);
  await (await keel.engine.connect(lender).borrow(id, amount, to)).wait();
}

describe("VaultEngine", () => {
  // ================================================================ open

  describe("open", () => {
    it("test_open_isolated: opens an isolated position: PositionOpened, NFT minted to the owner, no debt", async () => {
      const { keel, engine, alice, bob, WETH } = await setup();
      await expect(engine.connect(alice).open(Mode.Isolated, WETH, bob.address))
        .to.emit(engine, "PositionOpened")
        .withArgs(1n, bob.address, Mode.Isolated, WETH)
        .and.to.emit(keel.nft, "Transfer")
        .withArgs(ZeroAddress, bob.address, 1n);
      expect(await engine.lastPositionId()).to.equal(1n);
      expect(await keel.nft.ownerOf(1n)).to.equal(bob.address);
      expect([...(await engine.positionInfo(1n))]).to.deep.equal([Mode.Isolated, WETH, 0n]);
      expect([...(await engine.collateralAssets(1n))]).to.deep.equal([WETH]);
      expect(await engine.collateralOf(1n, WETH)).to.equal(0n);
      expect(await engine.debtOf(1n)).to.equal(0n);
      expect([...(await engine.healthFactor(1n))]).to.deep.equal([MaxUint256, MaxUint256]);
      await checkInvariants(keel);
    });

    it("test_open_cross_assetZero: opens a cross position and reports the asset as zero even when one is passed", async () => {
      const { keel, engine, alice, WETH, CROSS } = await setup();
      await open(keel, alice, Mode.Isolated, WETH);
      await expect(engine.connect(alice).open(Mode.Cross, WETH, alice.address))
        .to.emit(engine, "PositionOpened")
        .withArgs(2n, alice.address, Mode.Cross, ZeroAddress);
      expect(await engine.lastPositionId()).to.equal(2n);
      expect(await keel.nft.ownerOf(2n)).to.equal(alice.address);
      expect([...(await engine.positionInfo(2n))]).to.deep.equal([Mode.Cross, CROSS, 0n]);
      expect([...(await engine.collateralAssets(2n))]).to.deep.equal([]);
      // The asset is ignored for cross positions: even an unlisted one is fine.
      const { token } = await deployMockAsset("UNLISTED");
      await expect(engine.connect(alice).open(Mode.Cross, await token.getAddress(), alice.address))
        .to.emit(engine, "PositionOpened")
        .withArgs(3n, alice.address, Mode.Cross, ZeroAddress);
      await checkInvariants(keel);
    });

    it("test_open_paused: reverts Paused in both modes while the guardian has paused", async () => {
      const { keel, engine, guardian, alice, WETH } = await setup();
      await (await engine.connect(guardian).setPaused(true)).wait();
      await expect(engine.connect(alice).open(Mode.Isolated, WETH, alice.address)).to.be.revertedWithCustomError(
        engine,
        "Paused",
      );
      await expect(engine.connect(alice).open(Mode.Cross, ZeroAddress, alice.address)).to.be.revertedWithCustomError(
        engine,
        "Paused",
      );
      expect(await engine.lastPositionId()).to.equal(0n);
      await checkInvariants(keel);
    });

    it("test_open_assetNotListed: reverts AssetNotListed for an isolated position of an unlisted or zero asset", async () => {
      const { engine, alice } = await setup();
      const { token } = await deployMockAsset("UNLISTED");
      const unlisted = await token.getAddress();
      await expect(engine.connect(alice).open(Mode.Isolated, unlisted, alice.address))
        .to.be.revertedWithCustomError(engine, "AssetNotListed")
        .withArgs(unlisted);
      await expect(engine.connect(alice).open(Mode.Isolated, ZeroAddress, alice.address))
        .to.be.revertedWithCustomError(engine, "AssetNotListed")
        .withArgs(ZeroAddress);
      expect(await engine.lastPositionId()).to.equal(0n);
    });

    it("test_open_zeroOwner: reverts ZeroAddress for a zero owner", async () => {
      const { engine, alice, WETH } = await setup();
      await expect(engine.connect(alice).open(Mode.Isolated, WETH, ZeroAddress)).to.be.revertedWithCustomError(
        engine,
        "ZeroAddress",
      );
      await expect(engine.connect(alice).open(Mode.Cross, ZeroAddress, ZeroAddress)).to.be.revertedWithCustomError(
        engine,
        "ZeroAddress",
      );
    });
  });

  // ================================================================ deposit

  describe("deposit", () => {
    it("test_deposit_credits: credits the position and the asset total and emits the new collateral and normDebt", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await open(keel, alice, Mode.Isolated, WETH);
      await fund(keel, "WETH", alice, 15n * E18);
      const engineAddress = await engine.getAddress();
      await expect(engine.connect(alice).deposit(id, WETH, 10n * E18))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Deposit, WETH, 10n * E18, 0n)
        .and.to.emit(keel.assets.WETH!.token, "Transfer")
        .withArgs(alice.address, engineAddress, 10n * E18);
      expect(await engine.collateralOf(id, WETH)).to.equal(10n * E18);
      expect([...(await engine.collateralConfig(WETH))]).to.deep.equal([keel.assets.WETH!.config.supplyCap, 10n * E18, true]);

      // With debt, the event carries the stored normalized debt.
      const { normDebt } = await borrowPinned(keel, alice, id, 1_000n * E18);
      await expect(engine.connect(alice).deposit(id, WETH, 5n * E18))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Deposit, WETH, 15n * E18, normDebt);
      expect(await engine.collateralOf(id, WETH)).to.equal(15n * E18);
      expect((await engine.collateralConfig(WETH))[1]).to.equal(15n * E18);
      expect(await keel.assets.WETH!.token.balanceOf(engineAddress)).to.equal(15n * E18);
      expect(await keel.assets.WETH!.token.balanceOf(alice.address)).to.equal(0n);
      await checkInvariants(keel);
    });

    it("test_deposit_anyoneTopsUp_ownerAddsAsset: lets anyone top up a holding; only the owner's side adds a new asset to a cross basket", async () => {
      const { keel, engine, alice, bob, WBTC } = await setup();
      const id = await open(keel, alice, Mode.Cross);
      await fund(keel, "WBTC", bob, 3n * 10n ** 8n);
      await expect(engine.connect(bob).deposit(id, WBTC, 10n ** 8n))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, bob.address);
      await fund(keel, "WBTC", alice, 10n ** 8n);
      await (await engine.connect(alice).deposit(id, WBTC, 10n ** 8n)).wait();
      await expect(engine.connect(bob).deposit(id, WBTC, 10n ** 8n))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Deposit, WBTC, 2n * 10n ** 8n, 0n);
      expect(await engine.collateralOf(id, WBTC)).to.equal(2n * 10n ** 8n);
      expect(await keel.assets.WBTC!.token.balanceOf(bob.address)).to.equal(2n * 10n ** 8n);
      expect([...(await engine.collateralAssets(id))]).to.deep.equal([WBTC]);
      expect(await keel.nft.ownerOf(id)).to.equal(alice.address);
      await checkInvariants(keel);
    });

    it("test_deposit_brokenFeed: never reads the oracle: deposits go through with a broken feed", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await borrowPinned(keel, alice, id, 1_000n * E18);
      await (await keel.assets.WETH!.feed.updateAnswer(0n)).wait();
      await expect(engine.healthFactor(id)).to.be.revertedWithCustomError(keel.oracle, "NonPositivePrice");
      await fund(keel, "WETH", alice, E18);
      await expect(engine.connect(alice).deposit(id, WETH, E18))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Deposit, WETH, 11n * E18, await normDebtOf(keel, id));
      await checkInvariants(keel);
    });

    it("test_deposit_zeroOrTooLarge: reverts ZeroAmount and AmountTooLarge (> 2^120 − 1)", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await open(keel, alice, Mode.Isolated, WETH);
      await fund(keel, "WETH", alice, 2n ** 121n);
      await expect(engine.connect(alice).deposit(id, WETH, 0n)).to.be.revertedWithCustomError(engine, "ZeroAmount");
      await expect(engine.connect(alice).deposit(id, WETH, U120_MAX + 1n))
        .to.be.revertedWithCustomError(engine, "AmountTooLarge")
        .withArgs(U120_MAX + 1n);
      await expect(engine.connect(alice).deposit(id, WETH, MaxUint256))
        .to.be.revertedWithCustomError(engine, "AmountTooLarge")
        .withArgs(MaxUint256);
      // 2^120 − 1 passes the size check and is stopped by the supply cap instead.
      const cap = keel.assets.WETH!.config.supplyCap;
      await expect(engine.connect(alice).deposit(id, WETH, U120_MAX))
        .to.be.revertedWithCustomError(engine, "SupplyCapExceeded")
        .withArgs(WETH, U120_MAX, cap);
      expect(await engine.collateralOf(id, WETH)).to.equal(0n);
    });

    it("test_deposit_positionNotFound: reverts PositionNotFound for an unknown id and for a closed one", async () => {
      const { keel, engine, alice, bob, WETH } = await setup();
      await fund(keel, "WETH", alice, 10n * E18);
      await expect(engine.connect(alice).deposit(1n, WETH, E18))
        .to.be.revertedWithCustomError(engine, "PositionNotFound")
        .withArgs(1n);
      const id = await openIsolated(keel, bob, "WETH", E18);
      await (await engine.connect(bob).close(id, bob.address)).wait();
      await expect(engine.connect(alice).deposit(id, WETH, E18))
        .to.be.revertedWithCustomError(engine, "PositionNotFound")
        .withArgs(id);
      await checkInvariants(keel);
    });

    it("test_deposit_assetNotListed_wrongAsset: reverts AssetNotListed for an unlisted asset and WrongAsset into an isolated position", async () => {
      const { keel, engine, alice, WETH, WBTC } = await setup();
      const { token } = await deployMockAsset("UNLISTED");
      const unlisted = await token.getAddress();
      await (await token.mint(alice.address, E18)).wait();
      await (await token.connect(alice).approve(await engine.getAddress(), MaxUint256)).wait();
      const cross = await open(keel, alice, Mode.Cross);
      await expect(engine.connect(alice).deposit(cross, unlisted, E18))
        .to.be.revertedWithCustomError(engine, "AssetNotListed")
        .withArgs(unlisted);
      const isolated = await open(keel, alice, Mode.Isolated, WETH);
      await fund(keel, "WBTC", alice, 10n ** 8n);
      await expect(engine.connect(alice).deposit(isolated, WBTC, 10n ** 8n))
        .to.be.revertedWithCustomError(engine, "WrongAsset")
        .withArgs(isolated, WBTC);
      await expect(engine.connect(alice).deposit(isolated, unlisted, E18))
        .to.be.revertedWithCustomError(engine, "AssetNotListed")
        .withArgs(unlisted);
      expect(await engine.collateralOf(isolated, WBTC)).to.equal(0n);
    });

    it("test_deposit_supplyCap: reverts SupplyCapExceeded across positions once governance lowers the cap; exactly the cap is fine", async () => {
      const { keel, engine, alice, bob, WETH } = await setup();
      await expect(governTx(keel, engine, engine.interface.encodeFunctionData("setSupplyCap", [WETH, 5n * E18])))
        .to.emit(engine, "SupplyCapSet")
        .withArgs(WETH, 5n * E18);
      const a = await openIsolated(keel, alice, "WETH", 3n * E18);
      await fund(keel, "WETH", alice, E18);
      const b = await open(keel, bob, Mode.Cross);
      await fund(keel, "WETH", bob, 3n * E18);
      await expect(engine.connect(bob).deposit(b, WETH, 3n * E18))
        .to.be.revertedWithCustomError(engine, "SupplyCapExceeded")
        .withArgs(WETH, 6n * E18, 5n * E18);
      await (await engine.connect(bob).deposit(b, WETH, 2n * E18)).wait();
      expect((await engine.collateralConfig(WETH))[1]).to.equal(5n * E18);
      await expect(engine.connect(alice).deposit(a, WETH, 1n))
        .to.be.revertedWithCustomError(engine, "SupplyCapExceeded")
        .withArgs(WETH, 5n * E18 + 1n, 5n * E18);
      // Withdrawing frees room under the cap.
      await (await engine.connect(alice).withdraw(a, WETH, E18, alice.address)).wait();
      await (await engine.connect(bob).deposit(b, WETH, E18)).wait();
      expect((await engine.collateralConfig(WETH))[1]).to.equal(5n * E18);
      await checkInvariants(keel);
    });

    it("test_deposit_crossBasket_maxEight: cross basket: grows to 8 distinct assets, the 9th reverts TooManyAssets, and shrinks when an asset reaches zero", async () => {
      const { keel, engine, alice, WETH, WBTC, USDC, WSTETH } = await setup();
      const extra = await listMockAssets(keel, 5);
      expect((await keel.risk.listedAssets()).length).to.equal(9);
      const extraAddresses = await Promise.all(extra.map((t) => t.getAddress()));
      for (const t of extra) {
        await (await t.mint(alice.address, 10n * E18)).wait();
        await (await t.connect(alice).approve(await engine.getAddress(), MaxUint256)).wait();
      }
      const id = await openCross(keel, alice, [
        ["WETH", E18],
        ["WBTC", 10n ** 8n],
        ["USDC", 1_000n * 10n ** 6n],
        ["wstETH", E18],
      ]);
      expect([...(await engine.collateralAssets(id))]).to.deep.equal([WETH, WBTC, USDC, WSTETH]);
      for (let i = 0; i < 4; i++) {
        await (await engine.connect(alice).deposit(id, extraAddresses[i]!, E18)).wait();
        expect((await engine.collateralAssets(id)).length).to.equal(5 + i);
      }
      const full = [WETH, WBTC, USDC, WSTETH, ...extraAddresses.slice(0, 4)];
      expect([...(await engine.collateralAssets(id))]).to.deep.equal(full);

      await expect(engine.connect(alice).deposit(id, extraAddresses[4]!, E18))
        .to.be.revertedWithCustomError(engine, "TooManyAssets")
        .withArgs(id);
      // Topping up an asset already held is fine at the limit.
      await fund(keel, "WETH", alice, E18);
      await expect(engine.connect(alice).deposit(id, WETH, E18))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Deposit, WETH, 2n * E18, 0n);
      // A partial withdrawal keeps the asset; withdrawing all of it frees a slot.
      await (await engine.connect(alice).withdraw(id, WBTC, 10n ** 7n, alice.address)).wait();
      expect((await engine.collateralAssets(id)).length).to.equal(8);
      await expect(engine.connect(alice).withdraw(id, WBTC, 9n * 10n ** 7n, alice.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Withdraw, WBTC, 0n, 0n);
      const afterRemoval = full.filter((a) => a !== WBTC);
      expect([...(await engine.collateralAssets(id))]).to.have.members(afterRemoval);
      expect((await engine.collateralAssets(id)).length).to.equal(7);

      await expect(engine.connect(alice).deposit(id, extraAddresses[4]!, E18))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Deposit, extraAddresses[4]!, E18, 0n);
      expect([...(await engine.collateralAssets(id))]).to.have.members([...afterRemoval, extraAddresses[4]!]);
      await fund(keel, "WBTC", alice, 10n ** 8n);
      await expect(engine.connect(alice).deposit(id, WBTC, 10n ** 8n))
        .to.be.revertedWithCustomError(engine, "TooManyAssets")
        .withArgs(id);
      await checkInvariants(keel);
    });
  });

  // ================================================================ withdraw

  describe("withdraw", () => {
    it("test_withdraw_noDebt: withdraws without debt and without reading the oracle", async () => {
      const { keel, engine, alice, bob, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await (await keel.assets.WETH!.feed.updateAnswer(0n)).wait(); // any oracle read would revert
      await expect(engine.connect(alice).withdraw(id, WETH, 4n * E18, bob.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Withdraw, WETH, 6n * E18, 0n)
        .and.to.emit(keel.assets.WETH!.token, "Transfer")
        .withArgs(await engine.getAddress(), bob.address, 4n * E18);
      expect(await engine.collateralOf(id, WETH)).to.equal(6n * E18);
      expect((await engine.collateralConfig(WETH))[1]).to.equal(6n * E18);
      expect(await keel.assets.WETH!.token.balanceOf(bob.address)).to.equal(4n * E18);
      // All of it, still without an oracle.
      await (await engine.connect(alice).withdraw(id, WETH, 6n * E18, alice.address)).wait();
      expect(await engine.collateralOf(id, WETH)).to.equal(0n);
      expect([...(await engine.collateralAssets(id))]).to.deep.equal([WETH]);
      await checkInvariants(keel);
    });

    it("test_withdraw_withDebt_healthy: withdraws with debt while HFi stays ≥ 1 (health equals the mirror)", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const { normDebt } = await borrowPinned(keel, alice, id, 10_000n * E18);
      await expect(engine.connect(alice).withdraw(id, WETH, 2n * E18, alice.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Withdraw, WETH, 8n * E18, normDebt);
      const { hf, hfInitial } = await expectedHealth(keel, id);
      expect([...(await engine.healthFactor(id))]).to.deep.equal([hf, hfInitial]);
      expect(hfInitial).to.be.gte(m.WAD);
      await checkInvariants(keel);
    });

    it("test_withdraw_unhealthy: reverts Unhealthy(id, hfInitial) with the mirror's exact HFi", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const { normDebt } = await borrowPinned(keel, alice, id, 20_000n * E18);
      const ts = await pinNext();
      const debt = m.toDebtUp(normDebt, await rateAt(keel, WETH, ts));
      const v = await expectedValuation(keel, [WETH], [7n * E18]);
      expect(v.value).to.equal(21_000n * E18);
      const hfInitial = m.healthFactorDown(v.value, v.initialLoss, debt);
      expect(hfInitial).to.be.lt(m.WAD);
      await expect(engine.connect(alice).withdraw(id, WETH, 3n * E18, alice.address))
        .to.be.revertedWithCustomError(engine, "Unhealthy")
        .withArgs(id, hfInitial);
      // Everything: the valuation is zero, so HFi = 0.
      await expect(engine.connect(alice).withdraw(id, WETH, 10n * E18, alice.address))
        .to.be.revertedWithCustomError(engine, "Unhealthy")
        .withArgs(id, 0n);
      expect(await engine.collateralOf(id, WETH)).to.equal(10n * E18);
      await checkInvariants(keel);
    });

    it("test_withdraw_wholeBasketWithDebt: reverts Unhealthy(id, 0) when a cross position with debt withdraws its whole basket", async () => {
      const { keel, engine, alice, USDC } = await setup();
      const id = await openCross(keel, alice, [["USDC", 10_000n * 10n ** 6n]]);
      await borrowPinned(keel, alice, id, 1_000n * E18);
      await expect(engine.connect(alice).withdraw(id, USDC, 10_000n * 10n ** 6n, alice.address))
        .to.be.revertedWithCustomError(engine, "Unhealthy")
        .withArgs(id, 0n);
      expect([...(await engine.collateralAssets(id))]).to.deep.equal([USDC]);
      await checkInvariants(keel);
    });

    it("test_withdraw_badInput: reverts InsufficientCollateral, WrongAsset, ZeroAmount, ZeroAddress and PositionNotFound", async () => {
      const { keel, engine, alice, WETH, WBTC } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await expect(engine.connect(alice).withdraw(id, WETH, 10n * E18 + 1n, alice.address))
        .to.be.revertedWithCustomError(engine, "InsufficientCollateral")
        .withArgs(id, WETH, 10n * E18);
      await expect(engine.connect(alice).withdraw(id, WBTC, 1n, alice.address))
        .to.be.revertedWithCustomError(engine, "WrongAsset")
        .withArgs(id, WBTC);
      await expect(engine.connect(alice).withdraw(id, WETH, 0n, alice.address)).to.be.revertedWithCustomError(
        engine,
        "ZeroAmount",
      );
      await expect(engine.connect(alice).withdraw(id, WETH, E18, ZeroAddress)).to.be.revertedWithCustomError(
        engine,
        "ZeroAddress",
      );
      await expect(engine.connect(alice).withdraw(99n, WETH, E18, alice.address))
        .to.be.revertedWithCustomError(engine, "PositionNotFound")
        .withArgs(99n);
      const cross = await openCross(keel, alice, [["WETH", E18]]);
      await expect(engine.connect(alice).withdraw(cross, WBTC, 1n, alice.address))
        .to.be.revertedWithCustomError(engine, "InsufficientCollateral")
        .withArgs(cross, WBTC, 0n);
      expect(await engine.collateralOf(id, WETH)).to.equal(10n * E18);
    });

    it("test_withdraw_stranger: reverts NotAuthorized for a stranger", async () => {
      const { keel, engine, alice, stranger, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await expect(engine.connect(stranger).withdraw(id, WETH, E18, stranger.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, stranger.address);
      expect(await engine.collateralOf(id, WETH)).to.equal(10n * E18);
    });

    it("test_withdraw_approvedAndOperator: works for the NFT-approved address and for an operator, for that owner's positions only", async () => {
      const { keel, engine, alice, bob, carol, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const other = await openIsolated(keel, bob, "WETH", 10n * E18);
      await (await keel.nft.connect(alice).approve(bob.address, id)).wait();
      await expect(engine.connect(bob).withdraw(id, WETH, E18, bob.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Withdraw, WETH, 9n * E18, 0n);
      await (await keel.nft.connect(alice).setApprovalForAll(carol.address, true)).wait();
      await expect(engine.connect(carol).withdraw(id, WETH, 2n * E18, carol.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Withdraw, WETH, 7n * E18, 0n);
      const { normDebt } = await borrowPinned(keel, carol, id, 1_000n * E18, carol.address);
      expect(normDebt).to.be.gt(0n);
      expect(await keel.kusd.balanceOf(carol.address)).to.equal(1_000n * E18);
      await expect(engine.connect(carol).withdraw(other, WETH, E18, carol.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(other, carol.address);
      expect(await keel.assets.WETH!.token.balanceOf(bob.address)).to.equal(E18);
      expect(await keel.assets.WETH!.token.balanceOf(carol.address)).to.equal(2n * E18);
      await checkInvariants(keel);
    });

    it("test_withdraw_shrinksBasket: shrinks the cross basket when an asset reaches zero", async () => {
      const { keel, engine, alice, WETH, USDC } = await setup();
      const id = await openCross(keel, alice, [
        ["WETH", 2n * E18],
        ["USDC", 500n * 10n ** 6n],
      ]);
      expect([...(await engine.collateralAssets(id))]).to.deep.equal([WETH, USDC]);
      await expect(engine.connect(alice).withdraw(id, USDC, 500n * 10n ** 6n, alice.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Withdraw, USDC, 0n, 0n);
      expect([...(await engine.collateralAssets(id))]).to.deep.equal([WETH]);
      expect(await engine.collateralOf(id, USDC)).to.equal(0n);
      await (await engine.connect(alice).withdraw(id, WETH, 2n * E18, alice.address)).wait();
      expect([...(await engine.collateralAssets(id))]).to.deep.equal([]);
      // Re-depositing re-adds it.
      await (await engine.connect(alice).deposit(id, USDC, 100n * 10n ** 6n)).wait();
      expect([...(await engine.collateralAssets(id))]).to.deep.equal([USDC]);
      await checkInvariants(keel);
    });
  });

  // ================================================================ borrow

  describe("borrow", () => {
    it("test_borrow_mintsAndRecords: mints kUSD to `to` and records normDebt = toNormDebtUp(amount, rate)", async () => {
      const { keel, engine, alice, bob, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const amount = 10_000n * E18;
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      expect(rate).to.be.gt(m.RAY); // the class has accrued since listing
      const normDebt = m.toNormDebtUp(amount, rate);
      await expect(engine.connect(alice).borrow(id, amount, bob.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Borrow, ZeroAddress, 0n, normDebt)
        .and.to.emit(keel.kusd, "Transfer")
        .withArgs(ZeroAddress, bob.address, amount);
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(amount);
      expect(await keel.kusd.totalSupply()).to.equal(amount);
      expect([...(await engine.positionInfo(id))]).to.deep.equal([Mode.Isolated, WETH, normDebt]);
      expect(await engine.debtOf(id)).to.equal(m.toDebtUp(normDebt, rate));
      const c = await engine.debtClass(WETH);
      expect([c.rate, c.normDebt, c.updatedAt]).to.deep.equal([rate, normDebt, ts]);
      expect(await engine.globalDebt()).to.equal(m.toDebtUp(normDebt, rate));
      expect(await engine.globalDebt()).to.equal(await storedGlobalDebt(keel));
      // 10 WETH at $3000: V = 30,000, Li = max(3.66 × 5%, 15%) × V = 5,490.
      const v = await expectedValuation(keel, [WETH], [10n * E18]);
      expect([v.value, v.initialLoss]).to.deep.equal([30_000n * E18, 5_490n * E18]);
      const { hf, hfInitial } = await expectedHealth(keel, id);
      expect([...(await engine.healthFactor(id))]).to.deep.equal([hf, hfInitial]);
      await checkInvariants(keel);
    });

    it("test_borrow_upToMaxDebt: borrows up to exactly maxDebt(valuation); maxDebt + 1 wei reverts Unhealthy", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const v = await expectedValuation(keel, [WETH], [10n * E18]);
      const cap = m.maxDebt(v);
      expect(cap).to.equal(24_510n * E18);

      let ts = await pinNext();
      let rate = await rateAt(keel, WETH, ts);
      const over = m.toDebtUp(m.toNormDebtUp(cap + 1n, rate), rate);
      await expect(engine.connect(alice).borrow(id, cap + 1n, alice.address))
        .to.be.revertedWithCustomError(engine, "Unhealthy")
        .withArgs(id, m.healthFactorDown(v.value, v.initialLoss, over));

      // The largest amount whose debt (rounded up twice) fits under maxDebt; it lands exactly on it.
      ts = await pinNext();
      rate = await rateAt(keel, WETH, ts);
      const debtFor = (a: bigint): bigint => m.toDebtUp(m.toNormDebtUp(a, rate), rate);
      let amount = cap;
      while (debtFor(amount) > cap) amount--;
      expect(cap - amount).to.be.lte(2n);
      expect(debtFor(amount + 1n)).to.be.gt(cap);
      await (await engine.connect(alice).borrow(id, amount, alice.address)).wait();
      expect(await engine.debtOf(id)).to.equal(debtFor(amount));
      expect(debtFor(amount)).to.equal(cap);
      const [, hfInitial] = await engine.healthFactor(id);
      expect(hfInitial).to.equal(m.healthFactorDown(v.value, v.initialLoss, cap));
      expect(hfInitial).to.equal(m.WAD);

      // One more wei is too much.
      ts = await pinNext();
      rate = await rateAt(keel, WETH, ts);
      const normAfter = (await normDebtOf(keel, id)) + m.toNormDebtUp(1n, rate);
      await expect(engine.connect(alice).borrow(id, 1n, alice.address))
        .to.be.revertedWithCustomError(engine, "Unhealthy")
        .withArgs(id, m.healthFactorDown(v.value, v.initialLoss, m.toDebtUp(normAfter, rate)));
      await checkInvariants(keel);
    });

    it("test_borrow_dust: reverts DustDebt(id, debt, dust) below the minimum debt", async () => {
      const { keel, engine, alice, WETH, dust } = await setup();
      expect(dust).to.equal(100n * E18);
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      const amount = 99n * E18;
      await expect(engine.connect(alice).borrow(id, amount, alice.address))
        .to.be.revertedWithCustomError(engine, "DustDebt")
        .withArgs(id, m.toDebtUp(m.toNormDebtUp(amount, rate), rate), dust);
      // At the dust, and then any top-up, is fine.
      await borrowPinned(keel, alice, id, dust);
      await borrowPinned(keel, alice, id, 1n);
      await checkInvariants(keel);
    });

    it("test_borrow_classCeiling: reverts DebtCeilingExceeded for the isolated asset's class", async () => {
      const { keel, engine, alice, bob, WETH } = await setup();
      const ceiling = 1_000n * E18;
      await (await governTx(keel, engine, engine.interface.encodeFunctionData("setDebtCeiling", [WETH, ceiling]))).wait();
      await refreshFeeds(keel);
      const a = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await openIsolated(keel, bob, "WETH", 10n * E18);
      const first = await borrowPinned(keel, alice, a, 600n * E18);
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      const classDebt = m.toDebtUp(first.normDebt + m.toNormDebtUp(500n * E18, rate), rate);
      await expect(engine.connect(bob).borrow(b, 500n * E18, bob.address))
        .to.be.revertedWithCustomError(engine, "DebtCeilingExceeded")
        .withArgs(WETH, classDebt, ceiling);
      // Other classes are unaffected.
      const cross = await openCross(keel, bob, [["WETH", 10n * E18]]);
      await borrowPinned(keel, bob, cross, 500n * E18);
      await checkInvariants(keel);
    });

    it("test_borrow_crossCeiling: reverts DebtCeilingExceeded for CROSS_CLASS", async () => {
      const { keel, engine, alice, CROSS } = await setup();
      const ceiling = 1_000n * E18;
      await expect(governTx(keel, engine, engine.interface.encodeFunctionData("setDebtCeiling", [CROSS, ceiling])))
        .to.emit(engine, "DebtCeilingSet")
        .withArgs(CROSS, ceiling);
      await refreshFeeds(keel);
      const id = await openCross(keel, alice, [["WETH", 10n * E18]]);
      const ts = await pinNext();
      const rate = await rateAt(keel, CROSS, ts);
      const amount = 1_000n * E18 + 1n;
      await expect(engine.connect(alice).borrow(id, amount, alice.address))
        .to.be.revertedWithCustomError(engine, "DebtCeilingExceeded")
        .withArgs(CROSS, m.toDebtUp(m.toNormDebtUp(amount, rate), rate), ceiling);
      await borrowPinned(keel, alice, id, 900n * E18);
      await checkInvariants(keel);
    });

    it("test_borrow_globalCeiling: reverts DebtCeilingExceeded(address(0), global, ceiling) for the global ceiling", async () => {
      const { keel, engine, alice, bob } = await setup();
      const ceiling = 2_000n * E18;
      await expect(governTx(keel, engine, engine.interface.encodeFunctionData("setGlobalDebtCeiling", [ceiling])))
        .to.emit(engine, "GlobalDebtCeilingSet")
        .withArgs(ceiling);
      expect(await engine.globalDebtCeiling()).to.equal(ceiling);
      await refreshFeeds(keel);
      const iso = await openIsolated(keel, alice, "WETH", 10n * E18);
      await borrowPinned(keel, alice, iso, 1_500n * E18);
      const cross = await openCross(keel, bob, [["WETH", 10n * E18]]);
      const stored = await engine.globalDebt();
      const ts = await pinNext();
      const rate = await rateAt(keel, await engine.CROSS_CLASS(), ts);
      const amount = 600n * E18;
      await expect(engine.connect(bob).borrow(cross, amount, bob.address))
        .to.be.revertedWithCustomError(engine, "DebtCeilingExceeded")
        .withArgs(ZeroAddress, stored + m.toDebtUp(m.toNormDebtUp(amount, rate), rate), ceiling);
      await borrowPinned(keel, bob, cross, 400n * E18);
      expect(await engine.globalDebt()).to.equal(await storedGlobalDebt(keel));
      expect(await engine.globalDebt()).to.be.lte(ceiling);
      await checkInvariants(keel);
    });

    it("test_borrow_paused: reverts Paused while paused by the guardian; repay, deposit, withdraw and close still work", async () => {
      const { keel, engine, guardian, alice, bob, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const spare = await openIsolated(keel, alice, "WETH", E18);
      await borrowPinned(keel, alice, id, 5_000n * E18);
      await expect(engine.connect(guardian).setPaused(true)).to.emit(engine, "PausedSet").withArgs(true);
      expect(await engine.paused()).to.equal(true);
      await expect(engine.connect(alice).borrow(id, 100n * E18, alice.address)).to.be.revertedWithCustomError(
        engine,
        "Paused",
      );
      await fund(keel, "WETH", bob, E18);
      await (await engine.connect(bob).deposit(id, WETH, E18)).wait();
      await (await engine.connect(alice).repay(id, 1_000n * E18)).wait();
      await (await engine.connect(alice).withdraw(id, WETH, 2n * E18, alice.address)).wait();
      await (await engine.connect(alice).close(spare, alice.address)).wait();
      expect(await engine.collateralOf(id, WETH)).to.equal(9n * E18);
      await expect(engine.connect(guardian).setPaused(false)).to.emit(engine, "PausedSet").withArgs(false);
      await borrowPinned(keel, alice, id, 100n * E18);
      await checkInvariants(keel);
    });

    it("test_borrow_badInput: reverts ZeroAmount, ZeroAddress, AmountTooLarge, PositionNotFound and NotAuthorized", async () => {
      const { keel, engine, alice, stranger } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await expect(engine.connect(alice).borrow(id, 0n, alice.address)).to.be.revertedWithCustomError(engine, "ZeroAmount");
      await expect(engine.connect(alice).borrow(id, 1_000n * E18, ZeroAddress)).to.be.revertedWithCustomError(
        engine,
        "ZeroAddress",
      );
      await expect(engine.connect(alice).borrow(id, MAX_DEBT_CEILING + 1n, alice.address))
        .to.be.revertedWithCustomError(engine, "AmountTooLarge")
        .withArgs(MAX_DEBT_CEILING + 1n);
      await expect(engine.connect(alice).borrow(id, MaxUint256, alice.address))
        .to.be.revertedWithCustomError(engine, "AmountTooLarge")
        .withArgs(MaxUint256);
      await expect(engine.connect(alice).borrow(7n, 1_000n * E18, alice.address))
        .to.be.revertedWithCustomError(engine, "PositionNotFound")
        .withArgs(7n);
      await expect(engine.connect(stranger).borrow(id, 1_000n * E18, stranger.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, stranger.address);
      expect(await keel.kusd.totalSupply()).to.equal(0n);
    });

    it("test_borrow_failedPrice: never proceeds on a failed price (StalePrice)", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const feed = keel.assets.WETH!.feed;
      const [, , , updatedAt] = await feed.latestRoundData();
      await time.increase(3_601n);
      await expect(engine.connect(alice).borrow(id, 1_000n * E18, alice.address))
        .to.be.revertedWithCustomError(keel.oracle, "StalePrice")
        .withArgs(await feed.getAddress(), updatedAt, 3_600n);
      expect(await normDebtOf(keel, id)).to.equal(0n);
      expect(await engine.collateralOf(id, WETH)).to.equal(10n * E18);
    });
  });

  // ================================================================ repay

  describe("repay", () => {
    it("test_repay_partial: repays partially, crediting toNormDebtDown(amount, rate)", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 10_000n * E18);
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      const removed = m.toNormDebtDown(4_000n * E18, rate);
      const fees = m.toDebtUp(b.normDebt, rate) - m.toDebtUp(b.normDebt, b.rate);
      await expect(engine.connect(alice).repay(id, 4_000n * E18))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Repay, ZeroAddress, 0n, b.normDebt - removed)
        .and.to.emit(engine, "Accrued")
        .withArgs(WETH, rate, fees)
        .and.to.emit(keel.kusd, "Transfer")
        .withArgs(alice.address, ZeroAddress, 4_000n * E18);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(6_000n * E18);
      expect(await normDebtOf(keel, id)).to.equal(b.normDebt - removed);
      expect(await engine.debtOf(id)).to.equal(m.toDebtUp(b.normDebt - removed, rate));
      expect((await engine.debtClass(WETH)).normDebt).to.equal(b.normDebt - removed);
      expect(await engine.globalDebt()).to.equal(await storedGlobalDebt(keel));
      // The return value of a partial repayment is the amount.
      expect(await engine.connect(alice).repay.staticCall(id, 1_000n * E18)).to.equal(1_000n * E18);
      await checkInvariants(keel);
    });

    it("test_repay_max: repays everything with type(uint256).max and returns the debt", async () => {
      const { keel, engine, alice, carol, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 10_000n * E18);
      await giveKusd(keel, carol, alice.address, 1_000n * E18);
      const latest = BigInt(await time.latest());
      expect(await engine.connect(alice).repay.staticCall(id, MaxUint256)).to.equal(
        m.toDebtUp(b.normDebt, await rateAt(keel, WETH, latest)),
      );
      const ts = await pinNext();
      const debt = m.toDebtUp(b.normDebt, await rateAt(keel, WETH, ts));
      const classBefore = (await engine.debtClass(WETH)).normDebt;
      await expect(engine.connect(alice).repay(id, MaxUint256))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Repay, ZeroAddress, 0n, 0n)
        .and.to.emit(keel.kusd, "Transfer")
        .withArgs(alice.address, ZeroAddress, debt);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(11_000n * E18 - debt);
      expect(await engine.debtOf(id)).to.equal(0n);
      expect(await normDebtOf(keel, id)).to.equal(0n);
      expect((await engine.debtClass(WETH)).normDebt).to.equal(classBefore - b.normDebt);
      expect([...(await engine.healthFactor(id))]).to.deep.equal([MaxUint256, MaxUint256]);
      await expect(engine.connect(alice).repay(id, 1n)).to.be.revertedWithCustomError(engine, "NoDebt").withArgs(id);
      await checkInvariants(keel);
    });

    it("test_repay_overDebt: repays everything when the amount exceeds the debt and burns only the debt", async () => {
      const { keel, engine, alice, carol, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 2_000n * E18);
      await giveKusd(keel, carol, alice.address, 1_000n * E18);
      const above = 2_500n * E18;
      const latest = BigInt(await time.latest());
      expect(await engine.connect(alice).repay.staticCall(id, above)).to.equal(
        m.toDebtUp(b.normDebt, await rateAt(keel, WETH, latest)),
      );
      const ts = await pinNext();
      const debt = m.toDebtUp(b.normDebt, await rateAt(keel, WETH, ts));
      await expect(engine.connect(alice).repay(id, above))
        .to.emit(keel.kusd, "Transfer")
        .withArgs(alice.address, ZeroAddress, debt)
        .and.to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Repay, ZeroAddress, 0n, 0n);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(3_000n * E18 - debt);
      expect(await engine.debtOf(id)).to.equal(0n);
      await checkInvariants(keel);
    });

    it("test_repay_badInput: reverts NoDebt, ZeroAmount (zero, or too small to credit) and PositionNotFound", async () => {
      const { keel, engine, alice } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await expect(engine.connect(alice).repay(id, 1_000n * E18)).to.be.revertedWithCustomError(engine, "NoDebt").withArgs(id);
      await borrowPinned(keel, alice, id, 1_000n * E18);
      await expect(engine.connect(alice).repay(id, 0n)).to.be.revertedWithCustomError(engine, "ZeroAmount");
      // rate > RAY, so 1 wei credits toNormDebtDown(1, rate) = 0 normalized debt.
      await expect(engine.connect(alice).repay(id, 1n)).to.be.revertedWithCustomError(engine, "ZeroAmount");
      await expect(engine.connect(alice).repay(42n, E18))
        .to.be.revertedWithCustomError(engine, "PositionNotFound")
        .withArgs(42n);
      await checkInvariants(keel);
    });

    it("test_repay_leavesDust: reverts DustDebt when a partial repayment leaves less than the dust", async () => {
      const { keel, engine, alice, WETH, dust } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 1_000n * E18);
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      const rest = m.toDebtUp(b.normDebt - m.toNormDebtDown(950n * E18, rate), rate);
      await expect(engine.connect(alice).repay(id, 950n * E18))
        .to.be.revertedWithCustomError(engine, "DustDebt")
        .withArgs(id, rest, dust);
      // Leaving at least the dust is fine.
      await (await engine.connect(alice).repay(id, 800n * E18)).wait();
      expect(await engine.debtOf(id)).to.be.gte(dust);
      await checkInvariants(keel);
    });

    it("test_repay_anyone: lets anyone repay any position, and never reads the oracle", async () => {
      const { keel, engine, alice, bob, carol, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 1_000n * E18);
      await giveKusd(keel, carol, bob.address, 500n * E18);
      await (await keel.assets.WETH!.feed.updateAnswer(-1n)).wait();
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      const left = b.normDebt - m.toNormDebtDown(300n * E18, rate);
      await expect(engine.connect(bob).repay(id, 300n * E18))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Repay, ZeroAddress, 0n, left)
        .and.to.emit(keel.kusd, "Transfer")
        .withArgs(bob.address, ZeroAddress, 300n * E18);
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(200n * E18);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(1_000n * E18);
      await checkInvariants(keel);
    });

    it("test_repay_insufficientBalance: reverts ERC20InsufficientBalance when the payer lacks the kUSD", async () => {
      const { keel, engine, alice, bob, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 1_000n * E18);
      await (await keel.kusd.connect(alice).transfer(bob.address, 900n * E18)).wait();
      await expect(engine.connect(alice).repay(id, 500n * E18))
        .to.be.revertedWithCustomError(keel.kusd, "ERC20InsufficientBalance")
        .withArgs(alice.address, 100n * E18, 500n * E18);
      const ts = await pinNext();
      const debt = m.toDebtUp(b.normDebt, await rateAt(keel, WETH, ts));
      await expect(engine.connect(alice).repay(id, MaxUint256))
        .to.be.revertedWithCustomError(keel.kusd, "ERC20InsufficientBalance")
        .withArgs(alice.address, 100n * E18, debt);
      expect(await normDebtOf(keel, id)).to.equal(b.normDebt);
      await checkInvariants(keel);
    });
  });

  // ================================================================ close

  describe("close", () => {
    it("test_close_noDebt: closes without debt: collateral to `to`, NFT burnt, PositionClosed, then PositionNotFound everywhere", async () => {
      const { keel, engine, alice, bob, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await (await keel.assets.WETH!.feed.updateAnswer(0n)).wait(); // close never reads the oracle
      await expect(engine.connect(alice).close(id, bob.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Close, ZeroAddress, 0n, 0n)
        .and.to.emit(engine, "PositionClosed")
        .withArgs(id)
        .and.to.emit(keel.nft, "Transfer")
        .withArgs(alice.address, ZeroAddress, id)
        .and.to.emit(keel.assets.WETH!.token, "Transfer")
        .withArgs(await engine.getAddress(), bob.address, 10n * E18);
      expect(await keel.assets.WETH!.token.balanceOf(bob.address)).to.equal(10n * E18);
      expect(await engine.collateralOf(id, WETH)).to.equal(0n);
      expect((await engine.collateralConfig(WETH))[1]).to.equal(0n);
      expect(await engine.debtOf(id)).to.equal(0n);
      await expect(keel.nft.ownerOf(id)).to.be.revertedWithCustomError(keel.nft, "ERC721NonexistentToken").withArgs(id);

      const notFound = (p: Promise<unknown>): Promise<void> =>
        expect(p).to.be.revertedWithCustomError(engine, "PositionNotFound").withArgs(id);
      await fund(keel, "WETH", alice, E18);
      await notFound(engine.connect(alice).deposit(id, WETH, E18));
      await notFound(engine.connect(alice).withdraw(id, WETH, E18, alice.address));
      await notFound(engine.connect(alice).borrow(id, 1_000n * E18, alice.address));
      await notFound(engine.connect(alice).repay(id, E18));
      await notFound(engine.connect(alice).close(id, alice.address));
      await notFound(engine.positionInfo(id));
      await notFound(engine.collateralAssets(id));
      await notFound(engine.healthFactor(id));
      await checkInvariants(keel);
    });

    it("test_close_withDebt: closes with debt: burns the debt from the caller and returns the collateral", async () => {
      const { keel, engine, alice, carol, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 5_000n * E18);
      await giveKusd(keel, carol, alice.address, 500n * E18);
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      const debt = m.toDebtUp(b.normDebt, rate);
      const classBefore = (await engine.debtClass(WETH)).normDebt;
      await expect(engine.connect(alice).close(id, alice.address))
        .to.emit(keel.kusd, "Transfer")
        .withArgs(alice.address, ZeroAddress, debt)
        .and.to.emit(engine, "PositionClosed")
        .withArgs(id)
        .and.to.emit(keel.assets.WETH!.token, "Transfer")
        .withArgs(await engine.getAddress(), alice.address, 10n * E18);
      expect(await keel.kusd.balanceOf(alice.address)).to.equal(5_500n * E18 - debt);
      expect(await keel.assets.WETH!.token.balanceOf(alice.address)).to.equal(10n * E18);
      expect((await engine.debtClass(WETH)).normDebt).to.equal(classBefore - b.normDebt);
      expect(await engine.globalDebt()).to.equal(await storedGlobalDebt(keel));
      await checkInvariants(keel);
    });

    it("test_close_cross: closes a cross position and returns every asset", async () => {
      const { keel, engine, alice, bob, carol, WETH, WBTC, USDC, WSTETH } = await setup();
      const holdings = [
        ["WETH", 2n * E18],
        ["WBTC", 10n ** 7n],
        ["USDC", 3_000n * 10n ** 6n],
        ["wstETH", 3n * E18],
      ] as const;
      const id = await openCross(keel, alice, holdings);
      await borrowPinned(keel, alice, id, 1_000n * E18);
      await giveKusd(keel, bob, alice.address, 100n * E18);
      const engineAddress = await engine.getAddress();
      const tx = engine.connect(alice).close(id, carol.address);
      await expect(tx).to.emit(engine, "PositionClosed").withArgs(id);
      for (const [symbol, amount] of holdings) {
        await expect(tx).to.emit(keel.assets[symbol]!.token, "Transfer").withArgs(engineAddress, carol.address, amount);
        expect(await keel.assets[symbol]!.token.balanceOf(carol.address)).to.equal(amount);
      }
      for (const asset of [WETH, WBTC, USDC, WSTETH]) {
        expect(await engine.collateralOf(id, asset)).to.equal(0n);
        expect((await engine.collateralConfig(asset))[1]).to.equal(asset === WETH ? 10n * E18 : 0n); // giveKusd's WETH
      }
      expect((await engine.debtClass(await engine.CROSS_CLASS())).normDebt).to.equal(0n);
      await checkInvariants(keel);
    });

    it("test_close_authorization: reverts NotAuthorized for a stranger, ZeroAddress for `to`; the approved address may close", async () => {
      const { keel, engine, alice, bob, stranger } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await expect(engine.connect(stranger).close(id, stranger.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, stranger.address);
      await expect(engine.connect(alice).close(id, ZeroAddress)).to.be.revertedWithCustomError(engine, "ZeroAddress");
      await (await keel.nft.connect(alice).approve(bob.address, id)).wait();
      await expect(engine.connect(bob).close(id, bob.address)).to.emit(engine, "PositionClosed").withArgs(id);
      expect(await keel.assets.WETH!.token.balanceOf(bob.address)).to.equal(10n * E18);
      await checkInvariants(keel);
    });
  });

  // ================================================================ control

  describe("control", () => {
    it("test_transfer_movesControl: an NFT transfer transfers control: the old owner gets NotAuthorized, the new owner can borrow", async () => {
      const { keel, engine, alice, bob, carol, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await (await keel.nft.connect(alice).approve(carol.address, id)).wait();
      await (await keel.nft.connect(alice).transferFrom(alice.address, bob.address, id)).wait();
      await expect(engine.connect(alice).withdraw(id, WETH, E18, alice.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, alice.address);
      await expect(engine.connect(alice).borrow(id, 1_000n * E18, alice.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, alice.address);
      // The transfer cleared the previous approval.
      await expect(engine.connect(carol).borrow(id, 1_000n * E18, carol.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, carol.address);
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      await expect(engine.connect(bob).borrow(id, 1_000n * E18, bob.address))
        .to.emit(engine, "PositionUpdated")
        .withArgs(id, Op.Borrow, ZeroAddress, 0n, m.toNormDebtUp(1_000n * E18, rate));
      expect(await keel.kusd.balanceOf(bob.address)).to.equal(1_000n * E18);
      await checkInvariants(keel);
    });

    it("test_opener_noAuthority: the opener who is not the owner has no authority in a later transaction", async () => {
      const { keel, engine, bob, carol, WETH } = await setup();
      await (await engine.connect(carol).open(Mode.Isolated, WETH, bob.address)).wait();
      const id = await engine.lastPositionId();
      await fund(keel, "WETH", carol, 10n * E18);
      await (await engine.connect(carol).deposit(id, WETH, 10n * E18)).wait(); // anyone may deposit
      await expect(engine.connect(carol).borrow(id, 1_000n * E18, carol.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, carol.address);
      await expect(engine.connect(carol).withdraw(id, WETH, E18, carol.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, carol.address);
      await expect(engine.connect(carol).close(id, carol.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, carol.address);
      await borrowPinned(keel, bob, id, 1_000n * E18);
      await checkInvariants(keel);
    });
  });

  // ================================================================ accrual and fees

  describe("accrual", () => {
    it("test_accrual_oneYear: after exactly one year at the WETH fee the debt and accruedFees equal the mirror; collectFees mints them", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const fee = (await engine.debtClass(WETH)).stabilityFee;
      expect(fee).to.equal(keel.assets.WETH!.config.stabilityFee);
      expect(fee).to.equal(m.perSecondFee(2n * 10n ** 16n));
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 10_000n * E18);
      await time.increaseTo(b.ts + YEAR);

      const r1 = m.accrueRateUp(b.rate, fee, YEAR);
      expect(await expectedRate(keel, WETH, YEAR)).to.equal(r1);
      expect(await engine.currentRate(WETH)).to.equal(r1);
      const debt = m.toDebtUp(b.normDebt, r1);
      expect(await engine.debtOf(id)).to.equal(debt);
      // 2% a year, compounded per second and never above the stated rate.
      expect(debt).to.be.lte(10_200n * E18 + 1n);
      expect(debt).to.be.gte(10_200n * E18 - 10n ** 9n);
      const fees = debt - m.toDebtUp(b.normDebt, b.rate);
      expect(await engine.accruedFees()).to.equal(fees);

      const ts = await pinNext();
      const r2 = await rateAt(keel, WETH, ts);
      const collected = m.toDebtUp(b.normDebt, r2) - m.toDebtUp(b.normDebt, b.rate);
      const surplus = await keel.surplus.getAddress();
      await expect(engine.collectFees())
        .to.emit(engine, "Accrued")
        .withArgs(WETH, r2, collected)
        .and.to.emit(engine, "FeesCollected")
        .withArgs(collected)
        .and.to.emit(keel.kusd, "Transfer")
        .withArgs(ZeroAddress, surplus, collected);
      expect(await keel.kusd.balanceOf(surplus)).to.equal(collected);
      expect(await keel.surplus.balance()).to.equal(collected);
      expect(await engine.accruedFees()).to.equal(0n);
      expect(await keel.kusd.totalSupply()).to.equal(10_000n * E18 + collected);
      expect(await engine.globalDebt()).to.equal(m.toDebtUp(b.normDebt, r2));
      await checkInvariants(keel);
    });

    it("test_accruedFees_everyClass: accruedFees sums every class (isolated WETH at 2%, cross at 3%)", async () => {
      const { keel, engine, alice, bob, WETH, CROSS } = await setup();
      const iso = await openIsolated(keel, alice, "WETH", 10n * E18);
      const cross = await openCross(keel, bob, [["WBTC", 10n ** 8n]]);
      const a = await borrowPinned(keel, alice, iso, 5_000n * E18);
      const c = await borrowPinned(keel, bob, cross, 7_000n * E18);
      await time.increase(30n * 86_400n);
      const now = BigInt(await time.latest());
      const expected =
        m.toDebtUp(a.normDebt, await rateAt(keel, WETH, now)) -
        m.toDebtUp(a.normDebt, a.rate) +
        (m.toDebtUp(c.normDebt, await rateAt(keel, CROSS, now)) - m.toDebtUp(c.normDebt, c.rate));
      expect(await engine.accruedFees()).to.equal(expected);
      expect(await engine.debtOf(cross)).to.equal(m.toDebtUp(c.normDebt, await rateAt(keel, CROSS, now)));
      const ts = await pinNext();
      const collected = (await pendingFeesAt(keel, WETH, ts)) + (await pendingFeesAt(keel, CROSS, ts));
      await expect(engine.collectFees()).to.emit(engine, "FeesCollected").withArgs(collected);
      await checkInvariants(keel);
    });

    it("test_collectFees_nothing: reverts NothingToCollect when nothing has accrued", async () => {
      const { keel, engine, alice } = await setup();
      await expect(engine.collectFees()).to.be.revertedWithCustomError(engine, "NothingToCollect");
      // Positions without debt accrue nothing either.
      await openIsolated(keel, alice, "WETH", 10n * E18);
      await time.increase(YEAR);
      expect(await engine.accruedFees()).to.equal(0n);
      await expect(engine.collectFees()).to.be.revertedWithCustomError(engine, "NothingToCollect");
    });

    it("test_setStabilityFee_accruesFirst: setStabilityFee accrues at the old fee first, then the new fee applies", async () => {
      const { keel, engine, alice, WETH } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const b = await borrowPinned(keel, alice, id, 10_000n * E18);
      const newFee = m.perSecondFee(10n ** 17n); // 10% a year
      const execute = await prepareGoverned(keel, engine, engine.interface.encodeFunctionData("setStabilityFee", [WETH, newFee]));
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      await expect(execute())
        .to.emit(engine, "Accrued")
        .withArgs(WETH, rate, m.toDebtUp(b.normDebt, rate) - m.toDebtUp(b.normDebt, b.rate))
        .and.to.emit(engine, "StabilityFeeSet")
        .withArgs(WETH, newFee);
      const c = await engine.debtClass(WETH);
      expect([c.rate, c.updatedAt, c.stabilityFee]).to.deep.equal([rate, ts, newFee]);
      await time.increaseTo(ts + YEAR);
      expect(await engine.debtOf(id)).to.equal(m.toDebtUp(b.normDebt, m.accrueRateUp(rate, newFee, YEAR)));
      await checkInvariants(keel);
    });

    describe("MAX_STABILITY_FEE for 100 years", () => {
      /** A 1,000 kUSD WETH position, the WETH fee raised to the maximum, then 100 years later (block mined). */
      async function century(): Promise<Ctx & { id: bigint; b: { ts: bigint; rate: bigint; normDebt: bigint }; T: bigint }> {
        const ctx = await setup();
        const { keel, engine, alice, WETH } = ctx;
        const id = await openIsolated(keel, alice, "WETH", 10n * E18);
        const b = await borrowPinned(keel, alice, id, 1_000n * E18);
        // 100 kUSD more from a cross position (3% a year), to cover the wei the WETH debt rounds up by.
        const spare = await openCross(keel, ctx.carol, [["USDC", 10_000n * 10n ** 6n]]);
        await (await engine.connect(ctx.carol).borrow(spare, 100n * E18, alice.address)).wait();
        const maxFee = await engine.MAX_STABILITY_FEE();
        expect(maxFee).to.equal(m.perSecondFee(m.WAD)); // 100% a year
        await (await governTx(keel, engine, engine.interface.encodeFunctionData("setStabilityFee", [WETH, maxFee]))).wait();
        const c = await engine.debtClass(WETH);
        const T = c.updatedAt + 100n * YEAR;
        await time.increaseTo(T);
        return { ...ctx, id, b, T };
      }

      it("test_maxStabilityFee_noOverflow: debtOf and accruedFees do not overflow and equal the mirror", async () => {
        const { keel, engine, id, b, T, WETH, CROSS } = await century();
        const rate = await rateAt(keel, WETH, T);
        const debt = m.toDebtUp(b.normDebt, rate);
        expect(await engine.currentRate(WETH)).to.equal(rate);
        expect(await engine.debtOf(id)).to.equal(debt);
        expect(debt).to.be.gt(2n ** 99n * 1_000n * E18); // doubled a hundred times, at least
        const crossFees = await pendingFeesAt(keel, CROSS, T);
        expect(await engine.accruedFees()).to.equal(debt - m.toDebtUp(b.normDebt, b.rate) + crossFees);
      });

      it("test_collectFees_maxFee100Years: mints exactly the accrued fees, which outgrow 128 bits", async () => {
        const { keel, engine, b, WETH, CROSS } = await century();
        const ts = await pinNext();
        const rate = await rateAt(keel, WETH, ts);
        const wethFees = m.toDebtUp(b.normDebt, rate) - m.toDebtUp(b.normDebt, b.rate);
        expect(wethFees).to.be.gt(2n ** 128n); // beyond uint128: the width of `_fees` and `_globalDebt`
        const fees = wethFees + (await pendingFeesAt(keel, CROSS, ts));
        const surplus = await keel.surplus.getAddress();
        await expect(engine.collectFees()).to.emit(engine, "FeesCollected").withArgs(fees);
        expect(await keel.kusd.balanceOf(surplus)).to.equal(fees);
        expect(await engine.accruedFees()).to.equal(0n);
        expect(await engine.globalDebt()).to.equal(await storedGlobalDebt(keel));
        expect((await engine.debtClass(WETH)).rate).to.equal(rate);
        await checkInvariants(keel);
      });

      it("test_repayAll_maxFee100Years: clears the 100-year debt with the collected fees", async () => {
        const { keel, engine, alice, id, b, WETH } = await century();
        // Collect the fees, let governance hand them to the borrower and repay everything, all in one block,
        // so the system stays closed (the buffer's kUSD is the only kUSD that can cover a debt this large).
        const ts = BigInt(await time.latest()) + 1n;
        const rate = await rateAt(keel, WETH, ts);
        const debt = m.toDebtUp(b.normDebt, rate);
        const fees = debt - m.toDebtUp(b.normDebt, b.rate); // the WETH class's share of what collectFees mints
        const timelock = await keel.timelock.getAddress();
        await impersonateAccount(timelock);
        await setBalance(timelock, 10n ** 20n);
        const governor = await ethers.getSigner(timelock);
        await network.provider.send("evm_setAutomine", [false]);
        const hashes: string[] = [];
        try {
          hashes.push((await engine.collectFees({ gasLimit: 1_000_000n })).hash);
          hashes.push((await keel.surplus.connect(governor).spend(alice.address, fees, { gasLimit: 200_000n })).hash);
          hashes.push((await engine.connect(alice).repay(id, MaxUint256, { gasLimit: 500_000n })).hash);
          await time.setNextBlockTimestamp(ts);
          await mine();
        } finally {
          await network.provider.send("evm_setAutomine", [true]);
          await stopImpersonatingAccount(timelock);
        }
        const statuses = await Promise.all(hashes.map(async (h) => (await ethers.provider.getTransactionReceipt(h))?.status));
        expect(statuses).to.deep.equal([1, 1, 1]);
        expect(await engine.debtOf(id)).to.equal(0n);
        expect((await engine.debtClass(WETH)).normDebt).to.equal(0n);
        expect(await keel.kusd.balanceOf(alice.address)).to.equal(1_100n * E18 + fees - debt);
        expect(await engine.globalDebt()).to.equal(await storedGlobalDebt(keel));
        await checkInvariants(keel);
      });
    });
  });

  // ================================================================ governance

  describe("governance setters", () => {
    const encode = (keel: Keel, fn: string, args: readonly unknown[]): string =>
      (keel.engine.interface as Interface).encodeFunctionData(fn, args);

    it("test_setStabilityFee_guards: setStabilityFee: range, unknown class, NoChange, stranger, event", async () => {
      const { keel, engine, guardian, stranger, WETH, CROSS } = await setup();
      const max = await engine.MAX_STABILITY_FEE();
      await expect(governTx(keel, engine, encode(keel, "setStabilityFee", [WETH, m.RAY - 1n])))
        .to.be.revertedWithCustomError(engine, "InvalidParameter")
        .withArgs(bytes32("stabilityFee"), m.RAY - 1n);
      await expect(governTx(keel, engine, encode(keel, "setStabilityFee", [WETH, max + 1n])))
        .to.be.revertedWithCustomError(engine, "InvalidParameter")
        .withArgs(bytes32("stabilityFee"), max + 1n);
      const current = (await engine.debtClass(WETH)).stabilityFee;
      await expect(governTx(keel, engine, encode(keel, "setStabilityFee", [WETH, current]))).to.be.revertedWithCustomError(
        engine,
        "NoChange",
      );
      await expect(governTx(keel, engine, encode(keel, "setStabilityFee", [ZeroAddress, m.RAY])))
        .to.be.revertedWithCustomError(engine, "AssetNotListed")
        .withArgs(ZeroAddress);
      await expect(engine.connect(stranger).setStabilityFee(WETH, m.RAY))
        .to.be.revertedWithCustomError(engine, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(engine.connect(guardian).setStabilityFee(WETH, m.RAY))
        .to.be.revertedWithCustomError(engine, "AccessManagedUnauthorized")
        .withArgs(guardian.address);
      await expect(governTx(keel, engine, encode(keel, "setStabilityFee", [WETH, m.RAY])))
        .to.emit(engine, "StabilityFeeSet")
        .withArgs(WETH, m.RAY);
      await expect(governTx(keel, engine, encode(keel, "setStabilityFee", [CROSS, max])))
        .to.emit(engine, "StabilityFeeSet")
        .withArgs(CROSS, max);
      expect((await engine.debtClass(WETH)).stabilityFee).to.equal(m.RAY);
      expect((await engine.debtClass(CROSS)).stabilityFee).to.equal(max);
      await checkInvariants(keel);
    });

    it("test_setDebtCeiling_guards: setDebtCeiling: range, unknown class, NoChange, stranger, event", async () => {
      const { keel, engine, stranger, WBTC, CROSS } = await setup();
      await expect(governTx(keel, engine, encode(keel, "setDebtCeiling", [WBTC, MAX_DEBT_CEILING + 1n])))
        .to.be.revertedWithCustomError(engine, "InvalidParameter")
        .withArgs(bytes32("debtCeiling"), MAX_DEBT_CEILING + 1n);
      const current = (await engine.debtClass(WBTC)).debtCeiling;
      expect(current).to.equal(keel.assets.WBTC!.config.debtCeiling);
      await expect(governTx(keel, engine, encode(keel, "setDebtCeiling", [WBTC, current]))).to.be.revertedWithCustomError(
        engine,
        "NoChange",
      );
      const { token } = await deployMockAsset("UNLISTED");
      const unlisted = await token.getAddress();
      await expect(governTx(keel, engine, encode(keel, "setDebtCeiling", [unlisted, E18])))
        .to.be.revertedWithCustomError(engine, "AssetNotListed")
        .withArgs(unlisted);
      await expect(engine.connect(stranger).setDebtCeiling(WBTC, 0n))
        .to.be.revertedWithCustomError(engine, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(governTx(keel, engine, encode(keel, "setDebtCeiling", [WBTC, MAX_DEBT_CEILING])))
        .to.emit(engine, "DebtCeilingSet")
        .withArgs(WBTC, MAX_DEBT_CEILING);
      await expect(governTx(keel, engine, encode(keel, "setDebtCeiling", [CROSS, 0n])))
        .to.emit(engine, "DebtCeilingSet")
        .withArgs(CROSS, 0n);
      expect((await engine.debtClass(WBTC)).debtCeiling).to.equal(MAX_DEBT_CEILING);
      expect((await engine.debtClass(CROSS)).debtCeiling).to.equal(0n);
      await checkInvariants(keel);
    });

    it("test_setSupplyCap_guards: setSupplyCap: range, unlisted asset, NoChange, stranger, event; zero freezes deposits", async () => {
      const { keel, engine, alice, stranger, USDC, CROSS } = await setup();
      await expect(governTx(keel, engine, encode(keel, "setSupplyCap", [USDC, U120_MAX + 1n])))
        .to.be.revertedWithCustomError(engine, "InvalidParameter")
        .withArgs(bytes32("supplyCap"), U120_MAX + 1n);
      const [current] = await engine.collateralConfig(USDC);
      await expect(governTx(keel, engine, encode(keel, "setSupplyCap", [USDC, current]))).to.be.revertedWithCustomError(
        engine,
        "NoChange",
      );
      await expect(governTx(keel, engine, encode(keel, "setSupplyCap", [CROSS, 1n])))
        .to.be.revertedWithCustomError(engine, "AssetNotListed")
        .withArgs(CROSS);
      await expect(engine.connect(stranger).setSupplyCap(USDC, 1n))
        .to.be.revertedWithCustomError(engine, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(governTx(keel, engine, encode(keel, "setSupplyCap", [USDC, U120_MAX])))
        .to.emit(engine, "SupplyCapSet")
        .withArgs(USDC, U120_MAX);
      await expect(governTx(keel, engine, encode(keel, "setSupplyCap", [USDC, 0n])))
        .to.emit(engine, "SupplyCapSet")
        .withArgs(USDC, 0n);
      const id = await open(keel, alice, Mode.Cross);
      await fund(keel, "USDC", alice, 10n ** 6n);
      await expect(engine.connect(alice).deposit(id, USDC, 10n ** 6n))
        .to.be.revertedWithCustomError(engine, "SupplyCapExceeded")
        .withArgs(USDC, 10n ** 6n, 0n);
      await checkInvariants(keel);
    });

    it("test_setGlobalDebtCeiling_guards: setGlobalDebtCeiling: range, NoChange, stranger, event", async () => {
      const { keel, engine, stranger } = await setup();
      await expect(governTx(keel, engine, encode(keel, "setGlobalDebtCeiling", [MAX_DEBT_CEILING + 1n])))
        .to.be.revertedWithCustomError(engine, "InvalidParameter")
        .withArgs(bytes32("debtCeiling"), MAX_DEBT_CEILING + 1n);
      const current = await engine.globalDebtCeiling();
      expect(current).to.equal(keel.config.globalDebtCeiling);
      await expect(governTx(keel, engine, encode(keel, "setGlobalDebtCeiling", [current]))).to.be.revertedWithCustomError(
        engine,
        "NoChange",
      );
      await expect(engine.connect(stranger).setGlobalDebtCeiling(1n))
        .to.be.revertedWithCustomError(engine, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(governTx(keel, engine, encode(keel, "setGlobalDebtCeiling", [MAX_DEBT_CEILING])))
        .to.emit(engine, "GlobalDebtCeilingSet")
        .withArgs(MAX_DEBT_CEILING);
      expect(await engine.globalDebtCeiling()).to.equal(MAX_DEBT_CEILING);
      await checkInvariants(keel);
    });

    it("test_setDust_guards: setDust: range, NoChange, stranger, event; a new dust applies to the next borrow", async () => {
      const { keel, engine, alice, stranger, WETH } = await setup();
      await expect(governTx(keel, engine, encode(keel, "setDust", [MAX_DUST + 1n])))
        .to.be.revertedWithCustomError(engine, "InvalidParameter")
        .withArgs(bytes32("dust"), MAX_DUST + 1n);
      await expect(governTx(keel, engine, encode(keel, "setDust", [100n * E18]))).to.be.revertedWithCustomError(
        engine,
        "NoChange",
      );
      await expect(engine.connect(stranger).setDust(0n))
        .to.be.revertedWithCustomError(engine, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(governTx(keel, engine, encode(keel, "setDust", [MAX_DUST])))
        .to.emit(engine, "DustSet")
        .withArgs(MAX_DUST);
      await expect(governTx(keel, engine, encode(keel, "setDust", [500n * E18])))
        .to.emit(engine, "DustSet")
        .withArgs(500n * E18);
      expect(await engine.dust()).to.equal(500n * E18);
      await refreshFeeds(keel);
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      const ts = await pinNext();
      const rate = await rateAt(keel, WETH, ts);
      await expect(engine.connect(alice).borrow(id, 400n * E18, alice.address))
        .to.be.revertedWithCustomError(engine, "DustDebt")
        .withArgs(id, m.toDebtUp(m.toNormDebtUp(400n * E18, rate), rate), 500n * E18);
      await expect(governTx(keel, engine, encode(keel, "setDust", [0n])))
        .to.emit(engine, "DustSet")
        .withArgs(0n);
      await refreshFeeds(keel);
      await borrowPinned(keel, alice, id, 1n);
      await checkInvariants(keel);
    });

    it("test_setPaused_guardianOnly: setPaused: guardian only (no timelock), NoChange, event", async () => {
      const { keel, engine, guardian, stranger } = await setup();
      await expect(engine.connect(guardian).setPaused(false)).to.be.revertedWithCustomError(engine, "NoChange");
      await expect(engine.connect(stranger).setPaused(true))
        .to.be.revertedWithCustomError(engine, "AccessManagedUnauthorized")
        .withArgs(stranger.address);
      await expect(engine.connect(guardian).setPaused(true)).to.emit(engine, "PausedSet").withArgs(true);
      await expect(engine.connect(guardian).setPaused(true)).to.be.revertedWithCustomError(engine, "NoChange");
      expect(await engine.paused()).to.equal(true);
      await checkInvariants(keel);
    });

    it("test_listAsset_guards: listAsset: lists with its class and cap; AssetAlreadyListed, ZeroAddress, InvalidParameter, stranger", async () => {
      const { keel, engine, alice, stranger, WETH, CROSS } = await setup();
      const { token, feed, aggregator } = await deployMockAsset("NEW");
      const asset = await token.getAddress();
      // Each governed call waits 2 days: re-publish the new feed's answer right before executing.
      const list = async (listing: IVaultEngine.ListingStruct): Promise<ContractTransactionResponse> => {
        const execute = await prepareGoverned(keel, engine, encode(keel, "listAsset", [asset, listing]));
        await (await aggregator.updateAnswer(100n * 10n ** 8n)).wait();
        return execute();
      };
      const listed = (await keel.risk.listedAssets()).length;
      const config = { stabilityFee: m.perSecondFee(5n * 10n ** 16n), debtCeiling: 1_000_000n * E18, supplyCap: 50_000n * E18 };
      const listing = mockListing(feed, listed, config);

      await expect(governTx(keel, engine, encode(keel, "listAsset", [WETH, mockListing(feed, listed)])))
        .to.be.revertedWithCustomError(engine, "AssetAlreadyListed")
        .withArgs(WETH);
      await expect(governTx(keel, engine, encode(keel, "listAsset", [ZeroAddress, listing]))).to.be.revertedWithCustomError(
        engine,
        "ZeroAddress",
      );
      await expect(governTx(keel, engine, encode(keel, "listAsset", [CROSS, listing]))).to.be.revertedWithCustomError(
        engine,
        "ZeroAddress",
      );
      const bigCap = mockListing(feed, listed, { ...config, supplyCap: U120_MAX + 1n });
      await expect(list(bigCap))
        .to.be.revertedWithCustomError(engine, "InvalidParameter")
        .withArgs(bytes32("supplyCap"), U120_MAX + 1n);
      const badFee = mockListing(feed, listed, { ...config, stabilityFee: m.RAY - 1n });
      await expect(list(badFee))
        .to.be.revertedWithCustomError(engine, "InvalidParameter")
        .withArgs(bytes32("stabilityFee"), m.RAY - 1n);
      await expect(engine.connect(stranger).listAsset(asset, listing))
        .to.be.revertedWithCustomError(engine, "AccessManagedUnauthorized")
        .withArgs(stranger.address);

      await expect(list(listing))
        .to.emit(engine, "AssetListed")
        .withArgs(asset, [config.stabilityFee, config.debtCeiling, config.supplyCap])
        .and.to.emit(engine, "StabilityFeeSet")
        .withArgs(asset, config.stabilityFee)
        .and.to.emit(engine, "DebtCeilingSet")
        .withArgs(asset, config.debtCeiling);
      expect([...(await engine.collateralConfig(asset))]).to.deep.equal([config.supplyCap, 0n, true]);
      const c = await engine.debtClass(asset);
      expect([c.rate, c.normDebt, c.stabilityFee, c.debtCeiling]).to.deep.equal([m.RAY, 0n, config.stabilityFee, config.debtCeiling]);
      expect(await keel.oracle.getPrice(asset)).to.equal(100n * E18);
      await expect(list(mockListing(feed, listed + 1)))
        .to.be.revertedWithCustomError(engine, "AssetAlreadyListed")
        .withArgs(asset);

      // The new asset works as isolated collateral at once.
      await (await token.mint(alice.address, 100n * E18)).wait();
      await (await token.connect(alice).approve(await engine.getAddress(), MaxUint256)).wait();
      const id = await open(keel, alice, Mode.Isolated, asset);
      await (await engine.connect(alice).deposit(id, asset, 100n * E18)).wait();
      await borrowPinned(keel, alice, id, 1_000n * E18);
      await checkInvariants(keel);
    });
  });

  // ================================================================ failed calls

  describe("bad input leaves state untouched", () => {
    it("test_badInput_changesNothing: zero amounts, unknown ids, wrong assets and oversized amounts change nothing", async () => {
      const { keel, engine, alice, stranger, WETH, WBTC } = await setup();
      const id = await openIsolated(keel, alice, "WETH", 10n * E18);
      await borrowPinned(keel, alice, id, 5_000n * E18);
      await fund(keel, "WETH", alice, 2n ** 121n);
      await fund(keel, "WBTC", alice, 10n ** 8n);
      const engineAddress = await engine.getAddress();

      const snapshot = async (): Promise<unknown[]> => {
        const c = await engine.debtClass(WETH);
        return [
          await engine.collateralOf(id, WETH),
          await engine.collateralOf(id, WBTC),
          await normDebtOf(keel, id),
          c.rate,
          c.normDebt,
          c.updatedAt,
          await engine.globalDebt(),
          (await engine.collateralConfig(WETH))[1],
          await keel.assets.WETH!.token.balanceOf(engineAddress),
          await keel.kusd.totalSupply(),
          await keel.kusd.balanceOf(alice.address),
          await engine.lastPositionId(),
        ];
      };
      const before = await snapshot();
      const e = engine.connect(alice);

      await expect(e.deposit(id, WETH, 0n)).to.be.revertedWithCustomError(engine, "ZeroAmount");
      await expect(e.deposit(99n, WETH, E18)).to.be.revertedWithCustomError(engine, "PositionNotFound").withArgs(99n);
      await expect(e.deposit(id, WBTC, 10n ** 8n)).to.be.revertedWithCustomError(engine, "WrongAsset").withArgs(id, WBTC);
      await expect(e.deposit(id, WETH, 2n ** 120n)).to.be.revertedWithCustomError(engine, "AmountTooLarge").withArgs(2n ** 120n);
      await expect(e.withdraw(id, WETH, 0n, alice.address)).to.be.revertedWithCustomError(engine, "ZeroAmount");
      await expect(e.withdraw(99n, WETH, E18, alice.address)).to.be.revertedWithCustomError(engine, "PositionNotFound").withArgs(99n);
      await expect(e.withdraw(id, WBTC, 1n, alice.address)).to.be.revertedWithCustomError(engine, "WrongAsset").withArgs(id, WBTC);
      await expect(e.withdraw(id, WETH, 2n ** 120n, alice.address))
        .to.be.revertedWithCustomError(engine, "InsufficientCollateral")
        .withArgs(id, WETH, 10n * E18);
      await expect(e.borrow(id, 0n, alice.address)).to.be.revertedWithCustomError(engine, "ZeroAmount");
      await expect(e.borrow(99n, E18 * 100n, alice.address)).to.be.revertedWithCustomError(engine, "PositionNotFound").withArgs(99n);
      await expect(e.borrow(id, MAX_DEBT_CEILING + 1n, alice.address))
        .to.be.revertedWithCustomError(engine, "AmountTooLarge")
        .withArgs(MAX_DEBT_CEILING + 1n);
      await expect(engine.connect(stranger).borrow(id, 100n * E18, stranger.address))
        .to.be.revertedWithCustomError(engine, "NotAuthorized")
        .withArgs(id, stranger.address);
      await expect(e.repay(id, 0n)).to.be.revertedWithCustomError(engine, "ZeroAmount");
      await expect(e.repay(99n, E18)).to.be.revertedWithCustomError(engine, "PositionNotFound").withArgs(99n);
      await expect(e.close(99n, alice.address)).to.be.revertedWithCustomError(engine, "PositionNotFound").withArgs(99n);

      expect(await snapshot()).to.deep.equal(before);
      await checkInvariants(keel);
    });
  });
});
