/**
 * A deterministic chain clock for replayable sequences. Hardhat stamps an unpinned block with the wall clock, so
 * accrual (and with it every amount) would depend on how fast the machine runs. While installed, every block
 * that nobody pinned is stamped one second after the latest block, so a seed replays to the same state.
 */
import { network } from "hardhat";

const MINING = new Set(["eth_sendTransaction", "eth_sendRawTransaction", "evm_mine", "hardhat_mine"]);

type Request = typeof network.provider.request;

export function installDeterministicClock(): () => void {
  const provider = network.provider;
  const original: Request = provider.request.bind(provider);
  let pinned = false;
  provider.request = async (args) => {
    if (args.method === "evm_setNextBlockTimestamp") {
      const result = await original(args);
      pinned = true;
      return result;
    }
    if (args.method === "evm_revert") pinned = false;
    if (MINING.has(args.method)) {
      if (!pinned) {
        const latest = (await original({ method: "eth_getBlockByNumber", params: ["latest", false] })) as { timestamp: string };
        await original({ method: "evm_setNextBlockTimestamp", params: [`0x${(BigInt(latest.timestamp) + 1n).toString(16)}`] });
      }
      pinned = false;
    }
    return original(args);
  };
  return () => {
    provider.request = original;
  };
}
