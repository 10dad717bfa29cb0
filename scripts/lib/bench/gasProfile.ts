/**
 * Where a transaction's gas goes (`npm run bench:gas -- --profile`): the receipt's gasUsed split into the parts a
 * gas target is won or lost on — the intrinsic cost (21,000 + calldata), cold account accesses (2,600 each, EIP-2929),
 * cold storage reads (2,100 each), storage writes, logs, and everything else the EVM executed — from the node's
 * opcode trace (`debug_traceTransaction`, struct logs). Runs on the in-process Hardhat network.
 */
import { network } from "hardhat";
import { KeelError } from "../../../src/units/error";

/** One transaction's gas, by part [gas]. `total` = intrinsic + coldAccounts + coldSlots + storageWrites + logs + other − refund. */
export interface GasProfile {
  total: bigint;
  intrinsic: bigint;
  coldAccounts: { count: number; gas: bigint };
  coldSlots: { count: number; gas: bigint };
  /** SSTOREs, each with its cold surcharge when the slot was not read before. */
  storageWrites: { count: number; gas: bigint };
  logs: { count: number; gas: bigint };
  /** Warm reads, calls' own costs, memory, arithmetic and control flow: what execution costs besides the above. */
  other: bigint;
  refund: bigint;
}

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

const COLD_ACCOUNT = 2_600n;
const COLD_SLOAD = 2_100n;
const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);
const ACCOUNT_READS = new Set(["BALANCE", "EXTCODESIZE", "EXTCODEHASH", "EXTCODECOPY"]);
/** Precompiles 0x01–0x11 are warm from the start (EIP-2929 and later precompiles). */
const PRECOMPILES = Array.from({ length: 0x11 }, (_, i) => BigInt(i + 1));

const asAddress = (word: string): bigint => BigInt(`0x${word.replace(/^0x/, "")}`) & ((1n << 160n) - 1n);

/** The profile of mined transaction `hash`. */
export async function profileTransaction(hash: string): Promise<GasProfile> {
  const provider = network.provider;
  const tx = (await provider.send("eth_getTransactionByHash", [hash])) as { from: string; to: string; gas: string } | null;
  const receipt = (await provider.send("eth_getTransactionReceipt", [hash])) as { gasUsed: string } | null;
  if (!tx || !receipt) throw new KeelError("CHAIN", `gas profile: transaction ${hash} not found`);
  const trace = (await provider.send("debug_traceTransaction", [hash, { disableMemory: true, disableStorage: true }])) as {
    structLogs: StructLog[];
  };
  const logs = trace.structLogs;
  const first = logs[0];
  const last = logs[logs.length - 1];
  if (!first || !last) throw new KeelError("CHAIN", `gas profile: transaction ${hash} executed no code`);

  const gasLimit = BigInt(tx.gas);
  const total = BigInt(receipt.gasUsed);
  const warm = new Set<bigint>([asAddress(tx.from), asAddress(tx.to), ...PRECOMPILES]);
  const p: GasProfile = {
    total,
    intrinsic: gasLimit - BigInt(first.gas),
    coldAccounts: { count: 0, gas: 0n },
    coldSlots: { count: 0, gas: 0n },
    storageWrites: { count: 0, gas: 0n },
    logs: { count: 0, gas: 0n },
    other: 0n,
    refund: 0n,
  };
  for (const log of logs) {
    const stack = log.stack ?? [];
    const target = CALLS.has(log.op) ? stack[stack.length - 2] : ACCOUNT_READS.has(log.op) ? stack[stack.length - 1] : undefined;
    if (target !== undefined) {
      const address = asAddress(target);
      if (!warm.has(address)) {
        warm.add(address);
        p.coldAccounts.count++;
        p.coldAccounts.gas += COLD_ACCOUNT;
      }
    } else if (log.op === "SLOAD" && BigInt(log.gasCost) === COLD_SLOAD) {
      p.coldSlots.count++;
      p.coldSlots.gas += COLD_SLOAD;
    } else if (log.op === "SSTORE") {
      p.storageWrites.count++;
      p.storageWrites.gas += BigInt(log.gasCost);
    } else if (log.op.startsWith("LOG")) {
      p.logs.count++;
      p.logs.gas += BigInt(log.gasCost);
    }
  }
  // gasUsed = gasLimit − gas left at the end − refund; the last step's cost is spent before the end.
  const gasLeft = BigInt(last.gas) - BigInt(last.gasCost);
  p.refund = gasLimit - gasLeft - total;
  p.other = total + p.refund - p.intrinsic - p.coldAccounts.gas - p.coldSlots.gas - p.storageWrites.gas - p.logs.gas;
  return p;
}

/** Profile rows as a markdown-ready record per transaction. */
export function profileRecord(label: string, p: GasProfile): Record<string, string> {
  const n = (x: bigint): string => x.toLocaleString("en-US");
  return {
    operation: label,
    total: n(p.total),
    intrinsic: n(p.intrinsic),
    "cold accounts": `${p.coldAccounts.count} × 2,600 = ${n(p.coldAccounts.gas)}`,
    "cold slots": `${p.coldSlots.count} × 2,100 = ${n(p.coldSlots.gas)}`,
    "storage writes": `${p.storageWrites.count}: ${n(p.storageWrites.gas)}`,
    logs: `${p.logs.count}: ${n(p.logs.gas)}`,
    "other execution": n(p.other),
    refund: p.refund === 0n ? "" : `−${n(p.refund)}`,
  };
}
