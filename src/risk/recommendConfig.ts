/**
 * A recommendation as config: the human-unit strings it sets, a governance-ready diff against the current config
 * ("WETH.risk.sigmaMax: 25% → 11%"), and the updated `RawKeelConfig`, checked by `parseKeelConfig`.
 */
import { ConfigError, parseKeelConfig, type RawKeelConfig } from "../client/config";
import { parseDuration } from "../units";
import { type Recommendation, RecommendationError } from "./recommendation";

/** One config field the recommendation changes (or confirms). */
export interface ConfigChange {
  /** Dotted path in the raw config, e.g. "assets.WETH.risk.sigmaMax", "correlations.WETH/WBTC". */
  field: string;
  from: string | undefined;
  to: string;
  changed: boolean;
}

/** A fraction as a config percentage: 0.115 → "11.5%". */
export const percentText = (x: number): string => `${Number((x * 100).toFixed(4))}%`;
/** A plain decimal for ρ and z: 0.89 → "0.89". */
export const decimalText = (x: number): string => String(Number(x.toFixed(4)));

/** A duration as a config string: 86400 → "1 day", 259200 → "3 days", 43200 → "12h", 90 → "90s". */
export const durationText = (seconds: number): string =>
  seconds % 86_400 === 0 ? `${seconds / 86_400} day${seconds === 86_400 ? "" : "s"}` : seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds}s`;

/** Numeric value of a config string ("11.5%" → 0.115, "0.89" → 0.89, "12h" → 43200), for comparing old and new. */
const valueOf = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t.endsWith("%")) return Number(t.slice(0, -1)) / 100;
  if (/^\d+\s*[a-z]+$/i.test(t)) {
    try {
      return parseDuration(t);
    } catch {
      return undefined;
    }
  }
  return Number(t);
};

/** Every field the recommendation sets, with the current value. */
export function configChanges(current: RawKeelConfig, rec: Recommendation): ConfigChange[] {
  const out: ConfigChange[] = [];
  const push = (field: string, from: string | undefined, to: string): void => {
    const a = valueOf(from);
    const b = valueOf(to);
    out.push({ field, from, to, changed: a === undefined || b === undefined || Math.abs(a - b) > 1e-12 });
  };
  for (const a of rec.assets) {
    const risk = current.assets.find((x) => x.symbol === a.symbol)?.risk;
    push(`assets.${a.symbol}.risk.sigmaMin`, risk?.sigmaMin, percentText(a.sigmaMin));
    push(`assets.${a.symbol}.risk.sigmaMax`, risk?.sigmaMax, percentText(a.sigmaMax));
    push(`assets.${a.symbol}.risk.maintenanceHaircut`, risk?.maintenanceHaircut, percentText(a.maintenanceHaircut));
    push(`assets.${a.symbol}.risk.initialHaircut`, risk?.initialHaircut, percentText(a.initialHaircut));
  }
  for (const [pair, rho] of Object.entries(rec.correlations)) {
    const key = existingPairKey(current, pair);
    push(`correlations.${key}`, current.correlations[key], decimalText(rho));
  }
  push("confidence.maintenance", current.confidence.maintenance, decimalText(rec.zMaintenance));
  push("confidence.initial", current.confidence.initial, decimalText(rec.zInitial));
  if (rec.volatility) {
    push("volatility.halfLife", current.volatility?.halfLife, durationText(rec.volatility.halfLife));
    push("volatility.maxStepPerHour", current.volatility?.maxStepPerHour, percentText(rec.volatility.maxStepPerHour));
  }
  return out;
}

/** The key under which `current` lists the pair "A/B" ("A/B" or "B/A"); "A/B" when absent. */
function existingPairKey(current: RawKeelConfig, pair: string): string {
  const [a, b] = pair.split("/");
  const reversed = `${b}/${a}`;
  return current.correlations[pair] === undefined && current.correlations[reversed] !== undefined ? reversed : pair;
}

/**
 * A governance-ready diff: one line per changed field, "field: old → new", then the per-asset bad-debt check
 * (worst-window loss vs. what the maintenance margin and penalty cover).
 */
export function configDiff(current: RawKeelConfig, rec: Recommendation): string {
  const changes = configChanges(current, rec).filter((c) => c.changed);
  const lines = [
    `Risk parameters from history (${rec.stepSeconds / 3600}h samples, horizon ${rec.horizonSeconds / 3600}h):`,
    ...(changes.length === 0 ? ["  (no changes)"] : changes.map((c) => `  ${c.field}: ${c.from ?? "(unset)"} → ${c.to}`)),
    "Bad-debt check, each asset at HF = 1 at every window start, liquidated at the window low:",
    ...rec.assets.map(({ symbol, coverage: c }) => {
      const w = c.worst;
      return (
        `  ${symbol}: worst ${percentText(round(w.loss))} loss vs. ${percentText(round(w.covers))} covered ` +
        `(margin ${percentText(round(w.margin))} at σ ${percentText(round(w.sigma))}); ` +
        `${c.failures}/${c.windows} windows with bad debt ${c.covered ? "✓" : "✗"}`
      );
    }),
  ];
  if (rec.skipped.length > 0) {
    const source = rec.source;
    lines.push(
      source
        ? `No series in ${source.file} (columns ${Object.entries(source.symbolMap).map(([c, s]) => `${c} → ${s}`).join(", ")}) ` +
            `for ${rec.skipped.join(", ")}: their configured values are kept`
        : `Not in the history, unchanged: ${rec.skipped.join(", ")}`,
    );
  }
  return lines.join("\n");
}

const round = (x: number): number => Number(x.toFixed(4));

/**
 * `raw` with the recommended σ bounds, haircuts, correlations and confidence multipliers, as human-unit strings.
 * Throws RecommendationError (with the ConfigError as cause) when the result does not parse.
 */
export function applyRecommendation(raw: RawKeelConfig, rec: Recommendation): RawKeelConfig {
  const assets = raw.assets.map((asset) => {
    const a = rec.assets.find((x) => x.symbol === asset.symbol);
    if (!a) return asset;
    return {
      ...asset,
      risk: {
        ...asset.risk,
        sigmaMin: percentText(a.sigmaMin),
        sigmaMax: percentText(a.sigmaMax),
        maintenanceHaircut: percentText(a.maintenanceHaircut),
        initialHaircut: percentText(a.initialHaircut),
      },
    };
  });
  const correlations = { ...raw.correlations };
  for (const [pair, rho] of Object.entries(rec.correlations)) correlations[existingPairKey(raw, pair)] = decimalText(rho);
  const next: RawKeelConfig = {
    ...raw,
    assets,
    correlations,
    confidence: { maintenance: decimalText(rec.zMaintenance), initial: decimalText(rec.zInitial) },
    ...(rec.volatility && raw.volatility
      ? {
          volatility: {
            ...raw.volatility,
            halfLife: durationText(rec.volatility.halfLife),
            maxStepPerHour: percentText(rec.volatility.maxStepPerHour),
          },
        }
      : {}),
  };
  try {
    parseKeelConfig(next);
  } catch (e) {
    if (e instanceof ConfigError) throw new RecommendationError(`recommended config does not parse: ${e.message}`, { cause: e });
    throw e;
  }
  return next;
}
