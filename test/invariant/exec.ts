/**
 * Runs one transaction of an action at a pinned block time and checks what every action must respect:
 *  - it reverts only with one of the action's documented errors (decoded; panics and unknown reasons fail);
 *  - I7 other positions untouched: no other position's debt, collateral, HF or HFi changes, compared at the same timestamp;
 *  - I6 action postconditions (and I7 for deposits): after a borrow or withdrawal the acting position has HFi ≥ 1; a deposit or repayment never lowers
 *    its HF; a transfer, poke, fee collection or margin call changes no position at all;
 *  - I12 no actor richer: a user action never makes its actor, nor the actors it touches together, richer at oracle prices
 *    (wallet tokens and kUSD plus owned positions' collateral minus debt, valued exactly, without rounding).
 */
import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionReceipt, ContractTransactionResponse } from "ethers";
import * as m from "../../src/math";
import { UndocumentedRevert, type Revert } from "./errors";
import type { Actor, World } from "./model";
import { readSnapshot, type PositionState, type Snapshot } from "./snapshot";

/** How the action may change the position it acts on. */
export type Effect =
  | "none" // no position may change (transfer, poke, fee collection, margin calls)
  | "add" // deposit, repayment: HF may not fall
  | "remove" // withdrawal, borrow: HFi ≥ 1 afterwards if there is debt
  | "liquidation" // checked by the liquidation action itself
  | "open" // a new position appears; nothing else changes
  | "close"; // the acting position disappears

export interface TxSpec {
  kind: string; // key in the statistics
  label: string; // for the action log
  actor: Actor;
  send: () => Promise<ContractTransactionResponse>;
  allowed: readonly string[];
  acting?: bigint;
  effect: Effect;
  /** User action subject to I12 no actor richer: the actor and `touched` may not get richer. */
  valueCheck?: { touched: string[]; totalOnly?: boolean };
  /** A pinned timestamp chosen by the action (e.g. to size a borrow with the mirror); default latest + 1. */
  at?: bigint;
}

export type TxResult =
  | { ok: true; receipt: ContractTransactionReceipt; before: Snapshot; after: Snapshot; at: bigint }
  | { ok: false; revert: Revert; before: Snapshot; at: bigint };

/** Oracle failures: documented for any action that reads a price. */
export const ORACLE_ERRORS = [
  "StalePrice",
  "NonPositivePrice",
  "PriceRoundsToZero",
  "PriceAtBound",
  "FeedNotSet",
  "SequencerDown",
  "SequencerGracePeriod",
] as const;

export async function pinNextBlock(at?: bigint): Promise<bigint> {
  const ts = at ?? BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(ts);
  return ts;
}

export async function execute(w: World, spec: TxSpec): Promise<TxResult> {
  const at = await pinNextBlock(spec.at);
  const before = await readSnapshot(w, "pending");
  expect(before.timestamp, "pending block time").to.equal(at);
  const involved = spec.valueCheck ? [...new Set([spec.actor.address, ...spec.valueCheck.touched])] : [];
  const valuesBefore = await values(w, involved, before, "pending");
  let receipt: ContractTransactionReceipt;
  try {
    receipt = (await (await spec.send()).wait())!;
  } catch (error) {
    const revert = w.decoder.decode(error);
    w.stats.revert(spec.kind, revert.name);
    w.log.push(`    ↳ reverted ${revert.name}${revert.detail.startsWith("(") ? revert.detail : ""}`);
    if (!spec.allowed.includes(revert.name)) throw new UndocumentedRevert(spec.label, revert, { cause: error });
    return { ok: false, revert, before, at };
  }
  w.stats.success(spec.kind);
  const after = await readSnapshot(w, "latest");
  expect(after.timestamp, `${spec.label}: mined at the pinned time`).to.equal(at);
  checkOthersUnchanged(spec, before, after);
  checkActing(spec, before, after);
  if (spec.valueCheck) {
    const valuesAfter = await values(w, involved, after, "latest");
    if (valuesBefore && valuesAfter) {
      const gain = valuesAfter.get(spec.actor.address)! - valuesBefore.get(spec.actor.address)!;
      const actorMayGain = spec.valueCheck.totalOnly === true;
      expect(actorMayGain || gain <= 0n, `I12 no actor richer: ${spec.label} made ${spec.actor.name} richer by ${gain} (×1e-36 USD)`).to.equal(true);
      const total = (v: Map<string, bigint>): bigint => [...v.values()].reduce((a, b) => a + b, 0n);
      const totalGain = total(valuesAfter) - total(valuesBefore);
      expect(totalGain <= 0n, `I12 no actor richer: ${spec.label} made the touched actors richer by ${totalGain}`).to.equal(true);
    }
  }
  return { ok: true, receipt, before, after, at };
}

function sameState(a: PositionState, b: PositionState): boolean {
  const key = (s: PositionState): string =>
    JSON.stringify([s.owner, s.assets.map((x, i) => [x, s.amounts[i]!.toString()]).sort(), s.debt.toString()]);
  if (key(a) !== key(b)) return false;
  if (a.priced && b.priced) return a.hf === b.hf && a.hfInitial === b.hfInitial;
  if (a.valued && b.valued) return a.priced === b.priced && a.hf === b.hf;
  return a.priced === b.priced && a.valued === b.valued;
}

/** I7 other positions untouched: an action on one position changes no other position (compared at the same block time). */
function checkOthersUnchanged(spec: TxSpec, before: Snapshot, after: Snapshot): void {
  for (const [id, b] of before.positions) {
    if (id === spec.acting) continue;
    const a = after.positions.get(id);
    expect(a, `I7 other positions untouched: ${spec.label} removed position ${id}`).to.not.equal(undefined);
    expect(sameState(b, a!), `I7 other positions untouched: ${spec.label} changed position ${id}: ${show(b)} → ${show(a!)}`).to.equal(true);
  }
  for (const id of after.positions.keys()) {
    if (!before.positions.has(id)) {
      expect(spec.effect, `I7 other positions untouched: ${spec.label} created position ${id}`).to.equal("open");
    }
  }
}

function checkActing(spec: TxSpec, before: Snapshot, after: Snapshot): void {
  if (spec.acting === undefined) return;
  const b = before.positions.get(spec.acting);
  const a = after.positions.get(spec.acting);
  switch (spec.effect) {
    case "none":
      if (spec.kind === "transfer") {
        expect({ ...a!, owner: "" }, `${spec.label}: a transfer changes only the owner`).to.deep.equal({ ...b!, owner: "" });
      } else {
        expect(sameState(b!, a!), `${spec.label} changed its position`).to.equal(true);
      }
      return;
    case "add":
      if (b!.priced && a!.priced) {
        expect(a!.hf >= b!.hf, `I7 other positions untouched: ${spec.label} lowered HF ${b!.hf} → ${a!.hf}`).to.equal(true);
      }
      return;
    case "remove":
      if (a!.debt !== 0n) {
        expect(a!.priced, `${spec.label}: a borrow or withdrawal with debt succeeded without a price`).to.equal(true);
        expect(a!.hfInitial >= m.WAD, `I6 action postconditions: ${spec.label} left HFi ${a!.hfInitial} < 1`).to.equal(true);
      }
      return;
    case "close":
      expect(a, `${spec.label}: the position is gone`).to.equal(undefined);
      return;
    default:
      return;
  }
}

const show = (s: PositionState): string =>
  `{debt ${s.debt}, hf ${s.hf}, hfi ${s.hfInitial}, amounts ${s.amounts.join("/")}, owner ${s.owner.slice(0, 8)}}`;

/**
 * Exact value of each address at the snapshot's prices, scaled by 1e36 / USD: wallet tokens and kUSD, plus every
 * position it owns (collateral minus debt). Undefined when a price is unavailable.
 */
export async function values(w: World, addresses: string[], s: Snapshot, blockTag: "pending" | "latest"): Promise<Map<string, bigint> | undefined> {
  if (addresses.length === 0) return undefined;
  if (w.assets.some((a) => !s.prices.has(a.address))) return undefined;
  const scale = (asset: string, amount: bigint): bigint => {
    const a = w.assets.find((x) => x.address === asset)!;
    return amount * s.prices.get(asset)! * (m.WAD / a.unit);
  };
  const out = new Map<string, bigint>();
  for (const who of addresses) {
    let v = (await w.keel.kusd.balanceOf(who, { blockTag })) * m.WAD * m.WAD;
    for (const a of w.assets) {
      const token = Object.values(w.keel.assets).find((x) => x.token.target === a.address)!.token;
      v += scale(a.address, await token.balanceOf(who, { blockTag }));
    }
    for (const p of s.positions.values()) {
      if (p.owner !== who) continue;
      p.assets.forEach((asset, i) => (v += scale(asset, p.amounts[i]!)));
      v -= p.debt * m.WAD * m.WAD;
    }
    out.set(who, v);
  }
  return out;
}
