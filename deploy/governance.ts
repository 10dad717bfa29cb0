/**
 * Keel's governance wiring: one AccessManager is the authority of every governed function, and its admin is a
 * TimelockController. Roles and which functions each one may call are defined here, once.
 */
import { id as keccakId, type BytesLike, type Interface, type Signer, ZeroHash } from "ethers";
import {
  KeelAccessManager__factory,
  KeelUSD__factory,
  PegStabilityModule__factory,
  PriceOracle__factory,
  RiskModel__factory,
  SavingsKUSD__factory,
  SurplusBuffer__factory,
  VaultEngine__factory,
  VolatilityOracle__factory,
} from "../typechain-types";
import type { Keel } from "./keel";

/** AccessManager role ids. ADMIN (0) is AccessManager's built-in admin role. */
export const ROLES = {
  ADMIN: 0n,
  /** Risk parameters, listings, fees, ceilings, caps, flash-mint terms: the timelock. */
  RISK: 1n,
  /** Pausing opening and borrowing, without delay: a guardian. */
  GUARDIAN: 2n,
  /** Price feed configuration: the timelock, and the engine for listings. */
  ORACLE: 3n,
  /** Drawing savings interest from the surplus buffer: the savings vault. */
  SAVINGS: 4n,
} as const;

/** The governed contracts' addresses, by their deployKeel names. */
export type Governed = Record<"engine" | "risk" | "vol" | "oracle" | "kusd" | "surplus" | "psm" | "savings" | "timelock", string>;

/** A deployment's governed contracts' addresses. */
export const governedAddresses = (keel: Keel): Governed => ({
  engine: keel.engine.target as string,
  risk: keel.risk.target as string,
  vol: keel.vol.target as string,
  oracle: keel.oracle.target as string,
  kusd: keel.kusd.target as string,
  surplus: keel.surplus.target as string,
  psm: keel.psm.target as string,
  savings: keel.savings.target as string,
  timelock: keel.timelock.target as string,
});

/** Which role may call which governed function of which contract. Unlisted restricted functions need ADMIN. */
export function permissions(at: Governed): { target: string; role: bigint; functions: string[] }[] {
  return [
    {
      target: at.engine,
      role: ROLES.RISK,
      functions: [
        "listAsset",
        "setStabilityFee",
        "setDebtCeiling",
        "setSupplyCap",
        "setGlobalDebtCeiling",
        "setDust",
        "setLiquidationParams",
      ],
    },
    { target: at.engine, role: ROLES.GUARDIAN, functions: ["setPaused"] },
    { target: at.risk, role: ROLES.RISK, functions: ["setAssetRisk", "setCorrelation", "setCorrelations", "setConfidence"] },
    { target: at.vol, role: ROLES.RISK, functions: ["setParams"] },
    { target: at.oracle, role: ROLES.ORACLE, functions: ["setFeed"] },
    { target: at.oracle, role: ROLES.RISK, functions: ["setSequencer"] },
    { target: at.kusd, role: ROLES.RISK, functions: ["setFlashFee", "setFlashCap", "setPegModule"] },
    { target: at.psm, role: ROLES.RISK, functions: ["setFees", "setDebtCeiling", "setFreezeThreshold"] },
    { target: at.psm, role: ROLES.GUARDIAN, functions: ["setSellGemPaused"] },
    { target: at.savings, role: ROLES.RISK, functions: ["setSavingsRate"] },
    { target: at.surplus, role: ROLES.SAVINGS, functions: ["payInterest"] },
  ];
}

/** Who must hold each AccessManager role once the deployment is handed over (the role audit's expectation). */
export function expectedRoleHolders(at: Governed, guardian: string): Record<keyof typeof ROLES, string[]> {
  return { ADMIN: [at.timelock], RISK: [at.timelock], GUARDIAN: [guardian], ORACLE: [at.timelock, at.engine], SAVINGS: [at.savings] };
}

/** One AccessManager call of the deployment: a stable id (the journal's key), what it does, its calldata. */
export interface GovernanceCall {
  id: string;
  label: string;
  data: string;
}

const manager = KeelAccessManager__factory.createInterface();
const INTERFACES: Record<string, Interface> = {
  engine: VaultEngine__factory.createInterface(),
  risk: RiskModel__factory.createInterface(),
  vol: VolatilityOracle__factory.createInterface(),
  oracle: PriceOracle__factory.createInterface(),
  kusd: KeelUSD__factory.createInterface(),
  surplus: SurplusBuffer__factory.createInterface(),
  psm: PegStabilityModule__factory.createInterface(),
  savings: SavingsKUSD__factory.createInterface(),
};
const roleName = (role: bigint): string => Object.entries(ROLES).find(([, r]) => r === role)![0];

/**
 * The AccessManager calls that wire governance, sent while the deployer is still admin: every governed function
 * assigned to its role, the roles labelled and granted (the timelock, the engine for listings' feeds, the guardian),
 * and RISK to the deployer so it can list the assets (taken back by `handOverCalls`).
 */
export function governanceCalls(at: Governed, guardian: string, deployer: string): GovernanceCall[] {
  const calls: GovernanceCall[] = [];
  for (const p of permissions(at)) {
    const name = Object.keys(INTERFACES).find((k) => at[k as keyof Governed] === p.target)!;
    const selectors = p.functions.map((f) => {
      const fragment = INTERFACES[name]!.getFunction(f);
      if (!fragment) throw new Error(`governance: ${f} is not a function of ${name}`);
      return fragment.selector;
    });
    calls.push({
      id: `roles:${name}:${roleName(p.role)}`,
      label: `${name}: ${p.functions.length === 1 ? p.functions[0] : `${p.functions.length} functions`} → ${roleName(p.role)}`,
      data: manager.encodeFunctionData("setTargetFunctionRole", [p.target, selectors, p.role]),
    });
  }
  for (const [name, role] of Object.entries(ROLES)) {
    if (role !== ROLES.ADMIN) calls.push({ id: `label:${name}`, label: `label role ${role} ${name}`, data: manager.encodeFunctionData("labelRole", [role, name]) });
  }
  const grants: [keyof typeof ROLES, string, string][] = [
    ["ADMIN", at.timelock, "timelock"],
    ["RISK", at.timelock, "timelock"],
    ["ORACLE", at.timelock, "timelock"],
    ["ORACLE", at.engine, "engine"],
    ["GUARDIAN", guardian, "guardian"],
    ["SAVINGS", at.savings, "savings"],
    ["RISK", deployer, "deployer"],
  ];
  for (const [role, account, who] of grants) {
    calls.push({ id: `grant:${role}:${who}`, label: `grant ${role} to the ${who}`, data: manager.encodeFunctionData("grantRole", [ROLES[role], account, 0]) });
  }
  return calls;
}

/** The last calls of a deployment: the deployer gives back RISK and renounces ADMIN; the timelock governs alone. */
export function handOverCalls(deployer: string): GovernanceCall[] {
  return [
    { id: "revoke:RISK:deployer", label: "revoke RISK from the deployer", data: manager.encodeFunctionData("revokeRole", [ROLES.RISK, deployer]) },
    { id: "renounce:ADMIN:deployer", label: "the deployer renounces ADMIN", data: manager.encodeFunctionData("renounceRole", [ROLES.ADMIN, deployer]) },
  ];
}

/** A timelock operation: one call, identified by target, data and salt. */
export interface TimelockCall {
  target: string;
  data: BytesLike;
  salt?: string;
}

const saltOf = (call: TimelockCall): string => (call.salt ? keccakId(call.salt) : ZeroHash);

/** Proposes `call` to the timelock; it can execute after the timelock's delay. */
export async function schedule(keel: Keel, proposer: Signer, call: TimelockCall): Promise<void> {
  const delay = await keel.timelock.getMinDelay();
  await (await keel.timelock.connect(proposer).schedule(call.target, 0, call.data, ZeroHash, saltOf(call), delay)).wait();
}

/** Executes a scheduled `call` whose delay has passed. */
export async function execute(keel: Keel, executor: Signer, call: TimelockCall): Promise<void> {
  await (await keel.timelock.connect(executor).execute(call.target, 0, call.data, ZeroHash, saltOf(call))).wait();
}
