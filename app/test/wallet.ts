/**
 * An injected EIP-1193 wallet for browser tests, as MetaMask behaves: `eth_accounts` is empty until
 * `eth_requestAccounts`; it announces itself by EIP-6963; it answers on the chain it is set to and switches on
 * `wallet_switchEthereumChain`; `eth_sendTransaction` goes to the test's Hardhat node, which signs for its
 * development accounts; a test can make it reject the next request it would sign.
 */
import type { BrowserContext, Page } from "playwright-core";

/** Runs in the page before the app: `window.ethereum` forwarding every request to the test through a binding. */
const INIT_SCRIPT = `(() => {
  const listeners = {};
  const provider = {
    isKeelTestWallet: true,
    async request({ method, params }) {
      const r = await window.__keelWallet(method, params ?? []);
      if (r.error) {
        const e = new Error(r.error.message);
        e.code = r.error.code;
        if (r.error.data !== undefined) e.data = r.error.data;
        throw e;
      }
      return r.result;
    },
    on(event, fn) { (listeners[event] ??= []).push(fn); return provider; },
    removeListener(event, fn) { listeners[event] = (listeners[event] ?? []).filter((f) => f !== fn); return provider; },
  };
  window.ethereum = provider;
  window.__keelWalletEmit = (event, arg) => (listeners[event] ?? []).forEach((f) => f(arg));
  const info = { uuid: "7f1c7a6e-2a43-4c1e-9a55-6d3f0c1f0e11", name: "Keel Test Wallet", rdns: "org.keel.testwallet",
    icon: "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxIDEiLz4=" };
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();`;

interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

type Reply = { result: unknown } | { error: RpcError };

const SIGNING = new Set(["eth_sendTransaction", "eth_sign", "personal_sign", "eth_signTypedData_v4"]);

export class TestWallet {
  connected = false;
  chainId: number;
  /** Rejects the next signing request as a user would (EIP-1193 code 4001). */
  rejectNext = false;
  /** Methods the page asked for, in order (for assertions such as "nothing was sent"). */
  readonly calls: string[] = [];
  private page?: Page;

  constructor(
    private readonly rpcUrl: string,
    readonly account: string,
    options: { chainId?: number } = {},
  ) {
    this.chainId = options.chainId ?? 31337;
  }

  /** Installs the wallet in every page of `context`. */
  async install(context: BrowserContext): Promise<void> {
    await context.exposeBinding("__keelWallet", (_source, method: string, params: unknown[]) => this.handle(method, params));
    await context.addInitScript(INIT_SCRIPT);
  }

  attach(page: Page): void {
    this.page = page;
  }

  /** Emits an EIP-1193 event in the page (chainChanged, accountsChanged). */
  async emit(event: string, arg: unknown): Promise<void> {
    await this.page?.evaluate(([e, a]) => (window as unknown as { __keelWalletEmit(e: string, a: unknown): void }).__keelWalletEmit(e, a), [event, arg] as const);
  }

  private async handle(method: string, params: unknown[]): Promise<Reply> {
    this.calls.push(method);
    const hexChain = `0x${this.chainId.toString(16)}`;
    switch (method) {
      case "eth_chainId":
        return { result: hexChain };
      case "net_version":
        return { result: String(this.chainId) };
      case "eth_accounts":
        return { result: this.connected ? [this.account] : [] };
      case "eth_requestAccounts":
        if (this.rejectNext) return this.reject();
        this.connected = true;
        return { result: [this.account] };
      case "wallet_requestPermissions":
        this.connected = true;
        return { result: [{ parentCapability: "eth_accounts" }] };
      case "wallet_getPermissions":
        return { result: this.connected ? [{ parentCapability: "eth_accounts" }] : [] };
      case "wallet_revokePermissions":
        this.connected = false;
        return { result: null };
      case "wallet_switchEthereumChain": {
        const wanted = Number((params[0] as { chainId: string }).chainId);
        if (wanted !== 31337) return { error: { code: 4902, message: `Unrecognized chain ID ${wanted}` } };
        this.chainId = wanted;
        setTimeout(() => void this.emit("chainChanged", `0x${wanted.toString(16)}`), 0);
        return { result: null };
      }
      case "wallet_addEthereumChain":
        return { result: null };
    }
    if (SIGNING.has(method)) {
      if (this.rejectNext) return this.reject();
      if (!this.connected) return { error: { code: 4100, message: "The requested account has not been authorized" } };
      if (this.chainId !== 31337) return { error: { code: -32000, message: `wallet is on chain ${this.chainId}` } };
    }
    return this.forward(method, params);
  }

  private reject(): Reply {
    this.rejectNext = false;
    return { error: { code: 4001, message: "User rejected the request." } };
  }

  /** Sends the request to the node as is; its error (with revert data) comes back unchanged. */
  private async forward(method: string, params: unknown[]): Promise<Reply> {
    const response = await fetch(this.rpcUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await response.json()) as { result?: unknown; error?: RpcError };
    return body.error ? { error: body.error } : { result: body.result };
  }
}
