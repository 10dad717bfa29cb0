/**
 * The config file `npm run deploy` takes: a JSON object with the chain it is meant for (`chainId`) and a Keel config
 * in human units (src/client/config.ts), whole or as changes to a named base (`"extends": "local"`: objects merge
 * key by key, arrays and values replace). Unlike the in-process default, a deployment names who governs: the
 * guardian, the timelock's proposers and its executors, none of them the deployer (the deployer keeps no power).
 */
import { readFileSync } from "node:fs";
import { getAddress } from "ethers";
import { ConfigError, parseKeelConfig, type KeelConfig, type RawKeelConfig } from "../src/client/config";
import { localConfig } from "./networks/local";

/** The configs a deployment file may extend. */
const BASES: Record<string, RawKeelConfig> = { local: localConfig };

export interface DeploymentFile {
  path: string;
  chainId: number;
  /** The config as written (what the journal keeps and compares). */
  raw: RawKeelConfig;
  cfg: KeelConfig;
  governance: { guardian: string; proposers: string[]; executors: string[] };
}

export function readDeploymentFile(path: string): DeploymentFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the deployment config (${(e as Error).message})`, { cause: e });
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ConfigError(`${path}: not a JSON object`);
  const { chainId, extends: base, ...own } = json as { chainId?: unknown; extends?: unknown } & Record<string, unknown>;
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new ConfigError(`${path}: chainId: expected the chain id this config is for (a positive whole number), got ${JSON.stringify(chainId)}`);
  }
  if (base !== undefined && (typeof base !== "string" || !Object.hasOwn(BASES, base))) {
    throw new ConfigError(`${path}: extends: expected one of ${Object.keys(BASES).join(", ")}, got ${JSON.stringify(base)}`);
  }
  const raw = base === undefined ? own : merged(BASES[base as string], own);
  let cfg: KeelConfig;
  try {
    cfg = parseKeelConfig(raw as RawKeelConfig);
  } catch (e) {
    throw new ConfigError(`${path}: ${(e as Error).message}`, { cause: e });
  }
  const { guardian, proposers, executors } = cfg.governance;
  if (!guardian || !proposers?.length || !executors?.length) {
    throw new ConfigError(
      `${path}: governance.guardian, governance.proposers and governance.executors must be given: after the hand-over they govern, and the deployer keeps no role`,
    );
  }
  return {
    path,
    chainId,
    raw: raw as RawKeelConfig,
    cfg,
    governance: { guardian: getAddress(guardian), proposers: proposers.map((a) => getAddress(a)), executors: executors.map((a) => getAddress(a)) },
  };
}

/** Refuses a config that would leave a role to the deployer. */
export function checkDeployerHoldsNothing(file: DeploymentFile, deployer: string): void {
  const { guardian, proposers, executors } = file.governance;
  const roles = [
    ...(guardian === deployer ? ["governance.guardian"] : []),
    ...(proposers.includes(deployer) ? ["governance.proposers"] : []),
    ...(executors.includes(deployer) ? ["governance.executors"] : []),
  ];
  if (roles.length > 0) {
    throw new ConfigError(`${file.path}: ${roles.join(", ")} name the deployer ${deployer}; after the hand-over the deployer must hold no role`);
  }
}

/** `over` laid on `base`: objects merge key by key; arrays and plain values replace. */
function merged(base: unknown, over: unknown): unknown {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isRecord(base) || !isRecord(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merged(base[k], v);
  return out;
}

/** Where a field of two JSON values differs: `path: old → new`, one line per leaf that changed. */
export function jsonDifferences(before: unknown, after: unknown, path = ""): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => jsonDifferences(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [`${path || "(root)"}: ${show(before)} → ${show(after)}`];
}

const show = (v: unknown): string => (v === undefined ? "(absent)" : JSON.stringify(v));
