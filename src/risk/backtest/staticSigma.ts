/**
 * The static benchmark of a dynamic σ: the smallest constant σ, on a grid, whose requirement passes the same
 * exceedance tests on the same days. Its requirement is the capital a static margin would have needed to be as
 * right as the tests ask; the dynamic model's mean requirement is compared with it.
 */
import { fractionToWad } from "../coverage";
import { type BacktestLevel, type ExceedanceTest, testExceedances } from "./exceedanceTests";

/** The σ grid searched: step, step × 2, … up to max (fractions). */
export interface StaticSearch {
  step: number;
  max: number;
}

export const DEFAULT_STATIC_SEARCH: StaticSearch = { step: 0.0005, max: 1 };

export interface StaticSigma {
  /** The constant σ (fraction). */
  sigma: number;
  /** Its requirement, the same every day (fraction). */
  requirement: number;
  /** The floor alone passes: any smaller σ gives the same requirement. */
  floorBinds: boolean;
  test: ExceedanceTest;
}

/**
 * The smallest σ on the grid whose constant requirement `requirementAt(σ)` (a fraction, non-decreasing in σ) passes
 * both tests against `losses` (runs of consecutive days); undefined when none does (for example a floor that is
 * already exceeded too rarely).
 */
export function smallestStaticSigma(
  losses: readonly (readonly number[])[],
  requirementAt: (sigma: bigint) => number,
  level: BacktestLevel,
  search: StaticSearch = DEFAULT_STATIC_SEARCH,
): StaticSigma | undefined {
  const stepWad = fractionToWad(search.step);
  const steps = Math.floor(search.max / search.step + 1e-9);
  const floor = requirementAt(0n);
  for (let k = 1; k <= steps; k++) {
    const sigma = stepWad * BigInt(k);
    const requirement = requirementAt(sigma);
    const test = testExceedances(
      losses.map((run) => run.map((loss) => loss > requirement)),
      level,
    );
    if (test.pass) return { sigma: Number(sigma) / 1e18, requirement, floorBinds: requirement <= floor, test };
  }
  return undefined;
}
