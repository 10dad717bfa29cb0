/**
 * Keel's governance wiring: one AccessManager is the authority of every governed function, and its admin is a
 * TimelockController. Roles and which functions each one may call are defined here, once.
 */
import { id as keccakId, type BaseContract, type BytesLike, type Signer, ZeroHash } from "ethers";
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
} as const;

/** Which role may call which governed function of which contract. Unlisted restricted functions need ADMIN. */
export function permissions(keel: Keel): { target: string; role: bigint; functions: string[] }[] {
  return [
    {
      target: keel.engine.target as string,
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
    { target: keel.engine.target as string, role: ROLES.GUARDIAN, functions: ["setPaused"] },
    { target: keel.risk.target as string, role: ROLES.RISK, functions: ["setAssetRisk", "setCorrelation", "setCorrelations", "setConfidence"] },
    { target: keel.vol.target as string, role: ROLES.RISK, functions: ["setParams"] },
    { target: keel.oracle.target as string, role: ROLES.ORACLE, functions: ["setFeed"] },
    { target: keel.oracle.target as string, role: ROLES.RISK, functions: ["setSequencer"] },
    { target: keel.kusd.target as string, role: ROLES.RISK, functions: ["setFlashFee", "setFlashCap"] },
  ];
}

/** Assigns every governed function to its role and grants the roles. Called by deployKeel while the deployer is admin. */
export async function grantRoles(keel: Keel, guardian: string): Promise<void> {
  const am = keel.accessManager;
  const contracts: BaseContract[] = [keel.engine, keel.risk, keel.vol, keel.oracle, keel.kusd];
  for (const p of permissions(keel)) {
    const c = contracts.find((x) => x.target === p.target)!;
    const selectors = p.functions.map((f) => {
      const fragment = c.interface.getFunction(f);
      if (!fragment) throw new Error(`governance: ${f} is not a function of ${p.target}`);
      return fragment.selector;
    });
    await (await am.setTargetFunctionRole(p.target, selectors, p.role)).wait();
  }
  for (const [name, role] of Object.entries(ROLES)) {
    if (role !== ROLES.ADMIN) await (await am.labelRole(role, name)).wait();
  }
  const timelock = keel.timelock.target as string;
  await (await am.grantRole(ROLES.ADMIN, timelock, 0)).wait();
  await (await am.grantRole(ROLES.RISK, timelock, 0)).wait();
  await (await am.grantRole(ROLES.ORACLE, timelock, 0)).wait();
  await (await am.grantRole(ROLES.ORACLE, keel.engine.target as string, 0)).wait();
  await (await am.grantRole(ROLES.GUARDIAN, guardian, 0)).wait();
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
