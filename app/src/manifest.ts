/**
 * The deployment manifest (docs/spec.md §8, pinned), fetched at run time from `deployments/<network>.json` next to the
 * app, so one build serves any deployment. ABIs come from the manifest; their types from TypeChain (type-only
 * imports: nothing of ethers reaches the bundle).
 */
import { type Address, getAddress, isAddress } from "viem";
import { KeelError } from "../../src/units/error";
import type {
  KeelUSD__factory,
  Lens__factory,
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

export interface Contract<A> {
  address: Address;
  abi: A;
}

export interface AssetInfo {
  symbol: string;
  token: Address;
  feed: Address;
  decimals: number;
}

/** The contracts the app talks to, typed, and the listed assets by symbol. */
export interface Keel {
  chainId: number;
  deploymentBlock: bigint;
  engine: Contract<typeof VaultEngine__factory.abi>;
  lens: Contract<typeof Lens__factory.abi>;
  manager: Contract<typeof PositionManager__factory.abi>;
  kusd: Contract<typeof KeelUSD__factory.abi>;
  nft: Contract<typeof PositionNFT__factory.abi>;
  vol: Contract<typeof VolatilityOracle__factory.abi>;
  risk: Contract<typeof RiskModel__factory.abi>;
  /** The peg stability module, the savings vault, the surplus buffer that pays its interest and the price oracle that freezes the module (docs/spec.md §10); absent from manifests written before them. */
  peg?: {
    psm: Contract<typeof PegStabilityModule__factory.abi>;
    savings: Contract<typeof SavingsKUSD__factory.abi>;
    surplus: Contract<typeof SurplusBuffer__factory.abi>;
    oracle: Contract<typeof PriceOracle__factory.abi>;
  };
  assets: AssetInfo[];
  /** Block explorer base URL when the manifest names one (`explorer`), without a trailing slash. */
  explorer?: string;
}

export class ManifestError extends KeelError {
  override name = "ManifestError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("MANIFEST", message, options);
  }
}

/** Fetches and checks the manifest; errors name the URL and the first bad field. */
export async function loadManifest(url: string): Promise<Keel> {
  let raw: unknown;
  try {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) throw new ManifestError(`HTTP ${response.status}`);
    raw = await response.json();
  } catch (e) {
    throw new ManifestError(`${url}: cannot read the deployment manifest (${(e as Error).message})`);
  }
  return parseManifest(raw, url);
}

export function parseManifest(raw: unknown, where: string): Keel {
  const bad = (field: string): never => {
    throw new ManifestError(`${where}: ${field} is missing or malformed`);
  };
  const m = raw as { chainId?: unknown; deploymentBlock?: unknown; explorer?: unknown; contracts?: Record<string, { address?: unknown; abi?: unknown }>; assets?: Record<string, { token?: unknown; feed?: unknown; decimals?: unknown }> };
  if (typeof m?.chainId !== "number" || !Number.isInteger(m.chainId) || m.chainId <= 0) bad("chainId");
  const addr = (v: unknown, field: string): Address => (typeof v === "string" && isAddress(v) ? getAddress(v) : bad(field));
  const contract = (name: "engine" | "lens" | "manager" | "kusd" | "nft" | "vol" | "risk" | "psm" | "savings" | "surplus" | "oracle"): Contract<never> => {
    const c = m.contracts?.[name];
    if (!c || !Array.isArray(c.abi)) bad(`contracts.${name}`);
    return { address: addr(c?.address, `contracts.${name}.address`), abi: c!.abi as never };
  };
  const assets = Object.entries(m.assets ?? {}).map(([symbol, a]) => {
    if (typeof a.decimals !== "number" || a.decimals < 0 || a.decimals > 36) bad(`assets.${symbol}.decimals`);
    return { symbol, token: addr(a.token, `assets.${symbol}.token`), feed: addr(a.feed, `assets.${symbol}.feed`), decimals: a.decimals as number };
  });
  // The PSM and the savings vault come together (with the surplus buffer that pays interest) or not at all.
  const hasPeg = m.contracts?.psm !== undefined || m.contracts?.savings !== undefined;
  const peg = hasPeg ? { psm: contract("psm"), savings: contract("savings"), surplus: contract("surplus"), oracle: contract("oracle") } : undefined;
  const explorer = typeof m.explorer === "string" && /^https?:\/\//.test(m.explorer) ? m.explorer.replace(/\/+$/, "") : undefined;
  return {
    chainId: m.chainId as number,
    deploymentBlock: BigInt(typeof m.deploymentBlock === "number" ? m.deploymentBlock : 0),
    engine: contract("engine"),
    lens: contract("lens"),
    manager: contract("manager"),
    kusd: contract("kusd"),
    nft: contract("nft"),
    vol: contract("vol"),
    risk: contract("risk"),
    ...(peg ? { peg } : {}),
    assets,
    ...(explorer ? { explorer } : {}),
  };
}

/** The listed asset at `address`, if any. */
export const assetAt = (keel: Keel, address: string): AssetInfo | undefined =>
  keel.assets.find((a) => a.token.toLowerCase() === address.toLowerCase());
