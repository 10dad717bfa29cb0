/**
 * A local Keel chain for keeper tests and benchmarks: `hardhat node` started on 127.0.0.1 (random port, request
 * logging off) and stopped by its caller, Keel deployed there with the production deploy code, the AMM seeded for
 * flash liquidations, and books of positions opened in pipelined blocks. test/keeper/harness.ts re-exports this.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  HDNodeWallet,
  JsonRpcProvider,
  Mnemonic,
  NonceManager,
  type Provider,
  type Signer,
  type TransactionReceipt,
  type TransactionResponse,
  Wallet,
} from "ethers";
import { deployKeel, type Keel } from "../../deploy";
import { refreshFeeds, seedAmm } from "../../deploy/local";
import { writeManifest } from "../../deploy/manifest";
import { Prng } from "../../src/risk/random";

/** The repository root (where `npx hardhat node` must run). */
const ROOT = join(__dirname, "..", "..");

/** Hardhat's well-known development mnemonic: the node funds these accounts. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const devWallet = (i: number, provider?: Provider): Wallet => {
  const w = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${i}`);
  return new Wallet(w.privateKey, provider);
};

export interface Node {
  url: string;
  port: number;
  provider: JsonRpcProvider;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts `hardhat node` on 127.0.0.1 (optionally forking another node), resolving once it serves requests. */
export async function startNode(options: { port?: number; fork?: string } = {}): Promise<Node> {
  const port = options.port ?? (await freePort());
  const args = ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)];
  if (options.fork) args.push("--fork", options.fork);
  const child = spawn("npx", args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hardhat node did not start in 60 s:\n${output}`)), 60_000);
      const onData = (d: Buffer): void => {
        output += d.toString();
        if (output.includes("Started HTTP and WebSocket JSON-RPC server")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`hardhat node exited with ${code}:\n${output}`));
      });
    });
  } catch (e) {
    await killGroup(child); // a node that started too slowly must not outlive us
    throw e;
  }
  child.stdout!.removeAllListeners("data");
  child.stderr!.removeAllListeners("data");
  child.stdout!.resume();
  child.stderr!.resume();
  const url = `http://127.0.0.1:${port}`;
  const provider = new JsonRpcProvider(url, 31337, { staticNetwork: true });
  const stop = async (): Promise<void> => {
    provider.destroy();
    await killGroup(child);
  };
  try {
    // The node prints every request and transaction; with thousands of them that costs more than the EVM.
    await provider.send("hardhat_setLoggingEnabled", [false]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, port, provider, process: child, stop };
}

/** Kills the node and everything it spawned (npx → node), waiting for the exit. */
export async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

export interface Deployed {
  keel: Keel;
  manifest: string;
  deployer: Signer;
}

/** Deploys Keel on the node, seeds the AMM deep enough for flash liquidations, writes the manifest. */
export async function deployOnNode(node: Node): Promise<Deployed> {
  const deployer = new NonceManager(devWallet(0, node.provider));
  const keel = await deployKeel(deployer);
  await seedAmm(keel, deployer, { WETH: "5000", WBTC: "250", USDC: "10000000", wstETH: "4000" });
  const manifest = await writeManifest(keel, "keeper-test", mkdtempSync(join(tmpdir(), "keel-keeper-")));
  return { keel, manifest, deployer };
}

export interface BookOptions extends OpenOptions {
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
export async function openBook(keel: Keel, node: Pick<Node, "provider">, options: BookOptions): Promise<bigint[]> {
  const prng = new Prng(options.seed ?? 7n);
  const sym = ["WETH", "WBTC", "USDC", "wstETH"];
  const unit = (s: string): bigint => 10n ** BigInt(keel.assets[s]!.config.decimals);
  const prices: Record<string, bigint> = {};
  for (const s of sym) prices[s] = await keel.oracle.getPrice(keel.assets[s]!.token.target as string);
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
  node: Pick<Node, "provider">,
  specs: readonly PositionSpec[],
  options: OpenOptions = {},
): Promise<bigint[]> {
  const provider = node.provider;
  const owners = Array.from({ length: options.owners ?? 5 }, (_, i) => devWallet(i + 1, provider));
  const manager = keel.manager;
  const sym = ["WETH", "WBTC", "USDC", "wstETH"];
  const token = (s: string): string => keel.assets[s]!.token.target as string;
  const unit = (s: string): bigint => 10n ** BigInt(keel.assets[s]!.config.decimals);
  const nonces = await Promise.all(owners.map((o) => provider.getTransactionCount(o.address, "pending")));
  const send = async (i: number, tx: { to: string; data: string }): Promise<TransactionResponse> =>
    owners[i]!.sendTransaction({ ...tx, nonce: nonces[i]!++, gasLimit: OPEN_GAS, type: 2, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
  // Fund and approve once per owner.
  const funding: (() => Promise<TransactionResponse>)[] = [];
  for (let i = 0; i < owners.length; i++) {
    for (const s of sym) {
      const t = keel.assets[s]!.token;
      funding.push(() => send(i, { to: token(s), data: t.interface.encodeFunctionData("mint", [owners[i]!.address, 10n ** 12n * unit(s)]) }));
      funding.push(() => send(i, { to: token(s), data: t.interface.encodeFunctionData("approve", [manager.target as string, 2n ** 255n]) }));
    }
  }
  const opens = specs.map((spec, n) => {
    const owner = n % owners.length;
    const to = owners[owner]!.address;
    const data = spec.cross
      ? manager.interface.encodeFunctionData("openCrossAndBorrow", [spec.assets.map(token), spec.amounts, spec.debt, to])
      : manager.interface.encodeFunctionData("openAndBorrow", [token(spec.assets[0]!), spec.amounts[0]!, spec.debt, to]);
    return () => send(owner, { to: manager.target as string, data });
  });
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

/**
 * Signs and queues `txs` (in order, each one's nonce fixed when it is called) with automine off, mining while the
 * next chunk is signed: blocks of `perBlock` transactions (the gas limit is raised for them and restored after).
 * Returns every receipt, in order; automine is back on at the end, whatever happens.
 */
async function sendAndMine(
  provider: JsonRpcProvider,
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

/** Moves a mock feed by `percent` (negative = down) and refreshes the others' heartbeat. */
export async function movePrice(keel: Keel, symbol: string, percent: number): Promise<void> {
  const feed = keel.assets[symbol]!.feed;
  const answer = await feed.latestAnswer();
  await (await feed.updateAnswer((answer * BigInt(Math.round((100 + percent) * 100))) / 10_000n)).wait();
}

export { refreshFeeds };
