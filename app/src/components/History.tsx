/** A position's history from the engine's events (chunked log queries, no indexer), amounts in human units. */
import { formatFixed } from "../../../src/units";
import { useApp } from "../context";
import { kusd, token } from "../format";
import { assetAt } from "../manifest";
import { useHistory } from "../queries";

export function History({ id }: { id: bigint }): React.JSX.Element {
  const { keel } = useApp();
  const history = useHistory(id);
  const held = new Map<string, bigint>();
  let normDebt = 0n;
  const rows = (history.data ?? []).map((e, i) => {
    let detail = "";
    const info = e.asset ? assetAt(keel, e.asset) : undefined;
    if (e.collateral !== undefined && info) {
      const before = held.get(info.token) ?? 0n;
      const change = e.collateral - before;
      held.set(info.token, e.collateral);
      if (change !== 0n) detail = `${change > 0n ? "+" : "−"}${token(change > 0n ? change : -change, info.decimals, info.symbol)} (now ${token(e.collateral, info.decimals, info.symbol)})`;
    }
    if (e.normDebt !== undefined) {
      const change = e.normDebt - normDebt;
      normDebt = e.normDebt;
      if (e.kusd !== undefined) detail += `${detail ? "; " : ""}${e.what === "borrow" ? "borrowed" : "repaid"} ${kusd(e.kusd)}`;
      else if (change !== 0n) detail += `${detail ? "; " : ""}normalized debt ${change > 0n ? "+" : "−"}${formatFixed(change > 0n ? change : -change, 18, 2)}`;
    }
    if (e.what === "opened") detail = info ? `isolated ${info.symbol}` : "cross";
    if (e.what === "liquidation" && info) detail = `repaid ${kusd(e.repaid ?? 0n)}, seized ${token(e.seized ?? 0n, info.decimals, info.symbol)}`;
    if (e.what === "margin call") detail = `deadline ${new Date(Number(e.deadline ?? 0n) * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC`;
    return (
      <tr key={`${e.txHash}-${i}`}>
        <td>{e.blockNumber.toString()}</td>
        <td>{e.what}</td>
        <td>{detail}</td>
        <td>{keel.explorer ? <a href={`${keel.explorer}/tx/${e.txHash}`} target="_blank" rel="noreferrer">{e.txHash.slice(0, 10)}…</a> : <code>{e.txHash.slice(0, 10)}…</code>}</td>
      </tr>
    );
  });
  return (
    <section className="history">
      <h2>History</h2>
      {history.isLoading && <p>Loading…</p>}
      {history.error && <p className="error">Could not read the history: {history.error.message.split("\n")[0]}</p>}
      {history.data && (
        <table data-testid="history">
          <thead>
            <tr>
              <th scope="col">Block</th>
              <th scope="col">Event</th>
              <th scope="col">Amounts</th>
              <th scope="col">Transaction</th>
            </tr>
          </thead>
          <tbody>{rows.reverse()}</tbody>
        </table>
      )}
    </section>
  );
}
