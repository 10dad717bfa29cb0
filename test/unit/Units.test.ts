/**
 * Human units in, protocol units out (`src/units`): every parser's happy path, and every rejection as a UnitError
 * whose message names the field and quotes the input.
 */
import { expect } from "chai";
import {
  UnitError,
  formatFixed,
  formatPercent,
  parseAmount,
  parseDuration,
  parseFixed,
  parsePercent,
  parseWad,
} from "../../src/units";

const WAD = 10n ** 18n;

/** Asserts that `f` throws a UnitError with exactly `message`. */
function expectUnitError(f: () => unknown, message: string): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected UnitError "${message}"`).to.be.instanceOf(UnitError);
  expect((thrown as UnitError).name).to.equal("UnitError");
  expect((thrown as UnitError).message).to.equal(message);
}

describe("src/units", () => {
  describe("parseFixed", () => {
    it("test_parseFixed_readsDecimalsWithGroupingAndPadding", () => {
      expect(parseFixed("0", 18)).to.equal(0n);
      expect(parseFixed("1", 18)).to.equal(WAD);
      expect(parseFixed("1,000.5", 18)).to.equal(1000n * WAD + WAD / 2n);
      expect(parseFixed("1_000_000", 6)).to.equal(10n ** 12n);
      expect(parseFixed("  42  ", 2)).to.equal(4200n);
      expect(parseFixed("0.000001", 6)).to.equal(1n);
      expect(parseFixed("0.000000000000000001", 18)).to.equal(1n);
      expect(parseFixed("123", 0)).to.equal(123n);
      expect(parseFixed("1.50", 2)).to.equal(150n);
      expect(parseFixed("007.5", 1)).to.equal(75n);
      // Exact beyond 2^53: no float anywhere.
      expect(parseFixed("115,792,089,237,316,195,423,570,985,008,687,907,853,269,984,665,640,564,039,457", 18)).to.equal(
        115792089237316195423570985008687907853269984665640564039457n * WAD,
      );
    });

    it("test_parseFixed_rejectsText_naming_the_input", () => {
      for (const bad of ["", "abc", "-1", "+1", "1.2.3", "1e18", ".5", "1.", "0x10", "1 000", "NaN", "1.5%"]) {
        expectUnitError(() => parseFixed(bad, 18), `amount: "${bad}" is not a non-negative decimal number`);
      }
      expectUnitError(() => parseFixed("ten", 18, "dust"), `dust: "ten" is not a non-negative decimal number`);
    });

    it("test_parseFixed_rejectsTooManyDecimals", () => {
      expectUnitError(() => parseFixed("1.1234567", 6), `amount: "1.1234567" has more than 6 decimal places`);
      expectUnitError(() => parseFixed("0.1", 0, "supplyCap"), `supplyCap: "0.1" has more than 0 decimal places`);
      expectUnitError(
        () => parseFixed("1.0000000000000000001", 18),
        `amount: "1.0000000000000000001" has more than 18 decimal places`,
      );
    });

    it("test_parseWad_isParseFixedAt18", () => {
      expect(parseWad("2.33")).to.equal(233n * 10n ** 16n);
      expect(parseWad("0.95")).to.equal(95n * 10n ** 16n);
      expectUnitError(() => parseWad("2,33x", "z"), `z: "2,33x" is not a non-negative decimal number`);
      expectUnitError(() => parseWad("bad"), `value: "bad" is not a non-negative decimal number`);
    });
  });

  describe("parsePercent", () => {
    it("test_parsePercent_returnsWadFractions", () => {
      expect(parsePercent("5%")).to.equal(5n * 10n ** 16n);
      expect(parsePercent("12.5%")).to.equal(125n * 10n ** 15n);
      expect(parsePercent(" 0.05% ")).to.equal(5n * 10n ** 14n);
      expect(parsePercent("100%")).to.equal(WAD);
      expect(parsePercent("0%")).to.equal(0n);
      expect(parsePercent("250%")).to.equal(25n * 10n ** 17n);
      expect(parsePercent("0.0000000000000001%")).to.equal(1n); // 16 decimals = 1 wei of a WAD
    });

    it("test_parsePercent_requiresTrailingPercent", () => {
      expectUnitError(() => parsePercent("5"), `percentage: "5" must end with %`);
      expectUnitError(() => parsePercent("5 percent", "penalty"), `penalty: "5 percent" must end with %`);
      expectUnitError(() => parsePercent("%5"), `percentage: "%5" must end with %`);
    });

    it("test_parsePercent_rejectsBadNumbersAndTooManyDecimals", () => {
      // The message quotes the input as typed.
      expectUnitError(() => parsePercent("abc%", "fee"), `fee: "abc%" is not a non-negative decimal number`);
      expectUnitError(() => parsePercent("%"), `percentage: "%" is not a non-negative decimal number`);
      expectUnitError(() => parsePercent("-5%"), `percentage: "-5%" is not a non-negative decimal number`);
      expectUnitError(
        () => parsePercent("0.00000000000000001%"),
        `percentage: "0.00000000000000001%" has more than 16 decimal places`,
      );
    });
  });

  describe("parseAmount", () => {
    it("test_parseAmount_inTokenDecimals_withOptionalUnitWord", () => {
      expect(parseAmount("1.5", 18)).to.equal(15n * 10n ** 17n);
      expect(parseAmount("100,000 USDC", 6)).to.equal(100_000n * 10n ** 6n);
      expect(parseAmount("  7 kUSD ", 18)).to.equal(7n * WAD);
      expect(parseAmount("0.00000001 WBTC", 8)).to.equal(1n);
      expect(parseAmount("3000", 8)).to.equal(3000n * 10n ** 8n);
      expect(parseAmount("20,000", 8)).to.equal(20_000n * 10n ** 8n);
    });

    it("test_parseAmount_rejectsBadTextAndTooManyDecimals", () => {
      expectUnitError(() => parseAmount("lots", 18), `amount: "lots" is not a non-negative decimal number`);
      // A trailing unit word is dropped before parsing, so the message quotes the number.
      expectUnitError(() => parseAmount("1.1234567 USDC", 6, "cap"), `cap: "1.1234567 USDC" has more than 6 decimal places`);
      expectUnitError(() => parseAmount("1.5 two words", 18), `amount: "1.5 two words" is not a non-negative decimal number`);
      expectUnitError(() => parseAmount("USDC 100", 6), `amount: "USDC 100" is not a non-negative decimal number`);
    });
  });

  describe("parseDuration", () => {
    it("test_parseDuration_everyUnit", () => {
      const table: [string, number][] = [
        ["90s", 90],
        ["1 sec", 1],
        ["1 second", 1],
        ["30 seconds", 30],
        ["5m", 300],
        ["5 min", 300],
        ["1 minute", 60],
        ["15 minutes", 900],
        ["1h", 3600],
        ["1 hour", 3600],
        ["6 hours", 21_600],
        ["1d", 86_400],
        ["1 day", 86_400],
        ["2 days", 172_800],
        ["1w", 604_800],
        ["1 week", 604_800],
        ["2 weeks", 1_209_600],
        [" 2 DAYS ", 172_800],
        ["0s", 0],
      ];
      for (const [text, seconds] of table) expect(parseDuration(text), text).to.equal(seconds);
    });

    it("test_parseDuration_rejectsUnknownUnitsAndBadText", () => {
      for (const bad of ["2 fortnights", "1 y", "1 month", "1.5h", "h", "", "-1h", "1h30m", "60"]) {
        expectUnitError(() => parseDuration(bad), `duration: "${bad}" is not a duration like "1h" or "2 days"`);
      }
      expectUnitError(
        () => parseDuration("soon", "governance.timelockDelay"),
        `governance.timelockDelay: "soon" is not a duration like "1h" or "2 days"`,
      );
    });

    it("test_parseDuration_rejectsObjectPrototypeNames: \"2 constructor\" was read as NaN seconds, which passes every range check", () => {
      for (const bad of ["2 constructor", "1constructor"]) {
        expectUnitError(() => parseDuration(bad, "assets.WETH.price.heartbeat"), `assets.WETH.price.heartbeat: "${bad}" is not a duration like "1h" or "2 days"`);
      }
    });
  });

  describe("formatFixed / formatPercent", () => {
    it("test_formatFixed_groupsThousands_trimsZeros_truncates", () => {
      expect(formatFixed(1_234_500_000_000_000_000_000n, 18)).to.equal("1,234.5");
      expect(formatFixed(0n, 18)).to.equal("0");
      expect(formatFixed(1n, 18)).to.equal("0.000000000000000001");
      expect(formatFixed(1n, 18, 2)).to.equal("0");
      expect(formatFixed(1999n, 3, 2)).to.equal("1.99"); // truncates, never rounds up
      expect(formatFixed(1000n * WAD, 18)).to.equal("1,000");
      expect(formatFixed(1_000_000n, 6)).to.equal("1");
      expect(formatFixed(-1_500_000n, 6)).to.equal("-1.5");
      expect(formatFixed(123_456_789n, 0)).to.equal("123,456,789");
      expect(formatFixed(2n ** 256n - 1n, 18)).to.equal(
        "115,792,089,237,316,195,423,570,985,008,687,907,853,269,984,665,640,564,039,457.584007913129639935",
      );
    });

    it("test_formatFixed_roundTripsThroughParseFixed", () => {
      const cases: [bigint, number][] = [
        [0n, 18],
        [1n, 18],
        [1_234_500_000_000_000_000_000n, 18],
        [10n ** 30n + 7n, 18],
        [123_456_789n, 6],
        [99_999_999n, 8],
        [42n, 0],
        [2n ** 256n - 1n, 18],
        [10n ** 36n - 1n, 36],
      ];
      for (const [value, decimals] of cases) {
        expect(parseFixed(formatFixed(value, decimals), decimals), `${value} @ ${decimals}`).to.equal(value);
      }
    });

    it("test_formatPercent", () => {
      expect(formatPercent(125n * 10n ** 15n)).to.equal("12.5%");
      expect(formatPercent(5n * 10n ** 16n)).to.equal("5%");
      expect(formatPercent(WAD)).to.equal("100%");
      expect(formatPercent(0n)).to.equal("0%");
      expect(formatPercent(1n)).to.equal("0%");
      expect(formatPercent(12_345n * 10n ** 13n)).to.equal("12.34%"); // truncated to 2 places
      expect(formatPercent(12_345n * 10n ** 13n, 4)).to.equal("12.345%");
      expect(formatPercent(5n * 10n ** 14n, 4)).to.equal("0.05%");
      for (const text of ["5%", "12.5%", "100%", "0.05%"]) {
        expect(formatPercent(parsePercent(text))).to.equal(text);
      }
    });
  });
});
