/**
 * Liquidation through FlashLiquidator: it flash-mints the kUSD, sells the seized collateral on the AMM and keeps
 * the difference, so the keeper needs no kUSD of its own. The simulation is the exact call that will be sent.
 */
import { MaxUint256 } from "ethers";
import type { KeelConnection } from "../client/manifest";
import type { MarketSnapshot } from "./evaluate";
import type { LiquidationChoice, LiquidationStrategy } from "./liquidationStrategy";
import type { IndexedPosition } from "./positionIndex";
import type { Rpc } from "./rpc";

export class FlashLiquidation implements LiquidationStrategy {
  constructor(
    private readonly rpc: Rpc,
    private readonly keel: KeelConnection,
    /** The keeper's address: the simulation runs as the sender will. */
    private readonly keeper: string,
    private readonly options: {
      /** Least profit [wad kUSD], passed on chain so a worse price reverts instead of paying less. */
      minProfit: bigint;
      /** Gas assumed per asset sold. */
      liquidationGas: bigint;
    },
  ) {}

  /** FlashLiquidator repays with minted kUSD: nothing to read. */
  funds(): Promise<bigint> {
    return Promise.resolve(0n);
  }

  async simulate(p: IndexedPosition, asset: string, head: number, _market: MarketSnapshot, _funds: bigint): Promise<LiquidationChoice> {
    const k = this.keel;
    const amm = k.amm.target as string;
    const profit = await this.rpc.call("simulateFlash", () =>
      k.flashLiquidator.liquidate.staticCall(p.id, asset, MaxUint256, amm, 0n, { from: this.keeper, blockTag: head }),
    );
    return {
      profit,
      pays: 0n,
      req: {
        to: k.flashLiquidator.target as string,
        data: k.flashLiquidator.interface.encodeFunctionData("liquidate", [p.id, asset, MaxUint256, amm, this.options.minProfit]),
        kind: "liquidate",
        context: { id: p.id, asset, via: "flash", expectedProfit: profit },
        // Just simulated above: a flash liquidation sells every asset it receives.
        simulatedGas: this.options.liquidationGas * BigInt(Math.max(1, Object.keys(p.collateral).length)),
      },
    };
  }
}
