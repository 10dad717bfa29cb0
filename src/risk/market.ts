/**
 * The market a book is valued in: per asset the price and the margin parameters the RiskModel reads (bigint, the
 * protocol's units), the margin correlation matrix and confidence multipliers. Built from a parsed deploy config or
 * from on-chain reads.
 */
import { KeelError } from "../units/error";
import type { KeelConfig } from "../client/config";
import { mulDivDown, WAD, type Confidence } from "../math";

export class MarketError extends KeelError {
  override name = "MarketError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INPUT", message, options);
  }
}

export interface MarketAsset {
  symbol: string;
  decimals: number;
  price: bigint; // [wad] USD per whole token
  sigma: bigint; // [wad] σ in force over the margin horizon
  maintenanceHaircut: bigint; // [wad]
  initialHaircut: bigint; // [wad]
  liquidationPenalty: bigint; // [wad]
}

export interface Market {
  assets: MarketAsset[];
  /** Row-major n×n ρ [wad] over `assets`, in the same order. */
  correlation: bigint[];
  confidence: Confidence;
  /** Below it a position is liquidatable at once [wad]; optional. */
  criticalHF?: bigint;
  /** The horizon σ is measured over [s] (the VolatilityOracle's). */
  horizonSeconds: number;
}

/** Index of `symbol` in the market; throws MarketError for an unknown asset. */
export function assetIndex(market: Market, symbol: string): number {
  const i = market.assets.findIndex((a) => a.symbol === symbol);
  if (i < 0) throw new MarketError(`asset "${symbol}" is not in the market (${market.assets.map((a) => a.symbol).join(", ")})`);
  return i;
}

/** ρ [wad] between assets i and j. */
export const rhoOf = (market: Market, i: number, j: number): bigint =>
  i === j ? WAD : market.correlation[i * market.assets.length + j]!;

/** The margin correlation as floats (ρ_ij = wad / 1e18). */
export const correlationFloats = (market: Market): number[][] =>
  market.assets.map((_, i) => market.assets.map((__, j) => Number(rhoOf(market, i, j)) / 1e18));

/**
 * The market of a parsed deploy config: prices from the mock feeds' initial answers (a composite asset's price is its
 * answer × its base's price) unless given in `prices` [wad]; σ = σmin (the σ in force before the first poke) unless
 * given in `sigmas` [wad].
 */
export function marketFromConfig(
  config: KeelConfig,
  overrides: { prices?: Readonly<Record<string, bigint>>; sigmas?: Readonly<Record<string, bigint>> } = {},
): Market {
  const prices = new Map<string, bigint>();
  for (const a of config.assets) {
    let price = overrides.prices?.[a.symbol];
    if (price === undefined) {
      if (a.price.initial === undefined) throw new MarketError(`${a.symbol}: no price given and no initial feed answer`);
      price = mulDivDown(a.price.initial, WAD, 10n ** BigInt(a.price.decimals));
      if (a.price.base !== undefined) price = mulDivDown(price, prices.get(a.price.base)!, WAD);
    }
    prices.set(a.symbol, price);
  }
  const assets = config.assets.map(
    (a): MarketAsset => ({
      symbol: a.symbol,
      decimals: a.decimals,
      price: prices.get(a.symbol)!,
      sigma: overrides.sigmas?.[a.symbol] ?? a.risk.sigmaMin,
      maintenanceHaircut: a.risk.maintenanceHaircut,
      initialHaircut: a.risk.initialHaircut,
      liquidationPenalty: a.risk.liquidationPenalty,
    }),
  );
  const n = assets.length;
  const correlation = new Array<bigint>(n * n).fill(0n);
  for (let i = 0; i < n; i++) {
    correlation[i * n + i] = WAD;
    for (let j = i + 1; j < n; j++) {
      const rho = config.correlations.get(`${assets[i]!.symbol}/${assets[j]!.symbol}`) ?? 0n;
      correlation[i * n + j] = rho;
      correlation[j * n + i] = rho;
    }
  }
  return {
    assets,
    correlation,
    confidence: config.confidence,
    criticalHF: config.liquidation.criticalHF,
    horizonSeconds: config.volatility.horizon,
  };
}
