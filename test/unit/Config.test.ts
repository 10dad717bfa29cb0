/**
 * `parseKeelConfig`: the default local config parses to the exact protocol units, and every validation failure is a
 * ConfigError whose message names the offending field.
 */
import { expect } from "chai";
import { ConfigError, parseKeelConfig, type KeelConfig, type RawKeelConfig } from "../../src/client/config";
import { localConfig } from "../../deploy/networks/local";
import { perSecondFee } from "../../src/math";
import { UnitError } from "../../src/units";

const WAD = 10n ** 18n;
const pct = (hundredths: bigint): bigint => hundredths * 10n ** 14n; // pct(1_000n) = 10%
/** VaultEngine.MAX_STABILITY_FEE [ray]. */
const MAX_STABILITY_FEE = 1_000_000_021_979_553_151_239_153_027n;

/** A deep copy of the local config, changed by `edit`. */
function variant(edit: (c: RawKeelConfig) => void): RawKeelConfig {
  const c = structuredClone(localConfig);
  edit(c);
  return c;
}

const asset = (c: RawKeelConfig, symbol: string): RawKeelConfig["assets"][number] => {
  const a = c.assets.find((x) => x.symbol === symbol);
  if (!a) throw new Error(`no ${symbol} in config`);
  return a;
};

/** Asserts parseKeelConfig throws a ConfigError with exactly `message`; returns it. */
function expectConfigError(raw: RawKeelConfig, message: string): ConfigError {
  let thrown: unknown;
  try {
    parseKeelConfig(raw);
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ConfigError "${message}"`).to.be.instanceOf(ConfigError);
  expect((thrown as ConfigError).name).to.equal("ConfigError");
  expect((thrown as ConfigError).message).to.equal(message);
  return thrown as ConfigError;
}

describe("parseKeelConfig", () => {
  describe("localConfig", () => {
    it("test_parseKeelConfig_local_parsesToExactProtocolUnits", () => {
      const expected: KeelConfig = {
        assets: [
          {
            symbol: "WETH",
            name: "Wrapped Ether",
            decimals: 18,
            token: undefined,
            price: { feed: undefined, initial: 3000n * 10n ** 8n, decimals: 8, heartbeat: 3600, base: undefined },
            risk: {
              sigmaMin: pct(500n),
              sigmaMax: pct(1_000n),
              maintenanceHaircut: 10n ** 17n, // 0.10e18
              initialHaircut: pct(1_500n),
              liquidationPenalty: pct(500n),
              minLiquidationPenalty: pct(200n),
              fullPenaltyHF: 95n * 10n ** 16n,
            },
            stabilityFee: perSecondFee(pct(200n)),
            debtCeiling: 500_000_000n * WAD,
            supplyCap: 1_000_000n * WAD,
          },
          {
            symbol: "WBTC",
            name: "Wrapped Bitcoin",
            decimals: 8,
            token: undefined,
            price: { feed: undefined, initial: 60_000n * 10n ** 8n, decimals: 8, heartbeat: 3600, base: undefined },
            risk: {
              sigmaMin: pct(450n),
              sigmaMax: pct(1_000n),
              maintenanceHaircut: pct(1_000n),
              initialHaircut: pct(1_450n),
              liquidationPenalty: pct(500n),
              minLiquidationPenalty: pct(200n),
              fullPenaltyHF: 95n * 10n ** 16n,
            },
            stabilityFee: perSecondFee(pct(200n)),
            debtCeiling: 300_000_000n * WAD,
            supplyCap: 20_000n * 10n ** 8n,
          },
          {
            symbol: "USDC",
            name: "USD Coin",
            decimals: 6,
            token: undefined,
            price: { feed: undefined, initial: 10n ** 8n, decimals: 8, heartbeat: 86_400, base: undefined },
            risk: {
              sigmaMin: pct(50n),
              sigmaMax: pct(1_000n),
              maintenanceHaircut: pct(700n),
              initialHaircut: pct(900n),
              liquidationPenalty: pct(200n),
              minLiquidationPenalty: pct(100n),
              fullPenaltyHF: 95n * 10n ** 16n,
            },
            stabilityFee: perSecondFee(pct(100n)),
            debtCeiling: 200_000_000n * WAD,
            supplyCap: 500_000_000n * 10n ** 6n,
          },
          {
            symbol: "wstETH",
            name: "Wrapped liquid staked Ether",
            decimals: 18,
            token: undefined,
            price: { feed: undefined, initial: 118n * 10n ** 16n, decimals: 18, heartbeat: 86_400, base: "WETH" },
            risk: {
              sigmaMin: pct(550n),
              sigmaMax: pct(2_700n),
              maintenanceHaircut: pct(1_100n),
              initialHaircut: pct(1_600n),
              liquidationPenalty: pct(600n),
              minLiquidationPenalty: pct(250n),
              fullPenaltyHF: 95n * 10n ** 16n,
            },
            stabilityFee: perSecondFee(pct(250n)),
            debtCeiling: 200_000_000n * WAD,
            supplyCap: 500_000n * WAD,
          },
        ],
        correlations: new Map([
          ["WETH/WBTC", 90n * 10n ** 16n],
          ["WETH/USDC", 0n],
          ["WETH/wstETH", 95n * 10n ** 16n],
          ["WBTC/USDC", 0n],
          ["WBTC/wstETH", 72n * 10n ** 16n],
          ["USDC/wstETH", 0n],
        ]),
        confidence: { zMaintenance: 275n * 10n ** 16n, zInitial: 366n * 10n ** 16n },
        cross: { stabilityFee: perSecondFee(pct(300n)), debtCeiling: 500_000_000n * WAD },
        globalDebtCeiling: 1_000_000_000n * WAD,
        dust: 100n * WAD,
        amm: { feeBps: 30 },
        ammShallow: { feeBps: 100 },
        peg: { reserve: "USDC", feeIn: pct(10n), feeOut: pct(10n), debtCeiling: 50_000_000n * WAD, freezeThreshold: pct(200n) },
        savings: { rate: perSecondFee(pct(200n)) },
        liquidation: {
          gracePeriod: 21_600,
          criticalHF: 95n * 10n ** 16n,
          targetHF: 105n * 10n ** 16n,
          closeFactor: WAD / 2n,
          protocolShare: WAD / 5n,
        },
        volatility: { horizon: 86_400, halfLife: 1_209_600, minInterval: 3_600, maxStep: pct(25n) },
        flashMint: { fee: pct(5n), cap: 100_000_000n * WAD },
        governance: { timelockDelay: 172_800, guardian: undefined, proposers: undefined, executors: undefined },
        sequencer: undefined,
        wrappedNative: "WETH",
      };
      const parsed = parseKeelConfig(localConfig);
      expect(parsed).to.deep.equal(expected);

      // The figures the brief pins, spelled out.
      expect(parsed.assets[0]!.risk.maintenanceHaircut).to.equal(100_000_000_000_000_000n);
      expect(parsed.dust).to.equal(100_000_000_000_000_000_000n);
      expect(parsed.governance.timelockDelay).to.equal(172_800);
      expect(parsed.confidence.zMaintenance).to.equal(2_750_000_000_000_000_000n);
      // Fees are per-second factors, checked against the bisection's exact output.
      expect(parsed.cross.stabilityFee).to.equal(perSecondFee(3n * 10n ** 16n));
      expect(parsed.assets[0]!.stabilityFee > 10n ** 27n).to.equal(true);
    });

    it("test_parseKeelConfig_doesNotMutateItsInput", () => {
      const before = structuredClone(localConfig);
      parseKeelConfig(localConfig);
      expect(localConfig).to.deep.equal(before);
    });

    it("test_parseKeelConfig_acceptsTheBoundaries", () => {
      const parsed = parseKeelConfig(
        variant((c) => {
          asset(c, "WETH").risk.liquidationPenalty = "25%";
          // (1 + 25%)(1 − 25%) = 0.9375 stays under the critical HF of 0.95.
          asset(c, "WETH").risk.maintenanceHaircut = "25%";
          asset(c, "WETH").risk.initialHaircut = "25%";
          asset(c, "WETH").stabilityFee = "100%";
          asset(c, "WETH").price.heartbeat = "60s";
          asset(c, "WBTC").price.heartbeat = "1 week";
          asset(c, "USDC").risk.sigmaMax = asset(c, "USDC").risk.sigmaMin;
          asset(c, "USDC").risk.initialHaircut = asset(c, "USDC").risk.maintenanceHaircut;
          c.correlations["WETH/WBTC"] = "1";
          c.correlations["WBTC/wstETH"] = "0.95"; // WBTC then moves exactly with WETH
          c.cross.stabilityFee = "0%";
          c.wrappedNative = "wstETH";
        }),
      );
      const weth = parsed.assets[0]!;
      expect(weth.risk.liquidationPenalty).to.equal(WAD / 4n);
      expect(weth.stabilityFee).to.equal(MAX_STABILITY_FEE);
      expect(weth.price.heartbeat).to.equal(60);
      expect(parsed.assets[1]!.price.heartbeat).to.equal(604_800);
      expect(parsed.assets[2]!.risk.sigmaMax).to.equal(pct(50n));
      expect(parsed.assets[2]!.risk.initialHaircut).to.equal(pct(700n));
      expect(parsed.correlations.get("WETH/WBTC")).to.equal(WAD);
      expect(parsed.cross.stabilityFee).to.equal(10n ** 27n);
      expect(parsed.wrappedNative).to.equal("wstETH");
    });

    it("test_parseKeelConfig_ordersCorrelationKeysByListing", () => {
      const parsed = parseKeelConfig(
        variant((c) => {
          delete c.correlations["WETH/WBTC"];
          c.correlations["WBTC/WETH"] = "0.5";
        }),
      );
      expect(parsed.correlations.get("WETH/WBTC")).to.equal(WAD / 2n);
      expect(parsed.correlations.has("WBTC/WETH")).to.equal(false);
    });
  });

  describe("validation failures name the field", () => {
    it("test_correlations_missingPair", () => {
      expectConfigError(
        variant((c) => delete c.correlations["WBTC/USDC"]),
        `correlations: missing "WBTC/USDC"`,
      );
    });

    it("test_correlations_notPositiveSemiDefinite: USDC at 0.9 with WETH but 0 with WBTC (0.9 with WETH)", () => {
      expectConfigError(
        variant((c) => (c.correlations["WETH/USDC"] = "0.9")),
        "correlations: no set of returns has these correlations (the matrix is not positive semi-definite; it fails at USDC)",
      );
      // Consistent as a whole (USDC = 0.9 WETH + noise): accepted.
      parseKeelConfig(
        variant((c) => {
          c.correlations["WETH/USDC"] = "0.9";
          c.correlations["WBTC/USDC"] = "0.81";
          c.correlations["USDC/wstETH"] = "0.855";
        }),
      );
    });

    it("test_correlations_aboveOne", () => {
      expectConfigError(
        variant((c) => (c.correlations["WETH/WBTC"] = "1.01")),
        "correlations.WETH/WBTC: 1.01 is outside [0, 1]",
      );
    });

    it("test_correlations_negativeOrNotANumber", () => {
      const e = expectConfigError(
        variant((c) => (c.correlations["WETH/WBTC"] = "-0.1")),
        `correlations.WETH/WBTC: "-0.1" is not a non-negative decimal number`,
      );
      expect(e.cause).to.be.instanceOf(UnitError);
    });

    it("test_correlations_pairGivenTwice_unknownSymbol_selfPair", () => {
      expectConfigError(
        variant((c) => (c.correlations["WBTC/WETH"] = "0.75")),
        "correlations.WBTC/WETH: pair given twice",
      );
      expectConfigError(
        variant((c) => (c.correlations["WETH/DOGE"] = "0.5")),
        `correlations.WETH/DOGE: expected "A/B" of two different listed symbols`,
      );
      expectConfigError(
        variant((c) => (c.correlations["WETH/WETH"] = "1")),
        `correlations.WETH/WETH: expected "A/B" of two different listed symbols`,
      );
      expectConfigError(
        variant((c) => (c.correlations["WETH"] = "1")),
        `correlations.WETH: expected "A/B" of two different listed symbols`,
      );
    });

    it("test_assets_duplicateSymbol", () => {
      expectConfigError(
        variant((c) => c.assets.push(structuredClone(asset(c, "WBTC")))),
        "assets.WBTC: duplicate symbol",
      );
    });

    it("test_assets_compositeBaseNotListedEarlier", () => {
      // Base listed after the composite.
      expectConfigError(
        variant((c) => {
          const wsteth = c.assets.pop()!;
          c.assets.unshift(wsteth);
        }),
        `assets.wstETH.price.base: "WETH" must be an asset listed before wstETH`,
      );
      // Base never listed.
      expectConfigError(
        variant((c) => (asset(c, "wstETH").price.base = "stETH")),
        `assets.wstETH.price.base: "stETH" must be an asset listed before wstETH`,
      );
      // An asset cannot be its own base.
      expectConfigError(
        variant((c) => (asset(c, "wstETH").price.base = "wstETH")),
        `assets.wstETH.price.base: "wstETH" must be an asset listed before wstETH`,
      );
    });

    it("test_risk_sigmaMaxBelowSigmaMin", () => {
      expectConfigError(
        variant((c) => (asset(c, "WETH").risk.sigmaMax = "4%")),
        "assets.WETH.risk.sigmaMax: below sigmaMin",
      );
    });

    it("test_risk_sigmaOutOfRange", () => {
      expectConfigError(
        variant((c) => (asset(c, "WBTC").risk.sigmaMax = "101%")),
        "assets.WBTC.risk.sigmaMax: 1010000000000000000 is outside [100000000000000, 1000000000000000000]",
      );
      expectConfigError(
        variant((c) => (asset(c, "WBTC").risk.sigmaMin = "0.001%")),
        "assets.WBTC.risk.sigmaMin: 10000000000000 is outside [100000000000000, 1000000000000000000]",
      );
    });

    it("test_risk_initialHaircutBelowMaintenanceHaircut", () => {
      expectConfigError(
        variant((c) => (asset(c, "USDC").risk.initialHaircut = "6.99%")),
        "assets.USDC.risk.initialHaircut: below maintenanceHaircut",
      );
    });

    it("test_risk_haircutOutOfRange", () => {
      expectConfigError(
        variant((c) => (asset(c, "WETH").risk.maintenanceHaircut = "0.05%")),
        "assets.WETH.risk.maintenanceHaircut: 500000000000000 is outside [1000000000000000, 990000000000000000]",
      );
      expectConfigError(
        variant((c) => (asset(c, "WETH").risk.initialHaircut = "99.5%")),
        "assets.WETH.risk.initialHaircut: 995000000000000000 is outside [1000000000000000, 990000000000000000]",
      );
    });

    it("test_risk_penaltyAbove25Percent", () => {
      expectConfigError(
        variant((c) => (asset(c, "WETH").risk.liquidationPenalty = "25.01%")),
        "assets.WETH.risk.liquidationPenalty: 250100000000000000 is outside [0, 250000000000000000]",
      );
    });

    it("test_risk_valueWithoutPercentSign", () => {
      const e = expectConfigError(
        variant((c) => (asset(c, "WETH").risk.sigmaMin = "0.05")),
        `assets.WETH.risk.sigmaMin: "0.05" must end with %`,
      );
      expect(e.cause).to.be.instanceOf(UnitError);
    });

    it("test_fee_above100Percent", () => {
      expectConfigError(
        variant((c) => (asset(c, "WBTC").stabilityFee = "100.01%")),
        "assets.WBTC.stabilityFee: 1000100000000000000 is outside [0, 1000000000000000000]",
      );
      expectConfigError(
        variant((c) => (c.cross.stabilityFee = "150%")),
        "cross.stabilityFee: 1500000000000000000 is outside [0, 1000000000000000000]",
      );
    });

    it("test_flashMint_feeAbove1Percent_capAbove1e30", () => {
      expectConfigError(
        variant((c) => (c.flashMint.fee = "1.5%")),
        "flashMint.fee: 15000000000000000 is outside [0, 10000000000000000]",
      );
      expectConfigError(
        variant((c) => (c.flashMint.cap = "1,000,000,000,001")),
        `flashMint.cap: ${1_000_000_000_001n * WAD} is outside [0, ${10n ** 30n}]`,
      );
    });

    it("test_liquidation_penaltyTooHighForCriticalHF", () => {
      expectConfigError(
        variant((c) => (asset(c, "WETH").risk.liquidationPenalty = "6%")),
        "assets.WETH.risk: (1 + liquidationPenalty)(1 − maintenanceHaircut) = 0.954 exceeds liquidation.criticalHF 0.95",
      );
    });

    it("test_liquidation_outOfRange", () => {
      expectConfigError(variant((c) => (c.liquidation.gracePeriod = "8 days")), "liquidation.gracePeriod: 691200s is above 7 days");
      expectConfigError(
        variant((c) => (c.liquidation.targetHF = "1")),
        `liquidation.targetHF: ${WAD} is outside [${WAD + 1n}, ${(3n * WAD) / 2n}]`,
      );
      expectConfigError(variant((c) => (c.liquidation.closeFactor = "0%")), "liquidation.closeFactor: must be in (0%, 100%]");
    });

    it("test_ceilings_and_dust_outOfRange", () => {
      expectConfigError(
        variant((c) => (asset(c, "WETH").debtCeiling = "10,000,000,001")),
        `assets.WETH.debtCeiling: ${10_000_000_001n * WAD} is outside [0, ${10n ** 28n}]`,
      );
      expectConfigError(
        variant((c) => (c.globalDebtCeiling = "10,000,000,001")),
        `globalDebtCeiling: ${10_000_000_001n * WAD} is outside [0, ${10n ** 28n}]`,
      );
      expectConfigError(
        variant((c) => (c.dust = "1,000,001")),
        `dust: ${1_000_001n * WAD} is outside [0, ${10n ** 24n}]`,
      );
    });

    it("test_price_heartbeatOutOfRange", () => {
      expectConfigError(
        variant((c) => (asset(c, "WETH").price.heartbeat = "59s")),
        "assets.WETH.price.heartbeat: 59s is outside [60s, 7 days]",
      );
      expectConfigError(
        variant((c) => (asset(c, "USDC").price.heartbeat = "8 days")),
        "assets.USDC.price.heartbeat: 691200s is outside [60s, 7 days]",
      );
    });

    it("test_price_heartbeatUnknownUnit", () => {
      const e = expectConfigError(
        variant((c) => (asset(c, "WETH").price.heartbeat = "1 fortnight")),
        `assets.WETH.price.heartbeat: "1 fortnight" is not a duration like "1h" or "2 days"`,
      );
      expect(e.cause).to.be.instanceOf(UnitError);
    });

    it("test_price_initialRequiredForMockFeed_existingTokenNeedsFeed", () => {
      expectConfigError(
        variant((c) => delete asset(c, "WBTC").price.initial),
        "assets.WBTC.price.initial: required when a mock feed is deployed",
      );
      expectConfigError(
        variant((c) => (asset(c, "WBTC").token = "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599")),
        "assets.WBTC: an existing token needs an existing price.feed",
      );
      expectConfigError(
        variant((c) => (asset(c, "WBTC").price.initial = "60000.123456789")),
        `assets.WBTC.price.initial: "60000.123456789" has more than 8 decimal places`,
      );
    });

    it("test_confidence_initialNotAboveMaintenance", () => {
      expectConfigError(
        variant((c) => (c.confidence.initial = "2.75")),
        "confidence.initial: must exceed confidence.maintenance",
      );
      expectConfigError(
        variant((c) => (c.confidence = { maintenance: "3.09", initial: "2.33" })),
        "confidence.initial: must exceed confidence.maintenance",
      );
    });

    it("test_confidence_outOfRange", () => {
      expectConfigError(
        variant((c) => (c.confidence.maintenance = "0.99")),
        `confidence.maintenance: ${99n * 10n ** 16n} is outside [${WAD}, ${10n * WAD}]`,
      );
      expectConfigError(
        variant((c) => (c.confidence.initial = "10.01")),
        `confidence.initial: ${1001n * 10n ** 16n} is outside [${WAD}, ${10n * WAD}]`,
      );
    });

    it("test_wrappedNative_unknown", () => {
      expectConfigError(
        variant((c) => (c.wrappedNative = "WMATIC")),
        `wrappedNative: "WMATIC" is not an asset`,
      );
    });

    it("test_addresses_rejected_by_schema", () => {
      const e = expectConfigError(
        variant((c) => (c.governance.guardian = "0x1234")),
        "config.governance.guardian: not an address",
      );
      expect(e.cause).to.be.an("error");
      expectConfigError(
        variant((c) => (asset(c, "WETH").price.feed = "not-an-address")),
        "config.assets.0.price.feed: not an address",
      );
      expectConfigError(
        variant((c) => (c.governance.proposers = ["0x5FbDB2315678afecb367f032d93F642f64180aa3", "0xZZ"])),
        "config.governance.proposers.1: not an address",
      );
      expectConfigError(
        variant((c) => (c.sequencer = { uptimeFeed: "0x00", gracePeriod: "1h" })),
        "config.sequencer.uptimeFeed: not an address",
      );
    });

    it("test_schema_shapeErrors_namePath", () => {
      expectConfigError(
        variant((c) => (asset(c, "USDC").decimals = 37)),
        "config.assets.2.decimals: Number must be less than or equal to 36",
      );
      expectConfigError(
        variant((c) => (asset(c, "USDC").symbol = "1USDC")),
        "config.assets.2.symbol: Invalid",
      );
      expectConfigError(
        variant((c) => (c.assets = [])),
        "config.assets: Array must contain at least 1 element(s)",
      );
    });
  });

  describe("volatility", () => {
    type RawVolatility = NonNullable<RawKeelConfig["volatility"]>;
    const vol = (v: Partial<RawVolatility>): RawKeelConfig =>
      variant((c) => (c.volatility = { ...c.volatility!, ...v }));
    const parse = (v: Partial<RawVolatility>): KeelConfig["volatility"] => parseKeelConfig(vol(v)).volatility;
    const RANGE_STEP = "[100000000000000, 100000000000000000]";

    it("test_volatility_defaultsWhenOmitted", () => {
      const parsed = parseKeelConfig(variant((c) => delete c.volatility));
      const defaults = { horizon: 86_400, halfLife: 259_200, minInterval: 3_600, maxStep: pct(25n) };
      expect(parsed.volatility).to.deep.equal(defaults);
      // The local config differs from the defaults in its half-life only: 14 days, the backtest's choice.
      expect(parsed.volatility).to.deep.equal({ ...parseKeelConfig(localConfig).volatility, halfLife: 259_200 });
    });

    it("test_volatility_parsesHumanUnits_andAcceptsTheContractBounds", () => {
      const human = parse({ horizon: "12 hours", halfLife: "1 week", minInterval: "90s", maxStepPerHour: "0.5%" });
      expect(human).to.deep.equal({ horizon: 43_200, halfLife: 604_800, minInterval: 90, maxStep: 5n * 10n ** 15n });
      // VolatilityOracle: MIN/MAX_HORIZON, MIN/MAX_HALF_LIFE, MIN_INTERVAL_FLOOR/MAX_INTERVAL, MIN/MAX_STEP.
      const lows = parse({ horizon: "1h", halfLife: "60 minutes", minInterval: "1m", maxStepPerHour: "0.01%" });
      expect(lows).to.deep.equal({ horizon: 3_600, halfLife: 3_600, minInterval: 60, maxStep: 10n ** 14n });
      const highs = parse({ horizon: "30 days", halfLife: "365 days", minInterval: "1 day", maxStepPerHour: "10%" });
      expect(highs).to.deep.equal({
        horizon: 2_592_000,
        halfLife: 31_536_000,
        minInterval: 86_400,
        maxStep: WAD / 10n,
      });
    });

    it("test_volatility_outOfRange_namesTheFieldAndTheBounds", () => {
      const cases: [Partial<RawVolatility>, string][] = [
        [{ horizon: "0s" }, "volatility.horizon: 0s is outside [3600s, 2592000s]"],
        [{ horizon: "59 minutes" }, "volatility.horizon: 3540s is outside [3600s, 2592000s]"],
        [{ horizon: "31 days" }, "volatility.horizon: 2678400s is outside [3600s, 2592000s]"],
        [{ halfLife: "59m" }, "volatility.halfLife: 3540s is outside [3600s, 31536000s]"],
        [{ halfLife: "366 days" }, "volatility.halfLife: 31622400s is outside [3600s, 31536000s]"],
        [{ minInterval: "59s" }, "volatility.minInterval: 59s is outside [60s, 86400s]"],
        [{ minInterval: "25h" }, "volatility.minInterval: 90000s is outside [60s, 86400s]"],
        [{ maxStepPerHour: "0.009%" }, `volatility.maxStepPerHour: 90000000000000 is outside ${RANGE_STEP}`],
        [{ maxStepPerHour: "10.01%" }, `volatility.maxStepPerHour: 100100000000000000 is outside ${RANGE_STEP}`],
      ];
      for (const [v, message] of cases) expectConfigError(vol(v), message);
    });

    it("test_volatility_unparseableOrMissingFields", () => {
      let e = expectConfigError(
        vol({ horizon: "1 fortnight" }),
        `volatility.horizon: "1 fortnight" is not a duration like "1h" or "2 days"`,
      );
      expect(e.cause).to.be.instanceOf(UnitError);
      e = expectConfigError(vol({ maxStepPerHour: "0.0025" }), `volatility.maxStepPerHour: "0.0025" must end with %`);
      expect(e.cause).to.be.instanceOf(UnitError);
      expectConfigError(vol({ halfLife: "-1h" }), `volatility.halfLife: "-1h" is not a duration like "1h" or "2 days"`);
      expectConfigError(
        vol({ minInterval: "" }),
        "config.volatility.minInterval: String must contain at least 1 character(s)",
      );
      expectConfigError(
        variant((c) => {
          const { horizon, halfLife, minInterval } = c.volatility!;
          c.volatility = { horizon, halfLife, minInterval } as RawVolatility;
        }),
        "config.volatility.maxStepPerHour: Required",
      );
    });
  });

  describe("top-level numbers", () => {
    it("test_unparseableTopLevelNumbers_nameTheirField", () => {
      const cases: [RawKeelConfig, string][] = [
        [variant((c) => (c.confidence.maintenance = "2.33x")), "confidence.maintenance"],
        [variant((c) => (c.confidence.initial = "three")), "confidence.initial"],
        [variant((c) => (c.cross.debtCeiling = "500M")), "cross.debtCeiling"],
        [variant((c) => (c.globalDebtCeiling = "1e9")), "globalDebtCeiling"],
      ];
      const wrong: string[] = [];
      for (const [raw, field] of cases) {
        let message = "";
        try {
          parseKeelConfig(raw);
        } catch (e) {
          expect(e).to.be.instanceOf(ConfigError);
          message = (e as ConfigError).message;
        }
        if (!message.startsWith(`${field}: `)) wrong.push(`${field} → "${message}"`);
      }
      expect(wrong, wrong.join("\n")).to.deep.equal([]);
    });
  });
});
