/**
 * The keeper: index positions from events, sweep their health through Lens, and act — margin-call Callable
 * positions, liquidate Liquidatable ones where profitable after gas, clear calls of recovered positions, poke the
 * volatility oracle and collect fees on a schedule. Built from parts with narrow jobs: PositionIndex (source),
 * HealthSweeper and LiquidationPriceIndex (evaluation), this file (strategy) and TxSender (sending).
 */
import { MaxUint256, ZeroAddress } from "ethers";
import type { KeelConnection } from "../client/manifest";
import { MarginState, marginStateAt, protocolFeeUp, valueDown, WAD } from "../math";
import type { Logger } from "./log";
import type { KeeperMetrics, HealthReport } from "./metrics";
import { LiquidationPriceIndex } from "./liquidationPrices";
import type { IndexedPosition, PositionIndex } from "./positionIndex";
import { shortMessage } from "../client/errors";
import { mapLimit, type Rpc, sleep } from "./rpc";
import { revertReason } from "../client/errors";
import type { SendOutcome, TxRequest, TxSender } from "./sender";
import { evaluate, type MarketSnapshot, toSnapshot } from "./evaluate";
import { type Health, HealthSweeper } from "./sweep";
import type { Webhook } from "./webhook";

export interface KeeperOptions {
  /** This instance acts on positions with id % count === index; shard 0 also pokes and collects fees. */
  shard: { index: number; count: number };
  /** Gas budget of one healthScan eth_call. */
  gasBudget: number;
  /** Parallel healthScan calls. */
  concurrency: number;
  /** Least profit [wad kUSD] after gas for a liquidation to be sent. */
  minProfit: bigint;
  /** "flash": always FlashLiquidator; "direct": repay from the keeper's kUSD; "auto": direct when it holds enough. */
  liquidation: "auto" | "flash" | "direct";
  /** [s] between volatility pokes (0 = never). */
  pokeEvery: number;
  /** [s] between fee collections (0 = never). */
  collectFeesEvery: number;
  /** How often to look for a new block. */
  pollMs: number;
  /** Gas assumed for a liquidation when pricing it before simulation. */
  liquidationGas: bigint;
  /** --once: passes to run at most while actions keep succeeding. */
  maxPasses: number;
  /** Positions whose local HF is below this [wad] are confirmed through Lens.healthScan before acting. */
  confirmBelow: bigint;
  /** Every this many passes, every position is read through Lens.healthScan (1 = always; 0 = never). */
  fullSweepEvery: number;
}

export const DEFAULT_KEEPER: KeeperOptions = {
  shard: { index: 0, count: 1 },
  gasBudget: 12_000_000,
  concurrency: 4,
  minProfit: 0n,
  liquidation: "auto",
  pokeEvery: 3600,
  collectFeesEvery: 6 * 3600,
  pollMs: 500,
  liquidationGas: 350_000n,
  maxPasses: 10,
  confirmBelow: (WAD * 105n) / 100n,
  fullSweepEvery: 100,
};

export interface KeeperDeps {
  rpc: Rpc;
  keel: KeelConnection;
  index: PositionIndex;
  sender: TxSender;
  metrics: KeeperMetrics;
  log: Logger;
  webhook?: Webhook;
  options: KeeperOptions;
}

export interface PassReport {
  head: number;
  timestamp: bigint;
  indexed: number;
  swept: number;
  callable: number;
  called: number;
  liquidatable: number;
  /** Positions with a failing price among their collateral (acted on where the margin valuation allows). */
  unpriced: number;
  /** Positions that cannot be valued at all (an isolated position's feed, or every cross price, failing): no action. */
  unvalued: number;
  marginCalls: number;
  cleared: number;
  liquidations: number;
  alreadyDone: number;
  failed: number;
  unprofitable: number;
  /** [wad kUSD] realised liquidation profit after gas. */
  profit: bigint;
  rpcCalls: number;
  /** Positions whose local health was read again through Lens.healthScan (near the threshold, or all on a full sweep). */
  confirmed: number;
  /** Confirmed positions whose local health differed from the chain's (0 unless the mirror is wrong). */
  mismatches: number;
  sweepMs: number;
  durationMs: number;
}

/** One way to liquidate a position, with its simulated profit [wad kUSD] before gas. */
interface LiquidationChoice {
  req: TxRequest;
  profit: bigint;
  direct: boolean;
  /** kUSD the keeper pays from its balance (direct only). */
  pays: bigint;
}

interface Planned {
  req: TxRequest;
  kind: "liquidate" | "marginCall" | "clearMarginCall" | "pokeAll" | "collectFees";
  id?: bigint;
  health?: Health;
  /** Expected profit [wad kUSD] before gas, for liquidations. */
  expectedProfit?: bigint;
}

export class Keeper {
  readonly sweeper: HealthSweeper;
  readonly liquidationPrices = new LiquidationPriceIndex();
  private lastPokeAt = 0n;
  /** Positions a price update made unsafe by their liquidation price: confirmed and acted on first. */
  private readonly priority = new Set<bigint>();
  private passes = 0;
  /** The last pass had failed actions: run again without waiting for a block. */
  private retry = false;
  private lastFeesAt = 0n;
  private lastSweptBlock = 0;
  private lastSweepAt?: Date;
  private rpcUp = true;
  private seenFeedBlock = 0;
  /** Every feed's address → the assets whose price it moves. */
  private readonly feedAssets = new Map<string, string[]>();

  constructor(private readonly d: KeeperDeps) {
    this.sweeper = new HealthSweeper(d.rpc, d.keel.lens, d.options.gasBudget, d.options.concurrency);
    for (const [, a] of Object.entries(d.keel.manifest.assets)) {
      for (const feed of [a.feed, a.baseFeed]) {
        if (!feed) continue;
        const list = this.feedAssets.get(feed.toLowerCase()) ?? [];
        list.push(a.token.toLowerCase());
        this.feedAssets.set(feed.toLowerCase(), list);
      }
    }
  }

  private get o(): KeeperOptions {
    return this.d.options;
  }

  /** One complete pass at the current head: index, sweep, act on everything actionable, wait for receipts. */
  async pass(): Promise<PassReport> {
    const started = Date.now();
    const callsBefore = this.d.rpc.totalCalls;
    const head = await this.d.rpc.call("blockNumber", (p) => p.getBlockNumber());
    await this.d.index.sync(head);
    const positions = this.d.index.positions();
    const sweepStart = Date.now();
    const market = toSnapshot(await this.d.rpc.call("market", () => this.d.keel.lens.market({ blockTag: head })));
    const timestamp = market.timestamp;
    const { health, confirmed, mismatches } = await this.assess(positions, market, head);
    const sweepMs = Date.now() - sweepStart;
    const params = { criticalHF: market.criticalHF };
    const report: PassReport = {
      head,
      timestamp,
      indexed: positions.length,
      swept: health.size,
      callable: 0,
      called: 0,
      liquidatable: 0,
      unpriced: 0,
      unvalued: 0,
      marginCalls: 0,
      cleared: 0,
      liquidations: 0,
      alreadyDone: 0,
      failed: 0,
      unprofitable: 0,
      profit: 0n,
      rpcCalls: 0,
      confirmed,
      mismatches,
      sweepMs,
      durationMs: 0,
    };

    const liquidatable: { p: IndexedPosition; h: Health }[] = [];
    const planned: Planned[] = [];
    let atRisk = 0;
    const unpriced: { p: IndexedPosition; h: Health }[] = [];
    for (const p of positions) {
      const h = health.get(p.id);
      if (!h) continue;
      if (!h.priced) {
        report.unpriced++;
        unpriced.push({ p, h });
      }
      if (!h.valued) {
        report.unvalued++;
        continue; // nothing to act on until the feed is back
      }
      if (h.hf < (WAD * 11n) / 10n) atRisk++;
      const state = marginStateAt(h.hf, p.deadline, params.criticalHF, timestamp);
      if (state === MarginState.Callable) report.callable++;
      if (state === MarginState.Called) report.called++;
      if (state === MarginState.Liquidatable) report.liquidatable++;
      if (!this.mine(p.id)) continue;
      if (state === MarginState.Liquidatable) liquidatable.push({ p, h });
      else if (state === MarginState.Callable) planned.push(this.plan("marginCall", p.id, h));
      else if (state === MarginState.Safe && p.deadline !== 0n) planned.push(this.plan("clearMarginCall", p.id, h));
    }
    if (unpriced.length > 0) await this.reportFailingFeeds(unpriced, market, head);
    this.rebuildLiquidationPrices(positions, health, market);
    // Positions a price update flagged first, then the worst.
    const rank = (x: { p: IndexedPosition; h: Health }): number => (this.priority.has(x.p.id) ? 0 : 1);
    liquidatable.sort((a, b) => rank(a) - rank(b) || (a.h.hf < b.h.hf ? -1 : 1));
    this.priority.clear();
    const liquidations = await this.planLiquidations(liquidatable, head, market, report);
    planned.unshift(...liquidations);
    planned.push(...(await this.planUpkeep(timestamp, head)));

    const outcomes = await this.d.sender.sendAll(planned.map((x) => x.req));
    await this.record(planned, outcomes, report);

    this.lastSweptBlock = head;
    this.lastSweepAt = new Date();
    report.rpcCalls = this.d.rpc.totalCalls - callsBefore;
    report.durationMs = Date.now() - started;
    const m = this.d.metrics;
    m.positionsIndexed.set(positions.length);
    m.positionsAtRisk.set(atRisk);
    m.liquidatable.set(report.liquidatable);
    m.positionsUnpriced.set(report.unpriced);
    m.positionsUnvalued.set(report.unvalued);
    m.headBlock.set(head);
    m.lagBlocks.set(0);
    m.sweepSeconds.set(sweepMs / 1000);
    this.d.log.info({ pass: report }, "pass");
    return report;
  }

  /** `--once`: passes until one has nothing left to do (or `maxPasses`), all receipts awaited. */
  async runOnce(): Promise<PassReport[]> {
    const reports: PassReport[] = [];
    for (let i = 0; i < this.o.maxPasses; i++) {
      const r = await this.pass();
      reports.push(r);
      // Done when a pass neither acted nor failed to act; a failed action is retried by the next pass.
      if (r.marginCalls + r.cleared + r.liquidations === 0 && r.failed === 0) break;
    }
    return reports;
  }

  /** Runs until `signal` aborts: a pass on every new block; a price-feed update first checks the positions it made
   * unsafe. RPC failures are logged and retried with backoff; the loop never exits on them. */
  async run(signal: AbortSignal): Promise<void> {
    let backoff = this.o.pollMs;
    while (!signal.aborted) {
      try {
        const head = await this.d.rpc.call("blockNumber", (p) => p.getBlockNumber());
        this.d.metrics.headBlock.set(head);
        this.d.metrics.lagBlocks.set(Math.max(0, head - this.lastSweptBlock));
        this.rpcUp = true;
        // A new block, or a retry of actions that failed in the last pass.
        if (head > this.lastSweptBlock || this.retry) {
          await this.reactToFeeds(head);
          const r = await this.pass();
          this.retry = r.failed > 0;
        }
        backoff = this.o.pollMs;
        await sleep(this.o.pollMs, signal);
      } catch (e) {
        this.rpcUp = false;
        this.d.metrics.rpcErrors.inc();
        this.d.log.error({ error: shortMessage(e), retryInMs: backoff }, "pass failed; retrying");
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  health(): HealthReport {
    const lag = Math.max(0, this.d.index.head - this.lastSweptBlock);
    return {
      healthy: this.rpcUp && this.lastSweepAt !== undefined && lag <= 5,
      head: this.d.index.head,
      lastSweptBlock: this.lastSweptBlock,
      lagBlocks: lag,
      lastSweepAt: this.lastSweepAt?.toISOString(),
      rpcUp: this.rpcUp,
    };
  }

  // ------------------------------------------------------------------ strategy

  private mine(id: bigint): boolean {
    return id % BigInt(this.o.shard.count) === BigInt(this.o.shard.index);
  }

  private plan(kind: "marginCall" | "clearMarginCall", id: bigint, health: Health): Planned {
    const engine = this.d.keel.engine;
    return {
      kind,
      id,
      health,
      req: {
        to: engine.target as string,
        data:
          kind === "marginCall"
            ? engine.interface.encodeFunctionData("marginCall", [id])
            : engine.interface.encodeFunctionData("clearMarginCall", [id]),
        kind,
        context: { id, hf: health.hf },
      },
    };
  }

  /**
   * For each Liquidatable position, the asset whose seizure pays most: simulated through FlashLiquidator (sale on
   * the AMM included), or through the engine when the keeper repays from its own kUSD. Sent only when the profit
   * after gas reaches `minProfit`.
   */
  private async planLiquidations(
    items: readonly { p: IndexedPosition; h: Health }[],
    head: number,
    market: MarketSnapshot,
    report: PassReport,
  ): Promise<Planned[]> {
    if (items.length === 0) return [];
    const k = this.d.keel;
    const keeper = this.d.sender.address;
    const ethPrice = this.ethPrice(market);
    const [fee, balance] = await Promise.all([
      this.d.rpc.call("feeData", (p) => p.getFeeData()),
      this.o.liquidation === "flash" ? Promise.resolve(0n) : this.d.rpc.call("balanceOf", () => k.kusd.balanceOf(keeper)),
    ]);
    const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
    const gasCost = (this.o.liquidationGas * gasPrice * ethPrice) / WAD; // [wad kUSD]
    let available = balance;
    const out: Planned[] = [];
    const choices = await mapLimit(items, this.o.concurrency, ({ p }) => this.bestLiquidation(p, head, market, available));
    for (let i = 0; i < items.length; i++) {
      const { p, h } = items[i]!;
      const choice = choices[i];
      if (!choice) {
        report.failed++;
        continue;
      }
      if (choice.profit - gasCost < this.o.minProfit) {
        report.unprofitable++;
        this.d.log.info({ id: p.id, profit: choice.profit, gasCost }, "liquidation not profitable after gas: skipped");
        continue;
      }
      if (choice.direct) {
        if (available < choice.pays) continue;
        available -= choice.pays;
      }
      out.push({ kind: "liquidate", id: p.id, health: h, expectedProfit: choice.profit, req: choice.req });
    }
    return out;
  }

  private async bestLiquidation(
    p: IndexedPosition,
    head: number,
    market: MarketSnapshot,
    balance: bigint,
  ): Promise<LiquidationChoice | undefined> {
    const k = this.d.keel;
    const keeper = this.d.sender.address;
    const amm = k.amm.target as string;
    let best: LiquidationChoice | undefined;
    for (const asset of Object.keys(p.collateral)) {
      try {
        let candidate: typeof best;
        // Direct only with kUSD in hand; a direct simulation that fails (too little kUSD) falls back to flash.
        if (this.o.liquidation !== "flash" && balance > 0n) {
          candidate = await this.directLiquidation(p.id, asset, head, market, balance).catch(() => undefined);
        }
        if (!candidate && this.o.liquidation !== "direct") {
          const profit = await this.d.rpc.call("simulateFlash", () =>
            k.flashLiquidator.liquidate.staticCall(p.id, asset, MaxUint256, amm, 0n, { from: keeper, blockTag: head }),
          );
          candidate = {
            profit,
            direct: false,
            pays: 0n,
            req: {
              to: k.flashLiquidator.target as string,
              data: k.flashLiquidator.interface.encodeFunctionData("liquidate", [p.id, asset, MaxUint256, amm, this.o.minProfit]),
              kind: "liquidate",
              context: { id: p.id, asset, via: "flash", expectedProfit: profit },
              // Just simulated above: a flash liquidation sells every asset it receives.
              simulatedGas: this.o.liquidationGas * BigInt(Math.max(1, Object.keys(p.collateral).length)),
            },
          };
        }
        if (candidate && (!best || candidate.profit > best.profit)) best = candidate;
      } catch (e) {
        this.d.log.debug({ id: p.id, asset, reason: revertReason(e) }, "liquidation simulation failed for this asset");
      }
    }
    return best;
  }

  /** Repaying from the keeper's kUSD: profit = seized value at the oracle price − repaid − protocol fee. */
  private async directLiquidation(
    id: bigint,
    asset: string,
    head: number,
    market: MarketSnapshot,
    balance: bigint,
  ): Promise<LiquidationChoice | undefined> {
    const k = this.d.keel;
    const keeper = this.d.sender.address;
    const i = market.index.get(asset);
    if (i === undefined || !market.priced[i]) return undefined;
    const [repaid, seized] = await this.d.rpc.call("simulateLiquidate", () =>
      k.engine.liquidate.staticCall(id, asset, MaxUint256, keeper, "0x", { from: keeper, blockTag: head }),
    );
    const fee = protocolFeeUp(repaid, market.penalties[i]!, market.protocolShare);
    const pays = repaid + fee;
    if (pays > balance) return undefined;
    return {
      profit: valueDown(seized, market.prices[i]!, market.units[i]!) - pays,
      direct: true,
      pays,
      req: {
        to: k.engine.target as string,
        data: k.engine.interface.encodeFunctionData("liquidate", [id, asset, MaxUint256, keeper, "0x"]),
        kind: "liquidate",
        context: { id, asset, via: "direct", repaid, seized },
      },
    };
  }

  /** Shard 0's schedule: poke the volatility oracle when an asset is due, collect fees now and then. */
  private async planUpkeep(now: bigint, head: number): Promise<Planned[]> {
    if (this.o.shard.index !== 0) return [];
    const k = this.d.keel;
    const out: Planned[] = [];
    if (this.o.pokeEvery > 0 && now >= this.lastPokeAt + BigInt(this.o.pokeEvery)) {
      const due = await this.d.rpc.call("pokeAll", () => k.vol.pokeAll.staticCall({ blockTag: head }));
      if (due > 0n) {
        out.push({ kind: "pokeAll", req: { to: k.vol.target as string, data: k.vol.interface.encodeFunctionData("pokeAll"), kind: "pokeAll" } });
      }
      this.lastPokeAt = now;
    }
    if (this.o.collectFeesEvery > 0 && now >= this.lastFeesAt + BigInt(this.o.collectFeesEvery)) {
      out.push({
        kind: "collectFees",
        req: { to: k.engine.target as string, data: k.engine.interface.encodeFunctionData("collectFees"), kind: "collectFees" },
      });
      this.lastFeesAt = now;
    }
    return out;
  }

  private async record(planned: readonly Planned[], outcomes: readonly SendOutcome[], report: PassReport): Promise<void> {
    const m = this.d.metrics;
    // Webhook notices go out in parallel: a slow webhook never holds up the others (each has its own timeout).
    const notices: Promise<void>[] = [];
    for (let i = 0; i < planned.length; i++) {
      const plan = planned[i]!;
      const out = outcomes[i]!;
      if (out.status === "alreadyDone") {
        report.alreadyDone++;
        m.alreadyDone.inc();
        continue;
      }
      if (out.status === "failed" || out.status === "revertedOnChain") {
        report.failed++;
        m.txFailures.inc();
        this.d.log.warn({ kind: plan.kind, id: plan.id, outcome: out }, "action failed");
        continue;
      }
      if (out.status !== "mined") continue;
      switch (plan.kind) {
        case "liquidate": {
          report.liquidations++;
          m.liquidations.inc();
          const profit = this.realisedProfit(plan, out);
          report.profit += profit;
          if (profit > 0n) m.profitKusd.inc(Number(profit) / 1e18);
          break;
        }
        case "marginCall":
          report.marginCalls++;
          m.marginCalls.inc();
          notices.push(this.notify(plan, out));
          break;
        case "clearMarginCall":
          report.cleared++;
          m.callsCleared.inc();
          break;
        case "pokeAll":
          m.pokes.inc();
          break;
        case "collectFees":
          m.feeCollections.inc();
          break;
      }
    }
    await Promise.all(notices);
  }

  /** Profit after gas [wad kUSD]: FlashLiquidated's profit from the receipt (direct: the expected value). */
  private realisedProfit(plan: Planned, out: Extract<SendOutcome, { status: "mined" }>): bigint {
    const fl = this.d.keel.flashLiquidator;
    let profit = plan.expectedProfit ?? 0n;
    for (const log of out.receipt.logs) {
      if ((log.address as string).toLowerCase() !== (fl.target as string).toLowerCase()) continue;
      const parsed = fl.interface.parseLog(log);
      if (parsed?.name === "FlashLiquidated") profit = parsed.args.getValue("profit") as bigint;
    }
    return profit - (out.gasCost * this.lastEthPrice) / WAD;
  }

  private lastEthPrice = 0n;

  /** USD per ETH [wad] from the pass's market snapshot (the wrapped-native asset; 0 when the manifest has none). */
  private ethPrice(market: MarketSnapshot): bigint {
    const weth = this.d.keel.manifest.assets.WETH;
    const i = weth ? market.index.get(weth.token.toLowerCase()) : undefined;
    // A failing ETH price only leaves the gas estimate at its last value.
    if (i !== undefined && market.priced[i]) this.lastEthPrice = market.prices[i]!;
    return this.lastEthPrice;
  }

  private async notify(plan: Planned, out: Extract<SendOutcome, { status: "mined" }>): Promise<void> {
    if (!this.d.webhook || plan.id === undefined || !plan.health) return;
    const engine = this.d.keel.engine;
    let deadline = 0;
    for (const log of out.receipt.logs) {
      const parsed = log.address.toLowerCase() === (engine.target as string).toLowerCase() ? engine.interface.parseLog(log) : null;
      if (parsed?.name === "MarginCalled") deadline = Number(parsed.args.getValue("deadline"));
    }
    const owner = await this.d.keel.nft.ownerOf(plan.id).catch(() => ZeroAddress);
    await this.d.webhook.notify({
      event: "margin_call",
      chainId: this.d.rpc.chainId,
      positionId: plan.id.toString(),
      owner,
      healthFactor: formatWad(plan.health.hf),
      debt: formatWad(plan.health.debt),
      deadline,
      txHash: out.hash,
    });
  }

  /**
   * Positions with a failing feed are never skipped silently: one warning per failing asset with the oracle's
   * error, how many positions hold it, and which of them cannot be valued at all (those wait for the feed; the
   * others are valued with that holding at zero and margin-called or liquidated on the rest, docs/spec.md §4).
   */
  private async reportFailingFeeds(
    items: readonly { p: IndexedPosition; h: Health }[],
    market: MarketSnapshot,
    head: number,
  ): Promise<void> {
    const failing = [...market.index].filter(([, i]) => !market.priced[i]).map(([asset]) => asset);
    for (const asset of failing) {
      const holders = items.filter(({ p }) => p.asset === asset || (p.collateral[asset] ?? 0n) > 0n);
      if (holders.length === 0) continue;
      const error = await this.d.keel.oracle.getPrice
        .staticCall(asset, { blockTag: head })
        .then(() => "price recovered since the market read")
        .catch((e: unknown) => revertReason(e));
      const unvalued = holders.filter(({ h }) => !h.valued).map(({ p }) => p.id.toString());
      this.d.log.warn(
        { asset, error, positions: holders.length, unvalued: unvalued.length, unvaluedIds: unvalued.slice(0, 20) },
        "failing price feed: its holdings are valued at zero in cross baskets; positions that only it prices wait",
      );
    }
  }

  // ------------------------------------------------------------------ price-feed fast path

  /** On AnswerUpdated logs since the last pass, flags the isolated positions whose liquidation price the new price
   * reached, so the pass confirms them through the chain and liquidates them first. */
  private async reactToFeeds(head: number): Promise<void> {
    const from = Math.max(this.seenFeedBlock + 1, this.lastSweptBlock + 1);
    this.seenFeedBlock = head;
    if (this.liquidationPrices.size === 0 || from > head) return;
    const logs = await this.d.rpc.call("getLogs", (p) =>
      p.getLogs({ address: [...this.feedAssets.keys()], fromBlock: from, toBlock: head, topics: [ANSWER_UPDATED] }),
    );
    if (logs.length === 0) return;
    const moved = new Set(logs.flatMap((l) => this.feedAssets.get(l.address.toLowerCase()) ?? []));
    const assets = [...moved];
    const [prices, ok] = await this.d.rpc.call("prices", () => this.d.keel.lens.prices(assets, { blockTag: head }));
    const ids = new Set<bigint>();
    assets.forEach((a, i) => {
      if (ok[i]) for (const id of this.liquidationPrices.unsafeAt(a, prices[i]!)) ids.add(id);
    });
    if (ids.size === 0) return;
    this.d.log.info({ assets, candidates: ids.size }, "price update: newly unsafe positions are confirmed first");
    for (const id of ids) this.priority.add(id);
  }

  private rebuildLiquidationPrices(
    positions: readonly IndexedPosition[],
    health: ReadonlyMap<bigint, Health>,
    market: MarketSnapshot,
  ): void {
    const priceOf = new Map<string, bigint>();
    for (const [asset, i] of market.index) if (market.priced[i]) priceOf.set(asset, market.prices[i]!);
    const isolated = positions.filter((p) => p.asset !== undefined && health.get(p.id)?.valued);
    this.liquidationPrices.rebuild(
      isolated.map((p) => ({ id: p.id, asset: p.asset!, hf: health.get(p.id)!.hf })),
      priceOf,
    );
  }

  /**
   * Health of every position: locally from the mirror and one Lens.market read, then confirmed through
   * Lens.healthScan for every position that could be acted on (HF under `confirmBelow`, an open call, or one the
   * mirror cannot value) — and for all of them every `fullSweepEvery` passes. The chain's numbers win.
   */
  private async assess(
    positions: readonly IndexedPosition[],
    market: MarketSnapshot,
    head: number,
  ): Promise<{ health: Map<bigint, Health>; confirmed: number; mismatches: number }> {
    const health = new Map<bigint, Health>();
    const check: IndexedPosition[] = [];
    this.passes++;
    const full = this.o.fullSweepEvery > 0 && this.passes % this.o.fullSweepEvery === 1 % this.o.fullSweepEvery;
    for (const p of positions) {
      if (p.normDebt === 0n) continue;
      const h = evaluate(p, market);
      if (h) health.set(p.id, h);
      const flagged = this.priority.has(p.id);
      if (full || flagged || !h || p.deadline !== 0n || !h.priced || h.hf < this.o.confirmBelow) check.push(p);
    }
    if (check.length === 0) return { health, confirmed: 0, mismatches: 0 };
    const chain = await this.sweeper.sweep(check, head);
    let mismatches = 0;
    for (const [id, h] of chain) {
      const mine = health.get(id);
      if (mine && (mine.hf !== h.hf || mine.debt !== h.debt || mine.priced !== h.priced || mine.valued !== h.valued)) {
        mismatches++;
        this.d.log.warn({ id, local: mine, chain: h }, "mirror and chain disagree: using the chain");
      }
      health.set(id, h);
    }
    this.d.metrics.mirrorMismatches.inc(mismatches);
    return { health, confirmed: chain.size, mismatches };
  }
}

/** keccak256("AnswerUpdated(int256,uint256,uint256)"): Chainlink aggregators' price-update event. */
const ANSWER_UPDATED = "0x0559884fd3a460db3073b7fc896cc77986f16e378210ded43186175bf646fc5f";

const formatWad = (x: bigint): string => {
  const whole = x / WAD;
  const frac = (x % WAD).toString().padStart(18, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
};
