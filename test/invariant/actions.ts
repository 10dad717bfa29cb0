/**
 * What every action shares: the `Action` type, PRNG helpers that size actions relative to the current state, actor
 * and position choices, and funding from the bank. The actions themselves: positions.ts (users), market.ts
 * (prices, time, σ, fees), liquidations.ts (margin calls, liquidations, deficit), governance.ts, burst.ts.
 */
import * as m from "../../src/math";
import { ORACLE_ERRORS } from "./exec";
import { openPositions, type Actor, type GhostPosition, type World } from "./model";

export type Action = (w: World) => Promise<void>;

export const pick = <T>(w: World, xs: readonly T[]): T => xs[w.prng.int(0, xs.length - 1)]!;
export const chance = (w: World, p: number): boolean => w.prng.uniform() < p;
/** A random fraction of `x`, in [lo, hi] per mille. */
export const fraction = (w: World, x: bigint, lo = 1, hi = 1000): bigint => (x * BigInt(w.prng.int(lo, hi))) / 1000n;
export const note = (w: World, line: string): void => void w.log.push(line);

export const ORACLE = ORACLE_ERRORS as readonly string[];

export function ownerOf(w: World, p: GhostPosition): Actor {
  return w.actors.find((a) => a.address === p.owner)!;
}

export function stranger(w: World, p: GhostPosition): Actor {
  return pick(w, w.users.filter((u) => u.address !== p.owner));
}

/** The owner when a user owns `p`, otherwise any user (deposits and repayments are open to anyone). */
export function payerFor(w: World, p: GhostPosition): Actor {
  const owner = w.users.find((u) => u.address === p.owner);
  return owner && chance(w, 0.8) ? owner : pick(w, w.users);
}

/** Open positions owned by a user (the bank's and the AMM seeder's positions only see keepers and the market). */
export function userOwned(w: World): GhostPosition[] {
  return openPositions(w).filter((p) => w.users.some((u) => u.address === p.owner));
}

export function withDebt(w: World): GhostPosition[] {
  return openPositions(w).filter((p) => p.normDebt !== 0n);
}

/** Amount of `asset` worth `usd` dollars at the last valid price. */
export function amountForUsd(w: World, asset: string, usd: bigint): bigint {
  const a = w.assets.find((x) => x.address === asset)!;
  return (usd * m.WAD * a.unit) / w.lastPrices.get(asset)!;
}

/**
 * Tops `who` up to `amount` kUSD: from the bank, then from the keeper's float (a liquidation of a huge position
 * leaves it holding much of the bank's kUSD), then by the bank borrowing more against its USDC. A payer is never
 * left short by the harness (replay of seed 782 step 82: a repay-all left the payer 36k kUSD short,
 * ERC20InsufficientBalance); only a need beyond all of that (or a borrow refused on a stale feed) can still leave it
 * short.
 */
export async function ensureKusd(w: World, who: Actor, amount: bigint): Promise<void> {
  const balance = (a: Actor): Promise<bigint> => w.keel.kusd.balanceOf(a.address);
  let have = await balance(who);
  for (const source of [w.bank, w.keeper]) {
    if (have >= amount) return;
    const gap = amount - have;
    if (source === w.bank && (await balance(w.bank)) < gap) await bankBorrows(w, (gap - (await balance(w.bank))) * 2n);
    if (source === who) {
      have = await balance(who); // the bank paying for itself (coverDeficit): what it just borrowed
      continue;
    }
    const spare = await balance(source);
    const sent = gap < spare ? gap : spare;
    if (sent !== 0n) await (await w.keel.kusd.connect(source.signer).transfer(who.address, sent)).wait();
    have += sent;
  }
}

/** The bank borrows `amount` more against its USDC position (if its margin allows), keeping the ghost in step. */
async function bankBorrows(w: World, amount: bigint): Promise<void> {
  const g = openPositions(w).find((p) => p.owner === w.bank.address);
  if (!g) return;
  try {
    await (await w.keel.engine.connect(w.bank.signer).borrow(g.id, amount, w.bank.address)).wait();
  } catch {
    return; // paused, a ceiling, or beyond its margin: the payer stays short (a documented revert)
  }
  g.normDebt = (await w.keel.engine.positionInfo(g.id))[2];
  g.dustFloor = await w.keel.engine.dust();
  note(w, `    (bank borrowed ${amount} to fund a payer)`);
}

export async function ensureTokens(w: World, who: Actor, asset: string, amount: bigint): Promise<void> {
  const token = Object.values(w.keel.assets).find((x) => x.token.target === asset)!.token;
  const have = await token.balanceOf(who.address);
  if (have < amount) await (await token.mint(who.address, amount - have)).wait();
}

/** Positions' debt after the receipt's block: the class accumulator stored at that block (it accrued there). */
export async function classRate(w: World, classKey: string): Promise<bigint> {
  return (await w.keel.engine.debtClass(classKey)).rate;
}
