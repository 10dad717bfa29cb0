/**
 * A keeper wired to a deployment the caller already holds (a `deployKeel` result) over any provider, the
 * in-process Hardhat network included: the same parts `npm run keeper` runs (index, evaluation, strategy, sender),
 * without a manifest file, a checkpoint or a metrics server. `npm run demo` and the stress replays drive it pass by
 * pass with `runOnce()`.
 */
import type { Provider, Wallet } from "ethers";
import type { Keel } from "../deploy";
import { buildManifest } from "../deploy/manifest";
import { connectKeel, type KeelConnection } from "../src/client/manifest";
import { DEFAULT_KEEPER, Keeper, type KeeperOptions } from "../src/keeper/keeper";
import { createLogger, type Logger } from "../src/keeper/log";
import { KeeperMetrics } from "../src/keeper/metrics";
import { PositionIndex } from "../src/keeper/positionIndex";
import { Rpc } from "../src/keeper/rpc";
import { DEFAULT_SENDER, type SenderOptions, TxSender } from "../src/keeper/sender";

export interface InProcessKeeperOptions {
  keel: Keel;
  /** The keeper's account; its provider is the one the keeper reads through. */
  wallet: Wallet;
  keeper?: Partial<KeeperOptions>;
  sender?: Partial<SenderOptions>;
  /** Silent by default. */
  log?: Logger;
}

export interface InProcessKeeper {
  keeper: Keeper;
  /** The deployment as the keeper sees it (typed handles through the keeper's provider). */
  keel: KeelConnection;
  metrics: KeeperMetrics;
  index: PositionIndex;
  sender: TxSender;
  rpc: Rpc;
}

/** Builds a keeper for `keel` that signs with `wallet`; it indexes from the deployment block on its first pass. */
export async function createInProcessKeeper(o: InProcessKeeperOptions): Promise<InProcessKeeper> {
  const provider: Provider | null = o.wallet.provider;
  if (!provider) throw new Error("createInProcessKeeper: the wallet has no provider");
  const manifest = await buildManifest(o.keel);
  const rpc = new Rpc(provider, manifest.chainId);
  const log = o.log ?? createLogger({ level: "silent" });
  const keel = await connectKeel(manifest, provider);
  const index = new PositionIndex(
    rpc,
    {
      chainId: manifest.chainId,
      engine: manifest.contracts.engine.address,
      deploymentBlock: manifest.deploymentBlock,
      // The in-process chain never reorgs: every block is final at once.
      confirmations: 0,
      logChunk: 10_000,
    },
    log,
  );
  const sender = new TxSender(rpc, o.wallet, { ...DEFAULT_SENDER, pollMs: 10, ...o.sender }, log);
  const metrics = new KeeperMetrics();
  const keeper = new Keeper({ rpc, keel, index, sender, metrics, log, options: { ...DEFAULT_KEEPER, ...o.keeper } });
  return { keeper, keel, metrics, index, sender, rpc };
}
