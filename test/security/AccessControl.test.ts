/**
 * Access-control matrix (docs/spec.md §7 governance): every privileged entry point of every Keel contract, called from every
 * role holder and from outsiders. A caller either may call (the call succeeds or fails for a reason other than
 * authorization) or gets the contract's authorization error naming it. The list of functions is checked against the
 * ABIs: every state-changing function of every contract is either a row of the matrix or declared open, so a new
 * setter without a row fails this test. Open functions are probed from a stranger with zero arguments and must never
 * fail with an authorization error; AccessManager's stored role of every restricted selector must match the row.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { impersonateAccount, loadFixture, setBalance } from "@nomicfoundation/hardhat-network-helpers";
import { type BaseContract, type Contract, type ErrorDescription, Interface, type ParamType, ZeroAddress, ZeroHash, id as keccakId } from "ethers";
import type { Signer } from "ethers";
import type { Keel } from "../../deploy";
import { governedAddresses, permissions, ROLES } from "../../deploy/governance";
import * as m from "../../src/math";
import { MockAggregator__factory, MockERC20__factory } from "../../typechain-types";
import { keelFixture } from "../helpers/fixtures";
import { mockListing } from "../helpers/engine";

type CallerName = "admin" | "risk" | "oracle" | "guardian" | "deployer" | "timelock" | "engine" | "accessManager" | "stranger";
const CALLERS: readonly CallerName[] = ["admin", "risk", "oracle", "guardian", "deployer", "timelock", "engine", "accessManager", "stranger"];

/** Errors that mean "this caller is not allowed", as opposed to a refusal of the call's arguments or state. */
const AUTH_ERRORS = new Set([
  "AccessManagedUnauthorized",
  "AccessManagerUnauthorizedAccount",
  "AccessControlUnauthorizedAccount",
  "TimelockUnauthorizedCaller",
  "OnlyEngine",
  "NotMinter",
  "OnlyDelegateCall",
  "UntrustedCallback",
]);

interface Scene {
  keel: Keel;
  callers: Record<CallerName, Signer>;
  addresses: Record<CallerName, string>;
  newAsset: string;
  newFeed: string;
}

async function matrixFixture(): Promise<Scene> {
  const keel = await keelFixture();
  const signers = await ethers.getSigners();
  const [deployer, admin, risk, oracle, guardian, stranger] = signers;
  const impersonate = async (address: string): Promise<Signer> => {
    await impersonateAccount(address);
    await setBalance(address, 10n ** 20n);
    return ethers.getSigner(address);
  };
  const timelock = await impersonate(await keel.timelock.getAddress());
  const engine = await impersonate(await keel.engine.getAddress());
  const accessManager = await impersonate(await keel.accessManager.getAddress());
  // One fresh account per AccessManager role, granted by the timelock (the manager's admin).
  const am = keel.accessManager.connect(timelock);
  await (await am.grantRole(ROLES.ADMIN, admin!.address, 0)).wait();
  await (await am.grantRole(ROLES.RISK, risk!.address, 0)).wait();
  await (await am.grantRole(ROLES.ORACLE, oracle!.address, 0)).wait();
  await (await am.grantRole(ROLES.GUARDIAN, guardian!.address, 0)).wait();
  // A position, so position-id arguments point at something.
  const weth = keel.assets.WETH!.token;
  await (await weth.mint(deployer!.address, 10n ** 18n)).wait();
  await (await weth.approve(await keel.engine.getAddress(), 10n ** 18n)).wait();
  await (await keel.engine.open(0, await weth.getAddress(), deployer!.address)).wait();
  await (await keel.engine.deposit(1n, await weth.getAddress(), 10n ** 18n)).wait();
  const token = await new MockERC20__factory(deployer!).deploy("New", "NEW", 18);
  const feed = await new MockAggregator__factory(deployer!).deploy(8, 10n ** 10n);
  const callers: Record<CallerName, Signer> = {
    admin: admin!,
    risk: risk!,
    oracle: oracle!,
    guardian: guardian!,
    deployer: deployer!,
    timelock,
    engine,
    accessManager,
    stranger: stranger!,
  };
  const addresses = {} as Record<CallerName, string>;
  for (const name of CALLERS) addresses[name] = await callers[name].getAddress();
  return { keel, callers, addresses, newAsset: await token.getAddress(), newFeed: await feed.getAddress() };
}

/** One privileged function: who may call it, and (for AccessManaged functions) the role AccessManager must store. */
interface Row {
  contract: string;
  fn: string; // signature or name
  args: (s: Scene) => Promise<unknown[]> | unknown[];
  allowed: readonly CallerName[];
  role?: bigint;
}

const RISK_HOLDERS = ["risk", "timelock"] as const;
const ADMIN_HOLDERS = ["admin", "timelock"] as const;
const GUARDIANS = ["guardian", "deployer"] as const; // deployKeel makes the deployer the guardian by default
const ORACLE_HOLDERS = ["oracle", "timelock", "engine"] as const;
const PROPOSER = ["deployer"] as const; // timelock proposer, canceller and executor in the local config
const AUTHORITY = ["accessManager"] as const;

async function contractsOf(keel: Keel): Promise<Record<string, BaseContract>> {
  return {
    engine: keel.engine,
    risk: keel.risk,
    oracle: keel.oracle,
    vol: keel.vol,
    kusd: keel.kusd,
    nft: keel.nft,
    surplus: keel.surplus,
    accessManager: keel.accessManager,
    timelock: keel.timelock,
    manager: keel.manager,
    lens: keel.lens,
    flashLiquidator: keel.flashLiquidator,
    psm: keel.psm,
    savings: keel.savings,
  };
}

const weth = (s: Scene): Promise<string> => s.keel.assets.WETH!.token.getAddress();
const wbtc = (s: Scene): Promise<string> => s.keel.assets.WBTC!.token.getAddress();

const ROWS: Row[] = [
  // VaultEngine: governed setters (AccessManager roles) and the authority hand-over.
  {
    contract: "engine",
    fn: "listAsset",
    role: ROLES.RISK,
    allowed: RISK_HOLDERS,
    args: async (s) => [s.newAsset, mockListing(s.newFeed, (await s.keel.risk.listedAssets()).length)],
  },
  { contract: "engine", fn: "setStabilityFee", role: ROLES.RISK, allowed: RISK_HOLDERS, args: async (s) => [await weth(s), m.RAY + 1n] },
  { contract: "engine", fn: "setDebtCeiling", role: ROLES.RISK, allowed: RISK_HOLDERS, args: async (s) => [await weth(s), 10n ** 24n] },
  { contract: "engine", fn: "setSupplyCap", role: ROLES.RISK, allowed: RISK_HOLDERS, args: async (s) => [await weth(s), 10n ** 24n + 1n] },
  { contract: "engine", fn: "setGlobalDebtCeiling", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [10n ** 25n] },
  { contract: "engine", fn: "setDust", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [200n * 10n ** 18n] },
  {
    contract: "engine",
    fn: "setLiquidationParams",
    role: ROLES.RISK,
    allowed: RISK_HOLDERS,
    args: async (s) => {
      const p = await s.keel.engine.liquidationParams();
      return [{ gracePeriod: p.gracePeriod + 1n, criticalHF: p.criticalHF, targetHF: p.targetHF, closeFactor: p.closeFactor, protocolShare: p.protocolShare }];
    },
  },
  { contract: "engine", fn: "setPaused", role: ROLES.GUARDIAN, allowed: GUARDIANS, args: () => [true] },
  { contract: "engine", fn: "setAuthority", allowed: AUTHORITY, args: (s) => [s.addresses.accessManager] },
  // RiskModel.
  {
    contract: "risk",
    fn: "setAssetRisk",
    role: ROLES.RISK,
    allowed: RISK_HOLDERS,
    args: async (s) => {
      const r = await s.keel.risk.assetRisk(await weth(s));
      const { sigmaMin, maintenanceHaircut, initialHaircut, liquidationPenalty, minLiquidationPenalty, fullPenaltyHF } = r;
      return [await weth(s), { sigmaMin, sigmaMax: r.sigmaMax + 1n, maintenanceHaircut, initialHaircut, liquidationPenalty, minLiquidationPenalty, fullPenaltyHF }];
    },
  },
  { contract: "risk", fn: "setCorrelation", role: ROLES.RISK, allowed: RISK_HOLDERS, args: async (s) => [await weth(s), await wbtc(s), 5n * 10n ** 17n] },
  { contract: "risk", fn: "setCorrelations", role: ROLES.RISK, allowed: RISK_HOLDERS, args: async (s) => [[await weth(s)], [await wbtc(s)], [5n * 10n ** 17n]] },
  {
    contract: "risk",
    fn: "setConfidence",
    role: ROLES.RISK,
    allowed: RISK_HOLDERS,
    args: async (s) => {
      const [zm, zi] = await s.keel.risk.confidence();
      return [zm, zi + 1n];
    },
  },
  {
    contract: "risk",
    fn: "listAsset",
    allowed: ["engine"],
    args: async (s) => {
      const l = mockListing(s.newFeed, (await s.keel.risk.listedAssets()).length);
      return [s.newAsset, l.risk, l.correlations];
    },
  },
  { contract: "risk", fn: "setAuthority", allowed: AUTHORITY, args: (s) => [s.addresses.accessManager] },
  // PriceOracle.
  {
    contract: "oracle",
    fn: "setFeed",
    role: ROLES.ORACLE,
    allowed: ORACLE_HOLDERS,
    args: async (s) => {
      const f = await s.keel.oracle.feedOf(await weth(s));
      const p = f.primary;
      return [await weth(s), { primary: { aggregator: p.aggregator, heartbeat: p.heartbeat + 1n, decimals: p.decimals, minAnswer: p.minAnswer, maxAnswer: p.maxAnswer }, base: { aggregator: ZeroAddress, heartbeat: 0, decimals: 0, minAnswer: 0, maxAnswer: 0 } }];
    },
  },
  { contract: "oracle", fn: "setSequencer", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [{ uptimeFeed: ZeroAddress, gracePeriod: 60 }] },
  { contract: "oracle", fn: "setAuthority", allowed: AUTHORITY, args: (s) => [s.addresses.accessManager] },
  // VolatilityOracle.
  {
    contract: "vol",
    fn: "setParams",
    role: ROLES.RISK,
    allowed: RISK_HOLDERS,
    args: async (s) => {
      const p = await s.keel.vol.params();
      return [{ horizon: p.horizon, halfLife: p.halfLife, minInterval: p.minInterval, maxStep: p.maxStep + 1n }];
    },
  },
  { contract: "vol", fn: "setAuthority", allowed: AUTHORITY, args: (s) => [s.addresses.accessManager] },
  // KeelUSD.
  { contract: "kusd", fn: "setFlashFee", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [10n ** 15n] },
  { contract: "kusd", fn: "setFlashCap", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [10n ** 24n] },
  { contract: "kusd", fn: "mint", allowed: ["engine"], args: (s) => [s.addresses.stranger, 1n] },
  { contract: "kusd", fn: "burn", allowed: ["engine"], args: (s) => [s.addresses.stranger, 0n] },
  { contract: "kusd", fn: "setAuthority", allowed: AUTHORITY, args: (s) => [s.addresses.accessManager] },
  { contract: "kusd", fn: "setPegModule", role: ROLES.RISK, allowed: RISK_HOLDERS, args: (s) => [s.addresses.stranger, true] },
  { contract: "psm", fn: "setFees", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [2n * 10n ** 15n, 10n ** 15n] },
  { contract: "psm", fn: "setDebtCeiling", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [10n ** 24n] },
  { contract: "psm", fn: "setFreezeThreshold", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [3n * 10n ** 16n] },
  { contract: "psm", fn: "setSellGemPaused", role: ROLES.GUARDIAN, allowed: GUARDIANS, args: () => [true] },
  { contract: "psm", fn: "setAuthority", allowed: AUTHORITY, args: (s) => [s.addresses.accessManager] },
  { contract: "savings", fn: "setSavingsRate", role: ROLES.RISK, allowed: RISK_HOLDERS, args: () => [10n ** 27n + 1n] },
  { contract: "savings", fn: "setAuthority", allowed: AUTHORITY, args: (s) => [s.addresses.accessManager] },
  // PositionNFT.
  { contract: "nft", fn: "mint", allowed: ["engine"], args: (s) => [s.addresses.stranger, 999n] },
  { contract: "nft", fn: "burn", allowed: ["engine"], args: () => [1n] },
  // SurplusBuffer: no role assigned, so AccessManager's ADMIN.
  { contract: "surplus", fn: "spend", role: ROLES.ADMIN, allowed: ADMIN_HOLDERS, args: (s) => [s.addresses.stranger, 1n] },
  // Only the savings vault holds SAVINGS; none of the callers does.
  { contract: "surplus", fn: "payInterest", role: ROLES.SAVINGS, allowed: [], args: (s) => [s.addresses.stranger, 1n] },
  { contract: "surplus", fn: "setAuthority", allowed: AUTHORITY, args: (s) => [s.addresses.accessManager] },
  // AccessManager: its own administration, ADMIN only.
  { contract: "accessManager", fn: "grantRole", allowed: ADMIN_HOLDERS, args: (s) => [5n, s.addresses.stranger, 0] },
  { contract: "accessManager", fn: "revokeRole", allowed: ADMIN_HOLDERS, args: (s) => [ROLES.GUARDIAN, s.addresses.guardian] },
  { contract: "accessManager", fn: "setRoleAdmin", allowed: ADMIN_HOLDERS, args: () => [5n, ROLES.RISK] },
  { contract: "accessManager", fn: "setRoleGuardian", allowed: ADMIN_HOLDERS, args: () => [5n, ROLES.GUARDIAN] },
  { contract: "accessManager", fn: "setGrantDelay", allowed: ADMIN_HOLDERS, args: () => [5n, 60] },
  { contract: "accessManager", fn: "labelRole", allowed: ADMIN_HOLDERS, args: () => [5n, "FIVE"] },
  {
    contract: "accessManager",
    fn: "setTargetFunctionRole",
    allowed: ADMIN_HOLDERS,
    args: async (s) => [await s.keel.engine.getAddress(), [s.keel.engine.interface.getFunction("setDust")!.selector], ROLES.GUARDIAN],
  },
  { contract: "accessManager", fn: "setTargetClosed", allowed: ADMIN_HOLDERS, args: async (s) => [await s.keel.engine.getAddress(), true] },
  { contract: "accessManager", fn: "setTargetAdminDelay", allowed: ADMIN_HOLDERS, args: async (s) => [await s.keel.engine.getAddress(), 60] },
  {
    contract: "accessManager",
    fn: "updateAuthority",
    allowed: ADMIN_HOLDERS,
    args: async (s) => [await s.keel.engine.getAddress(), await s.keel.accessManager.getAddress()],
  },
  // Timelock: proposer/canceller/executor roles, and self-administration.
  { contract: "timelock", fn: "schedule", allowed: PROPOSER, args: async (s) => [await s.keel.engine.getAddress(), 0, "0x", ZeroHash, keccakId("m"), await s.keel.timelock.getMinDelay()] },
  {
    contract: "timelock",
    fn: "scheduleBatch",
    allowed: PROPOSER,
    args: async (s) => [[await s.keel.engine.getAddress()], [0], ["0x"], ZeroHash, keccakId("m"), await s.keel.timelock.getMinDelay()],
  },
  { contract: "timelock", fn: "cancel", allowed: PROPOSER, args: () => [keccakId("no such operation")] },
  { contract: "timelock", fn: "execute", allowed: PROPOSER, args: async (s) => [await s.keel.engine.getAddress(), 0, "0x", ZeroHash, keccakId("m")] },
  { contract: "timelock", fn: "executeBatch", allowed: PROPOSER, args: async (s) => [[await s.keel.engine.getAddress()], [0], ["0x"], ZeroHash, keccakId("m")] },
  { contract: "timelock", fn: "updateDelay", allowed: ["timelock"], args: () => [60] },
  { contract: "timelock", fn: "grantRole", allowed: ["timelock"], args: async (s) => [await s.keel.timelock.PROPOSER_ROLE(), s.addresses.stranger] },
  { contract: "timelock", fn: "revokeRole", allowed: ["timelock"], args: async (s) => [await s.keel.timelock.PROPOSER_ROLE(), s.addresses.deployer] },
  // FlashLiquidator: its flash-loan callback accepts only the flash mint it started itself.
  { contract: "flashLiquidator", fn: "onFlashLoan", allowed: [], args: async (s) => [await s.keel.flashLiquidator.getAddress(), await s.keel.kusd.getAddress(), 1n, 0n, "0x"] },
];

/** State-changing functions open to anyone (or checked per position, per operation or per token owner). */
const OPEN: Record<string, readonly string[]> = {
  engine: ["open", "deposit", "withdraw", "borrow", "repay", "close", "marginCall", "clearMarginCall", "liquidate", "coverDeficit", "collectFees"],
  risk: [],
  oracle: [],
  vol: ["poke", "pokeAll"],
  kusd: ["approve", "transfer", "transferFrom", "permit", "flashLoan"],
  nft: ["approve", "safeTransferFrom", "setApprovalForAll", "transferFrom"],
  surplus: [],
  // schedule/execute/cancel/consumeScheduledOp authorize per target call; renounceRole only renounces the caller's own.
  accessManager: ["schedule", "execute", "cancel", "consumeScheduledOp", "multicall", "renounceRole"],
  timelock: ["renounceRole", "onERC721Received", "onERC1155Received", "onERC1155BatchReceived"],
  manager: ["open", "deposit", "depositEth", "borrow", "repay", "withdraw", "withdrawEth", "openAndBorrow", "openCrossAndBorrow", "openWithEthAndBorrow", "closePosition", "closePositionToEth", "permitKusd", "multicall"],
  lens: [],
  flashLiquidator: ["liquidate", "liquidateBatch"],
  psm: ["sellGem", "buyGem"],
  savings: ["deposit", "mint", "withdraw", "redeem", "drip", "approve", "transfer", "transferFrom"],
};

/** Every error of every Keel contract and of the OpenZeppelin bases, for decoding reverts. */
function errorInterface(contracts: Record<string, BaseContract>): Interface {
  const seen = new Map<string, string>();
  for (const c of Object.values(contracts)) {
    c.interface.forEachError((e) => seen.set(e.selector, e.format("full")));
  }
  return new Interface([...seen.values()]);
}

function stateChanging(c: BaseContract): string[] {
  const names: string[] = [];
  c.interface.forEachFunction((f) => {
    if (f.stateMutability !== "view" && f.stateMutability !== "pure") names.push(f.name);
  });
  return [...new Set(names)].sort();
}

/** A zero value of any ABI type: the arguments of the open-function probe. */
function zeroOf(p: ParamType): unknown {
  if (p.baseType === "array") return p.arrayLength !== null && p.arrayLength > 0 ? Array.from({ length: p.arrayLength }, () => zeroOf(p.arrayChildren!)) : [];
  if (p.baseType === "tuple") return p.components!.map(zeroOf);
  if (p.baseType === "address") return ZeroAddress;
  if (p.baseType === "bool") return false;
  if (p.baseType === "string") return "";
  if (p.baseType === "bytes") return "0x";
  if (p.baseType.startsWith("bytes")) return "0x" + "00".repeat(Number(p.baseType.slice(5)));
  return 0n;
}

/** Calls `fn` statically as `from`; returns undefined on success or the decoded revert. */
async function attempt(
  c: BaseContract,
  fn: string,
  args: unknown[],
  from: Signer,
  errors: Interface,
): Promise<ErrorDescription | "ok" | "undecoded"> {
  try {
    await (c.connect(from) as Contract).getFunction(fn).staticCall(...args);
    return "ok";
  } catch (e) {
    const data = (e as { data?: string }).data;
    if (!data || data === "0x") return "undecoded";
    return errors.parseError(data) ?? "undecoded";
  }
}

describe("Access-control matrix", () => {
  it("test_matrix_coversEveryStateChangingFunctionOfEveryContract", async () => {
    const { keel } = await loadFixture(matrixFixture);
    const contracts = await contractsOf(keel);
    for (const [name, c] of Object.entries(contracts)) {
      const declared = [...ROWS.filter((r) => r.contract === name).map((r) => r.fn), ...(OPEN[name] ?? [])].sort();
      expect(declared, `${name}: matrix rows + open functions vs ABI`).to.deep.equal(stateChanging(c));
    }
    // Every governed function of deploy/governance.ts has a row with the same role.
    const targets = new Map(Object.entries(contracts).map(([n, c]) => [c.target as string, n]));
    for (const p of permissions(governedAddresses(keel))) {
      for (const fn of p.functions) {
        const row = ROWS.find((r) => r.contract === targets.get(p.target) && r.fn === fn);
        expect(row, `row for ${targets.get(p.target)}.${fn}`).to.not.equal(undefined);
        expect(row!.role, `${fn}'s role`).to.equal(p.role);
      }
    }
  });

  it("test_matrix_accessManagerStoresTheRowsRoles", async () => {
    const { keel } = await loadFixture(matrixFixture);
    const contracts = await contractsOf(keel);
    for (const row of ROWS.filter((r) => r.role !== undefined)) {
      const c = contracts[row.contract]!;
      const selector = c.interface.getFunction(row.fn)!.selector;
      expect(await keel.accessManager.getTargetFunctionRole(c.target as string, selector), `${row.contract}.${row.fn}`).to.equal(row.role);
      expect(await keel.accessManager.isTargetClosed(c.target as string)).to.equal(false);
    }
  });

  it(`test_matrix_${ROWS.length}functions_x_${CALLERS.length}callers_onlyTheAllowedPass`, async () => {
    const s = await loadFixture(matrixFixture);
    const contracts = await contractsOf(s.keel);
    const errors = errorInterface(contracts);
    const table: string[] = [];
    for (const row of ROWS) {
      const c = contracts[row.contract]!;
      const args = await row.args(s);
      const cells: string[] = [];
      for (const caller of CALLERS) {
        const result = await attempt(c, row.fn, args, s.callers[caller], errors);
        const label = `${row.contract}.${row.fn} from ${caller}`;
        const authError = typeof result === "object" && AUTH_ERRORS.has(result.name);
        if (row.allowed.includes(caller)) {
          expect(authError, `${label}: allowed, but ${typeof result === "object" ? result.name : result}`).to.equal(false);
          expect(result, `${label}: undecodable revert`).to.not.equal("undecoded");
          cells.push(result === "ok" ? "✓" : `✓(${(result as ErrorDescription).name})`);
        } else {
          expect(authError, `${label}: must be refused, got ${typeof result === "object" ? result.name : result}`).to.equal(true);
          const e = result as ErrorDescription;
          // The error names the caller (OnlyDelegateCall has no argument; UntrustedCallback names the lender).
          if (e.name !== "OnlyDelegateCall" && e.name !== "UntrustedCallback") {
            expect(String(e.args[0]).toLowerCase(), `${label}: error argument`).to.equal(s.addresses[caller].toLowerCase());
          }
          cells.push("✗");
        }
      }
      table.push(`${`${row.contract}.${row.fn}`.padEnd(36)} ${cells.join(" ")}`);
    }
    expect(table).to.have.length(ROWS.length);
    if (process.env.PRINT_MATRIX === "1") console.log([`${"".padEnd(36)} ${CALLERS.join(" ")}`, ...table].join("\n"));
  });

  it("test_openFunctions_fromAStranger_neverFailWithAnAuthorizationError", async () => {
    const s = await loadFixture(matrixFixture);
    const contracts = await contractsOf(s.keel);
    const errors = errorInterface(contracts);
    const probes: { c: BaseContract; sig: string; args: unknown[]; label: string }[] = [];
    for (const [name, fns] of Object.entries(OPEN)) {
      const c = contracts[name]!;
      c.interface.forEachFunction((f) => {
        if (!fns.includes(f.name)) return;
        probes.push({ c, sig: f.format("sighash"), args: f.inputs.map(zeroOf), label: `${name}.${f.format("sighash")}` });
      });
    }
    for (const p of probes) {
      const result = await attempt(p.c, p.sig, p.args, s.callers.stranger, errors);
      const bad = typeof result === "object" && AUTH_ERRORS.has(result.name);
      expect(bad, `${p.label}: ${typeof result === "object" ? result.name : result}`).to.equal(false);
    }
    expect(probes.length).to.be.greaterThan(40);
  });
});
