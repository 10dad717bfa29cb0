/**
 * `npm run plot:volatility`: dynamic margin along a crash path, computed with the TypeScript model of the
 * VolatilityOracle (src/math/volatility, bit for bit the contract). Writes docs/dynamic-margin.svg and prints the
 * README's worked example. Parameters come from the local deployment config (deploy/networks/local.ts).
 *
 *   npm run plot:volatility -- [--out docs/dynamic-margin.svg] [--seed 7]
 */
import { writeFileSync } from "node:fs";
import { parseKeelConfig } from "../src/client/config";
import { localConfig } from "../deploy/networks/local";
import { healthFactorDown, isolatedLossUp, valueDown, WAD } from "../src/math";
import { gbmPath, Prng } from "../src/risk/random";
import { lineChart, stack } from "../src/risk/svg";
import { replay, sigmaAt, toVolatilityParams, type PokeStep, type VolatilityState } from "../src/math/volatility";
import { formatFixed, formatPercent } from "../src/units";
import { parseFlags, uint } from "./lib/args";
import { runMain } from "./lib/main";

const HOUR = 3600;
const START = 1_700_000_000;

const config = parseKeelConfig(localConfig);
const weth = config.assets.find((a) => a.symbol === "WETH")!;
const params = toVolatilityParams(config.volatility);
const bounds = { sigmaMin: weth.risk.sigmaMin, sigmaMax: weth.risk.sigmaMax };
const zm = config.confidence.zMaintenance;
const hm = weth.risk.maintenanceHaircut;
const toWad = (usd: number): bigint => BigInt(Math.round(usd * 1e6)) * 10n ** 12n;
const pct = (wad: bigint): number => Number(wad) / 1e16;
/** Maintenance requirement per unit of value: max(zm σ, hm) [wad]. */
const requirement = (sigma: bigint): bigint => isolatedLossUp(WAD, sigma, zm, hm);

/** Three calm days (1% a day), a 24-hour crash of −45% with a one-hour wick, then six stressed days (8% a day). */
function crashPath(prng: Prng): number[] {
  const calm = gbmPath(prng, 3000, 0.01 * Math.sqrt(365), HOUR, 72);
  const top = calm[calm.length - 1]!;
  const crash = Array.from({ length: 24 }, (_, h) => top * Math.exp((Math.log(0.55) * (h + 1)) / 24) * (h === 11 ? 0.8 : 1));
  const stressed = gbmPath(prng, crash[crash.length - 1]!, 0.08 * Math.sqrt(365), HOUR, 144);
  return [...calm, ...crash, ...stressed.slice(1)];
}

function plot(out: string, seed: bigint): void {
  const prices = crashPath(new Prng(seed));
  const steps: PokeStep[] = prices.map((p, i) => ({ time: BigInt(START + i * HOUR), price: toWad(p) }));
  const path = replay(steps, bounds, params);
  const hours = (i: number): number => i;
  const sigmaPts = path.map((s, i) => [hours(i), pct(s.sigma)] as const);
  const targetPts = path.map((s, i) => [hours(i), pct(s.target)] as const);
  const dynamicReq = path.map((s, i) => [hours(i), pct(requirement(s.sigma))] as const);
  const staticReq = path.map((_, i) => [hours(i), pct(requirement(bounds.sigmaMin))] as const);
  const percent = (y: number): string => `${y}%`;
  const svg = stack([
    lineChart([{ name: "WETH price (USD)", color: "#1f4e9c", points: prices.map((p, i) => [i, p] as const) }], {
      title: "WETH: three calm days, a −45% day with a wick, six stressed days",
      xLabel: "hours",
      yLabel: "USD",
    }),
    lineChart(
      [
        { name: "σ target (EWMA)", color: "#c0392b", points: targetPts, dashed: true },
        { name: "σ in force (step-limited)", color: "#111", points: sigmaPts },
      ],
      { title: "One-day σ: the target jumps, the σ margin uses climbs 0.25 points an hour", xLabel: "hours", yLabel: "σ", yFormat: percent },
    ),
    lineChart(
      [
        { name: "dynamic: max(zm·σ, hm)", color: "#111", points: dynamicReq },
        { name: "static: σ fixed at σmin", color: "#888", points: staticReq, dashed: true },
      ],
      { title: "Maintenance requirement (share of collateral value)", xLabel: "hours", yLabel: "of value", yFormat: percent },
    ),
  ]);
  writeFileSync(out, svg);
  const peak = path.reduce((a, s) => (s.sigma > a ? s.sigma : a), 0n);
  console.log(`wrote ${out}: ${prices.length} hourly pokes; peak σ in force ${formatPercent(peak)}, ` +
    `peak requirement ${formatPercent(requirement(peak))} of value (static: ${formatPercent(requirement(bounds.sigmaMin))})`);
}

/** The README example: a WETH position at HF 1.2 when the target jumps to σmax. */
function workedExample(): void {
  const amount = 10n * WAD;
  const value = valueDown(amount, toWad(3000), WAD);
  const loss0 = isolatedLossUp(value, bounds.sigmaMin, zm, hm);
  const debt = ((value - loss0) * WAD) / ((12n * WAD) / 10n); // HF 1.2
  // The state right after a shock: σ anchored at σmin, target σmax, the step limit in force.
  const shocked: VolatilityState = {
    sigma: bounds.sigmaMin,
    target: bounds.sigmaMax,
    maxStep: params.maxStep,
    anchoredAt: 0n,
    seeded: true,
    variance: 0n,
    sampledAt: 0n,
    price: 0n,
  };
  console.log(`\n10 WETH at $3,000 (V = ${formatFixed(value, 18, 2)}), debt ${formatFixed(debt, 18, 2)} kUSD:`);
  console.log("| hours after the shock | σ in force | Lm = max(zm·σ, hm)·V | HF |");
  console.log("| --- | --- | --- | --- |");
  let crossed: number | undefined;
  for (let h = 0; h <= 30; h++) {
    const sigma = sigmaAt(shocked, BigInt(h * HOUR), bounds);
    const loss = isolatedLossUp(value, sigma, zm, hm);
    const hf = healthFactorDown(value, loss, debt);
    if (crossed === undefined && hf < WAD) crossed = h;
    if ([0, 6, 12, 18, 24].includes(h) || h === crossed) {
      console.log(`| ${h} | ${formatPercent(sigma)} | ${formatFixed(loss, 18, 2)} | ${formatFixed(hf, 18, 3)} |`);
    }
  }
  console.log(`HF first falls below 1 after ${crossed} hours.`);
}

runMain("plot:volatility", async () => {
  const { values } = parseFlags({
    options: { out: { type: "string", default: "docs/dynamic-margin.svg" }, seed: { type: "string", default: "7" } },
  });
  plot(values.out, uint("--seed", values.seed));
  workedExample();
});
