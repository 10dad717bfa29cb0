/**
 * The coverage gate (scripts/lib/coverage.ts): which files of solidity-coverage's summary are gated, how they are
 * grouped by directory, and the thresholds on each directory and on the total, exactly at the boundaries.
 */
import { expect } from "chai";
import { type CoverageSummary, gateCoverage, gatedPath, THRESHOLDS } from "../../scripts/lib/coverage";

const ROOT = "/ci/keel";

/** A summary entry with `lines` and `branches` as [covered, total]. */
const entry = (lines: [number, number], branches: [number, number]): CoverageSummary[string] => ({
  lines: { covered: lines[0], total: lines[1] },
  branches: { covered: branches[0], total: branches[1] },
});

describe("coverage gate", () => {
  it("test_gatedPath_everyContractButMocksTestsAndInterfaces: core, oracles, periphery, governance and libraries in; mocks, test harnesses, interfaces and non-Solidity out", () => {
    for (const dir of ["core", "oracles", "periphery", "governance", "libraries"]) {
      expect(gatedPath(`${ROOT}/contracts/${dir}/X.sol`, ROOT)).to.equal(`contracts/${dir}/X.sol`);
    }
    expect(gatedPath(`${ROOT}/contracts/Top.sol`, ROOT)).to.equal("contracts/Top.sol");
    expect(gatedPath(`${ROOT}/contracts/mocks/MockERC20.sol`, ROOT)).to.equal(undefined);
    expect(gatedPath(`${ROOT}/contracts/test/KeelMathHarness.sol`, ROOT)).to.equal(undefined);
    expect(gatedPath(`${ROOT}/contracts/interfaces/IVaultEngine.sol`, ROOT)).to.equal(undefined);
    expect(gatedPath("total", ROOT)).to.equal(undefined);
    expect(gatedPath(`${ROOT}/node_modules/@openzeppelin/contracts/token/ERC20/ERC20.sol`, ROOT)).to.equal(undefined);
    expect(gatedPath(`${ROOT}/contracts/core/README.md`, ROOT)).to.equal(undefined);
  });

  it("test_gatedPath_relativeToTheRoot: a repository named contracts, a root with a trailing slash, and keys already relative", () => {
    expect(gatedPath("/w/contracts/contracts/core/A.sol", "/w/contracts")).to.equal("contracts/core/A.sol");
    expect(gatedPath("/w/contracts/contracts/mocks/M.sol", "/w/contracts/")).to.equal(undefined);
    expect(gatedPath("contracts/oracles/B.sol", ROOT)).to.equal("contracts/oracles/B.sol");
    expect(gatedPath("/elsewhere/contracts/core/A.sol", ROOT)).to.equal(undefined);
  });

  it("test_gateCoverage_groupsByDirectory: directories sorted, files sorted within them, totals summed, ungated files in no total", () => {
    const gate = gateCoverage(
      {
        total: entry([1, 1000], [1, 1000]),
        [`${ROOT}/contracts/oracles/VolatilityOracle.sol`]: entry([100, 100], [20, 20]),
        [`${ROOT}/contracts/core/VaultEngine.sol`]: entry([196, 200], [46, 50]),
        [`${ROOT}/contracts/core/KeelUSD.sol`]: entry([50, 50], [10, 10]),
        [`${ROOT}/contracts/mocks/MockAMM.sol`]: entry([0, 80], [0, 30]),
        [`${ROOT}/contracts/interfaces/IVaultEngine.sol`]: entry([0, 0], [0, 0]),
      },
      ROOT,
    );
    expect(gate.directories.map((d) => d.name)).to.deep.equal(["contracts/core/", "contracts/oracles/"]);
    expect(gate.directories[0]!.files.map((f) => f.file)).to.deep.equal(["contracts/core/KeelUSD.sol", "contracts/core/VaultEngine.sol"]);
    expect(gate.directories[0]!.lines).to.deep.equal({ covered: 246, total: 250 });
    expect(gate.directories[0]!.branches).to.deep.equal({ covered: 56, total: 60 });
    expect(gate.total.lines).to.deep.equal({ covered: 346, total: 350 });
    expect(gate.total.branches).to.deep.equal({ covered: 76, total: 80 });
    expect(gate.total.files).to.have.length(3);
    expect(gate.ok).to.equal(true);
  });

  it("test_gateCoverage_thresholdsAtTheBoundary: exactly 95% of lines and 90% of branches pass; one covered line or branch fewer fails that directory", () => {
    expect(THRESHOLDS).to.deep.equal({ lines: 95, branches: 90 });
    const at = gateCoverage({ [`${ROOT}/contracts/core/A.sol`]: entry([95, 100], [9, 10]) }, ROOT);
    expect(at.ok).to.equal(true);
    const lines = gateCoverage({ [`${ROOT}/contracts/core/A.sol`]: entry([94, 100], [9, 10]) }, ROOT);
    expect([lines.ok, lines.directories[0]!.linesOk, lines.directories[0]!.branchesOk]).to.deep.equal([false, false, true]);
    const branches = gateCoverage({ [`${ROOT}/contracts/core/A.sol`]: entry([95, 100], [17, 19]) }, ROOT);
    expect([branches.ok, branches.directories[0]!.linesOk, branches.directories[0]!.branchesOk]).to.deep.equal([false, true, false]);
  });

  it("test_gateCoverage_eachDirectoryGated: a weak directory fails the gate even when the total passes", () => {
    const gate = gateCoverage(
      {
        [`${ROOT}/contracts/core/A.sol`]: entry([1000, 1000], [100, 100]),
        [`${ROOT}/contracts/governance/G.sol`]: entry([9, 10], [1, 2]),
      },
      ROOT,
    );
    expect(gate.total.linesOk && gate.total.branchesOk).to.equal(true);
    expect(gate.directories.map((d) => [d.name, d.linesOk, d.branchesOk])).to.deep.equal([
      ["contracts/core/", true, true],
      ["contracts/governance/", false, false],
    ]);
    expect(gate.ok).to.equal(false);
  });

  it("test_gateCoverage_nothingGated_fails: a summary without any gated file (wrong root, no contracts) does not pass", () => {
    const gate = gateCoverage({ total: entry([10, 10], [10, 10]), [`${ROOT}/contracts/mocks/M.sol`]: entry([1, 1], [1, 1]) }, ROOT);
    expect(gate.directories).to.deep.equal([]);
    expect(gate.ok).to.equal(false);
  });

  it("test_gateCoverage_nothingToCover_counts100: a file with no lines or branches (a library of constants) passes", () => {
    const gate = gateCoverage({ [`${ROOT}/contracts/libraries/Constants.sol`]: entry([0, 0], [0, 0]) }, ROOT);
    expect(gate.ok).to.equal(true);
  });
});
