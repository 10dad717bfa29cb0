/**
 * Flash liquidations in batches (`FlashLiquidator.liquidateBatch`: one flash mint, each position attempted on its
 * own, each seized asset sold once, one profit check). For a pass's Liquidatable positions, in the pass's order:
 *
 * 1. what one liquidation of each would repay and seize now (`Lens.liquidationStatuses` over id ranges, the
 *    engine's own planning), seizing the holding whose sale pays most;
 * 2. every swap venue of the manifest with its pools' reserves, each asset's depth at the `maxPriceImpact` limit
 *    shared by all batches of the pass;
 * 3. per venue, the next batch that fits its depth and the gas budget (`composeBatch`), simulated exactly
 *    (eth_call of the transaction to be sent at the pass's block, with the gas budget as its gas); a batch that
 *    fails (a bad position, or more gas than the budget) is bisected so one bad position never blocks the rest;
 * 4. of the venues' batches, the one paying most is sent, if its profit after gas reaches `minProfit` (checked
 *    again on chain by `minProfit`); then the next batch, until every position is batched, failed, or waits for
 *    depth (`deferred`: a later pass, once the pools have recovered or the partial liquidations gone through);
 * 5. right before sending (`recheck`), each batch is simulated again at the pending block: when it now reverts or
 *    pays less than planned, its targets are read (`engine.stateOf`) and those no longer Liquidatable — another
 *    keeper, the owner or an earlier block did them — are dropped and counted as already done; the rest is
 *    re-encoded and simulated again, or nothing is sent when nothing is left;
 * 6. a batch that still reverts on chain (another keeper's transaction landed between the recheck and ours: a
 *    batch whose every target was skipped after the flash mint cannot pay its fee, `FlashRepaymentShort`) is
 *    explained target by target at its block (`doneBeforeRevert`): a target someone else did is already done, not
 *    failed, and only targets still Liquidatable are failed (and planned afresh by the next pass).
 */
import { type KeelConnection, type SwapVenueName } from "../client/manifest";
import { revertReason } from "../client/errors";
import { MarginState, WAD } from "../math";
import type { AssessedPosition } from "./assessment";
import type { MarketSnapshot } from "./evaluate";
import { type BatchTarget, type Candidate, composeBatch, salesOf } from "./liquidationBatch";
import type { Logger } from "./log";
import type { BatchAction, BatchedPosition, PlannedAction } from "./plannedAction";
import { isTransient, mapLimit, type Rpc, RpcError, TX_GAS_CAP } from "./rpc";
import { ALREADY_DONE } from "./sender";
import { depthAt, saleQuote, type SwapVenues, type VenueDepth } from "./swapVenues";
import type { IdRange } from "./sweep";

export interface FlashBatchOptions {
  /** Least profit [wad kUSD] after gas for a batch to be sent; also the batch's on-chain `minProfit`. */
  minProfit: bigint;
  /** Reads and simulations in flight at once. */
  concurrency: number;
  /** Largest price impact [wad] the pass's sales of one asset may have on one venue (all its batches together). */
  maxPriceImpact: bigint;
  /**
   * Gas a batch is simulated with, and then sent with as it is: a batch that succeeds in its simulation succeeds on
   * chain in the same state (at most the 16,777,216 transaction cap). Only the gas used is paid.
   */
  batchGasLimit: bigint;
  /**
   * Gas assumed per position: composing a batch (at most (batchGasLimit − base) / this, so above the measured cost:
   * the difference is the batch's margin for state that moves before inclusion) and pricing its gas.
   */
  batchTargetGas: bigint;
}

export interface BatchPlan {
  actions: PlannedAction[];
  /** Positions no batch could liquidate (their simulation failed alone, or no liquidation status). */
  failed: number;
  /** Positions in batches whose profit after gas is below `minProfit`. */
  unprofitable: number;
  /** Positions left for a later pass: no venue had depth left for them at the impact limit. */
  deferred: number;
}

/** A batch simulated on one venue. */
interface SimulatedBatch {
  targets: BatchTarget[];
  venue: VenueDepth;
  /** [wad kUSD] the simulation paid, before gas. */
  profit: bigint;
  gas: bigint;
}

interface Settled {
  batches: SimulatedBatch[];
  failed: { target: BatchTarget; reason: string }[];
}

/** A planned batch checked again right before sending. */
export interface Rechecked {
  /** What to send: the batch as planned, or re-encoded without its done targets; undefined when nothing is left. */
  action?: BatchAction;
  /** Targets no longer Liquidatable at the pending block: done by someone else (or recovered). */
  done: bigint[];
  /** Targets of a batch whose fresh simulation reverted with none of them done (retried by the next pass). */
  failed: number;
  /** Targets of a batch whose fresh simulation no longer pays `minProfit` after gas. */
  unprofitable: number;
}

/** Gas of a batch beyond its targets: the flash mint, the sales, the profit transfer (docs/gas.md: ~300,000). */
const BATCH_BASE_GAS = 300_000n;

export class FlashBatchPlanner {
  constructor(
    private readonly rpc: Rpc,
    private readonly keel: KeelConnection,
    /** The keeper's address: simulations run as the sender will. */
    private readonly keeper: string,
    private readonly venues: SwapVenues,
    /** Prices the gas in kUSD: USD per ETH [wad] at this pass's market read. */
    private readonly prices: { ethPrice(market: MarketSnapshot): bigint },
    private readonly options: FlashBatchOptions,
    private readonly log: Logger,
  ) {}

  /** `items` in the order they should be liquidated. */
  async plan(items: readonly AssessedPosition[], head: number, market: MarketSnapshot): Promise<BatchPlan> {
    const plan: BatchPlan = { actions: [], failed: 0, unprofitable: 0, deferred: 0 };
    if (items.length === 0) return plan;
    const ethPrice = this.prices.ethPrice(market);
    const [fee, byId] = await Promise.all([this.rpc.call("feeData", (p) => p.getFeeData()), this.statuses(items.map((x) => x.p.id), head)]);
    const statuses = items.map((x) => byId.get(x.p.id));
    const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 0n;
    const assets = [...new Set(statuses.flatMap((s) => (s ? s.assets.map((a) => a.toLowerCase()) : [])))];
    const venues = await this.venues.read(assets, head);
    const room = new Map(venues.map((v) => [v.name, new Map(assets.map((a) => [a, depthAt(v, a, this.options.maxPriceImpact)]))]));

    let queue: Candidate[] = [];
    items.forEach((x, i) => {
      const c = candidate(x, statuses[i], venues);
      if (c) queue.push(c);
      else plan.failed++;
    });
    const perTarget = this.options.batchTargetGas;
    const maxTargets = Number((this.options.batchGasLimit - BATCH_BASE_GAS) / (perTarget > 0n ? perTarget : 1n));
    while (queue.length > 0) {
      const offers = venues
        .map((venue) => ({ venue, targets: composeBatch(queue, room.get(venue.name)!, Math.max(1, maxTargets)) }))
        .filter((o) => o.targets.length > 0);
      if (offers.length === 0) {
        plan.deferred += queue.length;
        this.log.info({ ids: queue.map((c) => c.p.id) }, "no venue depth left at the price-impact limit: liquidations wait for a later pass");
        break;
      }
      const settled = await Promise.all(offers.map((o) => this.settle(o.targets, o.venue, head)));
      const paid = settled.map((s) => s.batches.reduce((sum, b) => sum + b.profit, 0n));
      let best = 0;
      for (let i = 1; i < offers.length; i++) if (paid[i]! > paid[best]!) best = i;
      const chosen = offers[best]!;
      const result = settled[best]!;
      this.log.debug({ venues: offers.map((o, i) => ({ venue: o.venue.name, targets: o.targets.length, profit: paid[i] })), chosen: chosen.venue.name }, "batch venues simulated");
      for (const f of result.failed) {
        plan.failed++;
        this.log.warn({ id: f.target.candidate.p.id, asset: f.target.candidate.asset, reason: f.reason }, "liquidation simulation failed alone: left out of the batch");
      }
      for (const b of result.batches) {
        const gasCost = (b.gas * gasPrice * ethPrice) / WAD; // [wad kUSD]
        if (b.profit - gasCost < this.options.minProfit) {
          plan.unprofitable += b.targets.length;
          this.log.info({ ids: b.targets.map((t) => t.candidate.p.id), profit: b.profit, gasCost }, "batch not profitable after gas: skipped");
          continue;
        }
        plan.actions.push(this.action(b, ethPrice));
      }
      const venueRoom = room.get(chosen.venue.name)!;
      for (const [asset, sold] of salesOf(chosen.targets)) {
        const free = venueRoom.get(asset) ?? 0n;
        venueRoom.set(asset, free > sold ? free - sold : 0n);
      }
      const taken = new Set(chosen.targets.map((t) => t.candidate));
      queue = queue.filter((c) => !taken.has(c));
    }
    return plan;
  }

  /**
   * The liquidation status of each of `ids` at `head` (absent: it cannot be valued, or has no debt): read by id
   * range through `Lens.liquidationStatuses` (`statusRanges`), ranges in parallel; a range whose call fails is
   * read one id at a time, so one bad position costs its own status only.
   */
  private async statuses(ids: readonly bigint[], head: number): Promise<Map<bigint, Status>> {
    const out = new Map<bigint, Status>();
    const lens = this.keel.lens;
    const wanted = new Set(ids);
    const one = async (id: bigint): Promise<void> => {
      const s = await this.rpc.call("liquidationStatus", () => lens.liquidationStatus(id, { blockTag: head })).catch((e: unknown) => {
        if (e instanceof RpcError || isTransient(e)) throw e;
        this.log.debug({ id, reason: revertReason(e) }, "no liquidation status");
        return undefined;
      });
      if (s) out.set(id, s);
    };
    await mapLimit(statusRanges(ids), this.options.concurrency, async (r) => {
      if (r.from === r.to) return one(r.from);
      try {
        const got = await this.rpc.call("liquidationStatuses", () => lens.liquidationStatuses(r.from, r.to, { blockTag: head, gasLimit: TX_GAS_CAP }));
        for (const s of got) if (wanted.has(s.id)) out.set(s.id, s);
      } catch (e) {
        if (e instanceof RpcError || isTransient(e)) throw e;
        this.log.debug({ from: r.from, to: r.to, reason: revertReason(e) }, "liquidation statuses of a range failed: reading them one by one");
        for (const id of ids) if (id >= r.from && id <= r.to) await one(id);
      }
    });
    return out;
  }

  /**
   * `action` checked again right before sending, by an eth_call of its exact transaction at the pending block: sent
   * as planned while it still pays at least the planned profit; otherwise its targets no longer Liquidatable are
   * dropped (already done) and the rest re-encoded, simulated again and sent if it still pays `minProfit` after gas.
   */
  async recheck(action: BatchAction, gasPrice: bigint): Promise<Rechecked> {
    const out: Rechecked = { done: [], failed: 0, unprofitable: 0 };
    const first = await this.simulateAt(action.req.data, "pending");
    if ("profit" in first && first.profit >= action.expectedProfit) return { ...out, action };
    const done = await this.doneAt(action.targets.map((t) => t.id), "pending");
    const live = action.targets.filter((t) => !done.has(t.id));
    out.done = action.targets.filter((t) => done.has(t.id)).map((t) => t.id);
    if (out.done.length > 0) this.log.info({ ids: out.done, venue: action.venue }, "batch targets already done at the pending block: dropped before sending");
    if (live.length === 0) return out;
    const data = out.done.length === 0 ? action.req.data : this.encode(live, action.venue);
    const sim = out.done.length === 0 ? first : await this.simulateAt(data, "pending");
    if (!("profit" in sim)) {
      out.failed = live.length;
      this.log.warn({ ids: live.map((t) => t.id), venue: action.venue, reason: sim.reason }, "batch simulation at the pending block reverted: not sending");
      return out;
    }
    const gasCost = ((BATCH_BASE_GAS + BigInt(live.length) * this.options.batchTargetGas) * gasPrice * action.ethPrice) / WAD;
    if (sim.profit - gasCost < this.options.minProfit) {
      out.unprofitable = live.length;
      this.log.info({ ids: live.map((t) => t.id), profit: sim.profit, gasCost }, "batch not profitable after gas at the pending block: skipped");
      return out;
    }
    const ids = live.map((t) => t.id);
    out.action = {
      ...action,
      targets: live,
      expectedProfit: sim.profit,
      req: { ...action.req, data, context: { ...action.req.context, ids, partial: live.filter((t) => t.partial).map((t) => t.id), expectedProfit: sim.profit } },
    };
    return out;
  }

  /**
   * The targets of `action`, a batch that reverted on chain in transaction `hash`, that were no longer Liquidatable
   * at its block: someone else was first (a batch whose every target is skipped after the flash mint reverts
   * `FlashRepaymentShort`). The state read is the block's end, as the sender's replay of any revert.
   */
  async doneBeforeRevert(action: BatchAction, hash: string): Promise<Set<bigint>> {
    const receipt = await this.rpc.call("getTransactionReceipt", (p) => p.getTransactionReceipt(hash));
    if (!receipt) return new Set();
    return this.doneAt(action.targets.map((t) => t.id), receipt.blockNumber);
  }

  /** Ids among `ids` not Liquidatable at `blockTag` (liquidated, repaid, recovered, or closed: `PositionNotFound`). */
  private async doneAt(ids: readonly bigint[], blockTag: number | "pending"): Promise<Set<bigint>> {
    const engine = this.keel.engine;
    const done = await mapLimit(ids, this.options.concurrency, (id) =>
      this.rpc.call("stateOf", () => engine.stateOf(id, { blockTag })).then(
        (s) => Number(s.state) !== MarginState.Liquidatable,
        (e: unknown) => {
          if (e instanceof RpcError || isTransient(e)) throw e;
          return ALREADY_DONE.has(revertReason(e).split("(")[0]!); // a failing price: cannot tell, so not done
        },
      ),
    );
    return new Set(ids.filter((_, i) => done[i]));
  }

  /** The exact transaction `data` by eth_call at `blockTag` with the batch gas: its profit, or why it reverts. */
  private async simulateAt(data: string, blockTag: "pending"): Promise<{ profit: bigint } | { reason: string }> {
    const fl = this.keel.flashLiquidator;
    try {
      const raw = await this.rpc.call("simulateBatch", (p) =>
        p.call({ from: this.keeper, to: fl.target as string, data, blockTag, gasLimit: this.options.batchGasLimit }),
      );
      return { profit: fl.interface.decodeFunctionResult("liquidateBatch", raw)[0] as bigint };
    } catch (e) {
      if (e instanceof RpcError || isTransient(e)) throw e;
      return { reason: revertReason(e) };
    }
  }

  /** Simulates `targets` on `venue`; a failing batch is bisected. */
  private async settle(targets: BatchTarget[], venue: VenueDepth, head: number): Promise<Settled> {
    const sim = await this.simulate(targets, venue, head);
    if (!("profit" in sim)) this.log.debug({ venue: venue.name, targets: targets.length, reason: sim.reason }, "batch simulation failed: bisecting");
    if ("profit" in sim) {
      return { batches: [{ targets, venue, profit: sim.profit, gas: sim.gas }], failed: [] };
    }
    if (targets.length === 1) return { batches: [], failed: [{ target: targets[0]!, reason: sim.reason }] };
    const cut = Math.ceil(targets.length / 2);
    // One half after the other: a bisection never floods the node.
    const a = await this.settle(targets.slice(0, cut), venue, head);
    const b = await this.settle(targets.slice(cut), venue, head);
    return { batches: [...a.batches, ...b.batches], failed: [...a.failed, ...b.failed] };
  }

  /**
   * The exact transaction by eth_call at block `head`, given `batchGasLimit` gas: its profit, or why it reverted (a
   * batch needing more gas runs out and fails: it is bisected). eth_estimateGas is not used: on a node that searches
   * the gas by re-running the call, a batch of a hundred positions takes longer than an RPC timeout. The gas the
   * profit check prices is `BATCH_BASE_GAS` plus `batchTargetGas` per position.
   */
  private async simulate(targets: readonly BatchTarget[], venue: VenueDepth, head: number): Promise<{ profit: bigint; gas: bigint } | { reason: string }> {
    const fl = this.keel.flashLiquidator;
    const args = targets.map(onChain);
    try {
      const profit = await this.rpc.call("simulateBatch", () =>
        fl.liquidateBatch.staticCall(args, venue.address, 0n, { from: this.keeper, blockTag: head, gasLimit: this.options.batchGasLimit }),
      );
      return { profit, gas: BATCH_BASE_GAS + BigInt(targets.length) * this.options.batchTargetGas };
    } catch (e) {
      if (e instanceof RpcError || isTransient(e)) throw e; // the node, not the batch: the pass fails and is retried
      return { reason: revertReason(e) };
    }
  }

  private calldata(targets: readonly BatchTarget[], venue: VenueDepth): string {
    return this.keel.flashLiquidator.interface.encodeFunctionData("liquidateBatch", [targets.map(onChain), venue.address, this.options.minProfit]);
  }

  /** The calldata of a planned batch's remaining `targets` on its venue. */
  private encode(targets: readonly BatchedPosition[], venue: SwapVenueName): string {
    const args = targets.map((t) => ({ id: t.id, asset: t.asset, maxRepay: t.maxRepay }));
    return this.keel.flashLiquidator.interface.encodeFunctionData("liquidateBatch", [args, this.keel[venue].target as string, this.options.minProfit]);
  }

  private action(b: SimulatedBatch, ethPrice: bigint): PlannedAction {
    const ids = b.targets.map((t) => t.candidate.p.id);
    return {
      kind: "liquidateBatch",
      venue: b.venue.name,
      targets: b.targets.map((t) => ({ id: t.candidate.p.id, health: t.candidate.h, asset: t.candidate.asset, maxRepay: t.maxRepay, partial: t.partial })),
      expectedProfit: b.profit,
      ethPrice,
      req: {
        to: this.keel.flashLiquidator.target as string,
        data: this.calldata(b.targets, b.venue),
        kind: "liquidateBatch",
        context: { ids, venue: b.venue.name, partial: b.targets.filter((t) => t.partial).map((t) => t.candidate.p.id), expectedProfit: b.profit },
        // Just simulated at the pass's block with this much gas; checked again at the pending block before sending.
        simulatedGasLimit: this.options.batchGasLimit,
      },
    };
  }
}

/**
 * `Lens.liquidationStatuses` gas per id of a range (measured on anvil: ~70,000 per liquidatable position, ~63,000
 * per other position with debt; every id is priced as one with debt) and per call; ranges are planned to STATUS_BUDGET.
 */
const STATUS_GAS_PER_ID = 80_000;
const STATUS_GAS_FIXED = 300_000;
const STATUS_BUDGET = 15_000_000;
/** Lens.MAX_BATCH. */
const STATUS_MAX_IDS = 500;
/** Ids two targets may lie apart in one range: the positions between are read for nothing. */
const STATUS_MAX_GAP = 8n;

/** Id ranges covering `ids`: consecutive ids (ascending) at most STATUS_MAX_GAP apart, each within the gas budget. */
export function statusRanges(ids: readonly bigint[]): IdRange[] {
  const maxSpan = BigInt(Math.min(STATUS_MAX_IDS, Math.floor((STATUS_BUDGET - STATUS_GAS_FIXED) / STATUS_GAS_PER_ID)));
  const ranges: IdRange[] = [];
  for (const id of [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const last = ranges[ranges.length - 1];
    if (last && id - last.to <= STATUS_MAX_GAP && id - last.from < maxSpan) last.to = id;
    else ranges.push({ from: id, to: id });
  }
  return ranges;
}

const onChain = (t: BatchTarget): { id: bigint; asset: string; maxRepay: bigint } => ({ id: t.candidate.p.id, asset: t.candidate.asset, maxRepay: t.maxRepay });

type Status = Awaited<ReturnType<KeelConnection["lens"]["liquidationStatus"]>>;

/** The liquidation of `x` now, seizing the holding whose sale alone pays most on the best venue; undefined if none. */
function candidate(x: AssessedPosition, s: Status | undefined, venues: readonly VenueDepth[]): Candidate | undefined {
  if (!s || Number(s.state) !== MarginState.Liquidatable) return undefined;
  let best: { c: Candidate; pays: bigint } | undefined;
  s.assets.forEach((asset, i) => {
    const repay = s.maxRepay[i] ?? 0n;
    const seize = s.seizable[i] ?? 0n;
    if (repay === 0n || seize === 0n) return;
    const proceeds = venues.reduce((m, v) => {
      const q = saleQuote(v, asset, seize);
      return q > m ? q : m;
    }, 0n);
    const pays = proceeds - repay - (s.protocolFee[i] ?? 0n);
    if (!best || pays > best.pays) best = { c: { p: x.p, h: x.h, asset, repay, seize, insolvent: s.badDebt > 0n }, pays };
  });
  return best?.c;
}
