import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits, ZeroAddress } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Keel } from "../../deploy";
import { loadKeel } from "../helpers/fixtures";
import { checkInvariants } from "../helpers/invariant";
import { debtAfterBorrow } from "../helpers/mirror";

/** An isolated WETH position of `owner` holding 10 WETH ($30,000), without debt. */
async function wethPosition(keel: Keel, owner: HardhatEthersSigner): Promise<bigint> {
  const weth = keel.assets.WETH!.token;
  const amount = parseUnits("10", 18);
  await (await weth.mint(owner.address, amount)).wait();
  await (await weth.connect(owner).approve(keel.engine, amount)).wait();
  await (await keel.engine.connect(owner).open(0, await weth.getAddress(), owner.address)).wait();
  const id = await keel.engine.lastPositionId();
  await (await keel.engine.connect(owner).deposit(id, await weth.getAddress(), amount)).wait();
  return id;
}

describe("PositionNFT", () => {
  it("test_metadata_nameAndEngine: is Keel Position (KEEL-POS), bound to the engine", async () => {
    const keel = await loadKeel();
    expect(await keel.nft.name()).to.equal("Keel Position");
    expect(await keel.nft.symbol()).to.equal("KEEL-POS");
    expect(await keel.nft.engine()).to.equal(await keel.engine.getAddress());
  });

  it("test_mintBurn_onlyEngine: mint and burn are refused to anyone but the engine: OnlyEngine(caller)", async () => {
    const keel = await loadKeel();
    const [deployer, alice, stranger] = await ethers.getSigners();
    const id = await wethPosition(keel, alice!);
    for (const caller of [deployer!, stranger!, alice!]) {
      await expect(keel.nft.connect(caller).mint(caller.address, 999n))
        .to.be.revertedWithCustomError(keel.nft, "OnlyEngine")
        .withArgs(caller.address);
      await expect(keel.nft.connect(caller).burn(id))
        .to.be.revertedWithCustomError(keel.nft, "OnlyEngine")
        .withArgs(caller.address);
    }
    expect(await keel.nft.ownerOf(id)).to.equal(alice!.address);
  });

  it("test_mintBurn_openAndClose: the engine mints the position id to the owner on open and burns it on close", async () => {
    const keel = await loadKeel();
    const [, alice, bob] = await ethers.getSigners();
    // Opening for someone else: the NFT goes to `owner`, not to the caller.
    await expect(keel.engine.connect(alice!).open(1, ZeroAddress, bob!.address))
      .to.emit(keel.nft, "Transfer")
      .withArgs(ZeroAddress, bob!.address, 1n);
    expect(await keel.engine.lastPositionId()).to.equal(1n);
    expect(await keel.nft.ownerOf(1n)).to.equal(bob!.address);
    expect(await keel.nft.balanceOf(bob!.address)).to.equal(1n);
    await expect(keel.engine.connect(bob!).close(1n, bob!.address))
      .to.emit(keel.nft, "Transfer")
      .withArgs(bob!.address, ZeroAddress, 1n);
    await expect(keel.nft.ownerOf(1n)).to.be.revertedWithCustomError(keel.nft, "ERC721NonexistentToken").withArgs(1n);
    await checkInvariants(keel);
  });

  it("test_isAuthorized: isAuthorized: owner, approved and operator yes, stranger no; unknown id reverts", async () => {
    const keel = await loadKeel();
    const [, alice, approved, operator, stranger] = await ethers.getSigners();
    const id = await wethPosition(keel, alice!);
    expect(await keel.nft.isAuthorized(alice!.address, id)).to.equal(true);
    expect(await keel.nft.isAuthorized(approved!.address, id)).to.equal(false);
    await (await keel.nft.connect(alice!).approve(approved!.address, id)).wait();
    await (await keel.nft.connect(alice!).setApprovalForAll(operator!.address, true)).wait();
    expect(await keel.nft.isAuthorized(approved!.address, id)).to.equal(true);
    expect(await keel.nft.isAuthorized(operator!.address, id)).to.equal(true);
    expect(await keel.nft.isAuthorized(stranger!.address, id)).to.equal(false);
    expect(await keel.nft.isAuthorized(ZeroAddress, id)).to.equal(false);
    await (await keel.nft.connect(alice!).setApprovalForAll(operator!.address, false)).wait();
    expect(await keel.nft.isAuthorized(operator!.address, id)).to.equal(false);
    for (const unknown of [0n, id + 1n]) {
      await expect(keel.nft.isAuthorized(alice!.address, unknown))
        .to.be.revertedWithCustomError(keel.nft, "ERC721NonexistentToken")
        .withArgs(unknown);
    }
  });

  it("test_borrow_approvedAndOperator: approved and operator accounts may borrow for the owner; strangers get NotAuthorized", async () => {
    const keel = await loadKeel();
    const [, alice, approved, operator, stranger] = await ethers.getSigners();
    const id = await wethPosition(keel, alice!);
    const amount = parseUnits("1000", 18);
    await expect(keel.engine.connect(stranger!).borrow(id, amount, stranger!.address))
      .to.be.revertedWithCustomError(keel.engine, "NotAuthorized")
      .withArgs(id, stranger!.address);
    await (await keel.nft.connect(alice!).approve(approved!.address, id)).wait();
    await (await keel.nft.connect(alice!).setApprovalForAll(operator!.address, true)).wait();
    await (await keel.engine.connect(approved!).borrow(id, amount, approved!.address)).wait();
    await (await keel.engine.connect(operator!).borrow(id, amount, operator!.address)).wait();
    expect(await keel.kusd.balanceOf(approved!.address)).to.equal(amount);
    expect(await keel.kusd.balanceOf(operator!.address)).to.equal(amount);
    await checkInvariants(keel);
  });

  it("test_transfer_movesControl: a transfer moves control: the new owner can borrow, the old owner and the old approval cannot", async () => {
    const keel = await loadKeel();
    const [, alice, bob, approved] = await ethers.getSigners();
    const id = await wethPosition(keel, alice!);
    const amount = parseUnits("2000", 18);
    await (await keel.engine.connect(alice!).borrow(id, amount, alice!.address)).wait();
    await (await keel.nft.connect(alice!).approve(approved!.address, id)).wait();

    await expect(keel.nft.connect(alice!).transferFrom(alice!.address, bob!.address, id))
      .to.emit(keel.nft, "Transfer")
      .withArgs(alice!.address, bob!.address, id);
    expect(await keel.nft.ownerOf(id)).to.equal(bob!.address);
    expect(await keel.nft.isAuthorized(alice!.address, id)).to.equal(false);
    expect(await keel.nft.isAuthorized(approved!.address, id)).to.equal(false); // cleared by the transfer

    await (await keel.engine.connect(bob!).borrow(id, amount, bob!.address)).wait();
    expect(await keel.kusd.balanceOf(bob!.address)).to.equal(amount);
    for (const old of [alice!, approved!]) {
      await expect(keel.engine.connect(old).borrow(id, amount, old.address))
        .to.be.revertedWithCustomError(keel.engine, "NotAuthorized")
        .withArgs(id, old.address);
      await expect(keel.engine.connect(old).withdraw(id, await keel.assets.WETH!.token.getAddress(), 1n, old.address))
        .to.be.revertedWithCustomError(keel.engine, "NotAuthorized")
        .withArgs(id, old.address);
      await expect(keel.engine.connect(old).close(id, old.address))
        .to.be.revertedWithCustomError(keel.engine, "NotAuthorized")
        .withArgs(id, old.address);
    }
    // The debt stays with the position: both borrows, now the new owner's to repay.
    const debt = await keel.engine.debtOf(id);
    expect(debt).to.equal(await debtAfterBorrow(keel, id, 0n, BigInt(await time.latest())));
    expect(debt).to.be.gte(2n * amount);
    await checkInvariants(keel);
  });
});
