/**
 * The keeper's RPC access: one JsonRpcProvider pinned to the manifest's chain (no network detection loops when
 * the node is down), every call counted by method, and transient failures retried with exponential backoff.
 * Reverts are not retried: they are answers.
 */
import { type FetchCancelSignal, FetchRequest, type GetUrlResponse, JsonRpcProvider, type Provider } from "ethers";
import { KeelError } from "../units/error";
import { shortMessage } from "../client/errors";

export class RpcError extends KeelError {
  override name = "RpcError";
  constructor(
    message: string,
    readonly method: string,
    options?: { cause?: unknown },
  ) {
    super("RPC", message, options);
  }
}

export interface RpcOptions {
  /** Attempts per call before giving up (the keeper loop then backs off and tries again later). */
  attempts: number;
  /** First retry delay; doubles each attempt. */
  backoffMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
}

/** The most gas one transaction may use (EIP-7825), and one eth_call on Hardhat's node. */
export const TX_GAS_CAP = 16_777_216n;

export const DEFAULT_RPC: RpcOptions = { attempts: 3, backoffMs: 200, timeoutMs: 10_000 };

export class Rpc {
  /** Calls by method name since start, and failed attempts. */
  readonly calls = new Map<string, number>();
  errors = 0;
  onError?: (method: string, error: unknown) => void;

  /** Over an existing provider (tests use the in-process network this way). */
  constructor(
    readonly provider: Provider,
    readonly chainId: number,
    private readonly options: RpcOptions = DEFAULT_RPC,
  ) {}

  /** A provider for `url` pinned to `chainId`: no network detection, so a dead node does not loop or log. */
  static connect(url: string, chainId: number, options: RpcOptions = DEFAULT_RPC): Rpc {
    // cacheTimeout -1: ethers otherwise answers identical reads (the head, a nonce) from a 250 ms cache, so the pass
    // after a broadcast would see the block before it.
    const request = new FetchRequest(url);
    request.timeout = options.timeoutMs;
    request.getUrlFunc = fetchGetUrl;
    const provider = new JsonRpcProvider(request, chainId, { staticNetwork: true, pollingInterval: 500, cacheTimeout: -1 });
    return new Rpc(provider, chainId, options);
  }

  /** Runs `fn` against the provider, retrying transient failures. */
  async call<T>(method: string, fn: (provider: Provider) => Promise<T>): Promise<T> {
    let delay = this.options.backoffMs;
    for (let attempt = 1; ; attempt++) {
      this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
      try {
        return await fn(this.provider);
      } catch (e) {
        if (!isTransient(e)) throw e;
        this.errors++;
        this.onError?.(method, e);
        if (attempt >= this.options.attempts) {
          throw new RpcError(`${method}: RPC unavailable after ${attempt} attempts (${shortMessage(e)})`, method, { cause: e });
        }
        await sleep(delay);
        delay *= 2;
      }
    }
  }

  /** A raw JSON-RPC request (a method ethers has no typed call for), counted and retried like every call. */
  async send(method: string, params: readonly unknown[]): Promise<unknown> {
    return this.call(method, (p) => {
      if (!takesRawRequests(p)) throw new RpcError(`${method}: this provider takes no raw JSON-RPC requests`, method);
      return p.send(method, [...params]);
    });
  }

  /** Total calls since start. */
  get totalCalls(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c;
    return n;
  }

  destroy(): void {
    this.provider.destroy();
  }
}

/** JsonRpcProvider and Hardhat's in-process provider take raw requests; a bare Provider does not. */
function takesRawRequests(p: Provider): p is Provider & { send(method: string, params: unknown[]): Promise<unknown> } {
  return typeof (p as { send?: unknown }).send === "function";
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });

/** A network-level failure (connection refused, timeout, bad gateway), as opposed to a revert or a bad request. */
export function isTransient(e: unknown): boolean {
  const err = e as { code?: string; message?: string; error?: { code?: number } };
  if (err?.code === "CALL_EXCEPTION" || err?.code === "INVALID_ARGUMENT" || err?.code === "NONCE_EXPIRED") return false;
  if (err?.code === "TIMEOUT" || err?.code === "NETWORK_ERROR" || err?.code === "SERVER_ERROR") return true;
  const text = `${err?.message ?? e}`;
  // Status codes only as whole words: the digits 502 inside a hex revert payload are not a gateway error.
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|fetch failed|timeout|missing response|bad response|\b50[234]\b/i.test(
    text,
  );
}

/**
 * `fn` over `items` with at most `limit` calls in flight, results in order. A node executes calls one at a time:
 * hundreds at once only queue up there until they time out.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/**
 * HTTP through Node's fetch. ethers' default Node transport copies the whole body again for every chunk it
 * receives, which is quadratic in the response size: a 25 MB eth_getLogs answer took 100 s instead of 1 s.
 */
async function fetchGetUrl(req: FetchRequest, signal?: FetchCancelSignal): Promise<GetUrlResponse> {
  const controller = new AbortController();
  signal?.addListener(() => controller.abort());
  const timer = setTimeout(() => controller.abort(), req.timeout);
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: Object.fromEntries(Object.entries(req.headers)),
      body: req.body ? Buffer.from(req.body) : undefined,
      signal: controller.signal,
    });
    return {
      statusCode: res.status,
      statusMessage: res.statusText,
      headers: Object.fromEntries([...res.headers.entries()].map(([k, v]) => [k.toLowerCase(), v])),
      body: new Uint8Array(await res.arrayBuffer()),
    };
  } catch (e) {
    if (controller.signal.aborted) throw new Error(`timeout after ${req.timeout} ms`, { cause: e });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
