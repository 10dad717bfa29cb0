/**
 * The handles `deployKeel` returns (pinned, docs/spec.md §8): every contract as a typed TypeChain handle, the listed
 * assets, the parsed config and the deployment block. Types only, so governance and manifest writing can name a
 * deployment without importing the code that makes one.
 */
import type {
  FlashLiquidator,
  KeelAccessManager,
  KeelTimelock,
  KeelUSD,
  Lens,
  MockAggregator,
  MockAMM,
  MockERC20,
  PegStabilityModule,
  PositionManager,
  PositionNFT,
  PriceOracle,
  RiskModel,
  SavingsKUSD,
  SurplusBuffer,
  VaultEngine,
  VolatilityOracle,
} from "../typechain-types";
import type { AssetConfig, KeelConfig } from "../src/client/config";

/** A listed asset: its token and its (primary) price feed. Mocks on local networks. */
export interface KeelAsset {
  token: MockERC20;
  feed: MockAggregator;
  /** For composite prices: the feed of the base asset (price = feed × baseFeed). */
  baseFeed?: MockAggregator;
  config: AssetConfig;
}

export interface Keel {
  engine: VaultEngine;
  risk: RiskModel;
  oracle: PriceOracle;
  /** The EWMA volatility oracle margin reads σ from; poked by keepers. */
  vol: VolatilityOracle;
  kusd: KeelUSD;
  nft: PositionNFT;
  surplus: SurplusBuffer;
  manager: PositionManager;
  lens: Lens;
  flashLiquidator: FlashLiquidator;
  /** The local swap venue (constant-product kUSD pools); empty until seeded (dev/localMarket.ts `seedAmm`). */
  amm: MockAMM;
  /** The second local swap venue: a shallower MockAMM with a higher fee; empty until seeded (`seedAmm`). */
  ammShallow: MockAMM;
  /** The peg stability module over the config's reserve (USDC locally): kUSD in and out at $1 less a fee. */
  psm: PegStabilityModule;
  /** sKUSD, the savings vault paid out of the surplus buffer. */
  savings: SavingsKUSD;
  accessManager: KeelAccessManager;
  timelock: KeelTimelock;
  assets: Record<string, KeelAsset>;
  config: KeelConfig;
  /** Block of the first deployment transaction: where indexers start. */
  deploymentBlock: number;
}
