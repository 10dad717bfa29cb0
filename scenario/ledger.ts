/**
 * The money invariant of docs/spec.md §6, read at one block for a whole book: kUSD.totalSupply() == TD − F + B + P
 * up to rounding in the protocol's favour (P: kUSD the peg stability module minted against its reserve, which it
 * must hold), and for every asset the engine's recorded total equals the sum over positions
 * and its token balance covers it. Debts come from Lens.healthScan (post-accrual), collateral from the positions
 * as mirrored from events. Used after every step of the demo and the stress replays.
 */
import type { IndexedPosition } from "../src/keeper/positionIndex";
import type { Health } from "../src/keeper/sweep";
import type { KeelConnection } from "../src/client/manifest";

/** Rounding the protocol may keep per position (debts round up by < 1 wei, each operation leaves < 2 wei). */
const SLACK_PER_POSITION = 4n;
const SLACK_BASE = 1_000n;

export interface LedgerReading {
  block: number;
  supply: bigint; // [wad] kUSD
  totalDebt: bigint; // [wad] TD
  fees: bigint; // [wad] F
  deficit: bigint; // [wad] B
  pegDebt: bigint; // [wad] P
  /** TD − F + B + P − supply: the protocol's rounding margin; never negative. */
  slack: bigint;
  /** Empty when every invariant holds; otherwise one line per violation, with the numbers. */
  violations: string[];
}

type Reader = Pick<KeelConnection, "engine" | "kusd" | "psm" | "assets">;

/** Reads and checks the ledger at `block`; `health` must hold every indebted position's debt at that block. */
export async function readLedger(
  keel: Reader,
  positions: readonly IndexedPosition[],
  health: ReadonlyMap<bigint, Health>,
  block: number,
): Promise<LedgerReading> {
  const at = { blockTag: block };
  const violations: string[] = [];
  let totalDebt = 0n;
  const collateral = new Map<string, bigint>();
  for (const p of positions) {
    const h = health.get(p.id);
    // healthScan leaves out positions without debt.
    if (h) totalDebt += h.debt;
    else if (p.normDebt !== 0n) violations.push(`position ${p.id}: has debt but no health reading at block ${block}`);
    for (const [asset, amount] of Object.entries(p.collateral)) collateral.set(asset, (collateral.get(asset) ?? 0n) + amount);
  }
  const [supply, fees, deficit, pegDebt, gem, scale] = await Promise.all([
    keel.kusd.totalSupply(at),
    keel.engine.accruedFees(at),
    keel.engine.deficit(at),
    keel.psm.debt(at),
    keel.psm.gem(at),
    keel.psm.scale(at),
  ]);
  const slack = totalDebt - fees + deficit + pegDebt - supply;
  if (slack < 0n) violations.push(`kUSD supply ${supply} exceeds TD − F + B + P = ${totalDebt - fees + deficit + pegDebt}`);
  const reserve = Object.values(keel.assets).find((a) => (a.token.target as string).toLowerCase() === gem.toLowerCase());
  const held = reserve ? await reserve.token.balanceOf(keel.psm.target, at) : 0n;
  if (held * scale < pegDebt) violations.push(`the PSM holds ${held} of its reserve, less than P = ${pegDebt} wei of kUSD`);
  const bound = BigInt(positions.length) * SLACK_PER_POSITION + SLACK_BASE;
  if (slack > bound) violations.push(`rounding margin ${slack} wei exceeds what rounding explains (${bound})`);

  const engine = keel.engine.target as string;
  for (const [symbol, a] of Object.entries(keel.assets)) {
    const asset = (a.token.target as string).toLowerCase();
    const [[, total], balance] = await Promise.all([
      keel.engine.collateralConfig(asset, at),
      a.token.balanceOf(engine, at),
    ]);
    const sum = collateral.get(asset) ?? 0n;
    if (total !== sum) violations.push(`${symbol}: recorded total ${total} ≠ sum over positions ${sum}`);
    if (balance < sum) violations.push(`${symbol}: engine balance ${balance} < sum over positions ${sum}`);
  }
  return { block, supply, totalDebt, fees, deficit, pegDebt, slack, violations };
}
