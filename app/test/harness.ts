/**
 * The browser tests' world: a Hardhat node on 127.0.0.1 with Keel deployed by the production deploy code, a user
 * account funded with every listed asset and some kUSD, the app built and served by `vite preview` against the
 * node's manifest, and a headless Chromium from npm (@sparticuz/chromium) driven by playwright-core.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import chromiumBinary from "@sparticuz/chromium";
import { NonceManager, parseUnits, type Signer } from "ethers";
import { type Browser, chromium, type Page } from "playwright-core";
import { deployKeel, type Keel } from "../../deploy";
import { devWallet } from "../../dev/accounts";
import { borrowAgainstUsdc } from "../../dev/localMarket";
import { writeManifest } from "../../deploy/manifest";
import { freePort, killGroup, type Node, startNode } from "../../dev/localNode";
import { TestWallet } from "./wallet";

const ROOT = join(__dirname, "..", "..");
/** Where the tests save screenshots of the main screens (the README shows them). */
export const SCREENSHOTS = join(ROOT, "docs", "app");
/** The manifest's name: the app opens with ?deployment=<this>. */
const DEPLOYMENT = "e2e";

export interface World {
  node: Node;
  keel: Keel;
  deployer: Signer;
  /** The wallet user: Hardhat development account 1, funded. */
  user: string;
  userSigner: Signer;
  appUrl: string;
  browser: Browser;
  stop(): Promise<void>;
}

export async function startWorld(log: (line: string) => void): Promise<World> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const node = await startNode();
    cleanups.push(() => node.stop());
    log(`node on ${node.url}`);
    const deployer = new NonceManager(devWallet(0, node.provider));
    const keel = await deployKeel(deployer);
    const dir = mkdtempSync(join(tmpdir(), "keel-app-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    await writeManifest(keel, DEPLOYMENT, dir);
    const userSigner = new NonceManager(devWallet(1, node.provider));
    const user = await userSigner.getAddress();
    await fund(keel, deployer, user);
    log("Keel deployed, user funded");

    const port = await freePort();
    await run("npx", ["vite", "build", "--config", "app/vite.config.mts", "--logLevel", "warn"], {});
    const server = spawn("npx", ["vite", "preview", "--config", "app/vite.config.mts", "--port", String(port), "--strictPort"], {
      cwd: ROOT,
      env: { ...process.env, KEEL_DEPLOYMENTS: dir },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    cleanups.push(() => killGroup(server));
    const appUrl = `http://127.0.0.1:${port}/?deployment=${DEPLOYMENT}`;
    await waitForHttp(`http://127.0.0.1:${port}/deployments/${DEPLOYMENT}.json`, server);
    log(`app on ${appUrl}`);

    // Its Lambda defaults run Chromium as one process, where closing a context ends the browser: tests need several.
    const args = chromiumBinary.args.filter((a) => a !== "--single-process");
    const browser = await chromium.launch({ executablePath: await chromiumBinary.executablePath(), args, headless: true });
    cleanups.push(() => browser.close());
    mkdirSync(SCREENSHOTS, { recursive: true });
    return { node, keel, deployer, user, userSigner, appUrl, browser, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Every listed asset (minted), 20 ETH stays native, and 20,000 kUSD borrowed by the deployer against USDC. */
async function fund(keel: Keel, deployer: Signer, user: string): Promise<void> {
  for (const a of Object.values(keel.assets)) {
    await (await a.token.connect(deployer).mint(user, parseUnits("100", a.config.decimals))).wait();
  }
  await borrowAgainstUsdc(keel, deployer, parseUnits("20000", 18));
  await (await keel.kusd.connect(deployer).transfer(user, parseUnits("20000", 18))).wait();
}

/** A fresh browser context and page with the test wallet installed (not connected). */
export async function openApp(world: World, hash = "#/", options: { chainId?: number } = {}): Promise<{ page: Page; wallet: TestWallet; close(): Promise<void> }> {
  const context = await world.browser.newContext({ viewport: { width: 1200, height: 820 } });
  const wallet = new TestWallet(world.node.url, world.user, options);
  await wallet.install(context);
  const page = await context.newPage();
  page.on("pageerror", (e) => process.stdout.write(`    page error: ${e.message}\n`));
  page.on("console", (m) => {
    if (m.type() === "error") process.stdout.write(`    console: ${m.text().slice(0, 400)}\n`);
  });
  wallet.attach(page);
  await page.goto(world.appUrl + hash);
  return { page, wallet, close: () => context.close() };
}

async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"] });
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`))));
  });
}

async function waitForHttp(url: string, server: ChildProcess): Promise<void> {
  let output = "";
  server.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  server.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`vite preview exited with ${server.exitCode}:\n${output}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`vite preview did not serve ${url} in 30 s:\n${output}`);
}
