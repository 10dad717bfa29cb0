/**
 * Sending: simulate first (so a refusal is decoded from the protocol's custom error before anything is signed),
 * then send through the wallet, then wait for the receipt. Each step reports its status to the page.
 */
import { BaseError, ContractFunctionRevertedError, UserRejectedRequestError, type Abi, type Account, type Address, type Chain, type PublicClient, type TransactionReceipt, type WalletClient } from "viem";
import { refusalReason } from "../../src/protocol/refusals";

export type TxStatus =
  | { phase: "idle" }
  | { phase: "refused"; message: string } // the form or the simulation refused: nothing was sent
  | { phase: "signing"; what: string }
  | { phase: "pending"; what: string; hash: string }
  | { phase: "confirmed"; what: string; hash: string; blockNumber: bigint }
  | { phase: "failed"; what: string; message: string; hash?: string };

export interface Call {
  what: string; // "borrow 1,000 kUSD against position 7"
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  value?: bigint;
}

/** The decoded reason of a failed call: the protocol's error in its numbers, a wallet rejection, or viem's short message. */
export function explainError(e: unknown): string {
  if (e instanceof BaseError) {
    const rejected = e.walk((x) => x instanceof UserRejectedRequestError);
    if (rejected) return "you rejected the request in the wallet";
    const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName) {
      return `${refusalReason(revert.data.errorName, revert.data.args ?? [])} (${revert.data.errorName})`;
    }
    return e.shortMessage;
  }
  const code = (e as { code?: unknown })?.code;
  if (code === 4001) return "you rejected the request in the wallet";
  return (e as Error)?.message ?? String(e);
}

/** Gas headroom over the estimate: accrual and σ move between the estimate and the block (as the CLI). */
const GAS_MARGIN_PERCENT = 20n;

/**
 * Runs `calls` in order (an approval, then the action), reporting each. Resolves to their receipts when all are
 * confirmed, undefined when one was refused, rejected or failed.
 */
export async function send(
  reader: PublicClient,
  wallet: WalletClient,
  account: Account | Address,
  chain: Chain,
  calls: readonly Call[],
  report: (s: TxStatus) => void,
): Promise<TransactionReceipt[] | undefined> {
  const receipts: TransactionReceipt[] = [];
  for (const call of calls) {
    const request = { address: call.address, abi: call.abi, functionName: call.functionName, args: call.args, account, ...(call.value ? { value: call.value } : {}) };
    let gas: bigint;
    try {
      await reader.simulateContract(request as never);
      gas = await reader.estimateContractGas(request as never);
    } catch (e) {
      report({ phase: "refused", message: `${call.what}: ${explainError(e)}` });
      return undefined;
    }
    report({ phase: "signing", what: call.what });
    let hash: `0x${string}`;
    try {
      hash = await wallet.writeContract({ ...request, chain, gas: gas + (gas * GAS_MARGIN_PERCENT) / 100n } as never);
    } catch (e) {
      report({ phase: "failed", what: call.what, message: explainError(e) });
      return undefined;
    }
    report({ phase: "pending", what: call.what, hash });
    const receipt = await reader.waitForTransactionReceipt({ hash, pollingInterval: 250 });
    if (receipt.status !== "success") {
      report({ phase: "failed", what: call.what, hash, message: await revertReason(reader, request, receipt.blockNumber) });
      return undefined;
    }
    receipts.push(receipt);
    report({ phase: "confirmed", what: call.what, hash, blockNumber: receipt.blockNumber });
  }
  return receipts;
}

/** Replays a reverted transaction's call at its block to decode the custom error. */
async function revertReason(reader: PublicClient, request: object, blockNumber: bigint): Promise<string> {
  try {
    await reader.simulateContract({ ...request, blockNumber: blockNumber - 1n } as never);
    return "reverted";
  } catch (e) {
    return explainError(e);
  }
}
