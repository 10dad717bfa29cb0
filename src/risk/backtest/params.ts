/**
 * What the backtest runs on by default: the history's assets and the config assets whose margin parameters they
 * take, the subjects (each asset, and the two as a basket), and the margin parameters of a parsed deploy config.
 */
import type { KeelConfig } from "../../client/config";
import type { MarginParams, Subject } from "./backtest";
import { BacktestError } from "./history";

/** Each column of data/history/daily-closes.csv and the config asset it is margined as. */
export const HISTORY_ASSETS: Readonly<Record<string, string>> = { ETH: "WETH", BTC: "WBTC" };

/** The subjects `npm run backtest --asset` names. */
export const SUBJECTS: Readonly<Record<string, Subject>> = {
  ETH: { name: "ETH", assets: ["ETH"] },
  BTC: { name: "BTC", assets: ["BTC"] },
  basket: { name: "basket", assets: ["ETH", "BTC"] },
};

/** The margin parameters of `config` for the history's assets (`assets`: history symbol → config symbol). */
export function marginParamsFromConfig(config: KeelConfig, assets: Readonly<Record<string, string>> = HISTORY_ASSETS): MarginParams {
  const margins = Object.entries(assets).map(([symbol, listed]) => {
    const a = config.assets.find((x) => x.symbol === listed);
    if (!a) throw new BacktestError(`the config lists no ${listed} to margin ${symbol} with`);
    return [symbol, { sigmaMin: a.risk.sigmaMin, sigmaMax: a.risk.sigmaMax, maintenanceHaircut: a.risk.maintenanceHaircut }] as const;
  });
  return {
    horizon: config.volatility.horizon,
    halfLife: config.volatility.halfLife,
    maxStep: config.volatility.maxStep,
    zMaintenance: config.confidence.zMaintenance,
    assets: Object.fromEntries(margins),
  };
}
