/**
 * The protocol's loss distribution (`portfolioRisk`, `positionOutcome`): exact bad debt and HF of a tiny book through the
 * `src/math` mirror, deterministic Monte Carlo, and fatter tails raising the book's ES.
 */
import { expect } from "chai";
import { parseKeelConfig } from "../../../src/client/config";
import { localConfig } from "../../../deploy/networks/local";
import { WAD } from "../../../src/math";
import { marketFromConfig, MarketError } from "../../../src/risk/market";
import { portfolioRisk, positionOutcome, type PortfolioPosition } from "../../../src/risk/var";

const E = WAD;
const market = marketFromConfig(parseKeelConfig(localConfig));
const ZERO_VOL = { WETH: 0, WBTC: 0, USDC: 0, wstETH: 0 };
const pricesWith = (weth: bigint): bigint[] => market.assets.map((a) => (a.symbol === "WETH" ? weth : a.price));

describe("portfolio risk", () => {
  it("test_marketFromConfig_pricesAndSigmas", () => {
    expect(market.assets.map((a) => a.price)).to.deep.equal([3000n * E, 60_000n * E, E, 3540n * E]); // wstETH 1.18 × 3000
    expect(market.assets[0]!.sigma).to.equal(E / 20n); // σmin 5% before the first poke
    expect(market.correlation[0 * 4 + 3]).to.equal((95n * E) / 100n);
    expect(market.horizonSeconds).to.equal(86_400);
  });

  it("test_positionOutcome_handComputed_isolatedWeth", () => {
    // 10 WETH, 24,000 kUSD debt. At $3,000: V = 30,000, Lm = max(2.75 × 5%, 10%) × V = 4,125, HF = 25,875 / 24,000.
    const position: PortfolioPosition = { id: 1n, collateral: { WETH: 10n * E }, debt: 24_000n * E };
    const now = positionOutcome(position, market, pricesWith(3000n * E));
    expect(now.value).to.equal(30_000n * E);
    expect(now.hf).to.equal(1_078_125_000_000_000_000n);
    expect(now.badDebt).to.equal(0n);
    // At $2,000: V = 20,000, HF = (20,000 − 2,750) / 24,000 = 0.71875, under criticalHF so the bonus is ℓ = 5%:
    // liquidation repays 20,000 / 1.05 rounded down.
    const crash = positionOutcome(position, market, pricesWith(2000n * E));
    expect(crash.hf).to.equal(718_750_000_000_000_000n);
    expect(crash.recovery).to.equal(19_047_619_047_619_047_619_047n);
    expect(crash.badDebt).to.equal(24_000n * E - 19_047_619_047_619_047_619_047n);
  });

  it("test_positionOutcome_basket_recoversPerAssetPenalty", () => {
    // 1 WETH ($3,000, ℓ 5%) + 1,000 USDC ($1,000, ℓ 2%), debt 4,000: recovery 2,857.142… + 980.392…
    const position: PortfolioPosition = { id: 2n, collateral: { WETH: E, USDC: 1_000n * 10n ** 6n }, debt: 4_000n * E };
    const o = positionOutcome(position, market, market.assets.map((a) => a.price));
    expect(o.recovery).to.equal(2_857_142_857_142_857_142_857n + 980_392_156_862_745_098_039n);
    expect(o.badDebt).to.equal(4_000n * E - o.recovery);
    expect(() => positionOutcome({ id: 3n, collateral: { DOGE: 1n }, debt: 0n }, market, [])).to.throw(MarketError, "DOGE");
  });

  it("test_bookRisk_zeroVolatility_handComputedLoss", () => {
    // Prices never move: the insolvent position's bad debt is the same on every path, the healthy one has none.
    const book: PortfolioPosition[] = [
      { id: "insolvent", collateral: { WETH: 10n * E }, debt: 31_000n * E },
      { id: "healthy", collateral: { WBTC: 10n ** 8n }, debt: 30_000n * E },
    ];
    const r = portfolioRisk(book, market, { confidence: 0.99, horizonSeconds: 86_400, paths: 100, seed: 1n, volatility: ZERO_VOL });
    const bad = 31_000n * E - 28_571_428_571_428_571_428_571n; // 30,000 / 1.05 rounded down
    expect(r.var.wad).to.equal(bad);
    expect(r.es.wad).to.equal(bad);
    expect(r.expectedBadDebt.wad).to.equal(bad);
    expect(r.var.kusd).to.be.closeTo(2428.571428571, 1e-9);
    expect(r.probBadDebt).to.equal(1);
    expect(r.probLiquidatable).to.equal(1);
    expect(r.perPosition[1]!.expectedBadDebt.wad).to.equal(0n);
    expect(r.perPosition[1]!.probLiquidatable).to.equal(0);
    expect(r.perPosition[1]!.hf).to.equal(r.perPosition[1]!.hfAtConfidence);
    expect(r.perPosition[1]!.hfQuantiles.p50).to.equal(r.perPosition[1]!.hf);
    expect(r.samples).to.equal(undefined);
    const debtFree = portfolioRisk([{ id: 0n, collateral: { WETH: E }, debt: 0n }], market, {
      confidence: 0.99, horizonSeconds: 86_400, paths: 10, seed: 1n, includeSamples: true,
    });
    expect(debtFree.perPosition[0]!.hfQuantiles.p01).to.equal(Infinity);
    expect(debtFree.samples!.bookBadDebt).to.deep.equal(new Array<bigint>(10).fill(0n));
  });

  it("test_bookRisk_deterministic_fatTailsRaiseEs", () => {
    const book: PortfolioPosition[] = [
      { id: 1n, collateral: { WETH: 10n * E }, debt: 24_000n * E },
      { id: 2n, collateral: { WBTC: 10n ** 8n }, debt: 50_000n * E },
      { id: 3n, collateral: { WETH: 5n * E, WBTC: 5n * 10n ** 7n, USDC: 10_000n * 10n ** 6n }, debt: 40_000n * E },
    ];
    const options = { confidence: 0.99, horizonSeconds: 86_400, paths: 4_000, seed: 1n };
    const normal = portfolioRisk(book, market, options);
    expect(portfolioRisk(book, market, options)).to.deep.equal(normal);
    const fat = portfolioRisk(book, market, { ...options, tails: { studentT: 3 } });
    expect(fat.es.wad > normal.es.wad).to.equal(true);
    expect(normal.perPosition).to.have.length(3);
    expect(normal.probLiquidatable).to.be.greaterThan(0).and.lessThan(0.5);
    for (const p of normal.perPosition) {
      expect(p.probCritical).to.be.at.most(p.probLiquidatable);
      expect(p.probBadDebt).to.be.at.most(p.probCritical);
      expect(p.es.wad >= p.var.wad).to.equal(true);
    }
  });
});
