/**
 * Calibration of the margin model on daily closes, validated walk-forward: every point of a grid of half-lives,
 * maxSteps, zm, σmin and σmax is backtested in sample; the chosen parameters are the cheapest (lowest mean maintenance
 * requirement, averaged over the subjects) whose exceedances of max(zm σ, hm) pass Kupiec and Christoffersen for
 * every subject; then the chosen point, the current parameters and each half-life × maxStep's best point are
 * backtested out of sample, on windows the choice never saw. ρ of a basket is estimated in sample and kept.
 */
import { formatPercent } from "../../units";
import { fractionToWad } from "../coverage";
import {
  type AssetPath,
  assetPaths,
  type BacktestOptions,
  backtestSubject,
  type MarginParams,
  type Subject,
  type SubjectBacktest,
} from "./backtest";
import { BacktestError, type BacktestWindow, type DailyCloses } from "./history";
import { estimateRho } from "./rho";

/** The values tried on each axis; σmin and σmax as per-asset overrides of the base parameters [wad]. */
export interface CalibrationGrid {
  halfLives: readonly number[]; // [s]
  maxSteps: readonly bigint[]; // [wad per hour]
  zMaintenances: readonly bigint[]; // [wad]
  sigmaMins: readonly Readonly<Record<string, bigint>>[];
  /** Absent: the base's σmax only. A (σmin, σmax) pair with σmin above σmax for some asset is skipped. */
  sigmaMaxes?: readonly Readonly<Record<string, bigint>>[];
}

/** The walk-forward of issue 23: calibrate on 2016–2018, check on 2019 and on 2023–2024 (after the held-out gap). */
export const WALK_FORWARD: { inSample: BacktestWindow; outOfSample: readonly BacktestWindow[] } = {
  inSample: { from: "2016-01-01", to: "2018-12-31" },
  outOfSample: [
    { from: "2019-01-01", to: "2019-12-31" },
    { from: "2023-01-01", to: "2024-12-31" },
  ],
};

/**
 * The default axes, in human units: half-lives in days, maxStep in fractions per hour, zm, uniform σmin and σmax.
 * Half-lives reach down to 6 hours (with one poke a day the cheapest passing points sit at the short end), σmin
 * starts at 3% (below it zm σmin is under the 10% floor for every zm here, so lower values change nothing), and
 * σmax tries caps of 10% and 15% besides the config's.
 */
export const DEFAULT_AXES = {
  halfLifeDays: [0.25, 0.5, 1, 2, 3, 5, 7, 14],
  maxStepPerHour: [0.0005, 0.001, 0.0025, 0.005, 0.01],
  zMaintenance: [2, 2.33, 2.5, 2.75, 3],
  sigmaMin: [0.03, 0.04, 0.045],
  sigmaMax: [0.1, 0.15],
} as const;

const uniqueSorted = <T extends number | bigint>(xs: readonly T[]): T[] => [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * The default grid around `base`: the default axes plus the base's own half-life, maxStep and zm, and σmin and σmax
 * at the base's per-asset values or at each uniform value.
 */
export function defaultGrid(base: MarginParams, axes: typeof DEFAULT_AXES = DEFAULT_AXES): CalibrationGrid {
  const symbols = Object.keys(base.assets);
  return {
    halfLives: uniqueSorted([...axes.halfLifeDays.map((d) => Math.round(d * 86_400)), base.halfLife]),
    maxSteps: uniqueSorted([...axes.maxStepPerHour.map(fractionToWad), base.maxStep]),
    zMaintenances: uniqueSorted([...axes.zMaintenance.map(fractionToWad), base.zMaintenance]),
    sigmaMins: [
      Object.fromEntries(symbols.map((s) => [s, base.assets[s]!.sigmaMin])),
      ...axes.sigmaMin.map((v) => Object.fromEntries(symbols.map((s) => [s, fractionToWad(v)]))),
    ],
    sigmaMaxes: [
      Object.fromEntries(symbols.map((s) => [s, base.assets[s]!.sigmaMax])),
      ...axes.sigmaMax.map((v) => Object.fromEntries(symbols.map((s) => [s, fractionToWad(v)]))),
    ],
  };
}

export interface CalibrationOptions extends Omit<BacktestOptions, "window" | "rho" | "staticSearch"> {
  inSample: BacktestWindow;
  outOfSample: readonly BacktestWindow[];
}

/** One requirement's result on one subject, as the trade-off table shows it. */
export interface RequirementSummary {
  exceedances: number;
  rate: number;
  kupiecP: number;
  christoffersenP: number;
  worstRun: number;
  meanRequirement: number;
  pass: boolean;
}

export interface SubjectSummary {
  subject: string;
  days: number;
  firstDay: string;
  lastDay: string;
  /** max(zm σ, hm): what the choice is made on. */
  maintenance: RequirementSummary;
  /** zm σ alone. */
  sigmaOnly: RequirementSummary;
}

/** The parameters of one grid point (the rest are the base parameters). */
export interface GridParams {
  halfLife: number; // [s]
  maxStep: bigint; // [wad per hour]
  zMaintenance: bigint; // [wad]
  sigmaMin: Readonly<Record<string, bigint>>;
  sigmaMax: Readonly<Record<string, bigint>>;
}

export interface GridPoint extends GridParams {
  /** In sample, per subject. */
  subjects: SubjectSummary[];
  /** The mean maintenance requirement averaged over the subjects (fraction of collateral value). */
  cost: number;
  /** Every subject passes both tests on max(zm σ, hm). */
  pass: boolean;
  /** The smallest p-value of the point (the closest any test came to rejecting). */
  minP: number;
}

/** Results of a point out of sample, one entry per window. */
export interface Validation {
  window: BacktestWindow;
  subjects: SubjectSummary[];
  pass: boolean;
}

export interface Calibration {
  inSample: BacktestWindow;
  outOfSample: BacktestWindow[];
  /** ρ of the basket, estimated on the in-sample window, and the days it rests on. */
  rho: number;
  rhoDays: number;
  points: GridPoint[];
  /** The cheapest passing point; undefined when no point passes. */
  chosen?: GridPoint;
  /** Per half-life × maxStep, the cheapest passing point (or, when none passes, the one closest to passing). */
  frontier: GridPoint[];
  /** Out of sample: the chosen point, the current (base) parameters, and each frontier point, in that order. */
  validation: { label: string; params: GridParams; windows: Validation[] }[];
  /** The base parameters in sample. */
  current: GridPoint;
}

/** A subject's backtest as the calibration keeps it: the tests and the mean requirement, no days. */
export function subjectSummary(r: SubjectBacktest): SubjectSummary {
  const pick = (x: SubjectBacktest["maintenance"]): RequirementSummary => ({
    exceedances: x.exceedances,
    rate: x.rate,
    kupiecP: x.kupiec.pValue,
    christoffersenP: x.christoffersen.pValue,
    worstRun: x.worstRun,
    meanRequirement: x.meanRequirement,
    pass: x.pass,
  });
  return {
    subject: r.subject,
    days: r.maintenance.days,
    firstDay: r.firstDay,
    lastDay: r.lastDay,
    maintenance: pick(r.maintenance),
    sigmaOnly: pick(r.sigmaOnly),
  };
}

/** The base parameters with a grid point's values. */
export function withGridParams(base: MarginParams, p: GridParams): MarginParams {
  const assets = Object.fromEntries(
    Object.entries(base.assets).map(([s, a]) => [s, { ...a, sigmaMin: p.sigmaMin[s] ?? a.sigmaMin, sigmaMax: p.sigmaMax[s] ?? a.sigmaMax }]),
  );
  return { ...base, halfLife: p.halfLife, maxStep: p.maxStep, zMaintenance: p.zMaintenance, assets };
}

/** Per-asset values in words: "ETH 5% BTC 4.5%". */
export const perAssetText = (values: Readonly<Record<string, bigint>>, separator = " "): string =>
  Object.entries(values)
    .map(([s, v]) => `${s} ${formatPercent(v)}`)
    .join(separator);

/** A grid point's label: "half-life 3d, maxStep 0.25%/h, zm 2.33, σmin ETH 5% BTC 4.5%, σmax ETH 25% BTC 20%". */
export function gridLabel(p: GridParams): string {
  return (
    `half-life ${p.halfLife / 86_400}d, maxStep ${formatPercent(p.maxStep, 3)}/h, zm ${Number(p.zMaintenance) / 1e18}, ` +
    `σmin ${perAssetText(p.sigmaMin)}, σmax ${perAssetText(p.sigmaMax)}`
  );
}

/** How many of the axes (half-life, maxStep, zm, σmin, σmax) of `p` differ from the base's. */
function changes(p: GridParams, base: MarginParams): number {
  const differs = (values: Readonly<Record<string, bigint>>, pick: (a: MarginParams["assets"][string]) => bigint): boolean =>
    Object.entries(values).some(([s, v]) => base.assets[s] !== undefined && pick(base.assets[s]!) !== v);
  return [
    p.halfLife !== base.halfLife,
    p.maxStep !== base.maxStep,
    p.zMaintenance !== base.zMaintenance,
    differs(p.sigmaMin, (a) => a.sigmaMin),
    differs(p.sigmaMax, (a) => a.sigmaMax),
  ].filter(Boolean).length;
}

/**
 * The point with the lower cost; on a tie the one further from rejection, then the one that changes fewer of the
 * base's values (an axis that does not move the figures, e.g. maxStep under a long half-life, stays as it is), then
 * the earlier.
 */
const cheaperFor =
  (base: MarginParams) =>
  (a: GridPoint, b: GridPoint): GridPoint => {
    if (b.cost !== a.cost) return b.cost < a.cost ? b : a;
    if (b.minP !== a.minP) return b.minP > a.minP ? b : a;
    return changes(b, base) < changes(a, base) ? b : a;
  };

/** The ρ a basket subject needs (1 when no subject is a basket of two). */
function basketRho(history: DailyCloses, subjects: readonly Subject[], options: CalibrationOptions): { rho: number; days: number } {
  const basket = subjects.find((s) => s.assets.length > 1);
  if (!basket) return { rho: 1, days: 0 };
  const [a, b] = basket.assets;
  if (basket.assets.length !== 2 || a === undefined || b === undefined) {
    throw new BacktestError(`${basket.name}: the calibration estimates ρ for a basket of two assets, got ${basket.assets.length}`);
  }
  return estimateRho(history, [a, b], options.inSample, options.liquidFrom);
}

/** Calibrates (see the module comment). */
export function calibrate(
  history: DailyCloses,
  subjects: readonly Subject[],
  base: MarginParams,
  grid: CalibrationGrid,
  options: CalibrationOptions,
): Calibration {
  if ([grid.halfLives, grid.maxSteps, grid.zMaintenances, grid.sigmaMins].some((axis) => axis.length === 0)) {
    throw new BacktestError("calibration grid: every axis needs at least one value");
  }
  const { rho, days: rhoDays } = basketRho(history, subjects, options);
  /** Every subject over one window, on oracle paths already computed for `params`. */
  const evaluate = (paths: readonly AssetPath[], params: MarginParams, window: BacktestWindow): SubjectSummary[] => {
    const bySymbol = new Map(paths.map((x) => [x.symbol, x]));
    const settings = { ...options, window, rho, staticSearch: false as const, episodes: [] };
    return subjects.map((s) => subjectSummary(backtestSubject(history, s, s.assets.map((a) => bySymbol.get(a)!), params, settings)));
  };
  const run = (p: GridParams, window: BacktestWindow): SubjectSummary[] => {
    const params = withGridParams(base, p);
    return evaluate(assetPaths(history, subjects, params, options.liquidFrom), params, window);
  };
  const point = (p: GridParams, results: SubjectSummary[]): GridPoint => ({
    ...p,
    subjects: results,
    cost: results.reduce((a, r) => a + r.maintenance.meanRequirement, 0) / results.length,
    pass: results.every((r) => r.maintenance.pass),
    minP: Math.min(...results.flatMap((r) => [r.maintenance.kupiecP, r.maintenance.christoffersenP])),
  });

  const baseSigmaMax = Object.fromEntries(Object.entries(base.assets).map(([s, a]) => [s, a.sigmaMax]));
  const sigmaMaxes = grid.sigmaMaxes ?? [baseSigmaMax];
  if (sigmaMaxes.length === 0) throw new BacktestError("calibration grid: every axis needs at least one value");
  const points: GridPoint[] = [];
  for (const sigmaMin of grid.sigmaMins) {
    for (const sigmaMax of sigmaMaxes) {
      const bounds = withGridParams(base, { halfLife: base.halfLife, maxStep: base.maxStep, zMaintenance: base.zMaintenance, sigmaMin, sigmaMax });
      if (Object.values(bounds.assets).some((a) => a.sigmaMin > a.sigmaMax)) continue;
      for (const halfLife of grid.halfLives) {
        for (const maxStep of grid.maxSteps) {
          // The oracle's path depends on the half-life, maxStep and σ bounds only: once for every zm.
          const oracle = withGridParams(base, { halfLife, maxStep, zMaintenance: base.zMaintenance, sigmaMin, sigmaMax });
          const paths = assetPaths(history, subjects, oracle, options.liquidFrom);
          for (const zMaintenance of grid.zMaintenances) {
            const results = evaluate(paths, { ...oracle, zMaintenance }, options.inSample);
            points.push(point({ halfLife, maxStep, zMaintenance, sigmaMin, sigmaMax }, results));
          }
        }
      }
    }
  }
  if (points.length === 0) throw new BacktestError("calibration grid: every σmin is above a σmax");

  const cheaper = cheaperFor(base);
  const passing = points.filter((p) => p.pass);
  const chosen = passing.length > 0 ? passing.reduce(cheaper) : undefined;
  const frontier = grid.halfLives.flatMap((halfLife) =>
    grid.maxSteps.map((maxStep) => {
      const group = points.filter((p) => p.halfLife === halfLife && p.maxStep === maxStep);
      const ok = group.filter((p) => p.pass);
      return ok.length > 0 ? ok.reduce(cheaper) : group.reduce((a, b) => (b.minP > a.minP ? b : a));
    }),
  );
  const currentParams: GridParams = {
    halfLife: base.halfLife,
    maxStep: base.maxStep,
    zMaintenance: base.zMaintenance,
    sigmaMin: Object.fromEntries(Object.entries(base.assets).map(([s, a]) => [s, a.sigmaMin])),
    sigmaMax: baseSigmaMax,
  };
  const current = point(currentParams, run(currentParams, options.inSample));
  const validate = (label: string, p: GridParams): Calibration["validation"][number] => ({
    label,
    params: { halfLife: p.halfLife, maxStep: p.maxStep, zMaintenance: p.zMaintenance, sigmaMin: p.sigmaMin, sigmaMax: p.sigmaMax },
    windows: options.outOfSample.map((window) => {
      const results = run(p, window);
      return { window, subjects: results, pass: results.every((r) => r.maintenance.pass) };
    }),
  });
  const validation = [
    ...(chosen ? [validate("chosen", chosen)] : []),
    validate("current", currentParams),
    ...frontier.map((p) => validate(gridLabel(p), p)),
  ];
  return { inSample: options.inSample, outOfSample: [...options.outOfSample], rho, rhoDays, points, chosen, frontier, validation, current };
}
