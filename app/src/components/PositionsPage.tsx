/** The account's positions: id, mode, collateral with USD values, debt, HF, initial HF, state, liquidation price. */
import type { Address } from "viem";
import { INFINITE_HEALTH, MARGIN_STATE_NAMES, marginStateAt, MarginState } from "../../../src/math";
import { liquidationPriceFromHealth } from "../../../src/protocol/preview";
import { go } from "../route";
import { chainNow, type Market, type PositionView } from "../chain";
import { useApp, useTick } from "../context";
import { duration, health, kusd, token, usd } from "../format";
import { assetAt } from "../manifest";
import { useMarket, usePositionsOf } from "../queries";
import { useAccount } from "../wallet";

export function PositionsPage({ owner }: { owner?: Address }): React.JSX.Element {
  const account = useAccount();
  const who = owner ?? account.address;
  const market = useMarket();
  const positions = usePositionsOf(who);
  if (!who) {
    return (
      <section>
        <h1>Positions</h1>
        <p>Connect a wallet to see your positions, or open <code>#/account/0x…</code> to see any address's positions read-only.</p>
      </section>
    );
  }
  return (
    <section>
      <h1>Positions {owner ? <small>of {owner} (read-only)</small> : null}</h1>
      {positions.isLoading && <p>Loading…</p>}
      {positions.error && <p className="error">Could not read positions: {positions.error.message.split("\n")[0]}</p>}
      {positions.data && positions.data.length === 0 && (
        <p>
          No positions. <a href="#/open">Open one</a>.
        </p>
      )}
      {positions.data && positions.data.length > 0 && market.data && (
        <table className="positions">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Mode</th>
              <th scope="col">Collateral</th>
              <th scope="col">Debt</th>
              <th scope="col">HF</th>
              <th scope="col">Initial HF</th>
              <th scope="col">State</th>
              <th scope="col">Liquidation price</th>
            </tr>
          </thead>
          <tbody>
            {positions.data.map((p) => (
              <Row key={p.view.id.toString()} view={p.view} deadline={p.deadline} market={market.data} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Row({ view, deadline, market }: { view: PositionView; deadline: bigint; market: Market }): React.JSX.Element {
  const { keel } = useApp();
  const open = (): void => go(`#/position/${view.id}`);
  const nowMs = useTick(1_000);
  const now = chainNow(market, nowMs);
  const state = view.debt === 0n ? MarginState.Safe : marginStateAt(view.hf, deadline, market.criticalHF, now);
  return (
    <tr>
      <td>
        <button type="button" className="link" data-testid={`position-${view.id}`} aria-label={`Open position ${view.id}`} onClick={open}>
          #{view.id.toString()}
        </button>
      </td>
      <td>{view.mode === 0 ? "Isolated" : "Cross"}</td>
      <td>
        {view.assets.length === 0 && "—"}
        {view.assets.map((a, i) => {
          const info = assetAt(keel, a);
          return (
            <div key={a}>
              {token(view.amounts[i] ?? 0n, info?.decimals ?? 18, info?.symbol ?? a)} <span className="muted">({usd(view.assetValues[i] ?? 0n)})</span>
            </div>
          );
        })}
      </td>
      <td>{kusd(view.debt)}</td>
      <td>{view.valued ? health(view.hf) : "unknown"}</td>
      <td>{view.priced ? health(view.hfInitial) : "unknown"}</td>
      <td className={`state-${MARGIN_STATE_NAMES[state].toLowerCase()}`}>
        {view.valued ? MARGIN_STATE_NAMES[state] : "unknown"}
        {!view.priced && <div className="muted">a price feed failed</div>}
        {state === MarginState.Called && <div>{duration(deadline - now)} left</div>}
      </td>
      <td>{isolatedLiquidationPrice(view, market)}</td>
    </tr>
  );
}

/** An isolated position's liquidation price (USD per token), "—" without debt or for a cross position. */
export function isolatedLiquidationPrice(view: PositionView, market: Market): string {
  if (view.mode !== 0 || view.debt === 0n || view.hf === INFINITE_HEALTH || !view.valued) return "—";
  const asset = market.assets.find((a) => a.address.toLowerCase() === view.assets[0]?.toLowerCase());
  if (!asset) return "—";
  return usd(liquidationPriceFromHealth(asset.price, view.hf));
}
