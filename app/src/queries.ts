/** Chain reads as react-query hooks, refreshed every couple of seconds and after every transaction. */
import { useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { type Address, erc20Abi } from "viem";
import { type Market, type PositionDetail, type PositionView, type HistoryEntry, readHistory, readMarket, readPosition, readPositionsOf, readStability, readStabilityAccount, type Stability, type StabilityAccount } from "./chain";
import { useApp } from "./context";

/** How often reads refresh [ms]. */
const REFRESH_MS = 2_000;

export function useMarket(): UseQueryResult<Market> {
  const { reader, keel } = useApp();
  return useQuery({ queryKey: ["market"], queryFn: () => readMarket(reader, keel), refetchInterval: REFRESH_MS });
}

export function usePositionsOf(owner: Address | undefined): UseQueryResult<{ view: PositionView; deadline: bigint }[]> {
  const { reader, keel } = useApp();
  return useQuery({
    queryKey: ["positionsOf", owner],
    enabled: owner !== undefined,
    refetchInterval: REFRESH_MS,
    queryFn: async () => {
      const views = await readPositionsOf(reader, keel, owner!);
      return Promise.all(
        views.map(async (view) => ({
          view,
          deadline: view.debt === 0n ? 0n : await reader.readContract({ ...keel.engine, functionName: "callDeadline", args: [view.id] }),
        })),
      );
    },
  });
}

export function usePosition(id: bigint, market: Market | undefined): UseQueryResult<PositionDetail | null> {
  const { reader, keel } = useApp();
  return useQuery({
    queryKey: ["position", id.toString(), market?.blockTime.toString()],
    enabled: market !== undefined,
    refetchInterval: REFRESH_MS,
    placeholderData: (previous) => previous,
    queryFn: async () => (await readPosition(reader, keel, market!, id)) ?? null,
  });
}

export function useHistory(id: bigint): UseQueryResult<HistoryEntry[]> {
  const { reader, keel } = useApp();
  return useQuery({ queryKey: ["history", id.toString()], queryFn: () => readHistory(reader, keel, id), refetchInterval: 3 * REFRESH_MS });
}

/** The account's balances: native ether, kUSD and every listed asset (token decimals), keyed by address (lower case). */
export interface Balances {
  eth: bigint;
  kusd: bigint;
  tokens: Map<string, bigint>;
  /** Allowance of each token to the engine. */
  allowances: Map<string, bigint>;
}

export function useBalances(account: Address | undefined): UseQueryResult<Balances> {
  const { reader, keel } = useApp();
  return useQuery({
    queryKey: ["balances", account],
    enabled: account !== undefined,
    refetchInterval: REFRESH_MS,
    queryFn: async () => {
      const who = account!;
      const [eth, kusdBalance, tokens] = await Promise.all([
        reader.getBalance({ address: who }),
        reader.readContract({ ...keel.kusd, functionName: "balanceOf", args: [who] }),
        Promise.all(
          keel.assets.map(async (a) => {
            const [balance, allowance] = await Promise.all([
              reader.readContract({ address: a.token, abi: erc20Abi, functionName: "balanceOf", args: [who] }),
              reader.readContract({ address: a.token, abi: erc20Abi, functionName: "allowance", args: [who, keel.engine.address] }),
            ]);
            return [a.token.toLowerCase(), balance, allowance] as const;
          }),
        ),
      ]);
      return {
        eth,
        kusd: kusdBalance,
        tokens: new Map(tokens.map(([t, b]) => [t, b])),
        allowances: new Map(tokens.map(([t, , a]) => [t, a])),
      };
    },
  });
}

/** The PSM and the savings vault; disabled when the deployment has none. */
export function useStability(): UseQueryResult<Stability> {
  const { reader, keel } = useApp();
  return useQuery({ queryKey: ["stability"], enabled: keel.peg !== undefined, refetchInterval: REFRESH_MS, queryFn: () => readStability(reader, keel.peg!) });
}

export function useStabilityAccount(account: Address | undefined, gem: Address | undefined): UseQueryResult<StabilityAccount> {
  const { reader, keel } = useApp();
  return useQuery({
    queryKey: ["stabilityAccount", account, gem],
    enabled: account !== undefined && gem !== undefined && keel.peg !== undefined,
    refetchInterval: REFRESH_MS,
    queryFn: () => readStabilityAccount(reader, keel, keel.peg!, gem!, account!),
  });
}

/** Refreshes every read at once (after a transaction). */
export function useRefresh(): () => Promise<void> {
  const client = useQueryClient();
  return () => client.invalidateQueries();
}
