/**
 * A synthetic price history for examples and tests: NOT market data. Correlated fat-tailed (multivariate Student-t)
 * log returns for WETH and WBTC, a mean-reverting USDC peg, wstETH as WETH × a growing exchange rate × a small
 * mean-reverting discount, and one crash episode (steep falls under high volatility, a brief USDC depeg and a wstETH
 * discount) followed by decaying stressed volatility. Deterministic for a seed. `data/sample-history.csv` is this
 * function's output with the defaults (`npx ts-node scripts/sample-history.ts`).
 */
import { cholesky, correlatedDraw, type Tails } from "./draws";
import { Prng } from "./random";
import type { PriceSeries } from "./series";
import { SECONDS_PER_YEAR } from "./stats";

export interface SyntheticHistoryOptions {
  seed: bigint;
  /** First timestamp [unix s]. */
  start: number;
  /** Sampling interval [s]. */
  stepSeconds: number;
  steps: number;
  /** Calm annual volatilities (fractions). */
  annualVol: { WETH: number; WBTC: number };
  /** Correlation of WETH and WBTC returns. */
  rhoEthBtc: number;
  tails: Tails;
  /** The crash: first step, length in steps, total fall of WETH and WBTC (fractions), volatility multiplier. */
  crash: { at: number; steps: number; fallWETH: number; fallWBTC: number; volMultiplier: number };
  /** After the crash, excess volatility decays with this half-life [steps]. */
  recoveryHalfLife: number;
}

export const DEFAULT_SYNTHETIC_HISTORY: SyntheticHistoryOptions = {
  seed: 20_240_101n,
  start: 1_704_067_200, // 2024-01-01T00:00:00Z
  stepSeconds: 4 * 3600,
  steps: 720, // 120 days
  annualVol: { WETH: 0.7, WBTC: 0.55 },
  rhoEthBtc: 0.8,
  tails: { studentT: 4 },
  crash: { at: 450, steps: 12, fallWETH: 0.38, fallWBTC: 0.28, volMultiplier: 3 },
  recoveryHalfLife: 30,
};

const USDC_NOISE = 0.0004; // per step
const USDC_REVERSION = 0.3; // share of the gap closed per step
const USDC_DEPEG = 0.03; // log fall spread over the crash's middle third
const WSTETH_RATE = 1.18; // wstETH per ETH at start
const WSTETH_YIELD = 0.035; // a year
const WSTETH_NOISE = 0.0008; // per step, of the discount
const WSTETH_REVERSION = 0.05;
const WSTETH_DISCOUNT = 0.025; // log discount spread over the crash
const START_PRICES = { WETH: 3000, WBTC: 60_000 };

/** Volatility multiplier at step t: 1 when calm, `volMultiplier` in the crash, then decaying back to 1. */
function volMultiplier(t: number, o: SyntheticHistoryOptions): number {
  const { at, steps, volMultiplier: m } = o.crash;
  if (t < at) return 1;
  if (t < at + steps) return m;
  return 1 + (m - 1) * 2 ** (-(t - at - steps) / o.recoveryHalfLife);
}

/** The synthetic history (see the module comment): WETH, WBTC, USDC, wstETH at `steps + 1` timestamps. */
export function syntheticHistory(options: Partial<SyntheticHistoryOptions> = {}): PriceSeries {
  const o = { ...DEFAULT_SYNTHETIC_HISTORY, ...options };
  const prng = new Prng(o.seed);
  const factor = cholesky([
    [1, o.rhoEthBtc, 0],
    [o.rhoEthBtc, 1, 0],
    [0, 0, 1],
  ]);
  const stepFraction = o.stepSeconds / SECONDS_PER_YEAR;
  const sigma = { WETH: o.annualVol.WETH * Math.sqrt(stepFraction), WBTC: o.annualVol.WBTC * Math.sqrt(stepFraction) };
  const inCrash = (t: number): boolean => t >= o.crash.at && t < o.crash.at + o.crash.steps;
  const third = Math.max(1, Math.floor(o.crash.steps / 3));

  let eth = Math.log(START_PRICES.WETH);
  let btc = Math.log(START_PRICES.WBTC);
  let usdc = 0;
  let discount = 0;
  const series: PriceSeries = { timestamps: [o.start], prices: { WETH: [], WBTC: [], USDC: [], wstETH: [] } };
  const record = (t: number): void => {
    const rate = WSTETH_RATE * Math.exp(WSTETH_YIELD * stepFraction * t);
    series.prices.WETH!.push(Math.exp(eth));
    series.prices.WBTC!.push(Math.exp(btc));
    series.prices.USDC!.push(Math.exp(usdc));
    series.prices.wstETH!.push(Math.exp(eth + discount) * rate);
  };
  record(0);
  for (let t = 0; t < o.steps; t++) {
    const m = volMultiplier(t, o);
    const [e0, e1, e2] = correlatedDraw(prng, factor, o.tails) as [number, number, number];
    const crashing = inCrash(t);
    const fall = (total: number): number => (crashing ? Math.log(1 - total) / o.crash.steps : 0);
    eth += sigma.WETH * m * e0 - (sigma.WETH * m) ** 2 / 2 + fall(o.crash.fallWETH);
    btc += sigma.WBTC * m * e1 - (sigma.WBTC * m) ** 2 / 2 + fall(o.crash.fallWBTC);
    const depeg = crashing && t >= o.crash.at + third && t < o.crash.at + 2 * third ? -USDC_DEPEG / third : 0;
    usdc = usdc * (1 - USDC_REVERSION) + USDC_NOISE * m * e2 + depeg;
    discount =
      discount * (1 - WSTETH_REVERSION) + WSTETH_NOISE * m * prng.normal() - (crashing ? WSTETH_DISCOUNT / o.crash.steps : 0);
    series.timestamps.push(o.start + (t + 1) * o.stepSeconds);
    record(t + 1);
  }
  return series;
}
