/**
 * Sample positions for local networks (a `hardhat node` or the in-process network): Hardhat's development
 * accounts, and positions opened through the PositionManager in pipelined blocks. Used by the keeper tests and
 * benchmarks, `npm run node`, `npm run demo` and the stress replays.
 */
import type { TransactionReceipt, TransactionResponse } from "ethers";
import { type DevProvider, devWallet } from "./accounts";
import type { Funder } from "./funding";
import type { Keel, KeelAsset } from "../deploy";
import { Prng } from "../src/risk/random";

export interface SamplePositionsOptions extends OpenOptions {
  positions: number;
  seed?: bigint;
  /** Accounts 1.. hold the positions; the keeper uses others. */
  owners?: number;
}

/**
 * Opens `positions` positions through the PositionManager: about two thirds isolated (WETH, WBTC, USDC, wstETH in
 * turn) and one third cross (WETH + WBTC + USDC), each borrowing 55–95% of what its initial margin allows, so a
 * crash spreads them over every state. Transactions are pipelined with explicit nonces.
 */
export async function openSamplePositions(keel: Keel, node: { provider: DevProvider }, options: SamplePositionsOptions): Promise<bigint[]> {
  const prng = new Prng(options.seed ?? 7n);
  const sym = ["WETH", "WBTC", "USDC", "wstETH"];
  const unit = (s: string): bigint => 10n ** BigInt(listedAsset(keel, s, "openSamplePositions").config.decimals);
  const prices: Record<string, bigint> = {};
  for (const s of sym) prices[s] = await keel.oracle.getPrice(listedAsset(keel, s, "openSamplePositions").token.target as string);
  const specs: PositionSpec[] = [];
  for (let n = 0; n < options.positions; n++) {
    const leverage = BigInt(prng.int(55, 95)); // % of the initial-margin limit
    const usd = BigInt(prng.int(2_000, 50_000)) * 10n ** 18n;
    if (n % 3 === 2) {
      const assets = ["WETH", "WBTC", "USDC"];
      const amounts = assets.map((s) => (usd * unit(s)) / 3n / prices[s]!);
      const debt = (usd * 70n * leverage) / 10_000n; // basket floors bind: ~70% of value is the limit
      specs.push({ assets, amounts, debt, cross: true });
    } else {
      const s = sym[n % 4]!;
      const amount = (usd * unit(s)) / prices[s]!;
      const limit = s === "USDC" ? 91n : s === "wstETH" ? 83n : 84n; // 1 − max(zi σmin, hi), in %
      const debt = (usd * limit * leverage) / 10_000n;
      specs.push({ assets: [s], amounts: [amount], debt });
    }
  }
  const firstId = (await keel.engine.lastPositionId()) + 1n;
  await openPositions(keel, node, specs, options);
  return Array.from({ length: options.positions }, (_, i) => firstId + BigInt(i));
}

/** One position for `openPositions`: collateral by symbol (token units) and the kUSD [wad] it borrows. */
export interface PositionSpec {
  assets: string[];
  amounts: bigint[];
  debt: bigint;
  /** Cross mode (several assets allowed); isolated otherwise, with exactly one asset. */
  cross?: boolean;
}

export interface OpenOptions {
  /** Where the owners' tokens come from when the assets are not mocks (a fork); by default each owner mints. */
  fund?: Funder;
  /** Accounts 1..owners hold the positions (round robin); default 5. */
  owners?: number;
  /** Transactions mined per block while opening (the block gas limit is raised to fit them, then restored). */
  perBlock?: number;
  /** Requests in flight to the node while signing and sending; default 16. */
  inFlight?: number;
  /**
   * After this many transactions (default 1,500), the node is left idle for `settleMs` (default 12 s). The node
   * (EDR) gives back the memory of mined blocks (~5 MB per open) only when its worker threads idle out (10 s):
   * mining 10,000 opens without a pause takes it past 20 GB.
   */
  settleEvery?: number;
  settleMs?: number;
}

/** Gas limit of one pipelined open: far above what any of them uses. */
const OPEN_GAS = 1_500_000;

/**
 * Opens `specs` through the PositionManager, owners 1..`owners` in turn, and returns each spec's position id (from
 * its PositionOpened event). Funding (mint and approve every asset) and the opens are signed with explicit nonces,
 * queued with automine off and mined `perBlock` to a block; a failed open throws.
 */
export async function openPositions(
  keel: Keel,
  node: { provider: DevProvider },
  specs: readonly PositionSpec[],
  options: OpenOptions = {},
): Promise<bigint[]> {
  const provider = node.provider;
  const owners = Array.from({ length: options.owners ?? 5 }, (_, i) => devWallet(i + 1, provider));
  if (owners.length === 0 && specs.length > 0) throw new Error("openPositions: options.owners is 0; no account to hold the positions");
  const manager = keel.manager;
  // Every asset is resolved before anything is sent: an unlisted one fails here, with nothing funded or opened.
  const sym = ["WETH", "WBTC", "USDC", "wstETH"].map((s) => listedAsset(keel, s, "openPositions"));
  const token = (s: string): string => listedAsset(keel, s, "openPositions").token.target as string;
  const unit = (a: KeelAsset): bigint => 10n ** BigInt(a.config.decimals);
  const isolatedOpen = (spec: PositionSpec, n: number, to: string): string => {
    const [asset] = spec.assets;
    const [amount] = spec.amounts;
    if (asset === undefined || amount === undefined) {
      throw new Error(`openPositions: spec ${n} is isolated and needs one asset and one amount (got ${spec.assets.length} and ${spec.amounts.length})`);
    }
    return manager.interface.encodeFunctionData("openAndBorrow", [token(asset), amount, spec.debt, to]);
  };
  const openCalls = specs.map((spec, n) => {
    const owner = n % owners.length;
    const to = owners[owner]!.address;
    const data = spec.cross
      ? manager.interface.encodeFunctionData("openCrossAndBorrow", [spec.assets.map(token), spec.amounts, spec.debt, to])
      : isolatedOpen(spec, n, to);
    return { owner, data };
  });
  const nonces = await Promise.all(owners.map((o) => provider.getTransactionCount(o.address, "pending")));
  const send = async (i: number, tx: { to: string; data: string }): Promise<TransactionResponse> =>
    owners[i]!.sendTransaction({ ...tx, nonce: nonces[i]!++, gasLimit: OPEN_GAS, type: 2, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
  // Fund and approve once per owner.
  const funding: (() => Promise<TransactionResponse>)[] = [];
  for (const [i, owner] of owners.entries()) {
    for (const a of sym) {
      const t = a.token;
      const to = t.target as string;
      const amount = 10n ** 12n * unit(a);
      if (options.fund) await options.fund(t, owner.address, amount);
      else funding.push(() => send(i, { to, data: t.interface.encodeFunctionData("mint", [owner.address, amount]) }));
      funding.push(() => send(i, { to, data: t.interface.encodeFunctionData("approve", [manager.target as string, 2n ** 255n]) }));
    }
  }
  const opens = openCalls.map(({ owner, data }) => () => send(owner, { to: manager.target as string, data }));
  const receipts = await sendAndMine(provider, [...funding, ...opens], {
    perBlock: options.perBlock ?? 250,
    inFlight: options.inFlight ?? 16,
    settleEvery: options.settleEvery ?? 1_500,
    settleMs: options.settleMs ?? 12_000,
  });
  const opened = receipts.slice(funding.length);
  const failed = opened.filter((r) => r?.status !== 1).length;
  if (failed > 0) throw new Error(`openPositions: ${failed} of ${specs.length} opens failed`);
  const openedTopic = keel.engine.interface.getEvent("PositionOpened")!.topicHash;
  const engine = (keel.engine.target as string).toLowerCase();
  return opened.map((r) => {
    const log = r!.logs.find((l) => l.address.toLowerCase() === engine && l.topics[0] === openedTopic);
    if (!log) throw new Error(`openPositions: no PositionOpened in ${r!.hash}`);
    return BigInt(log.topics[1]!);
  });
}

/** The listed asset `symbol`; a deployment without it cannot hold the sample positions. */
function listedAsset(keel: Keel, symbol: string, where: string): KeelAsset {
  const asset = Object.hasOwn(keel.assets, symbol) ? keel.assets[symbol] : undefined;
  if (!asset) throw new Error(`${where}: the deployment lists no ${symbol} (it lists ${Object.keys(keel.assets).join(", ")})`);
  return asset;
}

/**
 * Signs and queues `txs` (in order, each one's nonce fixed when it is called) with automine off, mining while the
 * next chunk is signed: blocks of `perBlock` transactions (the gas limit is raised for them and restored after).
 * Returns every receipt, in order; automine is back on at the end, whatever happens.
 */
async function sendAndMine(
  provider: DevProvider,
  txs: readonly (() => Promise<TransactionResponse>)[],
  o: Required<Pick<OpenOptions, "perBlock" | "inFlight" | "settleEvery" | "settleMs">>,
): Promise<(TransactionReceipt | null)[]> {
  const perBlock = o.perBlock;
  const latest = await provider.getBlock("latest");
  const gasLimit = latest!.gasLimit;
  const wanted = BigInt(perBlock * OPEN_GAS);
  await provider.send("evm_setAutomine", [false]);
  if (wanted > gasLimit) await provider.send("evm_setBlockGasLimit", [`0x${wanted.toString(16)}`]);
  try {
    const sent: TransactionResponse[] = [];
    let mining: Promise<unknown> = Promise.resolve();
    let unsettled = 0;
    for (let i = 0; i < txs.length; i += perBlock) {
      // Signing this chunk overlaps with the node mining the previous one; a transaction that reaches the node
      // before that block is sealed just joins it.
      const chunk = await inParallel(txs.slice(i, i + perBlock), o.inFlight);
      sent.push(...chunk);
      await mining;
      mining = provider.send("evm_mine", []);
      mining.catch(() => undefined); // awaited above or below; no unhandled rejection if signing throws first
      unsettled += chunk.length;
      if (unsettled >= o.settleEvery && i + perBlock < txs.length) {
        await mining;
        await new Promise((resolve) => setTimeout(resolve, o.settleMs));
        unsettled = 0;
      }
    }
    await mining;
    // Mine until the last transaction of every sender is in (nonces are consecutive per sender).
    const last = new Map<string, TransactionResponse>();
    for (const t of sent) if ((last.get(t.from)?.nonce ?? -1) < t.nonce) last.set(t.from, t);
    for (let guard = 0; ; guard++) {
      const got = await Promise.all([...last.values()].map((t) => provider.getTransactionReceipt(t.hash)));
      if (got.every((r) => r !== null)) break;
      if (guard > 10_000) throw new Error("sendAndMine: transactions never mined");
      await provider.send("evm_mine", []);
    }
    return await inParallel(
      sent.map((t) => () => provider.getTransactionReceipt(t.hash)),
      100,
    );
  } finally {
    if (wanted > gasLimit) await provider.send("evm_setBlockGasLimit", [`0x${gasLimit.toString(16)}`]);
    await provider.send("evm_setAutomine", [true]);
  }
}

/** Runs `tasks` with at most `limit` in flight, results in order (thousands at once make the node start ~500 threads). */
async function inParallel<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < tasks.length; i = next++) out[i] = await tasks[i]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}
