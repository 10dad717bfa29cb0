/**
 * Price series loading (`src/risk/series`): CSV and both JSON shapes, the shipped sample history, and every bad input
 * as a SeriesError naming the file and the line or JSON path.
 */
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSeries, parseCsvSeries, parseJsonSeries, SeriesError, seriesToCsv } from "../../../src/risk/series";
import { syntheticHistory } from "../../../src/risk/syntheticHistory";

/** Asserts that `f` throws a SeriesError with exactly `message`. */
function expectSeriesError(f: () => unknown, message: string): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected SeriesError "${message}"`).to.be.instanceOf(SeriesError);
  expect((thrown as SeriesError).message).to.equal(message);
}

const CSV = ["# a comment", "timestamp,WETH,WBTC", "1700000000,3000,60000", "", "1700003600,3010.5,60100", "2023-11-15T00:13:20Z,2990,59900"].join("\n");

describe("price series", () => {
  it("test_csv_happyPath_unixAndIso", () => {
    const s = parseCsvSeries(CSV, "h.csv");
    expect(s.timestamps).to.deep.equal([1_700_000_000, 1_700_003_600, 1_700_003_600 + 3600]);
    expect(s.prices).to.deep.equal({ WETH: [3000, 3010.5, 2990], WBTC: [60_000, 60_100, 59_900] });
    expect(parseCsvSeries(seriesToCsv(s))).to.deep.equal(s);
  });

  it("test_json_happyPath_columnarAndRows", () => {
    const columnar = { timestamps: [1, "1970-01-01T00:00:02Z"], prices: { WETH: [3000, 3001] } };
    expect(parseJsonSeries(JSON.stringify(columnar))).to.deep.equal({ timestamps: [1, 2], prices: { WETH: [3000, 3001] } });
    const rows = [
      { timestamp: 10, prices: { WETH: 1, USDC: 1 } },
      { timestamp: 20, prices: { WETH: 2, USDC: 0.99 } },
    ];
    expect(parseJsonSeries(rows)).to.deep.equal({ timestamps: [10, 20], prices: { WETH: [1, 2], USDC: [1, 0.99] } });
  });

  it("test_loadSeries_sampleHistory_isTheSyntheticModel", () => {
    const s = loadSeries("data/sample-history.csv");
    expect(Object.keys(s.prices)).to.deep.equal(["WETH", "WBTC", "USDC", "wstETH"]);
    expect(s.timestamps).to.have.length(721);
    const model = syntheticHistory();
    expect(s.timestamps).to.deep.equal(model.timestamps);
    // The file keeps 8 significant digits.
    const worst = Math.max(...Object.keys(s.prices).flatMap((k) => s.prices[k]!.map((p, i) => Math.abs(p / model.prices[k]![i]! - 1))));
    expect(worst).to.be.lessThan(1e-7);
  });

  it("test_loadSeries_jsonFileAndBadExtension", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-series-"));
    const json = join(dir, "h.json");
    writeFileSync(json, JSON.stringify({ timestamps: [1, 2], prices: { WBTC: [1, 2] } }));
    expect(loadSeries(json).prices.WBTC).to.deep.equal([1, 2]);
    const txt = join(dir, "h.txt");
    writeFileSync(txt, "");
    expectSeriesError(() => loadSeries(txt), `${txt}: unknown extension ".txt": expected .csv or .json`);
    expectSeriesError(() => loadSeries(join(dir, "none.csv")), `${join(dir, "none.csv")}: cannot be read`);
  });

  describe("CSV errors", () => {
    const csv = (...rows: string[]): string => ["timestamp,WETH,WBTC", ...rows].join("\n");
    it("test_csv_nonMonotonicTimestamps", () =>
      expectSeriesError(
        () => parseCsvSeries(csv("10,1,1", "20,1,1", "20,1,1"), "h.csv"),
        "h.csv:line 4: timestamp 20 is not after the previous 20",
      ));
    it("test_csv_missingValue", () =>
      expectSeriesError(() => parseCsvSeries(csv("10,1,1", "20,,1"), "h.csv"), "h.csv:line 3: WETH price is missing"));
    it("test_csv_nonPositivePrice", () =>
      expectSeriesError(() => parseCsvSeries(csv("10,1,1", "20,1,-5"), "h.csv"), "h.csv:line 3: WBTC price -5 is not positive"));
    it("test_csv_notANumber", () =>
      expectSeriesError(() => parseCsvSeries(csv("10,1,abc"), "h.csv"), 'h.csv:line 2: WBTC price "abc" is not a number'));
    it("test_csv_wrongFieldCount", () =>
      expectSeriesError(() => parseCsvSeries(csv("10,1"), "h.csv"), "h.csv:line 2: 2 fields, expected 3"));
    it("test_csv_badTimestamp", () =>
      expectSeriesError(
        () => parseCsvSeries(csv("yesterday,1,1"), "h.csv"),
        'h.csv:line 2: timestamp "yesterday" is neither unix seconds nor ISO 8601',
      ));
    it("test_csv_badHeader", () => {
      expectSeriesError(() => parseCsvSeries("time,WETH\n1,1", "h.csv"), 'h.csv:line 1: first column must be "timestamp", got "time"');
      expectSeriesError(() => parseCsvSeries("timestamp,WETH,WETH\n1,1,1", "h.csv"), 'h.csv:line 1: column "WETH" appears twice');
      expectSeriesError(() => parseCsvSeries("# only\n", "h.csv"), "h.csv: empty: expected a header `timestamp,SYMBOL,...`");
      expectSeriesError(() => parseCsvSeries("timestamp,WETH\n1,1", "h.csv"), "h.csv: needs at least 2 rows, got 1");
      expectSeriesError(() => parseCsvSeries("timestamp\n1\n2", "h.csv"), "h.csv: no asset columns");
    });
  });

  describe("JSON errors", () => {
    it("test_json_invalidJson", () => expectSeriesError(() => parseJsonSeries("{", "h.json"), "h.json: not valid JSON"));
    it("test_json_schema_namesPath", () =>
      expectSeriesError(
        () => parseJsonSeries({ timestamps: [1, 2], prices: { WETH: [1, "2"] } }, "h.json"),
        "h.json:prices.WETH[1]: Expected number, received string",
      ));
    it("test_json_lengthMismatch", () =>
      expectSeriesError(
        () => parseJsonSeries({ timestamps: [1, 2], prices: { WETH: [1] } }, "h.json"),
        "h.json:prices.WETH: 1 prices for 2 timestamps",
      ));
    it("test_json_missingValue_null", () =>
      expectSeriesError(
        () => parseJsonSeries({ timestamps: [1, 2], prices: { WETH: [1, null] } }, "h.json"),
        "h.json:timestamps[1]: WETH price is missing",
      ));
    it("test_json_rows_nonMonotonic_missing_extra", () => {
      expectSeriesError(
        () => parseJsonSeries([{ timestamp: 2, prices: { WETH: 1 } }, { timestamp: 1, prices: { WETH: 1 } }], "h.json"),
        "h.json:[1]: timestamp 1 is not after the previous 2",
      );
      expectSeriesError(
        () => parseJsonSeries([{ timestamp: 1, prices: { WETH: 1, WBTC: 1 } }, { timestamp: 2, prices: { WETH: 1 } }], "h.json"),
        "h.json:[1]: WBTC price is missing",
      );
      expectSeriesError(
        () => parseJsonSeries([{ timestamp: 1, prices: { WETH: 1 } }, { timestamp: 2, prices: { WETH: 1, WBTC: 1 } }], "h.json"),
        'h.json:[1].prices.WBTC: asset "WBTC" is not in the first row',
      );
      expectSeriesError(
        () => parseJsonSeries([{ timestamp: 1, prices: { WETH: 0 } }, { timestamp: 2, prices: { WETH: 1 } }], "h.json"),
        "h.json:[0]: WETH price 0 is not positive",
      );
    });
  });
});
