/**
 * `npm run node` and `npm run keel` end to end, as a developer runs them: scripts/node.ts in a child process (its
 * own process group) starts a Hardhat node on 127.0.0.1, deploys Keel, opens sample positions and writes the
 * manifest; scripts/keel.ts then runs against it as separate processes; SIGTERM stops the node script and the node.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import { devWallet } from "../../dev/accounts";
import { connectKeel, readManifest } from "../../src/client/manifest";
import { freePort, killGroup } from "../../dev/localNode";
import { formatFixed } from "../../src/units";
import {
  acceptsConnections,
  cleanEnv,
  type RunResult,
  runScript,
  type ScriptProcess,
  spawnScript,
} from "../helpers/processes";

const READY = "Ctrl-C stops the node.";
const POSITIONS = 5;

describe("npm run node + npm run keel (processes)", function () {
  this.timeout(240_000);
  let nodeScript: ScriptProcess | undefined;
  let port: number;
  let manifestPath: string;
  let url: string;

  const keel = (args: readonly string[], env = cleanEnv()): Promise<RunResult> =>
    runScript("scripts/keel.ts", [...args, "--rpc", url, "--deployment", manifestPath], 60_000, env);
  const keel1 = (args: readonly string[]): Promise<RunResult> => keel([...args, "--account", "1"]);
  const ok = (r: RunResult): string => {
    expect(r.code, `exit code; stderr:\n${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    manifestPath = join(mkdtempSync(join(tmpdir(), "keel-node-script-")), "localhost.json");
    nodeScript = spawnScript("scripts/node.ts", ["--port", String(port), "--positions", String(POSITIONS), "--out", manifestPath], cleanEnv());
    await nodeScript.waitForStdout(READY, 180_000);
  });

  after(async () => {
    if (nodeScript) await killGroup(nodeScript.child);
  });

  it("test_node_printsAndWritesManifest: prints where it runs and writes a manifest that validates and connects", async () => {
    const out = nodeScript!.stdout;
    expect(out).to.include("Starting a local hardhat node …");
    expect(out).to.include(`Opening ${POSITIONS} sample positions …`);
    expect(out).to.include(`Keel is running at ${url} (chain id 31337). Deployment manifest: ${manifestPath}`);
    expect(existsSync(manifestPath)).to.equal(true);
    const manifest = readManifest(manifestPath);
    expect(manifest.chainId).to.equal(31337);
    expect(Object.keys(manifest.assets)).to.deep.equal(["WETH", "WBTC", "USDC", "wstETH"]);
    for (const [symbol, a] of Object.entries(manifest.assets)) {
      expect(out).to.match(new RegExp(`  ${symbol} +token ${a.token}  feed ${a.feed}  \\$`));
    }
    expect(out).to.include(`  engine           ${manifest.contracts.engine.address}`);
    const provider = new JsonRpcProvider(url, 31337, { staticNetwork: true });
    try {
      const c = await connectKeel(manifest, provider);
      // The AMM's seed position, then the sample book.
      expect(await c.engine.lastPositionId()).to.equal(BigInt(POSITIONS) + 1n);
      expect(await c.oracle.getPrice(manifest.assets.WETH!.token)).to.equal(3000n * 10n ** 18n);
      expect(await c.kusd.balanceOf(devWallet(1).address)).to.be.greaterThan(0n);
    } finally {
      provider.destroy();
    }
  });

  it("test_cli_fullSession: the keel CLI: list, open, deposit, borrow, status, a refusal, repay max, close", async () => {
    const me = devWallet(1).address;
    const manifest = readManifest(manifestPath);
    const provider = new JsonRpcProvider(url, 31337, { staticNetwork: true });
    try {
      const c = await connectKeel(manifest, provider);
      // list: account 1 holds the book's first position (ids round-robin over accounts 1–5, after the seed).
      const listed = ok(await keel1(["list"])).trimEnd().split("\n");
      expect(listed[0]).to.equal(`positions of ${me}:`);
      expect(listed).to.have.length(2);
      const bookView = await c.lens.position(2n);
      expect(bookView.owner).to.equal(me);
      expect(listed[1]).to.equal(
        `     2  isolated  WETH               debt ${formatFixed(bookView.debt, 18, 2).padStart(14)} kUSD  HF ${formatFixed(bookView.hf, 18, 3)}`,
      );

      const opened = ok(await keel1(["open", "--mode", "isolated", "--asset", "WETH"])).trim();
      const id = BigInt(POSITIONS) + 2n;
      expect(opened).to.equal(`opened isolated position ${id} (WETH)`);
      expect(await c.nft.ownerOf(id)).to.equal(me);

      const deposited = ok(await keel1(["deposit", "--id", String(id), "--asset", "WETH", "--amount", "2"])).split("\n");
      expect(deposited.slice(0, 3)).to.deep.equal([
        `deposited 2 WETH into position ${id}`,
        `position ${id} (isolated), owner ${me}`,
        "  WETH    2  ($6,000)",
      ]);
      expect(await c.engine.collateralOf(id, manifest.assets.WETH!.token)).to.equal(2n * 10n ** 18n);

      const kusdBefore = await c.kusd.balanceOf(me);
      const borrowed = ok(await keel1(["borrow", "--id", String(id), "--amount", "3000"])).split("\n");
      expect(borrowed[0]).to.equal(`borrowed 3000 kUSD against position ${id}`);
      expect(await c.kusd.balanceOf(me)).to.equal(kusdBefore + 3000n * 10n ** 18n);

      const status = ok(await keel1(["status", "--id", String(id)])).trimEnd().split("\n");
      expect(status[0]).to.equal(`position ${id} (isolated), owner ${me}`);
      expect(status[1]).to.equal("  WETH    2  ($6,000)");
      expect(status[2]).to.equal("  debt    3,000 kUSD");
      // 6,000 × (1 − 13.75%) / 3,000 = 1.725 and 6,000 × (1 − 18.3%) / 3,000 = 1.634, a hair less with interest.
      expect(status[3]).to.match(/^ {2}health {2}HF 1\.72[45], initial HF 1\.63\d? \(borrow and withdraw need ≥ 1\)$/);
      expect(status[4]).to.equal("  state   Safe");
      // 3,000 / 1.725 = 1,739.13…
      expect(status[5]).to.match(/^ {2}liquidation price 1,739\.\d\d USD per WETH \(now 3,000\)$/);
      expect(status).to.have.length(6);

      // A refusal: exit code 1, the reason on stderr with the initial HF it would leave (4,902 / 103,000 = 0.0476).
      const nonce = await provider.getTransactionCount(me);
      const refused = await keel1(["borrow", "--id", String(id), "--amount", "100000"]);
      expect(refused.code).to.equal(1);
      expect(refused.stdout).to.equal("");
      expect(refused.stderr).to.include(
        `keel: borrow 100000 kUSD against position ${id}: it would leave the position at initial HF 0.047, below 1\n`,
      );
      expect(await provider.getTransactionCount(me)).to.equal(nonce);

      const repaid = ok(await keel1(["repay", "--id", String(id), "--amount", "max"])).split("\n");
      expect(repaid[0]).to.equal(`repaid 3,000 kUSD of position ${id}`);
      expect(repaid[2]).to.equal("  WETH    2  ($6,000)");
      expect(repaid[3]).to.equal("  debt    0 kUSD");
      expect(await c.engine.debtOf(id)).to.equal(0n);

      const wethBefore = await c.assets.WETH!.token.balanceOf(me);
      const closed = ok(await keel1(["close", "--id", String(id)])).trim();
      expect(closed).to.equal(`closed position ${id}: repaid 0 kUSD, collateral sent to ${me}`);
      expect(await c.assets.WETH!.token.balanceOf(me)).to.equal(wethBefore + 2n * 10n ** 18n);
      const gone = await keel1(["status", "--id", String(id)]);
      expect(gone.code).to.equal(1);
      expect(gone.stderr).to.include(`keel: position ${id} was closed\n`);
    } finally {
      provider.destroy();
    }
  });

  it("test_cli_refusals_exit1: the keel CLI refuses another owner's position and bad flags with exit code 1", async () => {
    const notMine = await keel(["deposit", "--id", "3", "--asset", "WETH", "--amount", "1", "--account", "1"]);
    expect(notMine.code).to.equal(1);
    expect(notMine.stderr).to.include(`keel: position 3 belongs to ${devWallet(2).address}, not to you (${devWallet(1).address})\n`);
    const badId = await keel(["status", "--id", "x", "--account", "1"]);
    expect(badId.code).to.equal(1);
    expect(badId.stderr).to.include('keel: --id: expected a position number, got "x"\n');
    const unknown = await keel(["frobnicate", "--account", "1"]);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('keel: unknown command "frobnicate"');
  });

  it("test_cli_readOnly_noKey: read-only commands work without --account or KEEL_PRIVATE_KEY (as the node script's hint shows)", async () => {
    const r = await keel(["status", "--id", "2"]);
    expect(r.stderr).to.not.include("no key");
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include(`position 2 (isolated), owner ${devWallet(1).address}`);
  });

  it("test_node_cliHints_nameManifest: the printed CLI commands name the manifest written with --out", () => {
    const cliLines = nodeScript!.stdout.split("\n").filter((l) => l.includes("npm run keel --"));
    expect(cliLines).to.have.length(2);
    for (const l of cliLines) expect(l).to.include(`--deployment ${manifestPath}`);
  });

  it("test_sigterm_stopsScriptAndNode: SIGTERM stops the node script and its Hardhat node: the port closes", async () => {
    expect(await acceptsConnections(port)).to.equal(true);
    const exiting = nodeScript!.exited;
    process.kill(-nodeScript!.child.pid!, "SIGTERM");
    const exit = await Promise.race([
      exiting,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the node script did not exit within 30 s of SIGTERM")), 30_000)),
    ]);
    // npx leads the group; whatever it reports, the whole group (npx, sh, the script) must be gone.
    expect(exit.code === 0 || exit.code === 143 || exit.signal === "SIGTERM", `exit ${JSON.stringify(exit)}`).to.equal(true);
    const groupAlive = (): boolean => {
      try {
        process.kill(-nodeScript!.child.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    const groupDeadline = Date.now() + 15_000;
    while (groupAlive() && Date.now() < groupDeadline) await new Promise((r) => setTimeout(r, 250));
    expect(groupAlive(), "the node script's process group is gone").to.equal(false);
    // The Hardhat node runs in its own process group: only the script's handler can have stopped it.
    const deadline = Date.now() + 15_000;
    while ((await acceptsConnections(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await acceptsConnections(port)).to.equal(false);
  });
});

describe("npm run node -- --engine anvil (processes)", function () {
  this.timeout(240_000);
  let nodeScript: ScriptProcess | undefined;

  after(async () => {
    if (nodeScript) await killGroup(nodeScript.child);
  });

  it("test_node_anvil_sameManifest: anvil instead of Hardhat's node, deployed the same way; the CLI works unchanged; SIGTERM stops anvil", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const manifestPath = join(mkdtempSync(join(tmpdir(), "keel-node-anvil-")), "localhost.json");
    nodeScript = spawnScript("scripts/node.ts", ["--engine", "anvil", "--port", String(port), "--positions", "3", "--out", manifestPath], cleanEnv());
    await nodeScript.waitForStdout(READY, 180_000);
    expect(nodeScript.stdout).to.include("Starting a local anvil node …");
    expect(nodeScript.stdout).to.include(`Keel is running at ${url} (chain id 31337)`);
    const manifest = readManifest(manifestPath);
    const provider = new JsonRpcProvider(url, 31337, { staticNetwork: true });
    try {
      expect(await provider.send("web3_clientVersion", [])).to.match(/anvil/i);
      const c = await connectKeel(manifest, provider);
      expect(await c.engine.lastPositionId()).to.equal(4n); // the AMM's seed position and 3 sample positions
    } finally {
      provider.destroy();
    }
    const listed = await runScript("scripts/keel.ts", ["list", "--account", "1", "--rpc", url, "--deployment", manifestPath], 60_000, cleanEnv());
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.include(`positions of ${devWallet(1).address}:`);
    process.kill(-nodeScript.child.pid!, "SIGTERM");
    await nodeScript.exited;
    const deadline = Date.now() + 15_000;
    while ((await acceptsConnections(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await acceptsConnections(port)).to.equal(false);
  });

  it("test_node_unknownEngine: an unknown --engine is a usage error naming the choices", async () => {
    const r = await runScript("scripts/node.ts", ["--engine", "geth"], 60_000, cleanEnv());
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include(`--engine: unknown "geth" (hardhat, anvil)`);
  });
});
