/**
 * I12 no actor richer, across transactions: one user sends several actions on one of its positions — borrow, withdraw,
 * repay, deposit, in random order and sizes — that are mined together in a single block. Whatever succeeds, the
 * user may not end the block richer at oracle prices, and no other position may change. (Reverts inside the
 * block carry no decodable reason without tracing; the per-transaction actions classify reasons.)
 */
import { expect } from "chai";
import { network } from "hardhat";
import { MaxUint256 } from "ethers";
import * as m from "../../src/math";
import type { Action } from "./actions";
import { pinNextBlock, values } from "./exec";
import { addCollateral, openPositions, removeCollateral } from "./model";
import { readSnapshot } from "./snapshot";

const GAS = 1_500_000n;

export const actBurst: Action = async (w) => {
  const mine = openPositions(w).filter((p) => w.users.some((u) => u.address === p.owner) && p.collateral.size > 0);
  if (mine.length === 0) return;
  const p = mine[w.prng.int(0, mine.length - 1)]!;
  const user = w.users.find((u) => u.address === p.owner)!;
  const engine = w.keel.engine.connect(user.signer);
  const asset = [...p.collateral.keys()][w.prng.int(0, p.collateral.size - 1)]!;
  const held = p.collateral.get(asset)!;
  const debt = await w.keel.engine.debtOf(p.id);
  const value = w.last?.positions.get(p.id)?.assetValues.reduce((a, b) => a + b, 0n) ?? 0n;
  const plan = w.prng.shuffle(["borrow", "withdraw", "repay", "deposit"] as const).slice(0, w.prng.int(2, 4));
  const at = await pinNextBlock();
  const before = await readSnapshot(w, "pending");
  const valueBefore = (await values(w, [user.address], before, "pending"))?.get(user.address);
  w.log.push(`burst in one block by ${user.name} on ${p.id}: ${plan.join(", ")}`);

  await network.provider.send("evm_setAutomine", [false]);
  const sent = [];
  try {
    for (const op of plan) {
      const frac = BigInt(w.prng.int(1, 600));
      if (op === "borrow") sent.push({ op, tx: await engine.borrow(p.id, (value * frac) / 1000n + m.WAD, user.address, { gasLimit: GAS }) });
      if (op === "withdraw") sent.push({ op, tx: await engine.withdraw(p.id, asset, (held * frac) / 1000n + 1n, user.address, { gasLimit: GAS }) });
      if (op === "repay") sent.push({ op, tx: await engine.repay(p.id, frac > 400n ? MaxUint256 : (debt * frac) / 1000n + 1n, { gasLimit: GAS }) });
      if (op === "deposit") sent.push({ op, tx: await engine.deposit(p.id, asset, (held * frac) / 1000n + 1n, { gasLimit: GAS }) });
    }
    await network.provider.send("evm_mine", []);
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
  const outcomes = [];
  for (const { op, tx } of sent) {
    const receipt = await w.keel.kusd.runner!.provider!.getTransactionReceipt(tx.hash);
    const ok = receipt?.status === 1;
    outcomes.push(`${op} ${ok ? "ok" : "reverted"}`);
    if (ok) w.stats.success(`burst.${op}`);
    else w.stats.revert(`burst.${op}`, "reverted in block");
  }
  w.log.push(`    ↳ ${outcomes.join(", ")}`);
  const after = await readSnapshot(w, "latest");
  expect(after.timestamp, "the burst shares one block").to.equal(at);
  const valueAfter = (await values(w, [user.address], after, "latest"))?.get(user.address);
  if (valueBefore !== undefined && valueAfter !== undefined) {
    expect(valueAfter <= valueBefore, `I12 no actor richer: ${user.name} ended the block richer by ${valueAfter - valueBefore}`).to.equal(true);
  }
  for (const [id, b] of before.positions) {
    if (id === p.id) continue;
    expect(JSON.stringify(after.positions.get(id), (_, v) => (typeof v === "bigint" ? v.toString() : v)), `I7 other positions untouched: burst changed position ${id}`)
      .to.equal(JSON.stringify(b, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
  }
  // Book the block's net effect on the ghost from the chain's own result, then the per-step checks verify it.
  const state = after.positions.get(p.id)!;
  const amountAfter = state.amounts[state.assets.findIndex((a) => a === asset)] ?? 0n;
  if (amountAfter > held) addCollateral(p, asset, amountAfter - held);
  if (amountAfter < held) removeCollateral(p, asset, held - amountAfter);
  const [, , normDebt] = await w.keel.engine.positionInfo(p.id);
  if (normDebt !== p.normDebt) {
    p.normDebt = normDebt;
    p.dustFloor = await w.keel.engine.dust();
  }
};
