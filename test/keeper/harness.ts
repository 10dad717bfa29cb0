/**
 * Keeper tests run against a real JSON-RPC node: `hardhat node` started on 127.0.0.1 by the test and stopped by
 * it. Keel is deployed there with the production deploy code, the AMM is seeded for flash liquidations, and a book
 * of positions is opened across the four assets in both modes. Those parts live in dev/ (shared with `npm run
 * bench:keeper`) and are re-exported here; the helpers below are the tests' own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Keel } from "../../deploy";
import { type KeeperConfig, loadKeeperConfig } from "../../src/keeper/config";
import { createLogger } from "../../src/keeper/log";

export { DEV_MNEMONIC, devWallet } from "../../dev/accounts";
export { movePrice, refreshFeeds } from "../../dev/localMarket";
export { type Deployed, deployOnNode, ENGINES, type Engine, freePort, killGroup, type Node, startLocalNode, startNode } from "../../dev/localNode";
export { type LiquidatableBook, openLiquidatableBook } from "../../dev/liquidatableBook";
export { type SamplePositionsOptions, openSamplePositions, type OpenOptions, openPositions, type PositionSpec } from "../../dev/samplePositions";

// ------------------------------------------------------------------ helpers for the restart, race and failure tests

/** engine.stateOf of every id (at `blockTag`, default latest), in parallel chunks; ids whose call reverts (closed,
 * or a stale price) are absent. */
export async function statesOf(keel: Keel, ids: readonly bigint[], blockTag?: number): Promise<Map<bigint, number>> {
  const out = new Map<bigint, number>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const res = await Promise.all(chunk.map((id) => keel.engine.stateOf(id, { blockTag: blockTag ?? "latest" }).catch(() => undefined)));
    chunk.forEach((id, j) => res[j] && out.set(id, Number(res[j]![0])));
  }
  return out;
}

/** How many entries of a state map are in `state`. */
export const countState = (m: ReadonlyMap<bigint, number>, state: number): number => [...m.values()].filter((x) => x === state).length;

/** Ids of every open position: 1 .. lastPositionId, without the closed ones (positionInfo reverts for those). */
export async function openPositionIds(keel: Keel): Promise<bigint[]> {
  const last = await keel.engine.lastPositionId();
  const all = Array.from({ length: Number(last) }, (_, i) => BigInt(i + 1));
  const open: bigint[] = [];
  for (let i = 0; i < all.length; i += 100) {
    const chunk = all.slice(i, i + 100);
    const res = await Promise.all(chunk.map((id) => keel.engine.positionInfo(id).then(() => true, () => false)));
    chunk.forEach((id, j) => res[j] && open.push(id));
  }
  return open;
}

/** One JSON log line of the keeper (pino), parsed. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** Collects JSON lines from chunks of text and lets a test wait for one that matches. */
export class LineCollector {
  readonly lines: LogLine[] = [];
  /** Everything received, parsed or not (for secret scans and failure messages). */
  raw = "";
  private partial = "";
  private waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  push(text: string): void {
    this.raw += text;
    this.partial += text;
    const parts = this.partial.split("\n");
    this.partial = parts.pop()!;
    for (const part of parts) {
      if (!part.trim().startsWith("{")) continue;
      let line: LogLine;
      try {
        line = JSON.parse(part) as LogLine;
      } catch {
        continue;
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(line)) return true;
        w.resolve(line);
        return false;
      });
    }
  }

  /** The first line (already seen from index `from` on, or still to come) that matches, within `timeoutMs`. */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs: number, what = "a matching log line", from = 0): Promise<LogLine> {
    const seen = this.lines.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.pred !== pred);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${this.raw.slice(-3000)}`));
      }, timeoutMs);
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** Lines logged with message `msg`. */
  withMsg(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}

/** A keeper logger whose JSON lines land in a LineCollector instead of stdout. */
export function capturedLogger(level = "info"): { log: ReturnType<typeof createLogger>; lines: LineCollector } {
  const lines = new LineCollector();
  const destination = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { log: createLogger({ level, destination }), lines };
}

/** The pass report of a "pass" log line (bigints arrive as decimal strings). */
export const passOf = (l: LogLine): { head: number; indexed: number; marginCalls: number; liquidations: number; unpriced: number } =>
  l.pass as { head: number; indexed: number; marginCalls: number; liquidations: number; unpriced: number };

/** `scripts/keeper.ts` run as a child process (its own process group: stop it with `killGroup`), with its output collected. */
export interface KeeperProcess {
  child: ChildProcess;
  stdout: LineCollector;
  stderr: LineCollector;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnKeeper(args: readonly string[], env: NodeJS.ProcessEnv): KeeperProcess {
  const child = spawn("npx", ["ts-node", "--transpile-only", "scripts/keeper.ts", ...args], {
    cwd: join(__dirname, "..", ".."),
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const stdout = new LineCollector();
  const stderr = new LineCollector();
  child.stdout!.on("data", (d: Buffer) => stdout.push(d.toString()));
  child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout, stderr, exited };
}

/** The environment of this process without any keeper key, plus `extra`. */
export function keeperEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!("KEEPER_PRIVATE_KEY" in extra)) delete env.KEEPER_PRIVATE_KEY;
  return env;
}

/**
 * An in-test keeper's config: flash liquidations, a fresh checkpoint file, no confirmations and no upkeep (no pokes
 * or fee collections), so every transaction it sends is about a position.
 */
export function testKeeperConfig(o: {
  rpc: string;
  deployment: string;
  privateKey?: string;
  once?: boolean;
  shard?: string;
  confirmations?: number;
  pollMs?: number;
  /** --private-rpc and --private-fallback-blocks, as typed on the command line. */
  privateRpc?: string;
  privateFallbackBlocks?: string;
}): KeeperConfig {
  const c = loadKeeperConfig(
    {
      rpc: o.rpc,
      deployment: o.deployment,
      once: o.once ?? false,
      shard: o.shard,
      checkpoint: join(mkdtempSync(join(tmpdir(), "keel-keeper-test-")), "cp.json"),
      "private-rpc": o.privateRpc,
      "private-fallback-blocks": o.privateFallbackBlocks,
    },
    o.privateKey === undefined ? {} : { KEEPER_PRIVATE_KEY: o.privateKey },
  );
  c.confirmations = o.confirmations ?? 0;
  c.keeper.liquidation = "flash";
  if (o.pollMs !== undefined) c.keeper.pollMs = o.pollMs;
  c.keeper.pokeEvery = 0;
  c.keeper.collectFeesEvery = 0;
  return c;
}
