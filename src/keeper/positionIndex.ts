/**
 * The keeper's position index, built from the engine's events: which positions exist, their mode, collateral,
 * normalized debt and open margin call. Events up to `head − confirmations` are applied to a confirmed state that
 * is checkpointed on disk; the blocks after it are re-read on every sync into a throwaway overlay, so a reorg
 * inside the confirmation window can neither leave a stale position nor lose one. A reorg deeper than that is
 * detected by the checkpoint's block hash and answered by re-indexing from the deployment block.
 */
import { type EventFragment, type Interface, type Log, type Provider } from "ethers";
import { z } from "zod";
import { KeelError } from "../units/error";
import { VaultEngine__factory } from "../../typechain-types";
import { Mode } from "../math";
import { JsonFile } from "./checkpoint";
import type { Logger } from "./log";
import type { Rpc } from "./rpc";

export class IndexError extends KeelError {
  override name = "IndexError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("CHAIN", message, options);
  }
}

/** One position as the events describe it. */
export interface IndexedPosition {
  id: bigint;
  mode: Mode;
  /** The isolated asset; undefined for cross positions. */
  asset?: string;
  /** Asset address (lower case) → amount in token decimals. */
  collateral: Record<string, bigint>;
  normDebt: bigint; // [wad]
  /** [s] deadline of the open margin call, 0 if none. */
  deadline: bigint;
}

interface Snapshot {
  chainId: number;
  engine: string;
  /** Last block whose events are applied. */
  block: number;
  blockHash: string;
  positions: IndexedPosition[];
}

const snapshotSchema = z.object({
  chainId: z.number(),
  engine: z.string(),
  block: z.number(),
  blockHash: z.string(),
  positions: z.array(
    z.object({
      id: z.bigint(),
      mode: z.union([z.literal(0), z.literal(1)]),
      asset: z.string().optional(),
      collateral: z.record(z.string(), z.bigint()),
      normDebt: z.bigint(),
      deadline: z.bigint(),
    }),
  ),
}) satisfies z.ZodType<Snapshot>;

export interface IndexOptions {
  chainId: number;
  engine: string;
  deploymentBlock: number;
  confirmations: number;
  /** Largest block span of one eth_getLogs; halved on a provider error about result size. */
  logChunk: number;
  checkpointPath?: string;
}

const EVENTS = ["PositionOpened", "PositionUpdated", "PositionClosed", "MarginCalled", "MarginCallCleared"] as const;

export class PositionIndex {
  private confirmed = new Map<bigint, IndexedPosition>();
  /** Unconfirmed changes: a position, or null for one closed in the unconfirmed blocks. */
  private overlay = new Map<bigint, IndexedPosition | null>();
  private confirmedBlock: number;
  private confirmedHash = "";
  private readonly iface: Interface = VaultEngine__factory.createInterface();
  private readonly topics: string[];
  private readonly events: Map<string, EventFragment>;
  private readonly file?: JsonFile<Snapshot>;
  /** Head block of the last sync. */
  head = 0;
  /** eth_getLogs calls made so far (for metrics and benchmarks). */
  logQueries = 0;

  constructor(
    private readonly rpc: Rpc,
    private readonly options: IndexOptions,
    private readonly log?: Logger,
  ) {
    this.confirmedBlock = options.deploymentBlock - 1;
    this.topics = EVENTS.map((e) => this.iface.getEvent(e)!.topicHash);
    this.events = new Map(EVENTS.map((e) => [this.iface.getEvent(e)!.topicHash, this.iface.getEvent(e)!]));
    if (options.checkpointPath) this.file = new JsonFile(options.checkpointPath, (raw) => snapshotSchema.parse(raw));
    this.restore();
  }

  /** Last block applied to the confirmed state. */
  get checkpointBlock(): number {
    return this.confirmedBlock;
  }

  /** Catches up to `head`: confirmed state to head − confirmations (checkpointed), overlay for the rest. */
  async sync(head: number): Promise<void> {
    const safe = Math.max(head - this.options.confirmations, this.options.deploymentBlock - 1);
    if (this.confirmedBlock >= this.options.deploymentBlock && !(await this.checkpointIsCanonical())) {
      this.log?.warn({ block: this.confirmedBlock }, "checkpoint block was reorged away: re-indexing from deployment");
      this.reset();
    }
    if (safe > this.confirmedBlock) {
      // The hash is read before the logs and checked after: a reorg in between must not store the old chain's
      // events under the new chain's hash.
      const hashBefore = (await this.rpc.call("getBlock", (p) => p.getBlock(safe)))?.hash ?? "";
      const next = new Map(this.confirmed);
      await this.apply(this.confirmedBlock + 1, safe, next, false);
      const hashAfter = (await this.rpc.call("getBlock", (p) => p.getBlock(safe)))?.hash ?? "";
      if (hashBefore === "" || hashBefore !== hashAfter) {
        throw new IndexError(`block ${safe} changed while it was being indexed (reorg): the next sync retries`);
      }
      this.confirmed = next as Map<bigint, IndexedPosition>;
      this.confirmedBlock = safe;
      this.confirmedHash = hashAfter;
      this.save();
    }
    const overlay = new Map<bigint, IndexedPosition | null>();
    if (head > this.confirmedBlock) await this.apply(this.confirmedBlock + 1, head, overlay, true);
    this.overlay = overlay;
    this.head = head;
  }

  /** Every open position (confirmed state with the unconfirmed blocks on top), by id. */
  positions(): IndexedPosition[] {
    const out: IndexedPosition[] = [];
    for (const [id, p] of this.confirmed) if (!this.overlay.has(id)) out.push(p);
    for (const p of this.overlay.values()) if (p) out.push(p);
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: bigint): IndexedPosition | undefined {
    if (this.overlay.has(id)) return this.overlay.get(id) ?? undefined;
    return this.confirmed.get(id);
  }

  get size(): number {
    return this.positions().length;
  }

  // ------------------------------------------------------------------ internals

  private async apply(
    from: number,
    to: number,
    target: Map<bigint, IndexedPosition | null>,
    overlay: boolean,
  ): Promise<void> {
    for (const log of await this.fetchLogs(from, to)) {
      // Decoding by topic directly: Interface.parseLog re-hashes every event signature for every log.
      const fragment = this.events.get(log.topics[0]!);
      if (!fragment) continue;
      const parsed = { name: fragment.name, args: this.iface.decodeEventLog(fragment, log.data, log.topics) };
      const id = parsed.args.getValue("id") as bigint;
      const current = target.has(id) ? target.get(id) : overlay ? this.confirmed.get(id) : undefined;
      const next = this.reduce(current ?? undefined, parsed.name, parsed.args);
      if (next === undefined && !overlay) target.delete(id);
      else target.set(id, next ?? null);
    }
  }

  /** One event applied to one position; undefined means the position no longer exists. */
  private reduce(
    p: IndexedPosition | undefined,
    name: string,
    args: { getValue(name: string): unknown },
  ): IndexedPosition | undefined {
    const id = args.getValue("id") as bigint;
    switch (name) {
      case "PositionOpened": {
        const mode = Number(args.getValue("mode")) as Mode;
        const asset = (args.getValue("asset") as string).toLowerCase();
        return { id, mode, asset: mode === Mode.Isolated ? asset : undefined, collateral: {}, normDebt: 0n, deadline: 0n };
      }
      case "PositionClosed":
        return undefined;
      case "PositionUpdated": {
        if (!p) return undefined; // opened before the index's range: cannot happen from the deployment block
        const asset = (args.getValue("asset") as string).toLowerCase();
        const collateral = { ...p.collateral };
        if (asset !== "0x0000000000000000000000000000000000000000") {
          const amount = args.getValue("collateral") as bigint;
          if (amount === 0n) delete collateral[asset];
          else collateral[asset] = amount;
        }
        return { ...p, collateral, normDebt: args.getValue("normDebt") as bigint };
      }
      case "MarginCalled":
        return p && { ...p, deadline: args.getValue("deadline") as bigint };
      case "MarginCallCleared":
        return p && { ...p, deadline: 0n };
      default:
        return p;
    }
  }

  /** Engine logs of the indexed events in [from, to], in chunks; a chunk the provider refuses is halved. */
  private async fetchLogs(from: number, to: number): Promise<Log[]> {
    const out: Log[] = [];
    let chunk = this.options.logChunk;
    for (let start = from; start <= to; ) {
      const end = Math.min(start + chunk - 1, to);
      try {
        this.logQueries++;
        const logs = await this.rpc.call("getLogs", (p: Provider) =>
          p.getLogs({ address: this.options.engine, fromBlock: start, toBlock: end, topics: [this.topics] }),
        );
        out.push(...logs);
        start = end + 1;
      } catch (e) {
        if (chunk > 1 && isRangeError(e)) {
          chunk = Math.max(1, Math.floor(chunk / 2));
          continue;
        }
        throw e;
      }
    }
    return out.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  }

  private async checkpointIsCanonical(): Promise<boolean> {
    const block = await this.rpc.call("getBlock", (p) => p.getBlock(this.confirmedBlock));
    return block?.hash === this.confirmedHash;
  }

  private reset(): void {
    this.confirmed = new Map();
    this.overlay = new Map();
    this.confirmedBlock = this.options.deploymentBlock - 1;
    this.confirmedHash = "";
  }

  private restore(): void {
    const snap = this.file?.read();
    if (!snap) return;
    if (snap.chainId !== this.options.chainId || snap.engine.toLowerCase() !== this.options.engine.toLowerCase()) {
      this.log?.warn({ checkpoint: this.file!.path }, "checkpoint is for another deployment: ignoring it");
      return;
    }
    this.confirmed = new Map(snap.positions.map((p) => [p.id, p]));
    this.confirmedBlock = snap.block;
    this.confirmedHash = snap.blockHash;
    this.log?.info({ block: snap.block, positions: snap.positions.length }, "resumed from checkpoint");
  }

  private save(): void {
    this.file?.write({
      chainId: this.options.chainId,
      engine: this.options.engine,
      block: this.confirmedBlock,
      blockHash: this.confirmedHash,
      positions: [...this.confirmed.values()],
    });
  }
}

/** Providers refuse large log ranges with messages like these; the remedy is a smaller range. */
function isRangeError(e: unknown): boolean {
  const text = String((e as Error)?.message ?? e).toLowerCase();
  return /range|too many|limit|exceed|size/.test(text);
}
