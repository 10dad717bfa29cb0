/**
 * Stability: the peg stability module (the reserve, its fees, debt against the ceiling, whether selling the reserve
 * is frozen and why) and the savings vault (the rate a year, its assets, the account's sKUSD and what it is worth);
 * swapping the reserve for kUSD either way, saving kUSD and withdrawing it. Every form previews the exact amounts
 * with src/math/peg.ts (the contracts' own arithmetic) before anything is sent, and refuses bad input in the form.
 */
import { useState } from "react";
import { type Address, erc20Abi } from "viem";
import { WAD } from "../../../src/math";
import { buyGemQuote, type PegQuote, savingsAfterDrip, savingsAssetsDown, savingsSharesDown, savingsSharesUp, sellGemQuote, type VaultTotals } from "../../../src/math/peg";
import { formatFixed } from "../../../src/units";
import { parseInput } from "../amounts";
import { AmountForm } from "./AmountForm";
import { nextBlockTime, type Stability, type StabilityAccount } from "../chain";
import { useApp, useTick } from "../context";
import { annualRate, kusd, percent, token, usd } from "../format";
import type { Keel } from "../manifest";
import { useStability, useStabilityAccount } from "../queries";
import type { Call } from "../tx";
import { TxStatusLine, useAccount, useSender } from "../wallet";

/** sKUSD has kUSD's 18 decimals plus the vault's offset of 6. */
const SHARE_DECIMALS = 24;

type Form = "swap" | "save" | "unsave";
type Direction = "sell" | "buy";

/** A form's reading of what was typed: a refusal, or the exact amounts and the calls that do it. */
type Plan = { ok: false; error: string } | { ok: true; what: string; preview: Preview; calls: Call[] };

/** What the preview line shows and carries as data attributes for tests (exact integers). */
interface Preview {
  text: string;
  data: Record<string, string>;
}

export function StabilityPage(): React.JSX.Element {
  const { keel } = useApp();
  const stability = useStability();
  if (!keel.peg) return <p className="error" data-testid="stability-none">This deployment has no peg stability module or savings vault.</p>;
  if (stability.error) return <p className="error">Could not read the peg stability module: {stability.error.message.split("\n")[0]}</p>;
  if (!stability.data) return <p>Loading the peg stability module…</p>;
  return <Loaded peg={keel.peg} s={stability.data} />;
}

interface PlanContext {
  keel: Keel;
  peg: NonNullable<Keel["peg"]>;
  s: Stability;
  /** The vault's totals after the drip the next block's transaction runs first. */
  vault: VaultTotals;
  /** [s] the block time the savings preview is for. */
  time: bigint;
  account?: Address;
  holdings?: StabilityAccount;
}

function Loaded({ peg, s }: { peg: NonNullable<Keel["peg"]>; s: Stability }): React.JSX.Element {
  const { keel } = useApp();
  const { address: account } = useAccount();
  const holdings = useStabilityAccount(account, s.gem.address).data;
  const sender = useSender();
  const nowMs = useTick(1_000);
  const [direction, setDirection] = useState<Direction>("sell");
  const [texts, setTexts] = useState<Record<Form, string>>({ swap: "", save: "", unsave: "" });

  // Deposits and withdrawals drip first: the preview is for the next block's time.
  const time = nextBlockTime(s, nowMs);
  const vault = savingsAfterDrip({ assets: s.totalAssets, shares: s.totalShares }, s.savingsRate, s.lastDrip, time, s.spendable);
  const ctx: PlanContext = { keel, peg, s, vault, time, ...(account ? { account } : {}), ...(holdings ? { holdings } : {}) };
  const plans: Record<Form, Plan | undefined> = {
    swap: texts.swap ? (direction === "sell" ? planSell(ctx, texts.swap) : planBuy(ctx, texts.swap)) : undefined,
    save: texts.save ? planSave(ctx, texts.save) : undefined,
    unsave: texts.unsave ? planUnsave(ctx, texts.unsave) : undefined,
  };

  const submit = async (form: Form): Promise<void> => {
    const plan = plans[form] ?? { ok: false, error: "enter an amount" };
    if (!plan.ok) {
      sender.refuse(plan.error);
      return;
    }
    const typed = texts[form];
    if (await sender.run(plan.calls)) setTexts((t) => (t[form] === typed ? { ...t, [form]: "" } : t));
  };
  const type = (form: Form) => (e: React.ChangeEvent<HTMLInputElement>): void => setTexts((t) => ({ ...t, [form]: e.target.value }));

  const gem = s.gem;
  const used = s.debtCeiling === 0n ? 0n : (s.debt * WAD) / s.debtCeiling;
  const worth = holdings ? savingsAssetsDown(holdings.shares, vault) : undefined;
  const why = frozenReason(s);

  return (
    <section className="stability">
      <h1>
        Stability <small>kUSD at $1 against {gem.symbol}, and savings paid by the surplus buffer</small>
      </h1>
      {why && (
        <div className="banner warn" role="alert" data-testid="stability-frozen-banner">
          Selling {gem.symbol} for kUSD is frozen: {why}. Buying {gem.symbol} back with kUSD stays open.
        </div>
      )}

      <h2>Peg stability module</h2>
      <dl className="summary">
        <div>
          <dt>Reserve</dt>
          <dd data-testid="stability-reserve">{gem.symbol}</dd>
        </div>
        <div>
          <dt>{gem.symbol} price</dt>
          <dd data-testid="stability-price" data-wad={s.price?.toString() ?? ""}>{s.price === undefined ? "cannot be read" : usd(s.price)}</dd>
        </div>
        <div>
          <dt>Fee in / out</dt>
          <dd data-testid="stability-fees" data-fee-in={s.feeIn.toString()} data-fee-out={s.feeOut.toString()}>
            {percent(s.feeIn)} / {percent(s.feeOut)}
          </dd>
        </div>
        <div>
          <dt>Debt / ceiling</dt>
          <dd data-testid="psm-debt" data-wad={s.debt.toString()} data-ceiling={s.debtCeiling.toString()}>
            {kusd(s.debt)} of {formatFixed(s.debtCeiling, 18, 0)} ({percent(used)})
          </dd>
        </div>
        <div>
          <dt>Reserve held</dt>
          <dd data-testid="stability-reserve-held">{token(s.reserveHeld, gem.decimals, gem.symbol)}</dd>
        </div>
        <div>
          <dt>Selling {gem.symbol}</dt>
          <dd data-testid="psm-frozen" data-frozen={String(s.frozen)} className={s.frozen ? "state-called" : "state-safe"}>
            {s.frozen ? `frozen: ${why ?? "the module says so"}` : `open (frozen beyond ${percent(s.freezeThreshold)} from $1)`}
          </dd>
        </div>
      </dl>

      <h2>Savings (sKUSD)</h2>
      <dl className="summary">
        <div>
          <dt>Savings rate</dt>
          <dd data-testid="savings-rate" data-ray={s.savingsRate.toString()}>{percent(annualRate(s.savingsRate))} a year</dd>
        </div>
        <div>
          <dt>Vault assets</dt>
          <dd data-testid="savings-total" data-wad={s.totalAssets.toString()}>{kusd(s.totalAssets)}</dd>
        </div>
        <div>
          <dt>Your sKUSD</dt>
          <dd data-testid="savings-shares" data-shares={holdings?.shares.toString() ?? ""}>{holdings ? formatFixed(holdings.shares, SHARE_DECIMALS, 6) : "connect a wallet"}</dd>
        </div>
        <div>
          <dt>Worth</dt>
          <dd data-testid="savings-value" data-wad={worth?.toString() ?? ""}>{worth === undefined ? "—" : kusd(worth)}</dd>
        </div>
        <div>
          <dt>Buffer can pay</dt>
          <dd data-testid="savings-spendable">{kusd(s.spendable)}</dd>
        </div>
      </dl>
      <p className="muted">
        Interest is paid out of the surplus buffer, never minted: when the buffer has nothing beyond the uncovered bad debt,
        savings earn nothing for that time. Each deposit and withdrawal first pays the interest due.
      </p>
      {holdings && (
        <p className="muted" data-testid="stability-wallet">
          You hold {token(holdings.gem, gem.decimals, gem.symbol)} and {kusd(holdings.kusd)}.
        </p>
      )}

      <TxStatusLine status={sender.status} />

      <div className="forms">
        <AmountForm previews form="swap" title="Swap" plan={plans.swap} text={texts.swap} onType={type("swap")} onSubmit={submit} busy={sender.busy}
          unit={gem.symbol} label={direction === "sell" ? `${gem.symbol} to sell` : `${gem.symbol} to buy`}
          hint={direction === "sell" ? `kUSD out = ${gem.symbol} less ${percent(s.feeIn)}` : `kUSD in = ${gem.symbol} plus ${percent(s.feeOut)}; at most ${token(s.debt / 10n ** BigInt(18 - gem.decimals), gem.decimals, gem.symbol)}`}>
          <label>
            Direction{" "}
            <select data-testid="swap-direction" value={direction} onChange={(e) => setDirection(e.target.value === "buy" ? "buy" : "sell")}>
              <option value="sell">{gem.symbol} → kUSD (sell {gem.symbol})</option>
              <option value="buy">kUSD → {gem.symbol} (buy {gem.symbol})</option>
            </select>
          </label>
        </AmountForm>
        <AmountForm previews form="save" title="Save" plan={plans.save} text={texts.save} onType={type("save")} onSubmit={submit} busy={sender.busy} unit="kUSD" allowMax
          label="kUSD to deposit" hint={holdings ? `you hold ${kusd(holdings.kusd)}` : undefined} />
        <AmountForm previews form="unsave" title="Withdraw" plan={plans.unsave} text={texts.unsave} onType={type("unsave")} onSubmit={submit} busy={sender.busy} unit="kUSD" allowMax
          label="kUSD to withdraw" hint={worth !== undefined ? `your savings are worth ${kusd(worth)}` : undefined} />
      </div>
    </section>
  );
}

/** Why selling the reserve is frozen, or undefined when it is open (the module's checks, in its order). */
function frozenReason(s: Stability): string | undefined {
  if (s.paused) return "paused by the guardian";
  if (s.price === undefined) return `the ${s.gem.symbol} price cannot be read`;
  const off = s.price > WAD ? s.price - WAD : WAD - s.price;
  if (off > s.freezeThreshold) return `${s.gem.symbol} is at ${usd(s.price)}, ${percent(off)} from $1, beyond the ${percent(s.freezeThreshold)} threshold`;
  // The module can say frozen while this read says open only if the block moved between the reads.
  return s.frozen ? "the module reports it frozen" : undefined;
}

const quoteData = (q: PegQuote, gemAmount: bigint): Record<string, string> => ({ gem: gemAmount.toString(), kusd: q.kusd.toString(), fee: q.fee.toString(), amount: q.amount.toString() });

function planSell(ctx: PlanContext, text: string): Plan {
  const { s } = ctx;
  const gem = s.gem;
  const why = frozenReason(s);
  if (why) return { ok: false, error: `selling ${gem.symbol} is frozen: ${why}` };
  if (!ctx.account || !ctx.holdings) return { ok: false, error: "connect a wallet to swap" };
  const parsed = parseInput(text, gem.decimals, gem.symbol);
  if (!parsed.ok) return parsed;
  const q = sellGemQuote(parsed.amount, gem.decimals, s.feeIn);
  if (q.kusd === 0n) return { ok: false, error: `too small: ${formatFixed(parsed.amount, gem.decimals)} ${gem.symbol} would mint no kUSD after the ${percent(s.feeIn)} fee` };
  const room = s.debtCeiling > s.debt ? s.debtCeiling - s.debt : 0n;
  if (q.amount > room) {
    const most = room / 10n ** BigInt(18 - gem.decimals);
    return { ok: false, error: `this would bring the PSM's debt to ${kusd(s.debt + q.amount)}, over its ceiling of ${kusd(s.debtCeiling)}; at most ${token(most, gem.decimals, gem.symbol)} can be sold now` };
  }
  const held = parseInput(text, gem.decimals, gem.symbol, { balance: ctx.holdings.gem });
  if (!held.ok) return held;
  const amountText = formatFixed(parsed.amount, gem.decimals);
  const what = `sell ${amountText} ${gem.symbol} for ${formatFixed(q.kusd, 18)} kUSD`;
  const calls: Call[] = [];
  if (ctx.holdings.gemAllowance < parsed.amount) {
    calls.push({ what: `approve ${amountText} ${gem.symbol} to the PSM`, address: gem.address, abi: erc20Abi, functionName: "approve", args: [ctx.peg.psm.address, parsed.amount] });
  }
  calls.push({ what, ...ctx.peg.psm, functionName: "sellGem", args: [ctx.account, parsed.amount] });
  return {
    ok: true,
    what,
    calls,
    preview: {
      text: `You pay ${amountText} ${gem.symbol} and receive ${formatFixed(q.kusd, 18)} kUSD (fee ${formatFixed(q.fee, 18)} kUSD to the surplus buffer). PSM debt becomes ${kusd(s.debt + q.amount)}.`,
      data: quoteData(q, parsed.amount),
    },
  };
}

function planBuy(ctx: PlanContext, text: string): Plan {
  const { s } = ctx;
  const gem = s.gem;
  if (!ctx.account || !ctx.holdings) return { ok: false, error: "connect a wallet to swap" };
  const parsed = parseInput(text, gem.decimals, gem.symbol);
  if (!parsed.ok) return parsed;
  const q = buyGemQuote(parsed.amount, gem.decimals, s.feeOut);
  if (q.amount > s.debt) {
    return { ok: false, error: `the PSM's debt is ${kusd(s.debt)}: at most ${token(s.debt / 10n ** BigInt(18 - gem.decimals), gem.decimals, gem.symbol)} can be bought back` };
  }
  if (q.kusd > ctx.holdings.kusd) return { ok: false, error: `this costs ${formatFixed(q.kusd, 18)} kUSD (fee included); you hold ${kusd(ctx.holdings.kusd)}` };
  const amountText = formatFixed(parsed.amount, gem.decimals);
  const what = `buy ${amountText} ${gem.symbol} for ${formatFixed(q.kusd, 18)} kUSD`;
  return {
    ok: true,
    what,
    // The module burns kUSD from its caller without an allowance.
    calls: [{ what, ...ctx.peg.psm, functionName: "buyGem", args: [ctx.account, parsed.amount] }],
    preview: {
      text: `You pay ${formatFixed(q.kusd, 18)} kUSD (fee ${formatFixed(q.fee, 18)} kUSD to the surplus buffer) and receive ${amountText} ${gem.symbol}. PSM debt becomes ${kusd(s.debt - q.amount)}.`,
      data: quoteData(q, parsed.amount),
    },
  };
}

function planSave(ctx: PlanContext, text: string): Plan {
  if (!ctx.account || !ctx.holdings) return { ok: false, error: "connect a wallet to save" };
  const parsed = parseInput(text, 18, "kUSD", { balance: ctx.holdings.kusd, maxAmount: ctx.holdings.kusd, nothing: "you hold no kUSD to save" });
  if (!parsed.ok) return parsed;
  const shares = savingsSharesDown(parsed.amount, ctx.vault);
  if (shares === 0n) return { ok: false, error: "too small: this would mint no sKUSD" };
  const amountText = formatFixed(parsed.amount, 18);
  const what = `save ${amountText} kUSD`;
  const calls: Call[] = [];
  if (ctx.holdings.kusdAllowance < parsed.amount) {
    calls.push({ what: `approve ${amountText} kUSD to the savings vault`, ...ctx.keel.kusd, functionName: "approve", args: [ctx.peg.savings.address, parsed.amount] });
  }
  calls.push({ what, ...ctx.peg.savings, functionName: "deposit", args: [parsed.amount, ctx.account] });
  return {
    ok: true,
    what,
    calls,
    preview: { text: `You deposit ${amountText} kUSD and receive ${formatFixed(shares, SHARE_DECIMALS, 8)} sKUSD.`, data: { assets: parsed.amount.toString(), shares: shares.toString(), time: ctx.time.toString() } },
  };
}

function planUnsave(ctx: PlanContext, text: string): Plan {
  if (!ctx.account || !ctx.holdings) return { ok: false, error: "connect a wallet to withdraw" };
  const held = ctx.holdings.shares;
  if (held === 0n) return { ok: false, error: "you have no savings to withdraw" };
  const worth = savingsAssetsDown(held, ctx.vault);
  const parsed = parseInput(text, 18, "kUSD", { balance: worth, balanceWhat: "your savings are worth", maxAmount: worth, nothing: "your savings are worth 0 kUSD" });
  if (!parsed.ok) return parsed;
  if (parsed.all) {
    // Everything: redeem every share (withdrawing `worth` could leave dust shares behind).
    const what = `withdraw all savings (${formatFixed(worth, 18)} kUSD)`;
    return {
      ok: true,
      what,
      calls: [{ what, ...ctx.peg.savings, functionName: "redeem", args: [held, ctx.account, ctx.account] }],
      preview: { text: `You redeem all ${formatFixed(held, SHARE_DECIMALS, 8)} sKUSD and receive ${formatFixed(worth, 18)} kUSD.`, data: { assets: worth.toString(), shares: held.toString(), time: ctx.time.toString() } },
    };
  }
  const shares = savingsSharesUp(parsed.amount, ctx.vault);
  const amountText = formatFixed(parsed.amount, 18);
  const what = `withdraw ${amountText} kUSD from savings`;
  return {
    ok: true,
    what,
    calls: [{ what, ...ctx.peg.savings, functionName: "withdraw", args: [parsed.amount, ctx.account, ctx.account] }],
    preview: { text: `You receive ${amountText} kUSD and give up ${formatFixed(shares, SHARE_DECIMALS, 8)} sKUSD.`, data: { assets: parsed.amount.toString(), shares: shares.toString(), time: ctx.time.toString() } },
  };
}
