/** Prometheus metrics and the health endpoint: GET /metrics (text format), GET /health (JSON, 503 when unhealthy). */
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Registry } from "prom-client";

export class KeeperMetrics {
  readonly registry = new Registry();
  readonly positionsIndexed = this.gauge("keel_keeper_positions_indexed", "Open positions in the index");
  readonly positionsAtRisk = this.gauge("keel_keeper_positions_at_risk", "Positions with HF below the watch level");
  readonly liquidatable = this.gauge("keel_keeper_positions_liquidatable", "Positions Liquidatable at the last sweep");
  readonly positionsUnpriced = this.gauge(
    "keel_keeper_positions_unpriced",
    "Positions with a failing price feed among their collateral at the last sweep",
  );
  readonly positionsUnvalued = this.gauge(
    "keel_keeper_positions_unvalued",
    "Positions that could not be valued at all at the last sweep (their only feeds failing)",
  );
  readonly lagBlocks = this.gauge("keel_keeper_lag_blocks", "Head block minus the last block swept");
  readonly headBlock = this.gauge("keel_keeper_head_block", "Latest block seen");
  readonly sweepSeconds = this.gauge("keel_keeper_sweep_seconds", "Duration of the last health sweep");
  readonly marginCalls = this.counter("keel_keeper_margin_calls_total", "Margin calls sent and mined");
  readonly callsCleared = this.counter("keel_keeper_calls_cleared_total", "Margin calls cleared");
  readonly liquidations = this.counter("keel_keeper_liquidations_total", "Liquidations sent and mined");
  readonly batchSkips = this.counter(
    "keel_keeper_batch_skips_total",
    "Positions a mined flash batch skipped for a reason other than someone else being first",
  );
  readonly alreadyDone = this.counter("keel_keeper_already_done_total", "Actions another party did first");
  readonly profitKusd = this.counter("keel_keeper_profit_kusd_total", "Liquidation profit in kUSD, after gas");
  readonly mirrorMismatches = this.counter(
    "keel_keeper_mirror_mismatches_total",
    "Positions whose locally computed health differed from Lens.healthScan",
  );
  readonly rpcErrors = this.counter("keel_keeper_rpc_errors_total", "Failed RPC attempts");
  readonly txFailures = this.counter("keel_keeper_tx_failures_total", "Transactions that failed or reverted on chain");
  readonly privateRelayIncluded = new Counter({
    name: "keel_keeper_private_relay_included_total",
    help: "Transactions sent to the private relay, by the path that got them included: private, or public after the fallback",
    labelNames: ["path"] as const,
    registers: [this.registry],
  });
  readonly pokes = this.counter("keel_keeper_volatility_pokes_total", "pokeAll transactions mined");
  readonly feeCollections = this.counter("keel_keeper_fee_collections_total", "collectFees transactions mined");

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] });
  }

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }
}

export interface HealthReport {
  healthy: boolean;
  head: number;
  lastSweptBlock: number;
  lagBlocks: number;
  lastSweepAt?: string;
  rpcUp: boolean;
}

/** Serves the metrics and the health report on 127.0.0.1:`port` (0 picks a free port). */
export async function serveMetrics(
  metrics: KeeperMetrics,
  health: () => HealthReport,
  port: number,
  host = "127.0.0.1",
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/metrics") {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        })
        .catch((e: unknown) => {
          res.writeHead(500);
          res.end(String(e));
        });
    } else if (req.url === "/health") {
      const report = health();
      res.writeHead(report.healthy ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify(report));
    } else {
      res.writeHead(404);
      res.end("not found: try /metrics or /health\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
