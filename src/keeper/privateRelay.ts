/**
 * A private transaction relay (`--private-rpc`): an endpoint that takes signed transactions (eth_sendRawTransaction)
 * and hands them to block builders without showing them in the public mempool, so a liquidation cannot be copied or
 * front-run before it is included. The relay is only ever sent to; everything is read from the public `--rpc`. A
 * transaction the relay has not had included after `fallbackBlocks` blocks is broadcast publicly, the same signed
 * bytes under the same nonce (TxSender does that).
 */
import { keccak256 } from "ethers";
import { shortMessage } from "../client/errors";
import { DEFAULT_RPC, Rpc } from "./rpc";

/** Which endpoint got a transaction included: the private relay, or the public RPC after the fallback. */
export type InclusionPath = "private" | "public";

export interface PrivateRelayOptions {
  /** The relay's JSON-RPC URL (http or https). */
  url: string;
  /** Blocks to wait for inclusion through the relay before broadcasting the same transaction publicly. */
  fallbackBlocks: number;
}

export const DEFAULT_FALLBACK_BLOCKS = 3;

export class PrivateRelay {
  readonly fallbackBlocks: number;
  private readonly rpc: Rpc;

  constructor(options: PrivateRelayOptions, chainId: number) {
    this.fallbackBlocks = options.fallbackBlocks;
    this.rpc = Rpc.connect(options.url, chainId, DEFAULT_RPC);
  }

  /**
   * Sends a signed transaction to the relay; resolves with its hash. "Already known" (a retry whose first answer was
   * lost) is success. Throws on any other failure, after the RPC's retries.
   */
  async send(signed: string): Promise<string> {
    const hash = keccak256(signed);
    try {
      await this.rpc.send("eth_sendRawTransaction", [signed]);
    } catch (e) {
      if (!/already known/i.test(shortMessage(e))) throw e;
    }
    return hash;
  }

  destroy(): void {
    this.rpc.destroy();
  }
}
