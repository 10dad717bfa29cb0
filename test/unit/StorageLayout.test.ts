import { expect } from "chai";
import { artifacts } from "hardhat";

interface Slot {
  label: string;
  slot: string;
  offset: number;
  type: string;
}

async function layout(fqn: string): Promise<Slot[]> {
  const info = await artifacts.getBuildInfo(fqn);
  if (!info) throw new Error(`no build info for ${fqn}`);
  const [file, name] = fqn.split(":") as [string, string];
  const out = info.output.contracts[file]![name] as unknown as { storageLayout?: { storage: Slot[] } };
  if (!out.storageLayout) throw new Error(`no storage layout for ${fqn}: enable it in hardhat.config.ts`);
  // Type names carry AST ids that differ between compilations: compare them without.
  const bare = (t: string): string => t.replace(/\)\d+_/g, ")_");
  return out.storageLayout.storage.map(({ label, slot, offset, type }) => ({ label, slot, offset, type: bare(type) }));
}

describe("storage layout", () => {
  // The LiquidationModule runs by DELEGATECALL on the engine's storage: every variable of VaultEngineBase must sit
  // at the same slot and offset in both contracts, and the engine's own variables must come after them.
  it("test_liquidationModule_sharesTheEngineBaseLayout", async () => {
    const base = await layout("contracts/core/VaultEngineBase.sol:VaultEngineBase");
    const engine = await layout("contracts/core/VaultEngine.sol:VaultEngine");
    const module_ = await layout("contracts/core/LiquidationModule.sol:LiquidationModule");
    expect(base.length).to.be.greaterThan(10);
    expect(engine.slice(0, base.length)).to.deep.equal(base);
    expect(module_).to.deep.equal(base);
  });
});
