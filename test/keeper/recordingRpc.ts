/**
 * A JSON-RPC endpoint on 127.0.0.1 that the keeper's relay tests start: it records every request it receives (batches
 * included) and either forwards each one to a real node, answering with the node's answer, or, with
 * `forward: false`, answers eth_sendRawTransaction with the transaction's hash and drops it (a relay that swallows
 * what it is sent). `methods` limits what it accepts, as a private relay takes only eth_sendRawTransaction; any other
 * method is answered with JSON-RPC error -32601. `callGasCap` makes it a node that caps the gas of an eth_call.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { keccak256, toQuantity } from "ethers";

export interface RecordedRequest {
  method: string;
  params: unknown[];
}

export interface RecordingRpcOptions {
  /** The node requests are forwarded to. */
  target: string;
  /** Forward accepted requests to `target` (default); false answers sends with their hash and forwards nothing. */
  forward?: boolean;
  /** The methods accepted; every method when absent. */
  methods?: readonly string[];
  /** Gas an eth_call may use at most: more is cut to this before forwarding, as geth's --rpc.gascap does. */
  callGasCap?: bigint;
}

interface JsonRpcRequest {
  jsonrpc: "2.0";
  id: number | string | null;
  method: string;
  params?: unknown[];
}

export class RecordingRpc {
  readonly received: RecordedRequest[] = [];
  private readonly server: Server;
  private port = 0;

  private constructor(private readonly options: RecordingRpcOptions) {
    this.server = createServer((req, res) => {
      void body(req)
        .then(async (text) => {
          const parsed = JSON.parse(text) as JsonRpcRequest | JsonRpcRequest[];
          const requests = Array.isArray(parsed) ? parsed : [parsed];
          const answers = await Promise.all(requests.map((r) => this.answer(r)));
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(Array.isArray(parsed) ? answers : answers[0]));
        })
        .catch((e: unknown) => {
          res.writeHead(500);
          res.end(String(e));
        });
    });
  }

  /** Listens on 127.0.0.1, on a port the system picks. */
  static async start(options: RecordingRpcOptions): Promise<RecordingRpc> {
    const rpc = new RecordingRpc(options);
    await new Promise<void>((resolve, reject) => {
      rpc.server.once("error", reject);
      rpc.server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = rpc.server.address();
    if (typeof address !== "object" || !address) throw new Error("RecordingRpc: the server has no port");
    rpc.port = address.port;
    return rpc;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The raw transactions received through eth_sendRawTransaction, in order. */
  rawTransactions(): string[] {
    return this.received.filter((r) => r.method === "eth_sendRawTransaction").map((r) => String(r.params[0]));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(r: JsonRpcRequest): Promise<unknown> {
    const o = this.options;
    this.received.push({ method: r.method, params: r.params ?? [] });
    if (o.methods && !o.methods.includes(r.method)) {
      return { jsonrpc: "2.0", id: r.id, error: { code: -32601, message: `the method ${r.method} does not exist/is not available` } };
    }
    if (o.forward === false) {
      if (r.method !== "eth_sendRawTransaction") throw new Error(`RecordingRpc: cannot answer ${r.method} without forwarding`);
      return { jsonrpc: "2.0", id: r.id, result: keccak256(String(r.params?.[0])) };
    }
    const call = r.params?.[0] as { gas?: string } | undefined;
    if (o.callGasCap !== undefined && r.method === "eth_call" && call && (call.gas === undefined || BigInt(call.gas) > o.callGasCap)) {
      r = { ...r, params: [{ ...call, gas: toQuantity(o.callGasCap) }, ...(r.params ?? []).slice(1)] };
    }
    const res = await fetch(o.target, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(r) });
    return (await res.json()) as unknown;
  }
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
