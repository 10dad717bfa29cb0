/**
 * `npm run deploy -- --dry-run`: what a deployment would send, measured without sending it. The steps the journal
 * has not seen mined run on an anvil fork of the target (the deployer impersonated there, its balance topped up so
 * every step runs); each step's gas is what it used on the fork, and the cost is priced at the target's current
 * fees. The target receives only reads.
 */
import { JsonRpcSigner, type Provider, toBeHex } from "ethers";
import type { DeploymentFile } from "./deploymentFile";
import { startAnvil } from "./anvil";
import { planDeployment } from "./plan";
import { DeploymentError, type Journal } from "./resumable";

export interface DryRunStep {
  index: number;
  id: string;
  label: string;
  /** The deployer's nonce it would use. */
  nonce: number;
  kind: "create" | "call";
  /** What eth_estimateGas said on the fork, and what the transaction then used there. */
  estimatedGas: bigint;
  gasUsed: bigint;
}

export interface DryRun {
  steps: DryRunStep[];
  /** Steps an earlier run already mined (not repeated). */
  done: number;
  /** Wei per gas the target asks today: maxFeePerGas, or gasPrice on a legacy chain. */
  feePerGas: bigint;
  totalGas: bigint;
  totalCost: bigint;
  balance: bigint;
}

/** The plan's outstanding steps, run on a fork of `target`. `journal` is the run so far, if any. */
export async function dryRun(deployment: DeploymentFile, deployer: string, target: { url: string; provider: Provider }, journal?: Journal): Promise<DryRun> {
  const firstNonce = journal?.firstNonce ?? (await target.provider.getTransactionCount(deployer, "latest"));
  const plan = planDeployment(deployment.cfg, deployer, firstNonce);
  const fees = await target.provider.getFeeData();
  const feePerGas = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
  const balance = await target.provider.getBalance(deployer);
  const fork = await startAnvil({ fork: target.url, autoImpersonate: true });
  try {
    await fork.provider.send("anvil_setBalance", [deployer, toBeHex(10n ** 30n)]);
    const signer = new JsonRpcSigner(fork.provider, deployer);
    const steps: DryRunStep[] = [];
    let done = 0;
    for (const [index, step] of plan.steps.entries()) {
      if (journal?.steps[step.id]?.status === "mined") {
        done++;
        continue;
      }
      const tx = await step.build(fork.provider);
      const estimatedGas = await fork.provider.estimateGas({ ...tx, from: deployer });
      const receipt = await (await signer.sendTransaction({ ...tx, nonce: firstNonce + index, gasLimit: (estimatedGas * 6n) / 5n })).wait();
      if (!receipt || receipt.status !== 1) throw new DeploymentError(`dry run: ${step.id} (${step.label}) reverts on a fork of the target`);
      steps.push({ index, id: step.id, label: step.label, nonce: firstNonce + index, kind: tx.to ? "call" : "create", estimatedGas, gasUsed: receipt.gasUsed });
    }
    const totalGas = steps.reduce((sum, s) => sum + s.gasUsed, 0n);
    return { steps, done, feePerGas, totalGas, totalCost: totalGas * feePerGas, balance };
  } finally {
    await fork.stop();
  }
}
