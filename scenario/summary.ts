/**
 * How a replay reads on a terminal: a one-line progress bar per step, the summary table `npm run demo` ends with,
 * and the result as JSON (bigints as decimal strings, so nothing is rounded).
 */
import { formatFixed } from "../src/units";
import { textTable } from "../src/units/table";
import type { ReplayResult, StepRecord } from "./replay";

const BAR = 24;

/** "[######------] h 10.5/24  WETH 1,500  WBTC 37,200  calls 12  liq 30  bad debt 0". */
export function progressLine(s: StepRecord, steps: number): string {
  const filled = Math.round((s.step / steps) * BAR);
  const hours = (steps * s.hour) / s.step;
  const prices = ["WETH", "WBTC"]
    .flatMap((a) => {
      const p = s.prices[a];
      return p === undefined ? [] : [`${a} ${Math.round(p).toLocaleString("en-US")}`];
    })
    .join("  ");
  return (
    `[${"#".repeat(filled)}${"-".repeat(BAR - filled)}] h ${s.hour.toFixed(1)}/${hours}  ${prices}` +
    `  calls ${s.marginCalls}  cures ${s.cures}  liq ${s.liquidations}${s.rounds > 1 ? ` (${s.rounds} rounds)` : ""}` +
    `  bad debt ${kusd(s.badDebt)}${s.ledger.violations.length > 0 ? "  INVARIANT VIOLATED" : ""}`
  );
}

/** The end-of-run table. */
export function summaryTable(r: ReplayResult): string {
  const s = r.summary;
  const rows: [string, string][] = [
    ["positions", String(s.positions)],
    ["margin calls issued", String(s.marginCalls)],
    ["margin calls cured", String(s.cured)],
    ["liquidations", `${s.liquidations} (${s.positionsLiquidated} positions)`],
    ["keeper profit", `${kusd(s.keeperProfit)} kUSD`],
    ["bad debt", `${kusd(s.badDebt)} kUSD`],
    ["deficit (uncovered)", `${kusd(s.deficit)} kUSD`],
    ["system collateral ratio", `${(s.collateralRatio * 100).toFixed(1)}%`],
    ["deepest cascade", `${s.cascadeDepth} keeper round${s.cascadeDepth === 1 ? "" : "s"} in one step`],
    ...pegRows(r),
    [
      "§6 invariant",
      s.invariantHeld ? `held after all ${s.invariantChecks} steps` : `VIOLATED (${s.violations.length} times)`,
    ],
  ];
  return textTable(rows);
}

/** kUSD's price on the AMM through the crash, and what the peg stability module minted to hold it. */
function pegRows(r: ReplayResult): [string, string][] {
  const prices = r.steps.flatMap((s) => (s.kusdPrice ? [s.kusdPrice] : []));
  const rows: [string, string][] = [
    ["peg stability module", `${kusd(r.summary.pegMinted)} kUSD minted for arbitrage; P ${kusd(r.summary.pegDebt)} kUSD at the end`],
    ["PSM fees, savings", `${kusd(r.summary.pegFees)} kUSD of fees to the buffer, ${kusd(r.summary.savingsPaid)} kUSD of savings interest out of it`],
  ];
  if (prices.length === 0) return rows;
  // After arbitrage the reserve's pool sits at the oracle by construction; after the keeper's sales it is measured.
  const atEnd = prices.map((p) => p.atEnd);
  rows.unshift(["kUSD on the AMM", `$${Math.min(...atEnd).toFixed(4)}–$${Math.max(...atEnd).toFixed(4)} after the keeper's sales (USDC pool)`]);
  return rows;
}

/** [wad] kUSD with two decimals and thousands separators. */
export const kusd = (wad: bigint): string => formatFixed(wad, 18, 2);

/** The whole result as JSON; bigints become decimal strings. */
export function toJson(r: ReplayResult): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n";
}
