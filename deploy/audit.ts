/**
 * The role audit of a deployment (`npm run deploy -- --audit deployments/NAME.json`): every holder of every role of
 * the AccessManager and of the timelock, read on chain (candidates from the role events since the deployment block,
 * membership and delays from the contracts themselves), against what the config said: ADMIN and RISK to the
 * timelock, ORACLE to the timelock and the engine, GUARDIAN to the guardian, the timelock's proposers, cancellers
 * and executors to the configured addresses, the timelock administering itself. It fails if the deployer holds
 * anything, if anyone the config did not name does, or if a configured holder is missing.
 */
import { type Provider, getAddress, type Log, type BaseContract } from "ethers";
import { KeelAccessManager__factory, KeelTimelock__factory } from "../typechain-types";
import type { Manifest } from "../src/client/manifest";
import { ManifestError } from "../src/client/manifest";
import { expectedRoleHolders, ROLES } from "./governance";

export type Verdict = "ok" | "deployer" | "not in the config" | "missing";

export interface RoleRow {
  contract: "accessManager" | "timelock";
  role: string;
  holder: string;
  /** Who the holder is for this deployment: timelock, engine, guardian, proposer, executor, deployer, or unknown. */
  who: string;
  /** AccessManager: the member's execution delay (s); the timelock has none per member. */
  executionDelay?: number;
  verdict: Verdict;
}

export interface RoleAudit {
  rows: RoleRow[];
  /** AccessManager: each role's grant delay (s); the timelock: its minimum delay (s). */
  delays: { contract: string; what: string; seconds: number }[];
  ok: boolean;
}

const LOG_CHUNK = 5_000;

export async function auditRoles(manifest: Manifest, provider: Provider): Promise<RoleAudit> {
  const governance = manifest.governance;
  if (!governance) {
    throw new ManifestError("audit: the manifest has no governance section (write it with npm run deploy, which records who governs)");
  }
  const chainId = Number((await provider.getNetwork()).chainId);
  if (chainId !== manifest.chainId) throw new ManifestError(`audit: the RPC is chain ${chainId}, the manifest is for chain ${manifest.chainId}`);
  const c = manifest.contracts;
  const am = KeelAccessManager__factory.connect(c.accessManager.address, provider);
  const tl = KeelTimelock__factory.connect(c.timelock.address, provider);
  const deployer = getAddress(governance.deployer);
  const names = new Map<string, string[]>();
  const name = (address: string, who: string): void => {
    const a = getAddress(address);
    names.set(a, [...(names.get(a) ?? []), who]);
  };
  name(c.timelock.address, "timelock");
  name(c.engine.address, "engine");
  name(c.savings.address, "savings");
  name(governance.guardian, "guardian");
  for (const a of governance.proposers) name(a, "proposer");
  for (const a of governance.executors) name(a, "executor");
  name(deployer, "deployer");
  const whoIs = (a: string): string => names.get(getAddress(a))?.join(", ") ?? "unknown";
  const verdictOf = (holder: string, expected: string[]): Verdict =>
    getAddress(holder) === deployer ? "deployer" : expected.some((e) => getAddress(e) === getAddress(holder)) ? "ok" : "not in the config";

  const rows: RoleRow[] = [];
  const delays: RoleAudit["delays"] = [];
  const head = await provider.getBlockNumber();

  // AccessManager: roles are uint64 ids; members come from RoleGranted and are confirmed by hasRole.
  const expectedAm = expectedRoleHolders(
    {
      engine: c.engine.address,
      risk: c.risk.address,
      vol: c.vol.address,
      oracle: c.oracle.address,
      kusd: c.kusd.address,
      surplus: c.surplus.address,
      psm: c.psm.address,
      savings: c.savings.address,
      timelock: c.timelock.address,
    },
    governance.guardian,
  );
  const amGrants = await logs(provider, am, am.filters.RoleGranted(), manifest.deploymentBlock, head);
  const amCandidates = new Map<string, { role: bigint; account: string }>();
  for (const log of amGrants) {
    const { roleId, account } = am.interface.parseLog(log)!.args as unknown as { roleId: bigint; account: string };
    amCandidates.set(`${roleId}:${getAddress(account)}`, { role: roleId, account: getAddress(account) });
  }
  const roleIds = new Set<bigint>([...Object.values(ROLES), ...[...amCandidates.values()].map((x) => x.role)]);
  for (const role of [...roleIds].sort((a, b) => (a < b ? -1 : 1))) {
    const name = Object.entries(ROLES).find(([, r]) => r === role)?.[0] ?? `role ${role}`;
    const expected = name in expectedAm ? expectedAm[name as keyof typeof ROLES] : [];
    const accounts = new Set([...[...amCandidates.values()].filter((x) => x.role === role).map((x) => x.account), ...expected.map((e) => getAddress(e))]);
    for (const account of accounts) {
      const [member, executionDelay] = await am.hasRole(role, account);
      if (member) rows.push({ contract: "accessManager", role: name, holder: account, who: whoIs(account), executionDelay: Number(executionDelay), verdict: verdictOf(account, expected) });
      else if (expected.some((e) => getAddress(e) === account)) rows.push({ contract: "accessManager", role: name, holder: account, who: whoIs(account), verdict: "missing" });
    }
    if (role !== ROLES.ADMIN) delays.push({ contract: "accessManager", what: `${name} grant delay`, seconds: Number(await am.getRoleGrantDelay(role)) });
  }

  // The timelock: OpenZeppelin AccessControl roles (bytes32).
  const tlRoles: [string, string, string[]][] = [
    ["DEFAULT_ADMIN", await tl.DEFAULT_ADMIN_ROLE(), [c.timelock.address]],
    ["PROPOSER", await tl.PROPOSER_ROLE(), governance.proposers],
    ["CANCELLER", await tl.CANCELLER_ROLE(), governance.proposers],
    ["EXECUTOR", await tl.EXECUTOR_ROLE(), governance.executors],
  ];
  const tlGrants = await logs(provider, tl, tl.filters.RoleGranted(), manifest.deploymentBlock, head);
  const tlCandidates = tlGrants.map((log) => tl.interface.parseLog(log)!.args as unknown as { role: string; account: string });
  const knownTlRoles = new Set(tlRoles.map(([, id]) => id));
  for (const { role } of tlCandidates) {
    if (!knownTlRoles.has(role)) {
      tlRoles.push([`role ${role.slice(0, 10)}…`, role, []]);
      knownTlRoles.add(role);
    }
  }
  for (const [name, role, expected] of tlRoles) {
    const accounts = new Set([...tlCandidates.filter((x) => x.role === role).map((x) => getAddress(x.account)), ...expected.map((e) => getAddress(e))]);
    for (const account of accounts) {
      const member = await tl.hasRole(role, account);
      if (member) rows.push({ contract: "timelock", role: name, holder: account, who: whoIs(account), verdict: verdictOf(account, expected) });
      else if (expected.some((e) => getAddress(e) === account)) rows.push({ contract: "timelock", role: name, holder: account, who: whoIs(account), verdict: "missing" });
    }
  }
  delays.push({ contract: "timelock", what: "minimum delay", seconds: Number(await tl.getMinDelay()) });
  return { rows, delays, ok: rows.every((r) => r.verdict === "ok") };
}

/** A contract's logs matching `filter` over [from, to], in chunks a public RPC accepts. */
async function logs(provider: Provider, contract: BaseContract, filter: { getTopicFilter(): Promise<unknown> }, from: number, to: number): Promise<Log[]> {
  const topics = (await filter.getTopicFilter()) as (string | string[] | null)[];
  const address = await contract.getAddress();
  const out: Log[] = [];
  for (let start = from; start <= to; start += LOG_CHUNK) {
    out.push(...(await provider.getLogs({ address, topics, fromBlock: start, toBlock: Math.min(to, start + LOG_CHUNK - 1) })));
  }
  return out;
}
