/**
 * The gas benchmark (`npm run bench:gas`, scripts/bench-gas.ts has what it measures; `npm run snapshot` records it):
 * gasUsed per user operation on the in-process Hardhat network, and the table of it against the targets. Every
 * block is stamped by the bench's clock, so every run measures the same gas.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse, Signer } from "ethers";
import { deployKeel, type Keel } from "../../../deploy";
import { refreshFeeds, seedAmm } from "../../../dev/localMarket";
import { formatFixed } from "../../../src/units";
import { KeelError } from "../../../src/units/error";
import { markdownTable } from "../../../src/units/table";

export interface Row {
  operation: string;
  isolated?: bigint;
  cross?: bigint;
  /** Upper bounds [gas] for the isolated and the cross figure. */
  target?: { isolated?: bigint; cross?: bigint };
  /** The transactions measured, for a gas profile. */
  hashes?: { isolated?: string; cross?: string };
  /** Computed from other rows (no transaction of its own). */
  derived?: boolean;
}

/**
 * The bench's clock. Hardhat stamps a block with the wall clock plus an offset, so left alone the seconds between two
 * transactions are however long the script took between them, and gas follows: accrual raises the per-second fee
 * to the elapsed seconds (`rpowUp`, one multiplication per bit of them) and a volatility poke sums a series in
 * them, so a run slowed by two seconds an hour measured some operations ~550 gas apart from an unhurried one. Every
 * transaction a stamped signer sends is mined exactly one second after the previous one instead, and `advance` moves
 * the clock by exact seconds, so every run mines the same blocks at the same offsets from its first and measures
 * the same gas (`npm run snapshot:check` compares to the gas unit).
 */
class BenchClock {
  private next: number;

  constructor(latest: number) {
    this.next = latest + 1;
  }

  /** Lets `seconds` pass before the next transaction (no block is mined). */
  advance(seconds: number): void {
    this.next += seconds;
  }

  /** `signer`, each of its transactions mined at the clock's next second. Transactions must be sent one at a time. */
  stamp<T extends Signer>(signer: T): T {
    const send = async (tx: Parameters<Signer["sendTransaction"]>[0]): ReturnType<Signer["sendTransaction"]> => {
      await time.setNextBlockTimestamp(this.next);
      this.next += 1;
      return signer.sendTransaction(tx);
    };
    return new Proxy(signer, {
      get(target, property) {
        if (property === "sendTransaction") return send;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

const units = (symbol: string, amount: string, keel: Keel): bigint =>
  ethers.parseUnits(amount, keel.assets[symbol]!.config.decimals);

/** Every measured transaction, in the order measured: `withHashes` pairs them with the rows' figures. */
const measured: { hash: string; gas: bigint }[] = [];

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("no receipt");
  measured.push({ hash: receipt.hash, gas: receipt.gasUsed });
  return receipt.gasUsed;
}

/**
 * The rows with the hash of each figure's transaction (for `--profile`). Figures are measured in table order,
 * isolated before cross, so the n-th figure is the n-th measured transaction; a mismatch throws.
 */
function withHashes(rows: Row[], from: number): Row[] {
  let next = from;
  const take = (gas: bigint | undefined): string | undefined => {
    if (gas === undefined) return undefined;
    const m = measured[next++];
    if (!m || m.gas !== gas) throw new KeelError("CHAIN", "bench:gas: rows and measured transactions are out of step");
    return m.hash;
  };
  return rows.map((r) => (r.derived ? r : { ...r, hashes: { isolated: take(r.isolated), cross: take(r.cross) } }));
}

async function fund(keel: Keel, user: Signer): Promise<void> {
  const address = await user.getAddress();
  for (const symbol of ["WETH", "WBTC", "USDC"]) {
    const { token } = keel.assets[symbol]!;
    await (await token.mint(address, units(symbol, "1000000", keel))).wait();
    await (await token.connect(user).approve(keel.manager.target, ethers.MaxUint256)).wait();
    await (await token.connect(user).approve(keel.engine.target, ethers.MaxUint256)).wait();
  }
  await (await keel.kusd.connect(user).approve(keel.manager.target, ethers.MaxUint256)).wait();
  await (await keel.nft.connect(user).setApprovalForAll(keel.manager.target, true)).wait();
}

/** Deploys Keel on the in-process network and measures every operation, in the order of the table. */
export async function gasRows(): Promise<Row[]> {
  const from = measured.length;
  const clock = new BenchClock(await time.latest());
  const [deployer, user, keeper, flashKeeper, fresh, freshCross, ...batchKeepers] = (await ethers.getSigners()).map((s) => clock.stamp(s));
  const keel = await deployKeel(deployer!);
  const u = user!;
  const me = await u.getAddress();
  await fund(keel, u);
  const engine = keel.engine.connect(u);
  const manager = keel.manager.connect(u);
  const weth = await keel.assets.WETH!.token.getAddress();
  const basket = await Promise.all(["WETH", "WBTC", "USDC"].map((s) => keel.assets[s]!.token.getAddress()));
  const basketAmounts = [units("WETH", "10", keel), units("WBTC", "0.5", keel), units("USDC", "20000", keel)];

  // Warm-up: the user already holds kUSD, so later mints do not pay for a fresh balance slot.
  await manager.openAndBorrow(weth, units("WETH", "1", keel), ethers.parseEther("500"), me);

  const rows: Row[] = [];
  // An hour passes between operations (accrual is part of the cost); the feeds keep their heartbeat and the
  // keeper pokes the volatility oracle.
  const hourLater = async (): Promise<void> => {
    clock.advance(3600);
    await refreshFeeds(keel);
    await (await keel.vol.pokeAll()).wait();
  };
  rows.push(...(await volatilityRows(keel, clock, hourLater)));
  const iso = await gasOf(manager.openAndBorrow(weth, units("WETH", "10", keel), ethers.parseEther("10000"), me));
  const isoId = await keel.engine.lastPositionId();
  const cross = await gasOf(manager.openCrossAndBorrow(basket, basketAmounts, ethers.parseEther("30000"), me));
  const crossId = await keel.engine.lastPositionId();
  rows.push({ operation: "open + deposit + borrow (PositionManager, one tx)", isolated: iso, cross, target: { isolated: 230_000n } });

  await hourLater();
  rows.push({
    operation: "deposit",
    isolated: await gasOf(engine.deposit(isoId, weth, units("WETH", "1", keel))),
    cross: await gasOf(engine.deposit(crossId, basket[1]!, units("WBTC", "0.1", keel))),
    target: { isolated: 100_000n },
  });
  await hourLater();
  rows.push({
    operation: "borrow",
    isolated: await gasOf(engine.borrow(isoId, ethers.parseEther("1000"), me)),
    cross: await gasOf(engine.borrow(crossId, ethers.parseEther("1000"), me)),
    target: { isolated: 100_000n, cross: 160_000n },
  });
  await hourLater();
  rows.push({
    operation: "repay (partial)",
    isolated: await gasOf(engine.repay(isoId, ethers.parseEther("500"))),
    cross: await gasOf(engine.repay(crossId, ethers.parseEther("500"))),
    target: { isolated: 80_000n },
  });
  await hourLater();
  rows.push({
    operation: "withdraw (with debt)",
    isolated: await gasOf(engine.withdraw(isoId, weth, units("WETH", "0.5", keel), me)),
    cross: await gasOf(engine.withdraw(crossId, basket[0]!, units("WETH", "0.5", keel), me)),
    target: { isolated: 100_000n },
  });
  await hourLater();
  rows.push({
    operation: "repay (all)",
    isolated: await gasOf(engine.repay(isoId, ethers.MaxUint256)),
    cross: await gasOf(engine.repay(crossId, ethers.MaxUint256)),
  });
  await (await engine.borrow(isoId, ethers.parseEther("1000"), me)).wait();
  await (await engine.borrow(crossId, ethers.parseEther("1000"), me)).wait();
  await hourLater();
  rows.push({
    operation: "close (repay all + withdraw all + burn NFT)",
    isolated: await gasOf(engine.close(isoId, me)),
    cross: await gasOf(engine.close(crossId, me)),
  });

  rows.push(...(await liquidationRows(keel, clock, { deployer: deployer!, user: u, keeper: keeper!, flashKeeper: flashKeeper!, fresh: fresh!, freshCross: freshCross! })));
  rows.push(...(await batchRows(keel, u, batchKeepers, rows)));
  rows.push(...(await pegRows(keel, clock, u)));
  return withHashes(rows, from);
}

/** The peg: a USDC sale to and a purchase from the PSM, and a deposit to, drip of and withdrawal from sKUSD. */
async function pegRows(keel: Keel, clock: BenchClock, user: Signer): Promise<Row[]> {
  const me = await user.getAddress();
  const usdc = keel.assets.USDC!.token.connect(user);
  await (await usdc.approve(keel.psm.target, ethers.MaxUint256)).wait();
  await (await keel.kusd.connect(user).approve(keel.savings.target, ethers.MaxUint256)).wait();
  await refreshFeeds(keel);
  const psm = keel.psm.connect(user);
  const savings = keel.savings.connect(user);
  await (await psm.sellGem(me, units("USDC", "1000", keel))).wait(); // warm: P and the buffer's balance are non-zero
  const sell = await gasOf(psm.sellGem(me, units("USDC", "10000", keel)));
  const buy = await gasOf(psm.buyGem(me, units("USDC", "5000", keel)));
  await (await savings.deposit(ethers.parseEther("100"), me)).wait();
  clock.advance(86_400);
  const deposit = await gasOf(savings.deposit(ethers.parseEther("1000"), me));
  clock.advance(86_400);
  const drip = await gasOf(savings.drip());
  clock.advance(86_400);
  const withdraw = await gasOf(savings.withdraw(ethers.parseEther("500"), me, me));
  return [
    { operation: "PSM sellGem (USDC in, kUSD out, fee to the buffer)", isolated: sell },
    { operation: "PSM buyGem (kUSD in, USDC out, fee to the buffer)", isolated: buy },
    { operation: "sKUSD deposit (drips a day's interest first)", isolated: deposit },
    { operation: "sKUSD drip (a day's interest from the buffer)", isolated: drip },
    { operation: "sKUSD withdraw (drips first)", isolated: withdraw },
  ];
}

/** Who acts in the liquidation rows (every one stamped by the bench's clock). */
interface Actors {
  deployer: Signer;
  /** Opens the positions that are liquidated. */
  user: Signer;
  /** Liquidates with its own kUSD and already holds some of every seized token. */
  keeper: Signer;
  /** Liquidates through the FlashLiquidator and holds nothing. */
  flashKeeper: Signer;
  /** Hold kUSD (from the keeper) but have never held WETH or WBTC: one for the isolated position, one for the cross. */
  fresh: Signer;
  freshCross: Signer;
}

/**
 * Liquidation gas: positions opened at the limit, the price dropped, called, the grace period waited out.
 * Partial: HF between criticalHF and 1 (close factor caps the repayment). Full: HF under criticalHF.
 * The keeper holds kUSD for direct liquidations; the flash liquidation starts from a keeper with none.
 */
async function liquidationRows(keel: Keel, clock: BenchClock, actors: Actors): Promise<Row[]> {
  const { deployer, user, keeper, flashKeeper, fresh, freshCross } = actors;
  const me = await user.getAddress();
  const manager = keel.manager.connect(user);
  const weth = await keel.assets.WETH!.token.getAddress();
  const wbtc = await keel.assets.WBTC!.token.getAddress();
  await seedAmm(keel, deployer, { WETH: "5000", WBTC: "200" });
  const keeperAddress = await keeper.getAddress();
  // The keeper's kUSD comes from its own well-collateralized USDC position.
  const usdc = keel.assets.USDC!.token;
  await (await usdc.mint(keeperAddress, units("USDC", "10000000", keel))).wait();
  await (await usdc.connect(keeper).approve(keel.manager.target, ethers.MaxUint256)).wait();
  await (await keel.manager.connect(keeper).openAndBorrow(usdc.target, units("USDC", "10000000", keel), ethers.parseEther("5000000"), keeperAddress)).wait();

  const open = async (): Promise<[bigint, bigint]> => {
    await (await manager.openAndBorrow(weth, units("WETH", "10", keel), ethers.parseEther("24500"), me)).wait();
    const iso = await keel.engine.lastPositionId();
    await (await manager.openCrossAndBorrow([weth, wbtc], [units("WETH", "10", keel), units("WBTC", "0.5", keel)], ethers.parseEther("48000"), me)).wait();
    return [iso, await keel.engine.lastPositionId()];
  };
  const callAndWait = async (ids: bigint[]): Promise<void> => {
    for (const id of ids) await (await keel.engine.connect(keeper).marginCall(id)).wait();
    clock.advance(Number(keel.config.liquidation.gracePeriod));
    await refreshFeeds(keel);
  };
  const engine = keel.engine.connect(keeper);
  const rows: Row[] = [];
  // Steady state: the keeper already holds some WETH and WBTC, and the surplus buffer holds kUSD (fees collected),
  // so no liquidation pays 20,000 gas for a balance slot going from zero to non-zero.
  await (await keel.assets.WETH!.token.mint(keeperAddress, 1n)).wait();
  await (await keel.assets.WBTC!.token.mint(keeperAddress, 1n)).wait();
  clock.advance(3600);
  await refreshFeeds(keel);
  await (await keel.engine.collectFees()).wait();
  // First-timers: kUSD by transfer from the keeper, so the seized token's balance is the only fresh slot.
  const firstTimers = await Promise.all([fresh, freshCross].map((s) => s.getAddress()));
  for (const who of firstTimers) {
    for (const token of [keel.assets.WETH!.token, keel.assets.WBTC!.token]) {
      if ((await token.balanceOf(who)) !== 0n) throw new KeelError("CHAIN", `bench:gas: ${who} already holds ${await token.symbol()}`);
    }
    await (await keel.kusd.connect(keeper).transfer(who, ethers.parseEther("100000"))).wait();
  }

  // Partial: WETH to 2,700 and WBTC −16% leave both HFs between the critical 0.95 and 1. Each row is its own round
  // from the same prices, so each liquidation is the first after the grace period and pays the same accrual.
  const prices = [await keel.assets.WETH!.feed.latestAnswer(), await keel.assets.WBTC!.feed.latestAnswer()] as const;
  const partial = async (isoBy: Signer, crossBy: Signer): Promise<{ isolated: bigint; cross: bigint }> => {
    await (await keel.assets.WETH!.feed.updateAnswer(prices[0])).wait();
    await (await keel.assets.WBTC!.feed.updateAnswer(prices[1])).wait();
    const [iso, cross] = await open();
    await (await keel.assets.WETH!.feed.updateAnswer(2700n * 10n ** 8n)).wait();
    await (await keel.assets.WBTC!.feed.updateAnswer(50400n * 10n ** 8n)).wait();
    await callAndWait([iso, cross]);
    return {
      isolated: await gasOf(keel.engine.connect(isoBy).liquidate(iso, weth, ethers.MaxUint256, await isoBy.getAddress(), "0x")),
      cross: await gasOf(keel.engine.connect(crossBy).liquidate(cross, weth, ethers.MaxUint256, await crossBy.getAddress(), "0x")),
    };
  };
  rows.push({ operation: "liquidate (partial, keeper holds kUSD)", ...(await partial(keeper, keeper)), target: { isolated: 150_000n, cross: 220_000n } });
  rows.push({
    operation: "liquidate (partial, liquidator never held the seized token)",
    ...(await partial(fresh, freshCross)),
    target: { isolated: 175_000n },
  });

  // Full: a further drop takes HF under criticalHF, liquidatable at once and in full.
  await (await keel.assets.WETH!.feed.updateAnswer(3000n * 10n ** 8n)).wait();
  await (await keel.assets.WBTC!.feed.updateAnswer(60000n * 10n ** 8n)).wait();
  const [isoB, crossB] = await open();
  const [isoC] = await open();
  await (await keel.assets.WETH!.feed.updateAnswer(2600n * 10n ** 8n)).wait();
  await (await keel.assets.WBTC!.feed.updateAnswer(46000n * 10n ** 8n)).wait();
  rows.push({
    operation: "liquidate (full, HF < criticalHF)",
    isolated: await gasOf(engine.liquidate(isoB, weth, ethers.MaxUint256, keeperAddress, "0x")),
    cross: await gasOf(engine.liquidate(crossB, wbtc, ethers.MaxUint256, keeperAddress, "0x")),
  });
  rows.push({
    operation: SINGLE_FLASH,
    isolated: await gasOf(
      keel.flashLiquidator.connect(flashKeeper).liquidate(isoC, weth, ethers.MaxUint256, keel.amm.target, 0n),
    ),
  });
  return rows;
}

/** Positions per batch in the batch rows. */
const BATCH_SIZES = [1, 10, 50] as const;
const [FIRST_BATCH, , LAST_BATCH] = BATCH_SIZES;
/** The Osaka per-transaction gas cap (EIP-7825): every batch must fit under it. */
const TX_GAS_CAP = 16_777_216n;
/** Target: each position a batch adds costs at most 60% of a single flash liquidation. */
const EXTRA_POSITION_SHARE = 60n;
const SINGLE_FLASH = "flash liquidation (FlashLiquidator + MockAMM, no kUSD held)";

/** The batch row of `n` positions. */
export const batchOperation = (n: number): string =>
  `flash liquidation batch of ${n} (liquidateBatch + MockAMM, no kUSD held)`;
export const EXTRA_POSITION_OPERATION = `flash liquidation batch: gas per extra position ((batch of ${LAST_BATCH} − batch of ${FIRST_BATCH}) / ${LAST_BATCH - FIRST_BATCH})`;

/**
 * Batch flash liquidations (`FlashLiquidator.liquidateBatch`) of 1, 10 and 50 isolated WETH positions set up as the
 * single flash liquidation's (10 WETH, 24,500 kUSD opened at $3,000, WETH then at $2,600: under criticalHF, so all
 * of the debt is due and repaid at the full bonus ℓ), each batch by a keeper holding no kUSD, selling on the
 * same AMM. Then the gas each position after the first adds, against the single flash liquidation's.
 */
async function batchRows(keel: Keel, user: Signer, keepers: Signer[], before: readonly Row[]): Promise<Row[]> {
  const me = await user.getAddress();
  const weth = await keel.assets.WETH!.token.getAddress();
  const manager = keel.manager.connect(user);
  const gas = new Map<number, bigint>();
  const rows: Row[] = [];
  for (const [k, n] of BATCH_SIZES.entries()) {
    const keeper = keepers[k];
    if (!keeper) throw new KeelError("CHAIN", "bench:gas: not enough signers for the batch rows");
    if ((await keel.kusd.balanceOf(await keeper.getAddress())) !== 0n) throw new KeelError("CHAIN", "bench:gas: a batch keeper holds kUSD");
    await (await keel.assets.WETH!.feed.updateAnswer(3000n * 10n ** 8n)).wait();
    const targets: { id: bigint; asset: string; maxRepay: bigint }[] = [];
    for (let i = 0; i < n; i++) {
      await (await manager.openAndBorrow(weth, units("WETH", "10", keel), ethers.parseEther("24500"), me)).wait();
      targets.push({ id: await keel.engine.lastPositionId(), asset: weth, maxRepay: ethers.MaxUint256 });
    }
    await (await keel.assets.WETH!.feed.updateAnswer(2600n * 10n ** 8n)).wait();
    const g = await gasOf(keel.flashLiquidator.connect(keeper).liquidateBatch(targets, keel.amm.target, 0n));
    for (const { id } of targets) {
      if ((await keel.engine.debtOf(id)) !== 0n) throw new KeelError("CHAIN", `bench:gas: batch of ${n} left position ${id} with debt`);
    }
    gas.set(n, g);
    rows.push({ operation: batchOperation(n), isolated: g, target: { isolated: TX_GAS_CAP } });
  }
  const single = before.find((r) => r.operation === SINGLE_FLASH)?.isolated;
  const [first, last] = [gas.get(FIRST_BATCH), gas.get(LAST_BATCH)];
  if (single === undefined || first === undefined || last === undefined) throw new KeelError("CHAIN", "bench:gas: batch rows incomplete");
  const extra = (last - first) / BigInt(LAST_BATCH - FIRST_BATCH);
  rows.push({ operation: EXTRA_POSITION_OPERATION, isolated: extra, target: { isolated: (single * EXTRA_POSITION_SHARE) / 100n }, derived: true });
  return rows;
}

/** Keeper upkeep: the first poke only records a price; from the second on, each poke updates the EWMA. */
async function volatilityRows(keel: Keel, clock: BenchClock, hourLater: () => Promise<void>): Promise<Row[]> {
  const weth = await keel.assets.WETH!.token.getAddress();
  const first = await gasOf(keel.vol.poke(weth));
  await hourLater(); // seeds every asset
  clock.advance(3600);
  await (await keel.assets.WETH!.feed.updateAnswer(3030n * 10n ** 8n)).wait();
  const steady = await gasOf(keel.vol.poke(weth));
  clock.advance(3600);
  await refreshFeeds(keel);
  const all = await gasOf(keel.vol.pokeAll());
  return [
    { operation: "volatility poke (first: records the price)", isolated: first },
    { operation: "volatility poke (EWMA update)", isolated: steady },
    { operation: `volatility pokeAll (${keel.config.assets.length} assets)`, isolated: all },
  ];
}

/** The batch curve in one line: what each extra position costs, as a share of a single flash liquidation. */
export function batchSummary(rows: readonly Row[]): string {
  const single = rows.find((r) => r.operation === SINGLE_FLASH)?.isolated;
  const extra = rows.find((r) => r.operation === EXTRA_POSITION_OPERATION)?.isolated;
  if (single === undefined || extra === undefined) return "";
  const pct = formatFixed((extra * 10_000n) / single, 2);
  return `batch liquidation: ${formatFixed(extra, 0)} gas per extra position = ${pct}% of a single flash liquidation (${formatFixed(single, 0)}; target ≤ ${EXTRA_POSITION_SHARE}%)`;
}

/** Whether `gas` meets `target`; undefined when either is missing. */
const meets = (gas?: bigint, target?: bigint): boolean | undefined => (gas === undefined || target === undefined ? undefined : gas <= target);

/** The table `npm run bench:gas` prints (markdown): each figure, each target, and "NO" when a target is missed. */
export function gasTable(rows: readonly Row[]): string {
  const fmt = (g?: bigint): string => (g === undefined ? "" : formatFixed(g, 0));
  const bound = (g?: bigint): string => (g === undefined ? "" : `≤ ${fmt(g)}`);
  return markdownTable(
    rows.map((r) => {
      const checks = [meets(r.isolated, r.target?.isolated), meets(r.cross, r.target?.cross)].filter((c) => c !== undefined);
      return {
        operation: r.operation,
        isolated: fmt(r.isolated),
        cross: fmt(r.cross),
        "target (isolated)": bound(r.target?.isolated),
        "target (cross)": bound(r.target?.cross),
        ok: checks.length === 0 ? "" : checks.every(Boolean) ? "yes" : "NO",
      };
    }),
  );
}
