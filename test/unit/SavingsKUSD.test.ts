/**
 * SavingsKUSD (docs/spec.md §10): interest paid out of the surplus buffer, never minted; exactly what
 * src/math/peg.ts `savingsOwed` says while the buffer can pay, what it can when it cannot; the share price never
 * falls and the vault never holds more than deposits plus what the buffer paid; the rate is governed and bounded;
 * a first-depositor donation cannot take a later depositor's kUSD.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import type { Keel } from "../../deploy";
import { savingsOwed } from "../../src/math/peg";
import { perSecondFee, RAY, rpowUp } from "../../src/math";
import { SavingsKUSD__factory } from "../../typechain-types";
import { loadKeel } from "../helpers/fixtures";
import { governTx } from "../helpers/governance";
import { checkInvariants } from "../helpers/invariant";

const WAD = 10n ** 18n;
const RATE = perSecondFee(2n * 10n ** 16n); // the local config's 2% a year

/** kUSD for `who` from the PSM (1:1 less the fee), approved to the vault. */
async function kusdFor(keel: Keel, who: Signer, dollars: bigint): Promise<bigint> {
  const me = await who.getAddress();
  const usdc = keel.assets.USDC!.token;
  await (await usdc.mint(me, dollars * 10n ** 6n)).wait();
  await (await usdc.connect(who).approve(keel.psm.target, ethers.MaxUint256)).wait();
  await (await keel.psm.connect(who).sellGem(me, dollars * 10n ** 6n)).wait();
  await (await keel.kusd.connect(who).approve(keel.savings.target, ethers.MaxUint256)).wait();
  return keel.kusd.balanceOf(me);
}

/** Puts `amount` kUSD into the surplus buffer (as fees would). */
async function fundBuffer(keel: Keel, from: Signer, amount: bigint): Promise<void> {
  await (await keel.kusd.connect(from).transfer(keel.surplus.target, amount)).wait();
}

const sharePrice = async (keel: Keel): Promise<bigint> => keel.savings.convertToAssets(10n ** 24n); // per 1e24 shares (offset 6)

describe("SavingsKUSD", () => {
  it("test_drip_paysExactlyWhatIsOwed: the buffer pays savingsOwed(assets, rate, elapsed); holders earn it pro rata", async () => {
    const keel = await loadKeel();
    const [funder, alice] = await ethers.getSigners();
    await kusdFor(keel, funder!, 1_000_000n);
    await fundBuffer(keel, funder!, 100_000n * WAD);
    const deposit = (await kusdFor(keel, alice!, 50_000n)) / 2n;
    await (await keel.savings.connect(alice!).deposit(deposit, await alice!.getAddress())).wait();
    const t0 = BigInt(await keel.savings.lastDrip());
    const buffer = await keel.kusd.balanceOf(keel.surplus);
    const t1 = t0 + 30n * 86_400n;
    await time.setNextBlockTimestamp(t1);
    const owed = savingsOwed(deposit, RATE, t1 - t0);
    expect(owed).to.be.greaterThan(0n);
    await expect(keel.savings.drip()).to.emit(keel.savings, "Dripped").withArgs(owed, owed);
    expect(await keel.savings.totalAssets()).to.equal(deposit + owed);
    expect(await keel.kusd.balanceOf(keel.surplus)).to.equal(buffer - owed);
    // 30 days at 2% a year: about 0.163% of the deposit.
    expect(Number((owed * 1_000_000n) / deposit) / 1e6).to.be.closeTo(1.02 ** (30 / 365) - 1, 1e-6);
    // A second later, one second of interest on what the vault now holds.
    await time.setNextBlockTimestamp(t1 + 1n);
    const second = savingsOwed(deposit + owed, RATE, 1n);
    await expect(keel.savings.drip()).to.emit(keel.savings, "Dripped").withArgs(second, second);
    await checkInvariants(keel);
  });

  it("test_drip_bufferDry_paysWhatItCan_andNeverMints: an empty buffer pays nothing; a thin one pays all it holds; supply never grows", async () => {
    const keel = await loadKeel();
    const [, alice] = await ethers.getSigners();
    const deposit = await kusdFor(keel, alice!, 100_000n);
    // The PSM sale's fee is all the buffer holds.
    const fee = await keel.kusd.balanceOf(keel.surplus);
    await (await keel.savings.connect(alice!).deposit(deposit, await alice!.getAddress())).wait();
    const supply = await keel.kusd.totalSupply();
    const t0 = BigInt(await keel.savings.lastDrip());
    await time.setNextBlockTimestamp(t0 + 365n * 86_400n);
    const owed = savingsOwed(deposit, RATE, 365n * 86_400n);
    expect(owed).to.be.greaterThan(fee);
    await expect(keel.savings.drip()).to.emit(keel.savings, "Dripped").withArgs(owed, fee);
    expect(await keel.kusd.balanceOf(keel.surplus)).to.equal(0n);
    expect(await keel.kusd.totalSupply()).to.equal(supply);
    expect(await keel.surplus.spendable()).to.equal(0n);
    // Interest not paid is not owed later: the next year starts from what the vault holds.
    await time.setNextBlockTimestamp(t0 + 2n * 365n * 86_400n);
    await expect(keel.savings.drip()).to.emit(keel.savings, "Dripped").withArgs(savingsOwed(deposit + fee, RATE, 365n * 86_400n), 0n);
  });

  it("test_sharePrice_neverFalls_andAssetsAreDepositsPlusPaid: over deposits, withdrawals, redemptions and drips", async () => {
    const keel = await loadKeel();
    const [funder, alice, bob] = await ethers.getSigners();
    await kusdFor(keel, funder!, 1_000_000n);
    await fundBuffer(keel, funder!, 10_000n * WAD);
    await kusdFor(keel, alice!, 100_000n);
    await kusdFor(keel, bob!, 100_000n);
    const [a, b] = [await alice!.getAddress(), await bob!.getAddress()];
    let net = 0n; // what holders put in minus what they took out, from their own kUSD balances
    let paid = 0n; // what the buffer paid, from its balance
    let price = await sharePrice(keel);
    const step = async (who: string, action: () => Promise<{ wait(): Promise<unknown> }>): Promise<void> => {
      await time.increase(7 * 86_400);
      const [holder, buffer] = [await keel.kusd.balanceOf(who), await keel.kusd.balanceOf(keel.surplus)];
      await (await action()).wait();
      net += holder - (await keel.kusd.balanceOf(who));
      paid += buffer - (await keel.kusd.balanceOf(keel.surplus));
      const now = await sharePrice(keel);
      expect(now, "share price never falls").to.be.gte(price);
      price = now;
      expect(await keel.savings.totalAssets(), "assets = deposits − withdrawals + interest paid").to.equal(net + paid);
    };
    await step(a, () => keel.savings.connect(alice!).deposit(40_000n * WAD, a));
    await step(b, () => keel.savings.connect(bob!).mint(10n ** 24n * 25_000n, b));
    await step(a, () => keel.savings.connect(alice!).withdraw(10_000n * WAD, a, a));
    await step(a, () => keel.savings.drip());
    await step(b, async () => keel.savings.connect(bob!).redeem(await keel.savings.balanceOf(b), b, b));
    await step(a, async () => keel.savings.connect(alice!).redeem(await keel.savings.balanceOf(a), a, a));
    expect(paid).to.be.greaterThan(0n);
    expect(await keel.savings.totalSupply()).to.equal(0n);
    expect(await keel.savings.totalAssets()).to.equal(net + paid); // what rounding left in the vault
    await checkInvariants(keel);
  });

  it("test_inflationAttack_donationCannotTakeALaterDeposit: a 1-wei first depositor donating 1M kUSD loses it; the victim keeps ≥ 99.9%", async () => {
    const keel = await loadKeel();
    const [attacker, victim] = await ethers.getSigners();
    await kusdFor(keel, attacker!, 1_100_000n);
    await kusdFor(keel, victim!, 10_000n);
    const [x, v] = [await attacker!.getAddress(), await victim!.getAddress()];
    await (await keel.savings.connect(attacker!).deposit(1n, x)).wait();
    await (await keel.kusd.connect(attacker!).transfer(keel.savings.target, 1_000_000n * WAD)).wait();
    const deposit = 10_000n * WAD - 10n ** 19n;
    await (await keel.savings.connect(victim!).deposit(deposit, v)).wait();
    expect(await keel.savings.balanceOf(v)).to.be.greaterThan(0n);
    const back = await keel.savings.previewRedeem(await keel.savings.balanceOf(v));
    expect(back * 1000n).to.be.gte(deposit * 999n);
  });

  it("test_setSavingsRate: governed, bounded to [0%, 20%] a year, no-ops refused, drips at the old rate first", async () => {
    const keel = await loadKeel();
    const [funder, alice] = await ethers.getSigners();
    await kusdFor(keel, funder!, 100_000n);
    await fundBuffer(keel, funder!, 10_000n * WAD);
    await kusdFor(keel, alice!, 10_000n);
    await (await keel.savings.connect(alice!).deposit(5_000n * WAD, await alice!.getAddress())).wait();
    const s = keel.savings;
    const max = await s.MAX_RATE();
    // 20% a year compounded per second: a year at MAX_RATE grows 1 to 1.2 (to 1e-12).
    expect(rpowUp(max, 31_536_000n)).to.be.closeTo((12n * RAY) / 10n, 10n ** 15n);
    const tx = (rate: bigint) => governTx(keel, s, s.interface.encodeFunctionData("setSavingsRate", [rate]));
    await expect(tx(RATE)).to.be.revertedWithCustomError(s, "NoChange");
    await expect(tx(max + 1n)).to.be.revertedWithCustomError(s, "InvalidParameter");
    await expect(tx(RAY - 1n)).to.be.revertedWithCustomError(s, "InvalidParameter");
    // The change drips first: interest up to the change is at the old rate.
    await expect(tx(RAY)).to.emit(s, "Dripped").and.to.emit(s, "SavingsRateSet").withArgs(RAY);
    await time.increase(30 * 86_400);
    await expect(s.drip()).to.not.emit(s, "Dripped"); // 0%: nothing accrues
    await expect(s.connect(alice!).setSavingsRate(max)).to.be.revertedWithCustomError(s, "AccessManagedUnauthorized");
  });

  it("test_constructor_refusals: a zero buffer and an out-of-range rate", async () => {
    const keel = await loadKeel();
    const [deployer] = await ethers.getSigners();
    const f = new SavingsKUSD__factory(deployer!);
    await expect(f.deploy(keel.accessManager, keel.kusd, ethers.ZeroAddress, RATE)).to.be.revertedWithCustomError(f, "ZeroAddress");
    await expect(f.deploy(keel.accessManager, keel.kusd, keel.surplus, RAY - 1n)).to.be.revertedWithCustomError(f, "InvalidParameter");
    expect(await keel.savings.decimals()).to.equal(24); // kUSD's 18 + the offset of 6
    expect(await keel.savings.asset()).to.equal(await keel.kusd.getAddress());
  });
});
