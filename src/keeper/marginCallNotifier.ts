/**
 * Tells the owner's side about each margin call the keeper got mined: the notice (owner, HF, debt, deadline from
 * the MarginCalled event) is built here and POSTed by the Webhook. Notices go out in parallel, so a slow webhook
 * never holds up the others (each has its own timeout).
 */
import { ZeroAddress } from "ethers";
import type { KeelConnection } from "../client/manifest";
import { formatFixed } from "../units";
import type { PlannedAction } from "./plannedAction";
import type { SendOutcome } from "./sender";
import type { Webhook } from "./webhook";

/** The notice is read by programs: a plain decimal, without the thousands separators people get. */
const plainDecimal = (wad: bigint): string => formatFixed(wad, 18).replaceAll(",", "");

export class MarginCallNotifier {
  constructor(
    private readonly webhook: Webhook,
    private readonly keel: KeelConnection,
    private readonly chainId: number,
  ) {}

  /** One notice per mined margin call among `planned` (`outcomes[i]` of `planned[i]`), all awaited. */
  async notifyMined(planned: readonly PlannedAction[], outcomes: readonly SendOutcome[]): Promise<void> {
    const notices: Promise<void>[] = [];
    for (let i = 0; i < planned.length; i++) {
      const plan = planned[i]!;
      const out = outcomes[i]!;
      if (plan.kind === "marginCall" && out.status === "mined") notices.push(this.notify(plan.id, plan.health.hf, plan.health.debt, out));
    }
    await Promise.all(notices);
  }

  private async notify(id: bigint, hf: bigint, debt: bigint, out: Extract<SendOutcome, { status: "mined" }>): Promise<void> {
    const engine = this.keel.engine;
    let deadline = 0;
    for (const log of out.receipt.logs) {
      const parsed = log.address.toLowerCase() === (engine.target as string).toLowerCase() ? engine.interface.parseLog(log) : null;
      if (parsed?.name === "MarginCalled") deadline = Number(parsed.args.getValue("deadline"));
    }
    const owner = await this.keel.nft.ownerOf(id).catch(() => ZeroAddress);
    await this.webhook.notify({
      event: "margin_call",
      chainId: this.chainId,
      positionId: id.toString(),
      owner,
      healthFactor: plainDecimal(hf),
      debt: plainDecimal(debt),
      deadline,
      txHash: out.hash,
    });
  }
}
