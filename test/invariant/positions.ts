/**
 * User actions on positions: open (isolated on each asset, and cross), deposit (by the owner or anyone), withdraw,
 * borrow (a fraction of what the initial margin allows, exactly the largest, or one wei more), repay (partial or
 * all, by the owner or anyone), close and transfer; strangers' attempts must revert `NotAuthorized` (I20 strangers
 * cannot block). Each checks its exact outcome and books the ghost; borrows and deposits also I13 ceilings and supply
 * caps.
 */
import { expect } from "chai";
import { MaxUint256, ZeroAddress } from "ethers";
import * as m from "../../src/math";
import {
  amountForUsd, chance, classRate, ensureKusd, ensureTokens, fraction, note, ORACLE, ownerOf, payerFor, pick, stranger,
  userOwned, type Action,
} from "./actions";
import { execute, pinNextBlock } from "./exec";
import { largestBorrowAtPending } from "./mirror";
import { MockCallSequence__factory } from "../../typechain-types";
import { addCollateral, openPositions, removeCollateral, symbolOf, type Actor, type GhostPosition, type World } from "./model";

async function openPosition(w: World, owner: Actor, cross: boolean, asset: string): Promise<GhostPosition | undefined> {
  const label = `open ${cross ? "cross" : `isolated ${symbolOf(w, asset)}`} for ${owner.name}`;
  note(w, label);
  const r = await execute(w, {
    kind: cross ? "open.cross" : "open.isolated",
    label,
    actor: owner,
    send: () => w.keel.engine.connect(owner.signer).open(cross ? 1 : 0, cross ? ZeroAddress : asset, owner.address),
    allowed: ["Paused"],
    effect: "open",
  });
  if (!r.ok) return undefined;
  const id = await w.keel.engine.lastPositionId();
  expect(await w.keel.nft.ownerOf(id), "the new NFT's owner").to.equal(owner.address);
  const g: GhostPosition = {
    id, cross, classKey: cross ? w.crossClass : asset, owner: owner.address,
    collateral: new Map(), normDebt: 0n, dustFloor: 0n, open: true,
  };
  w.positions.set(id, g);
  note(w, `    ↳ position ${id}`);
  return g;
}

async function depositInto(w: World, payer: Actor, p: GhostPosition, asset: string, amount: bigint): Promise<boolean> {
  await ensureTokens(w, payer, asset, amount);
  const label = `deposit ${amount} ${symbolOf(w, asset)} into ${p.id} by ${payer.name}`;
  note(w, label);
  // Only the owner's side adds an asset to a cross basket (liveness, L-3 and M-2): a stranger's new asset is refused.
  const newAsset = p.cross && !p.collateral.has(asset);
  const intruder = payer.address !== p.owner;
  const r = await execute(w, {
    kind: !intruder ? "deposit" : newAsset ? "deposit.third-party-new-asset" : "deposit.third-party",
    label,
    actor: payer,
    send: () => w.keel.engine.connect(payer.signer).deposit(p.id, asset, amount),
    allowed: intruder && newAsset ? ["NotAuthorized", "SupplyCapExceeded"] : ["SupplyCapExceeded"],
    acting: p.id,
    effect: "add",
    valueCheck: { touched: [p.owner] },
  });
  if (r.ok) expect(intruder && newAsset, `I20 strangers cannot block: ${label}: a stranger added an asset to a basket`).to.equal(false);
  if (!r.ok) {
    if (r.revert.name === "SupplyCapExceeded") {
      const [cap, total] = await w.keel.engine.collateralConfig(asset);
      expect(total + amount > cap, "SupplyCapExceeded below the cap").to.equal(true);
    }
    return false;
  }
  addCollateral(p, asset, amount);
  const [cap, total] = await w.keel.engine.collateralConfig(asset);
  expect(total <= cap, `I13 ceilings and supply caps: ${symbolOf(w, asset)} total ${total} over its supply cap ${cap}`).to.equal(true);
  return true;
}

/**
 * Borrows a fraction of what the initial margin allows at the pinned time (the mirror's largest borrow): sometimes
 * exactly the largest (must succeed unless a ceiling, dust or pause stops it) or one wei more (must fail).
 */
async function borrowFrom(w: World, p: GhostPosition, who: Actor, near?: bigint): Promise<void> {
  const at = await pinNextBlock();
  // undefined: a price is unavailable, so the borrow must revert with an oracle error
  const largest = (await largestBorrowAtPending(w, p.id)) ?? -1n;
  const variant =
    largest <= 0n ? "none" : near !== undefined && near <= largest ? "near-dust" : pick(w, ["fraction", "fraction", "fraction", "largest", "over"] as const);
  // Fractions lean towards the limit, so price moves make positions callable and liquidatable.
  const amount =
    variant === "near-dust"
      ? near!
      : variant === "largest" ? largest : variant === "over" ? largest + 1n : variant === "fraction" ? fraction(w, largest, chance(w, 0.5) ? 700 : 50, 999) : m.WAD * 500n;
  if (amount === 0n) {
    note(w, `borrow from ${p.id}: nothing to borrow`);
    return;
  }
  const intruder = who.address !== p.owner;
  const label = `borrow ${amount} (${variant}${intruder ? ", not the owner" : ""}) from ${p.id} by ${who.name}`;
  note(w, label);
  const ceilings = ["DustDebt", "DebtCeilingExceeded", "Paused"];
  const r = await execute(w, {
    kind: intruder ? "borrow.intruder" : `borrow.${variant}`,
    label,
    actor: who,
    send: () => w.keel.engine.connect(who.signer).borrow(p.id, amount, who.address),
    allowed: intruder
      ? ["NotAuthorized", "Paused"]
      : variant === "largest" || variant === "near-dust"
        ? [...ceilings, ...(largest < 0n ? ORACLE : [])]
        : ["Unhealthy", ...ceilings, ...ORACLE],
    acting: p.id,
    effect: "remove",
    valueCheck: { touched: [p.owner] },
    at,
  });
  if (!r.ok) {
    if (r.revert.name === "DebtCeilingExceeded") {
      const cls = await w.keel.engine.debtClass(p.classKey);
      const rate = await w.keel.engine.currentRate(p.classKey); // the failed borrow's block is the latest
      const classDebt = m.toDebtUp(BigInt(cls.normDebt) + m.toNormDebtUp(amount, rate), rate);
      const global = (await w.keel.engine.globalDebt()) + amount;
      const over = classDebt > cls.debtCeiling || global > (await w.keel.engine.globalDebtCeiling());
      expect(over, `${label}: DebtCeilingExceeded within every ceiling`).to.equal(true);
    }
    if (r.revert.name === "Unhealthy" && variant === "fraction") {
      throw new Error(`${label}: a borrow within the mirror's initial margin reverted Unhealthy`);
    }
    return;
  }
  expect(intruder, `${label}: a stranger borrowed`).to.equal(false);
  expect(variant, `${label}: borrowing more than the mirror's limit succeeded`).to.not.equal("over");
  const rate = await classRate(w, p.classKey);
  p.normDebt += m.toNormDebtUp(amount, rate);
  p.dustFloor = await w.keel.engine.dust();
  const cls = await w.keel.engine.debtClass(p.classKey);
  expect(m.toDebtUp(cls.normDebt, cls.rate) <= cls.debtCeiling, `I13 ceilings and supply caps: class ${p.classKey} over its ceiling`).to.equal(true);
  expect((await w.keel.engine.globalDebt()) <= (await w.keel.engine.globalDebtCeiling()), "I13 ceilings and supply caps: global ceiling").to.equal(true);
}

export const actOpenIsolated: Action = async (w) => {
  const owner = pick(w, w.users);
  const a = pick(w, w.assets);
  const p = await openPosition(w, owner, false, a.address);
  if (!p) return;
  const usd = BigInt(w.prng.int(500, 200_000));
  if (await depositInto(w, owner, p, a.address, amountForUsd(w, a.address, usd))) {
    if (chance(w, 0.8)) await borrowFrom(w, p, owner);
  }
};

export const actOpenCross: Action = async (w) => {
  const owner = pick(w, w.users);
  const p = await openPosition(w, owner, true, ZeroAddress);
  if (!p) return;
  const basket = w.prng.shuffle(w.assets).slice(0, w.prng.int(1, w.assets.length));
  for (const a of basket) {
    await depositInto(w, owner, p, a.address, amountForUsd(w, a.address, BigInt(w.prng.int(500, 150_000))));
  }
  if (p.collateral.size > 0 && chance(w, 0.8)) await borrowFrom(w, p, owner);
};

/**
 * A cross position at the dust whose holdings each pay for only part of its debt (M-1's shape): two or three small
 * holdings and a debt of 1–1.3 × the dust, so a crash leaves it where one liquidation cannot clear it alone.
 */
export const actOpenCrossAtDust: Action = async (w) => {
  const owner = pick(w, w.users);
  const p = await openPosition(w, owner, true, ZeroAddress);
  if (!p) return;
  const dust = await w.keel.engine.dust();
  const basket = w.prng.shuffle(w.assets.filter((a) => a.symbol !== "USDC")).slice(0, w.prng.int(2, 3));
  const usdEach = (dust / m.WAD) * BigInt(w.prng.int(90, 130)) / 100n;
  for (const a of basket) await depositInto(w, owner, p, a.address, amountForUsd(w, a.address, usdEach) + 1n);
  if (p.collateral.size > 1) await borrowFrom(w, p, owner, (dust * BigInt(w.prng.int(1000, 1300))) / 1000n);
};

/**
 * A stranger's wei: 1 wei of an asset into someone's position. A new asset in a cross basket is refused
 * (I20 strangers cannot block: no one fills or plants in another owner's basket); topping up a holding goes through.
 */
export const actStrangerWei: Action = async (w) => {
  const open = userOwned(w);
  if (open.length === 0) return;
  const p = pick(w, open);
  const asset = p.cross ? pick(w, w.assets).address : p.classKey;
  await depositInto(w, stranger(w, p), p, asset, 1n);
};

/**
 * A contract opens a cross position for itself, deposits, sells the NFT to a user and tries to withdraw in the
 * same transaction: the opener's authority ended with the transfer (L-1, I20 strangers cannot block), so the whole
 * transaction reverts.
 */
export const actTransferInOneTx: Action = async (w) => {
  const seq = await new MockCallSequence__factory(w.governance.signer).deploy();
  const at = await seq.getAddress();
  const buyer = pick(w, w.users);
  const a = pick(w, w.assets);
  const token = Object.values(w.keel.assets).find((x) => x.token.target === a.address)!.token;
  const amount = amountForUsd(w, a.address, BigInt(w.prng.int(100, 10_000))) + 1n;
  await (await token.mint(at, amount)).wait();
  const engine = w.keel.engine;
  const id = (await engine.lastPositionId()) + 1n;
  const label = `a contract opens ${id}, deposits ${amount} ${a.symbol}, sells it to ${buyer.name} and withdraws, in one tx`;
  note(w, label);
  await execute(w, {
    kind: "transfer.in-one-tx",
    label,
    actor: w.governance,
    send: () =>
      seq.run([
        { target: a.address, data: token.interface.encodeFunctionData("approve", [engine.target as string, amount]) },
        { target: engine.target as string, data: engine.interface.encodeFunctionData("open", [1, ZeroAddress, at]) },
        { target: engine.target as string, data: engine.interface.encodeFunctionData("deposit", [id, a.address, amount]) },
        { target: w.keel.nft.target as string, data: w.keel.nft.interface.encodeFunctionData("transferFrom", [at, buyer.address, id]) },
        { target: engine.target as string, data: engine.interface.encodeFunctionData("withdraw", [id, a.address, amount, at]) },
      ]),
    allowed: ["NotAuthorized", "Paused", "SupplyCapExceeded"],
    effect: "none",
  }).then((r) => expect(r.ok, `I20 strangers cannot block: ${label}: went through`).to.equal(false));
};

export const actDeposit: Action = async (w) => {
  const open = openPositions(w);
  if (open.length === 0) return;
  const p = pick(w, open);
  const payer = payerFor(w, p);
  const asset = p.cross ? pick(w, w.assets).address : p.classKey;
  await depositInto(w, payer, p, asset, amountForUsd(w, asset, BigInt(w.prng.int(10, 50_000))) + 1n);
};

export const actWithdraw: Action = async (w) => {
  const held = userOwned(w).filter((p) => p.collateral.size > 0);
  if (held.length === 0) return;
  const p = pick(w, held);
  const intruder = chance(w, 0.1);
  const who = intruder ? stranger(w, p) : ownerOf(w, p);
  const asset = pick(w, [...p.collateral.keys()]);
  const amount = chance(w, 0.25) ? p.collateral.get(asset)! : fraction(w, p.collateral.get(asset)!, 1, 1000);
  if (amount === 0n) return;
  const label = `withdraw ${amount} ${symbolOf(w, asset)} from ${p.id} by ${who.name}`;
  note(w, label);
  const r = await execute(w, {
    kind: intruder ? "withdraw.intruder" : p.normDebt === 0n ? "withdraw.no-debt" : "withdraw.with-debt",
    label,
    actor: who,
    send: () => w.keel.engine.connect(who.signer).withdraw(p.id, asset, amount, who.address),
    allowed: intruder ? ["NotAuthorized"] : p.normDebt === 0n ? [] : ["Unhealthy", ...ORACLE],
    acting: p.id,
    effect: "remove",
    valueCheck: { touched: [p.owner] },
  });
  if (!r.ok) return;
  expect(intruder, `${label}: a stranger withdrew`).to.equal(false);
  removeCollateral(p, asset, amount);
};

export const actBorrow: Action = async (w) => {
  const held = userOwned(w).filter((p) => p.collateral.size > 0);
  if (held.length === 0) return;
  const p = pick(w, held);
  await borrowFrom(w, p, chance(w, 0.1) ? stranger(w, p) : ownerOf(w, p));
};

export const actRepay: Action = async (w) => {
  const indebted = userOwned(w).filter((p) => p.normDebt !== 0n);
  if (indebted.length === 0) return;
  const p = pick(w, indebted);
  const payer = payerFor(w, p);
  const debtNow = await w.keel.engine.debtOf(p.id);
  const max = chance(w, 0.4);
  const amount = max ? MaxUint256 : fraction(w, debtNow, 1, 999) + 1n;
  await ensureKusd(w, payer, (max ? debtNow : amount) + m.WAD);
  const label = `repay ${max ? "all" : amount} of ${p.id} by ${payer.name}`;
  note(w, label);
  const kusdBefore = await w.keel.kusd.balanceOf(payer.address);
  const r = await execute(w, {
    kind: max ? "repay.max" : "repay.partial",
    label,
    actor: payer,
    send: () => w.keel.engine.connect(payer.signer).repay(p.id, amount),
    allowed: max ? [] : ["DustDebt"],
    acting: p.id,
    effect: "add",
    valueCheck: { touched: [p.owner] },
  });
  if (!r.ok) return;
  const debtAtT = r.before.positions.get(p.id)!.debt;
  const burnt = kusdBefore - (await w.keel.kusd.balanceOf(payer.address));
  const rate = await classRate(w, p.classKey);
  if (max || amount >= debtAtT) {
    expect(burnt, `${label}: burns the whole debt`).to.equal(debtAtT);
    p.normDebt = 0n;
  } else {
    expect(burnt, `${label}: burns the amount`).to.equal(amount);
    p.normDebt -= m.toNormDebtDown(amount, rate);
  }
  p.dustFloor = await w.keel.engine.dust();
};

export const actClose: Action = async (w) => {
  const mine = userOwned(w);
  if (mine.length === 0) return;
  const p = pick(w, mine);
  const intruder = chance(w, 0.1);
  const who = intruder ? stranger(w, p) : ownerOf(w, p);
  await ensureKusd(w, who, (await w.keel.engine.debtOf(p.id)) + m.WAD);
  const label = `close ${p.id} by ${who.name}`;
  note(w, label);
  const tokens = w.assets.map((a) => Object.values(w.keel.assets).find((x) => x.token.target === a.address)!.token);
  const balancesBefore = await Promise.all(tokens.map((t) => t.balanceOf(who.address)));
  const r = await execute(w, {
    kind: intruder ? "close.intruder" : "close",
    label,
    actor: who,
    send: () => w.keel.engine.connect(who.signer).close(p.id, who.address),
    allowed: intruder ? ["NotAuthorized"] : [],
    acting: p.id,
    effect: "close",
    valueCheck: { touched: [p.owner] },
  });
  if (!r.ok) return;
  expect(intruder, `${label}: a stranger closed`).to.equal(false);
  for (let i = 0; i < tokens.length; i++) {
    const got = (await tokens[i]!.balanceOf(who.address)) - balancesBefore[i]!;
    expect(got, `${label}: returns all ${w.assets[i]!.symbol}`).to.equal(p.collateral.get(w.assets[i]!.address) ?? 0n);
  }
  p.open = false;
  p.collateral.clear();
  p.normDebt = 0n;
};

export const actTransfer: Action = async (w) => {
  const mine = userOwned(w);
  if (mine.length === 0) return;
  const p = pick(w, mine);
  const from = ownerOf(w, p);
  const to = stranger(w, p);
  const label = `transfer position ${p.id} ${from.name} → ${to.name}`;
  note(w, label);
  const r = await execute(w, {
    kind: "transfer",
    label,
    actor: from,
    send: () => w.keel.nft.connect(from.signer).transferFrom(from.address, to.address, p.id),
    allowed: [],
    acting: p.id,
    effect: "none",
    // Handing over an underwater position makes the giver richer: only the pair's total is bounded.
    valueCheck: { touched: [to.address], totalOnly: true },
  });
  if (r.ok) p.owner = to.address;
};
