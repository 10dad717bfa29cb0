/**
 * Keeper tests run against a real JSON-RPC node: `hardhat node` started on 127.0.0.1 by the test and stopped by
 * it. Keel is deployed there with the production deploy code, the AMM is seeded for flash liquidations, and a book
 * of positions is opened across the four assets in both modes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, NonceManager, type Signer, type TransactionReceipt, type TransactionResponse, Wallet } from "ethers";
import { deployKeel, type Keel } from "../../deploy";
import { refreshFeeds, seedAmm } from "../../deploy/local";
import { writeManifest } from "../../deploy/manifest";
import { Prng } from "../../src/risk/random";

/** Hardhat's well-known development mnemonic: the node funds these accounts. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const devWallet = (i: number, provider?: JsonRpcProvider): Wallet => {
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
  const child = spawn("npx", args, { cwd: join(__dirname, "..", ".."), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
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
  child.stdout!.removeAllListeners("data");
  child.stderr!.removeAllListeners("data");
  child.stdout!.resume();
  child.stderr!.resume();
  const url = `http://127.0.0.1:${port}`;
  const provider = new JsonRpcProvider(url, 31337, { staticNetwork: true });
  // The node prints every request and transaction; with thousands of them that costs more than the EVM.
  await provider.send("hardhat_setLoggingEnabled", [false]);
  return {
    url,
    port,
    provider,
    process: child,
    async stop() {
      provider.destroy();
      await killGroup(child);
    },
  };
}

/** Kills the node and everything it spawned (npx → node), waiting for the exit. */
export async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
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

export interface BookOptions {
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
export async function openBook(keel: Keel, node: Node, options: BookOptions): Promise<bigint[]> {
  const prng = new Prng(options.seed ?? 7n);
  const owners = Array.from({ length: options.owners ?? 5 }, (_, i) => devWallet(i + 1, node.provider));
  const manager = keel.manager;
  const sym = ["WETH", "WBTC", "USDC", "wstETH"];
  const token = (s: string): string => keel.assets[s]!.token.target as string;
  const unit = (s: string): bigint => 10n ** BigInt(keel.assets[s]!.config.decimals);
  const nonces = await Promise.all(owners.map((o) => node.provider.getTransactionCount(o.address, "pending")));
  // With automine off the node queues transactions whatever order they arrive in; mineAll mines them.
  await node.provider.send("evm_setAutomine", [false]);
  const send = async (i: number, tx: { to: string; data: string }): Promise<TransactionResponse> =>
    owners[i]!.sendTransaction({ ...tx, nonce: nonces[i]!++, gasLimit: 1_500_000, type: 2, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n });
  // Fund and approve once per owner.
  const pending: Promise<TransactionResponse>[] = [];
  for (let i = 0; i < owners.length; i++) {
    for (const s of sym) {
      const t = keel.assets[s]!.token;
      pending.push(send(i, { to: t.target as string, data: t.interface.encodeFunctionData("mint", [owners[i]!.address, 10n ** 12n * unit(s)]) }));
      pending.push(send(i, { to: t.target as string, data: t.interface.encodeFunctionData("approve", [manager.target as string, 2n ** 255n]) }));
    }
  }
  await mineAll(node, pending);
  const firstId = (await keel.engine.lastPositionId()) + 1n;
  const prices: Record<string, bigint> = {};
  for (const s of sym) prices[s] = await keel.oracle.getPrice(token(s));
  const txs: Promise<TransactionResponse>[] = [];
  await node.provider.send("evm_setAutomine", [false]);
  for (let n = 0; n < options.positions; n++) {
    const owner = n % owners.length;
    const leverage = BigInt(prng.int(55, 95)); // % of the initial-margin limit
    const usd = BigInt(prng.int(2_000, 50_000)) * 10n ** 18n;
    if (n % 3 === 2) {
      const assets = ["WETH", "WBTC", "USDC"];
      const amounts = assets.map((s) => (usd * unit(s)) / 3n / prices[s]!);
      const debt = (usd * 70n * leverage) / 10_000n; // basket floors bind: ~70% of value is the limit
      txs.push(send(owner, { to: manager.target as string, data: manager.interface.encodeFunctionData("openCrossAndBorrow", [assets.map(token), amounts, debt, owners[owner]!.address]) }));
    } else {
      const s = sym[n % 4]!;
      const amount = (usd * unit(s)) / prices[s]!;
      const limit = s === "USDC" ? 91n : s === "wstETH" ? 83n : 84n; // 1 − max(zi σmin, hi), in %
      const debt = (usd * limit * leverage) / 10_000n;
      txs.push(send(owner, { to: manager.target as string, data: manager.interface.encodeFunctionData("openAndBorrow", [token(s), amount, debt, owners[owner]!.address]) }));
    }
  }
  const receipts = await mineAll(node, txs);
  const failed = receipts.filter((r) => r?.status !== 1).length;
  if (failed > 0) throw new Error(`openBook: ${failed} of ${options.positions} opens failed`);
  return Array.from({ length: options.positions }, (_, i) => firstId + BigInt(i));
}

/** Mines blocks until every transaction of `txs` has a receipt, then turns automine back on. */
async function mineAll(node: Node, txs: readonly Promise<TransactionResponse>[]): Promise<(TransactionReceipt | null)[]> {
  const sent = await Promise.all(txs);
  for (;;) {
    await node.provider.send("evm_mine", []);
    const pending = (await node.provider.send("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] };
    if (pending.transactions.length === 0) break;
  }
  const receipts = await Promise.all(sent.map((t) => node.provider.getTransactionReceipt(t.hash)));
  await node.provider.send("evm_setAutomine", [true]);
  return receipts;
}

/** Moves a mock feed by `percent` (negative = down) and refreshes the others' heartbeat. */
export async function movePrice(keel: Keel, symbol: string, percent: number): Promise<void> {
  const feed = keel.assets[symbol]!.feed;
  const answer = await feed.latestAnswer();
  await (await feed.updateAnswer((answer * BigInt(Math.round((100 + percent) * 100))) / 10_000n)).wait();
}

export { refreshFeeds };
