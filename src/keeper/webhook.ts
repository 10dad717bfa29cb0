/** Margin-call notices to a webhook: one JSON POST per call, with a timeout; a failing webhook never stops the keeper. */
import type { Logger } from "./log";

export interface MarginCallNotice {
  event: "margin_call";
  chainId: number;
  positionId: string;
  owner?: string;
  healthFactor: string; // decimal
  debt: string; // kUSD, decimal
  deadline: number; // unix seconds
  txHash: string;
}

export class Webhook {
  sent = 0;
  failed = 0;

  constructor(
    private readonly url: string,
    private readonly log?: Logger,
    private readonly timeoutMs = 5_000,
  ) {}

  async notify(notice: MarginCallNotice): Promise<boolean> {
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(notice),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      this.sent++;
      return true;
    } catch (e) {
      this.failed++;
      this.log?.warn({ webhook: this.url, positionId: notice.positionId, error: String(e) }, "webhook failed");
      return false;
    }
  }
}
