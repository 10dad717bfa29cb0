/**
 * The gas benchmark (`npm run bench:gas`, scripts/bench-gas.ts has what it measures): gasUsed per user operation
 * on the in-process Hardhat network, and the table of it against the targets.
 */
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse, Signer } from "ethers";
import { deployKeel, type Keel } from "../../../deploy";
import { refreshFeeds, seedAmm } from "../../../dev/localMarket";
import { formatFixed } from "../../../src/units";
import { markdownTable } from "../../../src/units/table";

export interface Row {
  operation: string;
  isolated?: bigint;
  cross?: bigint;
  target?: bigint;
}

const units = (symbol: string, amount: string, keel: Keel): bigint =>
  ethers.parseUnits(amount, keel.assets[symbol]!.config.decimals);

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt.gasUsed;
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
  const [deployer, user] = await ethers.getSigners();
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
    await time.increase(3600);
    await refreshFeeds(keel);
    await (await keel.vol.pokeAll()).wait();
  };
  rows.push(...(await volatilityRows(keel, hourLater)));
  const iso = await gasOf(manager.openAndBorrow(weth, units("WETH", "10", keel), ethers.parseEther("10000"), me));
  const isoId = await keel.engine.lastPositionId();
  const cross = await gasOf(manager.openCrossAndBorrow(basket, basketAmounts, ethers.parseEther("30000"), me));
  const crossId = await keel.engine.lastPositionId();
  rows.push({ operation: "open + deposit + borrow (PositionManager, one tx)", isolated: iso, cross, target: 250_000n });

  await hourLater();
  rows.push({
    operation: "deposit",
    isolated: await gasOf(engine.deposit(isoId, weth, units("WETH", "1", keel))),
    cross: await gasOf(engine.deposit(crossId, basket[1]!, units("WBTC", "0.1", keel))),
    target: 100_000n,
  });
  await hourLater();
  rows.push({
    operation: "borrow",
    isolated: await gasOf(engine.borrow(isoId, ethers.parseEther("1000"), me)),
    cross: await gasOf(engine.borrow(crossId, ethers.parseEther("1000"), me)),
    target: 100_000n,
  });
  await hourLater();
  rows.push({
    operation: "repay (partial)",
    isolated: await gasOf(engine.repay(isoId, ethers.parseEther("500"))),
    cross: await gasOf(engine.repay(crossId, ethers.parseEther("500"))),
    target: 100_000n,
  });
  await hourLater();
  rows.push({
    operation: "withdraw (with debt)",
    isolated: await gasOf(engine.withdraw(isoId, weth, units("WETH", "0.5", keel), me)),
    cross: await gasOf(engine.withdraw(crossId, basket[0]!, units("WETH", "0.5", keel), me)),
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

  rows.push(...(await liquidationRows(keel, u)));
  return rows;
}

/**
 * Liquidation gas: positions opened at the limit, the price dropped, called, the grace period waited out.
 * Partial: HF between criticalHF and 1 (close factor caps the repayment). Full: HF under criticalHF.
 * The keeper holds kUSD for direct liquidations; the flash liquidation starts from a keeper with none.
 */
async function liquidationRows(keel: Keel, user: Signer): Promise<Row[]> {
  const [deployer, , keeper, flashKeeper] = await ethers.getSigners();
  const me = await user.getAddress();
  const manager = keel.manager.connect(user);
  const weth = await keel.assets.WETH!.token.getAddress();
  const wbtc = await keel.assets.WBTC!.token.getAddress();
  await seedAmm(keel, deployer!, { WETH: "5000", WBTC: "200" });
  const keeperAddress = await keeper!.getAddress();
  // The keeper's kUSD comes from its own well-collateralized USDC position.
  const usdc = keel.assets.USDC!.token;
  await (await usdc.mint(keeperAddress, units("USDC", "10000000", keel))).wait();
  await (await usdc.connect(keeper!).approve(keel.manager.target, ethers.MaxUint256)).wait();
  await (await keel.manager.connect(keeper!).openAndBorrow(usdc.target, units("USDC", "10000000", keel), ethers.parseEther("5000000"), keeperAddress)).wait();

  const open = async (): Promise<[bigint, bigint]> => {
    await (await manager.openAndBorrow(weth, units("WETH", "10", keel), ethers.parseEther("25000"), me)).wait();
    const iso = await keel.engine.lastPositionId();
    await (await manager.openCrossAndBorrow([weth, wbtc], [units("WETH", "10", keel), units("WBTC", "0.5", keel)], ethers.parseEther("48000"), me)).wait();
    return [iso, await keel.engine.lastPositionId()];
  };
  const callAndWait = async (ids: bigint[]): Promise<void> => {
    for (const id of ids) await (await keel.engine.connect(keeper!).marginCall(id)).wait();
    await time.increase(Number(keel.config.liquidation.gracePeriod));
    await refreshFeeds(keel);
  };
  const engine = keel.engine.connect(keeper!);
  const rows: Row[] = [];
  // Steady state: the keeper already holds some WETH and WBTC, and the surplus buffer holds kUSD (fees collected),
  // so no liquidation pays 20,000 gas for a balance slot going from zero to non-zero.
  await (await keel.assets.WETH!.token.mint(keeperAddress, 1n)).wait();
  await (await keel.assets.WBTC!.token.mint(keeperAddress, 1n)).wait();
  await time.increase(3600);
  await refreshFeeds(keel);
  await (await keel.engine.collectFees()).wait();

  // Partial: WETH −10%, WBTC −16% leave both HFs between the critical 0.95 and 1.
  const [isoA, crossA] = await open();
  await (await keel.assets.WETH!.feed.updateAnswer(2700n * 10n ** 8n)).wait();
  await (await keel.assets.WBTC!.feed.updateAnswer(50400n * 10n ** 8n)).wait();
  await callAndWait([isoA, crossA]);
  rows.push({
    operation: "liquidate (partial, keeper holds kUSD)",
    isolated: await gasOf(engine.liquidate(isoA, weth, ethers.MaxUint256, keeperAddress, "0x")),
    cross: await gasOf(engine.liquidate(crossA, weth, ethers.MaxUint256, keeperAddress, "0x")),
    target: 160_000n,
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
    operation: "flash liquidation (FlashLiquidator + MockAMM, no kUSD held)",
    isolated: await gasOf(
      keel.flashLiquidator.connect(flashKeeper!).liquidate(isoC, weth, ethers.MaxUint256, keel.amm.target, 0n),
    ),
  });
  return rows;
}

/** Keeper upkeep: the first poke only records a price; from the second on, each poke updates the EWMA. */
async function volatilityRows(keel: Keel, hourLater: () => Promise<void>): Promise<Row[]> {
  const weth = await keel.assets.WETH!.token.getAddress();
  const first = await gasOf(keel.vol.poke(weth));
  await hourLater(); // seeds every asset
  await time.increase(3600);
  await (await keel.assets.WETH!.feed.updateAnswer(3030n * 10n ** 8n)).wait();
  const steady = await gasOf(keel.vol.poke(weth));
  await time.increase(3600);
  await refreshFeeds(keel);
  const all = await gasOf(keel.vol.pokeAll());
  return [
    { operation: "volatility poke (first: records the price)", isolated: first },
    { operation: "volatility poke (EWMA update)", isolated: steady },
    { operation: `volatility pokeAll (${keel.config.assets.length} assets)`, isolated: all },
  ];
}

/** The table `npm run bench:gas` prints (markdown). */
export function gasTable(rows: readonly Row[]): string {
  const fmt = (g?: bigint): string => (g === undefined ? "" : formatFixed(g, 0));
  return markdownTable(
    rows.map((r) => ({
      operation: r.operation,
      isolated: fmt(r.isolated),
      "cross (3 assets)": fmt(r.cross),
      "target (isolated)": r.target ? `≤ ${fmt(r.target)}` : "",
      ok: r.target && r.isolated ? (r.isolated <= r.target ? "yes" : "NO") : "",
    })),
  );
}
