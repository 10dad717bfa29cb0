/**
 * `npm run node -- [--engine hardhat|anvil] [--port 8545] [--positions 40] [--config file.json] [--out deployments/localhost.json]`
 * `FORK_URL=<rpc> [FORK_BLOCK=n] npm run node` forks a live network (mainnet tokens and Chainlink feeds).
 *
 * A local JSON-RPC node on 127.0.0.1 (`hardhat node`, or anvil with `--engine anvil`) with Keel deployed by the production deploy code, the AMM seeded deep enough
 * for flash liquidations, sample positions on Hardhat's development accounts 1–5, and the deployment manifest
 * written where `npm run keeper` and `npm run keel` read it. Runs until Ctrl-C, then stops the node.
 */
import { readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { NonceManager } from "ethers";
import { deployKeel, type Keel, localConfig, type RawKeelConfig } from "../deploy";
import { devWallet } from "../dev/accounts";
import { openSamplePositions } from "../dev/samplePositions";
import { dealFunder, mintFunder } from "../dev/funding";
import { seedAmm } from "../dev/localMarket";
import { writeManifest } from "../deploy/manifest";
import { mainnetForkConfig } from "../deploy/networks/mainnet";
import { formatFixed } from "../src/units";
import { DEFAULT_AMM_DEPTH } from "../scenario/crash";
import { ENGINES, type Engine, freePort, type Node, startLocalNode } from "../dev/localNode";
import { KeelError } from "../src/units/error";
import { int, oneOf, parseFlags, UsageError } from "./lib/args";
import { runMain } from "./lib/main";

/** Where the CLI looks for the manifest by default. */
const DEFAULT_OUT = "deployments/localhost.json";

interface Args {
  engine: Engine;
  port: number;
  positions: number;
  config?: string;
  out: string;
  fork?: string;
  forkBlock?: number;
}

function parse(): Args {
  const { values } = parseFlags({
    options: {
      engine: { type: "string", default: "hardhat" },
      port: { type: "string", default: "8545" },
      positions: { type: "string", default: "40" },
      config: { type: "string" },
      out: { type: "string", default: DEFAULT_OUT },
    },
  });
  if (!values.out.endsWith(".json")) throw new UsageError(`--out: expected a .json path, got "${values.out}"`);
  const forkBlock = process.env.FORK_BLOCK;
  if (forkBlock !== undefined && !process.env.FORK_URL) throw new UsageError("FORK_BLOCK needs FORK_URL");
  return {
    engine: oneOf("--engine", values.engine, ENGINES),
    port: values.port === "0" ? 0 : int("--port", values.port, { min: 1024, max: 65535 }),
    positions: int("--positions", values.positions, { min: 0, max: 2_000 }),
    config: values.config,
    out: values.out,
    fork: process.env.FORK_URL || undefined,
    forkBlock: forkBlock === undefined ? undefined : int("FORK_BLOCK", forkBlock, { min: 0, max: Number.MAX_SAFE_INTEGER }),
  };
}

function configFor(args: Args): { config: RawKeelConfig; source: string } {
  if (args.config) {
    try {
      return { config: JSON.parse(readFileSync(args.config, "utf8")) as RawKeelConfig, source: args.config };
    } catch (e) {
      throw new KeelError("INPUT", `--config ${args.config}: ${(e as Error).message}`, { cause: e });
    }
  }
  return args.fork ? { config: mainnetForkConfig, source: "mainnet (deploy/networks/mainnet.ts)" } : { config: localConfig, source: "local (deploy/networks/local.ts)" };
}

async function main(): Promise<void> {
  const args = parse();
  const { config, source } = configFor(args);
  const port = args.port === 0 ? await freePort() : args.port;
  const say = (line = ""): boolean => process.stdout.write(`${line}\n`);
  say(args.fork ? `Forking ${args.fork}${args.forkBlock !== undefined ? ` at block ${args.forkBlock}` : ""} on ${args.engine} …` : `Starting a local ${args.engine} node …`);
  let node: Node;
  try {
    const options = { port, fork: args.fork, forkBlock: args.forkBlock };
    node = await startLocalNode(args.engine, options);
  } catch (e) {
    throw new KeelError("RPC", `could not start the node on 127.0.0.1:${port} (${(e as Error).message.split("\n")[0]})`, { cause: e });
  }
  const stop = async (code: number): Promise<never> => {
    await node.stop();
    process.exit(code);
  };
  process.once("SIGINT", () => void stop(0));
  process.once("SIGTERM", () => void stop(0));
  try {
    if (args.fork && args.engine === "hardhat") {
      // Hardhat runs calls at the fork block under the forked chain's hardfork history, which it knows only for
      // public chains (a fork of a local node has none): mine one block so everything runs on a block of our own.
      await node.provider.send("evm_mine", []);
    }
    const deployer = new NonceManager(devWallet(0, node.provider));
    say(`Deploying Keel (config: ${source}) …`);
    const keel = await deployKeel(deployer, config);
    const fund = args.fork ? dealFunder(node.provider) : mintFunder;
    await seedAmm(keel, deployer, DEFAULT_AMM_DEPTH, fund, true);
    if (args.positions > 0) {
      say(`Opening ${args.positions} sample positions …`);
      // One request in flight: the node mines them in the order sent, so ids and owners are the same every run.
      await openSamplePositions(keel, node, { positions: args.positions, seed: 1n, fund: args.fork ? fund : undefined, settleEvery: 100_000, inFlight: 1 });
    }
    const manifest = await writeManifest(keel, basename(args.out, ".json"), dirname(args.out));
    say();
    say(await describe(keel, node, manifest));
  } catch (e) {
    process.stderr.write(`node: ${(e as Error).message}\n`);
    await stop(1);
  }
  node.process.once("exit", (code) => {
    process.stderr.write(`node: the ${args.engine} node exited (${code})\n`);
    process.exit(1);
  });
}

async function describe(keel: Keel, node: Node, manifest: string): Promise<string> {
  const deployment = manifest === DEFAULT_OUT ? "" : ` --deployment ${manifest}`;
  const chainId = (await node.provider.getNetwork()).chainId;
  const lines = [`Keel is running at ${node.url} (chain id ${chainId}). Deployment manifest: ${manifest}`, "", "Contracts:"];
  const names = ["engine", "manager", "lens", "kusd", "nft", "oracle", "vol", "risk", "surplus", "flashLiquidator", "amm", "ammShallow"] as const;
  for (const n of names) lines.push(`  ${n.padEnd(16)} ${await keel[n].getAddress()}`);
  lines.push("", "Assets:");
  for (const [symbol, a] of Object.entries(keel.assets)) {
    const price = await keel.oracle.getPrice(await a.token.getAddress());
    lines.push(`  ${symbol.padEnd(7)} token ${await a.token.getAddress()}  feed ${await a.feed.getAddress()}  $${formatFixed(price, 18, 2)}`);
  }
  lines.push(
    "",
    "Accounts (Hardhat's development mnemonic, 10,000 ETH each): 0 deployed Keel, 1–5 hold the sample positions.",
    `  account 1 ${devWallet(1).address}  key ${devWallet(1).privateKey}`,
    `  account 9 ${devWallet(9).address}  key ${devWallet(9).privateKey}`,
    "",
    "Next:",
    `  MetaMask: add network RPC ${node.url}, chain id ${chainId}, import account 1's key.`,
    `  CLI:      npm run keel -- list --account 1 --rpc ${node.url}${deployment}`,
    `            npm run keel -- status --id <id from the list> --rpc ${node.url}${deployment}`,
    `  Keeper:   KEEPER_PRIVATE_KEY=${devWallet(9).privateKey} npm run keeper -- --rpc ${node.url} --deployment ${manifest}`,
    "",
    "Ctrl-C stops the node.",
  );
  return lines.join("\n");
}

runMain("node", main);
