/**
 * Writing the deployment manifest (docs/spec.md §8) from a fresh deployment's handles. Its schema, reading and
 * `connectKeel` live in src/protocol/manifest.ts, which every client shares.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type ContractName, FACTORIES, type Manifest, ManifestError } from "../src/client/manifest";
import type { Keel } from "./keel";

/** The manifest of a deployment: addresses from the handles, ABIs from the TypeChain factories. */
export async function buildManifest(keel: Keel, governance?: Manifest["governance"]): Promise<Manifest> {
  const provider = keel.engine.runner?.provider;
  if (!provider) throw new ManifestError("buildManifest: the deployment's handles have no provider");
  const chainId = Number((await provider.getNetwork()).chainId);
  const contracts = {} as Manifest["contracts"];
  for (const name of Object.keys(FACTORIES) as ContractName[]) {
    contracts[name] = { address: await keel[name].getAddress(), abi: FACTORIES[name].abi as unknown as unknown[] };
  }
  const assets: Manifest["assets"] = {};
  for (const [symbol, a] of Object.entries(keel.assets)) {
    assets[symbol] = {
      token: await a.token.getAddress(),
      feed: await a.feed.getAddress(),
      decimals: a.config.decimals,
      ...(a.baseFeed ? { baseFeed: await a.baseFeed.getAddress() } : {}),
    };
  }
  return { chainId, deploymentBlock: keel.deploymentBlock, contracts, assets, ...(governance ? { governance } : {}) };
}

/** Writes `<dir>/<network>.json` atomically (a reader never sees half a file) and returns its path. */
export async function writeManifest(keel: Keel, network: string, dir = "deployments"): Promise<string> {
  if (!/^[A-Za-z0-9_-]+$/.test(network)) throw new ManifestError(`writeManifest: bad network name "${network}"`);
  const path = join(dir, `${network}.json`);
  writeManifestFile(await buildManifest(keel), path);
  return path;
}

/** Writes a manifest to `path` atomically. */
export function writeManifestFile(manifest: Manifest, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(manifest, null, 2) + "\n");
  renameSync(tmp, path);
}

