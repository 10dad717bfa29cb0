/**
 * One invariant sequence: the fixture (Keel from the real deploy code, a seeded AMM, a bank position lending kUSD
 * to the others, funded users), the ghost state read once at the start, and `steps` random actions, each followed
 * by every per-step invariant; owners' exit (I11 owners can exit) every `exitEvery` steps and at the end. Step i draws
 * from its own PRNG (seed, i), so a sequence can be replayed with steps skipped when shrinking a failure.
 */
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { MaxUint256, ZeroAddress } from "ethers";
import { deployKeel, type Keel } from "../../deploy";
import { refreshFeeds, seedAmm } from "../../dev/localMarket";
import * as m from "../../src/math";
import { Prng } from "../../src/risk/random";
import * as liq from "./liquidations";
import * as mkt from "./market";
import * as peg from "./peg";
import * as pos from "./positions";
import type { Action } from "./actions";
import { actBurst } from "./burst";
import { checkOwnersCanExit, checkStep } from "./checks";
import { RevertDecoder } from "./errors";
import { actGovern, actPause } from "./governance";
import { Stats, type Actor, type GhostPosition, type World } from "./model";
import { readSnapshot } from "./snapshot";

const WEIGHTS: readonly (readonly [Action, number])[] = [
  [pos.actOpenIsolated, 6],
  [pos.actOpenCross, 4],
  [pos.actDeposit, 8],
  [pos.actWithdraw, 6],
  [pos.actBorrow, 10],
  [pos.actRepay, 7],
  [pos.actClose, 3],
  [pos.actTransfer, 3],
  [pos.actOpenCrossAtDust, 3],
  [pos.actStrangerWei, 2],
  [pos.actTransferInOneTx, 1],
  [mkt.actPriceSmall, 8],
  [mkt.actPriceGap, 5],
  [mkt.actTimeJump, 5],
  [mkt.actRefreshFeeds, 4],
  [mkt.actFeedFailure, 2],
  [mkt.actPoke, 3],
  [mkt.actCollectFees, 2],
  [liq.actMarginCall, 5],
  [liq.actClearMarginCall, 2],
  [liq.actRecoverThenDip, 2],
  [liq.actLiquidate, 7],
  [liq.actFlashLiquidate, 3],
  [liq.actCoverDeficit, 2],
  [actGovern, 2],
  [actPause, 1],
  [actBurst, 3],
  [peg.actSellGem, 3],
  [peg.actBuyGem, 2],
  [peg.actSave, 2],
  [peg.actUnsave, 2],
  [peg.actDrip, 1],
];
const WARM_UP = 4;
const TOTAL_WEIGHT = WEIGHTS.reduce((a, [, w]) => a + w, 0);

const USER_FUNDS: Record<string, string> = { WETH: "2000", WBTC: "100", USDC: "10000000", wstETH: "2000" };

/** Keel, AMM pools seeded at oracle prices, the bank's 20M kUSD against 100M USDC, users funded and approved. */
export async function invariantFixture(): Promise<Keel> {
  const [deployer, u1, u2, u3, u4, keeper, bank] = await ethers.getSigners();
  const keel = await deployKeel(deployer!);
  await seedAmm(keel, deployer!, { WETH: "1000", WBTC: "50", USDC: "1000000", wstETH: "1000" });
  const engine = await keel.engine.getAddress();
  const usdc = keel.assets.USDC!.token;
  await (await usdc.mint(bank!.address, 100_000_000n * 10n ** 6n)).wait();
  await (await usdc.connect(bank!).approve(engine, MaxUint256)).wait();
  await (await keel.engine.connect(bank!).open(1, ZeroAddress, bank!.address)).wait();
  const id = await keel.engine.lastPositionId();
  await (await keel.engine.connect(bank!).deposit(id, usdc.target, 100_000_000n * 10n ** 6n)).wait();
  await (await keel.engine.connect(bank!).borrow(id, 20_000_000n * m.WAD, bank!.address)).wait();
  await (await keel.kusd.connect(bank!).transfer(keeper!.address, 2_000_000n * m.WAD)).wait();
  for (const who of [deployer!, keeper!, bank!]) {
    for (const { token } of Object.values(keel.assets)) await (await token.connect(who).approve(engine, MaxUint256)).wait();
  }
  for (const user of [u1!, u2!, u3!, u4!]) {
    for (const [symbol, whole] of Object.entries(USER_FUNDS)) {
      const { token, config } = keel.assets[symbol]!;
      await (await token.mint(user.address, BigInt(whole) * 10n ** BigInt(config.decimals))).wait();
      await (await token.connect(user).approve(engine, MaxUint256)).wait();
    }
    await (await keel.assets.USDC!.token.connect(user).approve(keel.psm.target, MaxUint256)).wait();
    await (await keel.kusd.connect(user).approve(keel.savings.target, MaxUint256)).wait();
  }
  return keel;
}

async function newWorld(keel: Keel, seed: bigint, stats: Stats): Promise<World> {
  const signers = await ethers.getSigners();
  const actor = (i: number, name: string, role: Actor["role"]): Actor => ({ name, role, signer: signers[i]!, address: signers[i]!.address });
  const users = [1, 2, 3, 4].map((i) => actor(i, `user${i}`, "user"));
  const keeper = actor(5, "keeper", "keeper");
  const bank = actor(6, "bank", "bank");
  const governance = actor(0, "governance", "governance");
  const assets = [];
  for (const [symbol, { token, config }] of Object.entries(keel.assets)) {
    assets.push({ symbol, address: await token.getAddress(), unit: 10n ** BigInt(config.decimals) });
  }
  const w: World = {
    keel, seed, step: -1, prng: new Prng(seed), decoder: new RevertDecoder(keel), users, keeper, bank, governance,
    actors: [governance, ...users, keeper, bank], assets, crossClass: await keel.engine.CROSS_CLASS(),
    positions: new Map(), deficit: await keel.engine.deficit(), rates: new Map(), lastPrices: new Map(),
    initialAnswers: new Map(await Promise.all(Object.entries(keel.assets).map(async ([s, a]) => [s, await a.feed.latestAnswer()] as const))), log: [], stats,
  };
  const s = await readSnapshot(w, "latest");
  const dust = await keel.engine.dust();
  for (const p of s.positions.values()) {
    const [mode, classKey, normDebt] = await keel.engine.positionInfo(p.id);
    const g: GhostPosition = {
      id: p.id, cross: mode === 1n, classKey, owner: p.owner, collateral: new Map(), normDebt, dustFloor: dust, open: true,
    };
    p.assets.forEach((a, i) => g.collateral.set(a, p.amounts[i]!));
    w.positions.set(p.id, g);
  }
  return w;
}

export class SequenceFailure extends Error {
  override name = "SequenceFailure";
  constructor(
    readonly seed: bigint,
    readonly step: number,
    readonly log: string[],
    cause: unknown,
  ) {
    super(`seed ${seed}, step ${step}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Runs one sequence from a fresh fixture; `skip` drops steps (for shrinking). Throws SequenceFailure. */
export interface SequenceOptions {
  steps: number;
  exitEvery: number;
}

export async function runSequence(seed: bigint, o: SequenceOptions, stats: Stats, skip = new Set<number>()): Promise<string[]> {
  const { steps, exitEvery } = o;
  const keel = await loadFixture(invariantFixture);
  await refreshFeeds(keel);
  const w = await newWorld(keel, seed, stats);
  let step = -1;
  try {
    await checkStep(w);
    for (step = 0; step < steps; step++) {
      if (skip.has(step)) continue;
      w.prng = new Prng(seed * 1_000_003n + BigInt(step));
      w.step = step;
      w.log.push(`#${step}`);
      let r = w.prng.int(1, TOTAL_WEIGHT);
      // The first steps open positions, so every sequence has a book to act on.
      const [action] = step < WARM_UP ? [step % 2 === 0 ? pos.actOpenIsolated : pos.actOpenCross] : WEIGHTS.find(([, weight]) => (r -= weight) <= 0)!;
      const logged = w.log.length;
      await action(w);
      if (w.log.length === logged) w.log.push(`(${action.name}: no candidate, nothing done)`);
      await checkStep(w);
      stats.steps++;
      if ((step + 1) % exitEvery === 0) await checkOwnersCanExit(w, step % 2 === 0);
    }
    step = steps;
    await checkOwnersCanExit(w, false);
    await checkOwnersCanExit(w, true);
  } catch (error) {
    throw new SequenceFailure(seed, step, w.log, error);
  }
  stats.sequences++;
  return w.log;
}

/**
 * Shrinks a failure by dropping chunks of the steps before the failing one (halves, then quarters, … then single
 * steps), keeping a drop whenever the sequence still fails with the same kind of error, within `budget` replays.
 * Steps draw from their own PRNG, so dropping one leaves the others' draws intact (their choices still depend on
 * the state, so a shrunk sequence is a different, shorter sequence that fails the same way).
 */
export async function shrink(failure: SequenceFailure, o: SequenceOptions, budget = 80): Promise<{ skip: Set<number>; failure: SequenceFailure }> {
  const signature = (f: SequenceFailure): string => f.message.replace(/^seed \d+, step \d+: /, "").replace(/\d+/g, "#").slice(0, 60);
  const target = signature(failure);
  const skip = new Set<number>();
  let best = failure;
  let replays = 0;
  for (let chunk = Math.max(1, Math.floor(failure.step / 2)); chunk >= 1 && replays < budget; chunk = Math.floor(chunk / 2)) {
    for (let from = 0; from < best.step && replays < budget; from += chunk) {
      const drop = [];
      for (let i = from; i < Math.min(from + chunk, best.step); i++) if (!skip.has(i)) drop.push(i);
      if (drop.length === 0) continue;
      drop.forEach((i) => skip.add(i));
      replays++;
      try {
        await runSequence(failure.seed, { ...o, steps: best.step + 1 }, new Stats(), skip);
        drop.forEach((i) => skip.delete(i));
      } catch (e) {
        if (e instanceof SequenceFailure && signature(e) === target) best = e;
        else drop.forEach((i) => skip.delete(i));
      }
    }
    if (chunk === 1) break;
  }
  return { skip, failure: best };
}
