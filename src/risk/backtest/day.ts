/** One evaluated day of a backtest: the margin in force at the day's close and the loss of the day that follows. */

/** Fractions of the collateral's value (0.05 = 5%); a basket's σ is its portfolio σ, sqrt(Σ w_i w_j σ_i σ_j ρ_ij). */
export interface BacktestDay {
  /** The day t (YYYY-MM-DD): the requirement is the one in force at its close, after that day's poke. */
  date: string;
  /** σ in force at t. */
  sigma: number;
  /** The σ target at t (what σ in force moves toward until the next poke). */
  target: number;
  /** The maintenance requirement max(zm σ, hm) (a basket: max(zm σ, Σ w hm)). */
  requirement: number;
  /** zm σ alone, without the floor. */
  sigmaRequirement: number;
  /** The loss from t's close to the next day's: 1 − V(t+1)/V(t) (negative for a gain). */
  loss: number;
  exceeded: boolean;
  sigmaExceeded: boolean;
  /** Realized σ: root mean square of the daily returns of the window ending at t (null before a full window). */
  realized: number | null;
}
