/**
 * The market: each asset's price, σ in force and its target, haircuts, penalty, stability fee, debt ceiling used and
 * supply; and a chart of σ in force approaching its target (the VolatilityOracle's step limit, computed with the
 * same `sigmaAt` the preview uses).
 */
import { RAY, WAD } from "../../../src/math";
import { rateAt, sigmaAt } from "../../../src/protocol/preview";
import { formatFixed } from "../../../src/units";
import type { AssetMarket, Market } from "../chain";
import { useApp } from "../context";
import { annualRate, kusd, percent, usd } from "../format";
import { assetAt } from "../manifest";
import { useMarket } from "../queries";

export function MarketPage(): React.JSX.Element {
  const { keel } = useApp();
  const market = useMarket();
  if (market.error) return <p className="error">Could not read the market: {market.error.message.split("\n")[0]}</p>;
  if (!market.data) return <p>Loading the market…</p>;
  const m = market.data;
  return (
    <section>
      <h1>Market</h1>
      <table className="market" data-testid="market">
        <thead>
          <tr>
            <th scope="col">Asset</th>
            <th scope="col">Price</th>
            <th scope="col">σ in force</th>
            <th scope="col">σ target</th>
            <th scope="col">σ range</th>
            <th scope="col">Haircuts (maint. / initial)</th>
            <th scope="col">Liquidation bonus</th>
            <th scope="col">Stability fee</th>
            <th scope="col">Debt ceiling used</th>
            <th scope="col">Supplied / cap</th>
          </tr>
        </thead>
        <tbody>
          {m.assets.map((a) => {
            const info = assetAt(keel, a.address);
            const classDebt = (a.debtClass.normDebt * rateAt(a.debtClass, m.blockTime) + RAY - 1n) / RAY;
            return (
              <tr key={a.address} data-testid={`market-${info?.symbol ?? a.address}`}>
                <th scope="row">{info?.symbol ?? a.address}</th>
                <td>{a.priced ? usd(a.price) : "price failed"}</td>
                <td>{percent(a.sigma)}</td>
                <td>{percent(a.sigmaTarget)}</td>
                <td>{percent(a.sigmaMin)}–{percent(a.sigmaMax)}</td>
                <td>{percent(a.maintenanceHaircut)} / {percent(a.initialHaircut)}</td>
                <td>{bonus(a)}</td>
                <td>{percent(annualRate(a.debtClass.stabilityFee))} a year</td>
                <td>{kusd(classDebt)} of {formatFixed(a.debtClass.debtCeiling, 18, 0)} ({percent(a.debtClass.debtCeiling === 0n ? 0n : (classDebt * WAD) / a.debtClass.debtCeiling)})</td>
                <td>{formatFixed(a.supplied, info?.decimals ?? 18, 4)} / {formatFixed(a.supplyCap, info?.decimals ?? 18, 0)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p>
        Cross positions: fee {percent(annualRate(m.crossClass.stabilityFee))} a year, debt {kusd((m.crossClass.normDebt * rateAt(m.crossClass, m.blockTime) + RAY - 1n) / RAY)} of {formatFixed(m.crossClass.debtCeiling, 18, 0)}.
        Global debt {kusd(m.globalDebt)} of {formatFixed(m.globalDebtCeiling, 18, 0)}. Minimum debt {kusd(m.dust)}. Margin calls give {Number(m.gracePeriod) / 3600} h of grace; critical HF {formatFixed(m.criticalHF, 18, 3)}.
        Confidence z = {formatFixed(m.zMaintenance, 18, 2)} (maintenance), {formatFixed(m.zInitial, 18, 2)} (initial).
      </p>
      <h2>σ in force approaching its target</h2>
      <SigmaChart market={m} />
    </section>
  );
}

/** "5%", or "2% → 5% at HF ≤ 0.95" for a bonus that rises as health falls (docs/spec.md §4.4). */
function bonus(a: AssetMarket): string {
  if (a.minLiquidationPenalty === a.liquidationPenalty) return percent(a.liquidationPenalty);
  return `${percent(a.minLiquidationPenalty)} → ${percent(a.liquidationPenalty)} at HF ≤ ${formatFixed(a.fullPenaltyHF, 18, 2)}`;
}

const COLORS = ["#1f6feb", "#d29922", "#2da44e", "#bf3989", "#8250df", "#cf222e"];

/**
 * σ in force per asset from now until every σ has reached its target (24 to 96 hours, plain SVG), each target
 * dashed. The same `sigmaAt` as the preview: the step limit of the VolatilityOracle.
 */
function SigmaChart({ market }: { market: Market }): React.JSX.Element {
  const { keel } = useApp();
  const W = 680;
  const H = 240;
  const PAD = 44;
  const needed = market.assets.map((a) => {
    const gap = a.sigmaTarget > a.sigma ? a.sigmaTarget - a.sigma : a.sigma - a.sigmaTarget;
    return a.anchor.maxStep === 0n ? 0n : (gap + a.anchor.maxStep - 1n) / a.anchor.maxStep;
  });
  const longest = Number(needed.reduce((x, y) => (y > x ? y : x), 0n));
  const HOURS = Math.min(96, Math.max(24, Math.ceil(longest / 6) * 6));
  const STEPS = HOURS * 2;
  const series = market.assets.map((a: AssetMarket) =>
    Array.from({ length: STEPS + 1 }, (_, k) => sigmaAt(a.anchor, a.sigmaMin, a.sigmaMax, market.blockTime + BigInt(k * 1800))),
  );
  const top = [...series.flat(), ...market.assets.map((a) => a.sigmaTarget)].reduce((x, y) => (y > x ? y : x), 1n);
  const yMax = top + top / 10n;
  const x = (k: number): number => PAD + ((W - 2 * PAD) * k) / STEPS;
  const y = (v: bigint): number => H - PAD - Number((BigInt(H - 2 * PAD) * 1000n * v) / yMax) / 1000;
  // Target labels, nudged apart so close targets stay readable.
  const labels = market.assets
    .map((a, i) => ({ i, y: y(a.sigmaTarget) + 4, text: assetAt(keel, a.address)?.symbol ?? "" }))
    .sort((a, b) => a.y - b.y);
  for (let k = 1; k < labels.length; k++) {
    const prev = labels[k - 1]!;
    const cur = labels[k]!;
    if (cur.y - prev.y < 12) cur.y = prev.y + 12;
  }
  const ticks = [0, 1, 2, 3, 4].map((q) => (HOURS * q) / 4);
  return (
    <svg data-testid="sigma-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`σ in force of each asset over the next ${HOURS} hours, moving toward its target`} className="chart">
      <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} stroke="#888" />
      <line x1={PAD} y1={PAD} x2={PAD} y2={H - PAD} stroke="#888" />
      {ticks.map((h) => (
        <text key={h} x={x(h * 2)} y={H - PAD + 16} fontSize="11" textAnchor="middle">+{h} h</text>
      ))}
      <text x={PAD - 4} y={y(yMax) + 10} fontSize="11" textAnchor="end">{formatFixed(yMax * 100n, 18, 1)}%</text>
      <text x={PAD - 4} y={H - PAD} fontSize="11" textAnchor="end">0%</text>
      {market.assets.map((a, i) => {
        const color = COLORS[i % COLORS.length]!;
        const points = (series[i] ?? []).map((v, k) => `${x(k).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
        return (
          <g key={a.address}>
            <polyline points={points} fill="none" stroke={color} strokeWidth="2" />
            <line x1={PAD} x2={W - PAD} y1={y(a.sigmaTarget)} y2={y(a.sigmaTarget)} stroke={color} strokeDasharray="4 4" strokeWidth="1" />
          </g>
        );
      })}
      {labels.map((l) => (
        <text key={l.i} x={W - PAD + 4} y={l.y} fontSize="11" fill={COLORS[l.i % COLORS.length]}>{l.text}</text>
      ))}
    </svg>
  );
}
