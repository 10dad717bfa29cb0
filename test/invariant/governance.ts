/**
 * Governance and guardian actions: one random parameter change through the timelock (two days pass, so feeds go
 * stale and are usually refreshed afterwards), or the guardian pausing/resuming opening and borrowing.
 */
import { ZeroAddress } from "ethers";
import { refreshFeeds } from "../../dev/localMarket";
import { governBatch } from "../helpers/governance";
import * as m from "../../src/math";
import { UndocumentedRevert } from "./errors";
import type { Action } from "./actions";
import type { World } from "./model";

const pct = (x: number): bigint => (BigInt(Math.round(x * 1e4)) * m.WAD) / 10_000n;
const GOVERNANCE_ERRORS = ["InvalidParameter", "NoChange", "PenaltyTooHighForCriticalHF", "FullPenaltyHFBelowCriticalHF", "CorrelationNotPositiveSemiDefinite"];

interface Call {
  target: string;
  data: string;
}

async function proposal(w: World): Promise<{ label: string; calls: Call[] }> {
  const { engine, risk } = w.keel;
  const classes = [...w.assets.map((a) => a.address), w.crossClass];
  const p = w.prng;
  switch (p.int(0, 6)) {
    case 0: {
      const cls = classes[p.int(0, classes.length - 1)]!;
      const annual = pct(p.int(0, 2500) / 10_000);
      const fee = m.perSecondFee(annual);
      return { label: `stability fee of ${cls.slice(0, 8)} → ${annual}`, calls: [{ target: engine.target as string, data: engine.interface.encodeFunctionData("setStabilityFee", [cls, fee]) }] };
    }
    case 1: {
      const cls = classes[p.int(0, classes.length - 1)]!;
      const c = await engine.debtClass(cls);
      const debt = m.toDebtUp(c.normDebt, c.rate);
      const ceiling = p.int(0, 3) === 0 ? 10n ** 26n : (debt * BigInt(p.int(80, 300))) / 100n + m.WAD * 1000n;
      return { label: `debt ceiling of ${cls.slice(0, 8)} → ${ceiling}`, calls: [{ target: engine.target as string, data: engine.interface.encodeFunctionData("setDebtCeiling", [cls, ceiling]) }] };
    }
    case 2: {
      const a = w.assets[p.int(0, w.assets.length - 1)]!;
      const [, total] = await engine.collateralConfig(a.address);
      const cap = p.int(0, 2) === 0 ? total * 10n + a.unit * 1_000_000n : (total * BigInt(p.int(100, 200))) / 100n + a.unit;
      return { label: `supply cap of ${a.symbol} → ${cap}`, calls: [{ target: engine.target as string, data: engine.interface.encodeFunctionData("setSupplyCap", [a.address, cap]) }] };
    }
    case 3: {
      const dust = m.WAD * BigInt(p.int(10, 400));
      return { label: `dust → ${dust}`, calls: [{ target: engine.target as string, data: engine.interface.encodeFunctionData("setDust", [dust]) }] };
    }
    case 4: {
      const params = {
        gracePeriod: BigInt([0, 3600, 6 * 3600][p.int(0, 2)]!),
        criticalHF: pct(p.int(950, 980) / 1000),
        targetHF: pct(p.int(1020, 1100) / 1000),
        closeFactor: pct(p.int(30, 100) / 100),
        protocolShare: pct(p.int(0, 50) / 100),
      };
      // Every bonus curve must reach ℓ at or above criticalHF (the local ones reach it at 0.95): a raise first moves
      // the curves it would pass to end at the new criticalHF, in the same timelock batch.
      const curves: Call[] = [];
      for (const a of w.assets) {
        const r = await risk.assetRisk(a.address);
        if (r.fullPenaltyHF >= params.criticalHF) continue;
        const { sigmaMin, sigmaMax, maintenanceHaircut, initialHaircut, liquidationPenalty, minLiquidationPenalty } = r;
        const moved = { sigmaMin, sigmaMax, maintenanceHaircut, initialHaircut, liquidationPenalty, minLiquidationPenalty, fullPenaltyHF: params.criticalHF };
        curves.push({ target: risk.target as string, data: risk.interface.encodeFunctionData("setAssetRisk", [a.address, moved]) });
      }
      const setParams = { target: engine.target as string, data: engine.interface.encodeFunctionData("setLiquidationParams", [params]) };
      return { label: `liquidation params → ${JSON.stringify(params, (_, v) => (typeof v === "bigint" ? v.toString() : v))} (${curves.length} curve(s) moved)`, calls: [...curves, setParams] };
    }
    case 5: {
      const [a, b] = p.shuffle(w.assets);
      const rho = pct(p.int(0, 100) / 100);
      return { label: `ρ(${a!.symbol}, ${b!.symbol}) → ${rho}`, calls: [{ target: risk.target as string, data: risk.interface.encodeFunctionData("setCorrelation", [a!.address, b!.address, rho]) }] };
    }
    default: {
      const a = w.assets[p.int(0, w.assets.length - 1)]!;
      const r = await risk.assetRisk(a.address);
      const scale = (x: bigint): bigint => (x * BigInt(p.int(80, 125))) / 100n;
      const sigmaMin = scale(r.sigmaMin);
      const maintenanceHaircut = scale(r.maintenanceHaircut);
      const params = {
        sigmaMin,
        sigmaMax: sigmaMin > r.sigmaMax ? sigmaMin : r.sigmaMax,
        maintenanceHaircut,
        initialHaircut: maintenanceHaircut + pct(p.int(1, 8) / 100),
        liquidationPenalty: r.liquidationPenalty,
        // A bonus curve (docs/spec.md §4.4): ℓmin anywhere in [0, ℓ], reaching ℓ at an HF in [0.95, 1].
        minLiquidationPenalty: (r.liquidationPenalty * BigInt(p.int(0, 100))) / 100n,
        fullPenaltyHF: pct(p.int(95, 100) / 100),
      };
      return { label: `risk of ${a.symbol}: σmin ${sigmaMin}, hm ${maintenanceHaircut}, bonus ${params.minLiquidationPenalty} → ${r.liquidationPenalty} at HF ${params.fullPenaltyHF}`, calls: [{ target: risk.target as string, data: risk.interface.encodeFunctionData("setAssetRisk", [a.address, params]) }] };
    }
  }
}

export const actGovern: Action = async (w) => {
  const { label, calls } = await proposal(w);
  w.log.push(`govern: ${label}`);
  try {
    await governBatch(w.keel, calls);
    w.stats.success("govern");
  } catch (error) {
    const revert = w.decoder.decode(error);
    w.stats.revert("govern", revert.name);
    w.log.push(`    ↳ reverted ${revert.name}`);
    if (!GOVERNANCE_ERRORS.includes(revert.name)) throw new UndocumentedRevert(`govern: ${label}`, revert, { cause: error });
  }
  if (w.prng.uniform() < 0.85) await refreshFeeds(w.keel);
};

/**
 * The guardian pauses; while paused, opening and borrowing revert with `Paused` (and nothing else), while a
 * deposit still goes through; then it resumes.
 */
export const actPause: Action = async (w) => {
  const engine = w.keel.engine;
  const user = w.users[w.prng.int(0, w.users.length - 1)]!;
  w.log.push(`guardian pauses; ${user.name} tries to open; guardian resumes`);
  await (await engine.connect(w.governance.signer).setPaused(true)).wait();
  w.stats.success("guardian.pause");
  try {
    await (await engine.connect(user.signer).open(1, ZeroAddress, user.address)).wait();
    throw new Error("open succeeded while paused");
  } catch (error) {
    const revert = w.decoder.decode(error);
    if (revert.name !== "Paused") throw new UndocumentedRevert("open while paused", revert, { cause: error });
    w.stats.revert("open.while-paused", revert.name);
  }
  await (await engine.connect(w.governance.signer).setPaused(false)).wait();
};
