/**
 * Named market episodes inside the shipped history, and what the margin did through each: σ in force and its target
 * at the start, at their peaks and at the end, the worst next-day loss against the requirement that day, and the
 * exceedances.
 */
import type { BacktestDay } from "./day";

/** A named date range, inclusive (YYYY-MM-DD). */
export interface Episode {
  name: string;
  from: string;
  to: string;
}

/** Episodes of 2016–2019 and 2023–2024 (2020–2022 is held out of the shipped history). */
export const EPISODES: readonly Episode[] = [
  { name: "DAO hack", from: "2016-06-12", to: "2016-06-30" },
  { name: "China ICO ban", from: "2017-09-01", to: "2017-09-20" },
  { name: "2018 bear market", from: "2018-01-01", to: "2018-12-31" },
  { name: "BCH hash war", from: "2018-11-10", to: "2018-12-15" },
  { name: "June 2019 peak and drop", from: "2019-06-20", to: "2019-07-20" },
  { name: "SVB and the USDC depeg", from: "2023-03-05", to: "2023-03-20" },
  { name: "2024-08-05 carry unwind", from: "2024-07-29", to: "2024-08-12" },
];

/** What the margin did through one episode (fractions; dates YYYY-MM-DD). */
export interface EpisodeResult {
  name: string;
  from: string;
  to: string;
  /** Days of the episode that were evaluated (inside the window, after the warm-up). */
  days: number;
  start: { sigma: number; target: number };
  peak: { sigma: number; sigmaDate: string; target: number; targetDate: string };
  end: { sigma: number; target: number };
  /** The largest next-day loss, the day it started, and the requirement and σ in force that day. */
  worst: { date: string; loss: number; requirement: number; sigma: number };
  /** Days whose next-day loss exceeded max(zm σ, hm), and zm σ alone. */
  exceedances: number;
  sigmaExceedances: number;
}

/** The episodes with at least one evaluated day among `days`. */
export function episodeResults(days: readonly BacktestDay[], episodes: readonly Episode[] = EPISODES): EpisodeResult[] {
  return episodes.flatMap((e): EpisodeResult[] => {
    const inside = days.filter((d) => d.date >= e.from && d.date <= e.to);
    const first = inside[0];
    const last = inside[inside.length - 1];
    if (!first || !last) return [];
    const by = (pick: (d: BacktestDay) => number): BacktestDay => inside.reduce((a, d) => (pick(d) > pick(a) ? d : a));
    const peakSigma = by((d) => d.sigma);
    const peakTarget = by((d) => d.target);
    const worst = by((d) => d.loss);
    return [
      {
        ...e,
        days: inside.length,
        start: { sigma: first.sigma, target: first.target },
        peak: { sigma: peakSigma.sigma, sigmaDate: peakSigma.date, target: peakTarget.target, targetDate: peakTarget.date },
        end: { sigma: last.sigma, target: last.target },
        worst: { date: worst.date, loss: worst.loss, requirement: worst.requirement, sigma: worst.sigma },
        exceedances: inside.filter((d) => d.exceeded).length,
        sigmaExceedances: inside.filter((d) => d.sigmaExceeded).length,
      },
    ];
  });
}
