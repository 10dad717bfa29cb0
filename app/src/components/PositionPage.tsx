/**
 * One position: its collateral, debt, health and state; a margin call made unmistakable (deadline, time left, what
 * clears it, one click to do it); the deposit, withdraw, borrow, repay and close forms, each previewing the HF
 * after the action with src/math before anything is sent; and the position's history.
 */
import { useState } from "react";
import { type Address, erc20Abi, maxUint256 } from "viem";
import { MARGIN_STATE_NAMES, MarginState, WAD } from "../../../src/math";
import { type Action, depositToClear, type Health, maxBorrow, maxWithdraw, preview, type PositionState, repayToClear } from "../../../src/protocol/preview";
import { formatHealth, formatKusd } from "../../../src/protocol/refusals";
import { formatFixed } from "../../../src/units";
import { parseInput } from "../amounts";
import { AmountForm } from "./AmountForm";
import { chainNow, type Market, marketAt, nextBlockTime, type PositionDetail } from "../chain";
import { useApp, useTick } from "../context";
import { duration, health, kusd, token, usd } from "../format";
import { type AssetInfo, assetAt, type Keel } from "../manifest";
import { type Balances, useBalances, useMarket, usePosition } from "../queries";
import type { Call } from "../tx";
import { TxStatusLine, useAccount, useSender } from "../wallet";
import { History } from "./History";
import { isolatedLiquidationPrice } from "./PositionsPage";

type Form = "deposit" | "withdraw" | "borrow" | "repay";

/** A form's reading of what was typed: a refusal, or the action with its preview and the calls that do it. */
type Plan = { ok: false; error: string; after?: Health } | { ok: true; action: Action; after: Health; calls: Call[]; what: string };

export function PositionPage({ id }: { id: bigint }): React.JSX.Element {
  const market = useMarket();
  const position = usePosition(id, market.data);
  if (position.error) return <p className="error">Could not read position {id.toString()}: {position.error.message.split("\n")[0]}</p>;
  if (market.error) return <p className="error">Could not read the market: {market.error.message.split("\n")[0]}</p>;
  if (!market.data || position.data === undefined) return <p>Loading position {id.toString()}…</p>;
  if (position.data === null) {
    return (
      <section>
        <h1>Position #{id.toString()}</h1>
        <p data-testid="position-closed">This position does not exist or was closed.</p>
        <History id={id} />
      </section>
    );
  }
  return <Loaded market={market.data} detail={position.data} />;
}

function Loaded({ market, detail }: { market: Market; detail: PositionDetail }): React.JSX.Element {
  const { keel } = useApp();
  const { address: account } = useAccount();
  const balances = useBalances(account).data;
  const sender = useSender();
  const nowMs = useTick(1_000);
  const { view, state } = detail;
  const id = view.id;
  const isOwner = account !== undefined && account.toLowerCase() === view.owner.toLowerCase();

  const [texts, setTexts] = useState<Record<Form, string>>({ deposit: "", withdraw: "", borrow: "", repay: "" });
  const [active, setActive] = useState<Form | undefined>();
  const isolatedAsset = view.mode === 0 ? (assetAt(keel, view.assets[0] ?? "") ?? undefined) : undefined;
  const [depositAsset, setDepositAsset] = useState<string>(isolatedAsset?.token ?? keel.assets[0]?.token ?? "");
  const [withdrawAsset, setWithdrawAsset] = useState<string>(view.assets[0] ?? "");
  const [payWithEth, setPayWithEth] = useState(false);

  // The preview is for the next block's time; σ and accrual move with it.
  const time = nextBlockTime(market, nowMs);
  const at = marketAt(market, time);
  const now = preview(state, at);
  const ctx: PlanContext = { keel, market, state, time, account, balances, isOwner, payWithEth, priced: view.priced };
  const plans: Record<Form, Plan | undefined> = {
    deposit: texts.deposit ? planDeposit(ctx, depositAsset, texts.deposit) : undefined,
    withdraw: texts.withdraw ? planWithdraw(ctx, withdrawAsset, texts.withdraw) : undefined,
    borrow: texts.borrow ? planBorrow(ctx, texts.borrow) : undefined,
    repay: texts.repay ? planRepay(ctx, texts.repay) : undefined,
  };
  const current = active ? plans[active] : undefined;
  // Without a margin HF the engine cannot say the state (stateOf reverts): show none rather than a guess.
  const engineState = detail.engineState ?? (view.valued ? now.state : undefined);
  const deadline = state.deadline;
  const left = deadline > 0n ? deadline - chainNow(market, nowMs) : 0n;

  const submit = async (form: Form): Promise<void> => {
    const plan = plans[form] ?? { ok: false, error: "enter an amount" };
    if (!plan.ok) {
      sender.refuse(plan.error);
      return;
    }
    const typed = texts[form];
    // Done: empty the field, unless the user has typed something else meanwhile.
    if (await sender.run(plan.calls)) setTexts((t) => (t[form] === typed ? { ...t, [form]: "" } : t));
  };
  const type = (form: Form) => (e: React.ChangeEvent<HTMLInputElement>): void => {
    setTexts((t) => ({ ...t, [form]: e.target.value }));
    setActive(form);
  };

  const assetsForDeposit: AssetInfo[] = isolatedAsset ? [isolatedAsset] : keel.assets;
  const depositInfo = assetAt(keel, depositAsset);
  const withdrawInfo = assetAt(keel, withdrawAsset);
  const wethInfo = keel.assets.find((a) => a.symbol === "WETH");
  const canPayEth = wethInfo !== undefined && depositAsset.toLowerCase() === wethInfo.token.toLowerCase();

  return (
    <section className="position">
      <h1>
        Position #{id.toString()} <small>{view.mode === 0 ? `Isolated ${isolatedAsset?.symbol ?? ""}` : "Cross"}</small>
      </h1>
      <p className="muted">Owner {view.owner}{isOwner ? " (you)" : ""}</p>

      {!view.priced && (
        <div className="banner warn" role="alert">
          A price feed of this position failed: {view.valued ? "its margin HF values that holding at zero" : "its health is unknown until the feed reports again"}.
          Deposits and repayments still work; borrowing and withdrawing wait for every price.
        </div>
      )}
      {engineState !== undefined && <MarginCallPanel ctx={ctx} state={engineState} deadline={deadline} left={left} now={now} sender={sender} />}

      <dl className="summary">
        <div>
          <dt>Health factor</dt>
          <dd data-testid="hf" data-wad={view.hf.toString()}>{view.valued ? health(view.hf) : "unknown"}</dd>
        </div>
        <div>
          <dt>Initial HF</dt>
          <dd data-testid="hf-initial" data-wad={view.hfInitial.toString()}>{view.priced ? health(view.hfInitial) : "unknown"}</dd>
        </div>
        <div>
          <dt>State</dt>
          <dd data-testid="state" className={engineState === undefined ? "" : `state-${MARGIN_STATE_NAMES[engineState]?.toLowerCase()}`}>
            {engineState === undefined ? "unknown" : MARGIN_STATE_NAMES[engineState]}
          </dd>
        </div>
        <div>
          <dt>Debt</dt>
          <dd data-testid="debt" data-wad={view.debt.toString()}>{kusd(view.debt)}</dd>
        </div>
        <div>
          <dt>Collateral value</dt>
          <dd>{usd(view.value)}</dd>
        </div>
        <div>
          <dt>Can borrow now</dt>
          <dd data-testid="max-borrow">{kusd(maxBorrow(state, at))}</dd>
        </div>
        {view.mode === 0 && (
          <div>
            <dt>Liquidation price</dt>
            <dd data-testid="liquidation-price">{isolatedLiquidationPrice(view, market)}</dd>
          </div>
        )}
      </dl>

      <table className="collateral">
        <caption>Collateral</caption>
        <thead>
          <tr>
            <th scope="col">Asset</th>
            <th scope="col">Amount</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {view.assets.length === 0 && (
            <tr>
              <td colSpan={3}>none yet: deposit below</td>
            </tr>
          )}
          {view.assets.map((a, i) => {
            const info = assetAt(keel, a);
            return (
              <tr key={a}>
                <td>{info?.symbol ?? a}</td>
                <td data-testid={`collateral-${info?.symbol ?? a}`}>{token(view.amounts[i] ?? 0n, info?.decimals ?? 18, "")}</td>
                <td>{usd(view.assetValues[i] ?? 0n)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>

      <div className="preview" data-testid="hf-preview" data-hf={current?.after?.hf.toString() ?? ""} data-hf-initial={current?.after?.hfInitial.toString() ?? ""} data-time={time.toString()} aria-live="polite">
        {current?.after ? (
          <>
            After this {active}: HF <strong>{health(current.after.hf)}</strong>, initial HF <strong>{health(current.after.hfInitial)}</strong>, debt {kusd(current.after.debt)}
            {current.after.debt > 0n ? `, state ${MARGIN_STATE_NAMES[current.after.state]}` : ""}
          </>
        ) : (
          <>Type an amount to see the HF after the action. Now: HF {health(now.hf)}, initial HF {health(now.hfInitial)}.</>
        )}
      </div>
      <TxStatusLine status={sender.status} />

      <div className="forms">
        <AmountForm form="deposit" title="Deposit" plan={plans.deposit} text={texts.deposit} onType={type("deposit")} onSubmit={submit} busy={sender.busy}
          unit={payWithEth ? "ETH" : depositInfo?.symbol ?? ""}
          hint={balances && depositInfo ? `you hold ${payWithEth ? token(balances.eth, 18, "ETH") : token(balances.tokens.get(depositInfo.token.toLowerCase()) ?? 0n, depositInfo.decimals, depositInfo.symbol)}` : undefined}>
          {assetsForDeposit.length > 1 && (
            <label>
              Asset{" "}
              <select data-testid="deposit-asset" value={depositAsset} onChange={(e) => { setDepositAsset(e.target.value); setPayWithEth(false); setActive("deposit"); }}>
                {assetsForDeposit.map((a) => (
                  <option key={a.token} value={a.token}>{a.symbol}</option>
                ))}
              </select>
            </label>
          )}
          {canPayEth && (
            <label>
              <input type="checkbox" data-testid="deposit-eth" checked={payWithEth} onChange={(e) => { setPayWithEth(e.target.checked); setActive("deposit"); }} /> pay with ETH (wrapped by the PositionManager)
            </label>
          )}
        </AmountForm>
        <AmountForm form="withdraw" title="Withdraw" plan={plans.withdraw} text={texts.withdraw} onType={type("withdraw")} onSubmit={submit} busy={sender.busy} unit={withdrawInfo?.symbol ?? ""} allowMax
          hint={withdrawInfo ? `at most ${token(maxWithdraw(state, at, withdrawAsset), withdrawInfo.decimals, withdrawInfo.symbol)}` : "nothing to withdraw"}>
          {view.assets.length > 1 && (
            <label>
              Asset{" "}
              <select data-testid="withdraw-asset" value={withdrawAsset} onChange={(e) => { setWithdrawAsset(e.target.value); setActive("withdraw"); }}>
                {view.assets.map((a) => (
                  <option key={a} value={a}>{assetAt(keel, a)?.symbol ?? a}</option>
                ))}
              </select>
            </label>
          )}
        </AmountForm>
        <AmountForm form="borrow" title="Borrow" plan={plans.borrow} text={texts.borrow} onType={type("borrow")} onSubmit={submit} busy={sender.busy} unit="kUSD"
          hint={`at most ${kusd(maxBorrow(state, at))}`} />
        <AmountForm form="repay" title="Repay" plan={plans.repay} text={texts.repay} onType={type("repay")} onSubmit={submit} busy={sender.busy} unit="kUSD" allowMax
          hint={balances ? `you hold ${kusd(balances.kusd)}; debt ${kusd(now.debt)}` : undefined} />
      </div>
      <CloseButton ctx={ctx} now={now} sender={sender} />
      <History id={id} />
    </section>
  );
}

interface PlanContext {
  keel: Keel;
  market: Market;
  state: PositionState;
  time: bigint;
  account?: Address;
  balances?: Balances;
  isOwner: boolean;
  payWithEth: boolean;
  /** Every price of the position was read: borrowing and withdrawing with debt need them all (docs/spec.md §5). */
  priced: boolean;
}

const at = (ctx: PlanContext) => marketAt(ctx.market, ctx.time);

function planDeposit(ctx: PlanContext, asset: string, text: string): Plan {
  const info = assetAt(ctx.keel, asset);
  if (!info) return { ok: false, error: "pick an asset" };
  if (!ctx.account || !ctx.balances) return { ok: false, error: "connect a wallet to deposit" };
  const eth = ctx.payWithEth;
  const balance = eth ? ctx.balances.eth : (ctx.balances.tokens.get(info.token.toLowerCase()) ?? 0n);
  const parsed = parseInput(text, eth ? 18 : info.decimals, eth ? "ETH" : info.symbol, { balance });
  if (!parsed.ok) return parsed;
  const action: Action = { kind: "deposit", asset: info.token, amount: parsed.amount };
  const after = preview(ctx.state, at(ctx), action);
  const amountText = formatFixed(parsed.amount, info.decimals);
  const what = `deposit ${amountText} ${eth ? "ETH" : info.symbol} into position ${ctx.state.id}`;
  if (eth) {
    return { ok: true, action, after, what, calls: [{ what, ...ctx.keel.manager, functionName: "depositEth", args: [ctx.state.id], value: parsed.amount }] };
  }
  const calls: Call[] = [];
  if ((ctx.balances.allowances.get(info.token.toLowerCase()) ?? 0n) < parsed.amount) {
    calls.push({ what: `approve ${amountText} ${info.symbol} to the engine`, address: info.token, abi: erc20Abi, functionName: "approve", args: [ctx.keel.engine.address, parsed.amount] });
  }
  calls.push({ what, ...ctx.keel.engine, functionName: "deposit", args: [ctx.state.id, info.token, parsed.amount] });
  return { ok: true, action, after, what, calls };
}

function planWithdraw(ctx: PlanContext, asset: string, text: string): Plan {
  const info = assetAt(ctx.keel, asset);
  if (!info) return { ok: false, error: "the position holds nothing to withdraw" };
  if (!ctx.isOwner) return { ok: false, error: "only the position's owner (or an approved address) can withdraw" };
  const held = ctx.state.holdings.get(info.token.toLowerCase()) ?? 0n;
  const parsed = parseInput(text, info.decimals, info.symbol, { balance: held, balanceWhat: "the position holds", maxAmount: held });
  if (!parsed.ok) return parsed;
  if (!ctx.priced && ctx.state.normDebt > 0n) return { ok: false, error: "a price feed of this position failed: withdrawing with debt waits for it" };
  const m = at(ctx);
  const action: Action = { kind: "withdraw", asset: info.token, amount: parsed.amount };
  const after = preview(ctx.state, m, action);
  if (after.debt > 0n && after.hfInitial < WAD) {
    const most = maxWithdraw(ctx.state, m, info.token);
    return { ok: false, after, error: `this would leave initial HF at ${formatHealth(after.hfInitial)}; the most you can withdraw is ${formatFixed(most, info.decimals)} ${info.symbol}` };
  }
  const what = `withdraw ${formatFixed(parsed.amount, info.decimals)} ${info.symbol} from position ${ctx.state.id}`;
  return { ok: true, action, after, what, calls: [{ what, ...ctx.keel.engine, functionName: "withdraw", args: [ctx.state.id, info.token, parsed.amount, ctx.account!] }] };
}

function planBorrow(ctx: PlanContext, text: string): Plan {
  if (!ctx.isOwner) return { ok: false, error: "only the position's owner (or an approved address) can borrow" };
  if (!ctx.priced) return { ok: false, error: "a price feed of this position failed: borrowing waits for it" };
  const parsed = parseInput(text, 18, "kUSD");
  if (!parsed.ok) return parsed;
  const m = at(ctx);
  const action: Action = { kind: "borrow", amount: parsed.amount };
  const after = preview(ctx.state, m, action);
  if (after.hfInitial < WAD) {
    return { ok: false, after, error: `this would leave initial HF at ${formatHealth(after.hfInitial)}; the most you can borrow is ${formatKusd(maxBorrow(ctx.state, m))} kUSD` };
  }
  if (after.debt < ctx.market.dust) {
    return { ok: false, after, error: `this would leave ${formatKusd(after.debt)} kUSD of debt, below the minimum of ${formatKusd(ctx.market.dust)} kUSD` };
  }
  if (after.classDebt > ctx.state.debtClass.debtCeiling) {
    return { ok: false, after, error: `this would bring the class's debt to ${formatKusd(after.classDebt)} kUSD, over its ceiling of ${formatKusd(ctx.state.debtClass.debtCeiling)} kUSD` };
  }
  const what = `borrow ${formatKusd(parsed.amount)} kUSD against position ${ctx.state.id}`;
  return { ok: true, action, after, what, calls: [{ what, ...ctx.keel.engine, functionName: "borrow", args: [ctx.state.id, parsed.amount, ctx.account!] }] };
}

function planRepay(ctx: PlanContext, text: string): Plan {
  if (!ctx.account || !ctx.balances) return { ok: false, error: "connect a wallet to repay" };
  const m = at(ctx);
  const debt = preview(ctx.state, m).debt;
  if (debt === 0n) return { ok: false, error: "the position has no debt" };
  const parsed = parseInput(text, 18, "kUSD", { balance: ctx.balances.kusd, maxAmount: debt });
  if (!parsed.ok) return parsed;
  const all = parsed.all || parsed.amount >= debt;
  const action: Action = { kind: "repay", amount: all ? maxUint256 : parsed.amount };
  const after = preview(ctx.state, m, action);
  if (after.debt > 0n && after.debt < ctx.market.dust) {
    return { ok: false, after, error: `this would leave ${formatKusd(after.debt)} kUSD of debt, below the minimum of ${formatKusd(ctx.market.dust)} kUSD (repay all, or less)` };
  }
  const what = all ? `repay all debt of position ${ctx.state.id}` : `repay ${formatKusd(parsed.amount)} kUSD of position ${ctx.state.id}`;
  return { ok: true, action, after, what, calls: [{ what, ...ctx.keel.engine, functionName: "repay", args: [ctx.state.id, all ? maxUint256 : parsed.amount] }] };
}

type Sender = ReturnType<typeof useSender>;

function CloseButton({ ctx, now, sender }: { ctx: PlanContext; now: Health; sender: Sender }): React.JSX.Element {
  const blocked = !ctx.isOwner
    ? "only the owner can close"
    : ctx.balances && ctx.balances.kusd < now.debt
      ? `closing repays ${kusd(now.debt)}; you hold ${kusd(ctx.balances.kusd)}`
      : undefined;
  return (
    <div className="close">
      <button type="button" data-testid="close-submit" disabled={sender.busy || blocked !== undefined}
        onClick={() => void sender.run([{ what: `close position ${ctx.state.id}`, ...ctx.keel.engine, functionName: "close", args: [ctx.state.id, ctx.account!] }])}>
        Close position (repay all, return all collateral)
      </button>
      {blocked && <span className="hint"> {blocked}</span>}
    </div>
  );
}

/** The margin-call banner: the deadline, time left, what deposit or repayment clears it, and one click to do it. */
function MarginCallPanel({ ctx, state, deadline, left, now, sender }: { ctx: PlanContext; state: number; deadline: bigint; left: bigint; now: Health; sender: Sender }): React.JSX.Element | null {
  if (state === MarginState.Safe) return null;
  const m = at(ctx);
  // Accrual and σ keep moving until the block: aim 0.1% past the exact amount.
  const repay = repayToClear(ctx.state, m);
  const repayWithMargin = repay + repay / 1000n + 1n < now.debt ? repay + repay / 1000n + 1n : maxUint256;
  const held = [...ctx.state.holdings.keys()][0];
  const asset = held ? assetAt(ctx.keel, held) : undefined;
  const deposit = asset ? depositToClear(ctx.state, m, asset.token) : undefined;
  const depositWithMargin = deposit === undefined ? undefined : deposit + deposit / 1000n + 1n;
  const canRepay = ctx.balances !== undefined && ctx.balances.kusd >= (repayWithMargin === maxUint256 ? now.debt : repayWithMargin);
  const canDeposit = asset !== undefined && depositWithMargin !== undefined && (ctx.balances?.tokens.get(asset.token.toLowerCase()) ?? 0n) >= depositWithMargin;
  const cure = (): void => {
    if (canRepay) {
      void sender.run([{ what: `repay ${repayWithMargin === maxUint256 ? "all" : formatKusd(repayWithMargin) + " kUSD"} to clear the margin call`, ...ctx.keel.engine, functionName: "repay", args: [ctx.state.id, repayWithMargin] }]);
    } else if (canDeposit && asset && depositWithMargin !== undefined) {
      const calls: Call[] = [];
      if ((ctx.balances?.allowances.get(asset.token.toLowerCase()) ?? 0n) < depositWithMargin) {
        calls.push({ what: `approve ${asset.symbol} to the engine`, address: asset.token, abi: erc20Abi, functionName: "approve", args: [ctx.keel.engine.address, depositWithMargin] });
      }
      calls.push({ what: `deposit ${formatFixed(depositWithMargin, asset.decimals)} ${asset.symbol} to clear the margin call`, ...ctx.keel.engine, functionName: "deposit", args: [ctx.state.id, asset.token, depositWithMargin] });
      void sender.run(calls);
    }
  };
  const title = state === MarginState.Called ? "Margin call" : state === MarginState.Liquidatable ? "Liquidatable" : "Below maintenance (HF < 1)";
  return (
    <div className={`banner margin-call state-${MARGIN_STATE_NAMES[state]?.toLowerCase()}`} role="alert" data-testid="margin-call">
      <h2>{title}</h2>
      {deadline > 0n && (
        <p>
          Deadline {new Date(Number(deadline) * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC — time left{" "}
          <strong data-testid="countdown" data-seconds={(left > 0n ? left : 0n).toString()}>{left > 0n ? duration(left) : "none: liquidatable now"}</strong>
        </p>
      )}
      {deadline === 0n && state === MarginState.Callable && <p>Anyone may open a margin call now; you would then have a grace period to cure it.</p>}
      <p>
        Clears it: repay <strong>{formatKusd(repay)} kUSD</strong>
        {asset && deposit !== undefined && <> or deposit <strong>{formatFixed(deposit, asset.decimals, 6)} {asset.symbol}</strong></>}.
      </p>
      <button type="button" data-testid="cure-submit" disabled={sender.busy || (!canRepay && !canDeposit)} onClick={cure}>
        {canRepay ? `Repay ${repayWithMargin === maxUint256 ? "all" : formatKusd(repayWithMargin) + " kUSD"} now` : canDeposit && asset && depositWithMargin !== undefined ? `Deposit ${formatFixed(depositWithMargin, asset.decimals, 6)} ${asset.symbol} now` : "Not enough kUSD or collateral in the wallet"}
      </button>
    </div>
  );
}
