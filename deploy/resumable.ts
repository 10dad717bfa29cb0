/**
 * A deployment that survives being interrupted (RPC lost, process killed, deployer out of gas): the plan of
 * deploy/plan.ts sent step by step, each step signed, written to a journal on disk, and only then broadcast. A rerun
 * with the same arguments reads the journal and goes on from where it stopped:
 *
 * - a step whose transaction is mined is done;
 * - a step signed but not mined is waited for if the node knows it, else signed again at today's fees with the
 *   same nonce and calldata: both versions share that nonce, so at most one of them can ever land;
 * - a step's nonce used by a transaction the journal does not know means the key was used elsewhere: refused.
 *
 * So no contract is deployed twice and no governance call is sent twice. A journal belongs to one chain, one
 * deployer and one config: anything else is refused with the differences shown.
 */
import { getCreateAddress, keccak256, type Provider, Transaction, type TransactionReceipt, type Wallet } from "ethers";
import { z } from "zod";
import { ConfigError } from "../src/client/config";
import { JsonFile } from "../src/keeper/checkpoint";
import { KeelError } from "../src/units/error";
import { jsonDifferences, type DeploymentFile } from "./deploymentFile";
import { planDeployment, type Plan, type Step } from "./plan";

export class DeploymentError extends KeelError {
  override name = "DeploymentError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("CHAIN", message, options);
  }
}

const journalStep = z.object({
  nonce: z.number().int().nonnegative(),
  hash: z.string(),
  /** The signed transaction, so a step that never reached the node can be sent as it was. */
  raw: z.string(),
  status: z.enum(["signed", "mined"]),
  block: z.number().int().optional(),
  gasUsed: z.string().optional(),
});
const journalSchema = z.object({
  version: z.literal(1),
  chainId: z.number().int(),
  deployer: z.string(),
  firstNonce: z.number().int().nonnegative(),
  deploymentBlock: z.number().int().nonnegative(),
  config: z.unknown(),
  steps: z.record(z.string(), journalStep),
});
export type Journal = z.infer<typeof journalSchema>;
export type JournalStep = z.infer<typeof journalStep>;

export const journalFile = (path: string): JsonFile<Journal> => new JsonFile(path, (raw) => journalSchema.parse(raw));

/** One line per event, for the CLI to print. */
export type DeployLog = (line: string) => void;

export interface ResumableDeployment {
  plan: Plan;
  journal: Journal;
  /** Steps this run sent (the others were done by an earlier run). */
  sent: number;
}

/** Refuses a journal made for another chain, deployer or config, showing what differs. */
export function checkJournal(journal: Journal, path: string, deployment: DeploymentFile, deployer: string, chainId: number): void {
  if (journal.chainId !== chainId) throw new ConfigError(`${path}: the journal is for chain ${journal.chainId}, the RPC is chain ${chainId}`);
  if (journal.deployer !== deployer) throw new ConfigError(`${path}: the journal's deployer is ${journal.deployer}, this key is ${deployer}`);
  const changes = jsonDifferences(journal.config, deployment.raw);
  if (changes.length > 0) {
    throw new ConfigError(
      `${path}: ${deployment.path} changed since this deployment started; finish it with the config it began with, or start a new one with another --out:\n  ${changes.join("\n  ")}`,
    );
  }
}

/** Reads the journal (or starts one at the deployer's next nonce), refusing one made for something else. */
export async function openJournal(file: JsonFile<Journal>, deployment: DeploymentFile, deployer: string, provider: Provider): Promise<Journal> {
  const chainId = Number((await provider.getNetwork()).chainId);
  const existing = file.read();
  if (existing) {
    checkJournal(existing, file.path, deployment, deployer, chainId);
    return existing;
  }
  const [latest, pending] = await Promise.all([provider.getTransactionCount(deployer, "latest"), provider.getTransactionCount(deployer, "pending")]);
  if (pending !== latest) {
    throw new DeploymentError(`the deployer ${deployer} has ${pending - latest} pending transaction(s); wait for them before deploying`);
  }
  const journal: Journal = {
    version: 1,
    chainId,
    deployer,
    firstNonce: latest,
    deploymentBlock: await provider.getBlockNumber(),
    config: deployment.raw,
    steps: {},
  };
  file.write(journal);
  return journal;
}

/** Runs (or resumes) the deployment journaled in `file`, signing with `wallet` (connected to the target). */
export async function deployResumably(
  deployment: DeploymentFile,
  wallet: Wallet,
  file: JsonFile<Journal>,
  log: DeployLog,
): Promise<ResumableDeployment> {
  const provider = wallet.provider;
  if (!provider) throw new ConfigError("deployResumably: the wallet has no provider");
  const journal = await openJournal(file, deployment, wallet.address, provider);
  const plan = planDeployment(deployment.cfg, journal.deployer, journal.firstNonce);
  let sent = 0;
  for (const [i, step] of plan.steps.entries()) {
    const nonce = plan.firstNonce + i;
    const tag = `[${String(i + 1).padStart(2)}/${plan.steps.length}] ${step.id}`;
    const entry = journal.steps[step.id];
    if (entry?.status === "mined") continue;
    let receipt = entry ? await settled(entry, provider) : null;
    if (!receipt) {
      const used = await provider.getTransactionCount(wallet.address, "latest");
      if (used > nonce) {
        throw new DeploymentError(
          `${step.id}: nonce ${nonce} of ${wallet.address} was used by a transaction this deployment did not sign; the key was used elsewhere during the deployment`,
        );
      }
      if (used < nonce) throw new DeploymentError(`${step.id}: nonce ${nonce} is ahead of the chain (${used}); an earlier step is not mined`);
      const signed = await sign(step, entry, nonce, wallet);
      journal.steps[step.id] = { nonce, hash: keccak256(signed), raw: signed, status: "signed" };
      file.write(journal);
      await broadcast(signed, step, wallet, provider);
      sent++;
      receipt = await minedReceipt(provider, keccak256(signed), signed);
    }
    if (receipt.status !== 1) {
      throw new DeploymentError(
        `${step.id} (${step.label}) reverted in ${receipt.hash} (block ${receipt.blockNumber}); this journal cannot go on: fix the cause and start a new deployment with another --out`,
      );
    }
    const created = getCreateAddress({ from: wallet.address, nonce });
    if (receipt.contractAddress && receipt.contractAddress !== created) {
      throw new DeploymentError(`${step.id}: created ${receipt.contractAddress}, planned ${created}`);
    }
    journal.steps[step.id] = { ...journal.steps[step.id]!, status: "mined", block: receipt.blockNumber, gasUsed: receipt.gasUsed.toString() };
    file.write(journal);
    log(`${tag}  ${step.label}  ${receipt.contractAddress ? `at ${receipt.contractAddress}  ` : ""}gas ${receipt.gasUsed}  tx ${receipt.hash}`);
  }
  return { plan, journal, sent };
}

/** The receipt of a journaled step's transaction, waiting for it while the node still holds it; null if the node never saw it. */
async function settled(entry: JournalStep, provider: Provider): Promise<TransactionReceipt | null> {
  const receipt = await provider.getTransactionReceipt(entry.hash);
  if (receipt) return receipt;
  if (await provider.getTransaction(entry.hash)) return minedReceipt(provider, entry.hash, entry.raw);
  return null;
}

/** How often a broadcast step's receipt is asked for, and after how many unanswered asks the node is checked. */
const RECEIPT_POLL_MS = 250;
const REBROADCAST_AFTER_POLLS = 40;

/**
 * The receipt of `hash` (signed as `raw`), asked for until the node has it. Not ethers' `waitForTransaction`: a
 * deployment on a loaded machine waited forever on a step its journal had signed
 * (test_deploy_full_auditGreen_thenRed, twice in one afternoon). Every 10 s without a receipt, a node that no longer
 * holds the transaction is given the same signed bytes again (same nonce: it lands at most once).
 */
async function minedReceipt(provider: Provider, hash: string, raw: string): Promise<TransactionReceipt> {
  for (let polls = 1; ; polls++) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt) return receipt;
    if (polls % REBROADCAST_AFTER_POLLS === 0 && !(await provider.getTransaction(hash))) {
      await provider.broadcastTransaction(raw).catch(() => undefined); // "already known", "nonce too low": the receipt answers
    }
    await new Promise((resolve) => setTimeout(resolve, RECEIPT_POLL_MS));
  }
}

/** The step's transaction for `nonce`, signed at today's fees (a journaled step keeps its calldata and gas limit). */
async function sign(step: Step, entry: JournalStep | undefined, nonce: number, wallet: Wallet): Promise<string> {
  const provider = wallet.provider!;
  const before = entry ? Transaction.from(entry.raw) : undefined;
  const tx = before ? { to: before.to ?? undefined, data: before.data } : await step.build(provider);
  const gasLimit = before?.gasLimit ?? ((await provider.estimateGas({ ...tx, from: wallet.address })) * 6n) / 5n;
  const fees = await provider.getFeeData();
  const { chainId } = await provider.getNetwork();
  const priced =
    fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null
      ? { type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
      : { type: 0, gasPrice: fees.gasPrice ?? 0n };
  return wallet.signTransaction({ ...tx, ...priced, nonce, gasLimit, chainId, value: 0n });
}

/** Sends a signed step; a deployer out of gas gets a message saying what to do (the journal keeps its place). */
async function broadcast(signed: string, step: Step, wallet: Wallet, provider: Provider): Promise<void> {
  try {
    await provider.broadcastTransaction(signed);
  } catch (e) {
    const text = String((e as { shortMessage?: string })?.shortMessage ?? (e as Error)?.message ?? e);
    if (/insufficient funds/i.test(text)) {
      const tx = Transaction.from(signed);
      const balance = await provider.getBalance(wallet.address);
      const need = tx.gasLimit * (tx.maxFeePerGas ?? tx.gasPrice ?? 0n);
      throw new DeploymentError(
        `${step.id}: the deployer ${wallet.address} has ${balance} wei, this step may cost up to ${need} wei; fund it and run the same command again to resume`,
        { cause: e },
      );
    }
    if (/already known/i.test(text)) return; // the node has it (a reply lost on the way back): wait for it
    throw new DeploymentError(`${step.id}: the node refused the transaction (${text}); run the same command again to resume`, { cause: e });
  }
}
