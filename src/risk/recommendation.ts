/** What a recommendation is: the proposed parameters per asset with their evidence, and the error its steps raise. */
import { KeelError } from "../units/error";
import type { AssetCoverage } from "./coverage";

/** Proposed parameters of one asset (fractions on the config's grid) and the evidence behind them. */
export interface AssetRecommendation {
  symbol: string;
  sigmaMin: number;
  sigmaMax: number;
  maintenanceHaircut: number;
  initialHaircut: number;
  evidence: {
    /** Rolling EWMA σ over the horizon: the calm quantile, the median and the peak. */
    calmSigma: number;
    medianSigma: number;
    peakSigma: number;
    /** Worst loss within one horizon in the history. */
    worstLoss: number;
    /** Haircut the windows require, and the one the criticalHF rule requires (before rounding). */
    haircutFromHistory: number;
    haircutFromCriticalHF: number;
  };
  /** The bad-debt check with the recommended (rounded) parameters. */
  coverage: AssetCoverage;
}

export interface Recommendation {
  /** Horizon σ is measured over [s], and the history's sampling interval [s]. */
  horizonSeconds: number;
  stepSeconds: number;
  zMaintenance: number;
  zInitial: number;
  assets: AssetRecommendation[];
  /** Stressed ρ keyed "A/B" in config listing order. */
  correlations: Record<string, number>;
  /** Config assets without a price column in the history: left unchanged. */
  skipped: string[];
  /** The volatility oracle's half-life and maxStep when the recommendation sets them (a calibration); else unchanged. */
  volatility?: { halfLife: number /* [s] */; maxStepPerHour: number /* fraction of σ per hour */ };
  /** The history's file and which config asset each of its columns prices, when they are not the config's symbols. */
  source?: { file: string; symbolMap: Readonly<Record<string, string>> };
  /** True when every recommended asset's check found no window with bad debt. */
  covered: boolean;
}

/** A recommendation that cannot be made (too little history, a config it cannot read or write). */
export class RecommendationError extends KeelError {
  override name = "RecommendationError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INPUT", message, options);
  }
}
