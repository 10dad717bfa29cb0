import type { RawKeelConfig } from "../../src/client/config";
import { localConfig } from "./local";

/**
 * Ethereum mainnet tokens and Chainlink feeds, for `FORK_URL=<mainnet rpc> npm run node` (a fork, never a live
 * deployment: the risk parameters are the local ones and the swap venue is the local MockAMM).
 *
 * wstETH is priced with Chainlink's stETH/USD feed, i.e. one wstETH is valued as one stETH. That undervalues it by
 * the wrap rate (~1.2 stETH per wstETH): conservative, and the only Chainlink-native choice, since the wrap-rate
 * adapters in use elsewhere report no update time and fail Keel's staleness check. A production listing needs a
 * wrap-rate feed with a real `updatedAt`.
 */
const MAINNET = {
  WETH: { token: "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", feed: "0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419", heartbeat: "1h" }, // ETH/USD
  WBTC: { token: "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599", feed: "0xF4030086522a5bEEa4988F8cA5B36dbC97BeE88c", heartbeat: "1h" }, // BTC/USD
  USDC: { token: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", feed: "0x8fFfFfd4AfB6115b954Bd326cbe7B4BA576818f6", heartbeat: "1 day" }, // USDC/USD
  wstETH: { token: "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0", feed: "0xCfE54B5cD566aB89272946F602D76Ea879CAb4a8", heartbeat: "1h" }, // stETH/USD
} as const;

/** Token and feed addresses by symbol, in the shape `withExistingAssets` takes. */
export type ExistingAssets = Record<string, { token: string; feed: string; heartbeat: string; decimals?: number }>;

/**
 * A config listing existing tokens and feeds instead of mocks: the local config's assets and risk parameters, each
 * asset pointed at `existing[symbol]` (8-decimal USD feeds, no composites).
 */
export function withExistingAssets(base: RawKeelConfig, existing: ExistingAssets): RawKeelConfig {
  return {
    ...base,
    assets: base.assets.map((a) => {
      const e = existing[a.symbol];
      if (!e) throw new Error(`withExistingAssets: no address for ${a.symbol}`);
      return { ...a, decimals: e.decimals ?? a.decimals, token: e.token, price: { feed: e.feed, decimals: 8, heartbeat: e.heartbeat } };
    }),
  };
}

export const mainnetForkConfig: RawKeelConfig = withExistingAssets(localConfig, MAINNET);
