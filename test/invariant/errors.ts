/**
 * Revert classification: every revert an action meets is decoded against the custom errors of every Keel
 * contract (and OpenZeppelin's, as declared in their ABIs). Anything else — a panic, a string reason, empty revert
 * data, an error no contract declares — is `Unknown` and fails the suite.
 */
import { Interface, type ErrorFragment } from "ethers";
import type { Keel } from "../../deploy";

export interface Revert {
  name: string; // custom error name, or "Panic(0x..)", "Error(<reason>)", "Unknown"
  detail: string;
}

/** Thrown by `expectAllowed` when a revert is not among an action's documented errors. */
export class UndocumentedRevert extends Error {
  override name = "UndocumentedRevert";
  constructor(action: string, revert: Revert, options?: { cause?: unknown }) {
    super(`${action} reverted with an undocumented reason: ${revert.name} ${revert.detail}`, options);
  }
}

export class RevertDecoder {
  private readonly iface: Interface;

  constructor(keel: Keel) {
    const fragments = new Map<string, ErrorFragment>();
    const contracts = [
      keel.engine, keel.risk, keel.oracle, keel.vol, keel.kusd, keel.nft, keel.surplus,
      keel.flashLiquidator, keel.amm, keel.timelock, keel.accessManager, keel.lens, keel.psm, keel.savings,
    ];
    for (const c of contracts) {
      c.interface.forEachError((e) => fragments.set(e.selector, e));
    }
    this.iface = new Interface([...fragments.values()]);
  }

  decode(error: unknown): Revert {
    const data = revertData(error);
    const message = error instanceof Error ? error.message : String(error);
    if (data && data.length >= 10) {
      if (data.startsWith("0x4e487b71")) return { name: `Panic(0x${BigInt("0x" + data.slice(10)).toString(16)})`, detail: data };
      if (data.startsWith("0x08c379a0")) {
        const [reason] = new Interface(["function Error(string)"]).decodeFunctionData("Error", data);
        return { name: `Error(${String(reason)})`, detail: data };
      }
      try {
        const parsed = this.iface.parseError(data);
        if (parsed) return { name: parsed.name, detail: `(${parsed.args.map(String).join(", ")})` };
      } catch {
        // fall through to Unknown
      }
    }
    const custom = /reverted with custom error '(\w+)\((.*)\)'/.exec(message);
    if (custom) return { name: custom[1]!, detail: `(${custom[2]})` };
    return { name: "Unknown", detail: message.slice(0, 400) };
  }
}

function revertData(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e && typeof e === "object"; depth++) {
    const o = e as { data?: unknown; error?: unknown; info?: { error?: unknown }; cause?: unknown };
    if (typeof o.data === "string" && o.data.startsWith("0x")) return o.data;
    if (o.data && typeof o.data === "object" && typeof (o.data as { data?: unknown }).data === "string") {
      return (o.data as { data: string }).data;
    }
    e = o.error ?? o.info?.error ?? o.cause;
  }
  return undefined;
}
