/** The app's screens as URL hashes, so any position or account can be linked and read without a wallet. */
import { isAddress, type Address } from "viem";

export type Route =
  | { screen: "positions"; owner?: Address }
  | { screen: "position"; id: bigint }
  | { screen: "open" }
  | { screen: "market" }
  | { screen: "stability" };

/** `#/`, `#/account/0x…`, `#/position/7`, `#/open`, `#/market`, `#/stability`. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/");
  if (parts[0] === "position" && parts[1] && /^\d+$/.test(parts[1])) return { screen: "position", id: BigInt(parts[1]) };
  if (parts[0] === "account" && parts[1] && isAddress(parts[1])) return { screen: "positions", owner: parts[1] };
  if (parts[0] === "open") return { screen: "open" };
  if (parts[0] === "market") return { screen: "market" };
  if (parts[0] === "stability") return { screen: "stability" };
  return { screen: "positions" };
}

export const go = (hash: string): void => {
  window.location.hash = hash;
};
