/** The app's frame: header with navigation and wallet, the network prompt, and the screen the hash names. */
import { useEffect, useState } from "react";
import { MarketPage } from "./components/MarketPage";
import { OpenPage } from "./components/OpenPage";
import { PositionPage } from "./components/PositionPage";
import { PositionsPage } from "./components/PositionsPage";
import { StabilityPage } from "./components/StabilityPage";
import { parseRoute } from "./route";
import { NetworkGuard, WalletButton } from "./wallet";

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
          <a href="#/stability" data-testid="nav-stability" aria-current={route.screen === "stability" ? "page" : undefined}>
            Stability
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
        {route.screen === "stability" && <StabilityPage />}
      </main>
    </>
  );
}
