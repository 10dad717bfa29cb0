/**
 * The action space of the invariant suite. Each action picks its parameters from the PRNG relative to the current
 * state (a fraction of what the initial margin allows, of the debt, of the collateral), runs its transactions
 * through `execute` (documented reverts only, other positions untouched, no actor made richer), checks its own
 * exact outcome against the math mirror, and updates the ghost state.
 */
import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { MaxUint256, ZeroAddress, type ContractTransactionReceipt } from "ethers";
import { refreshFeeds } from "../../deploy/local";
import * as m from "../../src/math";
import { governBatch } from "../helpers/engine";
import type { ExpectedLiquidation } from "../helpers/liquidation";
import { mirrorFeesAt } from "../helpers/periphery";
import { richestAsset } from "./checks";
import { execute, ORACLE_ERRORS, pinNextBlock, type TxResult } from "./exec";
import { expectedLiquidationAtPending, largestBorrowAtPending } from "./mirror";
import { addCollateral, openPositions, removeCollateral, symbolOf, type Actor, type GhostPosition, type World } from "./model";

export type Action = (w: World) => Promise<void>;

const pick = <T>(w: World, xs: readonly T[]): T => xs[w.prng.int(0, xs.length - 1)]!;
const chance = (w: World, p: number): boolean => w.prng.uniform() < p;
/** A random fraction of `x`, in [lo, hi] per mille. */
const fraction = (w: World, x: bigint, lo = 1, hi = 1000): bigint => (x * BigInt(w.prng.int(lo, hi))) / 1000n;
const note = (w: World, line: string): void => void w.log.push(line);

const ORACLE = ORACLE_ERRORS as readonly string[];

function ownerOf(w: World, p: GhostPosition): Actor {
  return w.actors.find((a) => a.address === p.owner)!;
}

function stranger(w: World, p: GhostPosition): Actor {
  return pick(w, w.users.filter((u) => u.address !== p.owner));
}

/** The owner when a user owns `p`, otherwise any user (deposits and repayments are open to anyone). */
function payerFor(w: World, p: GhostPosition): Actor {
  const owner = w.users.find((u) => u.address === p.owner);
  return owner && chance(w, 0.8) ? owner : pick(w, w.users);
}

/** Open positions owned by a user (the bank's and the AMM seeder's positions only see keepers and the market). */
function userOwned(w: World): GhostPosition[] {
  return openPositions(w).filter((p) => w.users.some((u) => u.address === p.owner));
}

function withDebt(w: World): GhostPosition[] {
  return openPositions(w).filter((p) => p.normDebt !== 0n);
}

/** Amount of `asset` worth `usd` dollars at the last valid price. */
function amountForUsd(w: World, asset: string, usd: bigint): bigint {
  const a = w.assets.find((x) => x.address === asset)!;
  return (usd * m.WAD * a.unit) / w.lastPrices.get(asset)!;
}

async function ensureKusd(w: World, who: Actor, amount: bigint): Promise<void> {
  const have = await w.keel.kusd.balanceOf(who.address);
  if (have >= amount || who === w.bank) return;
  // The bank lends at most half of what it holds (a huge need just leaves the actor short: a documented revert).
  const spare = (await w.keel.kusd.balanceOf(w.bank.address)) / 2n;
  const gap = amount - have;
  await (await w.keel.kusd.connect(w.bank.signer).transfer(who.address, gap < spare ? gap : spare)).wait();
}

async function ensureTokens(w: World, who: Actor, asset: string, amount: bigint): Promise<void> {
  const token = Object.values(w.keel.assets).find((x) => x.token.target === asset)!.token;
  const have = await token.balanceOf(who.address);
  if (have < amount) await (await token.mint(who.address, amount - have)).wait();
}

/** Positions' debt after the receipt's block: the class accumulator stored at that block (it accrued there). */
async function classRate(w: World, classKey: string): Promise<bigint> {
  return (await w.keel.engine.debtClass(classKey)).rate;
}

// ------------------------------------------------------------------ positions

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
  const r = await execute(w, {
    kind: payer.address === p.owner ? "deposit" : "deposit.third-party",
    label,
    actor: payer,
    send: () => w.keel.engine.connect(payer.signer).deposit(p.id, asset, amount),
    allowed: ["SupplyCapExceeded"],
    acting: p.id,
    effect: "add",
    valueCheck: { touched: [p.owner] },
  });
  if (!r.ok) {
    if (r.revert.name === "SupplyCapExceeded") {
      const [cap, total] = await w.keel.engine.collateralConfig(asset);
      expect(total + amount > cap, "SupplyCapExceeded below the cap").to.equal(true);
    }
    return false;
  }
  addCollateral(p, asset, amount);
  const [cap, total] = await w.keel.engine.collateralConfig(asset);
  expect(total <= cap, `inv11: ${symbolOf(w, asset)} total ${total} over its supply cap ${cap}`).to.equal(true);
  return true;
}

/**
 * Borrows a fraction of what the initial margin allows at the pinned time (the mirror's largest borrow): sometimes
 * exactly the largest (must succeed unless a ceiling, dust or pause stops it) or one wei more (must fail).
 */
async function borrowFrom(w: World, p: GhostPosition, who: Actor): Promise<void> {
  const at = await pinNextBlock();
  // undefined: a price is unavailable, so the borrow must revert with an oracle error
  const largest = (await largestBorrowAtPending(w, p.id)) ?? -1n;
  const variant = largest <= 0n ? "none" : pick(w, ["fraction", "fraction", "fraction", "largest", "over"] as const);
  // Fractions lean towards the limit, so price moves make positions callable and liquidatable.
  const amount =
    variant === "largest" ? largest : variant === "over" ? largest + 1n : variant === "fraction" ? fraction(w, largest, chance(w, 0.5) ? 700 : 50, 999) : m.WAD * 500n;
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
      : variant === "largest"
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
  expect(m.toDebtUp(cls.normDebt, cls.rate) <= cls.debtCeiling, `inv11: class ${p.classKey} over its ceiling`).to.equal(true);
  expect((await w.keel.engine.globalDebt()) <= (await w.keel.engine.globalDebtCeiling()), "inv11: global ceiling").to.equal(true);
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

// ------------------------------------------------------------------ market: prices, time, σ

/** Moves one feed by `bps` basis points (composite wstETH moves its wstETH/ETH ratio), within [1/5, 5] of the start. */
async function moveFeed(w: World, symbol: string, bps: bigint): Promise<void> {
  const feed = w.keel.assets[symbol]!.feed;
  const answer = await feed.latestAnswer();
  const start = w.initialAnswers.get(symbol)!;
  let next = (answer * (10_000n + bps)) / 10_000n;
  if (next < start / 5n) next = start / 5n;
  if (next > start * 5n) next = start * 5n;
  note(w, `price ${symbol} ${bps >= 0n ? "+" : ""}${Number(bps) / 100}% → ${next}`);
  await (await feed.updateAnswer(next)).wait();
  w.stats.success(bps > 1000n || bps < -1000n ? "price.gap" : "price.small");
}

export const actPriceSmall: Action = async (w) => {
  const symbol = pick(w, ["WETH", "WETH", "WBTC", "USDC", "wstETH"]);
  const range = symbol === "USDC" || symbol === "wstETH" ? 100 : 400;
  await moveFeed(w, symbol, BigInt(w.prng.int(-range, range)));
};

export const actPriceGap: Action = async (w) => {
  const symbol = pick(w, ["WETH", "WBTC"]);
  const down = chance(w, 0.7);
  const size = BigInt(w.prng.int(1_000, 4_500));
  await moveFeed(w, symbol, down ? -size : size);
};

export const actTimeJump: Action = async (w) => {
  const kind = pick(w, ["minutes", "minutes", "hours", "days"] as const);
  const seconds =
    kind === "minutes" ? BigInt(w.prng.int(60, 3_000)) : kind === "hours" ? BigInt(w.prng.int(3_600, 9 * 3_600)) : BigInt(w.prng.int(86_400, 5 * 86_400));
  await time.increase(seconds);
  const refresh = chance(w, 0.6);
  if (refresh) await refreshFeeds(w.keel);
  note(w, `time +${seconds}s${refresh ? ", feeds refreshed" : ""}`);
  w.stats.success(`time.${kind}`);
};

export const actRefreshFeeds: Action = async (w) => {
  await refreshFeeds(w.keel);
  note(w, "refresh feeds");
  w.stats.success("feeds.refresh");
};

export const actPoke: Action = async (w) => {
  const a = pick(w, w.assets);
  const label = `poke σ of ${a.symbol}`;
  note(w, label);
  await execute(w, {
    kind: "vol.poke",
    label,
    actor: w.keeper,
    send: () => w.keel.vol.connect(w.keeper.signer).poke(a.address),
    allowed: ["PokeTooSoon", ...ORACLE],
    effect: "none",
  });
};

export const actCollectFees: Action = async (w) => {
  const label = "collectFees";
  note(w, label);
  const at = await pinNextBlock();
  const expected = await mirrorFeesAt(w.keel, at);
  const surplus = await w.keel.kusd.balanceOf(w.keel.surplus.target);
  const r = await execute(w, {
    kind: "collectFees",
    label,
    actor: w.keeper,
    send: () => w.keel.engine.connect(w.keeper.signer).collectFees(),
    allowed: ["NothingToCollect"],
    effect: "none",
    at,
  });
  if (r.ok) expect((await w.keel.kusd.balanceOf(w.keel.surplus.target)) - surplus, "fees minted (mirror)").to.equal(expected);
  else expect(expected, "NothingToCollect with fees pending").to.equal(0n);
};

// ------------------------------------------------------------------ margin calls and liquidation

export const actMarginCall: Action = async (w) => {
  const indebted = withDebt(w);
  if (indebted.length === 0) return;
  const weak = indebted.filter((p) => (w.last?.positions.get(p.id)?.hf ?? m.WAD) < m.WAD);
  const p = weak.length > 0 && chance(w, 0.8) ? pick(w, weak) : pick(w, indebted);
  const label = `marginCall ${p.id}`;
  note(w, label);
  const r = await execute(w, {
    kind: "marginCall",
    label,
    actor: w.keeper,
    send: () => w.keel.engine.connect(w.keeper.signer).marginCall(p.id),
    allowed: ["NotCallable", "AlreadyCalled", ...ORACLE],
    acting: p.id,
    effect: "none",
  });
  const b = r.before.positions.get(p.id)!;
  if (r.ok) {
    expect(b.hf < m.WAD, `${label}: called at HF ${b.hf}`).to.equal(true);
    const grace = (await w.keel.engine.liquidationParams()).gracePeriod;
    expect(await w.keel.engine.callDeadline(p.id), `${label}: deadline`).to.equal(r.at + grace);
  } else if (r.revert.name === "NotCallable") {
    expect(b.priced && b.hf >= m.WAD, `${label}: NotCallable at HF ${b.hf}`).to.equal(true);
  }
};

export const actClearMarginCall: Action = async (w) => {
  const indebted = withDebt(w);
  if (indebted.length === 0) return;
  const called = [];
  for (const p of indebted) if ((await w.keel.engine.callDeadline(p.id)) !== 0n) called.push(p);
  const p = called.length > 0 ? pick(w, called) : pick(w, indebted);
  const label = `clearMarginCall ${p.id}`;
  note(w, label);
  const r = await execute(w, {
    kind: "clearMarginCall",
    label,
    actor: pick(w, w.users),
    send: () => w.keel.engine.connect(w.keeper.signer).clearMarginCall(p.id),
    allowed: ["NotCalled", "StillUnhealthy", ...ORACLE],
    acting: p.id,
    effect: "none",
  });
  if (r.ok) {
    expect(r.before.positions.get(p.id)!.hf >= m.WAD, `${label}: cleared below HF 1`).to.equal(true);
    expect(await w.keel.engine.callDeadline(p.id)).to.equal(0n);
  }
};

/** Picks a Liquidatable position (by the last snapshot's HF and `stateOf`), or any indebted one. */
async function liquidationTarget(w: World): Promise<{ p: GhostPosition; asset: string } | undefined> {
  const indebted = withDebt(w);
  if (indebted.length === 0) return undefined;
  const candidates = [];
  for (const p of indebted) {
    const s = w.last?.positions.get(p.id);
    if (!s?.priced || s.hf >= m.WAD) continue;
    try {
      const [state] = await w.keel.engine.stateOf(p.id);
      if (state === 3n) candidates.push(p);
    } catch {
      // price unavailable now
    }
  }
  const p = candidates.length > 0 && chance(w, 0.9) ? pick(w, candidates) : pick(w, indebted);
  const s = w.last?.positions.get(p.id);
  const asset = chance(w, 0.7) && s ? (richestAsset(s) ?? pick(w, [...p.collateral.keys()])) : pick(w, [...p.collateral.keys(), w.assets[0]!.address]);
  return asset ? { p, asset } : undefined;
}

/** Books a liquidation's outcome: ghost collateral, debt and deficit, and the checks of invariants 8 and 12. */
async function settleLiquidation(w: World, label: string, p: GhostPosition, asset: string, r: TxResult, e: ExpectedLiquidation | undefined): Promise<void> {
  if (!r.ok) return;
  const ev = liquidatedEvent(w, r.receipt);
  expect(ev, `${label}: Liquidated event`).to.not.equal(undefined);
  const { repaid, seized, badDebt } = ev!;
  if (e) {
    expect([repaid, seized, badDebt], `${label}: mirror (repaid, seized, badDebt)`).to.deep.equal([e.repaid, e.seized, e.badDebt]);
  }
  const before = r.before.positions.get(p.id)!;
  const after = r.after.positions.get(p.id)!;
  if (badDebt !== 0n) {
    // Invariant 12: bad debt only from an insolvent position, which loses everything.
    expect(e ? e.coverable < e.debt : true, `inv12: ${label} recorded bad debt for a solvent position`).to.equal(true);
    p.collateral.clear();
    p.normDebt = 0n;
  } else {
    removeCollateral(p, asset, seized);
    const rate = await classRate(w, p.classKey);
    p.normDebt = repaid === before.debt ? 0n : p.normDebt - m.toNormDebtDown(repaid, rate);
  }
  p.dustFloor = await w.keel.engine.dust();
  if (after.debt === 0n) {
    expect(p.normDebt, `inv8: ${label} full liquidation leaves no debt`).to.equal(0n);
  } else {
    expect(after.hf > before.hf, `inv8: ${label} partial liquidation lowered HF ${before.hf} → ${after.hf}`).to.equal(true);
    expect(after.debt >= p.dustFloor, `inv3: ${label} left dust`).to.equal(true);
  }
  w.deficit += badDebt;
  for (const log of r.receipt.logs) {
    const parsed = log.address === w.keel.engine.target ? w.keel.engine.interface.parseLog(log) : null;
    if (parsed?.name === "DeficitCovered") w.deficit -= (parsed.args[1] as bigint) + (parsed.args[2] as bigint);
  }
  note(w, `    ↳ repaid ${repaid}, seized ${seized}${badDebt ? `, bad debt ${badDebt}` : ""}`);
}

function liquidatedEvent(w: World, receipt: ContractTransactionReceipt): { repaid: bigint; seized: bigint; badDebt: bigint } | undefined {
  for (const log of receipt.logs) {
    if (log.address !== w.keel.engine.target) continue;
    const parsed = w.keel.engine.interface.parseLog(log);
    if (parsed?.name === "Liquidated") return { repaid: parsed.args[3], seized: parsed.args[4], badDebt: parsed.args[5] };
  }
  return undefined;
}

/**
 * LiquidationWouldLowerHealth is documented for one choice of asset (a partial liquidation must raise HF or
 * revert); that *some* choice liquidates a Liquidatable position is invariant 7, checked after every step.
 */
const LIQUIDATION_ERRORS = ["NotLiquidatable", "NothingToSeize", "MaxRepayTooLow", "LiquidationWouldLowerHealth", ...ORACLE];
/** The keeper may be short of kUSD for a huge position (OpenZeppelin's ERC20 error from the burn). */
const KEEPER_SHORT = "ERC20InsufficientBalance";

export const actLiquidate: Action = async (w) => {
  const t = await liquidationTarget(w);
  if (!t) return;
  const { p, asset } = t;
  const debt = await w.keel.engine.debtOf(p.id);
  const maxRepay = chance(w, 0.7) ? MaxUint256 : fraction(w, debt, 100, 1000) + 1n;
  await ensureKusd(w, w.keeper, debt * 2n + 1000n * m.WAD);
  const at = await pinNextBlock();
  let e: ExpectedLiquidation | undefined;
  try {
    e = await expectedLiquidationAtPending(w, p.id, asset, maxRepay);
  } catch {
    e = undefined; // MaxRepayTooLow, asset not held, or a price unavailable: the engine must revert
  }
  const label = `liquidate ${p.id} seizing ${symbolOf(w, asset)}, maxRepay ${maxRepay === MaxUint256 ? "∞" : maxRepay}`;
  note(w, label);
  const r = await execute(w, {
    kind: "liquidate",
    label,
    actor: w.keeper,
    send: () => w.keel.engine.connect(w.keeper.signer).liquidate(p.id, asset, maxRepay, w.keeper.address, "0x"),
    allowed: [...LIQUIDATION_ERRORS, KEEPER_SHORT],
    acting: p.id,
    effect: "liquidation",
    at,
  });
  if (!r.ok && r.revert.name === "NotLiquidatable") {
    const [state] = await w.keel.engine.stateOf(p.id).catch(() => [0n]);
    expect(state, `inv7: ${label} NotLiquidatable while stateOf says Liquidatable`).to.not.equal(3n);
  }
  await settleLiquidation(w, label, p, asset, r, e);
};

export const actFlashLiquidate: Action = async (w) => {
  const t = await liquidationTarget(w);
  if (!t) return;
  const { p, asset } = t;
  const at = await pinNextBlock();
  let e: ExpectedLiquidation | undefined;
  try {
    // It repays at most the debt at the pinned time, which is what an unlimited maxRepay repays at most.
    e = await expectedLiquidationAtPending(w, p.id, asset);
  } catch {
    e = undefined;
  }
  const label = `flash-liquidate ${p.id} seizing ${symbolOf(w, asset)} through the AMM`;
  note(w, label);
  const r = await execute(w, {
    kind: "liquidate.flash",
    label,
    actor: w.keeper,
    send: () => w.keel.flashLiquidator.connect(w.keeper.signer).liquidate(p.id, asset, MaxUint256, w.keel.amm.target, 0n),
    allowed: [...LIQUIDATION_ERRORS, "FlashRepaymentShort", "Unprofitable", "EmptyPool", "InsufficientOutput", "ERC3156ExceededMaxLoan"],
    acting: p.id,
    effect: "liquidation",
    at,
  });
  await settleLiquidation(w, label, p, asset, r, e);
  if (r.ok) {
    // The flash liquidator holds nothing between transactions.
    const holder = w.keel.flashLiquidator.target as string;
    expect(await w.keel.kusd.balanceOf(holder), "flash liquidator's kUSD").to.equal(0n);
    for (const a of Object.values(w.keel.assets)) expect(await a.token.balanceOf(holder), "flash liquidator's collateral").to.equal(0n);
  }
};

export const actCoverDeficit: Action = async (w) => {
  const deficit = await w.keel.engine.deficit();
  const surplus = await w.keel.kusd.balanceOf(w.keel.surplus.target);
  if (deficit !== 0n && surplus !== 0n && chance(w, 0.5)) {
    // Governance spends the surplus to the bank, which burns it against the deficit.
    const amount = surplus < deficit ? surplus : deficit;
    note(w, `governance spends ${amount} of surplus to cover the deficit`);
    const data = w.keel.surplus.interface.encodeFunctionData("spend", [w.bank.address, amount]);
    await governBatch(w.keel, [{ target: w.keel.surplus.target as string, data }]);
    if (chance(w, 0.8)) await refreshFeeds(w.keel);
  }
  const payer = chance(w, 0.5) ? w.bank : w.keeper;
  const amount = chance(w, 0.5) ? MaxUint256 : fraction(w, deficit, 1, 1000) + 1n;
  await ensureKusd(w, payer, (amount === MaxUint256 ? deficit : amount) + 1n);
  const label = `coverDeficit ${amount === MaxUint256 ? "all" : amount} by ${payer.name} (deficit ${deficit})`;
  note(w, label);
  const kusdBefore = await w.keel.kusd.balanceOf(payer.address);
  const r = await execute(w, {
    kind: "coverDeficit",
    label,
    actor: payer,
    send: () => w.keel.engine.connect(payer.signer).coverDeficit(amount),
    allowed: ["NoDeficit"],
    effect: "none",
  });
  if (!r.ok) {
    expect(deficit, "NoDeficit with a deficit").to.equal(0n);
    return;
  }
  const covered = amount < deficit ? amount : deficit;
  expect(kusdBefore - (await w.keel.kusd.balanceOf(payer.address)), `${label}: burns what it covers`).to.equal(covered);
  w.deficit -= covered;
};
