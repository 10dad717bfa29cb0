/**
 * A chain clock that does not read the wall clock. Hardhat's in-process network stamps each new block with the
 * wall-clock time (or one second after its parent, whichever is later), and so does the pending block that
 * `eth_estimateGas` and pending-block calls run in. Two runs of one replay then mine the same transactions seconds
 * apart and accrue different interest: the demo's keeper profit moved by 0.08 kUSD between two runs, and the
 * stress report's no-grace bad debt by 7e-8 kUSD. While the clock is installed, a block is stamped one second after
 * its parent unless the replay set its time (`evm_setNextBlockTimestamp`), and calls at the pending block see that
 * time.
 */

/** Hardhat's network provider (`hre.network.provider`): what every ethers provider and signer of Hardhat sends through. */
export interface HardhatSend {
  send(method: string, params?: unknown[]): Promise<unknown>;
}

/** Methods that mine a block (automine on, or `evm_mine` with it off). */
const MINES = new Set(["eth_sendRawTransaction", "eth_sendTransaction", "evm_mine"]);

/** Whether the call runs in the pending block: `eth_estimateGas` by default, anything else asked for "pending". */
function readsPending(method: string, params: readonly unknown[] | undefined): boolean {
  if (method === "eth_estimateGas") return params?.[1] === undefined || params[1] === "pending";
  return method === "eth_call" && params?.[1] === "pending";
}

/** Installs the clock on `hardhat`; the returned function takes it off. */
export function installStepClock(hardhat: HardhatSend): () => void {
  const original = Object.getOwnPropertyDescriptor(hardhat, "send");
  const send = hardhat.send.bind(hardhat);
  // The next block's time is set (by the replay or by this clock) and no block has used it yet.
  let pinned = false;
  // Setting the time and the call that mines (or reads) at it run one at a time: two transactions sent at once would
  // otherwise both set the second after the same parent, and the later one would set a time already used.
  let queue: Promise<unknown> = Promise.resolve();
  const atPinnedTime = async (method: string, params: unknown[] | undefined, mines: boolean): Promise<unknown> => {
    if (!pinned) {
      const latest = (await send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
      await send("evm_setNextBlockTimestamp", [Number(BigInt(latest.timestamp)) + 1]);
      pinned = true;
    }
    try {
      return await send(method, params);
    } finally {
      // Mined (or refused: the time stays set in the node, and setting it again to the same second is harmless).
      if (mines) pinned = false;
    }
  };
  hardhat.send = async (method: string, params?: unknown[]): Promise<unknown> => {
    if (method === "evm_setNextBlockTimestamp") {
      const result = await send(method, params);
      pinned = true;
      return result;
    }
    if (method === "hardhat_reset") pinned = false;
    const mines = MINES.has(method);
    if (!mines && !readsPending(method, params)) return send(method, params);
    const run = queue.then(() => atPinnedTime(method, params, mines));
    queue = run.catch(() => undefined);
    return run;
  };
  return () => {
    // Back to exactly what it was: its own property, or the prototype's method.
    if (original) Object.defineProperty(hardhat, "send", original);
    else delete (hardhat as Partial<HardhatSend>).send;
  };
}
