/**
 * Health sweeps through `Lens.healthScan`: the indexed positions with debt are cut into id ranges whose estimated
 * gas stays under a budget, and the ranges are read in parallel at one block, each call given the 16,777,216 gas
 * Hardhat allows an eth_call. A range that still runs out is split in two and retried.
 */
import type { Lens } from "../../typechain-types";
import type { IndexedPosition } from "./positionIndex";
import { type Rpc, TX_GAS_CAP } from "./rpc";

/** Lens.MAX_BATCH. */
export const MAX_IDS_PER_CALL = 500;

/**
 * Estimated healthScan gas per position, per extra asset of a cross basket, and per skipped id; fixed per call. Measured
 * on anvil over the sample book (`openSamplePositions`): 28,400 per isolated position, 32,800 on average over the
 * mixed book (a third of it 3-asset baskets), 205,000 for the call's market read; priced above that, so a range
 * planned to the budget stays under the cap. A range the estimate still under-prices runs out and is bisected (`scan`).
 */
const GAS_ISOLATED = 29_000;
const GAS_PER_EXTRA_ASSET = 7_000;
const GAS_SKIPPED_ID = 3_000;
const GAS_FIXED = 400_000;

export interface Health {
  id: bigint;
  hf: bigint; // [wad] margin HF; 0 when not `valued`
  debt: bigint; // [wad]
  /** Every price of the position's collateral is available. */
  priced: boolean;
  /** The margin HF could be computed: every price, or a cross basket with a failed holding valued at zero (§4). */
  valued: boolean;
}

export interface IdRange {
  from: bigint;
  to: bigint;
}

export const positionGas = (p: IndexedPosition): number =>
  GAS_ISOLATED + GAS_PER_EXTRA_ASSET * Math.max(0, Object.keys(p.collateral).length - 1);

/** Contiguous id ranges covering `positions` (ascending ids) within `gasBudget` and MAX_IDS_PER_CALL each. */
export function planRanges(positions: readonly IndexedPosition[], gasBudget: number): IdRange[] {
  const ranges: IdRange[] = [];
  let current: { from: bigint; to: bigint; gas: number } | undefined;
  for (const p of positions) {
    const cost = positionGas(p);
    if (current) {
      const gas = current.gas + Number(p.id - current.to - 1n) * GAS_SKIPPED_ID + cost;
      if (gas <= gasBudget && p.id - current.from < BigInt(MAX_IDS_PER_CALL)) {
        current.to = p.id;
        current.gas = gas;
        continue;
      }
      ranges.push({ from: current.from, to: current.to });
    }
    current = { from: p.id, to: p.id, gas: GAS_FIXED + cost };
  }
  if (current) ranges.push({ from: current.from, to: current.to });
  return ranges;
}

export class HealthSweeper {
  /** healthScan calls made so far. */
  calls = 0;

  constructor(
    private readonly rpc: Rpc,
    private readonly lens: Lens,
    /** Estimated gas a range is planned to. */
    private readonly gasBudget: number,
    private readonly concurrency: number,
    /**
     * Gas each call runs with: above the budget, so the gap absorbs an under-priced range; the cap by default, so a
     * range over it fails the same way on every node (anvil would run it with its block gas limit, Hardhat refuse it).
     */
    private readonly callGas: bigint = TX_GAS_CAP,
  ) {}

  /** Health of every position in `positions` that has debt, read at `blockTag`. */
  async sweep(positions: readonly IndexedPosition[], blockTag: number): Promise<Map<bigint, Health>> {
    const withDebt = positions.filter((p) => p.normDebt > 0n);
    return this.scanRanges(planRanges(withDebt, this.gasBudget), blockTag);
  }

  async scanRanges(ranges: readonly IdRange[], blockTag: number): Promise<Map<bigint, Health>> {
    const out = new Map<bigint, Health>();
    const queue = [...ranges];
    const worker = async (): Promise<void> => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        for (const h of await this.scan(r, blockTag)) out.set(h.id, h);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.concurrency) }, worker));
    return out;
  }

  private async scan(range: IdRange, blockTag: number): Promise<Health[]> {
    try {
      this.calls++;
      const req = { to: this.lens.target as string, data: this.lens.interface.encodeFunctionData("healthScan", [range.from, range.to]), blockTag, gasLimit: this.callGas };
      return decodeHealthScan(await this.rpc.call("healthScan", (p) => p.call(req)));
    } catch (e) {
      if (range.to > range.from && outOfGas(e)) {
        const mid = (range.from + range.to) / 2n;
        return [
          ...(await this.scan({ from: range.from, to: mid }, blockTag)),
          ...(await this.scan({ from: mid + 1n, to: range.to }, blockTag)),
        ];
      }
      throw e;
    }
  }
}

/**
 * Whether a failed healthScan may have run out of gas: the node says so, or the call failed without revert data (what
 * an out-of-gas eth_call returns on Hardhat's node; every refusal of the Lens carries a custom error).
 */
function outOfGas(e: unknown): boolean {
  if (/gas|exceeds/i.test(String((e as Error)?.message ?? e))) return true;
  const x = e as { code?: unknown; data?: unknown };
  return x?.code === "CALL_EXCEPTION" && (x.data === null || x.data === undefined || x.data === "0x");
}

/**
 * `Lens.healthScan`'s return data (a struct of five arrays: ids, hf, debt, priced, valued), decoded by hand: ethers'
 * ABI decoder spends ~35 ms on a 450-position answer, most of a sweep's time in the keeper's process.
 */
export function decodeHealthScan(data: string): Health[] {
  const hex = data.startsWith("0x") ? data.slice(2) : data;
  const words = hex.length / 64;
  const word = (i: number): bigint => {
    if (!Number.isInteger(i) || i < 0 || i >= words) throw new Error(`healthScan: malformed answer (${hex.length / 2} bytes)`);
    return BigInt(`0x${hex.slice(i * 64, i * 64 + 64)}`);
  };
  const struct = Number(word(0)) / 32;
  // Word index of each array's length: offsets are relative to the struct.
  const [ids, hf, debt, priced, valued] = [0, 1, 2, 3, 4].map((field) => struct + Number(word(struct + field)) / 32) as [number, number, number, number, number];
  const n = Number(word(ids));
  for (const a of [hf, debt, priced, valued]) {
    if (Number(word(a)) !== n) throw new Error("healthScan: malformed answer (arrays of different lengths)");
  }
  return Array.from({ length: n }, (_, i) => ({
    id: word(ids + 1 + i),
    hf: word(hf + 1 + i),
    debt: word(debt + 1 + i),
    priced: word(priced + 1 + i) !== 0n,
    valued: word(valued + 1 + i) !== 0n,
  }));
}
