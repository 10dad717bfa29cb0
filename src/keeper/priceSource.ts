/**
 * Prices beyond the pass's one market read: feed updates between blocks flag the isolated positions they made
 * unsafe (by liquidation price) so the pass confirms and liquidates those first; failing feeds are reported, never
 * skipped silently; and the ETH price that turns gas into kUSD is remembered across a failing WETH feed.
 */
import type { KeelConnection } from "../client/manifest";
import { revertReason } from "../client/errors";
import type { AssessedPosition } from "./assessment";
import type { MarketSnapshot } from "./evaluate";
import { LiquidationPriceIndex } from "./liquidationPrices";
import type { Logger } from "./log";
import type { IndexedPosition } from "./positionIndex";
import type { Rpc } from "./rpc";
import type { Health } from "./sweep";

/** keccak256("AnswerUpdated(int256,uint256,uint256)"): Chainlink aggregators' price-update event. */
const ANSWER_UPDATED = "0x0559884fd3a460db3073b7fc896cc77986f16e378210ded43186175bf646fc5f";

export class PriceSource {
  readonly liquidationPrices = new LiquidationPriceIndex();
  /** Positions a price update made unsafe by their liquidation price: confirmed and acted on first. */
  private readonly flags = new Set<bigint>();
  private seenFeedBlock = 0;
  private lastEthPrice = 0n;
  /** Every feed's address → the assets whose price it moves. */
  private readonly feedAssets = new Map<string, string[]>();

  constructor(
    private readonly rpc: Rpc,
    private readonly keel: KeelConnection,
    private readonly log: Logger,
  ) {
    for (const [, a] of Object.entries(keel.manifest.assets)) {
      for (const feed of [a.feed, a.baseFeed]) {
        if (!feed) continue;
        const list = this.feedAssets.get(feed.toLowerCase()) ?? [];
        list.push(a.token.toLowerCase());
        this.feedAssets.set(feed.toLowerCase(), list);
      }
    }
  }

  /** Positions flagged by price updates since the last `clearFlagged`. */
  get flagged(): ReadonlySet<bigint> {
    return this.flags;
  }

  clearFlagged(): void {
    this.flags.clear();
  }

  /** On AnswerUpdated logs after `lastSweptBlock` (and not yet seen) up to `head`, flags the isolated positions
   * whose liquidation price the new price reached, so the pass confirms them through the chain and liquidates
   * them first. */
  async watchFeeds(head: number, lastSweptBlock: number): Promise<void> {
    const from = Math.max(this.seenFeedBlock + 1, lastSweptBlock + 1);
    this.seenFeedBlock = head;
    if (this.liquidationPrices.size === 0 || from > head) return;
    const logs = await this.rpc.call("getLogs", (p) =>
      p.getLogs({ address: [...this.feedAssets.keys()], fromBlock: from, toBlock: head, topics: [ANSWER_UPDATED] }),
    );
    if (logs.length === 0) return;
    const moved = new Set(logs.flatMap((l) => this.feedAssets.get(l.address.toLowerCase()) ?? []));
    const assets = [...moved];
    const [prices, ok] = await this.rpc.call("prices", () => this.keel.lens.prices(assets, { blockTag: head }));
    const ids = new Set<bigint>();
    assets.forEach((a, i) => {
      if (ok[i]) for (const id of this.liquidationPrices.unsafeAt(a, prices[i]!)) ids.add(id);
    });
    if (ids.size === 0) return;
    this.log.info({ assets, candidates: ids.size }, "price update: newly unsafe positions are confirmed first");
    for (const id of ids) this.flags.add(id);
  }

  /** Re-sorts the valued isolated positions by liquidation price at this pass's prices. */
  rebuildLiquidationPrices(positions: readonly IndexedPosition[], health: ReadonlyMap<bigint, Health>, market: MarketSnapshot): void {
    const priceOf = new Map<string, bigint>();
    for (const [asset, i] of market.index) if (market.priced[i]) priceOf.set(asset, market.prices[i]!);
    const isolated = positions.filter((p) => p.asset !== undefined && health.get(p.id)?.valued);
    this.liquidationPrices.rebuild(
      isolated.map((p) => ({ id: p.id, asset: p.asset!, hf: health.get(p.id)!.hf })),
      priceOf,
    );
  }

  /**
   * Positions with a failing feed are never skipped silently: one warning per failing asset with the oracle's
   * error, how many positions hold it, and which of them cannot be valued at all (those wait for the feed; the
   * others are valued with that holding at zero and margin-called or liquidated on the rest, docs/spec.md §4).
   */
  async reportFailingFeeds(items: readonly AssessedPosition[], market: MarketSnapshot, head: number): Promise<void> {
    const failing = [...market.index].filter(([, i]) => !market.priced[i]).map(([asset]) => asset);
    for (const asset of failing) {
      const holders = items.filter(({ p }) => p.asset === asset || (p.collateral[asset] ?? 0n) > 0n);
      if (holders.length === 0) continue;
      const error = await this.keel.oracle.getPrice
        .staticCall(asset, { blockTag: head })
        .then(() => "price recovered since the market read")
        .catch((e: unknown) => revertReason(e));
      const unvalued = holders.filter(({ h }) => !h.valued).map(({ p }) => p.id.toString());
      this.log.warn(
        { asset, error, positions: holders.length, unvalued: unvalued.length, unvaluedIds: unvalued.slice(0, 20) },
        "failing price feed: its holdings are valued at zero in cross baskets; positions that only it prices wait",
      );
    }
  }

  /** USD per ETH [wad] from the pass's market snapshot (the wrapped-native asset; 0 when the manifest has none). */
  ethPrice(market: MarketSnapshot): bigint {
    const weth = this.keel.manifest.assets.WETH;
    const i = weth ? market.index.get(weth.token.toLowerCase()) : undefined;
    // A failing ETH price only leaves the gas estimate at its last value.
    if (i !== undefined && market.priced[i]) this.lastEthPrice = market.prices[i]!;
    return this.lastEthPrice;
  }
}
