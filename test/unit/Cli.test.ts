/**
 * The user CLI's commands (src/cli/commands.ts) in process, over a manifest of the fixture deployment: the lines
 * each command returns, its effect on chain, and every refusal as a CliError with its exact message, sent before
 * any transaction (the position is unchanged after a refusal).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import type { Keel } from "../../deploy";
import { devWallet } from "../../dev/accounts";
import { buildManifest } from "../../deploy/manifest";
import { connectKeel } from "../../src/client/manifest";
import * as cli from "../../src/cli/commands";
import { type Cli, CliError } from "../../src/cli/commands";
import { liquidationPriceFromHealth } from "../../src/protocol/preview";
import * as m from "../../src/math";
import { formatFixed } from "../../src/units";
import { expectCliError } from "../helpers/cli";
import { loadKeel } from "../helpers/fixtures";
import { expectedHealth } from "../helpers/mirror";

const WAD = m.WAD;
const USD = (n: bigint): bigint => n * WAD;
const kusd = (wad: bigint): string => formatFixed(wad, 18, 2);
const hf3 = (wad: bigint): string => formatFixed(wad, 18, 3);

interface Scene {
  keel: Keel;
  alice: Signer;
  bob: Signer;
  aliceAddress: string;
  bobAddress: string;
  as: (s: Signer) => Promise<Cli>;
}

async function scene(): Promise<Scene> {
  const keel = await loadKeel();
  // Wallets over the provider, as scripts/keel.ts signs (Hardhat's own signers let the node mine a reverting
  // transaction; a Wallet estimates gas first, so a refusal sends nothing).
  const alice = devWallet(1, ethers.provider);
  const bob = devWallet(2, ethers.provider);
  const manifest = await buildManifest(keel);
  const as = async (s: Signer): Promise<Cli> => ({ keel: await connectKeel(manifest, s), signer: s });
  // Alice holds 10 WETH, 1 WBTC and 100,000 USDC.
  const aliceAddress = alice.address;
  await (await keel.assets.WETH!.token.mint(aliceAddress, 10n * WAD)).wait();
  await (await keel.assets.WBTC!.token.mint(aliceAddress, 10n ** 8n)).wait();
  await (await keel.assets.USDC!.token.mint(aliceAddress, 100_000n * 10n ** 6n)).wait();
  return { keel, alice, bob, aliceAddress, bobAddress: bob.address, as };
}

/** Opens an isolated WETH position for alice through the CLI, deposits 2 WETH and borrows 3,000 kUSD. */
async function aliceWethPosition(s: Scene): Promise<{ c: Cli; id: bigint }> {
  const c = await s.as(s.alice);
  await cli.open(c, "isolated", "WETH");
  const id = await s.keel.engine.lastPositionId();
  await cli.deposit(c, id, "WETH", "2");
  await cli.borrow(c, id, "3000");
  return { c, id };
}

/** What `status` prints for an isolated single-asset position with debt, from the Lens at the current block. */
async function expectedIsolatedStatus(s: Scene, id: bigint, symbol: string, amount: string): Promise<string[]> {
  const v = await s.keel.lens.position(id);
  const price = await s.keel.oracle.getPrice(s.keel.assets[symbol]!.token.target as string);
  return [
    `position ${id} (isolated), owner ${v.owner}`,
    `  ${symbol.padEnd(7)} ${amount}  ($${kusd(v.assetValues[0]!)})`,
    `  debt    ${kusd(v.debt)} kUSD`,
    `  health  HF ${hf3(v.hf)}, initial HF ${hf3(v.hfInitial)} (borrow and withdraw need ≥ 1)`,
    "  state   Safe",
    `  liquidation price ${kusd(liquidationPriceFromHealth(price, v.hf))} USD per ${symbol} (now ${kusd(price)})`,
  ];
}

describe("user CLI commands (src/cli/commands.ts)", () => {
  describe("happy path", () => {
    it("test_open_isolated: open isolated: prints the new id and mints the position NFT to the signer", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      const before = await s.keel.engine.lastPositionId();
      const lines = await cli.open(c, "isolated", "weth"); // symbols are case-insensitive
      const id = before + 1n;
      expect(lines).to.deep.equal([`opened isolated position ${id} (WETH)`]);
      expect(await s.keel.engine.lastPositionId()).to.equal(id);
      expect(await s.keel.nft.ownerOf(id)).to.equal(s.aliceAddress);
      const [mode, classKey, normDebt] = await s.keel.engine.positionInfo(id);
      expect(mode).to.equal(0n);
      expect(classKey).to.equal(s.keel.assets.WETH!.token.target);
      expect(normDebt).to.equal(0n);
    });

    it("test_open_cross: open cross: prints the new id without an asset", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      const id = (await s.keel.engine.lastPositionId()) + 1n;
      expect(await cli.open(c, "cross")).to.deep.equal([`opened cross position ${id}`]);
      expect((await s.keel.engine.positionInfo(id))[0]).to.equal(1n);
    });

    it("test_deposit_weth: deposit 2 WETH at $3,000: approves, deposits, prints $6,000 and an infinite HF", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "isolated", "WETH");
      const id = await s.keel.engine.lastPositionId();
      const weth = s.keel.assets.WETH!.token;
      const lines = await cli.deposit(c, id, "WETH", "2");
      expect(lines).to.deep.equal([
        `deposited 2 WETH into position ${id}`,
        `position ${id} (isolated), owner ${s.aliceAddress}`,
        "  WETH    2  ($6,000)",
        "  debt    0 kUSD",
        "  health  HF ∞, initial HF ∞ (borrow and withdraw need ≥ 1)",
        "  state   Safe",
      ]);
      expect(await s.keel.engine.collateralOf(id, weth.target as string)).to.equal(2n * WAD);
      expect(await weth.balanceOf(s.aliceAddress)).to.equal(8n * WAD);
      // Approved exactly the amount, all of it spent.
      expect(await weth.allowance(s.aliceAddress, s.keel.engine.target as string)).to.equal(0n);
    });

    it("test_deposit_sixDecimals: deposit of a 6-decimal token in a cross position: 1,500.5 USDC", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "cross");
      const id = await s.keel.engine.lastPositionId();
      const lines = await cli.deposit(c, id, "USDC", "1,500.5");
      expect(lines.slice(0, 4)).to.deep.equal([
        `deposited 1,500.5 USDC into position ${id}`,
        `position ${id} (cross), owner ${s.aliceAddress}`,
        "  USDC    1,500.5  ($1,500.5)",
        "  debt    0 kUSD",
      ]);
      expect(await s.keel.engine.collateralOf(id, s.keel.assets.USDC!.token.target as string)).to.equal(1_500_500_000n);
    });

    it("test_borrow_statusLines: borrow 3,000 kUSD against 2 WETH: kUSD received, status lines with HF (mirror), initial HF and liquidation price", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "isolated", "WETH");
      const id = await s.keel.engine.lastPositionId();
      await cli.deposit(c, id, "WETH", "2");
      const lines = await cli.borrow(c, id, "3000");
      expect(await s.keel.kusd.balanceOf(s.aliceAddress)).to.equal(USD(3000n));
      expect(lines[0]).to.equal(`borrowed 3000 kUSD against position ${id}`);
      expect(lines.slice(1)).to.deep.equal(await expectedIsolatedStatus(s, id, "WETH", "2"));
      // The Lens's HF is the math mirror's: 6,000 × (1 − 13.75%) / 3,000 = 1.725, a hair less with interest.
      const v = await s.keel.lens.position(id);
      const mirror = await expectedHealth(s.keel, id);
      expect(v.hf).to.equal(mirror.hf);
      expect(v.hfInitial).to.equal(mirror.hfInitial);
      expect(v.hf <= (5175n * WAD) / 3000n && v.hf > (5174n * WAD) / 3000n).to.equal(true);
      expect(lines[3]).to.equal("  debt    3,000 kUSD");
      expect(lines[4]).to.match(/^ {2}health {2}HF 1\.72[45], initial HF 1\.63\d? \(borrow and withdraw need ≥ 1\)$/);
      // Liquidation price = price / HF ≈ 3,000 / 1.725 ≈ 1,739.13.
      expect(lines[6]).to.match(/^ {2}liquidation price 1,739\.\d\d USD per WETH \(now 3,000\)$/);
    });

    it("test_status_anyone: status: the same lines for anyone, the owner's or not", async () => {
      const s = await scene();
      const { id } = await aliceWethPosition(s);
      const expected = await expectedIsolatedStatus(s, id, "WETH", "2");
      expect(await cli.status(await s.as(s.alice), id)).to.deep.equal(expected);
      expect(await cli.status(await s.as(s.bob), id)).to.deep.equal(expected);
    });

    it("test_status_cross: status of a cross position lists every asset and has no liquidation price", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "cross");
      const id = await s.keel.engine.lastPositionId();
      await cli.deposit(c, id, "WETH", "1");
      await cli.deposit(c, id, "WBTC", "0.5");
      await cli.borrow(c, id, "10000");
      const v = await s.keel.lens.position(id);
      expect(await cli.status(c, id)).to.deep.equal([
        `position ${id} (cross), owner ${s.aliceAddress}`,
        "  WETH    1  ($3,000)",
        "  WBTC    0.5  ($30,000)",
        "  debt    10,000 kUSD",
        `  health  HF ${hf3(v.hf)}, initial HF ${hf3(v.hfInitial)} (borrow and withdraw need ≥ 1)`,
        "  state   Safe",
      ]);
      const mirror = await expectedHealth(s.keel, id);
      expect(v.hf).to.equal(mirror.hf);
    });

    it("test_withdraw_thenMax: withdraw 0.5 WETH then max: tokens back to the signer or --to", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "isolated", "WETH");
      const id = await s.keel.engine.lastPositionId();
      await cli.deposit(c, id, "WETH", "2");
      const weth = s.keel.assets.WETH!.token;
      const lines = await cli.withdraw(c, id, "WETH", "0.5");
      expect(lines.slice(0, 3)).to.deep.equal([
        `withdrew 0.5 WETH from position ${id} to ${s.aliceAddress}`,
        `position ${id} (isolated), owner ${s.aliceAddress}`,
        "  WETH    1.5  ($4,500)",
      ]);
      expect(await weth.balanceOf(s.aliceAddress)).to.equal(8n * WAD + WAD / 2n);
      const all = await cli.withdraw(c, id, "WETH", "max", s.bobAddress);
      expect(all[0]).to.equal(`withdrew 1.5 WETH from position ${id} to ${s.bobAddress}`);
      expect(all.slice(1)).to.deep.equal([
        `position ${id} (isolated), owner ${s.aliceAddress}`, // a withdrawn asset is not listed
        "  debt    0 kUSD",
        "  health  HF ∞, initial HF ∞ (borrow and withdraw need ≥ 1)",
        "  state   Safe",
      ]);
      expect(await weth.balanceOf(s.bobAddress)).to.equal(WAD + WAD / 2n);
      expect(await s.keel.engine.collateralOf(id, weth.target as string)).to.equal(0n);
    });

    it("test_borrow_toOtherAddress: borrow --to sends the kUSD to another address", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "isolated", "WETH");
      const id = await s.keel.engine.lastPositionId();
      await cli.deposit(c, id, "WETH", "2");
      await cli.borrow(c, id, "1000", s.bobAddress);
      expect(await s.keel.kusd.balanceOf(s.bobAddress)).to.equal(USD(1000n));
      expect(await s.keel.kusd.balanceOf(s.aliceAddress)).to.equal(0n);
    });

    it("test_repay_thenMax: repay 1,000 then max: debt down, then zero; anyone may repay", async () => {
      const s = await scene();
      const { c, id } = await aliceWethPosition(s);
      const lines = await cli.repay(c, id, "1000");
      expect(lines[0]).to.equal(`repaid 1,000 kUSD of position ${id}`);
      expect(lines[3]).to.equal("  debt    2,000 kUSD");
      const debt = await s.keel.engine.debtOf(id);
      expect(debt > USD(2000n) && debt < USD(2000n) + WAD / 1000n).to.equal(true);
      expect(await s.keel.kusd.balanceOf(s.aliceAddress)).to.equal(USD(2000n));
      // Bob repays the rest with kUSD alice gave him (plus a little for the interest).
      await (await s.keel.kusd.connect(s.alice).transfer(s.bobAddress, USD(2000n))).wait();
      const bobCli = await s.as(s.bob);
      await expectCliError(
        cli.repay(bobCli, id, "max"),
        `repay: you hold 2,000 kUSD; repaying ${kusd(await s.keel.engine.debtOf(id))} kUSD needs more`,
      );
      // Alice borrowed 3,000 and holds none now; she tops bob up from a second position.
      await cli.open(c, "isolated", "WETH");
      const other = await s.keel.engine.lastPositionId();
      await cli.deposit(c, other, "WETH", "1");
      await cli.borrow(c, other, "200", s.bobAddress);
      const repaid = await cli.repay(bobCli, id, "max");
      expect(repaid[0]).to.match(/^repaid 2,000(\.00)? kUSD of position \d+$/);
      expect(repaid.slice(1)).to.deep.equal([
        `position ${id} (isolated), owner ${s.aliceAddress}`,
        "  WETH    2  ($6,000)",
        "  debt    0 kUSD",
        "  health  HF ∞, initial HF ∞ (borrow and withdraw need ≥ 1)",
        "  state   Safe",
      ]);
      expect(await s.keel.engine.debtOf(id)).to.equal(0n);
    });

    it("test_close_repaysAndReturns: close: repays everything, returns the collateral, burns the NFT", async () => {
      const s = await scene();
      const { c, id } = await aliceWethPosition(s);
      // Alice needs a little more than 3,000 kUSD for the interest: a second position lends it to her.
      await cli.open(c, "isolated", "WBTC");
      const other = await s.keel.engine.lastPositionId();
      await cli.deposit(c, other, "WBTC", "0.1");
      await cli.borrow(c, other, "100");
      const weth = s.keel.assets.WETH!.token;
      const wethBefore = await weth.balanceOf(s.aliceAddress);
      const kusdBefore = await s.keel.kusd.balanceOf(s.aliceAddress);
      const debtBefore = await s.keel.engine.debtOf(id);
      const lines = await cli.close(c, id);
      expect(lines).to.deep.equal([`closed position ${id}: repaid ${kusd(debtBefore)} kUSD, collateral sent to ${s.aliceAddress}`]);
      expect(lines[0]).to.equal(`closed position ${id}: repaid 3,000 kUSD, collateral sent to ${s.aliceAddress}`);
      expect(await weth.balanceOf(s.aliceAddress)).to.equal(wethBefore + 2n * WAD);
      const paid = kusdBefore - (await s.keel.kusd.balanceOf(s.aliceAddress));
      expect(paid >= USD(3000n) && paid < USD(3000n) + WAD / 1000n).to.equal(true);
      await expect(s.keel.nft.ownerOf(id)).to.be.reverted;
      await expectCliError(cli.status(c, id), `position ${id} was closed`);
    });

    it("test_list_signersPositions: list: the signer's positions (or --owner's) with debt and HF; none for a stranger", async () => {
      const s = await scene();
      const { c, id } = await aliceWethPosition(s);
      await cli.open(c, "cross");
      const cross = await s.keel.engine.lastPositionId();
      const v = await s.keel.lens.position(id);
      const expected = [
        `positions of ${s.aliceAddress}:`,
        `${String(id).padStart(6)}  isolated  ${"WETH".padEnd(18)} debt ${"3,000".padStart(14)} kUSD  HF ${hf3(v.hf)}`,
        `${String(cross).padStart(6)}  cross     ${"(empty)".padEnd(18)} debt ${"0".padStart(14)} kUSD  no debt`,
      ];
      expect(await cli.list(c)).to.deep.equal(expected);
      expect(await cli.list(await s.as(s.bob), s.aliceAddress)).to.deep.equal(expected);
      expect(await cli.list(await s.as(s.bob))).to.deep.equal([`${s.bobAddress} holds no positions`]);
    });
  });

  describe("refusals: CliError with an exact message, nothing sent", () => {
    it("test_asset_unknown: unknown asset lists the listed ones", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      const before = await s.keel.engine.lastPositionId();
      await expectCliError(cli.open(c, "isolated", "DOGE"), 'unknown asset "DOGE"; listed: WETH, WBTC, USDC, wstETH');
      expect(await s.keel.engine.lastPositionId()).to.equal(before);
      await cli.open(c, "cross");
      const id = await s.keel.engine.lastPositionId();
      await expectCliError(cli.deposit(c, id, "ETH", "1"), 'unknown asset "ETH"; listed: WETH, WBTC, USDC, wstETH');
      await expectCliError(cli.withdraw(c, id, "BTC", "1"), 'unknown asset "BTC"; listed: WETH, WBTC, USDC, wstETH');
    });

    it("test_owner_notSigner: not the owner: names the owner and the signer", async () => {
      const s = await scene();
      const { id } = await aliceWethPosition(s);
      const bob = await s.as(s.bob);
      await (await s.keel.assets.WETH!.token.mint(s.bobAddress, WAD)).wait();
      const msg = `position ${id} belongs to ${s.aliceAddress}, not to you (${s.bobAddress})`;
      await expectCliError(cli.deposit(bob, id, "WETH", "1"), msg);
      await expectCliError(cli.withdraw(bob, id, "WETH", "1"), msg);
      await expectCliError(cli.borrow(bob, id, "100"), msg);
      await expectCliError(cli.close(bob, id), msg);
      expect(await s.keel.engine.collateralOf(id, s.keel.assets.WETH!.token.target as string)).to.equal(2n * WAD);
    });

    it("test_borrow_unhealthy: a borrow that would leave the position unhealthy: initial HF with 3 decimals, position unchanged", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "isolated", "WETH");
      const id = await s.keel.engine.lastPositionId();
      await cli.deposit(c, id, "WETH", "2");
      const block = await ethers.provider.getBlockNumber();
      const nonce = await ethers.provider.getTransactionCount(s.aliceAddress);
      // 6,000 × (1 − 18.3%) / 6,000 = 0.817; the debt, rounded up, is a hair over 6,000, so HFi prints 0.816.
      await expectCliError(
        cli.borrow(c, id, "6000"),
        `borrow 6000 kUSD against position ${id}: it would leave the position at initial HF 0.816, below 1`,
      );
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
      expect(await ethers.provider.getTransactionCount(s.aliceAddress)).to.equal(nonce);
      expect(await s.keel.engine.debtOf(id)).to.equal(0n);
      expect(await s.keel.kusd.balanceOf(s.aliceAddress)).to.equal(0n);
    });

    it("test_withdraw_unhealthy: a withdrawal that would leave the position unhealthy: initial HF, collateral unchanged", async () => {
      const s = await scene();
      const { c, id } = await aliceWethPosition(s);
      const block = await ethers.provider.getBlockNumber();
      // 0.5 WETH left: 1,500 × 0.817 / 3,000 = 0.4085 (a hair less with interest).
      await expectCliError(
        cli.withdraw(c, id, "WETH", "1.5"),
        `withdraw 1.5 WETH from position ${id}: it would leave the position at initial HF 0.408, below 1`,
      );
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
      expect(await s.keel.engine.collateralOf(id, s.keel.assets.WETH!.token.target as string)).to.equal(2n * WAD);
    });

    it("test_borrowRepay_dust: dust debt: a borrow under the minimum, and a repay leaving less than it", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "isolated", "WETH");
      const id = await s.keel.engine.lastPositionId();
      await cli.deposit(c, id, "WETH", "2");
      await expectCliError(
        cli.borrow(c, id, "50"),
        `borrow 50 kUSD against position ${id}: it would leave 50 kUSD of debt, below the minimum of 100 kUSD (repay all, or less)`,
      );
      expect(await s.keel.engine.debtOf(id)).to.equal(0n);
      await cli.borrow(c, id, "150");
      const err = cli.repay(c, id, "100");
      let caught: unknown;
      try {
        await err;
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(CliError);
      expect((caught as Error).message).to.match(
        new RegExp(`^repay 100 kUSD of position ${id}: it would leave 50(\\.00)? kUSD of debt, below the minimum of 100 kUSD \\(repay all, or less\\)$`),
      );
      expect(await s.keel.kusd.balanceOf(s.aliceAddress)).to.equal(USD(150n));
    });

    it("test_amount_bad: bad amounts: not a number, zero, too many decimals", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "cross");
      const id = await s.keel.engine.lastPositionId();
      await expectCliError(cli.deposit(c, id, "WETH", "abc"), '--amount: "abc" is not a non-negative decimal number');
      await expectCliError(cli.deposit(c, id, "WETH", "0"), "--amount: must be more than 0");
      await expectCliError(cli.deposit(c, id, "USDC", "1.0000001"), '--amount: "1.0000001" has more than 6 decimal places');
      await expectCliError(cli.deposit(c, id, "WBTC", "0.000000001"), '--amount: "0.000000001" has more than 8 decimal places');
      await expectCliError(cli.borrow(c, id, "-5"), '--amount: "-5" is not a non-negative decimal number');
      await expectCliError(cli.borrow(c, id, "1.0000000000000000001"), '--amount: "1.0000000000000000001" has more than 18 decimal places');
      await expectCliError(cli.repay(c, id, "0"), "--amount: must be more than 0");
      await expectCliError(cli.withdraw(c, id, "WETH", "1,5"), '--amount: "1,5" is not a non-negative decimal number');
    });

    it("test_position_notFound: nonexistent and closed positions", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      const last = await s.keel.engine.lastPositionId();
      const missing = last + 100n;
      await expectCliError(cli.status(c, missing), `position ${missing} does not exist`);
      await expectCliError(cli.status(c, 0n), "position 0 does not exist");
      await expectCliError(cli.deposit(c, missing, "WETH", "1"), `position ${missing} does not exist`);
      await expectCliError(cli.repay(c, missing, "1"), `position ${missing} does not exist`);
      await cli.open(c, "isolated", "WETH");
      const id = await s.keel.engine.lastPositionId();
      await cli.close(c, id);
      const closed = `position ${id} was closed`;
      await expectCliError(cli.status(c, id), closed);
      await expectCliError(cli.deposit(c, id, "WETH", "1"), closed);
      await expectCliError(cli.borrow(c, id, "100"), closed);
      await expectCliError(cli.repay(c, id, "max"), closed);
      await expectCliError(cli.close(c, id), closed);
    });

    it("test_withdraw_tooMuch: withdraw more than held, or from an asset it does not hold", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "cross");
      const id = await s.keel.engine.lastPositionId();
      await cli.deposit(c, id, "WETH", "2");
      await expectCliError(cli.withdraw(c, id, "WETH", "3"), `withdraw: position ${id} holds 2 WETH, less than 3`);
      await expectCliError(cli.withdraw(c, id, "WBTC", "max"), `withdraw: position ${id} holds no WBTC`);
      await expectCliError(cli.withdraw(c, id, "WBTC", "0.1"), `withdraw: position ${id} holds 0 WBTC, less than 0.1`);
    });

    it("test_deposit_tooMuch: deposit more than the signer holds", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      await cli.open(c, "cross");
      const id = await s.keel.engine.lastPositionId();
      await expectCliError(cli.deposit(c, id, "WETH", "10.5"), "deposit: you hold 10 WETH, less than 10.5");
    });

    it("test_repay_insufficientOrNoDebt: repay without enough kUSD, and repay of a position with no debt", async () => {
      const s = await scene();
      const { id } = await aliceWethPosition(s);
      const bob = await s.as(s.bob);
      await expectCliError(cli.repay(bob, id, "500"), "repay: you hold 0 kUSD; repaying 500 kUSD needs more");
      await expectCliError(
        cli.repay(bob, id, "max"),
        `repay: you hold 0 kUSD; repaying ${kusd(await s.keel.engine.debtOf(id))} kUSD needs more`,
      );
      await expectCliError(cli.repay(bob, id, "max"), "repay: you hold 0 kUSD; repaying 3,000 kUSD needs more");
      const c = await s.as(s.alice);
      await cli.open(c, "cross");
      const empty = await s.keel.engine.lastPositionId();
      await expectCliError(cli.repay(c, empty, "1"), `repay: position ${empty} has no debt`);
    });

    it("test_close_insufficientKusd: close without enough kUSD for the debt", async () => {
      const s = await scene();
      const { c, id } = await aliceWethPosition(s);
      // Alice holds exactly the 3,000 she borrowed; the debt has accrued a little since.
      const debt = await s.keel.engine.debtOf(id);
      await expectCliError(cli.close(c, id), `close: position ${id} owes ${kusd(debt)} kUSD; you hold 3,000 kUSD`);
      expect(await s.keel.nft.ownerOf(id)).to.equal(s.aliceAddress);
    });

    it("test_open_badMode: open: cross with --asset, isolated without, a bad mode", async () => {
      const s = await scene();
      const c = await s.as(s.alice);
      const before = await s.keel.engine.lastPositionId();
      await expectCliError(cli.open(c, "cross", "WETH"), "open: a cross position takes no --asset (deposit any listed asset into it)");
      await expectCliError(cli.open(c, "isolated"), "open: an isolated position needs --asset");
      await expectCliError(cli.open(c, "margin", "WETH"), 'open: --mode must be "isolated" or "cross", not "margin"');
      await expectCliError(cli.open(c, "Isolated", "WETH"), 'open: --mode must be "isolated" or "cross", not "Isolated"');
      expect(await s.keel.engine.lastPositionId()).to.equal(before);
    });
  });

  describe("a failed price feed", () => {
    /** Alice's WETH position with debt, and a debt-free one; then every 1h feed goes stale. */
    async function staleScene(): Promise<Scene & { c: Cli; id: bigint; free: bigint }> {
      const s = await scene();
      const { c, id } = await aliceWethPosition(s);
      await cli.open(c, "isolated", "WETH");
      const free = await s.keel.engine.lastPositionId();
      await cli.deposit(c, free, "WETH", "1");
      await time.increase(3601); // past WETH's 1h heartbeat
      expect((await s.keel.lens.position(id)).priced).to.equal(false);
      return { ...s, c, id, free };
    }

    it("test_status_noDebt_unknownHealth: status of a debt-free position says the health is unknown", async () => {
      const s = await staleScene();
      expect(await cli.status(s.c, s.free)).to.deep.equal([
        `position ${s.free} (isolated), owner ${s.aliceAddress}`,
        "  WETH    1  ($0)",
        "  debt    0 kUSD",
        "  health  unknown: the price feed of WETH failed (repay and deposits still work; margin calls and liquidation wait for the feed)",
      ]);
    });

    it("test_list_failedPrice: list marks the positions whose price failed", async () => {
      const s = await staleScene();
      const lines = await cli.list(s.c);
      expect(lines).to.have.length(3);
      expect(lines[1]).to.match(/ HF unknown$/);
      expect(lines[2]).to.match(/ HF unknown$/);
    });

    it("test_borrow_failedPrice: borrow is refused on a failed price (the protocol's error, explained), nothing sent", async () => {
      const s = await staleScene();
      const p = cli.borrow(s.c, s.id, "100");
      await expect(p).to.be.rejectedWith(CliError, `borrow 100 kUSD against position ${s.id}: the protocol refused it: StalePrice(`);
      expect(await s.keel.kusd.balanceOf(s.aliceAddress)).to.equal(USD(3000n));
    });

    it("test_status_failedPrice: status says the health is unknown instead of throwing", async () => {
      // status() reads engine.stateOf(id) before it looks at the Lens's `priced` flag; stateOf values the position
      // and reverts with StalePrice when it has debt, so the "health unknown" line is never reached: the command
      // fails with a raw CALL_EXCEPTION (not a CliError) for exactly the positions the line was written for.
      const s = await staleScene();
      const v = await s.keel.lens.position(s.id);
      const lines = await cli.status(s.c, s.id);
      expect(lines).to.deep.equal([
        `position ${s.id} (isolated), owner ${s.aliceAddress}`,
        "  WETH    2  ($0)",
        `  debt    ${kusd(v.debt)} kUSD`,
        "  health  unknown: the price feed of WETH failed (repay and deposits still work; margin calls and liquidation wait for the feed)",
      ]);
    });

    it("test_repay_failedPrice: repay goes through on chain and the command reports it", async () => {
      // The repay transaction itself works (the engine does not read the oracle to repay), but the command then
      // prints status(), which throws (see the test above): the user sees an error for a repay that was mined.
      const s = await staleScene();
      const before = await s.keel.engine.debtOf(s.id);
      let lines: string[] | undefined;
      let error: unknown;
      try {
        lines = await cli.repay(s.c, s.id, "1000");
      } catch (e) {
        error = e;
      }
      const after = await s.keel.engine.debtOf(s.id);
      expect(before - after >= USD(1000n) - WAD / 1000n, "the repay was mined").to.equal(true);
      expect(await s.keel.kusd.balanceOf(s.aliceAddress)).to.equal(USD(2000n));
      expect(error, `repay threw after the repay was mined: ${String((error as Error)?.message).slice(0, 200)}`).to.equal(undefined);
      expect(lines![0]).to.equal(`repaid 1,000 kUSD of position ${s.id}`);
      expect(lines![lines!.length - 1]).to.equal("  health  unknown: the price feed of WETH failed (repay and deposits still work; margin calls and liquidation wait for the feed)");
    });
  });
});
