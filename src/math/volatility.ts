/**
 * The volatility oracle in TypeScript: the same EWMA, target and step limit as `VolatilityOracle.sol`, built on the
 * `src/math` mirror, so a keeper or a test predicts the on-chain σ exactly (bit for bit) from a price path.
 */
import { KeelError } from "../units/error";
import {
  decayDown,
  ewmaUp,
  horizonSigmaUp,
  mulDivDown,
  returnVarianceUp,
  stepToward,
} from ".";

const HOUR = 3600n;
/** Scale of a variance: [1e36 per second] (a squared [wad] return per second). */
export const VARIANCE_SCALE = 10n ** 36n;

/** `VolatilityOracle.Params`: shared by every asset. */
export interface VolatilityParams {
  horizon: bigint; // [s]
  halfLife: bigint; // [s]
  minInterval: bigint; // [s]
  maxStep: bigint; // [wad per hour]
}

/** `VolatilityOracle.State` of one asset. */
export interface VolatilityState {
  sigma: bigint; // [wad] σ in force at anchoredAt
  target: bigint; // [wad] clamp(sqrt(variance × horizon), σmin, σmax) as of anchoredAt
  maxStep: bigint; // [wad per hour] step limit in force since anchoredAt
  anchoredAt: bigint; // [s]
  seeded: boolean;
  variance: bigint; // [1e36 per second]
  sampledAt: bigint; // [s] 0 = never poked
  price: bigint; // [wad] at the last poke
}

/** The asset's σ bounds from the RiskModel [wad]. */
export interface SigmaBounds {
  sigmaMin: bigint;
  sigmaMax: bigint;
}

export const UNPOKED: VolatilityState = {
  sigma: 0n,
  target: 0n,
  maxStep: 0n,
  anchoredAt: 0n,
  seeded: false,
  variance: 0n,
  sampledAt: 0n,
  price: 0n,
};

export class PokeTooSoonError extends KeelError {
  override name = "PokeTooSoonError";
  constructor(readonly nextAt: bigint) {
    super("REFUSED", `poke too soon: next allowed at ${nextAt}`);
  }
}

const clamp = (x: bigint, { sigmaMin, sigmaMax }: SigmaBounds): bigint =>
  x < sigmaMin ? sigmaMin : x > sigmaMax ? sigmaMax : x;

/** clamp(sqrt(variance × horizon), σmin, σmax), as the oracle computes a target at a poke. */
export const targetOf = (variance: bigint, bounds: SigmaBounds, horizon: bigint): bigint =>
  clamp(horizonSigmaUp(variance, horizon), bounds);

/** The target the σ in force moves toward (`sigmaTarget`): the recorded one within today's bounds. */
export const sigmaTargetOf = (state: VolatilityState, bounds: SigmaBounds): bigint =>
  state.seeded ? clamp(state.target, bounds) : bounds.sigmaMin;

/** The σ in force at time `now` [s]: from the anchor toward the target by at most maxStep per hour elapsed. */
export function sigmaAt(state: VolatilityState, now: bigint, bounds: SigmaBounds): bigint {
  if (!state.seeded) return bounds.sigmaMin;
  const maxMove = mulDivDown(state.maxStep, now - state.anchoredAt, HOUR);
  return clamp(stepToward(state.sigma, state.target, maxMove), bounds);
}

/** The state after a poke at `now` sampling `price` [wad]. Throws PokeTooSoonError as the contract reverts. */
export function poke(
  state: VolatilityState,
  price: bigint,
  now: bigint,
  bounds: SigmaBounds,
  params: VolatilityParams,
): VolatilityState {
  if (state.sampledAt !== 0n && now < state.sampledAt + params.minInterval) {
    throw new PokeTooSoonError(state.sampledAt + params.minInterval);
  }
  if (state.sampledAt === 0n) return { ...state, price, sampledAt: now };
  const elapsed = now - state.sampledAt;
  const cap = mulDivDown(bounds.sigmaMax, bounds.sigmaMax, params.horizon);
  const sample = returnVarianceUp(state.price, price, elapsed, cap);
  const variance = state.seeded ? ewmaUp(state.variance, sample, decayDown(elapsed, params.halfLife)) : sample;
  return {
    sigma: sigmaAt(state, now, bounds),
    target: targetOf(variance, bounds, params.horizon),
    maxStep: params.maxStep,
    anchoredAt: now,
    seeded: true,
    variance,
    sampledAt: now,
    price,
  };
}

/** What `setParams(next)` does to a seeded asset at `now`: anchor the σ in force, retarget with the new horizon. */
export function reanchor(
  state: VolatilityState,
  now: bigint,
  bounds: SigmaBounds,
  next: VolatilityParams,
): VolatilityState {
  if (!state.seeded) return state;
  return {
    ...state,
    sigma: sigmaAt(state, now, bounds),
    target: targetOf(state.variance, bounds, next.horizon),
    maxStep: next.maxStep,
    anchoredAt: now,
  };
}

/** A price path replayed through the oracle: the state and the σ in force after every poke. */
export interface PokeStep {
  time: bigint; // [s]
  price: bigint; // [wad]
}

export function replay(
  steps: readonly PokeStep[],
  bounds: SigmaBounds,
  params: VolatilityParams,
  initial: VolatilityState = UNPOKED,
): { state: VolatilityState; sigma: bigint; target: bigint }[] {
  let state = initial;
  return steps.map(({ time, price }) => {
    state = poke(state, price, time, bounds, params);
    return { state, sigma: sigmaAt(state, time, bounds), target: sigmaTargetOf(state, bounds) };
  });
}

/**
 * Annualised volatility (a fraction, float) of a per-second variance [1e36 per second]: sqrt(variance × 1 year).
 * Floats only here, for statistics and reports.
 */
export function annualizedVolatility(variance: bigint, secondsPerYear = 31_536_000): number {
  return Math.sqrt((Number(variance) / Number(VARIANCE_SCALE)) * secondsPerYear);
}

/** Hours the σ in force needs to travel from `from` to `to` at `maxStep` per hour (rounded up). */
export function hoursToMove(from: bigint, to: bigint, maxStep: bigint): bigint {
  const distance = to > from ? to - from : from - to;
  return (distance + maxStep - 1n) / maxStep;
}

/** A `VolatilityOracle.stateOf` result (a TypeChain struct output) as a plain state. */
export function stateFromChain(s: VolatilityState): VolatilityState {
  return {
    sigma: s.sigma,
    target: s.target,
    maxStep: s.maxStep,
    anchoredAt: s.anchoredAt,
    seeded: s.seeded,
    variance: s.variance,
    sampledAt: s.sampledAt,
    price: s.price,
  };
}

/** `VolatilityOracle.params()` or a parsed config's `volatility` section as bigint parameters. */
export function toVolatilityParams(p: {
  horizon: bigint | number;
  halfLife: bigint | number;
  minInterval: bigint | number;
  maxStep: bigint;
}): VolatilityParams {
  return {
    horizon: BigInt(p.horizon),
    halfLife: BigInt(p.halfLife),
    minInterval: BigInt(p.minInterval),
    maxStep: p.maxStep,
  };
}
