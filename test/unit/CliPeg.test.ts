/**
 * The CLI's peg commands (src/cli/peg.ts) in process over a manifest of the fixture: swap both ways, save, unsave,
 * peg; exact lines from src/math/peg.ts, and every refusal as a CliError with its exact message, nothing sent.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { devWallet } from "../../dev/accounts";
import { setFeedAnswer } from "../../dev/localMarket";
import { buildManifest } from "../../deploy/manifest";
import { connectKeel } from "../../src/client/manifest";
import type { Cli } from "../../src/cli/commands";
import * as peg from "../../src/cli/peg";
import { buyGemQuote, sellGemQuote } from "../../src/math/peg";
import { formatFixed } from "../../src/units";
import { expectCliError } from "../helpers/cli";
import { loadKeel } from "../helpers/fixtures";

const FEE = 10n ** 15n;
const kusd = (wad: bigint): string => formatFixed(wad, 18, 2);

async function scene() {
  const keel = await loadKeel();
  const alice = devWallet(1, ethers.provider);
  await (await keel.assets.USDC!.token.mint(alice.address, 60_000_000n * 10n ** 6n)).wait();
  const cli: Cli = { keel: await connectKeel(await buildManifest(keel), alice), signer: alice };
  return { keel, alice, cli };
}

describe("keel CLI: peg commands", () => {
  it("test_cli_swap_bothWays_exactLines: sells USDC for kUSD and buys it back, printing the amounts src/math predicts", async () => {
    const { keel, alice, cli } = await scene();
    const sell = sellGemQuote(1_000n * 10n ** 6n, 6, FEE);
    expect(await peg.swap(cli, "sell", "usdc", "1000")).to.deep.equal([
      `sold 1000 USDC for ${kusd(sell.kusd)} kUSD (fee ${kusd(sell.fee)} kUSD to the surplus buffer)`,
    ]);
    expect(await keel.kusd.balanceOf(alice.address)).to.equal(sell.kusd);
    const buy = buyGemQuote(400n * 10n ** 6n, 6, FEE);
    expect(await peg.swap(cli, "buy", "USDC", "400")).to.deep.equal([
      `bought 400 USDC for ${kusd(buy.kusd)} kUSD (fee ${kusd(buy.fee)} kUSD to the surplus buffer)`,
    ]);
    expect(await keel.kusd.balanceOf(alice.address)).to.equal(sell.kusd - buy.kusd);
    expect(await keel.psm.debt()).to.equal(sell.amount - buy.amount);
  });

  it("test_cli_save_unsave_peg: saves kUSD, shows the peg and the holding, withdraws part and then everything", async () => {
    const { keel, alice, cli } = await scene();
    await peg.swap(cli, "sell", "USDC", "5000");
    const saved = await peg.save(cli, "1000");
    expect(saved[0]).to.equal("saved 1000 kUSD");
    expect(saved[1]).to.equal(`  ${alice.address}: 1,000 sKUSD, worth 1,000 kUSD`);
    const view = await peg.peg(cli);
    expect(view[0]).to.equal(`peg stability module (USDC): 5,000 of 50,000,000 kUSD minted against USDC`);
    expect(view[1]).to.equal("  fees: 0.1% selling USDC, 0.1% buying it back; selling open; buying open");
    expect(view[2]).to.match(/^savings \(sKUSD\): 2% a year; 1,000 kUSD saved; the buffer can pay [\d,.]+ kUSD$/);
    expect((await peg.unsave(cli, "250"))[0]).to.equal("withdrew 250 kUSD");
    const all = await peg.unsave(cli, "max");
    expect(all[0]).to.match(/^withdrew 75\d(\.\d+)? kUSD \(every share\)$/);
    expect(await keel.savings.balanceOf(alice.address)).to.equal(0n);
  });

  it("test_cli_peg_refusals: wrong asset, balance, ceiling, frozen, more than P, nothing to unsave: exact messages, nothing sent", async () => {
    const { keel, cli } = await scene();
    await expectCliError(peg.swap(cli, "sell", "WETH", "1"), "swap: the peg stability module trades USDC, not WETH");
    await expectCliError(peg.swap(cli, "sell", "DOGE", "1"), 'unknown asset "DOGE"; listed: WETH, WBTC, USDC, wstETH');
    await expectCliError(peg.swap(cli, "sell", "USDC", "70000000"), "swap: you hold 60,000,000 USDC, less than 70000000");
    await expectCliError(
      peg.swap(cli, "sell", "USDC", "50000001"),
      "swap: the module's ceiling leaves room for 50,000,000 kUSD; selling 50000001 USDC needs 50,000,001",
    );
    await expectCliError(peg.swap(cli, "buy", "USDC", "1"), "swap: the module holds 0 USDC of reserve against kUSD; 1 is more");
    await expectCliError(peg.unsave(cli, "max"), "unsave: you hold no sKUSD");
    await expectCliError(peg.save(cli, "1"), "save: you hold 0 kUSD, less than 1");
    await setFeedAnswer(keel, "USDC", 96_000_000n);
    await expectCliError(
      peg.swap(cli, "sell", "USDC", "10"),
      "swap: selling is frozen: the reserve's price is more than 2% from $1, or its feed is failing (buying stays open)",
    );
    expect(await keel.psm.debt()).to.equal(0n);
    expect(peg.annualRate(await keel.savings.savingsRate())).to.equal(2n * 10n ** 16n);
  });
});
