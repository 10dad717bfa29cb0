/**
 * Boot: read the settings from the URL, fetch the deployment manifest, then render the app with a read client
 * (the `?rpc=` URL, else the injected wallet, else the chain's default RPC) and the wagmi wallet config.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createPublicClient, custom, type EIP1193Provider, http, type PublicClient } from "viem";
import { WagmiProvider } from "wagmi";
import { App } from "./App";
import { type AppSettings, Ctx } from "./context";
import { loadManifest } from "./manifest";
import { chainOf, defaultRpc, wagmiConfigFor } from "./wallet";
import "./style.css";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

function settingsFromUrl(): AppSettings {
  const q = new URLSearchParams(window.location.search);
  const deployment = q.get("deployment") ?? "localhost";
  const rpc = q.get("rpc") ?? undefined;
  return { deployment: /^[A-Za-z0-9_-]+$/.test(deployment) ? deployment : "localhost", ...(rpc ? { rpc } : {}) };
}

/**
 * Reads through the wallet while it is on the deployment's chain, else through the chain's default RPC (a wallet
 * on another network would answer for the wrong chain).
 */
function walletOrRpc(wallet: EIP1193Provider, chainId: number, rpc: string): { request: EIP1193Provider["request"] } {
  let walletChain: number | undefined;
  wallet.on("chainChanged", (id: string) => {
    walletChain = Number(id);
  });
  const fallback = http(rpc)({});
  return {
    request: (async (args: { method: string; params?: unknown }) => {
      walletChain ??= Number(await wallet.request({ method: "eth_chainId" }));
      if (walletChain === chainId || !rpc) return wallet.request(args as never);
      return fallback.request(args as never);
    }) as EIP1193Provider["request"],
  };
}

async function boot(): Promise<void> {
  const root = createRoot(document.getElementById("root")!);
  const settings = settingsFromUrl();
  try {
    const keel = await loadManifest(`deployments/${settings.deployment}.json`);
    const rpc = defaultRpc(keel.chainId, settings.rpc);
    const chain = chainOf(keel, rpc);
    const transport = settings.rpc ? http(settings.rpc) : window.ethereum ? custom(walletOrRpc(window.ethereum, keel.chainId, rpc)) : http(rpc);
    const reader = createPublicClient({ chain, transport, pollingInterval: 1_000 }) as PublicClient;
    const queries = new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } });
    root.render(
      <StrictMode>
        <WagmiProvider config={wagmiConfigFor(chain)}>
          <QueryClientProvider client={queries}>
            <Ctx.Provider value={{ keel, chain, reader, settings }}>
              <App />
            </Ctx.Provider>
          </QueryClientProvider>
        </WagmiProvider>
      </StrictMode>,
    );
  } catch (e) {
    root.render(
      <main>
        <h1>Keel</h1>
        <p role="alert" className="error">
          {(e as Error).message}
        </p>
        <p>Start a local node with <code>npm run node</code>, or open the app with <code>?deployment=&lt;network&gt;</code>.</p>
      </main>,
    );
  }
}

void boot();
