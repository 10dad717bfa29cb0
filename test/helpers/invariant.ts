/**
 * docs/spec.md §6: kUSD.totalSupply() == TD − F + B + P up to rounding in the protocol's favour, where TD is the sum
 * of all positions' debt, F the accrued uncollected fees, B the uncovered bad debt and P the kUSD the peg stability
 * module minted against its reserve. Also: the engine holds at least the sum over positions of every collateral
 * token, each asset's recorded total equals that sum, and the PSM holds at least P of its reserve.
 */
import { expect } from "chai";
import type { Keel } from "../../deploy";
import { MockERC20__factory, type PegStabilityModule } from "../../typechain-types";

export interface Ledger {
  supply: bigint;
  totalDebt: bigint;
  fees: bigint;
  badDebt: bigint;
  /** P: kUSD minted by the peg stability module against its reserve. */
  pegDebt: bigint;
  /** TD − F + B + P − supply: the protocol's rounding margin, never negative. */
  slack: bigint;
}

/**
 * Reads the ledger and asserts the accounting invariant and the collateral invariants, for the deployment's assets
 * and for `extraAssets` (tokens listed by a test, e.g. hostile ones); P sums the deployment's PSM and any
 * `extraPegModules` a test registered.
 */
export async function checkInvariants(
  keel: Keel,
  extraAssets: readonly string[] = [],
  extraPegModules: readonly PegStabilityModule[] = [],
): Promise<Ledger> {
  const last = await keel.engine.lastPositionId();
  let totalDebt = 0n;
  let positions = 0n;
  const perAsset = new Map<string, bigint>();
  for (let id = 1n; id <= last; id++) {
    let assets: string[];
    try {
      assets = [...(await keel.engine.collateralAssets(id))];
    } catch {
      continue; // closed
    }
    positions++;
    totalDebt += await keel.engine.debtOf(id);
    for (const a of assets) perAsset.set(a, (perAsset.get(a) ?? 0n) + (await keel.engine.collateralOf(id, a)));
  }
  const supply = await keel.kusd.totalSupply();
  const fees = await keel.engine.accruedFees();
  const badDebt = await keel.engine.deficit();
  // P: every peg module's debt, each backed by its reserve.
  let pegDebt = 0n;
  for (const psm of [keel.psm, ...extraPegModules]) {
    const debt = await psm.debt();
    const reserve = MockERC20__factory.connect(await psm.gem(), keel.engine.runner);
    expect((await reserve.balanceOf(psm.target)) * (await psm.scale()), "PSM reserve covers its debt").to.be.gte(debt);
    pegDebt += debt;
  }
  const slack = totalDebt - fees + badDebt + pegDebt - supply;
  expect(slack, "kUSD supply exceeds TD − F + B + P").to.be.gte(0n);
  // Each position's debt rounds up by < 1 wei and each operation can leave < 2 wei: bound the margin loosely.
  expect(slack, "rounding margin larger than rounding can explain").to.be.lte(positions * 4n + 1000n);

  const engineAddress = await keel.engine.getAddress();
  const assets = [...(await Promise.all(Object.values(keel.assets).map(({ token }) => token.getAddress()))), ...extraAssets];
  for (const asset of assets) {
    const token = MockERC20__factory.connect(asset, keel.engine.runner);
    const [, total] = await keel.engine.collateralConfig(asset);
    const sum = perAsset.get(asset) ?? 0n;
    expect(total, `recorded total of ${asset}`).to.equal(sum);
    expect(await token.balanceOf(engineAddress), `engine balance of ${asset}`).to.be.gte(sum);
  }
  return { supply, totalDebt, fees, badDebt, pegDebt, slack };
}
