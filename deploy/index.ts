/**
 * `deployKeel(signer, config?)`: deploys and wires every Keel contract, lists the configured assets (deploying
 * mock tokens and feeds where the config names none), hands governance to the timelock, and returns typed handles.
 * Used by every test (through loadFixture) and every script.
 */
import { getCreateAddress, type Signer, ZeroAddress } from "ethers";
import {
  KeelAccessManager__factory,
  KeelTimelock__factory,
  KeelUSD__factory,
  FlashLiquidator__factory,
  MockAMM__factory,
  Liquidation__factory,
  EngineGovernance__factory,
  Lens__factory,
  MockAggregator__factory,
  MockERC20__factory,
  MockWETH__factory,
  PositionManager__factory,
  PositionNFT__factory,
  PriceOracle__factory,
  RiskModel__factory,
  SurplusBuffer__factory,
  VaultEngine__factory,
  VolatilityOracle__factory,
  type MockAggregator,
  type MockERC20,
} from "../typechain-types";
import type { IPriceOracle } from "../typechain-types/contracts/interfaces/IPriceOracle";
import { ConfigError, pairKey, parseKeelConfig, type AssetConfig, type KeelConfig, type RawKeelConfig } from "../src/client/config";
import { localConfig } from "./networks/local";
import { grantRoles, ROLES } from "./governance";
import { preflight } from "./preflight";
import type { Keel, KeelAsset } from "./keel";

export { localConfig, parseKeelConfig, ConfigError, ROLES };
export type { RawKeelConfig, KeelConfig, Keel, KeelAsset };

/** Int192 max: what an aggregator without bounds is treated as allowing. */
const INT192_MAX = 2n ** 191n - 1n;

export async function deployKeel(signer: Signer, config: RawKeelConfig | KeelConfig = localConfig): Promise<Keel> {
  const cfg = isParsed(config) ? config : parseKeelConfig(config);
  const deployer = await signer.getAddress();
  const provider = signer.provider;
  if (!provider) throw new ConfigError("deployKeel: the signer has no provider");
  await preflight(cfg, provider);
  const deploymentBlock = await provider.getBlockNumber();

  const accessManager = await new KeelAccessManager__factory(signer).deploy(deployer);
  const proposers = cfg.governance.proposers ?? [deployer];
  const executors = cfg.governance.executors ?? [deployer];
  const timelock = await new KeelTimelock__factory(signer).deploy(
    cfg.governance.timelockDelay,
    proposers,
    executors,
    ZeroAddress,
  );
  const authority = await accessManager.getAddress();
  const oracle = await new PriceOracle__factory(signer).deploy(authority);

  // The engine's libraries (liquidation, governance) have no state and no constructor: deployed first and linked.
  const engineLibraries = {
    "contracts/core/Liquidation.sol:Liquidation": await (await new Liquidation__factory(signer).deploy()).getAddress(),
    "contracts/core/EngineGovernance.sol:EngineGovernance": await (
      await new EngineGovernance__factory(signer).deploy()
    ).getAddress(),
  };
  // kUSD, the surplus buffer, the NFT, the volatility oracle and the risk model need the engine's address (or
  // each other's), and the engine theirs: deploy them at predicted addresses, in this exact nonce order.
  const nonce = await signer.getNonce("pending");
  const at = (i: number): string => getCreateAddress({ from: deployer, nonce: nonce + i });
  const [kusdAt, surplusAt, nftAt, volAt, riskAt, engineAt] = [0, 1, 2, 3, 4, 5].map(at) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const kusd = await new KeelUSD__factory(signer).deploy(
    authority,
    engineAt,
    surplusAt,
    cfg.flashMint.fee,
    cfg.flashMint.cap,
    { nonce },
  );
  const surplus = await new SurplusBuffer__factory(signer).deploy(authority, kusdAt, { nonce: nonce + 1 });
  const nft = await new PositionNFT__factory(signer).deploy(engineAt, { nonce: nonce + 2 });
  const vol = await new VolatilityOracle__factory(signer).deploy(
    authority,
    riskAt,
    await oracle.getAddress(),
    cfg.volatility,
    { nonce: nonce + 3 },
  );
  const risk = await new RiskModel__factory(signer).deploy(
    authority,
    engineAt,
    await oracle.getAddress(),
    volAt,
    cfg.confidence.zMaintenance,
    cfg.confidence.zInitial,
    { nonce: nonce + 4 },
  );
  const engine = await new VaultEngine__factory(engineLibraries, signer).deploy(
    authority,
    kusdAt,
    nftAt,
    riskAt,
    await oracle.getAddress(),
    surplusAt,
    {
      crossStabilityFee: cfg.cross.stabilityFee,
      crossDebtCeiling: cfg.cross.debtCeiling,
      globalDebtCeiling: cfg.globalDebtCeiling,
      dust: cfg.dust,
      liquidation: cfg.liquidation,
    },
    { nonce: nonce + 5 },
  );
  await engine.waitForDeployment();
  if ((await engine.getAddress()) !== engineAt || (await risk.getAddress()) !== riskAt) {
    throw new ConfigError("deployKeel: contracts did not land at their predicted addresses (nonce race?)");
  }

  const assets = await deployAssets(signer, cfg);
  const weth = listedAsset(assets, cfg.wrappedNative, `wrappedNative: "${cfg.wrappedNative}" is not an asset`).token;
  const manager = await new PositionManager__factory(signer).deploy(engineAt, nftAt, kusdAt, await weth.getAddress());
  const lens = await new Lens__factory(signer).deploy(engineAt, riskAt, await oracle.getAddress(), nftAt);
  const flashLiquidator = await new FlashLiquidator__factory(signer).deploy(engineAt, riskAt, kusdAt);
  const amm = await new MockAMM__factory(signer).deploy(kusdAt, cfg.amm.feeBps);

  const keel: Keel = {
    engine,
    risk,
    oracle,
    vol,
    kusd,
    nft,
    surplus,
    manager,
    lens,
    flashLiquidator,
    amm,
    accessManager,
    timelock,
    assets,
    config: cfg,
    deploymentBlock,
  };

  // The deployer holds RISK just long enough to list the assets, then governance belongs to the timelock.
  await grantRoles(keel, cfg.governance.guardian ?? deployer);
  await (await accessManager.grantRole(ROLES.RISK, deployer, 0)).wait();
  if (cfg.sequencer) {
    await (await oracle.setSequencer({ uptimeFeed: cfg.sequencer.uptimeFeed, gracePeriod: cfg.sequencer.gracePeriod })).wait();
  }
  for (const asset of cfg.assets) {
    await listAsset(keel, asset);
  }
  await (await accessManager.revokeRole(ROLES.RISK, deployer)).wait();
  await (await accessManager.renounceRole(ROLES.ADMIN, deployer)).wait();
  return keel;
}

function isParsed(c: RawKeelConfig | KeelConfig): c is KeelConfig {
  return c.correlations instanceof Map;
}

async function deployAssets(signer: Signer, cfg: KeelConfig): Promise<Record<string, KeelAsset>> {
  const out: Record<string, KeelAsset> = {};
  for (const a of cfg.assets) {
    const base = a.price.base
      ? listedAsset(out, a.price.base, `assets.${a.symbol}.price.base: "${a.price.base}" must be an asset listed before ${a.symbol}`)
      : undefined;
    const token = a.token
      ? MockERC20__factory.connect(a.token, signer)
      : a.symbol === cfg.wrappedNative && a.decimals === 18
        ? ((await new MockWETH__factory(signer).deploy()) as unknown as MockERC20)
        : await new MockERC20__factory(signer).deploy(a.name, a.symbol, a.decimals);
    const feed = a.price.feed
      ? MockAggregator__factory.connect(a.price.feed, signer)
      : await new MockAggregator__factory(signer).deploy(a.price.decimals, a.price.initial!);
    out[a.symbol] = { token, feed, baseFeed: base?.feed, config: a };
  }
  return out;
}

/**
 * The deployed asset `symbol`, or a ConfigError with `message`. parseKeelConfig checks these references; a KeelConfig
 * built by hand is checked here.
 */
function listedAsset(assets: Record<string, KeelAsset>, symbol: string, message: string): KeelAsset {
  const asset = Object.hasOwn(assets, symbol) ? assets[symbol] : undefined;
  if (!asset) throw new ConfigError(message);
  return asset;
}

/** The engine listing call for one asset, with ρ against every asset listed before it. */
async function listAsset(keel: Keel, asset: AssetConfig): Promise<void> {
  const listed = keel.config.assets.slice(0, keel.config.assets.indexOf(asset));
  const entry = keel.assets[asset.symbol]!;
  const primary = await feedParams(entry.feed, asset.price.heartbeat);
  const base = entry.baseFeed
    ? await feedParams(entry.baseFeed, keel.config.assets.find((a) => a.symbol === asset.price.base)!.price.heartbeat)
    : { aggregator: ZeroAddress, heartbeat: 0, decimals: 0, minAnswer: 0, maxAnswer: 0 };
  const tx = await keel.engine.listAsset(await entry.token.getAddress(), {
    engine: { stabilityFee: asset.stabilityFee, debtCeiling: asset.debtCeiling, supplyCap: asset.supplyCap },
    feed: { primary, base },
    risk: asset.risk,
    correlations: listed.map((other) => keel.config.correlations.get(pairKey(other.symbol, asset.symbol))!),
  });
  await tx.wait();
}

/** A feed's oracle configuration, with the aggregator's clamp bounds read from chain when it exposes them. */
async function feedParams(feed: MockAggregator, heartbeat: number): Promise<IPriceOracle.FeedStruct> {
  const address = await feed.getAddress();
  let minAnswer = 0n;
  let maxAnswer = INT192_MAX;
  try {
    // Chainlink proxies and our mocks both expose aggregator(); OCR aggregators expose min/maxAnswer().
    const underlying = MockAggregator__factory.connect(await feed.aggregator(), feed.runner);
    minAnswer = await underlying.minAnswer();
    maxAnswer = await underlying.maxAnswer();
  } catch {
    // Feeds without an OCR aggregator behind them have no clamp: keep the widest bounds.
  }
  return { aggregator: address, heartbeat, decimals: Number(await feed.decimals()), minAnswer, maxAnswer };
}
