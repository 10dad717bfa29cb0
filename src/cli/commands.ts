/**
 * The user CLI's commands over a deployment (`npm run keel -- <command>`): human units in ("--amount 1.5 --asset
 * WETH"), human units out, and every refusal explained before a transaction is sent — unknown asset, not the
 * owner, a borrow or withdrawal that would leave the position unhealthy (with its initial HF), a failed price.
 * Each command returns the lines it prints; scripts/keel.ts parses arguments and prints them.
 */
import { type ContractTransactionResponse, type Signer, ZeroAddress } from "ethers";
import { KeelError } from "../units/error";
import type { VaultEngine } from "../../typechain-types";
import type { ContractMethodArgs, TypedContractMethod } from "../../typechain-types/common";
import type { KeelConnection } from "../client/manifest";
import { decodeRevert } from "../client/errors";
import { MARGIN_STATE_NAMES, type MarginState, Mode, MODE_NAMES } from "../math";
import { liquidationPriceFromHealth } from "../protocol/preview";
import { formatHealth, formatKusd, refusalReason } from "../protocol/refusals";
import { formatFixed, parseAmount, parseWad, UnitError } from "../units";

export class CliError extends KeelError {
  override name = "CliError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("REFUSED", message, options);
  }
}

export interface Cli {
  keel: KeelConnection;
  /** Absent for read-only use (status, list --owner). */
  signer?: Signer;
}

const MAX_UINT = 2n ** 256n - 1n;

/** `open --mode isolated --asset WETH` or `open --mode cross`: prints the new position id. */
export async function open(cli: Cli, mode: string, symbol?: string): Promise<string[]> {
  const me = await signerOf(cli).getAddress();
  let tx;
  if (mode === "cross") {
    if (symbol) throw new CliError("open: a cross position takes no --asset (deposit any listed asset into it)");
    tx = await cli.keel.engine.connect(signerOf(cli)).open(1, ZeroAddress, me);
  } else if (mode === "isolated") {
    if (!symbol) throw new CliError("open: an isolated position needs --asset");
    tx = await cli.keel.engine.connect(signerOf(cli)).open(0, asset(cli, symbol).address, me);
  } else {
    throw new CliError(`open: --mode must be "isolated" or "cross", not "${mode}"`);
  }
  const receipt = await tx.wait();
  const opened = receipt!.logs
    .map((l) => cli.keel.engine.interface.parseLog(l))
    .find((e) => e?.name === "PositionOpened");
  return [`opened ${mode} position ${opened!.args.id as bigint}${symbol ? ` (${asset(cli, symbol).symbol})` : ""}`];
}

/** `deposit --id 7 --asset WETH --amount 1.5`: approves the engine if needed, then deposits. */
export async function deposit(cli: Cli, id: bigint, symbol: string, amountText: string): Promise<string[]> {
  const a = asset(cli, symbol);
  const amount = amountOf(amountText, a.decimals, "--amount");
  await requireOwner(cli, id);
  const me = await signerOf(cli).getAddress();
  const balance = await a.token.balanceOf(me);
  if (balance < amount) {
    throw new CliError(`deposit: you hold ${formatFixed(balance, a.decimals)} ${a.symbol}, less than ${amountText}`);
  }
  const engine = cli.keel.engine.target as string;
  if ((await a.token.allowance(me, engine)) < amount) await (await a.token.connect(signerOf(cli)).approve(engine, amount)).wait();
  await send(`deposit ${amountText} ${a.symbol} into position ${id}`, engineOf(cli).deposit, id, a.address, amount);
  return [`deposited ${amountText} ${a.symbol} into position ${id}`, ...(await status(cli, id))];
}

/** `withdraw --id 7 --asset WETH --amount 0.5|max [--to addr]` */
export async function withdraw(cli: Cli, id: bigint, symbol: string, amountText: string, to?: string): Promise<string[]> {
  const a = asset(cli, symbol);
  const requested = amountText === "max" ? undefined : amountOf(amountText, a.decimals, "--amount");
  await requireOwner(cli, id);
  const held = await cli.keel.engine.collateralOf(id, a.address);
  const amount = requested ?? held;
  if (amount === 0n) throw new CliError(`withdraw: position ${id} holds no ${a.symbol}`);
  if (amount > held) {
    throw new CliError(`withdraw: position ${id} holds ${formatFixed(held, a.decimals)} ${a.symbol}, less than ${amountText}`);
  }
  const recipient = to ?? (await signerOf(cli).getAddress());
  await send(`withdraw ${formatFixed(amount, a.decimals)} ${a.symbol} from position ${id}`, engineOf(cli).withdraw, id, a.address, amount, recipient);
  return [`withdrew ${formatFixed(amount, a.decimals)} ${a.symbol} from position ${id} to ${recipient}`, ...(await status(cli, id))];
}

/** `borrow --id 7 --amount 1000 [--to addr]` (kUSD) */
export async function borrow(cli: Cli, id: bigint, amountText: string, to?: string): Promise<string[]> {
  const amount = amountOf(amountText, 18, "--amount");
  await requireOwner(cli, id);
  const recipient = to ?? (await signerOf(cli).getAddress());
  await send(`borrow ${amountText} kUSD against position ${id}`, engineOf(cli).borrow, id, amount, recipient);
  return [`borrowed ${amountText} kUSD against position ${id}`, ...(await status(cli, id))];
}

/** `repay --id 7 --amount 500|max`: repays from the signer's kUSD (anyone may repay any position). */
export async function repay(cli: Cli, id: bigint, amountText: string): Promise<string[]> {
  const amount = amountText === "max" ? MAX_UINT : amountOf(amountText, 18, "--amount");
  await requireExists(cli, id);
  const debt = await cli.keel.engine.debtOf(id);
  if (debt === 0n) throw new CliError(`repay: position ${id} has no debt`);
  const owed = amount < debt ? amount : debt;
  const balance = await cli.keel.kusd.balanceOf(await signerOf(cli).getAddress());
  if (balance < owed) throw new CliError(`repay: you hold ${kusd(balance)} kUSD; repaying ${kusd(owed)} kUSD needs more`);
  await send(`repay ${kusd(owed)} kUSD of position ${id}`, engineOf(cli).repay, id, amount);
  return [`repaid ${kusd(owed)} kUSD of position ${id}`, ...(await status(cli, id))];
}

/** `close --id 7 [--to addr]`: repays everything from the signer's kUSD and returns all collateral. */
export async function close(cli: Cli, id: bigint, to?: string): Promise<string[]> {
  await requireOwner(cli, id);
  const debt = await cli.keel.engine.debtOf(id);
  const balance = await cli.keel.kusd.balanceOf(await signerOf(cli).getAddress());
  // A second of accrual between this read and the block: keep a small margin.
  if (balance < debt + debt / 1_000_000n + 1n && debt > 0n) {
    throw new CliError(`close: position ${id} owes ${kusd(debt)} kUSD; you hold ${kusd(balance)} kUSD`);
  }
  const recipient = to ?? (await signerOf(cli).getAddress());
  await send(`close position ${id}`, engineOf(cli).close, id, recipient);
  return [`closed position ${id}: repaid ${kusd(debt)} kUSD, collateral sent to ${recipient}`];
}

/** `status --id 7`: collateral, debt, health, margin state and call deadline, liquidation price (isolated). */
export async function status(cli: Cli, id: bigint): Promise<string[]> {
  await requireExists(cli, id);
  const [v, deadline, market] = await Promise.all([
    cli.keel.lens.position(id),
    cli.keel.engine.callDeadline(id),
    cli.keel.lens.market(),
  ]);
  const lines = [`position ${id} (${MODE_NAMES[Number(v.mode) as Mode]}), owner ${v.owner}`];
  for (let i = 0; i < v.assets.length; i++) {
    if (v.amounts[i] === 0n) continue; // withdrawn in full
    const a = symbolOf(cli, v.assets[i]!);
    lines.push(`  ${a.symbol.padEnd(7)} ${formatFixed(v.amounts[i]!, a.decimals)}  ($${kusd(v.assetValues[i]!)})`);
  }
  lines.push(`  debt    ${kusd(v.debt)} kUSD`);
  const failing = v.assets
    .filter((a) => !market.priced[market.assets.findIndex((m) => m.toLowerCase() === a.toLowerCase())])
    .map((a) => symbolOf(cli, a).symbol);
  if (!v.valued) {
    // The engine's state needs the price too (stateOf would revert): say what is known.
    lines.push(`  health  unknown: the price feed of ${failing.join(", ")} failed (repay and deposits still work; margin calls and liquidation wait for the feed)`);
    if (deadline !== 0n) lines.push(`  state   margin called, deadline ${new Date(Number(deadline) * 1000).toISOString()}`);
    return lines;
  }
  const [state] = await cli.keel.engine.stateOf(id);
  const noDebt = v.debt === 0n;
  if (!v.priced) {
    lines.push(`  health  HF ${noDebt ? "∞" : hf(v.hf)} with ${failing.join(", ")} valued at zero: its price feed failed`);
    lines.push("          (margin calls and liquidation use this HF; borrow and withdraw wait for the feed)");
  } else {
    lines.push(`  health  HF ${noDebt ? "∞" : hf(v.hf)}, initial HF ${noDebt ? "∞" : hf(v.hfInitial)} (borrow and withdraw need ≥ 1)`);
  }
  lines.push(`  state   ${MARGIN_STATE_NAMES[Number(state) as MarginState]}${deadline !== 0n ? `, margin call deadline ${new Date(Number(deadline) * 1000).toISOString()}` : ""}`);
  const [only] = v.assets;
  if (Number(v.mode) === Mode.Isolated && !noDebt && only !== undefined && v.assets.length === 1) {
    // The market lists every asset the oracle prices; a position's asset missing from it has no price to show.
    const i = market.assets.findIndex((a) => a.toLowerCase() === only.toLowerCase());
    const price = market.prices[i];
    if (price !== undefined) {
      const p = liquidationPriceFromHealth(price, v.hf);
      lines.push(`  liquidation price ${kusd(p)} USD per ${symbolOf(cli, only).symbol} (now ${kusd(price)})`);
    }
  }
  return lines;
}

/** `list [--owner addr]`: the account's positions with debt and HF. */
export async function list(cli: Cli, owner?: string): Promise<string[]> {
  if (!owner && !cli.signer) throw new CliError("list: give --owner, or a key (KEEL_PRIVATE_KEY or --account N) to list your own");
  const who = owner ?? (await signerOf(cli).getAddress());
  const last = await cli.keel.engine.lastPositionId();
  const lines: string[] = [];
  const PAGE = 500n;
  for (let from = 1n; from <= last; from += PAGE) {
    const [views] = await cli.keel.lens.positionsOf(who, from, PAGE);
    for (const v of views) {
      const assets = v.assets.map((a) => symbolOf(cli, a).symbol).join("+") || "(empty)";
      const health = !v.valued ? "HF unknown" : v.debt === 0n ? "no debt" : `HF ${hf(v.hf)}${v.priced ? "" : " (a feed failing: valued at 0)"}`;
      lines.push(`${String(v.id).padStart(6)}  ${MODE_NAMES[Number(v.mode) as Mode].padEnd(8)}  ${assets.padEnd(18)} debt ${kusd(v.debt).padStart(14)} kUSD  ${health}`);
    }
  }
  return lines.length > 0 ? [`positions of ${who}:`, ...lines] : [`${who} holds no positions`];
}

interface CliAsset {
  symbol: string;
  address: string;
  decimals: number;
  token: KeelConnection["assets"][string]["token"];
}

export function asset(cli: Cli, symbol: string): CliAsset {
  const entry = Object.entries(cli.keel.assets).find(([s]) => s.toLowerCase() === symbol.toLowerCase());
  if (!entry) throw new CliError(`unknown asset "${symbol}"; listed: ${Object.keys(cli.keel.assets).join(", ")}`);
  const [s, a] = entry;
  return { symbol: s, address: a.token.target as string, decimals: a.decimals, token: cli.signer ? a.token.connect(signerOf(cli)) : a.token };
}

function symbolOf(cli: Cli, address: string): { symbol: string; decimals: number } {
  const entry = Object.entries(cli.keel.assets).find(([, a]) => (a.token.target as string).toLowerCase() === address.toLowerCase());
  return entry ? { symbol: entry[0], decimals: entry[1].decimals } : { symbol: address, decimals: 18 };
}

/** The signer of a command that sends a transaction. */
export function signerOf(cli: Cli): Signer {
  if (!cli.signer) throw new CliError("no key: set KEEL_PRIVATE_KEY, or pass --account N for a local development account");
  return cli.signer;
}

export function amountOf(text: string, decimals: number, flag: string): bigint {
  try {
    const amount = decimals === 18 ? parseWad(text, flag) : parseAmount(text, decimals, flag);
    if (amount <= 0n) throw new CliError(`${flag}: must be more than 0`);
    return amount;
  } catch (e) {
    if (e instanceof UnitError) throw new CliError(e.message, { cause: e });
    throw e;
  }
}

async function requireExists(cli: Cli, id: bigint): Promise<string> {
  if (id < 1n || id > (await cli.keel.engine.lastPositionId())) throw new CliError(`position ${id} does not exist`);
  try {
    return await cli.keel.nft.ownerOf(id);
  } catch (e) {
    throw new CliError(`position ${id} was closed`, { cause: e });
  }
}

async function requireOwner(cli: Cli, id: bigint): Promise<void> {
  const owner = await requireExists(cli, id);
  const me = await signerOf(cli).getAddress();
  if (owner.toLowerCase() !== me.toLowerCase()) throw new CliError(`position ${id} belongs to ${owner}, not to you (${me})`);
}

/** Gas headroom over the estimate: accrual and σ move between the estimate and the block. */
const GAS_MARGIN_PERCENT = 20n;

const engineOf = (cli: Cli): VaultEngine => cli.keel.engine.connect(signerOf(cli));

/** Simulates first (the estimate), so a refusal is explained with the protocol's own numbers and nothing is sent. */
export async function send<A extends unknown[], R>(
  what: string,
  method: TypedContractMethod<A, R, "nonpayable">,
  ...args: ContractMethodArgs<A, "view">
): Promise<void> {
  let sent: ContractTransactionResponse;
  try {
    const gas = await method.estimateGas(...args);
    const withGas = [...args, { gasLimit: gas + (gas * GAS_MARGIN_PERCENT) / 100n }] as unknown as ContractMethodArgs<A, "nonpayable">;
    sent = await method(...withGas);
  } catch (e) {
    throw explain(what, e);
  }
  await sent.wait();
}

function explain(what: string, e: unknown): CliError {
  const r = decodeRevert(e);
  if (!r) return new CliError(`${what}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  return new CliError(`${what}: ${refusalReason(r.name, [...r.args])}`, { cause: e });
}

const kusd = formatKusd;
const hf = formatHealth;
