/** The app's frame: header with navigation and wallet, the network prompt, and the screen the hash names. */
import { useEffect, useState } from "react";
import { isAddress, type Address } from "viem";
import { MarketPage } from "./components/MarketPage";
import { OpenPage } from "./components/OpenPage";
import { PositionPage } from "./components/PositionPage";
import { PositionsPage } from "./components/PositionsPage";
import { NetworkGuard, WalletButton } from "./wallet";

export type Route =
  | { screen: "positions"; owner?: Address }
  | { screen: "position"; id: bigint }
  | { screen: "open" }
  | { screen: "market" };

/** `#/`, `#/account/0x…`, `#/position/7`, `#/open`, `#/market`. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/");
  if (parts[0] === "position" && parts[1] && /^\d+$/.test(parts[1])) return { screen: "position", id: BigInt(parts[1]) };
  if (parts[0] === "account" && parts[1] && isAddress(parts[1])) return { screen: "positions", owner: parts[1] };
  if (parts[0] === "open") return { screen: "open" };
  if (parts[0] === "market") return { screen: "market" };
  return { screen: "positions" };
}

export const go = (hash: string): void => {
  window.location.hash = hash;
};

export function App(): React.JSX.Element {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onHash = (): void => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  return (
    <>
      <header>
        <a className="brand" href="#/">
          Keel
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.screen === "positions" ? "page" : undefined}>
            Positions
          </a>
          <a href="#/open" aria-current={route.screen === "open" ? "page" : undefined}>
            Open
          </a>
          <a href="#/market" aria-current={route.screen === "market" ? "page" : undefined}>
            Market
          </a>
        </nav>
        <WalletButton />
      </header>
      <NetworkGuard />
      <main>
        {route.screen === "positions" && <PositionsPage owner={route.owner} />}
        {route.screen === "position" && <PositionPage key={route.id.toString()} id={route.id} />}
        {route.screen === "open" && <OpenPage />}
        {route.screen === "market" && <MarketPage />}
      </main>
    </>
  );
}
