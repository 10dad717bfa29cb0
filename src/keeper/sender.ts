/**
 * Sends the keeper's transactions: simulate first (eth_call), then sign with our own nonce under a cross-process
 * lock, price with EIP-1559 fees, replace a transaction that stays pending with bumped fees, and classify the
 * outcome. A revert that means "someone was first" (the position is no longer liquidatable, the call is already
 * open, …) is success, not an error. With a private relay (`--private-rpc`), requests marked `private` are sent
 * there instead of to the public RPC; one the relay has not had included after its `fallbackBlocks` blocks is
 * broadcast publicly, the same signed transaction under the same nonce.
 */
import { Transaction, type TransactionReceipt, type Wallet } from "ethers";
import type { Logger } from "./log";
import { NonceLock } from "./nonceLock";
import type { InclusionPath, PrivateRelay } from "./privateRelay";
import { revertReason, shortMessage } from "../client/errors";
import { isTransient, mapLimit, type Rpc, sleep } from "./rpc";

/** Simulations in flight at once: enough to overlap round trips, few enough not to queue past the RPC timeout. */
const SIMULATIONS_IN_FLIGHT = 8;

/** Reverts that mean the work was already done (by another keeper, the owner, or an earlier block). */
export const ALREADY_DONE = new Set([
  "NotLiquidatable",
  "NotCallable",
  "AlreadyCalled",
  "NotCalled",
  "PositionNotFound",
  "NoDebt",
  "NothingToRepay",
  "NothingToCollect",
  "PokeTooSoon",
  "StillUnhealthy",
]);

export interface TxRequest {
  to: string;
  data: string;
  /** What this is, for logs and metrics: "liquidate", "marginCall", … */
  kind: string;
  /** Log context (position id, asset, …). */
  context?: Record<string, unknown>;
  /**
   * Set when the caller has just simulated this exact call (eth_call) with this much gas and it succeeded: it is sent
   * with exactly this gas limit, without the sender's eth_estimateGas (which on a node that traces every execution
   * costs as much again) or its margin.
   */
  simulatedGasLimit?: bigint;
  /** Send through the private relay when one is configured (liquidations); the public RPC otherwise. */
  private?: boolean;
}

export type SendOutcome =
  | { status: "mined"; hash: string; gasUsed: bigint; gasCost: bigint; receipt: TransactionReceipt; via: InclusionPath }
  | { status: "alreadyDone"; reason: string; gasCost?: bigint }
  | { status: "simulatedRevert"; reason: string }
  | { status: "dryRun"; gasEstimate: bigint }
  | { status: "revertedOnChain"; hash: string; gasCost: bigint }
  | { status: "failed"; error: string };

export interface SenderOptions {
  dryRun: boolean;
  /** A transaction pending this long is replaced with bumped fees. */
  bumpAfterMs: number;
  /** Fee increase per replacement, in percent (nodes require at least 10). */
  bumpPercent: number;
  /** Never pay more than this per gas [wei]. */
  maxFeePerGas: bigint;
  /** Replacements before giving up on a nonce (it stays pending; the next send re-reads the nonce). */
  maxBumps: number;
  /** How often to poll for a receipt. */
  pollMs: number;
}

export const DEFAULT_SENDER: SenderOptions = {
  dryRun: false,
  bumpAfterMs: 15_000,
  bumpPercent: 15,
  maxFeePerGas: 500n * 10n ** 9n,
  maxBumps: 5,
  pollMs: 250,
};

export class TxSender {
  readonly address: string;
  private readonly lock: NonceLock;
  private nextNonce?: number;
  sent = 0;
  bumped = 0;
  /** Told the path that included each transaction sent to the private relay (the keeper's metrics listen). */
  onRelayed?: (via: InclusionPath) => void;

  constructor(
    private readonly rpc: Rpc,
    private readonly wallet: Wallet,
    private readonly options: SenderOptions = DEFAULT_SENDER,
    private readonly log?: Logger,
    private readonly relay?: PrivateRelay,
  ) {
    this.address = wallet.address;
    this.lock = new NonceLock(wallet.address);
  }

  /** Simulates; on success sends (unless dry-run) and waits for the receipt. Never throws. */
  async send(req: TxRequest): Promise<SendOutcome> {
    return (await this.sendAll([req]))[0]!;
  }

  /**
   * Simulates every request (in parallel), broadcasts the ones that pass with consecutive nonces under one lock,
   * then waits for all receipts, replacing any transaction that stays pending. Outcomes are in request order.
   * Never throws.
   */
  async sendAll(reqs: readonly TxRequest[]): Promise<SendOutcome[]> {
    const outcomes: (SendOutcome | undefined)[] = await mapLimit(reqs, SIMULATIONS_IN_FLIGHT, (r) => this.simulate(r));
    const ready = reqs.flatMap((req, i) => (outcomes[i] === undefined ? [{ req, i, gas: this.estimates.get(req)! }] : []));
    if (ready.length === 0) return outcomes as SendOutcome[];
    if (this.options.dryRun) {
      for (const r of ready) {
        this.log?.info({ kind: r.req.kind, ...r.req.context, gasEstimate: r.gas }, "dry run: would send");
        outcomes[r.i] = { status: "dryRun", gasEstimate: r.gas };
      }
      return outcomes as SendOutcome[];
    }
    let sent: Broadcast[];
    try {
      const fees = await this.fees();
      const result = await this.lock.with(() => this.broadcastAll(ready, fees));
      sent = result.sent;
      for (const f of result.failed) outcomes[f.i] = { status: "failed", error: f.error };
    } catch (e) {
      this.nextNonce = undefined;
      for (const r of ready) outcomes[r.i] = { status: "failed", error: shortMessage(e) };
      this.log?.error({ error: shortMessage(e) }, "broadcast failed");
      return outcomes as SendOutcome[];
    }
    await mapLimit(sent, SIMULATIONS_IN_FLIGHT, async (s) => {
      outcomes[s.i] = await this.waitWithBumps(s).catch((e: unknown) => ({ status: "failed", error: shortMessage(e) }) as const);
    });
    return outcomes as SendOutcome[];
  }

  private readonly estimates = new WeakMap<TxRequest, bigint>();

  /** eth_estimateGas as the simulation: undefined when the transaction would succeed (estimate kept). */
  private async simulate(req: TxRequest): Promise<SendOutcome | undefined> {
    const ctx = { kind: req.kind, ...req.context };
    if (req.simulatedGasLimit !== undefined) {
      this.estimates.set(req, req.simulatedGasLimit);
      return undefined;
    }
    try {
      const gas = await this.rpc.call("estimateGas", (p) => p.estimateGas({ from: this.address, to: req.to, data: req.data }));
      this.estimates.set(req, gas);
      return undefined;
    } catch (e) {
      if (isTransient(e)) return { status: "failed", error: shortMessage(e) };
      const reason = revertReason(e);
      if (ALREADY_DONE.has(reason.split("(")[0]!)) {
        this.log?.info({ ...ctx, reason }, "already done");
        return { status: "alreadyDone", reason };
      }
      this.log?.warn({ ...ctx, reason }, "simulation reverted: not sending");
      return { status: "simulatedRevert", reason };
    }
  }

  /**
   * Consecutive nonces from max(pending, our next). A nonce race (another process with this key) re-reads the
   * pending nonce and retries; any other failure fails that request only, and the next one re-reads the nonce.
   */
  private async broadcastAll(
    ready: readonly { req: TxRequest; i: number; gas: bigint }[],
    fees: Fees,
  ): Promise<{ sent: Broadcast[]; failed: { i: number; error: string }[] }> {
    const sent: Broadcast[] = [];
    const failed: { i: number; error: string }[] = [];
    let nonce = await this.pendingNonce();
    // The relay's fallback counts blocks from the head at sending.
    const head = this.relay ? await this.rpc.call("blockNumber", (p) => p.getBlockNumber()) : 0;
    for (const { req, i, gas } of ready) {
      // A limit the caller's simulation succeeded with is kept; an estimate gets a margin (state may move before inclusion).
      const gasLimit = req.simulatedGasLimit ?? (gas * 12n) / 10n + 10_000n;
      for (let attempt = 0; ; attempt++) {
        try {
          const tx = await this.sign(req, gasLimit, fees, nonce, this.relay && req.private ? "private" : "public");
          sent.push({ i, req, nonce, tx, sentAt: head, gasLimit, fees });
          this.sent++;
          nonce++;
          this.nextNonce = nonce;
          break;
        } catch (e) {
          this.nextNonce = undefined;
          const nonceRace = /nonce|already known|underpriced/i.test(shortMessage(e));
          if (!nonceRace || attempt >= 5) {
            failed.push({ i, error: shortMessage(e) });
            this.log?.error({ kind: req.kind, ...req.context, error: shortMessage(e) }, "broadcast failed");
            nonce = await this.pendingNonce().catch(() => nonce);
            break;
          }
          // Another process with this key took the nonce. Wait out any cached read, then take the next free one.
          await sleep(300);
          nonce = Math.max(await this.pendingNonce(), nonce + 1);
        }
      }
    }
    return { sent, failed };
  }

  private async pendingNonce(): Promise<number> {
    const pending = await this.rpc.call("getTransactionCount", (p) => p.getTransactionCount(this.address, "pending"));
    return Math.max(pending, this.nextNonce ?? 0);
  }

  /**
   * Waits for the receipt of a transaction or of one of its replacements; replaces it while it stays pending. One
   * sent to the private relay and still not included `fallbackBlocks` blocks after sending is broadcast publicly.
   */
  private async waitWithBumps(s: Broadcast): Promise<SendOutcome> {
    const ctx = { kind: s.req.kind, ...s.req.context };
    const hashes = [s.tx.hash];
    let latest = s.tx;
    let fees = s.fees;
    const fallBack = async (): Promise<void> => {
      if (latest.via === "private") latest = await this.fallBack(latest, hashes, s, ctx);
    };
    for (let bumps = 0; ; ) {
      const receipt = await this.waitAny(hashes, this.options.bumpAfterMs, fallBack);
      if (receipt) {
        if (s.req.private && this.relay) this.onRelayed?.(latest.via);
        return this.outcome(receipt, s.req, { ...ctx, via: latest.via }, latest.via);
      }
      if (bumps >= this.options.maxBumps) {
        this.nextNonce = undefined;
        return { status: "failed", error: `nonce ${s.nonce} still pending after ${bumps} fee bumps` };
      }
      bumps++;
      fees = bump(fees, this.options.bumpPercent, this.options.maxFeePerGas);
      try {
        latest = await this.sign(s.req, s.gasLimit, fees, s.nonce, latest.via);
        hashes.push(latest.hash);
        this.bumped++;
        this.log?.info({ ...ctx, nonce: s.nonce, maxFeePerGas: fees.maxFeePerGas }, "replaced a stuck transaction");
      } catch (e) {
        // "nonce too low": one of our transactions with this nonce was mined meanwhile; the wait finds it.
        if (!/nonce|already known|underpriced/i.test(shortMessage(e))) throw e;
      }
    }
  }

  /**
   * Signs and sends through `route`. A relay that refuses or cannot be reached is logged and the transaction is
   * broadcast publicly at once: a liquidation left unsent is worse than one seen in the mempool.
   */
  private async sign(req: TxRequest, gasLimit: bigint, fees: Fees, nonce: number, route: InclusionPath): Promise<SignedTx> {
    const signed = await this.wallet.signTransaction({
      type: 2,
      chainId: this.rpc.chainId,
      to: req.to,
      data: req.data,
      nonce,
      gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const hash = Transaction.from(signed).hash!;
    if (route === "private" && this.relay) {
      try {
        await this.relay.send(signed);
        this.log?.info({ kind: req.kind, ...req.context, hash, nonce }, "sent to the private relay");
        return { hash, signed, via: "private" };
      } catch (e) {
        this.log?.warn({ kind: req.kind, ...req.context, hash, nonce, error: shortMessage(e) }, "private relay failed: broadcasting publicly");
      }
    }
    await this.broadcast(req, signed, hash, nonce);
    return { hash, signed, via: "public" };
  }

  /**
   * eth_sendRawTransaction to the public RPC. When it fails (an answer lost in a timeout, a retry told "already
   * known" or "nonce too low"), the node is asked whether it has the transaction anyway, so a sent transaction is
   * never sent again under another nonce.
   */
  private async broadcast(req: TxRequest, signed: string, hash: string, nonce: number): Promise<void> {
    try {
      await this.rpc.call("sendRawTransaction", (p) => p.broadcastTransaction(signed));
    } catch (e) {
      const known = await this.rpc.call("getTransaction", (p) => p.getTransaction(hash)).catch(() => null);
      if (!known) throw e;
      this.log?.info({ kind: req.kind, hash, nonce }, "broadcast answer lost, but the node has the transaction");
    }
  }

  /**
   * The fallback of a transaction sent to the private relay: once the head is `fallbackBlocks` past the block it was
   * sent at and none of `hashes` is included, the latest signed version is broadcast publicly. Returns it with the
   * path it now takes. "Nonce too low" means the relay got one of them included meanwhile: it stays private. A
   * failed broadcast is logged and tried again at the next poll.
   */
  private async fallBack(latest: SignedTx, hashes: readonly string[], s: Broadcast, ctx: Record<string, unknown>): Promise<SignedTx> {
    const blocks = this.relay?.fallbackBlocks ?? 0;
    try {
      const head = await this.rpc.call("blockNumber", (p) => p.getBlockNumber());
      if (head < s.sentAt + blocks) return latest;
      for (const h of hashes) {
        if (await this.rpc.call("getTransactionReceipt", (p) => p.getTransactionReceipt(h))) return latest;
      }
      try {
        await this.rpc.call("sendRawTransaction", (p) => p.broadcastTransaction(latest.signed));
      } catch (e) {
        if (/nonce too low|nonce has already been used/i.test(shortMessage(e))) return latest;
        // "Already known": the public node has it pending already; it is public now either way.
        if (!/already known/i.test(shortMessage(e))) throw e;
      }
      this.log?.warn({ ...ctx, hash: latest.hash, nonce: s.nonce, sentAt: s.sentAt, head, fallbackBlocks: blocks }, "not included through the private relay: broadcast publicly");
      return { ...latest, via: "public" };
    } catch (e) {
      this.log?.warn({ ...ctx, hash: latest.hash, error: shortMessage(e) }, "public fallback failed; trying again");
      return latest;
    }
  }

  /**
   * The first receipt among `hashes` (a transaction and its replacements), or undefined after `ms`; `onPoll` runs
   * after every round of receipts not found.
   */
  private async waitAny(hashes: string[], ms: number, onPoll: () => Promise<unknown>): Promise<TransactionReceipt | undefined> {
    const until = Date.now() + ms;
    for (;;) {
      for (const h of hashes) {
        const receipt = await this.rpc.call("getTransactionReceipt", (p) => p.getTransactionReceipt(h));
        if (receipt) return receipt;
      }
      await onPoll();
      if (Date.now() >= until) return undefined;
      await sleep(this.options.pollMs);
    }
  }

  /**
   * A mined transaction's outcome. A revert is replayed at its block to learn why: when another party got there
   * between our simulation and inclusion (the position is no longer liquidatable, the call already open, …), the
   * work is done and the outcome is `alreadyDone`, not a failure.
   */
  private async outcome(receipt: TransactionReceipt, req: TxRequest, ctx: Record<string, unknown>, via: InclusionPath): Promise<SendOutcome> {
    const gasCost = receipt.gasUsed * receipt.gasPrice;
    if (receipt.status === 1) {
      this.log?.info({ ...ctx, hash: receipt.hash, gasUsed: receipt.gasUsed, block: receipt.blockNumber }, "mined");
      return { status: "mined", hash: receipt.hash, gasUsed: receipt.gasUsed, gasCost, receipt, via };
    }
    let reason = "unknown";
    try {
      await this.rpc.call("call", (p) =>
        p.call({ from: this.address, to: req.to, data: req.data, blockTag: receipt.blockNumber }),
      );
    } catch (e) {
      reason = revertReason(e);
    }
    if (ALREADY_DONE.has(reason.split("(")[0]!)) {
      this.log?.info({ ...ctx, hash: receipt.hash, reason }, "already done by another party first (our transaction reverted)");
      return { status: "alreadyDone", reason, gasCost };
    }
    this.log?.warn({ ...ctx, hash: receipt.hash, reason }, "transaction reverted on chain");
    return { status: "revertedOnChain", hash: receipt.hash, gasCost };
  }

  private async fees(): Promise<Fees> {
    const data = await this.rpc.call("feeData", (p) => p.getFeeData());
    const tip = data.maxPriorityFeePerGas ?? 10n ** 9n;
    const max = data.maxFeePerGas ?? (data.gasPrice ?? 10n ** 9n) * 2n;
    const cap = this.options.maxFeePerGas;
    return { maxFeePerGas: max > cap ? cap : max, maxPriorityFeePerGas: tip > cap ? cap : tip };
  }
}

interface Broadcast {
  i: number;
  req: TxRequest;
  nonce: number;
  /** The first signed version (replacements are signed while waiting). */
  tx: SignedTx;
  /** The head when it was sent: the private relay's fallback counts blocks from here. */
  sentAt: number;
  gasLimit: bigint;
  fees: Fees;
}

/** One signed version of a transaction, and where it was sent. */
interface SignedTx {
  hash: string;
  signed: string;
  via: InclusionPath;
}

interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

function bump(f: Fees, percent: number, cap: bigint): Fees {
  const up = (x: bigint): bigint => {
    const next = (x * BigInt(100 + percent)) / 100n + 1n;
    return next > cap ? cap : next;
  };
  return { maxFeePerGas: up(f.maxFeePerGas), maxPriorityFeePerGas: up(f.maxPriorityFeePerGas) };
}
