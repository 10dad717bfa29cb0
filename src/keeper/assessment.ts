/**
 * The health of every position at one block: valued locally from the mirror and one Lens.market read (cheap,
 * every position), then confirmed through Lens.healthScan for every position the keeper could act on — and for
 * all of them every `fullSweepEvery` passes, so a wrong mirror is noticed. The chain's numbers win.
 */
import { evaluate, type MarketSnapshot } from "./evaluate";
import type { Logger } from "./log";
import type { KeeperMetrics } from "./metrics";
import type { IndexedPosition } from "./positionIndex";
import type { Health, HealthSweeper } from "./sweep";

/** A position with the health it was assessed at. */
export interface AssessedPosition {
  p: IndexedPosition;
  h: Health;
}

export interface Assessment {
  health: Map<bigint, Health>;
  /** Positions read again through Lens.healthScan. */
  confirmed: number;
  /** Confirmed positions whose local health differed from the chain's. */
  mismatches: number;
}

export class HealthAssessor {
  private passes = 0;

  constructor(
    private readonly sweeper: HealthSweeper,
    private readonly options: {
      /** Positions whose local HF is below this [wad] are confirmed through Lens.healthScan. */
      confirmBelow: bigint;
      /** Every this many passes, every position is read through Lens.healthScan (1 = always; 0 = never). */
      fullSweepEvery: number;
    },
    private readonly metrics: KeeperMetrics,
    private readonly log: Logger,
  ) {}

  /**
   * Confirms through the chain every position with HF under `confirmBelow`, an open call, a failing price, no
   * local value, or in `flagged` (a price update made it unsafe).
   */
  async assess(
    positions: readonly IndexedPosition[],
    market: MarketSnapshot,
    head: number,
    flagged: ReadonlySet<bigint>,
  ): Promise<Assessment> {
    const health = new Map<bigint, Health>();
    const check: IndexedPosition[] = [];
    this.passes++;
    const every = this.options.fullSweepEvery;
    const full = every > 0 && this.passes % every === 1 % every;
    for (const p of positions) {
      if (p.normDebt === 0n) continue;
      const h = evaluate(p, market);
      if (h) health.set(p.id, h);
      if (full || flagged.has(p.id) || !h || p.deadline !== 0n || !h.priced || h.hf < this.options.confirmBelow) check.push(p);
    }
    if (check.length === 0) return { health, confirmed: 0, mismatches: 0 };
    const chain = await this.sweeper.sweep(check, head);
    let mismatches = 0;
    for (const [id, h] of chain) {
      const mine = health.get(id);
      if (mine && (mine.hf !== h.hf || mine.debt !== h.debt || mine.priced !== h.priced || mine.valued !== h.valued)) {
        mismatches++;
        this.log.warn({ id, local: mine, chain: h }, "mirror and chain disagree: using the chain");
      }
      health.set(id, h);
    }
    this.metrics.mirrorMismatches.inc(mismatches);
    return { health, confirmed: chain.size, mismatches };
  }
}
