/**
 * anvil, Foundry's native node, from the npm package (@foundry-rs/anvil): started on 127.0.0.1 on a port the system
 * picks, optionally forking another node, and stopped by its caller. `npm run deploy -- --dry-run` runs a
 * deployment on an anvil fork of the target so it can measure every transaction without sending one.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { JsonRpcProvider } from "ethers";
import { KeelError } from "../src/units/error";

/**
 * How often ethers looks again for a receipt it is waiting for (`wait()`) on a node of this machine, which mines at
 * once. Its default, 4 s, is a public chain's: the keeper bench read it as a 4.2 s reaction on 10,000 positions.
 */
export const LOCAL_POLLING_MS = 50;

export class NodeProcessError extends KeelError {
  override name = "NodeProcessError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("RPC", message, options);
  }
}

export interface Anvil {
  url: string;
  port: number;
  provider: JsonRpcProvider;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The anvil binary of this platform's @foundry-rs package (the npm wrapper would add a process in between). */
export function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
  } catch (e) {
    throw new NodeProcessError(`anvil: ${pkg} is not installed (run npm ci on a supported platform)`, { cause: e });
  }
}

export interface AnvilOptions {
  /** Port on 127.0.0.1; by default one the system picks. */
  port?: number;
  /** A node to fork, at `forkBlock` or its latest block. */
  fork?: string;
  forkBlock?: number;
  /** Send transactions from any address without its key (a dry run's deployer). */
  autoImpersonate?: boolean;
  /** Chain id of a fresh chain (a fork keeps the forked chain's). */
  chainId?: number;
}

/** Starts anvil on 127.0.0.1, resolving once it serves requests. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const args = ["--host", "127.0.0.1", "--port", String(options.port ?? 0)];
  if (options.fork) args.push("--fork-url", options.fork);
  if (options.forkBlock !== undefined) args.push("--fork-block-number", String(options.forkBlock));
  if (options.autoImpersonate) args.push("--auto-impersonate");
  if (options.chainId !== undefined) args.push("--chain-id", String(options.chainId));
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new NodeProcessError(`anvil did not start in 60 s:\n${output}`)), 60_000);
      const onData = (d: Buffer): void => {
        output += d.toString();
        const listening = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
        if (listening) {
          clearTimeout(timer);
          resolve(Number(listening[1]));
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(new NodeProcessError(`anvil could not start: ${e.message}`, { cause: e }));
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new NodeProcessError(`anvil exited with ${code}:\n${output}`));
      });
    });
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
  // anvil logs every request; nobody reads it once it listens.
  child.stdout!.removeAllListeners("data");
  child.stderr!.removeAllListeners("data");
  child.stdout!.resume();
  child.stderr!.resume();
  const url = `http://127.0.0.1:${port}`;
  const provider = new JsonRpcProvider(url, undefined, { cacheTimeout: -1, pollingInterval: LOCAL_POLLING_MS });
  return {
    url,
    port,
    provider,
    process: child,
    stop: async () => {
      provider.destroy();
      await stopProcess(child);
    },
  };
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
