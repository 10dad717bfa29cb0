/**
 * `npm run keeper -- --rpc <url> --deployment <file> [--dry-run] [--once] [--metrics-port N] [--webhook URL]
 *   [--shard i/n] [--config file.json] [--checkpoint path] [--min-profit kUSD] [--log-level level]
 *   [--private-rpc URL [--private-fallback-blocks N]]`
 *
 * The key comes from KEEPER_PRIVATE_KEY and is never logged. With --private-rpc, liquidations are sent to that relay
 * (everything is read from --rpc) and broadcast through --rpc when not included after N blocks (default 3). Logs are JSON lines on stdout. With --once it runs one
 * complete pass (index, sweep, act on everything actionable, wait for receipts) and exits 0; otherwise it runs until
 * SIGINT/SIGTERM. A failure exits 2 for a bad flag or config, 1 otherwise (scripts/lib/main.ts).
 */
import { loadKeeperConfig } from "../src/keeper/config";
import { createLogger } from "../src/keeper/log";
import { startKeeper } from "../src/keeper/main";
import { parseFlags } from "./lib/args";
import { runMain } from "./lib/main";

async function main(): Promise<number> {
  const { values } = parseFlags({
    options: {
      rpc: { type: "string" },
      deployment: { type: "string" },
      config: { type: "string" },
      checkpoint: { type: "string" },
      "dry-run": { type: "boolean" },
      once: { type: "boolean" },
      "metrics-port": { type: "string" },
      webhook: { type: "string" },
      shard: { type: "string" },
      "min-profit": { type: "string" },
      "log-level": { type: "string" },
      "private-rpc": { type: "string" },
      "private-fallback-blocks": { type: "string" },
    },
  });
  const config = loadKeeperConfig(values);
  const log = createLogger({ level: config.logLevel });
  const running = await startKeeper(config, log);
  const stop = (): void => {
    log.info("stopping");
    void running.stop();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const reports = await running.done;
  if (config.once) {
    const last = reports[reports.length - 1];
    log.info({ passes: reports.length, last }, "one pass complete");
  }
  return 0;
}

runMain("keeper", main);
