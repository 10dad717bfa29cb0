/**
 * The built-in stress scenarios of `npm run stress`. Each is a price path per asset as keyframes (hour → multiple of
 * the starting price), the AMM depth liquidations sell into, the feedback of those sales into the oracle price, and
 * how often margin-called owners cure. A composite asset (wstETH) follows its base; its own path is the ratio.
 */
import { DEFAULT_AMM_DEPTH, demoCrash, fromKeyframes, type Scenario } from "./crash";

/**
 * 12 March 2020: ETH fell 43% within the day, most of it in a few hours, with a sharp wick at the low; BTC followed
 * (−39% at the low). Venues were thin and liquidations fed the fall.
 */
export const blackThursday: Scenario = fromKeyframes(
  {
    name: "black-thursday",
    description: "Black Thursday: WETH −43% intraday with a sharp wick at hour 17, WBTC following; thin AMM, strong feedback",
    stepSeconds: 1800,
    hours: 24,
    ammDepth: { WETH: "1500", WBTC: "80", USDC: "5000000", wstETH: "1200" },
    feedback: 0.8,
    cureRate: 0.3,
  },
  {
    WETH: [[0, 1], [6, 0.93], [10, 0.82], [14, 0.72], [16, 0.64], [17, 0.57], [17.5, 0.67], [20, 0.63], [24, 0.65]],
    WBTC: [[0, 1], [6, 0.94], [10, 0.85], [14, 0.76], [16, 0.68], [17, 0.61], [17.5, 0.7], [20, 0.66], [24, 0.68]],
    wstETH: [[0, 1], [16, 0.98], [24, 0.99]],
  },
);

/** Three weeks of grinding decline with relief rallies, in 6-hour steps: WETH −45%, WBTC −35%. */
export const slowBear: Scenario = fromKeyframes(
  {
    name: "slow-bear",
    description: "Slow bear: WETH −45% and WBTC −35% over three weeks with relief rallies, 6-hour steps",
    stepSeconds: 6 * 3600,
    hours: 21 * 24,
    ammDepth: DEFAULT_AMM_DEPTH,
    feedback: 0.2,
    cureRate: 0.6,
  },
  {
    WETH: [[0, 1], [72, 0.9], [120, 0.94], [216, 0.78], [264, 0.82], [360, 0.66], [408, 0.7], [504, 0.55]],
    WBTC: [[0, 1], [72, 0.93], [120, 0.96], [216, 0.84], [264, 0.87], [360, 0.74], [408, 0.77], [504, 0.65]],
  },
);

/** A stablecoin depeg: USDC slides to 0.90 in 12 hours, stays there 8 hours, and recovers over the next day. */
export const usdcDepeg: Scenario = fromKeyframes(
  {
    name: "usdc-depeg",
    description: "USDC depeg: USDC to 0.90 for 8 hours and back to 1 over two days; WETH −5% meanwhile",
    stepSeconds: 3600,
    hours: 48,
    ammDepth: DEFAULT_AMM_DEPTH,
    feedback: 0.3,
    cureRate: 0.5,
  },
  {
    USDC: [[0, 1], [8, 0.97], [12, 0.9], [20, 0.9], [30, 0.96], [40, 0.99], [48, 1]],
    WETH: [[0, 1], [12, 0.95], [48, 0.98]],
  },
);

/** A correlated gap: between two 30-minute steps WETH gaps −28% and WBTC −24%, then both drift part of the way back. */
export const btcEthGap: Scenario = fromKeyframes(
  {
    name: "btc-eth-gap",
    description: "Correlated gap: WETH −28% and WBTC −24% in one 30-minute step at hour 4, partly retraced by hour 12",
    stepSeconds: 1800,
    hours: 12,
    ammDepth: DEFAULT_AMM_DEPTH,
    feedback: 0.5,
    cureRate: 0.5,
  },
  {
    WETH: [[0, 1], [4, 0.99], [4.5, 0.71], [8, 0.74], [12, 0.8]],
    WBTC: [[0, 1], [4, 0.99], [4.5, 0.75], [8, 0.77], [12, 0.82]],
    wstETH: [[0, 1], [4.5, 0.98], [12, 0.99]],
  },
);

/** Every built-in scenario by name. */
export const SCENARIOS: Readonly<Record<string, Scenario>> = Object.fromEntries(
  [blackThursday, slowBear, usdcDepeg, btcEthGap, demoCrash].map((s) => [s.name, s]),
);
