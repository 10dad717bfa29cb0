/**
 * Backtests of a value-at-risk forecast by its exceedances (days the loss was larger than the requirement):
 * Kupiec's proportion-of-failures test (is the exceedance rate the expected one?) and Christoffersen's independence
 * test (do exceedances cluster?), both likelihood ratios with one degree of freedom, and the longest run of
 * consecutive exceedances. Exceedances come in runs of consecutive days: nothing is counted across a break in the
 * history (a transition or a run never spans a gap).
 */
import { chiSquareSurvival } from "../chiSquare";
import { DistributionError } from "../normal";

/** A likelihood-ratio statistic and its p-value (χ² with one degree of freedom). */
export interface LikelihoodRatio {
  statistic: number;
  pValue: number;
}

/** The level a backtest is judged at: the expected exceedance probability (0.01 for 99%) and the test size. */
export interface BacktestLevel {
  exceedanceProbability: number;
  significance: number;
}

export const DEFAULT_LEVEL: BacktestLevel = { exceedanceProbability: 0.01, significance: 0.05 };

/** n ln q, with 0 ln 0 = 0 (the likelihood of an event that never happened). */
const nLog = (n: number, q: number): number => (n === 0 ? 0 : n * Math.log(q));

const ratio = (statistic: number): LikelihoodRatio => {
  const s = Math.max(0, statistic); // rounding can leave −1e-15 where the two likelihoods are equal
  return { statistic: s, pValue: chiSquareSurvival(s, 1) };
};

/**
 * Kupiec's POF test of x exceedances in n days against probability p:
 * LR = −2 ln[(1 − p)^(n−x) p^x] + 2 ln[(1 − x/n)^(n−x) (x/n)^x], χ²(1) under the null.
 */
export function kupiecPof(days: number, exceedances: number, probability: number): LikelihoodRatio {
  if (!Number.isInteger(days) || days < 1) throw new DistributionError(`kupiecPof: ${days} days, expected a whole number ≥ 1`);
  if (!Number.isInteger(exceedances) || exceedances < 0 || exceedances > days) {
    throw new DistributionError(`kupiecPof: ${exceedances} exceedances in ${days} days`);
  }
  if (!(probability > 0 && probability < 1)) throw new DistributionError(`kupiecPof: probability ${probability} is outside (0, 1)`);
  const x = exceedances;
  const rate = x / days;
  const null_ = nLog(days - x, 1 - probability) + nLog(x, probability);
  const fitted = nLog(days - x, 1 - rate) + nLog(x, rate);
  return ratio(-2 * (null_ - fitted));
}

/** Day-to-day transitions of the exceedance indicator: n_ij counts a day in state i followed by a day in state j. */
export interface Transitions {
  n00: number;
  n01: number;
  n10: number;
  n11: number;
}

/** The transitions within each run of consecutive days (never from the last day of a run to the first of the next). */
export function transitions(runs: readonly (readonly boolean[])[]): Transitions {
  const t: Transitions = { n00: 0, n01: 0, n10: 0, n11: 0 };
  for (const run of runs) {
    for (let i = 1; i < run.length; i++) {
      const key = `n${run[i - 1] ? 1 : 0}${run[i] ? 1 : 0}` as keyof Transitions;
      t[key]++;
    }
  }
  return t;
}

/**
 * Christoffersen's independence test: a first-order Markov chain of exceedances (π01 = P(hit | no hit yesterday),
 * π11 = P(hit | hit yesterday)) against independence (one π):
 * LR = −2 ln[(1 − π)^(n00+n10) π^(n01+n11)] + 2 ln[(1 − π01)^n00 π01^n01 (1 − π11)^n10 π11^n11], χ²(1).
 * 0 when there is no exceedance, or none can follow another.
 */
export function christoffersenIndependence(t: Transitions): LikelihoodRatio {
  const from0 = t.n00 + t.n01;
  const from1 = t.n10 + t.n11;
  const total = from0 + from1;
  if (total === 0) return ratio(0);
  const pi = (t.n01 + t.n11) / total;
  const pi01 = from0 === 0 ? 0 : t.n01 / from0;
  const pi11 = from1 === 0 ? 0 : t.n11 / from1;
  const independent = nLog(t.n00 + t.n10, 1 - pi) + nLog(t.n01 + t.n11, pi);
  const markov = nLog(t.n00, 1 - pi01) + nLog(t.n01, pi01) + nLog(t.n10, 1 - pi11) + nLog(t.n11, pi11);
  return ratio(-2 * (independent - markov));
}

/** The longest run of consecutive exceedances within any run of days. */
export function worstRun(runs: readonly (readonly boolean[])[]): number {
  let worst = 0;
  for (const run of runs) {
    let current = 0;
    for (const hit of run) {
      current = hit ? current + 1 : 0;
      worst = Math.max(worst, current);
    }
  }
  return worst;
}

/** Everything the backtest reports about one series of exceedance indicators. */
export interface ExceedanceTest {
  days: number;
  exceedances: number;
  /** exceedances / days. */
  rate: number;
  kupiec: LikelihoodRatio;
  christoffersen: LikelihoodRatio;
  transitions: Transitions;
  worstRun: number;
  /** Both p-values at or above the significance: neither test rejects the model. */
  pass: boolean;
}

/** Kupiec, Christoffersen and the worst run of exceedance indicators given in runs of consecutive days. */
export function testExceedances(runs: readonly (readonly boolean[])[], level: BacktestLevel = DEFAULT_LEVEL): ExceedanceTest {
  const days = runs.reduce((n, r) => n + r.length, 0);
  const exceedances = runs.reduce((n, r) => n + r.filter(Boolean).length, 0);
  const kupiec = kupiecPof(days, exceedances, level.exceedanceProbability);
  const t = transitions(runs);
  const christoffersen = christoffersenIndependence(t);
  return {
    days,
    exceedances,
    rate: exceedances / days,
    kupiec,
    christoffersen,
    transitions: t,
    worstRun: worstRun(runs),
    pass: kupiec.pValue >= level.significance && christoffersen.pValue >= level.significance,
  };
}
