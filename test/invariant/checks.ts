/**
 * Invariants checked after every step of a sequence, from chain reads and the ghost state (numbered in
 * docs/invariants.md):
 *  - I1 ledger and I2 collateral totals (`checkInvariants`);
 *  - I4 positions as modelled (`checkGhost`: collateral, owner and debt against the ghost);
 *  - I5 dust (`checkGhost`);
 *  - I8 rates never decrease (`checkRates`);
 *  - I9 liveness, docs/spec.md §4.6 (`checkLiquidatable`, `liquidateToTheEnd`, on a snapshot reverted afterwards);
 *  - I14 deficit (`checkStep`);
 *  - I17 one margin formula, for one priced position per step (`checkHealthAgainstMirror`).
 * And, every few steps and at the end, I11 owners can exit (`checkOwnersCanExit`, with fresh prices and with every
 * feed stale, on a snapshot reverted afterwards).
 */
import { expect } from "chai";
import { impersonateAccount, setBalance, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { MaxUint256, type ContractTransactionReceipt } from "ethers";
import * as m from "../../src/math";
import { checkInvariants } from "../helpers/invariant";
import { State, termsOf } from "../helpers/liquidation";
import { expectedHealth } from "../helpers/mirror";
import { openPositions, symbolOf, type World } from "./model";
import { ORACLE_ERRORS } from "./exec";
import { readSnapshot, type PositionState, type Snapshot } from "./snapshot";

export async function checkStep(w: World): Promise<Snapshot> {
  const s = await readSnapshot(w, "latest");
  await checkInvariants(w.keel);
  checkGhost(w, s);
  checkRates(w, s);
  expect(await w.keel.engine.deficit(), "I14 deficit: deficit differs from the bad debt liquidations recorded").to.equal(w.deficit);
  await checkLiquidatable(w, s);
  await checkHealthAgainstMirror(w, s);
  for (const [asset, price] of s.prices) w.lastPrices.set(asset, price);
  w.last = s;
  return s;
}

function checkGhost(w: World, s: Snapshot): void {
  const ghosts = openPositions(w);
  expect([...s.positions.keys()].sort(), "open positions").to.deep.equal(ghosts.map((p) => p.id).sort());
  for (const g of ghosts) {
    const p = s.positions.get(g.id)!;
    expect(p.owner, `I4 positions as modelled: position ${g.id} owner`).to.equal(g.owner);
    const held = new Map<string, bigint>();
    p.assets.forEach((a, i) => {
      if (p.amounts[i]! !== 0n) held.set(a, p.amounts[i]!);
    });
    expect([...held.entries()].sort(), `I4 positions as modelled: position ${g.id} collateral`).to.deep.equal([...g.collateral.entries()].sort());
    const rate = s.rates.get(g.classKey)!;
    expect(p.debt, `I4 positions as modelled: position ${g.id} debt = ceil(normDebt × rate)`).to.equal(m.toDebtUp(g.normDebt, rate));
    expect(p.debt === 0n || p.debt >= g.dustFloor, `I5 dust: position ${g.id} debt ${p.debt} under dust ${g.dustFloor}`).to.equal(true);
  }
}

/** I17 one margin formula, for one priced position with debt per step: Lens, `engine.healthFactor` and the math mirror agree exactly. */
async function checkHealthAgainstMirror(w: World, s: Snapshot): Promise<void> {
  const priced = [...s.positions.values()].filter((p) => p.priced && p.debt !== 0n);
  if (priced.length === 0) return;
  const p = priced[w.prng.int(0, priced.length - 1)]!;
  const [hf, hfInitial] = await w.keel.engine.healthFactor(p.id);
  expect([hf, hfInitial], `I17 one margin formula: position ${p.id}: engine.healthFactor vs Lens`).to.deep.equal([p.hf, p.hfInitial]);
  const mirror = await expectedHealth(w.keel, p.id);
  expect([hf, hfInitial], `I17 one margin formula: position ${p.id}: engine.healthFactor vs the math mirror`).to.deep.equal([mirror.hf, mirror.hfInitial]);
}

function checkRates(w: World, s: Snapshot): void {
  for (const [cls, rate] of s.rates) {
    const prev = w.rates.get(cls) ?? m.RAY;
    expect(rate >= prev, `I8 rates never decrease: accumulator of ${cls} fell ${prev} → ${rate}`).to.equal(true);
    w.rates.set(cls, rate);
  }
}

/** The held asset worth most: the natural one to seize (never one whose repayment rounds to zero). */
export function richestAsset(p: { assets: string[]; assetValues: bigint[]; amounts: bigint[] }): string | undefined {
  let best: string | undefined;
  let bestValue = -1n;
  p.assets.forEach((a, i) => {
    if (p.amounts[i]! !== 0n && p.assetValues[i]! > bestValue) [best, bestValue] = [a, p.assetValues[i]!];
  });
  return best;
}

async function checkLiquidatable(w: World, s: Snapshot): Promise<void> {
  for (const p of s.positions.values()) {
    if (p.debt === 0n) continue;
    const state = await w.keel.engine.stateOf(p.id).then(([x]) => x, () => undefined);
    if (state !== State.Liquidatable) continue; // (undefined: no price at all, the position waits for its feed)
    await liquidateToTheEnd(w, p);
  }
}

/** I9 liveness for one Liquidatable position, on a snapshot reverted afterwards. */
async function liquidateToTheEnd(w: World, p: PositionState): Promise<void> {
  const terms = await Promise.all(p.assets.map((a) => termsOf(w.keel, a)));
  let coverable = 0n;
  p.assets.forEach((_, i) => {
    const t = terms[i]!;
    if (t.price !== 0n) coverable += m.repayForDown(p.amounts[i]!, t.penalty, t.price, t.unit);
  });
  // With every price known, a solvent position must be liquidated to the end with no bad debt. With a holding
  // unpriced, the priced ones must still be liquidatable (one feed never blocks), no bad debt may be booked (the
  // unpriced value is unknown), and what the priced holdings do not pay for waits for the feed.
  const allPriced = terms.every((t) => t.price !== 0n);
  const solvent = coverable >= p.debt || !allPriced;
  const snapshot = await takeSnapshot();
  const keeper = w.keel.engine.connect(w.keeper.signer);
  const steps: string[] = [];
  try {
    await mintKusd(w, w.keeper.address, p.debt * 2n + m.WAD);
    for (let call = 0; call <= p.assets.length + 2; call++) {
      // A basket left with only unpriced holdings cannot be valued: the rest waits for the feeds.
      const state = await w.keel.engine.stateOf(p.id).then(([x]) => x, (e: unknown) => (allPriced ? Promise.reject(e) : undefined));
      const debt = await w.keel.engine.debtOf(p.id);
      if (debt === 0n || state !== State.Liquidatable) return;
      // Try the richest holding first, then every other one (a failed price counts as worth nothing).
      const values = await Promise.all(p.assets.map((a) => w.keel.engine.collateralOf(p.id, a)));
      const order = p.assets
        .map((a, i) => ({ a, held: values[i]!, usd: terms[i]!.price === 0n ? 0n : (values[i]! * terms[i]!.price) / terms[i]!.unit }))
        .filter((x) => x.held !== 0n)
        .sort((x, y) => (x.usd > y.usd ? -1 : x.usd < y.usd ? 1 : 0))
        .map((x) => x.a);
      if (!allPriced && steps.length > 0) return;
      const failures: string[] = [];
      const reasons: string[] = [];
      let done = false;
      for (const asset of order) {
        try {
          const receipt = await (await keeper.liquidate(p.id, asset, MaxUint256, w.keeper.address, "0x")).wait();
          const badDebt = liquidatedBadDebt(w, receipt!);
          steps.push(`${symbolOf(w, asset)}${badDebt ? ` (bad debt ${badDebt})` : ""}`);
          if (solvent) expect(badDebt, `I9 liveness: solvent position ${p.id} booked bad debt after ${steps.join(" → ")}`).to.equal(0n);
          done = true;
          break;
        } catch (error) {
          if (error instanceof Error && error.message.startsWith("I9 liveness")) throw error;
          const r = w.decoder.decode(error);
          failures.push(`${symbolOf(w, asset)}: ${r.name}${r.detail}`);
          reasons.push(r.name);
        }
      }
      // Nothing priced left worth seizing (only wei that rounds to no collateral): the rest waits for the feeds.
      const waits = !allPriced && reasons.every((r) => r === "NothingToSeize" || (ORACLE_ERRORS as readonly string[]).includes(r));
      if (!done && !waits && order.some((a) => terms[p.assets.indexOf(a)]!.price !== 0n)) {
        const holdings = p.assets.map((a, i) => `${symbolOf(w, a)} ${values[i]}`).join(", ");
        throw new Error(
          `I9 liveness: Liquidatable position ${p.id} (hf ${p.hf}, debt ${debt}, holdings ${holdings}, after ${steps.join(" → ") || "no step"}) cannot be liquidated by seizing any asset: ${failures.join("; ")}`,
        );
      }
      if (!done) return;
    }
    throw new Error(`I9 liveness: position ${p.id} still Liquidatable after ${steps.length} liquidations: ${steps.join(" → ")}`);
  } finally {
    await snapshot.restore();
  }
}

function liquidatedBadDebt(w: World, receipt: ContractTransactionReceipt): bigint {
  for (const log of receipt.logs) {
    if (log.address !== w.keel.engine.target) continue;
    const parsed = w.keel.engine.interface.parseLog(log);
    if (parsed?.name === "Liquidated") return parsed.args[5] as bigint;
  }
  throw new Error("liquidate: no Liquidated event");
}

/** Mints kUSD to `to` from the impersonated engine (inside a snapshot only: it breaks the §6 ledger). */
async function mintKusd(w: World, to: string, amount: bigint): Promise<void> {
  const engineAddress = await w.keel.engine.getAddress();
  await impersonateAccount(engineAddress);
  await setBalance(engineAddress, 10n ** 20n);
  const minter = w.keel.kusd.connect(await ethers.getSigner(engineAddress));
  await (await minter.mint(to, amount)).wait();
}

/**
 * I11 owners can exit, on a snapshot: every owner repays everything and withdraws every asset, or closes; with `stale`, after
 * every feed has gone stale. Owners short of kUSD get it minted by the impersonated engine (accrued fees make total
 * debt exceed supply, so not everyone could otherwise exit at once). Afterwards no collateral and no debt remain.
 * Reverted afterwards.
 */
export async function checkOwnersCanExit(w: World, stale: boolean): Promise<void> {
  const snapshot = await takeSnapshot();
  try {
    if (stale) {
      await time.increase(3n * 86_400n);
      for (const a of w.assets) {
        await expect(w.keel.oracle.getPrice(a.address), "feeds are stale").to.be.reverted;
      }
    }
    const engineAddress = await w.keel.engine.getAddress();
    await impersonateAccount(engineAddress);
    await setBalance(engineAddress, 10n ** 20n);
    const minter = w.keel.kusd.connect(await ethers.getSigner(engineAddress));
    let k = 0;
    for (const g of openPositions(w)) {
      const owner = w.actors.find((a) => a.address === g.owner)!;
      const engine = w.keel.engine.connect(owner.signer);
      const debt = await w.keel.engine.debtOf(g.id);
      const need = debt + m.WAD;
      const have = await w.keel.kusd.balanceOf(owner.address);
      if (have < need) await (await minter.mint(owner.address, need - have)).wait();
      const label = `I11 owners can exit${stale ? " (stale oracle)" : ""}: owner of ${g.id}`;
      try {
        // The owner can always deposit (a wei of a holding, or of the isolated asset), whatever the feeds do.
        const topUp = g.cross ? [...g.collateral.keys()][0] : g.classKey;
        if (topUp) {
          const token = Object.values(w.keel.assets).find((x) => x.token.target === topUp)!.token;
          await (await token.mint(owner.address, 1n)).wait();
          await (await token.connect(owner.signer).approve(engineAddress, MaxUint256)).wait();
          try {
            await (await engine.deposit(g.id, topUp, 1n)).wait();
          } catch (error) {
            if (w.decoder.decode(error).name !== "SupplyCapExceeded") throw error;
          }
        }
        if (k++ % 2 === 0) {
          await (await engine.close(g.id, owner.address)).wait();
        } else {
          if (g.normDebt !== 0n) await (await engine.repay(g.id, MaxUint256)).wait();
          for (const asset of await w.keel.engine.collateralAssets(g.id)) {
            const amount = await w.keel.engine.collateralOf(g.id, asset);
            await (await engine.withdraw(g.id, asset, amount, owner.address)).wait();
          }
          expect(await w.keel.engine.debtOf(g.id), `${label}: debt left`).to.equal(0n);
        }
      } catch (error) {
        if (error instanceof Error && error.message.startsWith(label)) throw error;
        const r = w.decoder.decode(error);
        throw new Error(`${label} cannot exit: ${r.name}${r.detail}`, { cause: error });
      }
    }
    for (const a of w.assets) {
      const [, total] = await w.keel.engine.collateralConfig(a.address);
      expect(total, `I11 owners can exit: ${a.symbol} left in the engine after every owner exited`).to.equal(0n);
    }
    expect(await w.keel.engine.globalDebt(), "I11 owners can exit: debt left after every owner exited").to.equal(0n);
  } finally {
    await snapshot.restore();
  }
}
