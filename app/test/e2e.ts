/**
 * `npm run test:app`: the web app end to end in a real Chromium against a real Hardhat node, one chain for the
 * suite (cases run in order, assertions as before/after differences). Every case checks the chain afterwards,
 * not only the page. Prints `app: N passed, N failed` last (CI reads it); exits 1 on any failure.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { parseUnits } from "ethers";
import type { Page } from "playwright-core";
import { refreshFeeds, setFeedAnswer } from "../../dev/localMarket";
import { buyGemQuote, savingsAfterDrip, savingsAssetsDown, savingsSharesDown, savingsSharesUp, sellGemQuote, type VaultTotals } from "../../src/math/peg";
import { formatPercent } from "../../src/units";
import { openApp, SCREENSHOTS, startWorld, type World } from "./harness";

/** How long a case may wait for the page [ms]. */
const WAIT_MS = 20_000;

type Case = { name: string; run: (w: World, s: Shared) => Promise<void> };

/** State the cases hand on (ids of positions they opened). */
interface Shared {
  isolated?: bigint;
  cross?: bigint;
  called?: bigint;
}

const byTestId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

/** Waits until the element's text contains `text`. */
async function waitText(page: Page, id: string, text: string | RegExp): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let last = "";
  while (Date.now() < deadline) {
    last = (await byTestId(page, id).first().textContent({ timeout: WAIT_MS }).catch(() => null)) ?? "";
    if (typeof text === "string" ? last.includes(text) : text.test(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`[data-testid=${id}] never showed ${String(text)}; last: "${last}"`);
}

/** Waits until the transaction status says `what` … confirmed (an earlier confirmation does not count). */
async function waitConfirmed(page: Page, what: string): Promise<void> {
  const status = await waitText(page, "tx-status", new RegExp(`^${what.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*(confirmed|failed|refused)`));
  if (!/confirmed in block/.test(status)) throw new Error(`${what}: ${status}`);
}

async function connect(page: Page, account: string): Promise<void> {
  await byTestId(page, "connect").click();
  await waitText(page, "account", account);
}

const nonce = (w: World): Promise<number> => w.node.provider.getTransactionCount(w.user, "latest");

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** Types into a form and waits for the preview or the error to reflect it. */
async function type(page: Page, id: string, text: string): Promise<void> {
  await byTestId(page, id).fill(text);
}

const cases: Case[] = [
  {
    name: "connect: eth_accounts is empty until the user connects; the account is shown; nothing is sent",
    run: async (w) => {
      const before = await nonce(w);
      const { page, wallet, close } = await openApp(w);
      await byTestId(page, "connect").waitFor();
      assert.equal(wallet.connected, false);
      await connect(page, w.user);
      assert.equal(wallet.connected, true);
      assert.ok(wallet.calls.includes("eth_requestAccounts"));
      assert.equal(await nonce(w), before);
      await close();
    },
  },
  {
    name: "open an isolated WETH position, deposit, borrow: the HF preview equals the contract's HF after the transaction",
    run: async (w, s) => {
      const { keel } = w;
      const weth = keel.assets.WETH!.token;
      const { page, close } = await openApp(w, "#/open");
      await connect(page, w.user);
      const last = await keel.engine.lastPositionId();
      await byTestId(page, "open-mode").selectOption("isolated");
      await byTestId(page, "open-asset").selectOption(await weth.getAddress());
      await byTestId(page, "open-submit").click();
      const id = last + 1n;
      // Once the open is confirmed, the app goes to the new position.
      await page.waitForURL(`**#/position/${id}`, { timeout: WAIT_MS });
      assert.equal(await keel.engine.lastPositionId(), id);
      assert.equal(await keel.nft.ownerOf(id), w.user);
      const [mode, classKey] = await keel.engine.positionInfo(id);
      assert.equal(mode, 0n);
      assert.equal(classKey, await weth.getAddress());
      s.isolated = id;

      const wethBefore = await weth.balanceOf(w.user);
      await type(page, "deposit-amount", "2");
      await byTestId(page, "deposit-submit").click();
      await waitConfirmed(page, `deposit 2 WETH into position ${id}`);
      assert.equal(await keel.engine.collateralOf(id, weth), parseUnits("2", 18));
      assert.equal(wethBefore - (await weth.balanceOf(w.user)), parseUnits("2", 18));

      // Pin the next block's time and the page's clock to it: the preview is computed for that time.
      const latest = (await w.node.provider.getBlock("latest"))!.timestamp;
      const pinned = latest + 120;
      await page.clock.setFixedTime(new Date(pinned * 1000));
      await type(page, "borrow-amount", "3,000");
      await page.waitForFunction(
        (t) => document.querySelector('[data-testid="hf-preview"]')?.getAttribute("data-time") === String(t) && document.querySelector('[data-testid="hf-preview"]')?.getAttribute("data-hf") !== "",
        pinned,
        { timeout: WAIT_MS },
      );
      const preview = byTestId(page, "hf-preview");
      const hf = BigInt((await preview.getAttribute("data-hf"))!);
      const hfInitial = BigInt((await preview.getAttribute("data-hf-initial"))!);
      await shot(page, "position-preview");
      const kusdBefore = await keel.kusd.balanceOf(w.user);
      await w.node.provider.send("evm_setNextBlockTimestamp", [pinned]);
      await byTestId(page, "borrow-submit").click();
      await waitConfirmed(page, `borrow 3,000 kUSD against position ${id}`);
      const block = await w.node.provider.getBlock("latest");
      assert.equal(block!.timestamp, pinned, "the borrow was mined at the pinned time");
      const [hfChain, hfInitialChain] = await keel.engine.healthFactor(id, { blockTag: block!.number });
      assert.equal(hf, hfChain, "HF preview = the contract's HF after the borrow");
      assert.equal(hfInitial, hfInitialChain, "initial HF preview = the contract's after the borrow");
      assert.equal((await keel.kusd.balanceOf(w.user)) - kusdBefore, parseUnits("3000", 18));
      // The history, from the engine's events, in human units.
      await waitText(page, "history", "borrowed 3,000 kUSD");
      await waitText(page, "history", "+2 WETH");
      await close();
    },
  },
  {
    name: "bad input and a borrow above the limit are refused in the form, with the limit shown; nothing is sent",
    run: async (w, s) => {
      const id = s.isolated!;
      const { page, close } = await openApp(w, `#/position/${id}`);
      await connect(page, w.user);
      await byTestId(page, "borrow-amount").waitFor();
      const before = await nonce(w);
      const debtBefore = await w.keel.engine.debtOf(id);
      const refusals: [string, string, RegExp][] = [
        ["borrow", "1,000,000", /this would leave initial HF at 0\.\d+; the most you can borrow is [\d,]+(\.\d+)? kUSD/],
        ["borrow", "-5", /must be positive/],
        ["borrow", "abc", /not a non-negative decimal number/],
        ["borrow", "1.0000000000000000001", /more than 18 decimal places/],
        ["deposit", "1000", /you hold 98 WETH, less than 1,000/],
        ["deposit", "0", /more than 0/],
        ["repay", "50,000", /you hold [\d,.]+ kUSD, less than 50,000/],
      ];
      for (const [form, text, message] of refusals) {
        await type(page, `${form}-amount`, text);
        await waitText(page, `${form}-error`, message);
        assert.equal(await byTestId(page, `${form}-submit`).isDisabled(), true, `${form} "${text}" cannot be submitted`);
        if (form === "borrow" && text === "1,000,000") await shot(page, "refused-borrow");
      }
      await type(page, "borrow-amount", "");
      assert.equal(await byTestId(page, "borrow-submit").isDisabled(), true, "an empty amount cannot be submitted");
      // Submitting the form by keyboard with a refused amount sends nothing either.
      await type(page, "borrow-amount", "1,000,000");
      await byTestId(page, "borrow-amount").press("Enter");
      await page.waitForTimeout(500);
      assert.equal(await byTestId(page, "tx-status").getAttribute("data-phase"), "idle");
      assert.equal(await nonce(w), before, "no transaction was sent");
      assert.equal(await w.keel.engine.debtOf(id, { blockTag: "latest" }) >= debtBefore, true);
      await close();
    },
  },
  {
    name: "a rejected transaction shows the rejection and leaves the chain unchanged",
    run: async (w, s) => {
      const id = s.isolated!;
      const { page, wallet, close } = await openApp(w, `#/position/${id}`);
      await connect(page, w.user);
      const before = await nonce(w);
      const [, , normDebt] = await w.keel.engine.positionInfo(id);
      await type(page, "borrow-amount", "100");
      await waitText(page, "hf-preview", "After this borrow");
      wallet.rejectNext = true;
      await byTestId(page, "borrow-submit").click();
      await waitText(page, "tx-status", "you rejected the request in the wallet");
      assert.equal(await nonce(w), before);
      assert.equal((await w.keel.engine.positionInfo(id))[2], normDebt, "debt unchanged");
      await close();
    },
  },
  {
    name: "repay max, then close: no debt, collateral back, the position NFT burnt",
    run: async (w, s) => {
      const id = s.isolated!;
      const { keel } = w;
      const weth = keel.assets.WETH!.token;
      const { page, close } = await openApp(w, `#/position/${id}`);
      await connect(page, w.user);
      const kusdBefore = await keel.kusd.balanceOf(w.user);
      await type(page, "repay-amount", "max");
      await waitText(page, "hf-preview", "HF ∞");
      await byTestId(page, "repay-submit").click();
      await waitConfirmed(page, `repay all debt of position ${id}`);
      const block = (await w.node.provider.getBlock("latest"))!.number;
      assert.equal(await keel.engine.debtOf(id), 0n);
      const burnt = kusdBefore - (await keel.kusd.balanceOf(w.user));
      assert.ok(burnt >= parseUnits("3000", 18) && burnt < parseUnits("3001", 18), `repaid ${burnt}`);
      const repaid = (await keel.engine.queryFilter(keel.engine.filters.PositionUpdated(id), block, block)).filter((e) => e.args.op === 3n);
      assert.equal(repaid.length, 1);
      assert.equal(repaid[0]!.args.normDebt, 0n);

      const wethBefore = await weth.balanceOf(w.user);
      await byTestId(page, "close-submit").click();
      await waitConfirmed(page, `close position ${id}`);
      assert.equal((await weth.balanceOf(w.user)) - wethBefore, parseUnits("2", 18));
      await assert.rejects(keel.nft.ownerOf(id));
      await waitText(page, "position-closed", "closed");
      await waitText(page, "history", "closed");
      await close();
    },
  },
  {
    name: "a cross position with two assets: deposits (one in native ETH through the PositionManager), a borrow, a withdrawal",
    run: async (w, s) => {
      const { keel } = w;
      const [wethAt, wbtcAt] = [await keel.assets.WETH!.token.getAddress(), await keel.assets.WBTC!.token.getAddress()];
      const { page, close } = await openApp(w, "#/open");
      await connect(page, w.user);
      await byTestId(page, "open-mode").selectOption("cross");
      assert.equal(await byTestId(page, "open-asset").isDisabled(), true);
      const id = (await keel.engine.lastPositionId()) + 1n;
      await byTestId(page, "open-submit").click();
      await page.waitForURL(`**#/position/${id}`, { timeout: WAIT_MS });
      assert.equal((await keel.engine.positionInfo(id))[0], 1n);
      s.cross = id;
      await byTestId(page, "deposit-asset").selectOption(wethAt);
      await type(page, "deposit-amount", "1.5");
      await byTestId(page, "deposit-submit").click();
      await waitConfirmed(page, `deposit 1.5 WETH into position ${id}`);
      await byTestId(page, "deposit-asset").selectOption(wbtcAt);
      await type(page, "deposit-amount", "0.1");
      await byTestId(page, "deposit-submit").click();
      await waitConfirmed(page, `deposit 0.1 WBTC into position ${id}`);
      // Native ether, wrapped by the PositionManager into the position's WETH.
      await byTestId(page, "deposit-asset").selectOption(wethAt);
      await byTestId(page, "deposit-eth").check();
      await type(page, "deposit-amount", "0.5");
      const ethBefore = await w.node.provider.getBalance(w.user);
      await byTestId(page, "deposit-submit").click();
      await waitConfirmed(page, `deposit 0.5 ETH into position ${id}`);
      const ethSpent = ethBefore - (await w.node.provider.getBalance(w.user));
      assert.ok(ethSpent >= parseUnits("0.5", 18), `the ether balance fell by ${ethSpent} wei, not by 0.5 ETH and gas`);
      await type(page, "borrow-amount", "5,000");
      await waitText(page, "hf-preview", "After this borrow");
      await byTestId(page, "borrow-submit").click();
      await waitConfirmed(page, `borrow 5,000 kUSD against position ${id}`);
      await byTestId(page, "withdraw-asset").selectOption(wethAt);
      await type(page, "withdraw-amount", "0.25");
      const wethBefore = await keel.assets.WETH!.token.balanceOf(w.user);
      await byTestId(page, "withdraw-submit").click();
      await waitConfirmed(page, `withdraw 0.25 WETH from position ${id}`);
      assert.equal((await keel.assets.WETH!.token.balanceOf(w.user)) - wethBefore, parseUnits("0.25", 18));
      assert.deepEqual([...(await keel.engine.collateralAssets(id))], [wethAt, wbtcAt]);
      assert.equal(await keel.engine.collateralOf(id, wethAt), parseUnits("1.75", 18));
      assert.equal(await keel.engine.collateralOf(id, wbtcAt), parseUnits("0.1", 8));
      const debt = await keel.engine.debtOf(id);
      assert.ok(debt >= parseUnits("5000", 18) && debt < parseUnits("5000.01", 18), `debt ${debt}`);
      await waitText(page, "collateral-WBTC", "0.1");
      await close();
    },
  },
  {
    name: "a crash margin-calls a position: Called with a live countdown; the one-click cure clears the call",
    run: async (w, s) => {
      const { keel, deployer } = w;
      const weth = keel.assets.WETH!;
      const wethAt = await weth.token.getAddress();
      // An isolated WETH position near its limit, opened through the app's engine directly for speed.
      const engine = keel.engine.connect(w.userSigner);
      await (await engine.open(0, wethAt, w.user)).wait();
      const id = await keel.engine.lastPositionId();
      s.called = id;
      await (await weth.token.connect(w.userSigner).approve(keel.engine.target, parseUnits("1", 18))).wait();
      await (await engine.deposit(id, wethAt, parseUnits("1", 18))).wait();
      // 2,400 kUSD against $3,000 (at most 3,000 × (1 − 18.3%) = 2,451).
      await (await engine.borrow(id, parseUnits("2400", 18), w.user)).wait();
      // WETH 3,000 → 2,760: HF = 2,760 × (1 − 13.75%) / 2,400 ≈ 0.992, under 1 and above the critical 0.95.
      const answer = await weth.feed.latestAnswer();
      await (await weth.feed.connect(deployer).updateAnswer((answer * 92n) / 100n)).wait();
      assert.equal((await keel.engine.stateOf(id))[0], 1n, "Callable");
      await (await keel.engine.connect(deployer).marginCall(id)).wait();
      const deadline = await keel.engine.callDeadline(id);
      assert.ok(deadline > 0n);

      const { page, close } = await openApp(w, `#/position/${id}`);
      await connect(page, w.user);
      await waitText(page, "state", "Called");
      await byTestId(page, "countdown").waitFor();
      const left0 = BigInt((await byTestId(page, "countdown").getAttribute("data-seconds"))!);
      assert.ok(left0 > 5n * 3600n && left0 <= 6n * 3600n, `time left ${left0}`);
      // Move the chain 2 hours on (feeds republished, as a live feed's heartbeat would).
      await w.node.provider.send("evm_increaseTime", [7200]);
      await refreshFeeds(keel);
      await page.waitForFunction((limit) => Number(document.querySelector('[data-testid="countdown"]')?.getAttribute("data-seconds")) <= limit, Number(left0) - 7000, { timeout: WAIT_MS });
      await waitText(page, "margin-call", "Clears it: repay");
      await shot(page, "margin-call");
      // The list says it too: Called, with the time left.
      await page.evaluate(() => (window.location.hash = "#/"));
      await page.locator(`tr:has([data-testid="position-${id}"])`).filter({ hasText: /Called\s*3 h \d\d min \d\d s left/ }).waitFor({ timeout: WAIT_MS });
      await shot(page, "positions");
      await byTestId(page, `position-${id}`).click();
      await waitText(page, "state", "Called");
      await byTestId(page, "cure-submit").click();
      await waitConfirmed(page, "repay");
      assert.equal(await keel.engine.callDeadline(id), 0n, "the call is cleared");
      assert.equal((await keel.engine.stateOf(id))[0], 0n, "Safe");
      const block = (await w.node.provider.getBlock("latest"))!.number;
      assert.equal((await keel.engine.queryFilter(keel.engine.filters.MarginCallCleared(id), block, block)).length, 1);
      await waitText(page, "state", "Safe");
      await close();
      await (await weth.feed.connect(deployer).updateAnswer(answer)).wait();
    },
  },
  {
    name: "the positions list shows every position of the account; clicking one opens it",
    run: async (w, s) => {
      const { page, close } = await openApp(w, "#/");
      await connect(page, w.user);
      const row = byTestId(page, `position-${s.cross}`);
      await row.waitFor({ timeout: WAIT_MS });
      await byTestId(page, `position-${s.called}`).waitFor({ timeout: WAIT_MS });
      assert.equal(await byTestId(page, `position-${s.isolated}`).count(), 0, "the closed position is gone");
      await row.click();
      await page.waitForURL(`**#/position/${s.cross}`);
      await waitText(page, "state", "Safe");
      const [views] = await w.keel.lens.positionsOf(w.user, 1n, 500n);
      assert.deepEqual(views.map((v) => v.id), [s.cross, s.called]);
      assert.equal(await byTestId(page, `position-${s.called}`).count(), 0, "the list is gone once a position is open");
      await close();
    },
  },
  {
    name: "the market page shows each asset's price, σ in force and its target, and σ stepping toward the target",
    run: async (w) => {
      const { keel, deployer } = w;
      const weth = keel.assets.WETH!;
      const wethAt = await weth.token.getAddress();
      // Two pokes around an 8% WETH drop: the target jumps to the 10% cap, σ in force follows at 0.25 points an hour.
      await refreshFeeds(keel);
      await (await keel.vol.connect(deployer).poke(wethAt)).wait();
      await w.node.provider.send("evm_increaseTime", [3601]);
      await (await weth.feed.connect(deployer).updateAnswer(((await weth.feed.latestAnswer()) * 92n) / 100n)).wait();
      await refreshFeeds(keel);
      await (await keel.vol.connect(deployer).poke(wethAt)).wait();
      const target = await keel.vol.sigmaTarget(wethAt);
      assert.equal(target, parseUnits("0.1", 18), "the target is at the cap");

      const { page, close } = await openApp(w, "#/market");
      await waitText(page, "market-WETH", "$2,760");
      const sigma = await keel.vol.sigma(wethAt);
      await waitText(page, "market-WETH", `${formatPercent(sigma)}10%`);
      await byTestId(page, "sigma-chart").waitFor();
      assert.equal(await page.locator('[data-testid="sigma-chart"] polyline').count(), Object.keys(keel.assets).length);
      await shot(page, "market");
      await close();
    },
  },
  {
    name: "the wrong network is detected; the switch prompt moves the wallet to the deployment's chain",
    run: async (w) => {
      const before = await nonce(w);
      const { page, wallet, close } = await openApp(w, "#/", { chainId: 1 });
      await connect(page, w.user);
      await waitText(page, "wrong-network", "Wrong network");
      assert.equal(await byTestId(page, "position-1").count(), 0);
      await byTestId(page, "switch-network").click();
      await byTestId(page, "wrong-network").waitFor({ state: "detached", timeout: WAIT_MS });
      assert.equal(wallet.chainId, 31337);
      assert.ok(wallet.calls.includes("wallet_switchEthereumChain"));
      await waitText(page, "account", w.user);
      assert.equal(await nonce(w), before);
      await close();
    },
  },
  {
    name: "stability: sell USDC for kUSD (approving first), then buy some back: balances, PSM debt and the buffer's fee exactly as src/math/peg.ts says",
    run: async (w) => {
      const { keel } = w;
      const usdc = keel.assets.USDC!.token;
      const [feeIn, feeOut] = [await keel.psm.feeIn(), await keel.psm.feeOut()];
      const { page, close } = await openApp(w, "#/");
      await connect(page, w.user);
      await byTestId(page, "nav-stability").click();
      await page.waitForURL("**#/stability", { timeout: WAIT_MS });
      await waitText(page, "stability-reserve", "USDC");
      await waitText(page, "psm-frozen", "open");
      await waitText(page, "savings-rate", "2% a year");
      await waitText(page, "stability-fees", "0.1% / 0.1%");

      // Sell 60 USDC: an approval, then sellGem.
      const sell = sellGemQuote(parseUnits("60", 6), 6, feeIn);
      const [debt0, kusd0, usdc0, buffer0, n0] = [await keel.psm.debt(), await keel.kusd.balanceOf(w.user), await usdc.balanceOf(w.user), await keel.kusd.balanceOf(keel.surplus.target), await nonce(w)];
      await byTestId(page, "swap-direction").selectOption("sell");
      await type(page, "swap-amount", "60");
      await waitText(page, "swap-preview", "You pay 60 USDC and receive 59.94 kUSD");
      assert.equal(await byTestId(page, "swap-preview").getAttribute("data-kusd"), sell.kusd.toString(), "the preview is src/math's quote");
      await byTestId(page, "swap-submit").click();
      await waitConfirmed(page, "sell 60 USDC for 59.94 kUSD");
      assert.equal(await nonce(w), n0 + 2, "an approval, then the sale");
      assert.equal((await keel.kusd.balanceOf(w.user)) - kusd0, sell.kusd, "kUSD out = src/math's quote");
      assert.equal((await keel.psm.debt()) - debt0, sell.amount, "P grows by the scaled amount");
      assert.equal(usdc0 - (await usdc.balanceOf(w.user)), parseUnits("60", 6));
      assert.equal((await keel.kusd.balanceOf(keel.surplus.target)) - buffer0, sell.fee, "the fee went to the surplus buffer");
      await page.waitForFunction((d) => document.querySelector('[data-testid="psm-debt"]')?.getAttribute("data-wad") === d, (debt0 + sell.amount).toString(), { timeout: WAIT_MS });

      // Buy 25.5 USDC back: buyGem burns kUSD without an allowance.
      const buy = buyGemQuote(parseUnits("25.5", 6), 6, feeOut);
      const [debt1, kusd1, usdc1, n1] = [await keel.psm.debt(), await keel.kusd.balanceOf(w.user), await usdc.balanceOf(w.user), await nonce(w)];
      await byTestId(page, "swap-direction").selectOption("buy");
      await type(page, "swap-amount", "25.5");
      await waitText(page, "swap-preview", "You pay 25.5255 kUSD");
      assert.equal(await byTestId(page, "swap-preview").getAttribute("data-kusd"), buy.kusd.toString());
      await byTestId(page, "swap-submit").click();
      await waitConfirmed(page, "buy 25.5 USDC for 25.5255 kUSD");
      assert.equal(await nonce(w), n1 + 1, "no approval");
      assert.equal(kusd1 - (await keel.kusd.balanceOf(w.user)), buy.kusd, "kUSD in = src/math's quote");
      assert.equal(debt1 - (await keel.psm.debt()), buy.amount, "P falls by the scaled amount");
      assert.equal((await usdc.balanceOf(w.user)) - usdc1, parseUnits("25.5", 6));
      await page.waitForFunction((d) => document.querySelector('[data-testid="psm-debt"]')?.getAttribute("data-wad") === d, (debt1 - buy.amount).toString(), { timeout: WAIT_MS });
      await close();
    },
  },
  {
    name: "stability: save kUSD (approving first), withdraw part at a pinned time (preview = the chain's shares), then withdraw the rest with max",
    run: async (w) => {
      const { keel } = w;
      const savings = keel.savings;
      const vaultAt = async (blockTag: number): Promise<{ v: VaultTotals; rate: bigint; lastDrip: bigint; spendable: bigint }> => ({
        v: { assets: await savings.totalAssets({ blockTag }), shares: await savings.totalSupply({ blockTag }) },
        rate: await savings.savingsRate({ blockTag }),
        lastDrip: await savings.lastDrip({ blockTag }),
        spendable: await keel.surplus.spendable({ blockTag }),
      });
      const { page, close } = await openApp(w, "#/stability");
      await connect(page, w.user);
      await waitText(page, "savings-shares", "0");

      // Save 1,000 kUSD: an approval, then the deposit, which drips first.
      const amount = parseUnits("1000", 18);
      const kusd0 = await keel.kusd.balanceOf(w.user);
      await type(page, "save-amount", "1,000");
      await waitText(page, "save-preview", "You deposit 1,000 kUSD and receive");
      await byTestId(page, "save-submit").click();
      await waitConfirmed(page, "save 1,000 kUSD");
      const saved = (await w.node.provider.getBlock("latest"))!;
      const before = await vaultAt(saved.number - 1);
      const shares = savingsSharesDown(amount, savingsAfterDrip(before.v, before.rate, before.lastDrip, BigInt(saved.timestamp), before.spendable));
      assert.equal(await savings.balanceOf(w.user), shares, "shares = src/math's conversion after the drip");
      assert.equal(kusd0 - (await keel.kusd.balanceOf(w.user)), amount);
      await page.waitForFunction((x) => document.querySelector('[data-testid="savings-shares"]')?.getAttribute("data-shares") === x, shares.toString(), { timeout: WAIT_MS });
      await waitText(page, "savings-value", /^(999\.99|1,000) kUSD$/);

      // Withdraw 400 kUSD at a pinned block time: the shares the page previews are the shares burnt.
      const pinned = saved.timestamp + 3600;
      await page.clock.setFixedTime(new Date(pinned * 1000));
      await type(page, "unsave-amount", "400");
      await page.waitForFunction((t) => document.querySelector('[data-testid="unsave-preview"]')?.getAttribute("data-time") === String(t), pinned, { timeout: WAIT_MS });
      const previewed = BigInt((await byTestId(page, "unsave-preview").getAttribute("data-shares"))!);
      await shot(page, "stability");
      const kusd1 = await keel.kusd.balanceOf(w.user);
      await w.node.provider.send("evm_setNextBlockTimestamp", [pinned]);
      await byTestId(page, "unsave-submit").click();
      await waitConfirmed(page, "withdraw 400 kUSD from savings");
      const withdrawn = (await w.node.provider.getBlock("latest"))!;
      assert.equal(withdrawn.timestamp, pinned, "mined at the pinned time");
      const mid = await vaultAt(withdrawn.number - 1);
      const dripped = savingsAfterDrip(mid.v, mid.rate, mid.lastDrip, BigInt(pinned), mid.spendable);
      assert.ok(dripped.assets > mid.v.assets, "an hour of interest was paid");
      assert.equal(previewed, savingsSharesUp(parseUnits("400", 18), dripped));
      assert.equal(shares - (await savings.balanceOf(w.user)), previewed, "the page's preview = the shares burnt");
      assert.equal((await keel.kusd.balanceOf(w.user)) - kusd1, parseUnits("400", 18));

      // The rest with max: redeem every share for what they are worth after the drip.
      const pinned2 = pinned + 60;
      await page.clock.setFixedTime(new Date(pinned2 * 1000));
      await type(page, "unsave-amount", "max");
      await page.waitForFunction((t) => document.querySelector('[data-testid="unsave-preview"]')?.getAttribute("data-time") === String(t), pinned2, { timeout: WAIT_MS });
      const previewedAssets = BigInt((await byTestId(page, "unsave-preview").getAttribute("data-assets"))!);
      const kusd2 = await keel.kusd.balanceOf(w.user);
      await w.node.provider.send("evm_setNextBlockTimestamp", [pinned2]);
      await byTestId(page, "unsave-submit").click();
      await waitConfirmed(page, "withdraw all savings");
      const redeemed = (await w.node.provider.getBlock("latest"))!;
      const last = await vaultAt(redeemed.number - 1);
      const held = await savings.balanceOf(w.user, { blockTag: redeemed.number - 1 });
      assert.equal(previewedAssets, savingsAssetsDown(held, savingsAfterDrip(last.v, last.rate, last.lastDrip, BigInt(pinned2), last.spendable)));
      assert.equal(await savings.balanceOf(w.user), 0n, "no sKUSD left");
      assert.equal((await keel.kusd.balanceOf(w.user)) - kusd2, previewedAssets, "the kUSD the page previewed");
      assert.ok(previewedAssets > parseUnits("600", 18), "the interest came back with the savings");
      await close();
    },
  },
  {
    name: "stability: bad input, a sale over the ceiling, a purchase over the PSM's debt and a withdrawal without savings are refused in the form; nothing is sent",
    run: async (w) => {
      const { page, close } = await openApp(w, "#/stability");
      await connect(page, w.user);
      await byTestId(page, "swap-amount").waitFor();
      await waitText(page, "savings-shares", /\d/);
      const before = await nonce(w);
      const refusals: [string, string, string, RegExp][] = [
        ["sell", "swap", "-5", /must be positive/],
        ["sell", "swap", "abc", /not a non-negative decimal number/],
        ["sell", "swap", "1.0000001", /more than 6 decimal places/],
        ["sell", "swap", "0", /more than 0/],
        ["sell", "swap", "1,000", /you hold [\d,.]+ USDC, less than 1,000/],
        ["sell", "swap", "50,000,001", /over its ceiling of 50,000,000 kUSD; at most [\d,.]+ USDC can be sold now/],
        ["buy", "swap", "1,000,000", /the PSM's debt is [\d,.]+ kUSD: at most [\d,.]+ USDC can be bought back/],
        ["buy", "swap", "0.0000001", /more than 6 decimal places/],
        ["buy", "save", "1,000,000", /you hold [\d,.]+ kUSD, less than 1,000,000/],
        ["buy", "unsave", "5", /you have no savings to withdraw/],
      ];
      for (const [direction, form, text, message] of refusals) {
        await byTestId(page, "swap-direction").selectOption(direction);
        await type(page, `${form}-amount`, text);
        await waitText(page, `${form}-error`, message);
        assert.equal(await byTestId(page, `${form}-submit`).isDisabled(), true, `${form} "${text}" cannot be submitted`);
        assert.equal(await byTestId(page, `${form}-preview`).textContent(), "", "no preview for a refused amount");
      }
      await type(page, "swap-amount", "");
      assert.equal(await byTestId(page, "swap-submit").isDisabled(), true, "an empty amount cannot be submitted");
      // Submitting by keyboard with a refused amount sends nothing either.
      await byTestId(page, "swap-direction").selectOption("sell");
      await type(page, "swap-amount", "50,000,001");
      await byTestId(page, "swap-amount").press("Enter");
      await page.waitForTimeout(500);
      assert.equal(await byTestId(page, "tx-status").getAttribute("data-phase"), "idle");
      assert.equal(await nonce(w), before, "no transaction was sent");
      await close();
    },
  },
  {
    name: "stability: USDC 3% off $1 freezes selling (shown with why, refused in the form, the chain agrees); buying back stays open; $1 again reopens it; the guardian's pause freezes it too",
    run: async (w) => {
      const { keel } = w;
      const feed = keel.assets.USDC!.feed;
      const answer = await feed.latestAnswer();
      await setFeedAnswer(keel, "USDC", (answer * 97n) / 100n);
      assert.equal(await keel.psm.sellGemFrozen(), true, "the module is frozen");
      await assert.rejects(keel.psm.connect(w.userSigner).sellGem.staticCall(w.user, parseUnits("1", 6)), /ReserveDepegged/);

      const { page, close } = await openApp(w, "#/stability");
      await connect(page, w.user);
      await waitText(page, "psm-frozen", "frozen: USDC is at $0.97, 3% from $1, beyond the 2% threshold");
      await waitText(page, "stability-frozen-banner", "Buying USDC back with kUSD stays open");
      const before = await nonce(w);
      await byTestId(page, "swap-direction").selectOption("sell");
      await type(page, "swap-amount", "10");
      await waitText(page, "swap-error", "selling USDC is frozen: USDC is at $0.97");
      assert.equal(await byTestId(page, "swap-submit").isDisabled(), true);
      await shot(page, "stability-frozen");
      assert.equal(await nonce(w), before, "nothing was sent");

      const usdc = keel.assets.USDC!.token;
      const usdc0 = await usdc.balanceOf(w.user);
      await byTestId(page, "swap-direction").selectOption("buy");
      await type(page, "swap-amount", "5");
      await waitText(page, "swap-preview", "You pay 5.005 kUSD");
      await byTestId(page, "swap-submit").click();
      await waitConfirmed(page, "buy 5 USDC for 5.005 kUSD");
      assert.equal((await usdc.balanceOf(w.user)) - usdc0, parseUnits("5", 6), "bought while frozen");

      await setFeedAnswer(keel, "USDC", answer);
      assert.equal(await keel.psm.sellGemFrozen(), false);
      await waitText(page, "psm-frozen", "open");
      // The guardian's pause is the other reason.
      await (await keel.psm.connect(w.deployer).setSellGemPaused(true)).wait();
      await waitText(page, "psm-frozen", "frozen: paused by the guardian");
      await byTestId(page, "swap-direction").selectOption("sell");
      await type(page, "swap-amount", "10");
      await waitText(page, "swap-error", "selling USDC is frozen: paused by the guardian");
      await (await keel.psm.connect(w.deployer).setSellGemPaused(false)).wait();
      await waitText(page, "psm-frozen", "open");
      await waitText(page, "swap-preview", "You pay 10 USDC and receive 9.99 kUSD");
      await close();
    },
  },
];

async function main(): Promise<void> {
  const started = Date.now();
  const log = (line: string): void => void process.stdout.write(`  ${line}\n`);
  const world = await startWorld(log);
  let passed = 0;
  let failed = 0;
  const shared: Shared = {};
  try {
    const only = process.env.APP_CASES ? new RegExp(process.env.APP_CASES) : undefined;
    for (const c of cases.filter((k) => !only || only.test(k.name))) {
      const t0 = Date.now();
      try {
        await c.run(world, shared);
        passed++;
        process.stdout.write(`  ✔ ${c.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
      } catch (e) {
        failed++;
        process.stdout.write(`  ✘ ${c.name}\n    ${String((e as Error)?.stack ?? e).split("\n").slice(0, 6).join("\n    ")}\n`);
      }
    }
  } finally {
    await world.stop();
  }
  process.stdout.write(`  browser tests took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`app: ${passed} passed, ${failed} failed\n`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stdout.write(`app test setup failed: ${String((e as Error)?.stack ?? e)}\napp: 0 passed, ${cases.length} failed\n`);
  process.exit(1);
});
