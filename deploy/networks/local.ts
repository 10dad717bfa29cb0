import type { RawKeelConfig } from "../../src/client/config";

/**
 * The default local deployment: mock WETH, WBTC, USDC and wstETH with mock Chainlink feeds.
 *
 * σ is the standard deviation of a one-day return (the liquidation horizon): ETH's ~75% annual volatility is
 * ~4% a day, stressed to a 5% floor. With zm = 2.75 and zi = 3.66, an isolated WETH position is liquidatable
 * below HF 1 at a loss allowance of max(2.75 × 5%, 10%) = 13.75% of its value, and can borrow up to
 * 1 − max(3.66 × 5%, 15%) = 81.7% of it. Penalties keep (1 + ℓ)(1 − hm) under a critical HF of 0.95.
 *
 * zm/zi, σmax and ρ of WETH and WBTC, WBTC's initial haircut and the volatility half-life are the backtest's
 * recommendation on real ETH/BTC daily closes (`npm run backtest -- --recommend`,
 * docs/risk.md#recommendation-on-real-data): the cheapest point passing Kupiec and Christoffersen in 2016–2018.
 * Reservation: its 14-day half-life is fitted to one poke a day, while the keeper pokes hourly, so on chain σ in force
 * moves within the day and the half-life to deploy is not directly the fitted one. USDC and wstETH have no real series
 * and keep their values.
 */
export const localConfig: RawKeelConfig = {
  // Each liquidation bonus rises from ℓmin at HF 1 to ℓ at criticalHF (docs/spec.md §4.4): a position just under 1
  // needs little to be worth liquidating, one far gone the most; splitting never earns more than one step.
  assets: [
    {
      symbol: "WETH",
      name: "Wrapped Ether",
      decimals: 18,
      price: { initial: "3000", decimals: 8, heartbeat: "1h" },
      risk: {
        sigmaMin: "5%",
        sigmaMax: "10%",
        maintenanceHaircut: "10%",
        initialHaircut: "15%",
        liquidationPenalty: "5%",
        minLiquidationPenalty: "2%",
        fullPenaltyHF: "0.95",
      },
      stabilityFee: "2%",
      debtCeiling: "500,000,000",
      supplyCap: "1,000,000",
    },
    {
      symbol: "WBTC",
      name: "Wrapped Bitcoin",
      decimals: 8,
      price: { initial: "60000", decimals: 8, heartbeat: "1h" },
      risk: {
        sigmaMin: "4.5%",
        sigmaMax: "10%",
        maintenanceHaircut: "10%",
        initialHaircut: "14.5%",
        liquidationPenalty: "5%",
        minLiquidationPenalty: "2%",
        fullPenaltyHF: "0.95",
      },
      stabilityFee: "2%",
      debtCeiling: "300,000,000",
      supplyCap: "20,000",
    },
    {
      symbol: "USDC",
      name: "USD Coin",
      decimals: 6,
      price: { initial: "1", decimals: 8, heartbeat: "1 day" },
      risk: {
        sigmaMin: "0.5%",
        sigmaMax: "10%",
        maintenanceHaircut: "7%",
        initialHaircut: "9%",
        liquidationPenalty: "2%",
        minLiquidationPenalty: "1%",
        fullPenaltyHF: "0.95",
      },
      stabilityFee: "1%",
      debtCeiling: "200,000,000",
      supplyCap: "500,000,000",
    },
    {
      symbol: "wstETH",
      name: "Wrapped liquid staked Ether",
      decimals: 18,
      // wstETH/ETH exchange rate (18 decimals) × ETH/USD.
      price: { initial: "1.18", decimals: 18, heartbeat: "1 day", base: "WETH" },
      risk: {
        sigmaMin: "5.5%",
        sigmaMax: "27%",
        maintenanceHaircut: "11%",
        initialHaircut: "16%",
        liquidationPenalty: "6%",
        minLiquidationPenalty: "2.5%",
        fullPenaltyHF: "0.95",
      },
      stabilityFee: "2.5%",
      debtCeiling: "200,000,000",
      supplyCap: "500,000",
    },
  ],
  correlations: {
    "WETH/WBTC": "0.9",
    "WETH/USDC": "0",
    "WETH/wstETH": "0.95",
    "WBTC/USDC": "0",
    "WBTC/wstETH": "0.72",
    "USDC/wstETH": "0",
  },
  confidence: { maintenance: "2.75", initial: "3.66" },
  cross: { stabilityFee: "3%", debtCeiling: "500,000,000" },
  globalDebtCeiling: "1,000,000,000",
  dust: "100",
  liquidation: {
    gracePeriod: "6h",
    criticalHF: "0.95",
    targetHF: "1.05",
    closeFactor: "50%",
    protocolShare: "20%",
  },
  // σ is measured over one day; an asset's σ follows its EWMA (14-day half-life, the backtest's choice above) at most
  // 0.25 points an hour, so WETH's margin σ takes 20 hours to go from its 5% floor to its 10% cap.
  volatility: { horizon: "1 day", halfLife: "14 days", minInterval: "1h", maxStepPerHour: "0.25%" },
  flashMint: { fee: "0.05%", cap: "100,000,000" },
  // Two local swap venues, so keepers choose where to sell: the deep MockAMM (`amm`) and a shallow one
  // (`ammShallow`, seeded with a tenth of the depth by dev/localMarket.ts) charging a higher fee.
  amm: { fee: "0.3%" },
  ammShallow: { fee: "1%" },
  // The peg: USDC in and out at $1 less 0.1% each way, at most 50M kUSD against it, frozen (selling USDC only) while
  // USDC trades more than 2% off $1. Savings earn 2% a year out of the surplus buffer.
  peg: { reserve: "USDC", feeIn: "0.1%", feeOut: "0.1%", debtCeiling: "50,000,000", freezeThreshold: "2%" },
  savings: { rate: "2%" },
  governance: { timelockDelay: "2 days" },
};
