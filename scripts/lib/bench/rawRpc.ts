/**
 * JSON-RPC over plain HTTP to a benchmark's node (no ethers: no batching, no decoding), timed: the node's share of
 * the work.
 */
import { performance } from "node:perf_hooks";
import type { Node } from "../../../dev/localNode";
import { sleep } from "../../../src/keeper/rpc";
import { VaultEngine__factory } from "../../../typechain-types";

/** The index's eth_getLogs over raw HTTP: the node's share of indexing (the rest is this process: ethers, parsing). */
export interface RawLogs {
  ms: number;
  count: number;
  bytes: number;
}

/** JSON-RPC over plain HTTP (no ethers: no batching, no decoding), timed. */
export async function rawRpc(
  node: Node,
  method: string,
  params: unknown[],
  signal?: AbortSignal,
): Promise<{ ms: number; result: unknown; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(node.url, {
    signal,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  const body = JSON.parse(text) as { result?: unknown; error?: unknown };
  if (body.result === undefined) throw new Error(`${method} failed: ${JSON.stringify(body.error)}`);
  return { ms, result: body.result, bytes: text.length };
}

/** Every engine log the index reads (all its events, deployment block to head), in one raw eth_getLogs. */
export async function rawLogs(node: Node, engine: string, from: number, to: number): Promise<RawLogs> {
  const iface = VaultEngine__factory.createInterface();
  const events = ["PositionOpened", "PositionUpdated", "PositionClosed", "MarginCalled", "MarginCallCleared"] as const;
  const topics = [events.map((e) => iface.getEvent(e).topicHash)];
  const hex = (b: number): string => `0x${b.toString(16)}`;
  const r = await rawRpc(node, "eth_getLogs", [{ address: engine, fromBlock: hex(from), toBlock: hex(to), topics }]);
  return { ms: r.ms, count: (r.result as unknown[]).length, bytes: r.bytes };
}

/** True when the node has exited or no longer answers a trivial request within 5 s. */
export async function nodeIsGone(node: Node): Promise<boolean> {
  await sleep(500);
  if (node.process.exitCode !== null || node.process.signalCode !== null) return true;
  try {
    await rawRpc(node, "eth_blockNumber", [], AbortSignal.timeout(5_000));
    return false;
  } catch {
    return true;
  }
}
