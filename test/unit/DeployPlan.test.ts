/**
 * The deployment plan and the deploy script's config file, without a node process: the plan's addresses are where
 * `deployKeel` puts the contracts, step ids are unique, and a config file is refused with a message naming what is
 * wrong (no chain id, an unknown base, nobody to govern, the deployer governing); differences are shown per field.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deployKeel, localConfig, parseKeelConfig } from "../../deploy";
import { planDeployment } from "../../deploy/plan";
import { checkDeployerHoldsNothing, jsonDifferences, readDeploymentFile } from "../../deploy/deploymentFile";

const dir = mkdtempSync(join(tmpdir(), "keel-plan-"));
const A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const governance = { timelockDelay: "2 days", guardian: A, proposers: [B], executors: [B] };

function file(content: unknown): string {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("deployment plan", () => {
  it("test_plan_addressesAreDeployKeels: every contract, token and feed lands where the plan said, before anything was sent", async () => {
    const [signer] = await ethers.getSigners();
    const plan = planDeployment(parseKeelConfig(localConfig), signer!.address, await signer!.getNonce("pending"));
    const keel = await deployKeel(signer!);
    for (const [name, address] of Object.entries(plan.addresses.contracts)) {
      expect(await (keel[name as keyof typeof plan.addresses.contracts] as { getAddress(): Promise<string> }).getAddress(), name).to.equal(address);
    }
    for (const [symbol, a] of Object.entries(plan.addresses.assets)) {
      expect(await keel.assets[symbol]!.token.getAddress()).to.equal(a.token);
      expect(await keel.assets[symbol]!.feed.getAddress()).to.equal(a.feed);
    }
    expect(await signer!.getNonce()).to.equal(plan.firstNonce + plan.steps.length);
  });

  it("test_plan_stepIdsUnique_andHandOverLast: one id per step; the deployer's RISK and ADMIN go last", () => {
    const plan = planDeployment(parseKeelConfig(localConfig), A, 7);
    const ids = plan.steps.map((s) => s.id);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(ids.slice(-2)).to.deep.equal(["revoke:RISK:deployer", "renounce:ADMIN:deployer"]);
    expect(ids.filter((id) => id.startsWith("list:"))).to.deep.equal(localConfig.assets.map((a) => `list:${a.symbol}`));
  });
});

describe("deploy config file", () => {
  it("test_deploymentFile_extendsLocal: merges over the local config; arrays and values replace", () => {
    const d = readDeploymentFile(file({ chainId: 5, extends: "local", dust: "250", governance }));
    expect(d.chainId).to.equal(5);
    expect(d.cfg.dust).to.equal(250n * 10n ** 18n);
    expect(d.cfg.assets.map((a) => a.symbol)).to.deep.equal(localConfig.assets.map((a) => a.symbol));
    expect(d.governance).to.deep.equal({ guardian: A, proposers: [B], executors: [B] });
  });

  it("test_deploymentFile_refusals: no chain id, an unknown base, bad JSON, nobody named to govern, a bad field", () => {
    expect(() => readDeploymentFile(file({ extends: "local", governance }))).to.throw(/chainId: expected the chain id/);
    expect(() => readDeploymentFile(file({ chainId: 1, extends: "mainnet", governance }))).to.throw(/extends: expected one of local/);
    expect(() => readDeploymentFile(file("{ not json"))).to.throw(/cannot read the deployment config/);
    expect(() => readDeploymentFile(file({ chainId: 1, extends: "local" }))).to.throw(/governance.guardian, governance.proposers and governance.executors must be given/);
    expect(() => readDeploymentFile(file({ chainId: 1, extends: "local", governance, dust: "lots" }))).to.throw(/dust/);
    expect(() => readDeploymentFile(join(dir, "missing.json"))).to.throw(/cannot read the deployment config/);
  });

  it("test_deploymentFile_deployerMayNotGovern: a config naming the deployer as guardian or proposer is refused", () => {
    const d = readDeploymentFile(file({ chainId: 1, extends: "local", governance }));
    expect(() => checkDeployerHoldsNothing(d, A)).to.throw(/governance.guardian name the deployer/);
    expect(() => checkDeployerHoldsNothing(d, B)).to.throw(/governance.proposers, governance.executors name the deployer/);
    expect(() => checkDeployerHoldsNothing(d, "0x90F79bf6EB2c4f870365E785982E1f101E93b906")).to.not.throw();
  });

  it("test_jsonDifferences: one line per changed leaf, absent keys shown as such", () => {
    expect(jsonDifferences({ a: 1, b: { c: "x", d: [1, 2] } }, { a: 1, b: { c: "y", d: [1, 3] }, e: true })).to.deep.equal([
      'b.c: "x" → "y"',
      "b.d.1: 2 → 3",
      "e: (absent) → true",
    ]);
    expect(jsonDifferences({ a: [1] }, { a: [1] })).to.deep.equal([]);
  });
});
