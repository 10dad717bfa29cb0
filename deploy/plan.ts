/**
 * A Keel deployment as an ordered list of transactions, one nonce each, from a deployer and its first nonce. Every
 * contract's address is then known before anything is sent (the address of a creation is fixed by the sender and
 * its nonce), which is what lets kUSD, the engine, the risk model, the volatility oracle and the NFT name each other
 * in their constructors, and what lets an interrupted deployment resume: step i is always nonce `firstNonce + i`.
 *
 * Both ways of deploying run this plan: `deployKeel` (in-process, tests and scripts) sends the steps one after the
 * other; `npm run deploy` (deploy/resumable.ts) journals each signed step before it is broadcast.
 */
import { getCreateAddress, type Provider, ZeroAddress } from "ethers";
import {
  EngineGovernance__factory,
  FlashLiquidator__factory,
  KeelAccessManager__factory,
  KeelTimelock__factory,
  KeelUSD__factory,
  Lens__factory,
  Liquidation__factory,
  MockAMM__factory,
  MockAggregator__factory,
  MockERC20__factory,
  MockWETH__factory,
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
import type { IPriceOracle } from "../typechain-types/contracts/interfaces/IPriceOracle";
import { ConfigError, pairKey, type AssetConfig, type KeelConfig } from "../src/client/config";
import type { ContractName } from "../src/client/manifest";
import { governanceCalls, handOverCalls } from "./governance";

/** The transaction of one step: a creation (no `to`) or a call. */
export interface StepTx {
  to?: string;
  data: string;
}

export interface Step {
  /** Stable across runs of the same config: the journal's key. */
  id: string;
  /** What the step does, in words, for listings and logs. */
  label: string;
  /** Its transaction; called only once the steps before it are mined (a listing reads its feed from chain). */
  build(provider: Provider): Promise<StepTx>;
}

/** Where each contract and each deployed mock lands. */
export interface PlannedAddresses {
  contracts: Record<ContractName, string>;
  liquidationLibrary: string;
  governanceLibrary: string;
  /** Per asset symbol: its token and feed, deployed mocks or the config's existing ones. */
  assets: Record<string, { token: string; feed: string; baseFeed?: string }>;
}

export interface Plan {
  deployer: string;
  firstNonce: number;
  steps: Step[];
  addresses: PlannedAddresses;
}

/** Int192 max: what an aggregator without bounds is treated as allowing. */
const INT192_MAX = 2n ** 191n - 1n;

/** The deployment of `cfg` by `deployer` starting at `firstNonce`. Pure: reads nothing until a step is built. */
export function planDeployment(cfg: KeelConfig, deployer: string, firstNonce: number): Plan {
  const steps: Step[] = [];
  const creations = new Map<string, string>();
  const create = (id: string, label: string, build: () => Promise<StepTx>): string => {
    const address = getCreateAddress({ from: deployer, nonce: firstNonce + steps.length });
    steps.push({ id, label, build });
    creations.set(id, address);
    return address;
  };
  // Every creation's address is fixed by its position in this list, so constructors below may name contracts
  // created after them. Reordering creations changes every address: the journal of a run refuses that.
  const at = (i: number): string => getCreateAddress({ from: deployer, nonce: firstNonce + i });
  const [accessManager, timelock, oracle, liquidationLibrary, governanceLibrary, kusd, surplus, nft, vol, risk, engine] =
    Array.from({ length: 11 }, (_, i) => at(i)) as [string, string, string, string, string, string, string, string, string, string, string];
  const libraries = {
    "contracts/core/Liquidation.sol:Liquidation": liquidationLibrary,
    "contracts/core/EngineGovernance.sol:EngineGovernance": governanceLibrary,
  };
  const proposers = cfg.governance.proposers ?? [deployer];
  const executors = cfg.governance.executors ?? [deployer];

  create("accessManager", "KeelAccessManager (admin: the deployer until the hand-over)", () =>
    creation(new KeelAccessManager__factory().getDeployTransaction(deployer)),
  );
  create("timelock", `KeelTimelock (delay ${cfg.governance.timelockDelay}s)`, () =>
    creation(new KeelTimelock__factory().getDeployTransaction(cfg.governance.timelockDelay, proposers, executors, ZeroAddress)),
  );
  create("oracle", "PriceOracle", () => creation(new PriceOracle__factory().getDeployTransaction(accessManager)));
  create("liquidationLibrary", "Liquidation library", () => creation(new Liquidation__factory().getDeployTransaction()));
  create("governanceLibrary", "EngineGovernance library", () => creation(new EngineGovernance__factory().getDeployTransaction()));
  create("kusd", "KeelUSD", () =>
    creation(new KeelUSD__factory().getDeployTransaction(accessManager, engine, surplus, cfg.flashMint.fee, cfg.flashMint.cap)),
  );
  create("surplus", "SurplusBuffer", () => creation(new SurplusBuffer__factory().getDeployTransaction(accessManager, kusd)));
  create("nft", "PositionNFT", () => creation(new PositionNFT__factory().getDeployTransaction(engine)));
  create("vol", "VolatilityOracle", () =>
    creation(new VolatilityOracle__factory().getDeployTransaction(accessManager, risk, oracle, cfg.volatility)),
  );
  create("risk", "RiskModel", () =>
    creation(
      new RiskModel__factory().getDeployTransaction(accessManager, engine, oracle, vol, cfg.confidence.zMaintenance, cfg.confidence.zInitial),
    ),
  );
  create("engine", "VaultEngine", () =>
    creation(
      new VaultEngine__factory(libraries).getDeployTransaction(accessManager, kusd, nft, risk, oracle, surplus, {
        crossStabilityFee: cfg.cross.stabilityFee,
        crossDebtCeiling: cfg.cross.debtCeiling,
        globalDebtCeiling: cfg.globalDebtCeiling,
        dust: cfg.dust,
        liquidation: cfg.liquidation,
      }),
    ),
  );

  const assets: PlannedAddresses["assets"] = {};
  for (const a of cfg.assets) {
    const base = a.price.base ? assets[a.price.base] : undefined;
    if (a.price.base && !base) {
      throw new ConfigError(`assets.${a.symbol}.price.base: "${a.price.base}" must be an asset listed before ${a.symbol}`);
    }
    const token =
      a.token ??
      create(`token:${a.symbol}`, `mock token ${a.symbol} (${a.decimals} decimals)`, () =>
        creation(
          a.symbol === cfg.wrappedNative && a.decimals === 18
            ? new MockWETH__factory().getDeployTransaction()
            : new MockERC20__factory().getDeployTransaction(a.name, a.symbol, a.decimals),
        ),
      );
    const feed =
      a.price.feed ??
      create(`feed:${a.symbol}`, `mock feed ${a.symbol}`, () =>
        creation(new MockAggregator__factory().getDeployTransaction(a.price.decimals, a.price.initial!)),
      );
    assets[a.symbol] = { token, feed, ...(base ? { baseFeed: base.feed } : {}) };
  }
  const weth = assets[cfg.wrappedNative];
  if (!weth) throw new ConfigError(`wrappedNative: "${cfg.wrappedNative}" is not an asset`);
  const manager = create("manager", "PositionManager", () =>
    creation(new PositionManager__factory().getDeployTransaction(engine, nft, kusd, weth.token)),
  );
  // The PSM and the savings vault are created after the Lens; their addresses are already known.
  const psmAt = at(steps.length + 3);
  const savingsAt = at(steps.length + 4);
  const lens = create("lens", "Lens", () => creation(new Lens__factory().getDeployTransaction(engine, risk, oracle, nft, psmAt, savingsAt)));
  const flashLiquidator = create("flashLiquidator", "FlashLiquidator", () =>
    creation(new FlashLiquidator__factory().getDeployTransaction(engine, risk, kusd)),
  );
  const amm = create("amm", "MockAMM (the local swap venue)", () => creation(new MockAMM__factory().getDeployTransaction(kusd, cfg.amm.feeBps)));
  const reserve = assets[cfg.peg.reserve];
  if (!reserve) throw new ConfigError(`peg.reserve: "${cfg.peg.reserve}" is not an asset`);
  const { feeIn, feeOut, debtCeiling, freezeThreshold } = cfg.peg;
  const psm = create("psm", `PegStabilityModule (${cfg.peg.reserve})`, () =>
    creation(
      new PegStabilityModule__factory().getDeployTransaction(accessManager, kusd, reserve.token, oracle, surplus, {
        feeIn,
        feeOut,
        debtCeiling,
        freezeThreshold,
      }),
    ),
  );
  const savings = create("savings", "SavingsKUSD (sKUSD)", () =>
    creation(new SavingsKUSD__factory().getDeployTransaction(accessManager, kusd, surplus, cfg.savings.rate)),
  );
  if (psm !== psmAt || savings !== savingsAt) throw new Error("planDeployment: the PSM or the savings vault is not where the Lens expects it");
  // The second swap venue is the last creation, so adding it moved no other contract's address.
  const ammShallow = create("ammShallow", "MockAMM (the shallow local swap venue)", () =>
    creation(new MockAMM__factory().getDeployTransaction(kusd, cfg.ammShallow.feeBps)),
  );

  const contracts: Record<ContractName, string> = {
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
    ammShallow,
    psm,
    savings,
    accessManager,
    timelock,
  };
  const early = { accessManager, timelock, oracle, liquidationLibrary, governanceLibrary, kusd, surplus, nft, vol, risk, engine };
  for (const [name, address] of Object.entries(early)) {
    if (creations.get(name) !== address) throw new Error(`planDeployment: ${name} is not at its creation index`);
  }

  // Governance: roles and their functions, then the deployer lists the assets and registers the PSM as a kUSD
  // minter under a RISK role it gives back, then it renounces ADMIN: from there on the timelock governs.
  const call = (id: string, label: string, to: string, build: (provider: Provider) => Promise<string> | string): void => {
    steps.push({ id, label, build: async (provider) => ({ to, data: await build(provider) }) });
  };
  for (const c of governanceCalls(contracts, cfg.governance.guardian ?? deployer, deployer)) call(c.id, c.label, accessManager, () => c.data);
  if (cfg.sequencer) {
    const { uptimeFeed, gracePeriod } = cfg.sequencer;
    call("sequencer", "PriceOracle.setSequencer", oracle, () =>
      PriceOracle__factory.createInterface().encodeFunctionData("setSequencer", [{ uptimeFeed, gracePeriod }]),
    );
  }
  for (const a of cfg.assets) {
    call(`list:${a.symbol}`, `VaultEngine.listAsset(${a.symbol})`, engine, (provider) => listingData(cfg, assets, a, provider));
  }
  call("pegModule:psm", "KeelUSD.setPegModule(psm): the PSM mints and burns kUSD", kusd, () =>
    KeelUSD__factory.createInterface().encodeFunctionData("setPegModule", [psm, true]),
  );
  for (const c of handOverCalls(deployer)) call(c.id, c.label, accessManager, () => c.data);

  return {
    deployer,
    firstNonce,
    steps,
    addresses: { contracts, liquidationLibrary, governanceLibrary, assets },
  };
}

/** A contract factory's deployment transaction as a step's transaction. */
async function creation(tx: Promise<{ data: string }>): Promise<StepTx> {
  return { data: (await tx).data };
}

/** The engine's listing call for one asset, with ρ against every asset listed before it. */
async function listingData(cfg: KeelConfig, assets: PlannedAddresses["assets"], asset: AssetConfig, provider: Provider): Promise<string> {
  const listed = cfg.assets.slice(0, cfg.assets.indexOf(asset));
  const entry = assets[asset.symbol]!;
  const primary = await feedParams(entry.feed, asset.price.heartbeat, provider);
  const base = entry.baseFeed
    ? await feedParams(entry.baseFeed, cfg.assets.find((a) => a.symbol === asset.price.base)!.price.heartbeat, provider)
    : { aggregator: ZeroAddress, heartbeat: 0, decimals: 0, minAnswer: 0, maxAnswer: 0 };
  return VaultEngine__factory.createInterface().encodeFunctionData("listAsset", [
    entry.token,
    {
      engine: { stabilityFee: asset.stabilityFee, debtCeiling: asset.debtCeiling, supplyCap: asset.supplyCap },
      feed: { primary, base },
      risk: asset.risk,
      correlations: listed.map((other) => cfg.correlations.get(pairKey(other.symbol, asset.symbol))!),
    },
  ]);
}

/** A feed's oracle configuration, with the aggregator's clamp bounds read from chain when it exposes them. */
async function feedParams(address: string, heartbeat: number, provider: Provider): Promise<IPriceOracle.FeedStruct> {
  const feed = MockAggregator__factory.connect(address, provider);
  let minAnswer = 0n;
  let maxAnswer = INT192_MAX;
  try {
    // Chainlink proxies and our mocks both expose aggregator(); OCR aggregators expose min/maxAnswer().
    const underlying = MockAggregator__factory.connect(await feed.aggregator(), provider);
    minAnswer = await underlying.minAnswer();
    maxAnswer = await underlying.maxAnswer();
  } catch {
    // Feeds without an OCR aggregator behind them have no clamp: keep the widest bounds.
  }
  return { aggregator: address, heartbeat, decimals: Number(await feed.decimals()), minAnswer, maxAnswer };
}
