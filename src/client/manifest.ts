/**
 * The deployment manifest `deployments/<network>.json` (docs/spec.md §8, pinned): chain id, every contract's address
 * and ABI under the names `deployKeel` returns, and each asset's token and feed. The keeper, the CLI and a web
 * app read it; `connectKeel` turns it back into typed TypeChain handles.
 */
import { readFileSync } from "node:fs";
import { type ContractRunner, type InterfaceAbi, isAddress } from "ethers";
import { z } from "zod";
import { KeelError } from "../units/error";
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
} from "../../typechain-types";

/** Every contract of a deployment, by the name `deployKeel` gives it, with the factory that types it. */
export const FACTORIES = {
  engine: VaultEngine__factory,
  risk: RiskModel__factory,
  oracle: PriceOracle__factory,
  vol: VolatilityOracle__factory,
  kusd: KeelUSD__factory,
  nft: PositionNFT__factory,
  surplus: SurplusBuffer__factory,
  manager: PositionManager__factory,
  lens: Lens__factory,
  flashLiquidator: FlashLiquidator__factory,
  amm: MockAMM__factory,
  ammShallow: MockAMM__factory,
  psm: PegStabilityModule__factory,
  savings: SavingsKUSD__factory,
  accessManager: KeelAccessManager__factory,
  timelock: KeelTimelock__factory,
} as const;

export type ContractName = keyof typeof FACTORIES;

/** The deployment's swap venues (ISwapVenue, constant-product MockAMMs locally): where a flash liquidation may sell. */
export const SWAP_VENUES = ["amm", "ammShallow"] as const satisfies readonly ContractName[];
export type SwapVenueName = (typeof SWAP_VENUES)[number];
type Handles = { [K in ContractName]: ReturnType<(typeof FACTORIES)[K]["connect"]> };

export class ManifestError extends KeelError {
  override name = "ManifestError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("MANIFEST", message, options);
  }
}

const address = z.string().refine((a) => isAddress(a), { message: "not an address" });
const manifestSchema = z.object({
  chainId: z.number().int().positive(),
  deploymentBlock: z.number().int().nonnegative(),
  contracts: z.object(
    Object.fromEntries(
      Object.keys(FACTORIES).map((name) => [name, z.object({ address, abi: z.array(z.unknown()) })]),
    ) as Record<ContractName, z.ZodObject<{ address: typeof address; abi: z.ZodArray<z.ZodUnknown> }>>,
  ),
  assets: z.record(
    z.string(),
    z.object({ token: address, feed: address, decimals: z.number().int().min(0).max(36), baseFeed: address.optional() }),
  ),
  /** Who governs, as the deployment's config named them (written by `npm run deploy`; the role audit reads it). */
  governance: z
    .object({ deployer: address, guardian: address, proposers: z.array(address), executors: z.array(address) })
    .optional(),
});

export type Manifest = z.output<typeof manifestSchema>;

/** Reads and validates a manifest file; errors name the file and the first bad field. */
export function readManifest(path: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ManifestError(`${path}: cannot read the deployment manifest (${(e as Error).message})`, { cause: e });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ManifestError(`${path}: ${issue.path.join(".") || "(root)"}: ${issue.message}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** A deployment's contracts and assets as typed handles. */
export interface KeelConnection extends Handles {
  manifest: Manifest;
  assets: Record<string, { token: ReturnType<typeof MockERC20__factory.connect>; feed: ReturnType<typeof MockAggregator__factory.connect>; decimals: number }>;
}

/**
 * Typed handles on a manifest's contracts through `runner` (a provider or a signer). Checks that the runner's
 * chain is the manifest's and that the engine has code, so a wrong RPC or file fails here with a clear message.
 */
export async function connectKeel(manifest: Manifest, runner: ContractRunner): Promise<KeelConnection> {
  const provider = runner.provider;
  if (!provider) throw new ManifestError("connectKeel: the runner has no provider");
  const chainId = Number((await provider.getNetwork()).chainId);
  if (chainId !== manifest.chainId) {
    throw new ManifestError(`connectKeel: the RPC is chain ${chainId}, the manifest is for chain ${manifest.chainId}`);
  }
  const engine = manifest.contracts.engine.address;
  if ((await provider.getCode(engine)) === "0x") {
    throw new ManifestError(`connectKeel: no contract at the engine address ${engine} on chain ${chainId}`);
  }
  const handles = {} as Record<string, unknown>;
  for (const name of Object.keys(FACTORIES) as ContractName[]) {
    handles[name] = (FACTORIES[name] as { connect(a: string, r: ContractRunner): unknown }).connect(
      manifest.contracts[name].address,
      runner,
    );
  }
  const assets: KeelConnection["assets"] = {};
  for (const [symbol, a] of Object.entries(manifest.assets)) {
    assets[symbol] = {
      token: MockERC20__factory.connect(a.token, runner),
      feed: MockAggregator__factory.connect(a.feed, runner),
      decimals: a.decimals,
    };
  }
  return { ...(handles as Handles), manifest, assets };
}

/** The ABI of a contract as the manifest stores it (for tools that build their own interface). */
export const abiOf = (manifest: Manifest, name: ContractName): InterfaceAbi => manifest.contracts[name].abi as InterfaceAbi;
