/**
 * Shard 0's housekeeping, on a clock of chain time rather than on positions: poke the volatility oracle when an
 * asset is due (checked by simulation, so nothing is sent in vain) and collect fees now and then.
 */
import type { KeelConnection } from "../client/manifest";
import type { PlannedAction } from "./plannedAction";
import type { Rpc } from "./rpc";

export class UpkeepSchedule {
  private lastPokeAt = 0n;
  private lastFeesAt = 0n;

  constructor(
    private readonly rpc: Rpc,
    private readonly keel: KeelConnection,
    private readonly options: {
      /** Only shard 0 keeps the schedule, so several instances never send the same upkeep. */
      shard: { index: number };
      /** [s] between volatility pokes (0 = never). */
      pokeEvery: number;
      /** [s] between fee collections (0 = never). */
      collectFeesEvery: number;
    },
  ) {}

  /** The upkeep due at chain time `now` [s]. */
  async due(now: bigint, head: number): Promise<PlannedAction[]> {
    const o = this.options;
    if (o.shard.index !== 0) return [];
    const k = this.keel;
    const out: PlannedAction[] = [];
    if (o.pokeEvery > 0 && now >= this.lastPokeAt + BigInt(o.pokeEvery)) {
      const assetsDue = await this.rpc.call("pokeAll", () => k.vol.pokeAll.staticCall({ blockTag: head }));
      if (assetsDue > 0n) {
        out.push({ kind: "pokeAll", req: { to: k.vol.target as string, data: k.vol.interface.encodeFunctionData("pokeAll"), kind: "pokeAll" } });
      }
      this.lastPokeAt = now;
    }
    if (o.collectFeesEvery > 0 && now >= this.lastFeesAt + BigInt(o.collectFeesEvery)) {
      out.push({
        kind: "collectFees",
        req: { to: k.engine.target as string, data: k.engine.interface.encodeFunctionData("collectFees"), kind: "collectFees" },
      });
      this.lastFeesAt = now;
    }
    return out;
  }
}
