/**
 * Reads from the chain through the Lens and the engine's views (no indexer): the market with everything the
 * preview needs at any block time, an account's positions, one position, and a position's history from the
 * engine's events in chunked log queries.
 */
import { type Address, BaseError, ContractFunctionRevertedError, erc20Abi, type PublicClient, zeroAddress } from "viem";
import type { DebtClassState, MarketAt, PositionState, SigmaAnchor } from "../../src/protocol/preview";
import { sigmaAt } from "../../src/protocol/preview";
import type { Keel } from "./manifest";

export interface AssetMarket {
  address: Address;
  price: bigint; // [wad]
  priced: boolean;
  unit: bigint;
  sigma: bigint; // [wad] σ in force at `Market.blockTime`
  sigmaTarget: bigint; // [wad]
  sigmaMin: bigint;
  sigmaMax: bigint;
  anchor: SigmaAnchor;
  maintenanceHaircut: bigint;
  initialHaircut: bigint;
  liquidationPenalty: bigint; // ℓ: the bonus at HF ≤ fullPenaltyHF
  minLiquidationPenalty: bigint; // ℓmin: the bonus at HF = 1
  fullPenaltyHF: bigint;
  debtClass: DebtClassState;
  supplyCap: bigint;
  supplied: bigint; // token decimals, across all positions
}

export interface Market {
  blockTime: bigint; // [s] of the latest block
  fetchedAt: number; // [ms] browser clock when read
  assets: AssetMarket[];
  correlation: readonly bigint[];
  zMaintenance: bigint;
  zInitial: bigint;
  crossClass: DebtClassState;
  crossClassKey: Address;
  criticalHF: bigint;
  gracePeriod: bigint;
  dust: bigint;
  globalDebt: bigint;
  globalDebtCeiling: bigint;
}

/** The market now: Lens.market() plus the volatility anchors and stored debt classes that time moves. */
export async function readMarket(client: PublicClient, keel: Keel): Promise<Market> {
  const block = await client.getBlock({ blockTag: "latest" });
  const blockNumber = block.number;
  const m = await client.readContract({ ...keel.lens, functionName: "market", blockNumber });
  const assets = await Promise.all(
    m.assets.map(async (address, i) => {
      const [state, risk, target, debtClass, config] = await Promise.all([
        client.readContract({ ...keel.vol, functionName: "stateOf", args: [address], blockNumber }),
        client.readContract({ ...keel.risk, functionName: "assetRisk", args: [address], blockNumber }),
        client.readContract({ ...keel.vol, functionName: "sigmaTarget", args: [address], blockNumber }),
        client.readContract({ ...keel.engine, functionName: "debtClass", args: [address], blockNumber }),
        client.readContract({ ...keel.engine, functionName: "collateralConfig", args: [address], blockNumber }),
      ]);
      const anchor: SigmaAnchor = { sigma: state.sigma, target: state.target, maxStep: state.maxStep, anchoredAt: BigInt(state.anchoredAt), seeded: state.seeded };
      return {
        address,
        price: m.prices[i] ?? 0n,
        priced: m.priced[i] ?? false,
        unit: m.units[i] ?? 1n,
        sigma: sigmaAt(anchor, risk.sigmaMin, risk.sigmaMax, block.timestamp),
        sigmaTarget: target,
        sigmaMin: risk.sigmaMin,
        sigmaMax: risk.sigmaMax,
        anchor,
        maintenanceHaircut: m.maintenanceHaircuts[i] ?? 0n,
        initialHaircut: m.initialHaircuts[i] ?? 0n,
        liquidationPenalty: m.liquidationPenalties[i] ?? 0n,
        minLiquidationPenalty: m.minLiquidationPenalties[i] ?? 0n,
        fullPenaltyHF: m.fullPenaltyHFs[i] ?? 0n,
        debtClass: classState(debtClass),
        supplyCap: config[0],
        supplied: config[1],
      };
    }),
  );
  const crossClassKey = m.classes[m.classes.length - 1]!;
  const [cross, dust, globalDebt, globalDebtCeiling] = await Promise.all([
    client.readContract({ ...keel.engine, functionName: "debtClass", args: [crossClassKey], blockNumber }),
    client.readContract({ ...keel.engine, functionName: "dust", blockNumber }),
    client.readContract({ ...keel.engine, functionName: "globalDebt", blockNumber }),
    client.readContract({ ...keel.engine, functionName: "globalDebtCeiling", blockNumber }),
  ]);
  return {
    blockTime: block.timestamp,
    fetchedAt: Date.now(),
    assets,
    correlation: m.correlation,
    zMaintenance: m.zMaintenance,
    zInitial: m.zInitial,
    crossClass: classState(cross),
    crossClassKey,
    criticalHF: m.liquidation.criticalHF,
    gracePeriod: m.liquidation.gracePeriod,
    dust,
    globalDebt,
    globalDebtCeiling,
  };
}

function classState(c: { rate: bigint; normDebt: bigint; updatedAt: number; stabilityFee: bigint; debtCeiling: bigint }): DebtClassState {
  return { rate: c.rate, normDebt: c.normDebt, updatedAt: BigInt(c.updatedAt), stabilityFee: c.stabilityFee, debtCeiling: c.debtCeiling };
}

/**
 * The time [s] the next transaction's block will most likely carry: one second after the latest block, or the
 * wall clock when later (a node stamps unpinned blocks with its clock).
 */
export function nextBlockTime(market: Pick<Market, "blockTime">, nowMs: number = Date.now()): bigint {
  const wall = BigInt(Math.floor(nowMs / 1000));
  return wall > market.blockTime ? wall : market.blockTime + 1n;
}

/** The chain's time now [s], extrapolated from the latest block by the browser's clock (for countdowns). */
export const chainNow = (market: Market, nowMs: number = Date.now()): bigint =>
  market.blockTime + BigInt(Math.max(0, Math.floor((nowMs - market.fetchedAt) / 1000)));

/** The market at block time `time`: σ stepped toward its target, the margin formula's inputs. */
export function marketAt(market: Market, time: bigint): MarketAt {
  return {
    time,
    assets: market.assets.map((a) => ({
      address: a.address.toLowerCase(),
      price: a.price,
      unit: a.unit,
      sigma: sigmaAt(a.anchor, a.sigmaMin, a.sigmaMax, time),
      maintenanceHaircut: a.maintenanceHaircut,
      initialHaircut: a.initialHaircut,
    })),
    correlation: market.correlation,
    zMaintenance: market.zMaintenance,
    zInitial: market.zInitial,
    criticalHF: market.criticalHF,
    dust: market.dust,
  };
}

/** A position as `Lens.position` shows it. */
export interface PositionView {
  id: bigint;
  owner: Address;
  mode: number; // 0 isolated, 1 cross
  assets: readonly Address[];
  amounts: readonly bigint[];
  assetValues: readonly bigint[];
  value: bigint;
  debt: bigint;
  hf: bigint; // [wad] margin HF; 0 unless `valued`
  hfInitial: bigint; // [wad]; 0 unless `priced`
  priced: boolean; // every price of the position was read
  valued: boolean; // the margin HF is known (a cross basket values a failed holding at zero)
}

/** Every position `owner` holds, in pages of the Lens's batch size. */
export async function readPositionsOf(client: PublicClient, keel: Keel, owner: Address): Promise<PositionView[]> {
  const out: PositionView[] = [];
  let from = 1n;
  for (;;) {
    const [views, next] = await client.readContract({ ...keel.lens, functionName: "positionsOf", args: [owner, from, 500n] });
    out.push(...views);
    if (next === 0n) return out;
    from = next;
  }
}

export interface PositionDetail {
  view: PositionView;
  /** What the preview needs (state as stored, with the class's accumulator). */
  state: PositionState;
  /** The engine's own state now (`stateOf`); undefined when a price fails. */
  engineState?: number;
}

/** One position with its stored state; undefined when it does not exist or was closed. */
export async function readPosition(client: PublicClient, keel: Keel, market: Market, id: bigint): Promise<PositionDetail | undefined> {
  let info: readonly [number, Address, bigint];
  try {
    info = await client.readContract({ ...keel.engine, functionName: "positionInfo", args: [id] });
  } catch (e) {
    // An unknown or closed id reverts with PositionNotFound; anything else is a read failure to show.
    const revert = e instanceof BaseError ? e.walk((x) => x instanceof ContractFunctionRevertedError) : undefined;
    if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName === "PositionNotFound") return undefined;
    throw e;
  }
  const [view, deadline, engineState] = await Promise.all([
    client.readContract({ ...keel.lens, functionName: "position", args: [id] }),
    client.readContract({ ...keel.engine, functionName: "callDeadline", args: [id] }),
    client.readContract({ ...keel.engine, functionName: "stateOf", args: [id] }).then(
      ([s]) => s,
      () => undefined,
    ),
  ]);
  const [mode, classKey, normDebt] = info;
  const cross = mode === 1;
  const debtClass = cross ? market.crossClass : market.assets.find((a) => a.address.toLowerCase() === classKey.toLowerCase())?.debtClass;
  if (!debtClass) return undefined;
  const holdings = new Map<string, bigint>();
  view.assets.forEach((a, i) => holdings.set(a.toLowerCase(), view.amounts[i] ?? 0n));
  return {
    view,
    state: { id, cross, holdings, normDebt, debtClass, deadline },
    ...(engineState === undefined ? {} : { engineState }),
  };
}

/** One entry of a position's history, from the engine's events. */
export interface HistoryEntry {
  blockNumber: bigint;
  txHash: string;
  what: "opened" | "deposit" | "withdrawal" | "borrow" | "repayment" | "closed" | "liquidation" | "margin call" | "call cleared";
  asset?: Address;
  /** Collateral after (token decimals) or normalized debt after [wad], as the event carries it. */
  collateral?: bigint;
  normDebt?: bigint;
  repaid?: bigint;
  seized?: bigint;
  /** kUSD [wad] minted (borrow) or burnt (repayment) by the transaction. */
  kusd?: bigint;
  deadline?: bigint;
}

const OPERATIONS = ["deposit", "withdrawal", "borrow", "repayment", "closed", "liquidation"] as const;
/** Blocks per log query: small enough for public RPC limits. */
const LOG_CHUNK = 5_000n;

/** The history of position `id` from the deployment block on, oldest first. */
export async function readHistory(client: PublicClient, keel: Keel, id: bigint): Promise<HistoryEntry[]> {
  const latest = await client.getBlockNumber();
  const out: HistoryEntry[] = [];
  for (let from = keel.deploymentBlock; from <= latest; from += LOG_CHUNK) {
    const to = from + LOG_CHUNK - 1n < latest ? from + LOG_CHUNK - 1n : latest;
    const events = await client.getContractEvents({ ...keel.engine, args: { id }, fromBlock: from, toBlock: to, strict: false });
    // Borrows mint and repayments burn kUSD in the same transaction: that is the amount in kUSD.
    const debtTxs = events.filter((e) => e.eventName === "PositionUpdated" && (Number((e.args as { op?: number }).op) === 2 || Number((e.args as { op?: number }).op) === 3));
    const kusdMoved = new Map<string, bigint>();
    if (debtTxs.length > 0) {
      const [minted, burnt] = await Promise.all([
        client.getContractEvents({ ...keel.kusd, eventName: "Transfer", args: { from: zeroAddress }, fromBlock: from, toBlock: to }),
        client.getContractEvents({ ...keel.kusd, eventName: "Transfer", args: { to: zeroAddress }, fromBlock: from, toBlock: to }),
      ]);
      for (const t of [...minted, ...burnt]) kusdMoved.set(t.transactionHash, (kusdMoved.get(t.transactionHash) ?? 0n) + (t.args.value ?? 0n));
    }
    for (const e of events) {
      const base = { blockNumber: e.blockNumber, txHash: e.transactionHash };
      const a = e.args as Record<string, unknown>;
      if (a.id !== id) continue;
      switch (e.eventName) {
        case "PositionOpened":
          out.push({ ...base, what: "opened", asset: a.asset as Address });
          break;
        case "PositionUpdated": {
          const what = OPERATIONS[Number(a.op)];
          if (what && what !== "closed" && what !== "liquidation") {
            const kusd = what === "borrow" || what === "repayment" ? kusdMoved.get(e.transactionHash) : undefined;
            out.push({ ...base, what, asset: a.asset as Address, collateral: a.collateral as bigint, normDebt: a.normDebt as bigint, ...(kusd === undefined ? {} : { kusd }) });
          }
          break;
        }
        case "PositionClosed":
          out.push({ ...base, what: "closed" });
          break;
        case "MarginCalled":
          out.push({ ...base, what: "margin call", deadline: a.deadline as bigint });
          break;
        case "MarginCallCleared":
          out.push({ ...base, what: "call cleared" });
          break;
        case "Liquidated":
          out.push({ ...base, what: "liquidation", asset: a.asset as Address, repaid: a.repaid as bigint, seized: a.seized as bigint });
          break;
        default:
          break;
      }
    }
  }
  return out;
}

/** The peg stability module and the savings vault now (docs/spec.md §10), read at one block. */
export interface Stability {
  blockTime: bigint; // [s] of the block read
  gem: { address: Address; symbol: string; decimals: number };
  feeIn: bigint; // [wad]
  feeOut: bigint; // [wad]
  debt: bigint; // [wad] P: kUSD minted against the reserve and not burnt back
  debtCeiling: bigint; // [wad]
  freezeThreshold: bigint; // [wad] distance from $1 beyond which selling the reserve is frozen
  paused: boolean; // the guardian paused selling the reserve
  frozen: boolean; // `sellGemFrozen()`: paused, depegged or the price failed
  price?: bigint; // [wad] the reserve's oracle price; undefined when it cannot be read
  reserveHeld: bigint; // reserve decimals, the module's balance
  savingsRate: bigint; // [ray per second]
  lastDrip: bigint; // [s]
  totalAssets: bigint; // [wad] kUSD in the vault before the next drip
  totalShares: bigint; // sKUSD supply
  spendable: bigint; // [wad] what the surplus buffer can pay in interest
}

export async function readStability(client: PublicClient, peg: NonNullable<Keel["peg"]>): Promise<Stability> {
  const block = await client.getBlock({ blockTag: "latest" });
  const blockNumber = block.number;
  const { psm, savings, surplus } = peg;
  const gem = await client.readContract({ ...psm, functionName: "gem", blockNumber });
  const [symbol, decimals, feeIn, feeOut, debt, debtCeiling, freezeThreshold, paused, frozen, reserveHeld, savingsRate, lastDrip, totalAssets, totalShares, spendable] = await Promise.all([
    client.readContract({ address: gem, abi: erc20Abi, functionName: "symbol", blockNumber }),
    client.readContract({ address: gem, abi: erc20Abi, functionName: "decimals", blockNumber }),
    client.readContract({ ...psm, functionName: "feeIn", blockNumber }),
    client.readContract({ ...psm, functionName: "feeOut", blockNumber }),
    client.readContract({ ...psm, functionName: "debt", blockNumber }),
    client.readContract({ ...psm, functionName: "debtCeiling", blockNumber }),
    client.readContract({ ...psm, functionName: "freezeThreshold", blockNumber }),
    client.readContract({ ...psm, functionName: "sellGemPaused", blockNumber }),
    client.readContract({ ...psm, functionName: "sellGemFrozen", blockNumber }),
    client.readContract({ address: gem, abi: erc20Abi, functionName: "balanceOf", args: [psm.address], blockNumber }),
    client.readContract({ ...savings, functionName: "savingsRate", blockNumber }),
    client.readContract({ ...savings, functionName: "lastDrip", blockNumber }),
    client.readContract({ ...savings, functionName: "totalAssets", blockNumber }),
    client.readContract({ ...savings, functionName: "totalSupply", blockNumber }),
    client.readContract({ ...surplus, functionName: "spendable", blockNumber }),
  ]);
  // The module's own oracle (the PriceOracle's ABI from the manifest): its price, or undefined when the read reverts
  // (a stale or failed feed), which is what freezes selling.
  const oracle = await client.readContract({ ...psm, functionName: "oracle", blockNumber });
  const price = await client.readContract({ address: oracle, abi: peg.oracle.abi, functionName: "getPrice", args: [gem], blockNumber }).catch(() => undefined);
  return {
    blockTime: block.timestamp,
    gem: { address: gem, symbol, decimals },
    feeIn,
    feeOut,
    debt,
    debtCeiling,
    freezeThreshold,
    paused,
    frozen,
    ...(price === undefined ? {} : { price }),
    reserveHeld,
    savingsRate,
    lastDrip: BigInt(lastDrip),
    totalAssets,
    totalShares,
    spendable,
  };
}

/** What an account holds for the Stability page: the reserve, kUSD and sKUSD, and the two allowances the actions need. */
export interface StabilityAccount {
  gem: bigint; // reserve decimals
  gemAllowance: bigint; // to the PSM (selling the reserve pulls it)
  kusd: bigint; // [wad]
  kusdAllowance: bigint; // to the savings vault (a deposit pulls it; the PSM burns kUSD without one)
  shares: bigint; // sKUSD
}

export async function readStabilityAccount(client: PublicClient, keel: Keel, peg: NonNullable<Keel["peg"]>, gem: Address, account: Address): Promise<StabilityAccount> {
  const [gemBalance, gemAllowance, kusd, kusdAllowance, shares] = await Promise.all([
    client.readContract({ address: gem, abi: erc20Abi, functionName: "balanceOf", args: [account] }),
    client.readContract({ address: gem, abi: erc20Abi, functionName: "allowance", args: [account, peg.psm.address] }),
    client.readContract({ ...keel.kusd, functionName: "balanceOf", args: [account] }),
    client.readContract({ ...keel.kusd, functionName: "allowance", args: [account, peg.savings.address] }),
    client.readContract({ ...peg.savings, functionName: "balanceOf", args: [account] }),
  ]);
  return { gem: gemBalance, gemAllowance, kusd, kusdAllowance, shares };
}
