/**
 * `npm run deploy -- --rpc URL --config FILE [--out deployments/NAME.json] [--dry-run] [--keystore FILE]`
 * `npm run deploy -- --audit deployments/NAME.json [--rpc URL]`
 *
 * Deploys Keel to any node from the deployer's own key (DEPLOYER_PRIVATE_KEY, or --keystore with a password asked
 * without echo), resumably: every step is journaled in `<out>.journal.json` before it is sent, and the same command
 * run again goes on from where an interrupted run stopped (deploy/resumable.ts). Before the first transaction it
 * checks the chain id against the config's `chainId` and every configured token and feed (deploy/preflight.ts). At
 * the end governance belongs to the timelock and the config's guardian, the manifest is written atomically, and the
 * role audit runs: exit 0 if it is green, 1 if anyone unexpected (the deployer above all) holds a role.
 *
 * --dry-run runs the outstanding steps on an anvil fork of the target and prints each transaction with its gas and
 * the total cost at the target's current fee; it sends nothing and writes nothing. --audit only audits.
 */
import { formatEther, JsonRpcProvider, type Provider } from "ethers";
import { ConfigError } from "../src/client/config";
import { readManifest } from "../src/client/manifest";
import { fmtInt } from "./lib/bench/format";
import { textTable } from "../src/units/table";
import { auditRoles, type RoleAudit } from "../deploy/audit";
import { checkDeployerHoldsNothing, readDeploymentFile } from "../deploy/deploymentFile";
import { dryRun } from "../deploy/dryRun";
import { keelAt } from "../deploy/index";
import { buildManifest, writeManifestFile } from "../deploy/manifest";
import { preflight } from "../deploy/preflight";
import { deployResumably, checkJournal, journalFile } from "../deploy/resumable";
import { parseFlags, required, UsageError } from "./lib/args";
import { deployerKey } from "./lib/deployerKey";
import { runMain } from "./lib/main";

const DEFAULT_AUDIT_RPC = "http://127.0.0.1:8545";

async function main(): Promise<number> {
  const { values } = parseFlags({
    options: {
      rpc: { type: "string" },
      config: { type: "string" },
      out: { type: "string" },
      "dry-run": { type: "boolean" },
      keystore: { type: "string" },
      audit: { type: "string" },
    },
  });
  if (values.audit !== undefined) {
    for (const flag of ["config", "out", "dry-run", "keystore"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--audit takes only --rpc, not --${flag}`);
    }
    return audit(values.audit, values.rpc ?? DEFAULT_AUDIT_RPC);
  }
  const rpc = required("--rpc", values.rpc);
  const deployment = readDeploymentFile(required("--config", values.config));
  const provider = new JsonRpcProvider(rpc, undefined, { cacheTimeout: -1 });
  try {
    const chainId = await chainIdOf(provider, rpc);
    if (chainId !== deployment.chainId) {
      throw new ConfigError(`${deployment.path} is for chain ${deployment.chainId}, the RPC at ${rpc} is chain ${chainId}: nothing sent`);
    }
    const wallet = (await deployerKey(values.keystore)).connect(provider);
    checkDeployerHoldsNothing(deployment, wallet.address);
    await preflight(deployment.cfg, provider);
    const out = values.out ?? `deployments/chain-${chainId}.json`;
    if (!out.endsWith(".json")) throw new UsageError(`--out: expected a .json path, got "${out}"`);
    const journal = journalFile(out.replace(/\.json$/, ".journal.json"));

    if (values["dry-run"]) {
      const existing = journal.read();
      if (existing) checkJournal(existing, journal.path, deployment, wallet.address, chainId);
      const run = await dryRun(deployment, wallet.address, { url: rpc, provider }, existing);
      console.log(`Dry run on an anvil fork of chain ${chainId} (block ${await provider.getBlockNumber()}): nothing is sent.`);
      if (run.done > 0) console.log(`${run.done} step(s) are already mined (${journal.path}); these remain:`);
      console.log(
        textTable(
          [
            ["#", "nonce", "step", "what", "est. gas", "gas used"],
            ...run.steps.map((s) => [String(s.index + 1), String(s.nonce), s.id, s.label, fmtInt(Number(s.estimatedGas)), fmtInt(Number(s.gasUsed))]),
          ],
          ["right", "right", "left", "left", "right", "right"],
        ),
      );
      console.log(
        `\n${run.steps.length} transaction(s), ${fmtInt(Number(run.totalGas))} gas; at ${formatGwei(run.feePerGas)} gwei: ${formatEther(run.totalCost)} ETH` +
          ` (the deployer ${wallet.address} holds ${formatEther(run.balance)} ETH${run.balance < run.totalCost ? ": NOT ENOUGH" : ""}).`,
      );
      return 0;
    }

    const started = journal.read();
    const steps = Object.values(started?.steps ?? {}).filter((s) => s.status === "mined").length;
    console.log(
      started
        ? `Resuming the deployment of ${journal.path}: ${steps} step(s) already mined.`
        : `Deploying Keel to chain ${chainId} from ${wallet.address}; journal ${journal.path}.`,
    );
    const result = await deployResumably(deployment, wallet, journal, (line) => console.log(line));
    const keel = keelAt(result.plan.addresses, deployment.cfg, wallet, result.journal.deploymentBlock);
    writeManifestFile(await buildManifest(keel, { deployer: wallet.address, ...deployment.governance }), out);
    console.log(`\nDeployed: ${result.plan.steps.length} steps (${result.sent} sent by this run). Manifest: ${out}`);
    console.log(`engine ${result.plan.addresses.contracts.engine}, kUSD ${result.plan.addresses.contracts.kusd}\n`);
    const report = await auditRoles(readManifest(out), provider);
    printAudit(report);
    return report.ok ? 0 : 1;
  } finally {
    provider.destroy();
  }
}

async function audit(path: string, rpc: string): Promise<number> {
  const manifest = readManifest(path);
  const provider = new JsonRpcProvider(rpc, undefined, { cacheTimeout: -1 });
  try {
    await chainIdOf(provider, rpc);
    const report = await auditRoles(manifest, provider);
    console.log(`Role audit of ${path} on ${rpc} (chain ${manifest.chainId}):`);
    printAudit(report);
    return report.ok ? 0 : 1;
  } finally {
    provider.destroy();
  }
}

function printAudit(report: RoleAudit): void {
  console.log(
    textTable([
      ["contract", "role", "holder", "who", "execution delay", "verdict"],
      ...report.rows.map((r) => [r.contract, r.role, r.holder, r.who, r.executionDelay === undefined ? "-" : `${r.executionDelay}s`, r.verdict]),
    ]),
  );
  console.log("");
  console.log(textTable(report.delays.map((d) => [d.contract, d.what, `${d.seconds}s`])));
  const bad = report.rows.filter((r) => r.verdict !== "ok");
  console.log(
    report.ok
      ? "\naudit: green: the timelock, the engine, the savings vault and the configured guardian, proposers and executors hold every role; the deployer holds none."
      : `\naudit: RED: ${bad.map((r) => `${r.contract} ${r.role} ${r.holder} (${r.who}): ${r.verdict}`).join("; ")}`,
  );
}

/** The node's chain id, or a clear error when nothing answers at `rpc`. */
async function chainIdOf(provider: Provider, rpc: string): Promise<number> {
  try {
    return Number((await provider.getNetwork()).chainId);
  } catch (e) {
    throw new ConfigError(`--rpc: no node answers at ${rpc} (${(e as Error).message})`, { cause: e });
  }
}

const formatGwei = (wei: bigint): string => (Number(wei) / 1e9).toFixed(3);

runMain("deploy", main);
