/**
 * The keeper against what goes wrong around it: an RPC that goes away and comes back, reorgs inside and beyond its
 * confirmation window, a price feed that goes stale, a dry run that must send nothing, and its operational
 * surface (Prometheus metrics, health endpoint, margin-call webhook). Faults are injected by small proxies on
 * 127.0.0.1 between the keeper and the node: one at the TCP level (down/up), one at the JSON-RPC level (fail or
 * swallow the answer to chosen eth_sendRawTransaction requests).
 */
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, type NonceManager } from "ethers";
import type { Keel } from "../../deploy";
import type { KeeperConfig } from "../../src/keeper/config";
import type { PassReport } from "../../src/keeper/keeper";
import { type RunningKeeper, startKeeper } from "../../src/keeper/main";
import { isTransient, sleep } from "../../src/keeper/rpc";
import type { MarginCallNotice } from "../../src/keeper/webhook";
import { MarginState } from "../../src/math";
import {
  capturedLogger,
  countState,
  type Deployed,
  deployOnNode,
  devWallet,
  type KeeperProcess,
  keeperEnv,
  killGroup,
  type LineCollector,
  movePrice,
  type Node,
  openSamplePositions,
  openPositionIds,
  passOf,
  refreshFeeds,
  spawnKeeper,
  startNode,
  statesOf,
  testKeeperConfig,
} from "./harness";

const BOOK = 150;

// ------------------------------------------------------------------ fault injection

/** A TCP proxy to the node that can be taken down: new connections are destroyed on accept, open ones at once. */
class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private up = true;
  private constructor(
    private readonly server: TcpServer,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const server = createTcpServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    server.on("connection", (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  down(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    if (!this.up) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}

type Fault = "forward" | "fail" | "swallowAnswer";

/**
 * A JSON-RPC proxy to the node. Every request carrying an eth_sendRawTransaction (alone or in a batch) is numbered
 * from 1 and `faultFor(n)` decides its fate: forwarded; refused with HTTP 503 without reaching the node; or
 * forwarded, and the node's answer swallowed (the connection is destroyed instead), as a load balancer that drops
 * a response would.
 */
class RpcProxy {
  sends = 0;
  faultFor: (n: number) => Fault = () => "forward";
  private constructor(
    private readonly server: HttpServer,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<RpcProxy> {
    const box: { proxy?: RpcProxy } = {};
    const server = createHttpServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        let fault: Fault = "forward";
        if (body.includes('"eth_sendRawTransaction"')) fault = box.proxy!.faultFor(++box.proxy!.sends);
        if (fault === "fail") {
          res.writeHead(503, { "content-type": "text/plain" });
          res.end("unavailable");
          return;
        }
        const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
        const text = await answer.text();
        if (fault === "swallowAnswer") {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(text);
      })().catch(() => req.socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    box.proxy = new RpcProxy(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    return box.proxy;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

/** A webhook receiver on 127.0.0.1 that keeps every JSON body POSTed to it. */
async function startWebhook(): Promise<{ url: string; notices: MarginCallNotice[]; close(): Promise<void> }> {
  const notices: MarginCallNotice[] = [];
  const server = createHttpServer((req, res) => {
    void readBody(req).then((body) => {
      if (req.method === "POST") notices.push(JSON.parse(body) as MarginCallNotice);
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    notices,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ------------------------------------------------------------------ chain helpers

/** An open position as the index represents it, serialised for an exact comparison. */
const describePosition = (p: { id: bigint; mode: number; collateral: Record<string, bigint>; normDebt: bigint; deadline: bigint }): string =>
  JSON.stringify({
    id: p.id.toString(),
    mode: p.mode,
    collateral: Object.entries(p.collateral)
      .map(([a, x]) => [a.toLowerCase(), x.toString()])
      .sort(),
    normDebt: p.normDebt.toString(),
    deadline: p.deadline.toString(),
  });

/** Every open position on chain, read from the engine, in the index's terms. */
async function chainPositions(keel: Keel): Promise<string[]> {
  const read = async (id: bigint): Promise<string> => {
    const [info, assets, deadline] = await Promise.all([keel.engine.positionInfo(id), keel.engine.collateralAssets(id), keel.engine.callDeadline(id)]);
    const amounts = await Promise.all(assets.map((a) => keel.engine.collateralOf(id, a)));
    const collateral: Record<string, bigint> = {};
    assets.forEach((a, i) => amounts[i]! > 0n && (collateral[a.toLowerCase()] = amounts[i]!));
    return describePosition({ id, mode: Number(info.mode), collateral, normDebt: info.normDebt, deadline });
  };
  const ids = await openPositionIds(keel);
  const out: string[] = [];
  for (let i = 0; i < ids.length; i += 50) out.push(...(await Promise.all(ids.slice(i, i + 50).map(read))));
  return out;
}

/** Ids of the open positions with debt that hold any of `symbols`. */
async function holding(keel: Keel, symbols: readonly string[]): Promise<Set<bigint>> {
  const tokens = new Set(symbols.map((s) => (keel.assets[s]!.token.target as string).toLowerCase()));
  const out = new Set<bigint>();
  for (const id of await openPositionIds(keel)) {
    if ((await keel.engine.debtOf(id)) === 0n) continue;
    if ((await keel.engine.collateralAssets(id)).some((a) => tokens.has(a.toLowerCase()))) out.add(id);
  }
  return out;
}

const total = (reports: readonly PassReport[], field: "marginCalls" | "liquidations" | "failed" | "alreadyDone"): number =>
  reports.reduce((n, r) => n + r[field], 0);

/** Waits until `check` returns true, polling. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

async function isPending(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  return (await Promise.race([p.then(() => undefined, () => undefined), sleep(0).then(() => marker)])) === marker;
}

// ------------------------------------------------------------------ tests

describe("keeper: RPC errors are classified by kind, not by digits", () => {
  it("test_classify_revertWith502_notTransient: a revert whose message contains the digits 502 or 503 is not a transient RPC failure", () => {
    // What ethers throws when Hardhat (automine) answers eth_sendRawTransaction of a reverting transaction, with
    // the digits in the custom error's argument and in the raw transaction.
    const revert = {
      code: "UNKNOWN_ERROR",
      message:
        'could not coalesce error (error={ "code": -32603, "message": "Error: VM Exception while processing transaction: reverted with custom error \'NotLiquidatable(174, 1502000000000000000)\'" }, payload={ "method": "eth_sendRawTransaction", "params": [ "0x02f90112827a6926843b9aca00843ba1296283074503" ] }, code=UNKNOWN_ERROR, version=6.17.0)',
    };
    const estimate = new Error('execution reverted (unknown custom error) (action="estimateGas", data="0x6373d05f00000000000000000000000000000000000000000000000000000000000000ae0000000000000000000000000000000000000000000000000d3502", reason=null)');
    // The real ones still are.
    expect(isTransient(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "UNKNOWN_ERROR" }))).to.equal(true);
    expect(isTransient({ code: "SERVER_ERROR", message: "server response 503 Service Unavailable" })).to.equal(true);
    // Today both are "transient" (the regex's bare /503|502/ matches hex), so Rpc.call retries a broadcast that
    // was mined: the retry gets "nonce too low", and TxSender.broadcastAll re-signs the same request with the next
    // nonce — a second, reverting copy of the transaction (see the lost-answer test below).
    expect({ revert: isTransient(revert), estimate: isTransient(estimate) }).to.deep.equal({ revert: false, estimate: false });
  });
});

describe("keeper: failures around it", function () {
  this.timeout(300_000);
  let node: Node;
  let d: Deployed;
  let base: string;
  /** The node without ethers' 250 ms read cache, for reads and sends that follow a change at once (nonces, feeds). */
  let direct: JsonRpcProvider;
  /** The deployment with its engine read through `direct`. */
  let view: Keel;
  const keepers: RunningKeeper[] = [];
  const processes: KeeperProcess[] = [];
  const closers: (() => Promise<void>)[] = [];
  const debugLines: LineCollector[] = [];

  before(async () => {
    node = await startNode();
    direct = new JsonRpcProvider(node.url, 31337, { staticNetwork: true, cacheTimeout: -1 });
    d = await deployOnNode(node);
    view = { ...d.keel, engine: d.keel.engine.connect(direct) } as Keel;
    await openSamplePositions(d.keel, node, { positions: BOOK, seed: 31n });
    base = (await node.provider.send("evm_snapshot", [])) as string;
  });
  beforeEach(async () => {
    // Every test starts from the same book, with fresh feeds.
    await node.provider.send("evm_revert", [base]);
    base = (await node.provider.send("evm_snapshot", [])) as string;
    (d.deployer as NonceManager).reset();
    await refreshFeeds(d.keel);
  });
  afterEach(async function () {
    if (process.env.KEEPER_TEST_LOGS && this.currentTest?.state === "failed") {
      for (const l of debugLines) console.log(l.lines.filter((x) => x.level !== "info" || x.msg === "pass").map((x) => JSON.stringify(x).slice(0, 600)).slice(-40).join("\n"));
    }
    debugLines.length = 0;
    for (const k of keepers.splice(0)) await k.stop();
    for (const p of processes.splice(0)) await killGroup(p.child);
    for (const c of closers.splice(0)) await c();
  });
  after(async () => {
    direct?.destroy();
    await node?.stop();
  });

  /** A keeper config; `key` is a funded dev account (the node funds accounts 0–19; 1–5 hold the book). */
  function config(rpc: string, key: number | undefined, options: { once?: boolean; confirmations?: number } = {}): KeeperConfig {
    const privateKey = key === undefined ? undefined : devWallet(key).privateKey;
    return testKeeperConfig({ rpc, deployment: d.manifest, privateKey, ...options, pollMs: 100 });
  }

  async function start(c: KeeperConfig): Promise<{ k: RunningKeeper; lines: LineCollector }> {
    const { log, lines } = capturedLogger();
    const k = await startKeeper(c, log);
    keepers.push(k);
    debugLines.push(lines);
    return { k, lines };
  }

  /** Crashes WETH and WBTC; returns the block and the Callable / Liquidatable ids. */
  async function crash(): Promise<{ block: number; callable: Set<bigint>; liquidatable: Set<bigint> }> {
    await movePrice(d.keel, "WETH", -25);
    await movePrice(d.keel, "WBTC", -20);
    const s = await statesOf(view, await openPositionIds(view));
    const pick = (state: number): Set<bigint> => new Set([...s].filter(([, x]) => x === state).map(([id]) => id));
    return { block: await direct.getBlockNumber(), callable: pick(MarginState.Callable), liquidatable: pick(MarginState.Liquidatable) };
  }

  async function leftToDo(): Promise<number> {
    const s = await statesOf(view, await openPositionIds(view));
    return countState(s, MarginState.Callable) + countState(s, MarginState.Liquidatable);
  }

  // ---------------------------------------------------------------- RPC down

  it("test_rpcDown_loopSurvives: RPC down for seconds: the loop survives, counts RPC errors, and acts once the RPC is back", async () => {
    const proxy = await TcpProxy.start(node.port);
    closers.push(() => proxy.close());
    const { k, lines } = await start(config(proxy.url, 6));
    await lines.waitFor((l) => l.msg === "pass", 60_000, "the first pass");
    const errorsBefore = (await k.metrics.rpcErrors.get()).values[0]?.value ?? 0;

    proxy.down();
    await sleep(4_000);
    expect(await isPending(k.done), "the keeper's loop is still running").to.equal(true);
    expect(lines.withMsg("pass failed; retrying").length).to.be.greaterThan(0);
    const errorsDown = (await k.metrics.rpcErrors.get()).values[0]?.value ?? 0;
    expect(errorsDown).to.be.greaterThan(errorsBefore);
    expect(k.keeper.health().rpcUp).to.equal(false);

    proxy.restore();
    const crashed = await crash();
    expect(crashed.callable.size).to.be.greaterThan(0);
    await until(async () => (await leftToDo()) === 0, 120_000, "every Callable and Liquidatable position handled");
    const calls = await d.keel.engine.queryFilter(d.keel.engine.filters.MarginCalled(), crashed.block + 1);
    expect(new Set(calls.map((e) => e.args.id))).to.deep.equal(crashed.callable);
    expect(k.keeper.health().rpcUp).to.equal(true);
    expect(await isPending(k.done)).to.equal(true);
    await k.stop();
    expect(await k.done).to.deep.equal([]);
  });

  // ---------------------------------------------------------------- reorgs

  /**
   * Three blocks that change the book (an open, a deposit, a close), indexed by a running keeper; then a reorg
   * from `depth` blocks back to different blocks (another open, deposit and close) and one more block, after
   * which the index must equal the chain exactly.
   */
  async function reorg(confirmations: number, depth: 2 | 3): Promise<{ reindexed: boolean }> {
    const owner = devWallet(1, direct);
    const other = devWallet(2, direct);
    const manager = d.keel.manager;
    const token = (s: string): string => d.keel.assets[s]!.token.target as string;
    const one = (s: string): bigint => 10n ** BigInt(d.keel.assets[s]!.config.decimals);
    const kusd = 10n ** 18n;
    // An isolated position of `w` on `symbol`, from the book.
    const book = await Promise.all(
      (await openPositionIds(view)).map(async (id) => ({
        id,
        owner: await d.keel.nft.ownerOf(id),
        mode: (await d.keel.engine.positionInfo(id)).mode,
        assets: await d.keel.engine.collateralAssets(id),
      })),
    );
    const isolatedOf = (w: string, symbol: string): bigint =>
      book.find((p) => p.id !== 1n && p.owner === w && p.mode === 0n && p.assets[0] === token(symbol))!.id;
    const [ownerWeth, ownerUsdc, otherWbtc, otherUsdc] = [
      isolatedOf(owner.address, "WETH"),
      isolatedOf(owner.address, "USDC"),
      isolatedOf(other.address, "WBTC"),
      isolatedOf(other.address, "USDC"),
    ];
    // The keeper sends pokes and margin calls between our estimate and our block (confirmations 0 acts at once), so
    // our transactions carry a fixed gas limit instead of the exact estimate (σ and accrual move gas by thousands).
    const gas = { gasLimit: 3_000_000n };
    for (const w of [owner, other]) {
      await (await d.keel.kusd.connect(w).approve(manager.target, 2n ** 255n)).wait();
      await (await d.keel.nft.connect(w).setApprovalForAll(manager.target, true)).wait();
    }

    const { k, lines } = await start(config(node.url, 7, { confirmations }));
    const synced = async (head: number, from: number): Promise<void> => {
      await lines.waitFor((l) => l.msg === "pass" && passOf(l).head >= head, 60_000, `a pass at head ${head}`, from);
    };
    await synced(await direct.getBlockNumber(), 0);

    // Three blocks: an open, a deposit, a close.
    let snapshot = depth === 3 ? ((await node.provider.send("evm_snapshot", [])) as string) : "";
    await (await manager.connect(owner).openAndBorrow(token("WBTC"), one("WBTC"), 20_000n * kusd, owner.address, gas)).wait();
    if (depth === 2) snapshot = (await node.provider.send("evm_snapshot", [])) as string;
    await (await manager.connect(owner).deposit(ownerWeth, token("WETH"), one("WETH"), gas)).wait();
    await (await manager.connect(owner).closePosition(ownerUsdc, owner.address, gas)).wait();
    const oldHead = await direct.getBlockNumber();
    await synced(oldHead, 0);
    expect(k.index.positions().map(describePosition)).to.deep.equal(await chainPositions(view));

    // The reorg: the last `depth` blocks are replaced by others (a different open, close and deposit), and the
    // chain grows one block past the old head so the keeper sees a new block.
    const mark = lines.lines.length;
    await node.provider.send("evm_revert", [snapshot]);
    await (await manager.connect(other).openAndBorrow(token("USDC"), 50_000n * one("USDC"), 10_000n * kusd, other.address, gas)).wait();
    await (await manager.connect(other).closePosition(otherWbtc, other.address, gas)).wait();
    await (await manager.connect(other).deposit(otherUsdc, token("USDC"), 1_000n * one("USDC"), gas)).wait();
    while ((await direct.getBlockNumber()) <= oldHead) await node.provider.send("evm_mine", []);
    await synced(await direct.getBlockNumber(), mark);

    const chain = await chainPositions(view);
    expect(chain.some((p) => p.includes(`"id":"${ownerUsdc}"`)), "the close was reorged away").to.equal(true);
    expect(chain.some((p) => p.includes(`"id":"${otherWbtc}"`)), "the new close").to.equal(false);
    expect(k.index.positions().map(describePosition)).to.deep.equal(chain);
    const reindexed = lines.lines.slice(mark).some((l) => l.msg === "checkpoint block was reorged away: re-indexing from deployment");
    await k.stop();
    return { reindexed };
  }

  it("test_reorg_insideConfirmations: reorg of 2 blocks inside confirmations (2): only the overlay changes, the index ends exact", async () => {
    const { reindexed } = await reorg(2, 2);
    expect(reindexed, "no re-index for a reorg inside the confirmation window").to.equal(false);
  });

  it("test_reorg_checkpointedBlock: reorg of 3 blocks with confirmations 2: a checkpointed block is rewritten, re-indexed from deployment, exact", async () => {
    const { reindexed } = await reorg(2, 3);
    expect(reindexed).to.equal(true);
  });

  it("test_reorg_noConfirmations: reorg of 3 blocks with confirmations 0: re-indexed from deployment, exact", async () => {
    const { reindexed } = await reorg(0, 3);
    expect(reindexed).to.equal(true);
  });

  // ---------------------------------------------------------------- stale feed

  it("test_staleFeed_waitsAndLogs: a stale WETH feed: positions only it prices wait (counted unvalued); baskets are valued with WETH at zero; logged with the error", async () => {
    await crash();
    // An hour and a bit without a WETH update; every other feed keeps its heartbeat.
    await node.provider.send("evm_increaseTime", [3_700]);
    await node.provider.send("evm_mine", []);
    for (const s of ["WBTC", "USDC", "wstETH"]) {
      const feed = d.keel.assets[s]!.feed;
      await (await feed.updateAnswer(await feed.connect(direct).latestAnswer())).wait();
    }
    // WETH positions, cross positions (they hold WETH) and wstETH positions (priced as wstETH/ETH × WETH).
    const stale = await holding(view, ["WETH", "wstETH"]);
    // Those that cannot be valued at all: isolated ones, and baskets holding nothing but WETH and wstETH.
    const unvalued = new Set<bigint>();
    for (const id of stale) if (!(await view.lens.position(id)).valued) unvalued.add(id);
    const priced = [...(await openPositionIds(view))].filter((id) => !stale.has(id));
    const before = await statesOf(view, priced);
    const work = countState(before, MarginState.Callable) + countState(before, MarginState.Liquidatable);
    expect(stale.size).to.be.greaterThan(50);
    expect(unvalued.size > 0 && unvalued.size < stale.size, `${unvalued.size} of ${stale.size} unvalued`).to.equal(true);
    expect(work, `states of the positions priced without WETH: ${JSON.stringify([0, 1, 2, 3].map((x) => countState(before, x)))}`).to.be.greaterThan(0);
    const start0 = await direct.getBlockNumber();

    const { k, lines } = await start(config(node.url, 8, { once: true }));
    const reports = await k.done;
    expect(reports[0]!.unpriced).to.equal(stale.size);
    expect(reports[0]!.unvalued).to.equal(unvalued.size);
    const warning = lines.withMsg("failing price feed: its holdings are valued at zero in cross baskets; positions that only it prices wait")[0];
    expect(warning?.asset).to.equal((d.keel.assets.WETH!.token.target as string).toLowerCase());
    expect(String(warning?.error)).to.match(/^StalePrice\(/);
    const called = await d.keel.engine.queryFilter(d.keel.engine.filters.MarginCalled(), start0 + 1);
    const liquidated = await d.keel.engine.queryFilter(d.keel.engine.filters.Liquidated(), start0 + 1);
    expect([...called, ...liquidated].filter((e) => unvalued.has(e.args.id))).to.deep.equal([]);
    expect(called.length + liquidated.length).to.be.greaterThan(0);
    const after = await statesOf(view, priced);
    expect(countState(after, MarginState.Callable) + countState(after, MarginState.Liquidatable)).to.equal(0);
    expect(total(reports, "marginCalls")).to.equal(called.length);
  });

  // ---------------------------------------------------------------- dry run

  it("test_dryRun_sendsNothing: --dry-run --once without a key: exits 0, sends nothing, logs what it would send", async () => {
    const crashed = await crash();
    const head = await direct.getBlockNumber();
    const checkpoint = join(mkdtempSync(join(tmpdir(), "keel-dry-")), "cp.json");
    const p = spawnKeeper(["--rpc", node.url, "--deployment", d.manifest, "--checkpoint", checkpoint, "--dry-run", "--once"], keeperEnv());
    processes.push(p);
    const exit = await Promise.race([p.exited, sleep(120_000).then(() => ({ code: -1, signal: null }))]);
    expect(exit.code, p.stderr.raw + p.stdout.raw.slice(-2000)).to.equal(0);
    expect(await direct.getBlockNumber()).to.equal(head);
    const would = p.stdout.withMsg("dry run: would send");
    expect(would.filter((l) => l.kind === "marginCall").map((l) => BigInt(l.id as string)).sort()).to.deep.equal([...crashed.callable].sort());
    expect(new Set(would.filter((l) => l.kind === "liquidateBatch").flatMap((l) => (l.ids as string[]).map(BigInt)))).to.deep.equal(crashed.liquidatable);
    const passes = p.stdout.withMsg("pass");
    expect(passes).to.have.length(1);
    expect(passes[0]!.dryRun).to.equal(true);
  });

  // ---------------------------------------------------------------- metrics, health, webhook

  it("test_metrics_healthAndWebhook: metrics and health endpoints, and one webhook notice per margin call", async () => {
    const hook = await startWebhook();
    closers.push(() => hook.close());
    const c = config(node.url, 9);
    c.metricsPort = 0;
    c.webhook = hook.url;
    const { k, lines } = await start(c);
    await lines.waitFor((l) => l.msg === "pass", 60_000, "the first pass");
    expect(k.metricsPort).to.be.a("number").and.to.be.greaterThan(0);
    const base = `http://127.0.0.1:${k.metricsPort}`;

    const open = (await openPositionIds(view)).length;
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).to.equal(200);
    expect(metrics.headers.get("content-type")).to.match(/^text\/plain/);
    const text = await metrics.text();
    expect(text).to.include("# TYPE keel_keeper_positions_indexed gauge");
    expect(text).to.match(new RegExp(`^keel_keeper_positions_indexed ${open}$`, "m"));
    expect(text).to.match(/^keel_keeper_rpc_errors_total 0$/m);

    const health = await fetch(`${base}/health`);
    expect(health.status).to.equal(200);
    expect(health.headers.get("content-type")).to.equal("application/json");
    const report = (await health.json()) as { healthy: boolean; lagBlocks: number; head: number; rpcUp: boolean };
    expect(report.healthy).to.equal(true);
    expect(report.rpcUp).to.equal(true);
    expect(report.lagBlocks).to.be.a("number").and.to.be.within(0, 5);
    expect((await fetch(`${base}/nope`)).status).to.equal(404);

    const crashed = await crash();
    expect(crashed.callable.size).to.be.greaterThan(0);
    await until(async () => hook.notices.length >= crashed.callable.size && (await leftToDo()) === 0, 120_000, "the margin calls and their notices");
    await sleep(500); // a duplicate notice would arrive now
    const events = await d.keel.engine.queryFilter(d.keel.engine.filters.MarginCalled(), crashed.block + 1);
    expect(events).to.have.length(crashed.callable.size);
    expect(hook.notices).to.have.length(events.length);
    const byId = new Map(hook.notices.map((n) => [n.positionId, n]));
    for (const e of events) {
      const n = byId.get(e.args.id.toString());
      expect(n, `notice for ${e.args.id}`).to.not.equal(undefined);
      expect(n!.event).to.equal("margin_call");
      expect(n!.chainId).to.equal(31337);
      expect(n!.txHash).to.equal(e.transactionHash);
      expect(n!.deadline).to.equal(Number(e.args.deadline));
      expect(n!.healthFactor).to.match(/^0\.\d+$/);
      expect(n!.owner?.toLowerCase()).to.equal((await d.keel.nft.ownerOf(e.args.id)).toLowerCase());
    }
    const after = await (await fetch(`${base}/metrics`)).text();
    expect(after).to.match(new RegExp(`^keel_keeper_margin_calls_total ${crashed.callable.size}$`, "m"));
  });

  // ---------------------------------------------------------------- broadcast faults

  it("test_broadcast_lostAnswer_notResent: a broadcast whose answer is lost is not sent again under a new nonce", async () => {
    const proxy = await RpcProxy.start(node.url);
    closers.push(() => proxy.close());
    proxy.faultFor = (n) => (n === 1 ? "swallowAnswer" : "forward");
    const crashed = await crash();
    const key = 10;
    const { k } = await start(config(proxy.url, key, { once: true }));
    await k.done;
    const head = await direct.getBlockNumber();
    const sent: string[] = [];
    let reverted = 0;
    for (let n = crashed.block + 1; n <= head; n++) {
      const block = await direct.getBlock(n, true);
      for (const tx of block!.prefetchedTransactions) {
        if (tx.from !== devWallet(key).address) continue;
        sent.push(`${tx.to}:${tx.data.slice(0, 74)}`); // target, selector and position id
        if ((await direct.getTransactionReceipt(tx.hash))!.status !== 1) reverted++;
      }
    }
    // Today: the retried broadcast is answered "nonce too low" (the first copy was mined), broadcastAll takes it
    // for another process's nonce and signs the same request again with the next nonce: a second copy, which
    // reverts (AlreadyCalled / NothingToRepay), and so on up to 5 times before the whole batch is abandoned.
    expect({ duplicates: sent.length - new Set(sent).size, reverted }).to.deep.equal({ duplicates: 0, reverted: 0 });
  });

  it("test_broadcast_failure_passContinues: one failed broadcast neither abandons nor hides the rest of the pass, and --once does not stop with work left", async () => {
    const proxy = await RpcProxy.start(node.url);
    closers.push(() => proxy.close());
    // The first transaction goes through; the second one's broadcast fails three times (every attempt Rpc.call
    // makes), then the RPC is fine again.
    proxy.faultFor = (n) => (n >= 2 && n <= 4 ? "fail" : "forward");
    const crashed = await crash();
    const key = 19;
    const { k } = await start(config(proxy.url, key, { once: true }));
    const reports = await k.done;
    const head = await direct.getBlockNumber();
    // A flash batch is one transaction acting on many positions, and the reports count positions: each mined
    // transaction counts as its Liquidated events (a liquidateBatch) or as one action (a margin call).
    const engine = (d.keel.engine.target as string).toLowerCase();
    let mined = 0;
    let actedOn = 0;
    for (let n = crashed.block + 1; n <= head; n++) {
      const block = await direct.getBlock(n, true);
      for (const tx of block!.prefetchedTransactions) {
        if (tx.from !== devWallet(key).address) continue;
        const receipt = (await direct.getTransactionReceipt(tx.hash))!;
        if (receipt.status !== 1) continue;
        mined++;
        if (tx.to?.toLowerCase() !== (d.keel.flashLiquidator.target as string).toLowerCase()) {
          actedOn++;
          continue;
        }
        actedOn += receipt.logs.filter((l) => l.address.toLowerCase() === engine && d.keel.engine.interface.parseLog(l)?.name === "Liquidated").length;
      }
    }
    expect(mined, "the first transaction was mined").to.be.greaterThan(0);
    // Today: broadcastAll throws on the second transaction, sendAll marks every request of the batch "failed" —
    // the first one too, although it was mined (no margin-call notice, no metric) — nothing after it is sent,
    // the pass reports 0 actions, and runOnce takes "0 actions" for "nothing left to do" and exits.
    expect({
      leftToDo: await leftToDo(),
      recorded: total(reports, "marginCalls") + total(reports, "liquidations"),
    }).to.deep.equal({ leftToDo: 0, recorded: actedOn });
  });
});
