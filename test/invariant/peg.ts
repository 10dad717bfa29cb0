/**
 * Peg actions (docs/spec.md §10): users sell and buy USDC through the PSM and save in sKUSD; anyone drips. Each is
 * checked exactly against src/math/peg.ts, and the §6 ledger with P runs after it like after every step. A sale may
 * be refused only for the documented reasons (USDC off its peg or unpriced, the ceiling); buying back only for
 * lack of P or of kUSD; the savings vault only for lack of kUSD or shares.
 */
import { expect } from "chai";
import { buyGemQuote, savingsOwed, sellGemQuote } from "../../src/math/peg";
import { ensureKusd, fraction, note, pick, type Action } from "./actions";
import { execute } from "./exec";

const USDC_DECIMALS = 6;

export const actSellGem: Action = async (w) => {
  const user = pick(w, w.users);
  const usdc = w.keel.assets.USDC!.token;
  const gemAmount = fraction(w, await usdc.balanceOf(user.address), 1, 50) + 1n;
  const label = `${user.name} sells ${gemAmount} USDC (6 dec) to the PSM`;
  note(w, label);
  const [feeIn, debt, kusd, buffer] = [await w.keel.psm.feeIn(), await w.keel.psm.debt(), await w.keel.kusd.balanceOf(user.address), await w.keel.kusd.balanceOf(w.keel.surplus.target)];
  const r = await execute(w, {
    kind: "sellGem",
    label,
    actor: user,
    send: () => w.keel.psm.connect(user.signer).sellGem(user.address, gemAmount),
    allowed: ["ReserveDepegged", "ReservePriceUnavailable", "PegCeilingExceeded", "SellGemPaused", "ERC20InsufficientBalance"],
    effect: "none",
  });
  if (!r.ok) return;
  const q = sellGemQuote(gemAmount, USDC_DECIMALS, feeIn);
  expect(await w.keel.psm.debt(), "sellGem: P grows by the scaled amount").to.equal(debt + q.amount);
  expect(await w.keel.kusd.balanceOf(user.address), "sellGem: kUSD out (mirror)").to.equal(kusd + q.kusd);
  expect(await w.keel.kusd.balanceOf(w.keel.surplus.target), "sellGem: fee to the buffer (mirror)").to.equal(buffer + q.fee);
};

export const actBuyGem: Action = async (w) => {
  const user = pick(w, w.users);
  const debt = await w.keel.psm.debt();
  const gemAmount = fraction(w, debt / 10n ** 12n, 1, 1000) + 1n;
  const feeOut = await w.keel.psm.feeOut();
  const q = buyGemQuote(gemAmount, USDC_DECIMALS, feeOut);
  await ensureKusd(w, user, q.kusd);
  const label = `${user.name} buys ${gemAmount} USDC (6 dec) from the PSM`;
  note(w, label);
  const [kusd, buffer] = [await w.keel.kusd.balanceOf(user.address), await w.keel.kusd.balanceOf(w.keel.surplus.target)];
  const r = await execute(w, {
    kind: "buyGem",
    label,
    actor: user,
    send: () => w.keel.psm.connect(user.signer).buyGem(user.address, gemAmount),
    allowed: ["PegDebtTooLow", "ERC20InsufficientBalance"],
    effect: "none",
  });
  if (!r.ok) return;
  expect(await w.keel.psm.debt(), "buyGem: P falls by the scaled amount").to.equal(debt - q.amount);
  expect(await w.keel.kusd.balanceOf(user.address), "buyGem: kUSD in (mirror)").to.equal(kusd - q.kusd);
  expect(await w.keel.kusd.balanceOf(w.keel.surplus.target), "buyGem: fee to the buffer (mirror)").to.equal(buffer + q.fee);
};

export const actSave: Action = async (w) => {
  const user = pick(w, w.users);
  const amount = fraction(w, await w.keel.kusd.balanceOf(user.address), 1, 300) + 1n;
  const label = `${user.name} saves ${amount} kUSD in sKUSD`;
  note(w, label);
  const price = await w.keel.savings.convertToAssets(10n ** 24n);
  const r = await execute(w, {
    kind: "save",
    label,
    actor: user,
    send: () => w.keel.savings.connect(user.signer).deposit(amount, user.address),
    allowed: ["ERC20InsufficientBalance"],
    effect: "none",
  });
  if (r.ok) expect(await w.keel.savings.convertToAssets(10n ** 24n), "sKUSD share price never falls").to.be.gte(price);
};

export const actUnsave: Action = async (w) => {
  const user = pick(w, w.users);
  const shares = fraction(w, await w.keel.savings.balanceOf(user.address), 1, 1000);
  const label = `${user.name} redeems ${shares} sKUSD shares`;
  note(w, label);
  const price = await w.keel.savings.convertToAssets(10n ** 24n);
  const r = await execute(w, {
    kind: "unsave",
    label,
    actor: user,
    send: () => w.keel.savings.connect(user.signer).redeem(shares, user.address, user.address),
    allowed: ["ERC4626ExceededMaxRedeem"],
    effect: "none",
  });
  if (r.ok) expect(await w.keel.savings.convertToAssets(10n ** 24n), "sKUSD share price never falls").to.be.gte(price);
};

export const actDrip: Action = async (w) => {
  const label = "drip sKUSD";
  note(w, label);
  const [assets, rate, last, buffer, spendable] = [
    await w.keel.savings.totalAssets(),
    await w.keel.savings.savingsRate(),
    await w.keel.savings.lastDrip(),
    await w.keel.kusd.balanceOf(w.keel.surplus.target),
    await w.keel.surplus.spendable(),
  ];
  const r = await execute(w, { kind: "drip", label, actor: w.keeper, send: () => w.keel.savings.connect(w.keeper.signer).drip(), allowed: [], effect: "none" });
  if (!r.ok) return;
  const owed = savingsOwed(assets, rate, r.at - last);
  // Fees accrued in the same block cannot reach the buffer: what it can pay is what it held beyond the deficit.
  const paid = owed < spendable ? owed : spendable;
  expect(await w.keel.savings.totalAssets(), "drip: the vault gains what the buffer paid (mirror)").to.equal(assets + paid);
  expect(await w.keel.kusd.balanceOf(w.keel.surplus.target), "drip: the buffer pays it").to.equal(buffer - paid);
};
