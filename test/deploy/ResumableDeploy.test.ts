/**
 * `npm run deploy` against real local nodes, anvil and Hardhat's: a full deployment whose manifest the CLI uses
 * unchanged; a dry run that sends nothing; a wrong chain refused; a run killed after a few transactions and resumed;
 * a deployer out of gas topped up and resumed; a changed config refused against the journal; the role audit green
 * after the hand-over and red once a role is left to the deployer. Every figure comes from the chain or the plan.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encryptKeystoreJsonSync, parseEther, toBeHex, Wallet, ZeroHash, type JsonRpcProvider } from "ethers";
import { startAnvil, type Anvil } from "../../deploy/anvil";
import { parseKeelConfig } from "../../src/client/config";
import { connectKeel, readManifest } from "../../src/client/manifest";
import { planDeployment } from "../../deploy/plan";
import { localConfig } from "../../deploy/networks/local";
import { ROLES } from "../../deploy/governance";
import { devWallet } from "../../dev/accounts";
import { killGroup, startNode, type Node } from "../../dev/localNode";
import { KeelAccessManager__factory, KeelTimelock__factory } from "../../typechain-types";
import { cleanEnv, runScript, spawnScript } from "../helpers/processes";

const SCRIPT = "scripts/deploy.ts";
const GUARDIAN = devWallet(1).address;
const PROPOSER = devWallet(2).address;
/** Steps of the local config's deployment (the plan is pure: no chain needed to count them). */
const STEPS = planDeployment(parseKeelConfig(localConfig), devWallet(0).address, 0).steps.length;

const dir = mkdtempSync(join(tmpdir(), "keel-deploy-"));
let files = 0;

/** A deployment config file: the local config for `chainId`, governed by dev accounts 1 (guardian) and 2. */
function configFile(chainId = 31337, extra: Record<string, unknown> = {}): string {
  const path = join(dir, `config-${++files}.json`);
  const governance = { timelockDelay: "2 days", guardian: GUARDIAN, proposers: [PROPOSER], executors: [PROPOSER] };
  writeFileSync(path, JSON.stringify({ chainId, extends: "local", governance, ...extra }));
  return path;
}

/** A fresh deployer key, funded on the node with `ether`. */
async function fundedDeployer(provider: JsonRpcProvider, method: string, ether = "100"): Promise<Wallet> {
  const w = Wallet.createRandom();
  await provider.send(method, [w.address, toBeHex(parseEther(ether))]);
  return new Wallet(w.privateKey, provider);
}

const deploy = (args: string[], key?: string, input?: string) =>
  runScript(SCRIPT, args, 480_000, cleanEnv(key ? { DEPLOYER_PRIVATE_KEY: key } : {}), input);

describe("npm run deploy on anvil", function () {
  this.timeout(600_000);
  let anvil: Anvil;

  before(async () => {
    anvil = await startAnvil();
  });
  after(async () => {
    await anvil?.stop();
  });

  it("test_deploy_dryRun_sendsNothing: lists every transaction with its gas and the total cost; block and nonce unchanged (key from a keystore)", async () => {
    const deployer = await fundedDeployer(anvil.provider, "anvil_setBalance");
    const keystore = join(dir, "deployer.keystore.json");
    const password = "correct horse battery staple";
    writeFileSync(keystore, encryptKeystoreJsonSync({ address: deployer.address, privateKey: deployer.privateKey }, password, { scrypt: { N: 1024 } }));
    const block = await anvil.provider.getBlockNumber();
    const out = join(dir, "dry.json");
    const r = await deploy(["--rpc", anvil.url, "--config", configFile(), "--out", out, "--dry-run", "--keystore", keystore], undefined, `${password}\n`);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(await anvil.provider.getBlockNumber()).to.equal(block);
    expect(await anvil.provider.getTransactionCount(deployer.address)).to.equal(0);
    expect(r.stdout).to.include(`${STEPS} transaction(s)`);
    for (const id of ["accessManager", "engine", "list:wstETH", "renounce:ADMIN:deployer"]) expect(r.stdout).to.include(id);
    expect(r.stdout + r.stderr).to.not.include(password);
    expect(() => readFileSync(out.replace(/\.json$/, ".journal.json"))).to.throw(); // nothing written either
  });

  it("test_deploy_wrongChain_refused: a config for chain 1 against a 31337 node is refused before anything is sent", async () => {
    const deployer = await fundedDeployer(anvil.provider, "anvil_setBalance");
    const block = await anvil.provider.getBlockNumber();
    const r = await deploy(["--rpc", anvil.url, "--config", configFile(1), "--out", join(dir, "wrong.json")], deployer.privateKey);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include("is for chain 1, the RPC");
    expect(r.stderr).to.include("is chain 31337");
    expect(await anvil.provider.getBlockNumber()).to.equal(block);
  });

  it("test_deploy_outOfGas_resumes: a deployer that runs dry stops with what to do; funded again, the same command finishes, each step sent once", async () => {
    const deployer = await fundedDeployer(anvil.provider, "anvil_setBalance", "0.02");
    const out = join(dir, "gas.json");
    const args = ["--rpc", anvil.url, "--config", configFile(), "--out", out];
    const first = await deploy(args, deployer.privateKey);
    expect(first.code, first.stdout).to.equal(1);
    expect(first.stderr).to.match(/fund it and run the same command again to resume/);
    const sentBefore = await anvil.provider.getTransactionCount(deployer.address);
    expect(sentBefore).to.be.greaterThan(0).and.lessThan(STEPS);
    await anvil.provider.send("anvil_setBalance", [deployer.address, toBeHex(parseEther("100"))]);
    const second = await deploy(args, deployer.privateKey);
    expect(second.code, second.stderr + second.stdout).to.equal(0);
    expect(second.stdout).to.include(`Resuming the deployment`);
    expect(second.stdout).to.include(`${STEPS} steps (${STEPS - sentBefore} sent by this run)`);
    expect(await anvil.provider.getTransactionCount(deployer.address)).to.equal(STEPS);
  });

  it("test_deploy_full_auditGreen_thenRed: deploys, the CLI uses the manifest, the audit is green; a role granted to the deployer turns it red", async () => {
    const deployer = await fundedDeployer(anvil.provider, "anvil_setBalance");
    const out = join(dir, "full.json");
    const config = configFile();
    const r = await deploy(["--rpc", anvil.url, "--config", config, "--out", out], deployer.privateKey);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.include("audit: green");
    expect(await anvil.provider.getTransactionCount(deployer.address)).to.equal(STEPS);

    // The manifest is the one every client reads: the CLI opens a position through it.
    const manifest = readManifest(out);
    const keel = await connectKeel(manifest, anvil.provider);
    for (const a of Object.values(keel.assets)) expect((await keel.engine.collateralConfig(await a.token.getAddress())).listed).to.equal(true);
    const cli = await runScript("scripts/keel.ts", ["open", "--mode", "isolated", "--asset", "WETH", "--account", "3", "--rpc", anvil.url, "--deployment", out], 120_000, cleanEnv());
    expect(cli.code, cli.stderr + cli.stdout).to.equal(0);
    expect(await keel.nft.balanceOf(devWallet(3).address)).to.equal(1n);

    // A changed config against the finished journal is refused, the change shown.
    const changed = configFile(31337, { dust: "200" });
    const again = await deploy(["--rpc", anvil.url, "--config", changed, "--out", out], deployer.privateKey);
    expect(again.code).to.equal(2);
    expect(again.stderr).to.include(`dust: "100" → "200"`);

    // Governance through the timelock gives the deployer a role: the audit goes red and names it.
    const proposer = devWallet(2, anvil.provider);
    const timelock = KeelTimelock__factory.connect(manifest.contracts.timelock.address, proposer);
    const am = manifest.contracts.accessManager.address;
    const data = KeelAccessManager__factory.createInterface().encodeFunctionData("grantRole", [ROLES.GUARDIAN, deployer.address, 0]);
    await (await timelock.schedule(am, 0, data, ZeroHash, ZeroHash, await timelock.getMinDelay())).wait();
    await anvil.provider.send("evm_increaseTime", [2 * 86400]);
    await anvil.provider.send("evm_mine", []);
    await (await timelock.execute(am, 0, data, ZeroHash, ZeroHash)).wait();
    const audit = await runScript(SCRIPT, ["--audit", out, "--rpc", anvil.url], 120_000, cleanEnv());
    expect(audit.code, audit.stderr + audit.stdout).to.equal(1);
    expect(audit.stdout).to.include(`accessManager GUARDIAN ${deployer.address} (deployer): deployer`);
  });
});

describe("npm run deploy on Hardhat's node", function () {
  this.timeout(600_000);
  let node: Node;

  before(async () => {
    node = await startNode();
  });
  after(async () => {
    await node?.stop();
  });

  it("test_deploy_killed_resumes: a run killed after a few transactions resumes; no contract deployed twice, no call sent twice", async () => {
    const deployer = await fundedDeployer(node.provider, "hardhat_setBalance");
    const out = join(dir, "killed.json");
    const args = ["--rpc", node.url, "--config", configFile(), "--out", out];
    const run = spawnScript(SCRIPT, args, cleanEnv({ DEPLOYER_PRIVATE_KEY: deployer.privateKey }));
    try {
      await run.waitForStdout(`[ 5/${STEPS}]`, 180_000);
      process.kill(-run.child.pid!, "SIGKILL");
      await run.exited;
    } finally {
      await killGroup(run.child);
    }
    const sentBefore = await node.provider.getTransactionCount(deployer.address);
    expect(sentBefore).to.be.greaterThanOrEqual(5).and.lessThan(STEPS);
    const resumed = await deploy(args, deployer.privateKey);
    expect(resumed.code, resumed.stderr + resumed.stdout).to.equal(0);
    expect(resumed.stdout).to.include("Resuming the deployment");
    expect(resumed.stdout).to.include("audit: green");
    // One nonce per step: had any step been sent twice, the deployer would have used more.
    expect(await node.provider.getTransactionCount(deployer.address)).to.equal(STEPS);
    const journal = JSON.parse(readFileSync(out.replace(/\.json$/, ".journal.json"), "utf8")) as { steps: Record<string, { status: string; nonce: number }> };
    const nonces = Object.values(journal.steps).map((s) => s.nonce);
    expect(Object.values(journal.steps).every((s) => s.status === "mined")).to.equal(true);
    expect(new Set(nonces).size).to.equal(STEPS);
    // And a rerun of the finished deployment sends nothing.
    const rerun = await deploy(args, deployer.privateKey);
    expect(rerun.code).to.equal(0);
    expect(rerun.stdout).to.include(`(0 sent by this run)`);
    expect(await node.provider.getTransactionCount(deployer.address)).to.equal(STEPS);
  });
});
