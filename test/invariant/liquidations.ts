/**
 * Keeper actions: margin calls and their clearing, liquidations with kUSD and flash liquidations through the
 * FlashLiquidator against the seeded MockAMM (each checked exactly against the mirror: I10 liquidation as mirrored,
 * I14 deficit; the FlashLiquidator also for I19 periphery holds nothing), a recovery then a dip (I15 fresh grace after
 * recovery), and deficit cover by anyone, from the surplus buffer through governance or from a payer's kUSD.
 */
import { expect } from "chai";
import { MaxUint256, type ContractTransactionReceipt } from "ethers";
import { refreshFeeds } from "../../dev/localMarket";
import { governBatch } from "../helpers/governance";
import * as m from "../../src/math";
import type { LiquidationOutcome } from "../../src/math/liquidation";
import { chance, classRate, ensureKusd, fraction, note, ORACLE, pick, withDebt, type Action } from "./actions";
import { richestAsset } from "./checks";
import { execute, pinNextBlock, type TxResult } from "./exec";
import { expectedLiquidationAtPending } from "./mirror";
import { removeCollateral, symbolOf, type GhostPosition, type World } from "./model";

export const actMarginCall: Action = async (w) => {
  const indebted = withDebt(w);
  if (indebted.length === 0) return;
  const weak = indebted.filter((p) => (w.last?.positions.get(p.id)?.hf ?? m.WAD) < m.WAD);
  const p = weak.length > 0 && chance(w, 0.8) ? pick(w, weak) : pick(w, indebted);
  const label = `marginCall ${p.id}`;
  note(w, label);
  const deadlineBefore = await w.keel.engine.callDeadline(p.id);
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
  if (r.ok && deadlineBefore !== 0n) {
    // A call attempt that sees a recovered position ends its open call (L-2).
    expect(await w.keel.engine.callDeadline(p.id), `${label}: a recovered position's call ends`).to.equal(0n);
    w.stats.success("marginCall.clears-recovered");
  } else if (r.ok) {
    expect(b.hf < m.WAD, `${label}: called at HF ${b.hf}`).to.equal(true);
    const grace = (await w.keel.engine.liquidationParams()).gracePeriod;
    expect(await w.keel.engine.callDeadline(p.id), `${label}: deadline`).to.equal(r.at + grace);
  } else if (r.revert.name === "NotCallable") {
    expect(b.valued && b.hf >= m.WAD, `${label}: NotCallable at HF ${b.hf}`).to.equal(true);
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

/**
 * Recover, then dip: a margin-called position's price rises until HF ≥ 1, the keeper's call attempt sees it and ends
 * the call, and the price falls back. The dip must get a fresh grace period: Callable (or Liquidatable only under
 * criticalHF), never Liquidatable on the old deadline.
 */
export const actRecoverThenDip: Action = async (w) => {
  const called = [];
  for (const p of withDebt(w)) if ((await w.keel.engine.callDeadline(p.id)) !== 0n && p.collateral.size > 0) called.push(p);
  if (called.length === 0) return;
  const p = pick(w, called);
  const main = [...p.collateral.keys()][0]!;
  const symbol = symbolOf(w, main);
  if (symbol === "wstETH" || symbol === "USDC") return; // composite or pegged: no recovery by its own feed
  const feed = w.keel.assets[symbol]!.feed;
  const answer = await feed.latestAnswer();
  await (await feed.updateAnswer(answer * 3n)).wait();
  const [, , hfUp] = await w.keel.engine.stateOf(p.id).catch(() => [0n, 0n, 0n]);
  const label = `recover ${symbol} ×3 (HF ${hfUp}), keeper's call attempt on ${p.id}, then dip back`;
  note(w, label);
  if (hfUp >= m.WAD) {
    await expect(w.keel.engine.connect(w.keeper.signer).marginCall(p.id), `${label}: the call ends`).to.emit(w.keel.engine, "MarginCallCleared");
    expect(await w.keel.engine.callDeadline(p.id)).to.equal(0n);
  }
  await (await feed.updateAnswer(answer)).wait();
  if (hfUp < m.WAD) return;
  const [state, , hf] = await w.keel.engine.stateOf(p.id);
  const { criticalHF } = await w.keel.engine.liquidationParams();
  if (hf >= criticalHF) expect(state, `I15 fresh grace after recovery: ${label}: a dip after a seen recovery skipped the grace period`).to.not.equal(3n);
  w.stats.success("call.recover-then-dip");
};

/** Picks a Liquidatable position (by the last snapshot's HF and `stateOf`), or any indebted one. */
async function liquidationTarget(w: World): Promise<{ p: GhostPosition; asset: string } | undefined> {
  const indebted = withDebt(w);
  if (indebted.length === 0) return undefined;
  const candidates = [];
  for (const p of indebted) {
    const s = w.last?.positions.get(p.id);
    if (!s?.valued || s.hf >= m.WAD) continue;
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

/** Books a liquidation's outcome: ghost collateral, debt and deficit, and the checks of I10 liquidation as mirrored and I14 deficit. */
async function settleLiquidation(
  w: World,
  label: string,
  p: GhostPosition,
  asset: string,
  maxRepay: bigint,
  r: TxResult,
  e: LiquidationOutcome | undefined,
): Promise<void> {
  if (!r.ok) return;
  const ev = liquidatedEvent(w, r.receipt);
  expect(ev, `${label}: Liquidated event`).to.not.equal(undefined);
  const { repaid, seized, badDebt } = ev!;
  if (e) {
    expect([repaid, seized, badDebt], `I10 liquidation as mirrored: ${label}: mirror (repaid, seized, badDebt)`).to.deep.equal([e.repaid, e.seized, e.badDebt]);
  }
  const before = r.before.positions.get(p.id)!;
  const after = r.after.positions.get(p.id)!;
  if (badDebt !== 0n) {
    // I14 deficit: bad debt only from an insolvent position, which loses everything.
    expect(e ? e.coverable < e.debt : true, `I14 deficit: ${label} recorded bad debt for a solvent position`).to.equal(true);
    p.collateral.clear();
    p.normDebt = 0n;
  } else {
    removeCollateral(p, asset, seized);
    const rate = await classRate(w, p.classKey);
    p.normDebt = repaid === before.debt ? 0n : p.normDebt - m.toNormDebtDown(repaid, rate);
  }
  const dust = await w.keel.engine.dust();
  if (after.debt === 0n) {
    expect(p.normDebt, `I10 liquidation as mirrored: ${label} full liquidation leaves no debt`).to.equal(0n);
    p.dustFloor = dust;
  } else {
    // A close-out step (all of the debt due: under criticalHF, or the rest would be dust; limited only by what the
    // asset pays for) takes all of one asset and may lower HF; any other partial liquidation raises it.
    const closeOutStep = e ? e.fullDue && repaid < maxRepay : repaid < maxRepay;
    if (!closeOutStep) {
      expect(after.hf > before.hf, `I10 liquidation as mirrored: ${label} partial liquidation lowered HF ${before.hf} → ${after.hf}`).to.equal(true);
    }
    // Only a close-out step may leave less than the dust (the other holdings pay for the rest, M-1); the floor for
    // the next checks is then what it left.
    if (!closeOutStep) expect(after.debt >= dust, `I5 dust: ${label} left dust`).to.equal(true);
    p.dustFloor = after.debt < dust ? after.debt : dust;
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
 * revert); that *some* choice liquidates a Liquidatable position is I9 liveness, checked after every step.
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
  let e: LiquidationOutcome | undefined;
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
    expect(state, `I9 liveness: ${label} NotLiquidatable while stateOf says Liquidatable`).to.not.equal(3n);
  }
  await settleLiquidation(w, label, p, asset, maxRepay, r, e);
};

export const actFlashLiquidate: Action = async (w) => {
  const t = await liquidationTarget(w);
  if (!t) return;
  const { p, asset } = t;
  const at = await pinNextBlock();
  let e: LiquidationOutcome | undefined;
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
  await settleLiquidation(w, label, p, asset, MaxUint256, r, e);
  if (r.ok) {
    // The flash liquidator holds nothing between transactions.
    const holder = w.keel.flashLiquidator.target as string;
    expect(await w.keel.kusd.balanceOf(holder), "I19 periphery holds nothing: flash liquidator's kUSD").to.equal(0n);
    for (const a of Object.values(w.keel.assets)) expect(await a.token.balanceOf(holder), "I19 periphery holds nothing: flash liquidator's collateral").to.equal(0n);
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
    allowed: ["NoDeficit", KEEPER_SHORT],
    effect: "none",
  });
  if (!r.ok) {
    if (r.revert.name === KEEPER_SHORT) {
      // Only when no one could fund the payer (the bank's borrow refused on a stale feed, the keeper's float spent).
      const needed = amount < deficit ? amount : deficit;
      expect(kusdBefore < needed, `${label}: ERC20InsufficientBalance while holding ${kusdBefore}`).to.equal(true);
      return;
    }
    expect(deficit, "NoDeficit with a deficit").to.equal(0n);
    return;
  }
  const covered = amount < deficit ? amount : deficit;
  expect(kusdBefore - (await w.keel.kusd.balanceOf(payer.address)), `${label}: burns what it covers`).to.equal(covered);
  w.deficit -= covered;
};

