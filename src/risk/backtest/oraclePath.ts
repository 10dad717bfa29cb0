/**
 * The VolatilityOracle along a run of daily closes, through its exact TypeScript model (`src/math/volatility`): one
 * poke a day at 00:00 UTC with that day's close, from an unpoked state at the run's first day. After each poke, the
 * σ in force (the one margin reads) and the target it moves toward. A poke re-anchors σ and changes only the target,
 * so the σ in force at a day's poke was formed from the closes up to the day before; it then moves toward the new
 * target by at most maxStep an hour until the next poke.
 */
import { replay, type SigmaBounds, type VolatilityParams } from "../../math/volatility";
import { priceToWad } from "../coverage";
import { DAY, type PriceRun } from "./history";

/** The oracle's parameters shared by every asset, as the contract takes them. */
export interface OracleParams {
  /** [s] the horizon σ is measured over. */
  horizon: number;
  /** [s] of the EWMA of squared returns. */
  halfLife: number;
  /** [wad per hour] the most σ in force moves toward its target. */
  maxStep: bigint;
}

/** σ in force and target [wad] at each day of a run, index for index with `run.days`. */
export interface OraclePath {
  sigma: bigint[];
  target: bigint[];
}

/** Every poke is a day apart, far above any minInterval the oracle accepts (at most a day). */
const MIN_INTERVAL = 3600n;

export function oraclePath(run: PriceRun, bounds: SigmaBounds, params: OracleParams): OraclePath {
  const volatility: VolatilityParams = {
    horizon: BigInt(params.horizon),
    halfLife: BigInt(params.halfLife),
    minInterval: MIN_INTERVAL,
    maxStep: params.maxStep,
  };
  const steps = run.days.map((day, i) => ({ time: BigInt(day * DAY), price: priceToWad(run.prices[i]!) }));
  const path = replay(steps, bounds, volatility);
  return { sigma: path.map((p) => p.sigma), target: path.map((p) => p.target) };
}
