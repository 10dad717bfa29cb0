/**
 * A local Keel chain for keeper tests and benchmarks: `hardhat node` started on 127.0.0.1 (random port, request
 * logging off), or anvil (deploy/anvil.ts) through `startLocalNode`, and stopped by its caller, Keel deployed there with the production deploy code, the AMM seeded for
 * flash liquidations. Sample positions come from dev/samplePositions.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, NonceManager, type Signer } from "ethers";
import { deployKeel, type Keel } from "../deploy";
import { LOCAL_POLLING_MS, startAnvil } from "../deploy/anvil";
import { devWallet } from "./accounts";
import { mintFunder } from "./funding";
import { seedAmm } from "./localMarket";
import { writeManifest } from "../deploy/manifest";


/** The repository root (where `npx hardhat node` must run). */
const ROOT = join(__dirname, "..");

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

/** The nodes a local chain can run on: Hardhat's, or Foundry's native anvil (same chain id and accounts). */
export const ENGINES = ["hardhat", "anvil"] as const;
export type Engine = (typeof ENGINES)[number];

/** Starts a node of `engine` on 127.0.0.1 (optionally forking another node). */
export async function startLocalNode(engine: Engine, options: { port?: number; fork?: string; forkBlock?: number } = {}): Promise<Node> {
  return engine === "anvil" ? startAnvil(options) : startNode(options);
}

/** Starts `hardhat node` on 127.0.0.1 (optionally forking another node), resolving once it serves requests. */
export async function startNode(options: { port?: number; fork?: string; forkBlock?: number } = {}): Promise<Node> {
  const port = options.port ?? (await freePort());
  const args = ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)];
  if (options.fork) args.push("--fork", options.fork);
  if (options.forkBlock !== undefined) args.push("--fork-block-number", String(options.forkBlock));
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
  // No response cache: ethers reuses an identical read for 250 ms, so a balance read just after a fast transaction
  // could return the value from before it (the app's cross-position browser test failed once this way on a loaded CI run).
  const provider = new JsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1, pollingInterval: LOCAL_POLLING_MS });
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

/** Deploys Keel on the node, seeds both swap venues (the deep AMM for flash liquidations, the shallow one a tenth
 * of it), writes the manifest. */
export async function deployOnNode(node: Node): Promise<Deployed> {
  const deployer = new NonceManager(devWallet(0, node.provider));
  const keel = await deployKeel(deployer);
  await seedAmm(keel, deployer, { WETH: "5000", WBTC: "250", USDC: "10000000", wstETH: "4000" }, mintFunder, true);
  const manifest = await writeManifest(keel, "keeper-test", mkdtempSync(join(tmpdir(), "keel-keeper-")));
  return { keel, manifest, deployer };
}
