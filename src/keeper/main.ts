/**
 * Wires a keeper from its config: manifest → typed contracts, RPC, index with its checkpoint, sender, metrics
 * server, webhook. `startKeeper` is what `npm run keeper` and the keeper tests run.
 */
import type { Server } from "node:http";
import { Wallet } from "ethers";
import { connectKeel, readManifest } from "../client/manifest";
import type { KeeperConfig } from "./config";
import { Keeper, type PassReport } from "./keeper";
import { createLogger, type Logger } from "./log";
import { KeeperMetrics, serveMetrics } from "./metrics";
import { PositionIndex } from "./positionIndex";
import { PrivateRelay } from "./privateRelay";
import { DEFAULT_RPC, Rpc } from "./rpc";
import { TxSender } from "./sender";
import { Webhook } from "./webhook";

export interface RunningKeeper {
  keeper: Keeper;
  metrics: KeeperMetrics;
  rpc: Rpc;
  index: PositionIndex;
  sender: TxSender;
  /** The metrics server's port, when serving. */
  metricsPort?: number;
  /** Resolves when the loop ends (after stop(), or at once with --once, with its reports). */
  done: Promise<PassReport[]>;
  stop(): Promise<void>;
}

export async function startKeeper(config: KeeperConfig, log: Logger = createLogger({ level: config.logLevel })): Promise<RunningKeeper> {
  const manifest = readManifest(config.deployment);
  const rpc = Rpc.connect(config.rpc, manifest.chainId, DEFAULT_RPC);
  const metrics = new KeeperMetrics();
  rpc.onError = () => metrics.rpcErrors.inc();
  const wallet = new Wallet(config.privateKey ?? Wallet.createRandom().privateKey, rpc.provider);
  const keel = await connectKeel(manifest, rpc.provider);
  const shard = config.keeper.shard;
  const instanceLog = log.child({ shard: `${shard.index}/${shard.count}`, keeper: wallet.address, dryRun: config.dryRun });
  const index = new PositionIndex(
    rpc,
    {
      chainId: manifest.chainId,
      engine: manifest.contracts.engine.address,
      deploymentBlock: manifest.deploymentBlock,
      confirmations: config.confirmations,
      logChunk: config.logChunk,
      checkpointPath:
        config.checkpoint ??
        `.keeper/${manifest.chainId}-${manifest.contracts.engine.address.toLowerCase()}-${shard.index}of${shard.count}.json`,
    },
    instanceLog,
  );
  const relay = config.privateRpc ? new PrivateRelay(config.privateRpc, manifest.chainId) : undefined;
  const sender = new TxSender(rpc, wallet, config.sender, instanceLog, relay);
  sender.onRelayed = (via) => metrics.privateRelayIncluded.inc({ path: via });
  const webhook = config.webhook ? new Webhook(config.webhook, instanceLog) : undefined;
  const keeper = new Keeper({ rpc, keel, index, sender, metrics, log: instanceLog, webhook, options: config.keeper });
  let server: Server | undefined;
  if (config.metricsPort !== undefined) server = await serveMetrics(metrics, () => keeper.health(), config.metricsPort);
  const address = server?.address();
  const controller = new AbortController();
  // The relay's host only: a relay URL often carries an access key in its path or query.
  const privateRpc = config.privateRpc && { host: new URL(config.privateRpc.url).host, fallbackBlocks: config.privateRpc.fallbackBlocks };
  instanceLog.info({ rpc: config.rpc, privateRpc, deployment: config.deployment, once: config.once }, "keeper starting");
  const done = (config.once ? keeper.runOnce() : keeper.run(controller.signal).then(() => [])).finally(() => {
    server?.close();
    rpc.destroy();
    relay?.destroy();
  });
  return {
    keeper,
    metrics,
    rpc,
    index,
    sender,
    metricsPort: typeof address === "object" && address ? address.port : undefined,
    done,
    async stop() {
      controller.abort();
      await done.catch(() => undefined);
    },
  };
}
