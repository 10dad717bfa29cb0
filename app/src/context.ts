/** What every screen needs: the deployment, the read client, the chain, and the app's URL settings. */
import { createContext, useContext, useEffect, useState } from "react";
import type { Chain, PublicClient } from "viem";
import type { Keel } from "./manifest";

export interface AppSettings {
  /** `?deployment=` (default "localhost"): which deployments/<name>.json to read. */
  deployment: string;
  /** `?rpc=`: a read RPC; by default reads go through the wallet, or to the chain's default RPC without one. */
  rpc?: string;
}

export interface AppContext {
  keel: Keel;
  chain: Chain;
  reader: PublicClient;
  settings: AppSettings;
}

export const Ctx = createContext<AppContext | undefined>(undefined);

export function useApp(): AppContext {
  const c = useContext(Ctx);
  if (!c) throw new Error("useApp outside the app");
  return c;
}

/** The browser clock [ms], updated every `ms` (countdowns, the preview's block time). */
export function useTick(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
