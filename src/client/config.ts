/**
 * Deployment configuration: written by people in human units ("5%", "2 days", "50,000,000"), parsed once into
 * protocol units and checked against the contracts' ranges before anything is sent.
 */
import { z } from "zod";
import { isAddress } from "ethers";
import { KeelError } from "../units/error";
import { formatFixed, parseAmount, parseDuration, parsePercent, parseWad, UnitError } from "../units";
import { choleskyPsd, mulWadUp, perSecondFee, WAD } from "../math";

export class ConfigError extends KeelError {
  override name = "ConfigError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONFIG", message, options);
  }
}

const address = z.string().refine((a) => isAddress(a), { message: "not an address" });
const text = z.string().min(1);

const rawAsset = z.object({
  symbol: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/),
  name: text,
  decimals: z.number().int().min(0).max(36),
  /** An existing token; a MockERC20 is deployed when absent. */
  token: address.optional(),
  price: z.object({
    /** An existing Chainlink aggregator; a MockAggregator is deployed when absent. */
    feed: address.optional(),
    /** Initial answer of a mock feed, in USD (or in units of `base` for a composite). */
    initial: text.optional(),
    decimals: z.number().int().min(0).max(36).default(8),
    heartbeat: text,
    /** Composite price: this feed quotes the asset in `base` (a symbol listed earlier); price = feed × base. */
    base: z.string().optional(),
  }),
  risk: z.object({
    sigmaMin: text,
    sigmaMax: text,
    maintenanceHaircut: text,
    initialHaircut: text,
    /** ℓ: the liquidation bonus at HF ≤ fullPenaltyHF (the largest). */
    liquidationPenalty: text,
    /** ℓmin: the bonus at HF = 1, rising linearly to ℓ at fullPenaltyHF (docs/spec.md §4.4). Absent: ℓ (fixed). */
    minLiquidationPenalty: text.optional(),
    /** In [liquidation.criticalHF, 1]; required with a minLiquidationPenalty under ℓ. */
    fullPenaltyHF: text.optional(),
  }),
  /** Annual stability fee of the asset's isolated positions, compounded per second. */
  stabilityFee: text,
  /** kUSD. */
  debtCeiling: text,
  /** Whole tokens. */
  supplyCap: text,
});

export const rawConfigSchema = z.object({
  assets: z.array(rawAsset).min(1).max(32),
  /** "A/B": ρ as a decimal in [0, 1], one entry per unordered pair of assets. */
  correlations: z.record(z.string(), text),
  confidence: z.object({ maintenance: text, initial: text }),
  cross: z.object({ stabilityFee: text, debtCeiling: text }),
  globalDebtCeiling: text,
  dust: text,
  /** Margin calls and liquidation (docs/spec.md §4). */
  liquidation: z.object({
    /** From a margin call to liquidation; "0s" gives classic immediate liquidation. */
    gracePeriod: text,
    /** Below it a position is liquidatable at once and in full, e.g. "0.95". */
    criticalHF: text,
    /** A partial liquidation repays at most what restores this HF, e.g. "1.05". */
    targetHF: text,
    /** Largest share of the debt one partial liquidation repays, e.g. "50%". */
    closeFactor: text,
    /** Share of the liquidation penalty paid to the surplus buffer, e.g. "20%". */
    protocolShare: text,
  }),
  /** The volatility oracle (docs/spec.md §3, dynamic): shared by every asset. */
  volatility: z
    .object({
      /** The horizon σ is measured over; every asset's sigmaMin/sigmaMax are σ over this horizon. */
      horizon: text,
      /** Time for the weight of old returns to halve. */
      halfLife: text,
      /** Least time between two pokes of one asset. */
      minInterval: text,
      /** Most the σ in force moves in an hour, in percentage points of σ, e.g. "0.25%". */
      maxStepPerHour: text,
    })
    .default({ horizon: "1 day", halfLife: "3 days", minInterval: "1h", maxStepPerHour: "0.25%" }),
  flashMint: z.object({ fee: text, cap: text }),
  /** The local MockAMM: fee on swap inputs. */
  amm: z.object({ fee: text }).default({ fee: "0.3%" }),
  /** The second local swap venue (a shallower MockAMM, seeded with a tenth of the first's depth): fee on swap inputs. */
  ammShallow: z.object({ fee: text }).default({ fee: "1%" }),
  /** The peg stability module (docs/spec.md §10): its reserve asset (a listed symbol) and its governed terms. */
  peg: z
    .object({
      reserve: z.string(),
      /** Fee on selling the reserve for kUSD, and on buying it back, e.g. "0.1%" (at most 1%). */
      feeIn: text,
      feeOut: text,
      /** Most kUSD minted against the reserve (the exposure cap). */
      debtCeiling: text,
      /** Selling the reserve freezes while its price is further from $1 than this, e.g. "2%". */
      freezeThreshold: text,
    })
    .default({ reserve: "USDC", feeIn: "0.1%", feeOut: "0.1%", debtCeiling: "50,000,000", freezeThreshold: "2%" }),
  /** The savings vault sKUSD: its annual rate, paid out of the surplus buffer (at most 20%). */
  savings: z.object({ rate: text }).default({ rate: "0%" }),
  governance: z.object({
    timelockDelay: text,
    /** Defaults to the deployer. */
    guardian: address.optional(),
    /** Timelock proposers and executors; default to the deployer. */
    proposers: z.array(address).optional(),
    executors: z.array(address).optional(),
  }),
  sequencer: z.object({ uptimeFeed: address, gracePeriod: text }).optional(),
  /** Symbol of the wrapped native asset used by the PositionManager for ether. */
  wrappedNative: z.string().default("WETH"),
});

export type RawKeelConfig = z.input<typeof rawConfigSchema>;

export interface AssetConfig {
  symbol: string;
  name: string;
  decimals: number;
  token?: string;
  price: {
    feed?: string;
    initial?: bigint; // feed decimals
    decimals: number;
    heartbeat: number; // s
    base?: string;
  };
  risk: {
    sigmaMin: bigint;
    sigmaMax: bigint;
    maintenanceHaircut: bigint;
    initialHaircut: bigint;
    liquidationPenalty: bigint;
    minLiquidationPenalty: bigint;
    fullPenaltyHF: bigint;
  }; // [wad]
  stabilityFee: bigint; // [ray] per second
  debtCeiling: bigint; // [wad]
  supplyCap: bigint; // token decimals
}

export interface KeelConfig {
  assets: AssetConfig[];
  /** ρ [wad] keyed "A/B" with A before B in listing order. */
  correlations: Map<string, bigint>;
  confidence: { zMaintenance: bigint; zInitial: bigint };
  cross: { stabilityFee: bigint; debtCeiling: bigint };
  globalDebtCeiling: bigint;
  dust: bigint;
  liquidation: {
    gracePeriod: number; // s
    criticalHF: bigint; // [wad]
    targetHF: bigint; // [wad]
    closeFactor: bigint; // [wad]
    protocolShare: bigint; // [wad]
  };
  volatility: { horizon: number; halfLife: number; minInterval: number; maxStep: bigint }; // s, s, s, [wad per hour]
  flashMint: { fee: bigint; cap: bigint };
  amm: { feeBps: number };
  ammShallow: { feeBps: number };
  peg: { reserve: string; feeIn: bigint; feeOut: bigint; debtCeiling: bigint; freezeThreshold: bigint }; // [wad]
  savings: { rate: bigint }; // [ray] per second
  governance: { timelockDelay: number; guardian?: string; proposers?: string[]; executors?: string[] };
  sequencer?: { uptimeFeed: string; gracePeriod: number };
  wrappedNative: string;
}

// Ranges enforced by the contracts, checked here first so a bad config fails before the first transaction.
const LIMITS = {
  sigma: [10n ** 14n, WAD],
  haircut: [10n ** 15n, (99n * WAD) / 100n],
  penalty: [0n, WAD / 4n],
  z: [WAD, 10n * WAD],
  annualFee: [0n, WAD], // 100% a year
  debtCeiling: [0n, 10n ** 28n],
  dust: [0n, 10n ** 24n],
  criticalHF: [WAD / 2n, WAD - 1n],
  fullPenaltyHF: [WAD / 2n, WAD],
  targetHF: [WAD + 1n, (3n * WAD) / 2n],
  share: [0n, WAD],
  flashFee: [0n, WAD / 100n],
  flashCap: [0n, 10n ** 30n],
  heartbeat: [60, 7 * 86400],
  horizon: [3600, 30 * 86400],
  halfLife: [3600, 365 * 86400],
  minInterval: [60, 86400],
  maxStep: [10n ** 14n, WAD / 10n],
  pegFee: [0n, WAD / 100n],
  freezeThreshold: [WAD / 1000n, WAD / 10n],
  savingsRate: [0n, WAD / 5n], // 20% a year
} as const;

function inRange(name: string, value: bigint, [lo, hi]: readonly [bigint, bigint]): bigint {
  if (value < lo || value > hi) throw new ConfigError(`${name}: ${value} is outside [${lo}, ${hi}]`);
  return value;
}

export const pairKey = (a: string, b: string): string => `${a}/${b}`;

/** Parses and validates a human-unit config. Throws ConfigError naming the first bad field. */
export function parseKeelConfig(raw: RawKeelConfig): KeelConfig {
  const parsed = rawConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`config.${issue.path.join(".")}: ${issue.message}`, { cause: parsed.error });
  }
  try {
    return convert(parsed.data);
  } catch (e) {
    if (e instanceof UnitError) throw new ConfigError(e.message, { cause: e });
    throw e;
  }
}

function convert(c: z.output<typeof rawConfigSchema>): KeelConfig {
  const symbols = new Set<string>();
  const assets = c.assets.map((a): AssetConfig => {
    const at = `assets.${a.symbol}`;
    if (symbols.has(a.symbol)) throw new ConfigError(`${at}: duplicate symbol`);
    if (a.price.base !== undefined && !symbols.has(a.price.base)) {
      throw new ConfigError(`${at}.price.base: "${a.price.base}" must be an asset listed before ${a.symbol}`);
    }
    symbols.add(a.symbol);
    if (a.token && !a.price.feed) {
      throw new ConfigError(`${at}: an existing token needs an existing price.feed`);
    }
    if (!a.price.feed && a.price.initial === undefined) {
      throw new ConfigError(`${at}.price.initial: required when a mock feed is deployed`);
    }
    const heartbeat = parseDuration(a.price.heartbeat, `${at}.price.heartbeat`);
    if (heartbeat < LIMITS.heartbeat[0] || heartbeat > LIMITS.heartbeat[1]) {
      throw new ConfigError(`${at}.price.heartbeat: ${heartbeat}s is outside [60s, 7 days]`);
    }
    const r = a.risk;
    const risk = {
      sigmaMin: inRange(`${at}.risk.sigmaMin`, parsePercent(r.sigmaMin, `${at}.risk.sigmaMin`), LIMITS.sigma),
      sigmaMax: inRange(`${at}.risk.sigmaMax`, parsePercent(r.sigmaMax, `${at}.risk.sigmaMax`), LIMITS.sigma),
      maintenanceHaircut: inRange(
        `${at}.risk.maintenanceHaircut`,
        parsePercent(r.maintenanceHaircut, `${at}.risk.maintenanceHaircut`),
        LIMITS.haircut,
      ),
      initialHaircut: inRange(
        `${at}.risk.initialHaircut`,
        parsePercent(r.initialHaircut, `${at}.risk.initialHaircut`),
        LIMITS.haircut,
      ),
      liquidationPenalty: inRange(
        `${at}.risk.liquidationPenalty`,
        parsePercent(r.liquidationPenalty, `${at}.risk.liquidationPenalty`),
        LIMITS.penalty,
      ),
      ...penaltyCurve(r, at),
    };
    if (risk.sigmaMax < risk.sigmaMin) throw new ConfigError(`${at}.risk.sigmaMax: below sigmaMin`);
    if (risk.initialHaircut < risk.maintenanceHaircut) {
      throw new ConfigError(`${at}.risk.initialHaircut: below maintenanceHaircut`);
    }
    return {
      symbol: a.symbol,
      name: a.name,
      decimals: a.decimals,
      token: a.token,
      price: {
        feed: a.price.feed,
        initial:
          a.price.initial === undefined
            ? undefined
            : parseAmount(a.price.initial, a.price.decimals, `${at}.price.initial`),
        decimals: a.price.decimals,
        heartbeat,
        base: a.price.base,
      },
      risk,
      stabilityFee: annualFee(`${at}.stabilityFee`, a.stabilityFee),
      debtCeiling: inRange(`${at}.debtCeiling`, parseAmount(a.debtCeiling, 18, `${at}.debtCeiling`), LIMITS.debtCeiling),
      supplyCap: parseAmount(a.supplyCap, a.decimals, `${at}.supplyCap`),
    };
  });

  const correlations = new Map<string, bigint>();
  const seen = new Set<string>();
  for (const [key, value] of Object.entries(c.correlations)) {
    const [a, b] = key.split("/");
    if (!a || !b || !symbols.has(a) || !symbols.has(b) || a === b) {
      throw new ConfigError(`correlations.${key}: expected "A/B" of two different listed symbols`);
    }
    const rho = parseWad(value, `correlations.${key}`);
    if (rho > WAD) throw new ConfigError(`correlations.${key}: ${value} is outside [0, 1]`);
    const ia = assets.findIndex((x) => x.symbol === a);
    const ib = assets.findIndex((x) => x.symbol === b);
    const ordered = ia < ib ? pairKey(a, b) : pairKey(b, a);
    if (seen.has(ordered)) throw new ConfigError(`correlations.${key}: pair given twice`);
    seen.add(ordered);
    correlations.set(ordered, rho);
  }
  // Every pair needs its ρ (the first missing one in listing order is named), and RiskModel refuses a listing that
  // leaves the matrix not positive semi-definite: say so before deploying.
  const rho = assets.flatMap((a, i) =>
    assets.map((b, j) => {
      if (i === j) return WAD;
      const key = i < j ? pairKey(a.symbol, b.symbol) : pairKey(b.symbol, a.symbol);
      const value = correlations.get(key);
      if (value === undefined) throw new ConfigError(`correlations: missing "${key}"`);
      return value;
    }),
  );
  const psd = choleskyPsd(rho, assets.length);
  if (!psd.ok) {
    throw new ConfigError(
      `correlations: no set of returns has these correlations (the matrix is not positive semi-definite; it fails at ${assets[psd.failedAt]!.symbol})`,
    );
  }

  const zMaintenance = inRange("confidence.maintenance", parseWad(c.confidence.maintenance, "confidence.maintenance"), LIMITS.z);
  const zInitial = inRange("confidence.initial", parseWad(c.confidence.initial, "confidence.initial"), LIMITS.z);
  if (zInitial <= zMaintenance) throw new ConfigError("confidence.initial: must exceed confidence.maintenance");
  if (!symbols.has(c.wrappedNative)) throw new ConfigError(`wrappedNative: "${c.wrappedNative}" is not an asset`);

  return {
    assets,
    correlations,
    confidence: { zMaintenance, zInitial },
    cross: {
      stabilityFee: annualFee("cross.stabilityFee", c.cross.stabilityFee),
      debtCeiling: inRange("cross.debtCeiling", parseAmount(c.cross.debtCeiling, 18, "cross.debtCeiling"), LIMITS.debtCeiling),
    },
    globalDebtCeiling: inRange("globalDebtCeiling", parseAmount(c.globalDebtCeiling, 18, "globalDebtCeiling"), LIMITS.debtCeiling),
    dust: inRange("dust", parseAmount(c.dust, 18, "dust"), LIMITS.dust),
    liquidation: convertLiquidation(c.liquidation, assets),
    volatility: convertVolatility(c.volatility),
    flashMint: {
      fee: inRange("flashMint.fee", parsePercent(c.flashMint.fee, "flashMint.fee"), LIMITS.flashFee),
      cap: inRange("flashMint.cap", parseAmount(c.flashMint.cap, 18, "flashMint.cap"), LIMITS.flashCap),
    },
    amm: { feeBps: ammFeeBps(c.amm.fee, "amm.fee") },
    ammShallow: { feeBps: ammFeeBps(c.ammShallow.fee, "ammShallow.fee") },
    peg: convertPeg(c.peg, assets),
    savings: { rate: perSecondFee(inRange("savings.rate", parsePercent(c.savings.rate, "savings.rate"), LIMITS.savingsRate)) },
    governance: {
      timelockDelay: parseDuration(c.governance.timelockDelay, "governance.timelockDelay"),
      guardian: c.governance.guardian,
      proposers: c.governance.proposers,
      executors: c.governance.executors,
    },
    sequencer: c.sequencer && {
      uptimeFeed: c.sequencer.uptimeFeed,
      gracePeriod: parseDuration(c.sequencer.gracePeriod, "sequencer.gracePeriod"),
    },
    wrappedNative: c.wrappedNative,
  };
}

function convertPeg(p: z.output<typeof rawConfigSchema>["peg"], assets: AssetConfig[]): KeelConfig["peg"] {
  const reserve = assets.find((a) => a.symbol === p.reserve);
  if (!reserve) throw new ConfigError(`peg.reserve: "${p.reserve}" is not an asset`);
  if (reserve.decimals > 18) throw new ConfigError(`peg.reserve: ${p.reserve} has ${reserve.decimals} decimals; at most 18`);
  const fee = (name: "feeIn" | "feeOut"): bigint => inRange(`peg.${name}`, parsePercent(p[name], `peg.${name}`), LIMITS.pegFee);
  return {
    reserve: p.reserve,
    feeIn: fee("feeIn"),
    feeOut: fee("feeOut"),
    debtCeiling: inRange("peg.debtCeiling", parseAmount(p.debtCeiling, 18, "peg.debtCeiling"), LIMITS.debtCeiling),
    freezeThreshold: inRange("peg.freezeThreshold", parsePercent(p.freezeThreshold, "peg.freezeThreshold"), LIMITS.freezeThreshold),
  };
}

/** ℓmin and fullPenaltyHF of an asset: a fixed penalty (ℓmin = ℓ, fullPenaltyHF = 1) unless a curve is given. */
function penaltyCurve(
  r: z.output<typeof rawAsset>["risk"],
  at: string,
): { minLiquidationPenalty: bigint; fullPenaltyHF: bigint } {
  const penalty = parsePercent(r.liquidationPenalty, `${at}.risk.liquidationPenalty`);
  const minPenalty = r.minLiquidationPenalty === undefined ? penalty : parsePercent(r.minLiquidationPenalty, `${at}.risk.minLiquidationPenalty`);
  if (minPenalty > penalty) throw new ConfigError(`${at}.risk.minLiquidationPenalty: above liquidationPenalty`);
  if (r.fullPenaltyHF === undefined) {
    if (minPenalty < penalty) throw new ConfigError(`${at}.risk.fullPenaltyHF: required with a minLiquidationPenalty under liquidationPenalty`);
    return { minLiquidationPenalty: minPenalty, fullPenaltyHF: WAD };
  }
  const fullPenaltyHF = inRange(`${at}.risk.fullPenaltyHF`, parseWad(r.fullPenaltyHF, `${at}.risk.fullPenaltyHF`), LIMITS.fullPenaltyHF);
  return { minLiquidationPenalty: minPenalty, fullPenaltyHF };
}

function annualFee(name: string, value: string): bigint {
  return perSecondFee(inRange(name, parsePercent(value, name), LIMITS.annualFee));
}

function convertLiquidation(
  l: z.output<typeof rawConfigSchema>["liquidation"],
  assets: AssetConfig[],
): KeelConfig["liquidation"] {
  const gracePeriod = parseDuration(l.gracePeriod.replace(/^0$/, "0s"), "liquidation.gracePeriod");
  if (gracePeriod > 7 * 86400) throw new ConfigError(`liquidation.gracePeriod: ${gracePeriod}s is above 7 days`);
  const criticalHF = inRange("liquidation.criticalHF", parseWad(l.criticalHF, "liquidation.criticalHF"), LIMITS.criticalHF);
  const closeFactor = parsePercent(l.closeFactor, "liquidation.closeFactor");
  if (closeFactor === 0n || closeFactor > WAD) throw new ConfigError("liquidation.closeFactor: must be in (0%, 100%]");
  // A partial liquidation above the critical HF must raise HF, and splitting must never pay more than one step
  // (docs/spec.md §4.4): (1 + ℓ)(1 − hm) ≤ criticalHF ≤ fullPenaltyHF for every asset.
  for (const a of assets) {
    if (a.risk.fullPenaltyHF < criticalHF) {
      throw new ConfigError(
        `assets.${a.symbol}.risk.fullPenaltyHF: ${formatFixed(a.risk.fullPenaltyHF, 18)} is under liquidation.criticalHF ${formatFixed(criticalHF, 18)}`,
      );
    }
    const required = mulWadUp(WAD + a.risk.liquidationPenalty, WAD - a.risk.maintenanceHaircut);
    if (required > criticalHF) {
      throw new ConfigError(
        `assets.${a.symbol}.risk: (1 + liquidationPenalty)(1 − maintenanceHaircut) = ${formatFixed(required, 18)} ` +
          `exceeds liquidation.criticalHF ${formatFixed(criticalHF, 18)}`,
      );
    }
  }
  return {
    gracePeriod,
    criticalHF,
    targetHF: inRange("liquidation.targetHF", parseWad(l.targetHF, "liquidation.targetHF"), LIMITS.targetHF),
    closeFactor,
    protocolShare: inRange(
      "liquidation.protocolShare",
      parsePercent(l.protocolShare, "liquidation.protocolShare"),
      LIMITS.share,
    ),
  };
}

function convertVolatility(v: z.output<typeof rawConfigSchema>["volatility"]): KeelConfig["volatility"] {
  const seconds = (name: keyof typeof v & keyof typeof LIMITS): number => {
    const value = parseDuration(v[name], `volatility.${name}`);
    const [lo, hi] = LIMITS[name];
    if (value < lo || value > hi) throw new ConfigError(`volatility.${name}: ${value}s is outside [${lo}s, ${hi}s]`);
    return value;
  };
  return {
    horizon: seconds("horizon"),
    halfLife: seconds("halfLife"),
    minInterval: seconds("minInterval"),
    maxStep: inRange(
      "volatility.maxStepPerHour",
      parsePercent(v.maxStepPerHour, "volatility.maxStepPerHour"),
      LIMITS.maxStep,
    ),
  };
}

function ammFeeBps(text: string, field: string): number {
  const fee = parsePercent(text, field);
  if (fee % 10n ** 14n !== 0n || fee >= WAD / 10n) throw new ConfigError(`${field}: "${text}" must be whole basis points below 10%`);
  return Number(fee / 10n ** 14n);
}
