/**
 * Liquidation from the keeper's own kUSD through the engine: no AMM sale, so the profit is the seized collateral
 * at the oracle price minus what the keeper repays, and it is possible only while the keeper holds that much.
 */
import { MaxUint256 } from "ethers";
import type { KeelConnection } from "../client/manifest";
import { protocolFeeUp, valueDown } from "../math";
import { bonusAt, evaluate, type MarketSnapshot } from "./evaluate";
import type { LiquidationChoice, LiquidationStrategy } from "./liquidationStrategy";
import type { IndexedPosition } from "./positionIndex";
import type { Rpc } from "./rpc";

export class DirectLiquidation implements LiquidationStrategy {
  constructor(
    private readonly rpc: Rpc,
    private readonly keel: KeelConnection,
    /** The keeper's address: it repays and receives the collateral. */
    private readonly keeper: string,
  ) {}

  funds(): Promise<bigint> {
    return this.rpc.call("balanceOf", () => this.keel.kusd.balanceOf(this.keeper));
  }

  /** Only with kUSD in hand; a simulation that fails (too little kUSD) is "cannot", not an error. */
  async simulate(p: IndexedPosition, asset: string, head: number, market: MarketSnapshot, funds: bigint): Promise<LiquidationChoice | undefined> {
    if (funds <= 0n) return undefined;
    return this.repayFromFunds(p, asset, head, market, funds).catch(() => undefined);
  }

  /** Profit = seized value at the oracle price − repaid − protocol fee. */
  private async repayFromFunds(p: IndexedPosition, asset: string, head: number, market: MarketSnapshot, funds: bigint): Promise<LiquidationChoice | undefined> {
    const k = this.keel;
    const keeper = this.keeper;
    const id = p.id;
    const i = market.index.get(asset);
    const health = evaluate(p, market);
    if (i === undefined || !market.priced[i] || !health?.valued) return undefined;
    const [repaid, seized] = await this.rpc.call("simulateLiquidate", () =>
      k.engine.liquidate.staticCall(id, asset, MaxUint256, keeper, "0x", { from: keeper, blockTag: head }),
    );
    const fee = protocolFeeUp(repaid, bonusAt(market, i, health.hf), market.protocolShare);
    const pays = repaid + fee;
    if (pays > funds) return undefined;
    return {
      profit: valueDown(seized, market.prices[i]!, market.units[i]!) - pays,
      pays,
      req: {
        to: k.engine.target as string,
        data: k.engine.interface.encodeFunctionData("liquidate", [id, asset, MaxUint256, keeper, "0x"]),
        kind: "liquidate",
        context: { id, asset, via: "direct", repaid, seized },
      },
    };
  }
}
