/**
 * Keeper configuration: command-line flags over an optional JSON file (human units), secrets from the
 * environment only. Parsed and range-checked once; a bad value fails with the flag or field it came from.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { KeelError } from "../units/error";
import { parseAmount, parseDuration, parsePercent, UnitError } from "../units";
import { DEFAULT_KEEPER, type KeeperOptions } from "./keeper";
import { DEFAULT_FALLBACK_BLOCKS, type PrivateRelayOptions } from "./privateRelay";
import { TX_GAS_CAP } from "./rpc";
import { DEFAULT_SENDER, type SenderOptions } from "./sender";

export class KeeperConfigError extends KeelError {
  override name = "KeeperConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONFIG", message, options);
  }
}

/** The JSON config file: every field optional, human units. */
const fileSchema = z
  .object({
    rpc: z.string().url(),
    deployment: z.string().min(1),
    checkpoint: z.string().min(1),
    confirmations: z.number().int().min(0).max(64),
    logChunk: z.number().int().min(1).max(1_000_000),
    gasBudget: z.number().int().min(1_000_000).max(16_000_000),
    concurrency: z.number().int().min(1).max(32),
    minProfit: z.string(),
    liquidation: z.enum(["auto", "flash", "direct"]),
    maxPriceImpact: z.string(),
    // One flash batch: at most the transaction cap (EIP-7825); per position at least a batch's marginal cost.
    batchGasLimit: z.number().int().min(1_000_000).max(Number(TX_GAS_CAP)),
    batchTargetGas: z.number().int().min(20_000).max(1_000_000),
    pokeEvery: z.string(),
    collectFeesEvery: z.string(),
    pollInterval: z.string(),
    bumpAfter: z.string(),
    bumpPercent: z.number().int().min(10).max(100),
    maxFeeGwei: z.number().positive().max(100_000),
    metricsPort: z.number().int().min(0).max(65_535),
    webhook: z.string().url(),
    shard: z.string(),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]),
    // The private relay (privateRelay.ts): checked by privateRelayConfig.
    privateRpc: z.string(),
    privateFallbackBlocks: z.number().int(),
  })
  .partial()
  .strict();

export type KeeperFile = z.infer<typeof fileSchema>;

export interface KeeperConfig {
  rpc: string;
  deployment: string;
  /** Default: .keeper/<chainId>-<engine>-<shard>.json, so instances on one host never share a file. */
  checkpoint?: string;
  confirmations: number;
  logChunk: number;
  dryRun: boolean;
  once: boolean;
  metricsPort?: number;
  webhook?: string;
  logLevel: string;
  privateKey?: string;
  /** --private-rpc: liquidations are sent there, and broadcast publicly after `fallbackBlocks` blocks. */
  privateRpc?: PrivateRelayOptions;
  keeper: KeeperOptions;
  sender: SenderOptions;
}

export interface CliFlags {
  rpc?: string;
  deployment?: string;
  config?: string;
  checkpoint?: string;
  "dry-run"?: boolean;
  once?: boolean;
  "metrics-port"?: string;
  webhook?: string;
  shard?: string;
  "min-profit"?: string;
  "log-level"?: string;
  "private-rpc"?: string;
  "private-fallback-blocks"?: string;
}

/** Flags (which win) over the file named by --config, secrets from `env`. */
export function loadKeeperConfig(flags: CliFlags, env: NodeJS.ProcessEnv = process.env): KeeperConfig {
  const file = flags.config ? readFile(flags.config) : {};
  const merged: KeeperFile = {
    ...file,
    ...(flags.rpc !== undefined && { rpc: flags.rpc }),
    ...(flags.deployment !== undefined && { deployment: flags.deployment }),
    ...(flags.checkpoint !== undefined && { checkpoint: flags.checkpoint }),
    ...(flags.webhook !== undefined && { webhook: flags.webhook }),
    ...(flags.shard !== undefined && { shard: flags.shard }),
    ...(flags["min-profit"] !== undefined && { minProfit: flags["min-profit"] }),
    ...(flags["metrics-port"] !== undefined && { metricsPort: intFlag("--metrics-port", flags["metrics-port"]) }),
    ...(flags["log-level"] !== undefined && { logLevel: flags["log-level"] as KeeperFile["logLevel"] }),
    ...(flags["private-rpc"] !== undefined && { privateRpc: flags["private-rpc"] }),
    ...(flags["private-fallback-blocks"] !== undefined && {
      privateFallbackBlocks: intFlag("--private-fallback-blocks", flags["private-fallback-blocks"]),
    }),
  };
  const parsed = fileSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KeeperConfigError(`${issue.path.join(".") || "config"}: ${issue.message}`, { cause: parsed.error });
  }
  const c = parsed.data;
  if (!c.rpc) throw new KeeperConfigError("--rpc <url> is required");
  if (!c.deployment) throw new KeeperConfigError("--deployment <file> is required");
  const dryRun = flags["dry-run"] ?? false;
  const privateKey = env.KEEPER_PRIVATE_KEY?.trim() || undefined;
  if (!privateKey && !dryRun) throw new KeeperConfigError("KEEPER_PRIVATE_KEY is not set (or pass --dry-run to only simulate)");
  if (privateKey && !/^(0x)?[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new KeeperConfigError("KEEPER_PRIVATE_KEY is not a 32-byte hex private key");
  }
  try {
    return {
      rpc: c.rpc,
      deployment: c.deployment,
      checkpoint: c.checkpoint,
      confirmations: c.confirmations ?? 2,
      logChunk: c.logChunk ?? 5_000,
      dryRun,
      once: flags.once ?? false,
      metricsPort: c.metricsPort,
      webhook: c.webhook,
      logLevel: c.logLevel ?? "info",
      privateKey,
      privateRpc: privateRelayConfig(c),
      keeper: {
        ...DEFAULT_KEEPER,
        shard: c.shard ? parseShard(c.shard) : DEFAULT_KEEPER.shard,
        gasBudget: c.gasBudget ?? DEFAULT_KEEPER.gasBudget,
        concurrency: c.concurrency ?? DEFAULT_KEEPER.concurrency,
        minProfit: c.minProfit ? parseAmount(c.minProfit, 18, "minProfit") : DEFAULT_KEEPER.minProfit,
        liquidation: c.liquidation ?? DEFAULT_KEEPER.liquidation,
        maxPriceImpact: c.maxPriceImpact ? priceImpact(c.maxPriceImpact) : DEFAULT_KEEPER.maxPriceImpact,
        batchGasLimit: c.batchGasLimit !== undefined ? BigInt(c.batchGasLimit) : DEFAULT_KEEPER.batchGasLimit,
        batchTargetGas: c.batchTargetGas !== undefined ? BigInt(c.batchTargetGas) : DEFAULT_KEEPER.batchTargetGas,
        pokeEvery: c.pokeEvery ? parseDuration(c.pokeEvery, "pokeEvery") : DEFAULT_KEEPER.pokeEvery,
        collectFeesEvery: c.collectFeesEvery
          ? parseDuration(c.collectFeesEvery, "collectFeesEvery")
          : DEFAULT_KEEPER.collectFeesEvery,
        pollMs: c.pollInterval ? parseDuration(c.pollInterval, "pollInterval") * 1000 : DEFAULT_KEEPER.pollMs,
      },
      sender: {
        ...DEFAULT_SENDER,
        dryRun,
        bumpAfterMs: c.bumpAfter ? parseDuration(c.bumpAfter, "bumpAfter") * 1000 : DEFAULT_SENDER.bumpAfterMs,
        bumpPercent: c.bumpPercent ?? DEFAULT_SENDER.bumpPercent,
        maxFeePerGas: c.maxFeeGwei ? BigInt(Math.round(c.maxFeeGwei * 1e9)) : DEFAULT_SENDER.maxFeePerGas,
      },
    };
  } catch (e) {
    if (e instanceof UnitError) throw new KeeperConfigError(e.message, { cause: e });
    throw e;
  }
}

/** The longest --private-fallback-blocks: beyond this a liquidation would wait too long to be worth keeping private. */
const MAX_FALLBACK_BLOCKS = 64;

/**
 * --private-rpc and --private-fallback-blocks: an http(s) URL other than --rpc, and a whole number of blocks in
 * [1, MAX_FALLBACK_BLOCKS] (default DEFAULT_FALLBACK_BLOCKS); undefined without a relay.
 */
function privateRelayConfig(c: KeeperFile): PrivateRelayOptions | undefined {
  if (c.privateRpc === undefined) {
    if (c.privateFallbackBlocks !== undefined) throw new KeeperConfigError("--private-fallback-blocks needs --private-rpc <url>");
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(c.privateRpc);
  } catch (e) {
    throw new KeeperConfigError(`--private-rpc: "${c.privateRpc}" is not a URL (expected http:// or https://…)`, { cause: e });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new KeeperConfigError(`--private-rpc: "${c.privateRpc}" is not an http:// or https:// URL (${url.protocol} is not supported)`);
  }
  if (c.rpc !== undefined && new URL(c.rpc).href === url.href) {
    throw new KeeperConfigError("--private-rpc is the same endpoint as --rpc: nothing would be sent privately");
  }
  const fallbackBlocks = c.privateFallbackBlocks ?? DEFAULT_FALLBACK_BLOCKS;
  if (fallbackBlocks < 1 || fallbackBlocks > MAX_FALLBACK_BLOCKS) {
    throw new KeeperConfigError(`--private-fallback-blocks: ${fallbackBlocks} is not a whole number from 1 to ${MAX_FALLBACK_BLOCKS}`);
  }
  return { url: c.privateRpc, fallbackBlocks };
}

/** "i/n" with 0 ≤ i < n. */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new KeeperConfigError(`--shard: "${text}" is not i/n with 0 ≤ i < n`);
  return { index, count };
}

/** A price-impact limit: above 0, below 50%. */
function priceImpact(text: string): bigint {
  const impact = parsePercent(text, "maxPriceImpact");
  if (impact <= 0n || impact >= 5n * 10n ** 17n) throw new KeeperConfigError(`maxPriceImpact: "${text}" must be above 0% and below 50%`);
  return impact;
}

function intFlag(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new KeeperConfigError(`${flag}: "${text}" is not a whole number`);
  return Number(text);
}

function readFile(path: string): KeeperFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new KeeperConfigError(`--config ${path}: ${(e as Error).message}`, { cause: e });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new KeeperConfigError(`--config ${path}: ${issue.path.join(".") || "(root)"}: ${issue.message}`, { cause: parsed.error });
  }
  return parsed.data;
}
