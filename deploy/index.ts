/**
 * `deployKeel(signer, config?)`: deploys and wires every Keel contract, lists the configured assets (deploying
 * mock tokens and feeds where the config names none), hands governance to the timelock, and returns typed handles:
 * the steps of deploy/plan.ts sent one after the other. Used by every test (through loadFixture) and every script;
 * `npm run deploy` runs the same plan resumably (deploy/resumable.ts).
 */
import type { Signer } from "ethers";
import {
  FlashLiquidator__factory,
  KeelAccessManager__factory,
  KeelTimelock__factory,
  KeelUSD__factory,
  Lens__factory,
  MockAMM__factory,
  MockAggregator__factory,
  MockERC20__factory,
  PegStabilityModule__factory,
  PositionManager__factory,
  PositionNFT__factory,
  PriceOracle__factory,
  RiskModel__factory,
  SavingsKUSD__factory,
  SurplusBuffer__factory,
  VaultEngine__factory,
  VolatilityOracle__factory,
} from "../typechain-types";
import { ConfigError, parseKeelConfig, type KeelConfig, type RawKeelConfig } from "../src/client/config";
import { localConfig } from "./networks/local";
import { ROLES } from "./governance";
import { planDeployment, type PlannedAddresses } from "./plan";
import { preflight } from "./preflight";
import type { Keel, KeelAsset } from "./keel";

export { localConfig, parseKeelConfig, ConfigError, ROLES };
export type { RawKeelConfig, KeelConfig, Keel, KeelAsset };

export async function deployKeel(signer: Signer, config: RawKeelConfig | KeelConfig = localConfig): Promise<Keel> {
  const cfg = isParsed(config) ? config : parseKeelConfig(config);
  const provider = signer.provider;
  if (!provider) throw new ConfigError("deployKeel: the signer has no provider");
  await preflight(cfg, provider);
  const deploymentBlock = await provider.getBlockNumber();
  const plan = planDeployment(cfg, await signer.getAddress(), await signer.getNonce("pending"));
  for (const step of plan.steps) {
    const tx = await signer.sendTransaction(await step.build(provider));
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) throw new ConfigError(`deployKeel: step ${step.id} (${step.label}) failed`);
    if (tx.nonce !== plan.firstNonce + plan.steps.indexOf(step)) {
      throw new ConfigError(`deployKeel: step ${step.id} was sent with nonce ${tx.nonce}, not its planned one (another sender on this key?)`);
    }
  }
  return keelAt(plan.addresses, cfg, signer, deploymentBlock);
}

/** Typed handles on a planned (and sent) deployment's addresses. */
export function keelAt(at: PlannedAddresses, cfg: KeelConfig, runner: Signer, deploymentBlock: number): Keel {
  const c = at.contracts;
  const assets: Record<string, KeelAsset> = {};
  for (const a of cfg.assets) {
    const planned = at.assets[a.symbol]!;
    assets[a.symbol] = {
      token: MockERC20__factory.connect(planned.token, runner),
      feed: MockAggregator__factory.connect(planned.feed, runner),
      ...(planned.baseFeed ? { baseFeed: MockAggregator__factory.connect(planned.baseFeed, runner) } : {}),
      config: a,
    };
  }
  return {
    engine: VaultEngine__factory.connect(c.engine, runner),
    risk: RiskModel__factory.connect(c.risk, runner),
    oracle: PriceOracle__factory.connect(c.oracle, runner),
    vol: VolatilityOracle__factory.connect(c.vol, runner),
    kusd: KeelUSD__factory.connect(c.kusd, runner),
    nft: PositionNFT__factory.connect(c.nft, runner),
    surplus: SurplusBuffer__factory.connect(c.surplus, runner),
    manager: PositionManager__factory.connect(c.manager, runner),
    lens: Lens__factory.connect(c.lens, runner),
    flashLiquidator: FlashLiquidator__factory.connect(c.flashLiquidator, runner),
    amm: MockAMM__factory.connect(c.amm, runner),
    ammShallow: MockAMM__factory.connect(c.ammShallow, runner),
    psm: PegStabilityModule__factory.connect(c.psm, runner),
    savings: SavingsKUSD__factory.connect(c.savings, runner),
    accessManager: KeelAccessManager__factory.connect(c.accessManager, runner),
    timelock: KeelTimelock__factory.connect(c.timelock, runner),
    assets,
    config: cfg,
    deploymentBlock,
  };
}

function isParsed(c: RawKeelConfig | KeelConfig): c is KeelConfig {
  return c.correlations instanceof Map;
}
