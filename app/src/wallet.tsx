/**
 * The wallet: injected EIP-1193 wallets found by EIP-6963 discovery (or window.ethereum), the connected account,
 * wrong-network detection with a switch/add-network prompt, and the sender every form uses.
 */
import { useState } from "react";
import { type Address, type Chain, defineChain, type TransactionReceipt, walletActions } from "viem";
import { createConfig, http, useConfig, useConnect, useConnection, useConnectors, useDisconnect, useSwitchChain } from "wagmi";
import { getConnectorClient } from "wagmi/actions";
import { injected } from "wagmi/connectors";
import { useApp } from "./context";
import { shortAddress } from "./format";
import type { Keel } from "./manifest";
import { useRefresh } from "./queries";
import { type Call, explainError, send, type TxStatus } from "./tx";

/** The default RPC of a chain the manifest names, for the add-network prompt and reads without a wallet. */
export function defaultRpc(chainId: number, override?: string): string {
  if (override) return override;
  return chainId === 31337 ? "http://127.0.0.1:8545" : "";
}

export function chainOf(keel: Keel, rpc: string): Chain {
  return defineChain({
    id: keel.chainId,
    name: keel.chainId === 31337 ? "Keel local (Hardhat)" : `Keel chain ${keel.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: rpc ? [rpc] : [] } },
    ...(keel.explorer ? { blockExplorers: { default: { name: "Explorer", url: keel.explorer } } } : {}),
  });
}

export function wagmiConfigFor(chain: Chain): ReturnType<typeof createConfig> {
  return createConfig({
    chains: [chain],
    connectors: [injected()],
    multiInjectedProviderDiscovery: true,
    transports: { [chain.id]: http(chain.rpcUrls.default.http[0]) },
  });
}

/** The connected account on the deployment's chain; undefined when not connected or on another chain. */
export function useAccount(): { address?: Address; wrongChain: boolean } {
  const { keel } = useApp();
  const c = useConnection();
  if (c.status !== "connected" || !c.address) return { wrongChain: false };
  if (c.chainId !== keel.chainId) return { wrongChain: true };
  return { address: c.address, wrongChain: false };
}

export function WalletButton(): React.JSX.Element {
  const c = useConnection();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  // Wallets that announced themselves by EIP-6963, by name; the generic window.ethereum only when none did.
  const announced = connectors.filter((k) => k.id !== "injected");
  const ordered = announced.length > 0 ? announced : connectors;
  if (c.status === "connected" && c.address) {
    return (
      <div className="wallet">
        <span data-testid="account" title={c.address}>
          {c.address}
        </span>
        <button type="button" onClick={() => disconnect.mutate()}>
          Disconnect
        </button>
      </div>
    );
  }
  const first = ordered[0];
  return (
    <div className="wallet">
      <button type="button" data-testid="connect" disabled={!first || c.status === "connecting"} onClick={() => first && connect.mutate({ connector: first })}>
        {c.status === "connecting" ? "Connecting…" : first && first.id !== "injected" ? `Connect ${first.name}` : "Connect wallet"}
      </button>
      {ordered.slice(1).map((k) => (
        <button type="button" key={k.uid} onClick={() => connect.mutate({ connector: k })}>
          {k.name}
        </button>
      ))}
      {connect.error && <span className="error" role="alert">{connect.error.message.split("\n")[0]}</span>}
    </div>
  );
}

/** Shown while the wallet is on another chain than the deployment's: a switch (or add) network prompt. */
export function NetworkGuard(): React.JSX.Element | null {
  const { keel } = useApp();
  const c = useConnection();
  const switchChain = useSwitchChain();
  if (c.status !== "connected" || c.chainId === keel.chainId) return null;
  return (
    <div className="banner warn" role="alert" data-testid="wrong-network">
      <strong>Wrong network.</strong> Your wallet is on chain {c.chainId}; this Keel deployment is on chain {keel.chainId}.{" "}
      <button type="button" data-testid="switch-network" onClick={() => switchChain.mutate({ chainId: keel.chainId })}>
        Switch to chain {keel.chainId}
      </button>
      {switchChain.error && <span className="error"> {switchChain.error.message.split("\n")[0]}</span>}
    </div>
  );
}

/** Sends calls through the connected wallet and keeps the status of the last one for the page. */
export function useSender(): { status: TxStatus; run: (calls: readonly Call[]) => Promise<TransactionReceipt[] | undefined>; refuse: (message: string) => void; busy: boolean } {
  const { reader, chain } = useApp();
  const config = useConfig();
  const c = useConnection();
  const refresh = useRefresh();
  const [status, setStatus] = useState<TxStatus>({ phase: "idle" });
  const busy = status.phase === "signing" || status.phase === "pending";
  const run = async (calls: readonly Call[]): Promise<TransactionReceipt[] | undefined> => {
    if (c.status !== "connected" || !c.address) {
      setStatus({ phase: "refused", message: "connect a wallet first" });
      return undefined;
    }
    if (c.chainId !== chain.id) {
      setStatus({ phase: "refused", message: `switch the wallet to chain ${chain.id} first` });
      return undefined;
    }
    try {
      const wallet = (await getConnectorClient(config, { chainId: chain.id })).extend(walletActions);
      return await send(reader, wallet, c.address, chain, calls, setStatus);
    } catch (e) {
      setStatus({ phase: "failed", what: calls[0]?.what ?? "transaction", message: explainError(e) });
      return undefined;
    } finally {
      await refresh();
    }
  };
  return { status, run, refuse: (message) => setStatus({ phase: "refused", message }), busy };
}

export function TxStatusLine({ status }: { status: TxStatus }): React.JSX.Element {
  const { keel } = useApp();
  const link = (hash: string): React.JSX.Element =>
    keel.explorer ? (
      <a href={`${keel.explorer}/tx/${hash}`} target="_blank" rel="noreferrer">
        {shortAddress(hash)}
      </a>
    ) : (
      <code title={hash}>{shortAddress(hash)}</code>
    );
  const text = ((): React.JSX.Element | string => {
    switch (status.phase) {
      case "idle":
        return "";
      case "refused":
        return `refused, nothing sent: ${status.message}`;
      case "signing":
        return `${status.what}: waiting for the wallet…`;
      case "pending":
        return <>{status.what}: pending {link(status.hash)}</>;
      case "confirmed":
        return <>{status.what}: confirmed in block {status.blockNumber.toString()} {link(status.hash)}</>;
      case "failed":
        return <>{status.what}: failed: {status.message} {status.hash ? link(status.hash) : null}</>;
    }
  })();
  return (
    <div className={`tx-status ${status.phase}`} data-testid="tx-status" data-phase={status.phase} role="status" aria-live="polite">
      {text}
    </div>
  );
}
