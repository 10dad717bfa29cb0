import { expect } from "chai";
import { artifacts } from "hardhat";

/**
 * A keeper, the CLI and the web app decode reverts by name from the ABIs of every Keel contract (src/client/errors.ts):
 * two errors with one name and different arguments would decode as whichever ABI came first.
 */
describe("custom errors", () => {
  it("test_errors_oneSignaturePerName: every error name has one signature across all compiled contracts (TooManyAssets and LengthMismatch each had two)", async () => {
    const signatures = new Map<string, Map<string, string>>();
    for (const name of await artifacts.getAllFullyQualifiedNames()) {
      const { abi } = await artifacts.readArtifact(name);
      for (const item of abi as { type: string; name?: string; inputs?: { type: string }[] }[]) {
        if (item.type !== "error" || !item.name) continue;
        const signature = `${item.name}(${(item.inputs ?? []).map((i) => i.type).join(",")})`;
        const seen = signatures.get(item.name) ?? new Map<string, string>();
        if (!seen.has(signature)) seen.set(signature, name);
        signatures.set(item.name, seen);
      }
    }
    const clashes = [...signatures.values()].filter((seen) => seen.size > 1).map((seen) => [...seen.entries()]);
    expect(signatures.size).to.be.greaterThan(50);
    expect(clashes).to.deep.equal([]);
  });
});
