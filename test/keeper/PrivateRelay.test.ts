import { expect } from "chai";
import { keccak256 } from "ethers";
import type { Keel } from "../../deploy";
import { KeeperConfigError, loadKeeperConfig } from "../../src/keeper/config";
import { type RunningKeeper, startKeeper } from "../../src/keeper/main";
import type { KeeperMetrics } from "../../src/keeper/metrics";
import { sleep } from "../../src/keeper/rpc";
import { capturedLogger, deployOnNode, devWallet, freePort, type Node, openLiquidatableBook, startNode, testKeeperConfig } from "./harness";
import { RecordingRpc } from "./recordingRpc";

/** What a private relay accepts: sends only. */
const RELAY_METHODS = ["eth_sendRawTransaction"];

/** The keeper's private-relay counter, by path. */
async function relayed(metrics: KeeperMetrics): Promise<Record<string, number>> {
  const values = (await metrics.privateRelayIncluded.get()).values;
  return Object.fromEntries(values.map((v) => [String(v.labels.path), v.value]));
}

describe("keeper: liquidations through a private relay (--private-rpc)", function () {
  this.timeout(300_000);
  let node: Node;
  let keel: Keel;
  let manifest: string;
  /** The keeper's public --rpc: the node, through a recorder. */
  let publicRpc: RecordingRpc;
  const relays: RecordingRpc[] = [];
  const keepers: RunningKeeper[] = [];

  before(async () => {
    node = await startNode();
    ({ keel, manifest } = await deployOnNode(node));
    publicRpc = await RecordingRpc.start({ target: node.url });
  });
  afterEach(async () => {
    for (const k of keepers.splice(0)) await k.stop();
    for (const r of relays.splice(0)) await r.stop();
  });
  after(async () => {
    await publicRpc?.stop();
    await node?.stop();
  });

  async function startRelay(forward: boolean): Promise<RecordingRpc> {
    const relay = await RecordingRpc.start({ target: node.url, forward, methods: RELAY_METHODS });
    relays.push(relay);
    return relay;
  }

  /** A --once keeper against the recorded public RPC, liquidations through `relay`. */
  async function startOnceKeeper(relay: RecordingRpc, fallbackBlocks: string): Promise<{ running: RunningKeeper; lines: ReturnType<typeof capturedLogger>["lines"] }> {
    const config = testKeeperConfig({
      rpc: publicRpc.url,
      deployment: manifest,
      privateKey: devWallet(9).privateKey,
      once: true,
      privateRpc: relay.url,
      privateFallbackBlocks: fallbackBlocks,
    });
    config.sender.bumpAfterMs = 120_000; // no fee bump while the test mines blocks: one signed transaction
    const { log, lines } = capturedLogger();
    const running = await startKeeper(config, log);
    keepers.push(running);
    return { running, lines };
  }

  it("test_privateRpc_relayForwards_includedPrivately: the liquidation goes to the relay only (never to --rpc), the relay's transaction is the one included, and logs and metrics say 'private'", async () => {
    const relay = await startRelay(true);
    const book = await openLiquidatableBook(keel, node, 1);
    await book.trigger();
    const sendsBefore = publicRpc.rawTransactions().length;
    const { running, lines } = await startOnceKeeper(relay, "3");
    const reports = await running.done;

    expect(reports.reduce((n, r) => n + r.liquidations, 0)).to.equal(1);
    const [raw, ...more] = relay.rawTransactions();
    expect(more).to.deep.equal([]);
    expect(relay.received.map((r) => r.method)).to.deep.equal(["eth_sendRawTransaction"]); // nothing read from the relay
    expect(publicRpc.rawTransactions().slice(sendsBefore)).to.deep.equal([]);
    const [event] = await keel.engine.queryFilter(keel.engine.filters.Liquidated(book.ids[0]));
    expect(event?.transactionHash).to.equal(keccak256(raw!));
    const mined = lines.withMsg("mined").filter((l) => l.kind === "liquidateBatch");
    expect(mined.map((l) => [l.hash, l.via])).to.deep.equal([[event!.transactionHash, "private"]]);
    expect(lines.withMsg("not included through the private relay: broadcast publicly")).to.deep.equal([]);
    expect(await relayed(running.metrics)).to.deep.equal({ private: 1 });
  });

  it("test_privateRpc_relaySwallows_broadcastPubliclyAfterNBlocks: a relay that drops the liquidation: the same signed transaction (same nonce) is broadcast through --rpc once the head is N blocks past sending, not before", async () => {
    const relay = await startRelay(false);
    const book = await openLiquidatableBook(keel, node, 1);
    await book.trigger();
    const sendsBefore = publicRpc.rawTransactions().length;
    const { running, lines } = await startOnceKeeper(relay, "2");
    const sent = await lines.waitFor((l) => l.msg === "sent to the private relay", 60_000, "the send to the relay");
    const sentAt = await node.provider.getBlockNumber();
    const [raw] = relay.rawTransactions();
    expect(keccak256(raw!)).to.equal(sent.hash);

    // One block: still waiting on the relay; nothing public, nothing mined.
    await node.provider.send("evm_mine", []);
    await sleep(1_500); // six of the sender's 250 ms polls
    expect(publicRpc.rawTransactions().slice(sendsBefore)).to.deep.equal([]);
    expect(await node.provider.getTransactionReceipt(keccak256(raw!))).to.equal(null);

    // The second block: the fallback broadcasts the very bytes the relay got, and the node mines them.
    await node.provider.send("evm_mine", []);
    const reports = await running.done;
    expect(publicRpc.rawTransactions().slice(sendsBefore)).to.deep.equal([raw]);
    expect(relay.rawTransactions()).to.deep.equal([raw]);
    expect(reports.reduce((n, r) => n + r.liquidations, 0)).to.equal(1);
    const [event] = await keel.engine.queryFilter(keel.engine.filters.Liquidated(book.ids[0]));
    expect(event?.transactionHash).to.equal(keccak256(raw!));
    expect(event!.blockNumber).to.equal(sentAt + 3);
    const [fallback, ...others] = lines.withMsg("not included through the private relay: broadcast publicly");
    expect(others).to.deep.equal([]);
    expect([fallback?.hash, fallback?.sentAt, fallback?.head]).to.deep.equal([event!.transactionHash, sentAt, sentAt + 2]);
    expect(lines.withMsg("mined").filter((l) => l.kind === "liquidateBatch").map((l) => l.via)).to.deep.equal(["public"]);
    expect(await relayed(running.metrics)).to.deep.equal({ public: 1 });
  });

  it("test_privateRpc_relayUnreachable_broadcastPubliclyAtOnce: a relay nobody listens on: after the RPC's retries the liquidation is broadcast through --rpc at once, without waiting for blocks", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const book = await openLiquidatableBook(keel, node, 1);
    await book.trigger();
    const sendsBefore = publicRpc.rawTransactions().length;
    const config = testKeeperConfig({ rpc: publicRpc.url, deployment: manifest, privateKey: devWallet(9).privateKey, once: true, privateRpc: closed });
    const { log, lines } = capturedLogger();
    const running = await startKeeper(config, log);
    keepers.push(running);
    const reports = await running.done;

    expect(reports.reduce((n, r) => n + r.liquidations, 0)).to.equal(1);
    const [event] = await keel.engine.queryFilter(keel.engine.filters.Liquidated(book.ids[0]));
    const [raw, ...more] = publicRpc.rawTransactions().slice(sendsBefore);
    expect(more).to.deep.equal([]);
    expect(event?.transactionHash).to.equal(keccak256(raw!));
    expect(lines.withMsg("private relay failed: broadcasting publicly").map((l) => l.hash)).to.deep.equal([event!.transactionHash]);
    expect(lines.withMsg("mined").filter((l) => l.kind === "liquidateBatch").map((l) => l.via)).to.deep.equal(["public"]);
    expect(await relayed(running.metrics)).to.deep.equal({ public: 1 });
  });

  it("test_privateRpc_badFlags_refused: a relay URL that is not http(s), the --rpc endpoint itself, or a fallback without a relay or out of range fails with the flag's name", () => {
    const key = { KEEPER_PRIVATE_KEY: devWallet(9).privateKey };
    const load = (flags: Record<string, string>): unknown => loadKeeperConfig({ rpc: "http://127.0.0.1:8545", deployment: "d.json", ...flags }, key);
    const refused = (flags: Record<string, string>, message: string): void => {
      expect(() => load(flags)).to.throw(KeeperConfigError, message);
    };
    refused({ "private-rpc": "relay.example" }, '--private-rpc: "relay.example" is not a URL (expected http:// or https://…)');
    refused({ "private-rpc": "ws://relay.example" }, '--private-rpc: "ws://relay.example" is not an http:// or https:// URL (ws: is not supported)');
    refused({ "private-rpc": "http://127.0.0.1:8545/" }, "--private-rpc is the same endpoint as --rpc: nothing would be sent privately");
    refused({ "private-fallback-blocks": "3" }, "--private-fallback-blocks needs --private-rpc <url>");
    refused({ "private-rpc": "https://relay.example", "private-fallback-blocks": "0" }, "--private-fallback-blocks: 0 is not a whole number from 1 to 64");
    refused({ "private-rpc": "https://relay.example", "private-fallback-blocks": "two" }, '--private-fallback-blocks: "two" is not a whole number');
    const config = loadKeeperConfig({ rpc: "http://127.0.0.1:8545", deployment: "d.json", "private-rpc": "https://relay.example/key" }, key);
    expect(config.privateRpc).to.deep.equal({ url: "https://relay.example/key", fallbackBlocks: 3 });
  });
});
