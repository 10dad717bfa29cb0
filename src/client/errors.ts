/**
 * Failures as people read them: the first line of any error, and the Keel custom error a call or transaction
 * reverted with, decoded by name from every contract's ABI. Shared by the keeper, the CLI and the tests.
 */
import { Interface } from "ethers";
import {
  FlashLiquidator__factory,
  KeelUSD__factory,
  PriceOracle__factory,
  RiskModel__factory,
  VaultEngine__factory,
  VolatilityOracle__factory,
} from "../../typechain-types";

/** The first line of an error's message, at most 200 characters: what a log line or a table cell can hold. */
export const shortMessage = (e: unknown): string => `${(e as Error)?.message ?? e}`.split("\n")[0]!.slice(0, 200);

/** Every custom error a Keel transaction can revert with, so reverts are reported by name. */
const ERRORS = new Interface(
  [
    VaultEngine__factory.abi,
    FlashLiquidator__factory.abi,
    VolatilityOracle__factory.abi,
    PriceOracle__factory.abi,
    RiskModel__factory.abi,
    KeelUSD__factory.abi,
  ]
    .flat()
    .filter((f, i, all) => f.type === "error" && all.findIndex((g) => g.type === "error" && g.name === f.name) === i),
);

/** A decoded revert: the custom error's name and arguments, or the raw message. */
export function revertReason(e: unknown): string {
  const decoded = decodeRevert(e);
  if (decoded) return `${decoded.name}(${decoded.args.map(String).join(", ")})`;
  const data = findRevertData(e);
  return data && data !== "0x" ? `revert ${data.slice(0, 74)}` : shortMessage(e);
}

/** The Keel custom error a failed call or transaction reverted with, if it is one of ours. */
export function decodeRevert(e: unknown): { name: string; args: readonly unknown[] } | undefined {
  const data = findRevertData(e);
  if (!data || data === "0x") return undefined;
  try {
    const parsed = ERRORS.parseError(data);
    return parsed ? { name: parsed.name, args: [...parsed.args] } : undefined;
  } catch {
    return undefined; // not one of ours
  }
}

function findRevertData(e: unknown): string | undefined {
  let cur = e as { data?: unknown; error?: unknown; info?: { error?: { data?: unknown } } } | undefined;
  for (let depth = 0; cur && depth < 5; depth++) {
    if (typeof cur.data === "string" && cur.data.startsWith("0x")) return cur.data;
    const infoData = cur.info?.error?.data;
    if (typeof infoData === "string" && infoData.startsWith("0x")) return infoData;
    cur = (cur.error ?? undefined) as typeof cur;
  }
  return undefined;
}

