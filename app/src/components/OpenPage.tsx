/** Opens an isolated position (one asset, fixed) or a cross position (a basket), then goes to it. */
import { useState } from "react";
import { parseEventLogs, zeroAddress } from "viem";
import { go } from "../route";
import { useApp } from "../context";
import { useAccount, TxStatusLine, useSender } from "../wallet";

export function OpenPage(): React.JSX.Element {
  const { keel } = useApp();
  const { address } = useAccount();
  const sender = useSender();
  const [mode, setMode] = useState<"isolated" | "cross">("isolated");
  const [asset, setAsset] = useState(keel.assets[0]?.token ?? "");
  const submit = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault();
    const symbol = keel.assets.find((a) => a.token === asset)?.symbol ?? asset;
    const what = mode === "cross" ? "open a cross position" : `open an isolated ${symbol} position`;
    const receipts = await sender.run([{ what, ...keel.engine, functionName: "open", args: [mode === "cross" ? 1 : 0, mode === "cross" ? zeroAddress : asset, address!] }]);
    const opened = receipts && parseEventLogs({ abi: keel.engine.abi, logs: receipts.flatMap((r) => r.logs), eventName: "PositionOpened" })[0];
    if (opened) go(`#/position/${opened.args.id}`);
  };
  return (
    <section>
      <h1>Open a position</h1>
      <form className="action open" onSubmit={(e) => void submit(e)} aria-label="Open a position">
        <label htmlFor="open-mode">Mode</label>
        <select id="open-mode" data-testid="open-mode" value={mode} onChange={(e) => setMode(e.target.value === "cross" ? "cross" : "isolated")}>
          <option value="isolated">Isolated: one asset, its own fee and debt ceiling</option>
          <option value="cross">Cross: a basket of assets backing one debt (diversification lowers the margin)</option>
        </select>
        <label htmlFor="open-asset">Asset</label>
        <select id="open-asset" data-testid="open-asset" value={asset} disabled={mode === "cross"} onChange={(e) => setAsset(e.target.value)}>
          {keel.assets.map((a) => (
            <option key={a.token} value={a.token}>{a.symbol}</option>
          ))}
        </select>
        <button type="submit" data-testid="open-submit" disabled={!address || sender.busy}>
          {address ? "Open" : "Connect a wallet to open"}
        </button>
      </form>
      <TxStatusLine status={sender.status} />
    </section>
  );
}
