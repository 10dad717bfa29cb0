/**
 * Stress scenarios: a price path per asset, the depth of the AMM the keepers sell into, how strongly their sales
 * feed back into the oracle price, and how owners answer margin calls. Paths are written as keyframes (hour →
 * multiple of the starting price) and sampled at the scenario's step; prices are floats here (the risk engine's
 * statistics side) and become feed answers, in bigint, only where the replay publishes them.
 */
import { KeelError } from "../src/units/error";
import type { PoolDepths } from "../dev/localMarket";

export class ScenarioError extends KeelError {
  override name = "ScenarioError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INPUT", message, options);
  }
}

/** [hours since the start, price as a multiple of the starting price] */
export type Keyframe = readonly [number, number];

export interface Scenario {
  name: string;
  description: string;
  /** [s] between two published prices (and two keeper rounds). */
  stepSeconds: number;
  /** Number of steps after the start. */
  steps: number;
  /**
   * Per feed-driven asset, its price at each step 0..steps as a multiple of the starting price (step 0 is 1).
   * A composite asset (wstETH = wstETH/ETH × ETH/USD) moves with its base; its own path moves the ratio (a depeg).
   */
  paths: Record<string, number[]>;
  /** Whole tokens of each asset in its kUSD pool at the start (the venue flash liquidations sell into). */
  ammDepth: PoolDepths;
  /**
   * Share (0..1) of a liquidation sale's price impact on the AMM that the oracle price takes on in the same step:
   * the margin-call feedback loop. 0 = the oracle follows the path only.
   */
  feedback: number;
  /** Probability that the owner of a margin-called position cures it (repays 40% of its debt) at the next step. */
  cureRate: number;
}

/** Samples keyframes at every step: linear between frames, flat after the last. */
export function sampleKeyframes(frames: readonly Keyframe[], stepSeconds: number, steps: number): number[] {
  const [first] = frames;
  if (first === undefined || first[0] !== 0 || first[1] !== 1) {
    throw new ScenarioError("a path starts with the keyframe [0, 1] (hour 0, the starting price)");
  }
  let last = first;
  for (const frame of frames.slice(1)) {
    const [h, p] = frame;
    if (!(h > last[0])) throw new ScenarioError(`keyframe hours must increase (${last[0]} then ${h})`);
    if (!(p > 0) || !Number.isFinite(p)) throw new ScenarioError(`keyframe prices must be positive multiples (got ${p} at hour ${h})`);
    last = frame;
  }
  const out: number[] = [];
  for (let s = 0; s <= steps; s++) {
    const hour = (s * stepSeconds) / 3600;
    const next = frames.findIndex(([h]) => h >= hour);
    const upper = next === -1 ? undefined : frames[next];
    const lower = next > 0 ? frames[next - 1] : undefined;
    if (upper === undefined) out.push(last[1]); // after the last frame: flat
    else if (lower === undefined || upper[0] === hour) out.push(upper[1]);
    else {
      const [h0, p0] = lower;
      const [h1, p1] = upper;
      out.push(p0 + ((p1 - p0) * (hour - h0)) / (h1 - h0));
    }
  }
  return out;
}

/** Builds a scenario from keyframes. */
export function fromKeyframes(
  base: Omit<Scenario, "paths" | "steps"> & { hours: number },
  frames: Record<string, readonly Keyframe[]>,
): Scenario {
  const { hours, ...rest } = base;
  const steps = Math.round((hours * 3600) / base.stepSeconds);
  if (steps < 1) throw new ScenarioError(`scenario ${base.name}: at least one step`);
  const paths = Object.fromEntries(Object.entries(frames).map(([s, f]) => [s, sampleKeyframes(f, base.stepSeconds, steps)]));
  return { ...rest, steps, paths };
}

/** Pools deep enough that a few hundred liquidations move prices by a few percent, as on a real venue. */
export const DEFAULT_AMM_DEPTH: PoolDepths = { WETH: "5000", WBTC: "250", USDC: "10000000", wstETH: "4000" };

/**
 * The `npm run demo` crash: over 24 hours WETH falls 45% and WBTC 35%, with a sharp wick at hour 10 (WETH −50%,
 * WBTC −38% for one step). Margin-called owners cure half the time.
 */
export const demoCrash: Scenario = fromKeyframes(
  {
    name: "demo-crash",
    description: "WETH −45% and WBTC −35% over 24 hours, with a sharp wick at hour 10",
    stepSeconds: 1800,
    hours: 24,
    ammDepth: DEFAULT_AMM_DEPTH,
    feedback: 0.5,
    cureRate: 0.5,
  },
  {
    WETH: [[0, 1], [4, 0.95], [8, 0.85], [10, 0.65], [10.5, 0.5], [11, 0.66], [16, 0.6], [24, 0.55]],
    WBTC: [[0, 1], [8, 0.9], [10, 0.76], [10.5, 0.62], [11, 0.76], [16, 0.7], [24, 0.65]],
  },
);
