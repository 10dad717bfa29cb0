/**
 * The gas and size snapshot check (scripts/lib/bench/snapshot.ts): what a fresh measurement against the committed
 * snapshots/ finds (gas grown more than 1%, figures and contracts on one side only, contracts over EIP-170's limit),
 * at the exact boundaries, and the files' format (sorted keys, two spaces, a trailing newline, written atomically).
 */
import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  changePercent,
  compareSnapshots,
  comparisonTables,
  findingMessage,
  gasSnapshot,
  readSnapshot,
  type Snapshot,
  snapshotJson,
  writeSnapshot,
} from "../../scripts/lib/bench/snapshot";
import { SIZE_LIMIT } from "../../scripts/lib/bench/sizes";
import { KeelError } from "../../src/units/error";

const recorded = (): Snapshot => ({
  gas: { borrow: { isolated: 100_000, cross: 200_000 }, "flash liquidation": { isolated: 300_000 } },
  sizes: { VaultEngine: 22_000, Lens: 18_000 },
});

describe("gas and size snapshots", () => {
  it("test_compareSnapshots_identical_noFindings: the same measurement as recorded finds nothing", () => {
    expect(compareSnapshots(recorded(), recorded())).to.deep.equal([]);
  });

  it("test_compareSnapshots_gasGrowth_failsAboveOnePercent: exactly +1% passes, one gas more fails; falling gas is no finding", () => {
    const m = recorded();
    m.gas.borrow = { isolated: 101_000, cross: 150_000 };
    expect(compareSnapshots(recorded(), m)).to.deep.equal([]);
    m.gas.borrow = { isolated: 101_001, cross: 202_001 };
    expect(compareSnapshots(recorded(), m)).to.deep.equal([
      { kind: "gasGrew", operation: "borrow", variant: "isolated", recorded: 100_000, measured: 101_001 },
      { kind: "gasGrew", operation: "borrow", variant: "cross", recorded: 200_000, measured: 202_001 },
    ]);
  });

  it("test_compareSnapshots_operationsOnOneSide_fail: an operation or variant recorded but not measured, or measured but not recorded", () => {
    const m = recorded();
    delete m.gas["flash liquidation"];
    m.gas.borrow = { isolated: 100_000 };
    m.gas["liquidate (partial, first time)"] = { isolated: 190_000, cross: 290_000 };
    m.gas["flash liquidation "] = { isolated: 300_000 }; // renamed: not the same operation
    expect(compareSnapshots(recorded(), m)).to.deep.equal([
      { kind: "notRecorded", what: "operation", name: "liquidate (partial, first time) (isolated)" },
      { kind: "notRecorded", what: "operation", name: "liquidate (partial, first time) (cross)" },
      { kind: "notRecorded", what: "operation", name: "flash liquidation  (isolated)" },
      { kind: "notMeasured", what: "operation", name: "borrow (cross)" },
      { kind: "notMeasured", what: "operation", name: "flash liquidation (isolated)" },
    ]);
  });

  it("test_compareSnapshots_contractsOnOneSide_fail: a contract recorded but not measured, or measured but not recorded; size changes under the limit pass", () => {
    const m = recorded();
    delete m.sizes.Lens;
    m.sizes.Router = 5_000;
    m.sizes.VaultEngine = 24_000;
    expect(compareSnapshots(recorded(), m)).to.deep.equal([
      { kind: "notRecorded", what: "contract", name: "Router" },
      { kind: "notMeasured", what: "contract", name: "Lens" },
    ]);
  });

  it("test_compareSnapshots_sizeLimit_failsAbove24576: exactly 24,576 bytes passes, 24,577 fails even when recorded so", () => {
    expect(SIZE_LIMIT).to.equal(24_576);
    const at: Snapshot = { ...recorded(), sizes: { VaultEngine: 24_576, Lens: 18_000 } };
    expect(compareSnapshots(recorded(), at)).to.deep.equal([]);
    const over: Snapshot = { ...recorded(), sizes: { VaultEngine: 24_577, Lens: 18_000 } };
    expect(compareSnapshots(over, over)).to.deep.equal([{ kind: "overLimit", contract: "VaultEngine", bytes: 24_577 }]);
  });

  it("test_findingMessage_saysWhatToDo: one side only says to rerun the snapshot and commit; growth and size give the figures", () => {
    expect(findingMessage({ kind: "notMeasured", what: "operation", name: "borrow (cross)" })).to.equal(
      'operation "borrow (cross)" is in the snapshot but was not measured: run npm run snapshot and commit',
    );
    expect(findingMessage({ kind: "notRecorded", what: "contract", name: "Router" })).to.equal(
      'contract "Router" was measured but is not in the snapshot: run npm run snapshot and commit',
    );
    expect(findingMessage({ kind: "gasGrew", operation: "borrow", variant: "isolated", recorded: 100_000, measured: 101_500 })).to.equal(
      "gas: borrow (isolated) grew 1.50% (100,000 → 101,500), more than the 1% allowed",
    );
    expect(findingMessage({ kind: "overLimit", contract: "VaultEngine", bytes: 24_577 })).to.equal(
      "size: VaultEngine is 24,577 bytes, over the 24,576-byte limit (EIP-170)",
    );
  });

  it("test_changePercent_signedTwoDecimals: +, - and no sign for a change that rounds to zero", () => {
    expect(changePercent(100_000, 101_500)).to.equal("+1.50%");
    expect(changePercent(100_000, 96_900)).to.equal("-3.10%");
    expect(changePercent(100_000, 100_000)).to.equal("0.00%");
    expect(changePercent(1_000_000, 1_000_001)).to.equal("0.00%");
  });

  it("test_comparisonTables_oldNewChange: each figure and contract with recorded, measured, change and its finding", () => {
    const m = recorded();
    m.gas.borrow = { isolated: 102_000 };
    // Measured figures in the bench's order, then those only recorded.
    expect(comparisonTables(recorded(), m, compareSnapshots(recorded(), m)).split("\n")).to.deep.equal([
      "gas                           recorded  measured  change",
      "borrow (isolated)              100,000   102,000  +2.00%  GREW > 1%",
      "flash liquidation (isolated)   300,000   300,000   0.00%",
      "borrow (cross)                 200,000         —          NOT MEASURED",
      "",
      "bytes        recorded  measured  change",
      "VaultEngine    22,000    22,000   0.00%",
      "Lens           18,000    18,000   0.00%",
    ]);
  });

  it("test_gasSnapshot_fromBenchRows: bigint gas to numbers, only the variants measured; an operation twice is refused", () => {
    expect(gasSnapshot([{ operation: "borrow", isolated: 133_782n, cross: 219_995n, target: { isolated: 100_000n } }, { operation: "poke", isolated: 79_760n }])).to.deep.equal({
      borrow: { isolated: 133_782, cross: 219_995 },
      poke: { isolated: 79_760 },
    });
    expect(() => gasSnapshot([{ operation: "poke", isolated: 1n }, { operation: "poke", cross: 2n }])).to.throw(KeelError, 'operation "poke" measured twice');
  });

  it("test_snapshotJson_sortedTwoSpacesTrailingNewline: keys sorted at every level, so a regenerated file diffs only where figures moved", () => {
    expect(snapshotJson({ withdraw: { isolated: 2, cross: 3 }, borrow: { isolated: 1 } })).to.equal(
      '{\n  "borrow": {\n    "isolated": 1\n  },\n  "withdraw": {\n    "cross": 3,\n    "isolated": 2\n  }\n}\n',
    );
    expect(snapshotJson({ b: 2, a: 1 })).to.equal('{\n  "a": 1,\n  "b": 2\n}\n');
  });

  it("test_writeSnapshot_atomicAndReadable: writes both files through a rename (no temporary file left) and reads them back", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-snapshot-"));
    try {
      const dest = join(dir, "snapshots");
      writeSnapshot(dest, recorded());
      expect(readdirSync(dest).sort()).to.deep.equal(["gas.json", "sizes.json"]);
      expect(readFileSync(join(dest, "sizes.json"), "utf8")).to.equal('{\n  "Lens": 18000,\n  "VaultEngine": 22000\n}\n');
      expect(readSnapshot(dest)).to.deep.equal(recorded());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("test_readSnapshot_missingOrMalformed_throwsInput: a missing file says to run the snapshot; a wrong value names where", () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-snapshot-"));
    try {
      expect(() => readSnapshot(dir)).to.throw(KeelError, "gas.json not found: run npm run snapshot and commit");
      writeSnapshot(dir, recorded());
      writeSnapshot(dir, { gas: recorded().gas, sizes: { Lens: -1 } });
      let thrown: unknown;
      try {
        readSnapshot(dir);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).to.be.instanceOf(KeelError);
      expect((thrown as KeelError).code).to.equal("INPUT");
      expect((thrown as KeelError).message).to.match(/sizes\.json: .* at Lens$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
