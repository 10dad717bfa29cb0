/**
 * Health sweeps through `Lens.healthScan`: the indexed positions with debt are cut into id ranges whose estimated
 * gas stays under a budget (Hardhat refuses an eth_call above 16,777,216 gas), and the ranges are read in
 * parallel at one block. A range the node still refuses for gas is split in two and retried.
 */
import type { Lens } from "../../typechain-types";
import type { IndexedPosition } from "./positionIndex";
import type { Rpc } from "./rpc";

/** Lens.MAX_BATCH. */
export const MAX_IDS_PER_CALL = 500;

/**
 * Estimated healthScan gas per position (measured: 10.79M for 500 isolated positions, test_healthScan_gas_fullBatch),
 * and per skipped id. A range the estimate under-prices fails at the budget and is bisected (`scan`).
 */
const GAS_ISOLATED = 22_000;
const GAS_PER_EXTRA_ASSET = 11_000;
const GAS_SKIPPED_ID = 3_000;
const GAS_FIXED = 400_000; // market data read once per call

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
    private readonly gasBudget: number,
    private readonly concurrency: number,
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
      // The budget as the call's gas: a range the estimate under-priced fails the same way on every node.
      const gasLimit = this.gasBudget;
      const s = await this.rpc.call("healthScan", () => this.lens.healthScan(range.from, range.to, { blockTag, gasLimit }));
      return s.ids.map((id, i) => ({ id, hf: s.hf[i]!, debt: s.debt[i]!, priced: s.priced[i]!, valued: s.valued[i]! }));
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
