/**
 * Governed calls through the timelock, as production makes them (schedule, wait out the delay, execute): `govern`
 * for set-up, `governTx` when a test asserts the execution's events or revert, `prepareGoverned` when it also pins the
 * execution block's time, `governBatch` for several calls in one operation.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { type ContractTransactionResponse, id as keccakId, ZeroHash } from "ethers";
import type { Keel } from "../../deploy";
import { schedule } from "../../deploy/governance";

type Target = { getAddress(): Promise<string> };

let operations = 0;

/** A fresh salt per operation, so the same call can be governed twice (the timelock refuses a repeated operation). */
const freshSalt = (): string => `governed-${++operations}`;

/**
 * Schedules a governed call on the timelock and waits out its delay. Returns the executor, so a test can pin the
 * execution block's time and assert the execute transaction's events or revert. `salt` names the operation (default:
 * a fresh one).
 */
export async function prepareGoverned(
  keel: Keel,
  target: Target,
  data: string,
  salt: string = freshSalt(),
): Promise<() => Promise<ContractTransactionResponse>> {
  const [deployer] = await ethers.getSigners();
  const call = { target: await target.getAddress(), data, salt };
  await schedule(keel, deployer!, call);
  await time.increase(await keel.timelock.getMinDelay());
  return () => keel.timelock.connect(deployer!).execute(call.target, 0, call.data, ZeroHash, keccakId(salt));
}

/**
 * Schedules, waits and sends the execution; returns the pending execute transaction, so a test can assert its events
 * or its (bubbled-up) revert.
 */
export async function governTx(keel: Keel, target: Target, data: string, salt?: string): Promise<ContractTransactionResponse> {
  return (await prepareGoverned(keel, target, data, salt))();
}

/** Runs a governed call through the timelock and waits for it to be mined. */
export async function govern(keel: Keel, target: Target, data: string): Promise<void> {
  await (await governTx(keel, target, data)).wait();
}

/** Governs several calls as one timelock batch. */
export async function governBatch(keel: Keel, calls: readonly { target: string; data: string }[]): Promise<void> {
  const [deployer] = await ethers.getSigners();
  const targets = calls.map((c) => c.target);
  const values = calls.map(() => 0n);
  const payloads = calls.map((c) => c.data);
  const salt = keccakId(freshSalt());
  const delay = await keel.timelock.getMinDelay();
  const timelock = keel.timelock.connect(deployer!);
  await (await timelock.scheduleBatch(targets, values, payloads, ZeroHash, salt, delay)).wait();
  await time.increase(delay);
  await (await timelock.executeBatch(targets, values, payloads, ZeroHash, salt)).wait();
}
