import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, parseUnits, recoverAddress, type Signature, TypedDataEncoder, ZeroAddress } from "ethers";
import type { Keel } from "../../deploy";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import * as m from "../../src/math";
import { borrowAgainstWeth } from "../helpers/engine";
import { loadKeel } from "../helpers/fixtures";
import { govern, governTx } from "../helpers/governance";
import { KUSD_PERMIT_TYPES } from "../helpers/periphery";


interface Domain {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: string;
}

async function domainOf(keel: Keel): Promise<Domain> {
  const { chainId } = await ethers.provider.getNetwork();
  return { name: "Keel USD", version: "1", chainId, verifyingContract: await keel.kusd.getAddress() };
}

interface Permit {
  owner: string;
  spender: string;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
}

async function signPermit(keel: Keel, owner: HardhatEthersSigner, permit: Permit): Promise<Signature> {
  return ethers.Signature.from(await owner.signTypedData(await domainOf(keel), KUSD_PERMIT_TYPES, permit));
}


describe("KeelUSD", () => {
  it("test_metadata_nameAndBindings: is named Keel USD (kUSD), 18 decimals, bound to the engine and surplus buffer", async () => {
    const keel = await loadKeel();
    expect(await keel.kusd.name()).to.equal("Keel USD");
    expect(await keel.kusd.symbol()).to.equal("kUSD");
    expect(await keel.kusd.decimals()).to.equal(18n);
    expect(await keel.kusd.totalSupply()).to.equal(0n);
    expect(await keel.kusd.engine()).to.equal(await keel.engine.getAddress());
    expect(await keel.kusd.surplusBuffer()).to.equal(await keel.surplus.getAddress());
  });

  describe("mint and burn", () => {
    it("test_mintBurn_onlyEngine: are refused to anyone but the engine: OnlyEngine(caller)", async () => {
      const keel = await loadKeel();
      const [deployer, stranger] = await ethers.getSigners();
      for (const caller of [deployer!, stranger!]) {
        await expect(keel.kusd.connect(caller).mint(caller.address, 1n))
          .to.be.revertedWithCustomError(keel.kusd, "NotMinter")
          .withArgs(caller.address);
        await expect(keel.kusd.connect(caller).burn(caller.address, 0n))
          .to.be.revertedWithCustomError(keel.kusd, "NotMinter")
          .withArgs(caller.address);
      }
    });

    it("test_mintBurn_borrowAndRepay: the engine mints on borrow and burns from the payer on repay", async () => {
      const keel = await loadKeel();
      const [, alice, bob] = await ethers.getSigners();
      const amount = parseUnits("1000", 18);
      const weth = keel.assets.WETH!.token;
      await (await weth.mint(alice!.address, parseUnits("1", 18))).wait();
      await (await weth.connect(alice!).approve(keel.engine, parseUnits("1", 18))).wait();
      await (await keel.engine.connect(alice!).open(0, await weth.getAddress(), alice!.address)).wait();
      const id = await keel.engine.lastPositionId();
      await (await keel.engine.connect(alice!).deposit(id, await weth.getAddress(), parseUnits("1", 18))).wait();
      await expect(keel.engine.connect(alice!).borrow(id, amount, bob!.address))
        .to.emit(keel.kusd, "Transfer")
        .withArgs(ZeroAddress, bob!.address, amount);
      expect(await keel.kusd.balanceOf(bob!.address)).to.equal(amount);
      // Anyone may repay: bob burns his own kUSD, no allowance needed.
      const part = parseUnits("400", 18);
      await expect(keel.engine.connect(bob!).repay(id, part))
        .to.emit(keel.kusd, "Transfer")
        .withArgs(bob!.address, ZeroAddress, part);
      expect(await keel.kusd.balanceOf(bob!.address)).to.equal(amount - part);
      expect(await keel.kusd.totalSupply()).to.equal(amount - part);
    });
  });

  describe("permit (ERC-2612)", () => {
    it("test_permit_domain: exposes the EIP-712 domain Keel USD / 1", async () => {
      const keel = await loadKeel();
      const domain = await domainOf(keel);
      expect(await keel.kusd.DOMAIN_SEPARATOR()).to.equal(TypedDataEncoder.hashDomain(domain));
      const d = await keel.kusd.eip712Domain();
      expect([d.name, d.version, d.chainId, d.verifyingContract]).to.deep.equal([
        domain.name,
        domain.version,
        domain.chainId,
        domain.verifyingContract,
      ]);
    });

    it("test_permit_signed: a signed permit sets the allowance, bumps the nonce, and lets the spender pull", async () => {
      const keel = await loadKeel();
      const [, alice, bob, carol] = await ethers.getSigners();
      await borrowAgainstWeth(keel, alice!, parseUnits("5000", 18), parseUnits("100", 18));
      const value = parseUnits("1234.5", 18);
      const permit: Permit = {
        owner: alice!.address,
        spender: bob!.address,
        value,
        nonce: await keel.kusd.nonces(alice!.address),
        deadline: BigInt(await time.latest()) + 3600n,
      };
      expect(permit.nonce).to.equal(0n);
      const sig = await signPermit(keel, alice!, permit);
      // Anyone may submit the signature.
      const submit = keel.kusd
        .connect(carol!)
        .permit(alice!.address, bob!.address, value, permit.deadline, sig.v, sig.r, sig.s);
      await expect(submit)
        .to.emit(keel.kusd, "Approval")
        .withArgs(alice!.address, bob!.address, value);
      expect(await keel.kusd.allowance(alice!.address, bob!.address)).to.equal(value);
      expect(await keel.kusd.nonces(alice!.address)).to.equal(1n);
      await (await keel.kusd.connect(bob!).transferFrom(alice!.address, carol!.address, value)).wait();
      expect(await keel.kusd.balanceOf(carol!.address)).to.equal(value);
      expect(await keel.kusd.allowance(alice!.address, bob!.address)).to.equal(0n);

      // Replaying it recovers another signer, because the nonce moved on.
      const replayed = recoverAddress(
        TypedDataEncoder.hash(await domainOf(keel), KUSD_PERMIT_TYPES, { ...permit, nonce: 1n }),
        sig,
      );
      await expect(keel.kusd.permit(alice!.address, bob!.address, value, permit.deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(keel.kusd, "ERC2612InvalidSigner")
        .withArgs(replayed, alice!.address);
    });

    it("test_permit_expiredOrWrongSigner: rejects an expired deadline and a signature by someone else", async () => {
      const keel = await loadKeel();
      const [, alice, bob] = await ethers.getSigners();
      const now = BigInt(await time.latest());
      const expired: Permit = { owner: alice!.address, spender: bob!.address, value: 1n, nonce: 0n, deadline: now };
      const sig = await signPermit(keel, alice!, expired);
      await expect(keel.kusd.permit(alice!.address, bob!.address, 1n, now, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(keel.kusd, "ERC2612ExpiredSignature")
        .withArgs(now);
      const forged = { ...expired, deadline: now + 3600n };
      const bobSig = await signPermit(keel, bob!, forged);
      await expect(keel.kusd.permit(alice!.address, bob!.address, 1n, forged.deadline, bobSig.v, bobSig.r, bobSig.s))
        .to.be.revertedWithCustomError(keel.kusd, "ERC2612InvalidSigner")
        .withArgs(bob!.address, alice!.address);
    });
  });

  describe("flash mint (ERC-3156)", () => {
    // No ERC-3156 borrower contract exists under contracts/, so a flash loan cannot be completed here: these tests
    // cover the fee, the cap, the refusals that precede the callback, and the governed setters.

    it("test_flashFee_roundedUp: flashFee = mulWadUp(amount, fee): rounded up, 0.05% by default", async () => {
      const keel = await loadKeel();
      const kusd = await keel.kusd.getAddress();
      const fee = keel.config.flashMint.fee;
      expect(await keel.kusd.flashFeeRate()).to.equal(parseUnits("0.0005", 18));
      for (const amount of [0n, 1n, 1999n, 2000n, 2001n, parseUnits("1", 18), parseUnits("123456.789", 18) + 7n]) {
        expect(await keel.kusd.flashFee(kusd, amount), `${amount}`).to.equal(m.mulWadUp(amount, fee));
      }
      expect(await keel.kusd.flashFee(kusd, 1n)).to.equal(1n); // rounded up from 5e-4
      expect(await keel.kusd.flashFee(kusd, 2001n)).to.equal(2n); // rounded up from 1.0005
      expect(await keel.kusd.flashFee(kusd, parseUnits("1000", 18))).to.equal(parseUnits("0.5", 18));
      const other = await keel.assets.USDC!.token.getAddress();
      await expect(keel.kusd.flashFee(other, 1n))
        .to.be.revertedWithCustomError(keel.kusd, "ERC3156UnsupportedToken")
        .withArgs(other);
    });

    it("test_maxFlashLoan_cap: maxFlashLoan is the cap for kUSD and zero for any other token; beyond it flashLoan reverts", async () => {
      const keel = await loadKeel();
      const kusd = await keel.kusd.getAddress();
      const cap = parseUnits("100000000", 18);
      expect(await keel.kusd.flashCap()).to.equal(cap);
      expect(await keel.kusd.maxFlashLoan(kusd)).to.equal(cap);
      const other = await keel.assets.WETH!.token.getAddress();
      expect(await keel.kusd.maxFlashLoan(other)).to.equal(0n);
      const receiver = await keel.surplus.getAddress();
      await expect(keel.kusd.flashLoan(receiver, kusd, cap + 1n, "0x"))
        .to.be.revertedWithCustomError(keel.kusd, "ERC3156ExceededMaxLoan")
        .withArgs(cap);
      await expect(keel.kusd.flashLoan(receiver, other, 1n, "0x"))
        .to.be.revertedWithCustomError(keel.kusd, "ERC3156ExceededMaxLoan")
        .withArgs(0n);
    });

    it("test_setFlashFee_rangeAndGuards: setFlashFee: governed, up to 1%, emits FlashFeeSet, rejects no-ops and strangers", async () => {
      const keel = await loadKeel();
      const [deployer, stranger] = await ethers.getSigners();
      const kusd = await keel.kusd.getAddress();
      const encode = (fee: bigint): string => keel.kusd.interface.encodeFunctionData("setFlashFee", [fee]);
      const max = parseUnits("0.01", 18);
      await expect(governTx(keel, keel.kusd, encode(max)))
        .to.emit(keel.kusd, "FlashFeeSet")
        .withArgs(max);
      expect(await keel.kusd.flashFeeRate()).to.equal(max);
      expect(await keel.kusd.flashFee(kusd, 12345n)).to.equal(m.mulWadUp(12345n, max)); // 123.45 → 124
      expect(await keel.kusd.flashFee(kusd, 12345n)).to.equal(124n);
      await expect(governTx(keel, keel.kusd, encode(max + 1n)))
        .to.be.revertedWithCustomError(keel.kusd, "InvalidParameter")
        .withArgs(encodeBytes32String("flashFee"), max + 1n);
      // The same call again (a new timelock operation, by salt) is a no-op.
      await expect(governTx(keel, keel.kusd, encode(max), "again")).to.be.revertedWithCustomError(
        keel.kusd,
        "NoChange",
      );
      await govern(keel, keel.kusd, encode(0n)); // a free flash mint is allowed
      expect(await keel.kusd.flashFee(kusd, parseUnits("1000", 18))).to.equal(0n);
      for (const caller of [deployer!, stranger!]) {
        await expect(keel.kusd.connect(caller).setFlashFee(1n))
          .to.be.revertedWithCustomError(keel.kusd, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
    });

    it("test_setFlashCap_rangeAndGuards: setFlashCap: governed, up to 1e30, emits FlashCapSet, rejects no-ops and strangers", async () => {
      const keel = await loadKeel();
      const [, stranger] = await ethers.getSigners();
      const kusd = await keel.kusd.getAddress();
      const encode = (cap: bigint): string => keel.kusd.interface.encodeFunctionData("setFlashCap", [cap]);
      const cap = parseUnits("5000", 18);
      await expect(governTx(keel, keel.kusd, encode(cap)))
        .to.emit(keel.kusd, "FlashCapSet")
        .withArgs(cap);
      expect(await keel.kusd.maxFlashLoan(kusd)).to.equal(cap);
      await expect(keel.kusd.flashLoan(await keel.surplus.getAddress(), kusd, cap + 1n, "0x"))
        .to.be.revertedWithCustomError(keel.kusd, "ERC3156ExceededMaxLoan")
        .withArgs(cap);
      await expect(governTx(keel, keel.kusd, encode(10n ** 30n + 1n)))
        .to.be.revertedWithCustomError(keel.kusd, "InvalidParameter")
        .withArgs(encodeBytes32String("flashCap"), 10n ** 30n + 1n);
      await expect(governTx(keel, keel.kusd, encode(cap), "again")).to.be.revertedWithCustomError(
        keel.kusd,
        "NoChange",
      );
      await govern(keel, keel.kusd, encode(10n ** 30n));
      expect(await keel.kusd.maxFlashLoan(kusd)).to.equal(10n ** 30n);
      await expect(keel.kusd.connect(stranger!).setFlashCap(1n))
        .to.be.revertedWithCustomError(keel.kusd, "AccessManagedUnauthorized")
        .withArgs(stranger!.address);
    });
  });
});
