/**
 * Crash replays against the real contracts: a fresh chain (the caller's reset), Keel deployed with the production
 * deploy code, the AMM seeded, a book of positions opened, and the real keeper (in process, flash liquidations)
 * run after every step of a scenario's price path. Each step publishes the path's prices on the mock feeds, lets
 * an arbitrageur bring the AMM back to them, lets some margin-called owners cure, then runs keeper rounds; when the
 * scenario has feedback, the price impact of the keeper's sales moves the oracle in the same step and the keeper
 * runs again (the cascade). The §6 ledger is checked after every step.
 */
import { NonceManager, type Wallet } from "ethers";
import { deployKeel, type Keel, type KeelAsset, localConfig, type RawKeelConfig } from "../deploy";
import { devWallet, type DevProvider } from "../dev/accounts";
import { openSamplePositions } from "../dev/samplePositions";
import { borrowAgainstUsdc, seedAmm } from "../dev/localMarket";
import { toSnapshot } from "../src/keeper/evaluate";
import { createInProcessKeeper, type InProcessKeeper } from "./inProcessKeeper";
import type { Health } from "../src/keeper/sweep";
import { WAD } from "../src/math";
import { arbitrageTo, kusdFromPsm } from "./arbitrage";
import { type LedgerReading, readLedger } from "./ledger";
import { Prng } from "../src/risk/random";
import { hfAtEnd, type PreLiquidation, readPreLiquidation, recovered } from "./recovery";
import { type Scenario, ScenarioError } from "./crash";
import { type HardhatSend, installStepClock } from "./stepClock";

export interface ReplayOptions {
  positions: number;
  seed: bigint;
  /** "dynamic": the keeper pokes the volatility oracle hourly; "static": never, so every σ stays at its floor. */
  margin: "dynamic" | "static";
  /** Replaces the config's grace period, e.g. "0s" for immediate liquidation. */
  gracePeriod?: string;
  /** "fixed": every asset's bonus curve flattened to its largest bonus ℓ (the penalty before the curve). */
  penalty?: "fixed";
  /** The deployment config (default: the local config). */
  config?: RawKeelConfig;
  /** Called after every step (progress bars). */
  onStep?: (step: StepRecord) => void;
}

/** A network the replay can wipe and drive: Hardhat's in-process network. */
export interface ReplayNetwork {
  provider: DevProvider;
  /** `hre.network.provider`, what `provider` sends through: the replay runs it on its own clock (stepClock.ts). */
  hardhat: HardhatSend;
  /** Back to an empty chain (hardhat_reset). */
  reset(): Promise<void>;
}

export interface StepRecord {
  step: number;
  hour: number;
  /** Oracle price [USD] of each listed asset at the end of the step (display only). */
  prices: Record<string, number>;
  /** Multiple of the path price the feedback loop has applied so far, per asset (1 = none). */
  impact: Record<string, number>;
  marginCalls: number;
  cures: number;
  liquidations: number;
  /** Keeper rounds: 1, plus one per feedback repricing that was followed by more liquidations. */
  rounds: number;
  /** Liquidations in each keeper round of the step (round 2 on: set off by the feedback of earlier sales). */
  roundLiquidations: number[];
  /** Positions by state after the step (the keeper's last pass). */
  callable: number;
  called: number;
  liquidatable: number;
  /** [wad kUSD] cumulative. */
  badDebt: bigint;
  deficit: bigint;
  keeperProfit: bigint;
  /**
   * kUSD's price on the AMM [USD], from the reserve's pool (the reserve's oracle price over the pool's kUSD per
   * reserve unit): after the step's arbitrage, and at the step's end (after the keeper's sales). Undefined without a
   * seeded pool for the PSM's reserve.
   */
  kusdPrice?: { afterArbitrage: number; atEnd: number };
  /** [wad kUSD] P × (1 − the reserve's oracle price) at the step's end; 0 at or above $1. */
  pegShortfall: bigint;
  ledger: LedgerReading;
}

export interface LiquidationRecord {
  step: number;
  /** Keeper round within the step (1 = on the path price; 2 on = after feedback repricings). */
  round: number;
  block: number;
  id: bigint;
  asset: string;
  repaid: bigint; // [wad]
  seized: bigint; // token units
  badDebt: bigint; // [wad]
  /** On a position's first liquidation only: its state just before, and its HF at the scenario's end had it been left alone. */
  first?: FirstLiquidation;
}

export interface FirstLiquidation extends PreLiquidation {
  /** [wad] HF at the final prices, σ and rates (see ./recovery). */
  hfAtEnd: bigint;
  /** hfAtEnd ≥ 1: the path alone would have left it Safe. */
  wouldHaveRecovered: boolean;
}

export interface ReplaySummary {
  positions: number;
  marginCalls: number;
  /** Margin calls cleared other than by a liquidation: the owner cured, or the price recovered. */
  cured: number;
  liquidations: number;
  positionsLiquidated: number;
  /** [wad kUSD] the keeper made after gas. */
  keeperProfit: bigint;
  /** [wad kUSD] bad debt recognised by liquidations. */
  badDebt: bigint;
  /** [wad kUSD] bad debt not covered by the surplus buffer at the end. */
  deficit: bigint;
  /** Σ collateral value at oracle prices / Σ debt, at the end. */
  collateralRatio: number;
  /** Most keeper rounds in one step. */
  cascadeDepth: number;
  /**
   * How deep the cascade went: most keeper rounds with liquidations in one step (1 = liquidations on the path price
   * only; each further level liquidated positions that the previous level's sales pushed under via the oracle).
   */
  cascadeLevels: number;
  /** Liquidations in keeper rounds ≥ 2: set off by the price impact of earlier liquidation sales. */
  cascadeLiquidations: number;
  /** Liquidated positions whose pre-liquidation state would have had HF ≥ 1 at the scenario's end. */
  wouldHaveRecovered: number;
  /** [wad kUSD] Σ debt repaid by liquidations. */
  liquidatedDebt: bigint;
  /** [wad kUSD] the arbitrageur minted at the PSM to bring pools back to the oracle, and P at the end. */
  pegMinted: bigint;
  pegDebt: bigint;
  /**
   * [wad kUSD] the PSM's worst shortfall: max over steps of P × (1 − the reserve's oracle price), what its reserve
   * would fall short of the kUSD minted against it if the depeg lasted (next to the positions' bad debt).
   */
  pegShortfall: bigint;
  /** [wad kUSD] over the run: the PSM's fee income to the buffer, and the savings interest the buffer paid out. */
  pegFees: bigint;
  savingsPaid: bigint;
  /** Lowest multiple the feedback loop put on each path asset's price (1 = none). */
  deepestImpact: Record<string, number>;
  /** Ledger checks and whether every one held. */
  invariantChecks: number;
  invariantHeld: boolean;
  violations: string[];
}

/** The book and market before the first step, for the risk tables (VaR/ES of the starting book). */
export interface ReplayStart {
  /** Every position with debt: collateral by symbol (token units) and debt [wad]. */
  book: { id: bigint; collateral: Record<string, bigint>; debt: bigint }[];
  /** [wad] oracle price and σ in force per symbol. */
  prices: Record<string, bigint>;
  sigmas: Record<string, bigint>;
}

export interface ReplayResult {
  scenario: Scenario;
  start: ReplayStart;
  options: Omit<ReplayOptions, "onStep" | "config">;
  steps: StepRecord[];
  liquidations: LiquidationRecord[];
  /** HF of every position with debt, before the first step and after the last (display floats). */
  hfBefore: number[];
  hfAfter: number[];
  summary: ReplaySummary;
}

/** Accounts on Hardhat's development mnemonic: 0 deploys, 1–5 own the book, 7 holds kUSD from the PSM, 8 arbitrages, 9 keeps. */
const ACCOUNT = { deployer: 0, owners: [1, 2, 3, 4, 5], pegHolder: 7, arbitrageur: 8, keeper: 9 } as const;
/** Share of the PSM's ceiling a holder has swapped in before the scenario starts: the P a reserve depeg exposes. */
const PSM_START_SHARE = 10n;
/** Share of its debt a curing owner repays. */
const CURE_REPAY_PERCENT = 40n;
/** Keeper rounds in one step at most (each after a feedback repricing). */
const MAX_ROUNDS = 8;
/** Impact below which a feedback repricing is not published (0.1%). */
const IMPACT_EPSILON = 1e-3;

/** Replays `scenario` on a fresh chain whose block times depend on the scenario alone (same inputs, same result). */
export async function replay(network: ReplayNetwork, scenario: Scenario, options: ReplayOptions): Promise<ReplayResult> {
  const uninstall = installStepClock(network.hardhat);
  try {
    return await replayOnClock(network, scenario, options);
  } finally {
    uninstall();
  }
}

async function replayOnClock(network: ReplayNetwork, scenario: Scenario, options: ReplayOptions): Promise<ReplayResult> {
  for (const [s, path] of Object.entries(scenario.paths)) {
    if (path.length !== scenario.steps + 1) {
      throw new ScenarioError(`scenario ${scenario.name}: path ${s} has ${path.length} prices for steps 0..${scenario.steps}`);
    }
  }
  await network.reset();
  const provider = network.provider;
  const world = await setUp(provider, scenario, options);
  const { keel, bot } = world;
  const prng = new Prng(options.seed ^ 0x5ce7a210n);
  const symbols = Object.keys(keel.assets);
  const startAnswers = new Map<string, { feed: KeelAsset["feed"]; answer: bigint }>();
  for (const s of Object.keys(scenario.paths)) {
    const a = keel.assets[s];
    if (!a) throw new ScenarioError(`scenario ${scenario.name}: unknown asset ${s} (listed: ${symbols.join(", ")})`);
    startAnswers.set(s, { feed: a.feed, answer: await a.feed.latestAnswer() });
  }
  const impact: Record<string, number> = Object.fromEntries(symbols.map((s) => [s, 1]));
  const deepestImpact: Record<string, number> = Object.fromEntries(Object.keys(scenario.paths).map((s) => [s, 1]));
  const startHealth = await sweepAll(bot, provider);
  const hfBefore = toFloats(startHealth);
  const start = await startOf(bot, startHealth);
  const t0 = (await provider.getBlock("latest"))!.timestamp + 60;
  const steps: StepRecord[] = [];
  const liquidations: LiquidationRecord[] = [];
  const decided = new Set<string>();
  const cleared = new Set<string>();
  let marginCalls = 0;
  let keeperProfit = 0n;
  let cascadeDepth = 0;
  const liquidated = new Set<bigint>();

  for (let k = 1; k <= scenario.steps; k++) {
    const fromBlock = (await provider.getBlockNumber()) + 1;
    await provider.send("evm_setNextBlockTimestamp", [t0 + k * scenario.stepSeconds]);
    await publishPrices(keel, scenario, k, startAnswers, impact);
    await rebalanceAmm(world, scenario);
    const kusdAfterArbitrage = await kusdPriceOnAmm(keel);
    const cures = await cureSome(world, prng, scenario.cureRate, decided);

    let rounds = 0;
    const roundLiquidations: number[] = [];
    const roundStarts: number[] = [];
    let last: { callable: number; called: number; liquidatable: number };
    for (;;) {
      rounds++;
      roundStarts.push((await provider.getBlockNumber()) + 1);
      const before = await spots(keel, scenario);
      const reports = await bot.keeper.runOnce();
      const acted = reports.reduce((n, r) => n + r.liquidations, 0);
      roundLiquidations.push(acted);
      for (const r of reports) {
        keeperProfit += r.profit;
        marginCalls += r.marginCalls;
      }
      const tail = reports[reports.length - 1]!;
      last = { callable: tail.callable, called: tail.called, liquidatable: tail.liquidatable };
      if (scenario.feedback === 0 || acted === 0 || rounds >= MAX_ROUNDS) break;
      const after = await spots(keel, scenario);
      let moved = false;
      for (const [s, p0] of before) {
        const ratio = Number(after.get(s)!) / Number(p0);
        if (ratio < 1 - IMPACT_EPSILON) {
          const next = impact[s]! * ratio ** scenario.feedback; // every pool is a listed asset's (seedAmm checked)
          impact[s] = next;
          const deepest = deepestImpact[s];
          if (deepest !== undefined) deepestImpact[s] = Math.min(deepest, next);
          moved = true;
        }
      }
      if (!moved) break;
      await publishPrices(keel, scenario, k, startAnswers, impact);
    }
    cascadeDepth = Math.max(cascadeDepth, rounds);

    const toBlock = await provider.getBlockNumber();
    const events = await stepEvents(keel, fromBlock, toBlock, k, roundStarts);
    for (const l of events.liquidations) {
      if (!liquidated.has(l.id)) {
        liquidated.add(l.id);
        const pre = await readPreLiquidation(bot.keel, l.id, l.block - 1);
        l.first = { ...pre, hfAtEnd: 0n, wouldHaveRecovered: false };
      }
    }
    liquidations.push(...events.liquidations);
    for (const id of events.cleared) cleared.add(id);
    const health = await sweepAll(bot, provider);
    const ledger = await readLedger(bot.keel, bot.index.positions(), health, toBlock);
    const record: StepRecord = {
      step: k,
      hour: (k * scenario.stepSeconds) / 3600,
      prices: await oraclePrices(keel),
      impact: { ...impact },
      marginCalls: events.marginCalls,
      cures,
      liquidations: events.liquidations.length,
      rounds,
      roundLiquidations,
      callable: last.callable,
      called: last.called,
      liquidatable: last.liquidatable,
      badDebt: liquidations.reduce((s, l) => s + l.badDebt, 0n),
      deficit: await keel.engine.deficit(),
      keeperProfit,
      ...(kusdAfterArbitrage === undefined ? {} : { kusdPrice: { afterArbitrage: kusdAfterArbitrage, atEnd: (await kusdPriceOnAmm(keel))! } }),
      pegShortfall: await pegShortfall(keel, ledger.pegDebt),
      ledger,
    };
    steps.push(record);
    options.onStep?.(record);
  }

  const finalHealth = await sweepAll(bot, provider);
  const endMarket = toSnapshot(await bot.keel.lens.market());
  for (const l of liquidations) {
    if (!l.first) continue;
    l.first.hfAtEnd = hfAtEnd(l.first, endMarket);
    l.first.wouldHaveRecovered = recovered(l.first.hfAtEnd);
  }
  const violations = steps.flatMap((s) => s.ledger.violations.map((v) => `step ${s.step}: ${v}`));
  const summary: ReplaySummary = {
    positions: world.book.length,
    marginCalls,
    cured: cleared.size,
    liquidations: liquidations.length,
    positionsLiquidated: new Set(liquidations.map((l) => l.id)).size,
    keeperProfit,
    badDebt: liquidations.reduce((s, l) => s + l.badDebt, 0n),
    deficit: await keel.engine.deficit(),
    collateralRatio: await collateralRatio(bot, finalHealth),
    cascadeDepth,
    cascadeLevels: Math.max(0, ...steps.map((s) => s.roundLiquidations.filter((n) => n > 0).length)),
    cascadeLiquidations: liquidations.filter((l) => l.round > 1).length,
    wouldHaveRecovered: liquidations.filter((l) => l.first?.wouldHaveRecovered).length,
    liquidatedDebt: liquidations.reduce((s, l) => s + l.repaid, 0n),
    pegMinted: world.kusdSource.minted(),
    pegDebt: await keel.psm.debt(),
    pegShortfall: steps.reduce((worst, st) => (st.pegShortfall > worst ? st.pegShortfall : worst), 0n),
    ...(await pegIncome(keel)),
    deepestImpact,
    invariantChecks: steps.length,
    invariantHeld: violations.length === 0,
    violations,
  };
  const { onStep: _onStep, config: _config, ...shown } = options;
  return { scenario, start, options: shown, steps, liquidations, hfBefore, hfAfter: toFloats(finalHealth), summary };
}

interface World {
  keel: Keel;
  bot: InProcessKeeper;
  book: bigint[];
  owners: Map<string, Wallet>;
  arbitrageur: Wallet;
  /** Where the arbitrageur gets kUSD it lacks: the peg stability module. */
  kusdSource: ReturnType<typeof kusdFromPsm>;
}

/** The deployment config of a variant: its grace period, and with a fixed penalty every bonus curve flattened. */
export function variantConfig(base: RawKeelConfig, o: Pick<ReplayOptions, "gracePeriod" | "penalty">): RawKeelConfig {
  const liquidation = o.gracePeriod === undefined ? base.liquidation : { ...base.liquidation, gracePeriod: o.gracePeriod };
  if (o.penalty !== "fixed") return { ...base, liquidation };
  const assets = base.assets.map((a) => {
    const { minLiquidationPenalty: _min, fullPenaltyHF: _full, ...risk } = a.risk;
    return { ...a, risk };
  });
  return { ...base, assets, liquidation };
}

/** Deploys, seeds the AMM, funds the arbitrageur, opens the book and builds the keeper. */
async function setUp(provider: DevProvider, scenario: Scenario, o: ReplayOptions): Promise<World> {
  const config = variantConfig(o.config ?? localConfig, o);
  const deployer = new NonceManager(devWallet(ACCOUNT.deployer, provider));
  const keel = await deployKeel(deployer, config);
  await seedAmm(keel, deployer, scenario.ammDepth);
  // Before the scenario, a holder has swapped reserve for kUSD: the PSM starts with P at a tenth of its ceiling.
  const reserve = keel.assets[keel.config.peg.reserve]!;
  const holder = devWallet(ACCOUNT.pegHolder, provider);
  const gemAmount = keel.config.peg.debtCeiling / PSM_START_SHARE / 10n ** BigInt(18 - reserve.config.decimals);
  await (await reserve.token.connect(holder).mint(holder.address, gemAmount)).wait();
  await (await reserve.token.connect(holder).approve(keel.psm.target, gemAmount)).wait();
  await (await keel.psm.connect(holder).sellGem(holder.address, gemAmount)).wait();
  const arbitrageur = devWallet(ACCOUNT.arbitrageur, provider);
  // Enough kUSD to buy back a third of every pool's kUSD side when prices recover.
  let poolKusd = 0n;
  for (const a of Object.values(keel.assets)) poolKusd += (await keel.amm.pools(a.token.target as string))[1];
  if (poolKusd > 0n) await borrowAgainstUsdc(keel, arbitrageur, poolKusd / 3n);
  // One request in flight: blocks hold the opens in the order sent, so ids, gas and every figure repeat exactly.
  const book = await openSamplePositions(keel, { provider }, { positions: o.positions, seed: o.seed, owners: ACCOUNT.owners.length, inFlight: 1 });
  const bot = await createInProcessKeeper({
    keel,
    wallet: devWallet(ACCOUNT.keeper, provider),
    keeper: { liquidation: "flash", pokeEvery: o.margin === "dynamic" ? 3600 : 0, fullSweepEvery: 1 },
  });
  const owners = new Map(ACCOUNT.owners.map((i) => {
    const w = devWallet(i, provider);
    return [w.address.toLowerCase(), w] as const;
  }));
  const kusdSource = kusdFromPsm(keel.psm, reserve.token, reserve.config.decimals, arbitrageur);
  return { keel, bot, book, owners, arbitrageur, kusdSource };
}

/** Sets every path asset's feed to its path price × feedback impact, and refreshes every other feed's heartbeat. */
async function publishPrices(
  keel: Keel,
  scenario: Scenario,
  step: number,
  start: ReadonlyMap<string, { feed: KeelAsset["feed"]; answer: bigint }>,
  impact: Readonly<Record<string, number>>,
): Promise<void> {
  const moved = new Set<string>();
  for (const [symbol, { feed, answer: answer0 }] of start) {
    // `start` holds the path assets, each listed; `replay` checked every path has steps + 1 prices.
    const multiple = scenario.paths[symbol]![step]! * impact[symbol]!;
    await (await feed.updateAnswer((answer0 * BigInt(Math.round(multiple * 1e9))) / 1_000_000_000n)).wait();
    moved.add(feed.target as string);
  }
  for (const a of Object.values(keel.assets)) {
    for (const feed of a.baseFeed ? [a.feed, a.baseFeed] : [a.feed]) {
      if (moved.has(feed.target as string)) continue;
      moved.add(feed.target as string);
      await (await feed.updateAnswer(await feed.latestAnswer())).wait();
    }
  }
}

/** Arbitrage: every pool back to its oracle price. */
async function rebalanceAmm(world: World, scenario: Scenario): Promise<void> {
  const { keel } = world;
  for (const symbol of Object.keys(scenario.ammDepth)) {
    const a = keel.assets[symbol]!;
    const target = await keel.oracle.getPrice(a.token.target as string);
    await arbitrageTo(keel.amm, keel.kusd, a.token, 10n ** BigInt(a.config.decimals), target, world.arbitrageur, world.kusdSource);
  }
}

/** The PSM's fees (to the buffer) and the savings interest the buffer paid, over the whole run [wad kUSD]. */
async function pegIncome(keel: Keel): Promise<{ pegFees: bigint; savingsPaid: bigint }> {
  const sold = await keel.psm.queryFilter(keel.psm.filters.GemSold(), 0);
  const bought = await keel.psm.queryFilter(keel.psm.filters.GemBought(), 0);
  const paid = await keel.surplus.queryFilter(keel.surplus.filters.InterestPaid(), 0);
  return {
    pegFees: [...sold, ...bought].reduce((sum, e) => sum + e.args.fee, 0n),
    savingsPaid: paid.reduce((sum, e) => sum + e.args.paid, 0n),
  };
}

/** P × (1 − the reserve's price) [wad kUSD]; a reserve without a price counts as worthless. */
async function pegShortfall(keel: Keel, pegDebt: bigint): Promise<bigint> {
  if (pegDebt === 0n) return 0n;
  let price = 0n;
  try {
    price = await keel.oracle.getPrice(await keel.psm.gem());
  } catch {
    // a failing feed: no price to count the reserve at
  }
  return price >= WAD ? 0n : (pegDebt * (WAD - price)) / WAD;
}

/** kUSD's price on the AMM [USD]: the PSM reserve's oracle price over its pool's spot (kUSD per reserve unit). */
async function kusdPriceOnAmm(keel: Keel): Promise<number | undefined> {
  const reserve = keel.assets[keel.config.peg.reserve]!;
  const [x, y] = await keel.amm.pools(reserve.token.target as string);
  if (x === 0n || y === 0n) return undefined;
  const spot = Number(y) / 1e18 / (Number(x) / 10 ** reserve.config.decimals);
  return Number(await keel.oracle.getPrice(reserve.token.target as string)) / 1e18 / spot;
}

/** Each newly margin-called position's owner cures it (repays part of the debt) with probability `rate`. */
async function cureSome(world: World, prng: Prng, rate: number, decided: Set<string>): Promise<number> {
  const { keel, bot } = world;
  await bot.index.sync(await bot.rpc.provider.getBlockNumber());
  let cures = 0;
  for (const p of bot.index.positions()) {
    if (p.deadline === 0n) continue;
    const key = `${p.id}:${p.deadline}`;
    if (decided.has(key)) continue;
    decided.add(key);
    if (prng.uniform() >= rate) continue;
    const owner = world.owners.get((await keel.nft.ownerOf(p.id)).toLowerCase());
    if (!owner) continue;
    const repay = ((await keel.engine.debtOf(p.id)) * CURE_REPAY_PERCENT) / 100n;
    if (repay === 0n || (await keel.kusd.balanceOf(owner.address)) < repay) continue;
    await (await keel.engine.connect(owner).repay(p.id, repay)).wait();
    cures++;
  }
  return cures;
}

async function spots(keel: Keel, scenario: Scenario): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  for (const s of Object.keys(scenario.ammDepth)) out.set(s, await keel.amm.spotPrice(keel.assets[s]!.token.target as string));
  return out;
}

async function oraclePrices(keel: Keel): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [s, a] of Object.entries(keel.assets)) out[s] = Number((await keel.oracle.getPrice(a.token.target as string)) / 10n ** 9n) / 1e9;
  return out;
}

async function stepEvents(
  keel: Keel,
  fromBlock: number,
  toBlock: number,
  step: number,
  roundStarts: readonly number[],
): Promise<{ liquidations: LiquidationRecord[]; marginCalls: number; cleared: string[] }> {
  const e = keel.engine;
  const [liq, calls, clears] = await Promise.all([
    e.queryFilter(e.filters.Liquidated(), fromBlock, toBlock),
    e.queryFilter(e.filters.MarginCalled(), fromBlock, toBlock),
    e.queryFilter(e.filters.MarginCallCleared(), fromBlock, toBlock),
  ]);
  return {
    liquidations: liq.map((l) => ({
      step,
      round: Math.max(1, roundStarts.filter((b) => b <= l.blockNumber).length),
      block: l.blockNumber,
      id: l.args.id,
      asset: l.args.asset,
      repaid: l.args.repaid,
      seized: l.args.seized,
      badDebt: l.args.badDebt,
    })),
    marginCalls: calls.length,
    // A call a liquidation cleared (the position came back above 1) was not cured.
    cleared: clears
      .filter((c) => !liq.some((l) => l.transactionHash === c.transactionHash && l.args.id === c.args.id))
      .map((c) => `${c.args.id}:${c.blockNumber}`),
  };
}

/** Every open position's health at the head, through Lens.healthScan (the chain's numbers). */
async function sweepAll(bot: InProcessKeeper, provider: DevProvider): Promise<Map<bigint, Health>> {
  const head = await provider.getBlockNumber();
  await bot.index.sync(head);
  return bot.keeper.sweeper.sweep(bot.index.positions(), head);
}

function toFloats(health: ReadonlyMap<bigint, Health>): number[] {
  return [...health.values()].filter((h) => h.debt > 0n && h.priced).map((h) => Number(h.hf / 10n ** 12n) / 1e6);
}

/** Σ collateral value at oracle prices / Σ debt over the book. */
async function collateralRatio(bot: InProcessKeeper, health: ReadonlyMap<bigint, Health>): Promise<number> {
  const market = await bot.keel.lens.market();
  const price = new Map(market.assets.map((a, i) => [a.toLowerCase(), { p: market.prices[i]!, unit: market.units[i]! }]));
  let value = 0n;
  let debt = 0n;
  for (const p of bot.index.positions()) {
    for (const [asset, amount] of Object.entries(p.collateral)) {
      const q = price.get(asset);
      if (q) value += (amount * q.p) / q.unit;
    }
    debt += health.get(p.id)?.debt ?? 0n;
  }
  return debt === 0n ? Infinity : Number((value * WAD) / debt / 10n ** 12n) / 1e6;
}

/** The book (positions with debt) and the market prices and σ before the first step. */
async function startOf(bot: InProcessKeeper, health: ReadonlyMap<bigint, Health>): Promise<ReplayStart> {
  const symbolOf = new Map(Object.entries(bot.keel.assets).map(([s, a]) => [(a.token.target as string).toLowerCase(), s]));
  const market = await bot.keel.lens.market();
  const prices: Record<string, bigint> = {};
  const sigmas: Record<string, bigint> = {};
  market.assets.forEach((a, i) => {
    const s = symbolOf.get(a.toLowerCase());
    if (s === undefined) return;
    prices[s] = market.prices[i]!;
    sigmas[s] = market.sigmas[i]!;
  });
  const book = bot.index
    .positions()
    .filter((p) => (health.get(p.id)?.debt ?? 0n) > 0n)
    .map((p) => ({
      id: p.id,
      collateral: Object.fromEntries(Object.entries(p.collateral).map(([a, amount]) => [symbolOf.get(a) ?? a, amount])),
      debt: health.get(p.id)!.debt,
    }));
  return { book, prices, sigmas };
}
