import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits, ZeroAddress } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Keel } from "../../deploy";
import * as m from "../../src/math";
import { borrowAgainstWeth } from "../helpers/engine";
import { loadKeel } from "../helpers/fixtures";
import { govern, governTx } from "../helpers/governance";
import { checkInvariants } from "../helpers/invariant";

const YEAR = 31_536_000n;


/** The mirror's fees collected by `collectFees` in a block at `timestamp`: Σ_class debt(rate at t) − debt(rate). */
async function expectedFees(keel: Keel, timestamp: bigint): Promise<bigint> {
  const classes = [...(await keel.risk.listedAssets()), await keel.engine.CROSS_CLASS()];
  let fees = 0n;
  for (const key of classes) {
    const c = await keel.engine.debtClass(key);
    const next = m.accrueRateUp(c.rate, c.stabilityFee, timestamp - c.updatedAt);
    fees += m.toDebtUp(c.normDebt, next) - m.toDebtUp(c.normDebt, c.rate);
  }
  return fees;
}

/** Collects a year of fees on a 10,000 kUSD WETH loan at 2% a year into the buffer; returns the amount. */
async function collectAYear(keel: Keel, user: HardhatEthersSigner): Promise<bigint> {
  await borrowAgainstWeth(keel, user, parseUnits("10000", 18));
  const at = BigInt(await time.latest()) + YEAR;
  const fees = await expectedFees(keel, at);
  await time.setNextBlockTimestamp(at);
  await expect(keel.engine.connect(user).collectFees()).to.emit(keel.engine, "FeesCollected").withArgs(fees);
  return fees;
}

describe("SurplusBuffer", () => {
  it("test_surplus_startsEmpty: starts empty and holds kUSD", async () => {
    const keel = await loadKeel();
    expect(await keel.surplus.balance()).to.equal(0n);
    expect(await keel.surplus.kusd()).to.equal(await keel.kusd.getAddress());
  });

  it("test_collectFees_landInBuffer: collected stability fees land in the buffer, exactly as the mirror accrues them", async () => {
    const keel = await loadKeel();
    const [, alice] = await ethers.getSigners();
    await expect(keel.engine.collectFees()).to.be.revertedWithCustomError(keel.engine, "NothingToCollect");
    const fees = await collectAYear(keel, alice!);
    // 2% a year compounded per second, with the per-second factor chosen never to exceed the stated rate.
    expect(fees).to.be.lte(parseUnits("200", 18));
    expect(fees).to.be.gt(parseUnits("199.99", 18));
    expect(await keel.surplus.balance()).to.equal(fees);
    expect(await keel.kusd.balanceOf(await keel.surplus.getAddress())).to.equal(fees);
    expect(await keel.engine.accruedFees()).to.equal(0n);
    await checkInvariants(keel);
  });

  it("test_spend_governed: spend through governance moves kUSD and emits SurplusSpent", async () => {
    const keel = await loadKeel();
    const [, alice, bob] = await ethers.getSigners();
    const fees = await collectAYear(keel, alice!);
    const amount = parseUnits("123.456", 18);
    const surplus = await keel.surplus.getAddress();
    const tx = governTx(keel, keel.surplus, keel.surplus.interface.encodeFunctionData("spend", [bob!.address, amount]));
    await expect(tx).to.emit(keel.surplus, "SurplusSpent").withArgs(bob!.address, amount);
    await expect(tx).to.emit(keel.kusd, "Transfer").withArgs(surplus, bob!.address, amount);
    expect(await keel.kusd.balanceOf(bob!.address)).to.equal(amount);
    expect(await keel.surplus.balance()).to.equal(fees - amount);
    // Spending all of it leaves the buffer empty.
    await govern(keel, keel.surplus, keel.surplus.interface.encodeFunctionData("spend", [bob!.address, fees - amount]));
    expect(await keel.surplus.balance()).to.equal(0n);
    expect(await keel.kusd.balanceOf(bob!.address)).to.equal(fees);
    await checkInvariants(keel);
  });

  it("test_spend_rejects: spend rejects the zero address, a zero amount, more than the balance, and callers without ADMIN", async () => {
    const keel = await loadKeel();
    const [deployer, alice, stranger] = await ethers.getSigners();
    const fees = await collectAYear(keel, alice!);
    const spend = (to: string, amount: bigint): string =>
      keel.surplus.interface.encodeFunctionData("spend", [to, amount]);
    await expect(governTx(keel, keel.surplus, spend(ZeroAddress, 1n))).to.be.revertedWithCustomError(
      keel.surplus,
      "ZeroAddress",
    );
    await expect(governTx(keel, keel.surplus, spend(stranger!.address, 0n))).to.be.revertedWithCustomError(
      keel.surplus,
      "ZeroAmount",
    );
    await expect(governTx(keel, keel.surplus, spend(stranger!.address, fees + 1n)))
      .to.be.revertedWithCustomError(keel.kusd, "ERC20InsufficientBalance")
      .withArgs(await keel.surplus.getAddress(), fees, fees + 1n);
    for (const caller of [stranger!, deployer!]) {
      await expect(keel.surplus.connect(caller).spend(caller.address, 1n))
        .to.be.revertedWithCustomError(keel.surplus, "AccessManagedUnauthorized")
        .withArgs(caller.address);
    }
    expect(await keel.surplus.balance()).to.equal(fees);
  });
});
