/**
 * The model of one invariant sequence: the actors, the ghost state the suite maintains from what each action is
 * supposed to do (positions' collateral, normalized debt and owner, the deficit, the last rate of every class),
 * the action log printed on failure, and the success/revert tally printed at the end.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Keel } from "../../deploy";
import type { Prng } from "../../src/risk/random";
import type { RevertDecoder } from "./errors";
import type { Snapshot } from "./snapshot";

export type Role = "user" | "keeper" | "bank" | "governance";

export interface Actor {
  name: string;
  role: Role;
  signer: HardhatEthersSigner;
  address: string;
}

export interface ListedAsset {
  symbol: string;
  address: string;
  unit: bigint; // 10^decimals
}

/** What the suite believes a position holds, updated from each action's intended effect (never read back). */
export interface GhostPosition {
  id: bigint;
  cross: boolean;
  classKey: string;
  owner: string;
  collateral: Map<string, bigint>; // asset → token decimals (only non-zero entries)
  normDebt: bigint; // [wad]
  /** The dust in force when the debt last changed: debt must stay 0 or at least this (a later dust raise is not retroactive). */
  dustFloor: bigint;
  open: boolean;
}

export interface World {
  keel: Keel;
  seed: bigint;
  /** Index of the step being run. */
  step: number;
  prng: Prng;
  decoder: RevertDecoder;
  users: Actor[];
  keeper: Actor;
  bank: Actor;
  governance: Actor;
  actors: Actor[];
  assets: ListedAsset[];
  crossClass: string;
  positions: Map<bigint, GhostPosition>;
  /** Uncovered bad debt [wad] the suite expects. */
  deficit: bigint;
  /** Last seen accumulator [ray] of every class (I8 rates never decrease). */
  rates: Map<string, bigint>;
  /** Each asset's feed answer at the start: price moves stay within [1/5, 5] of it. */
  initialAnswers: Map<string, bigint>;
  /** Last valid oracle price [wad] of every asset, to size actions while feeds are stale. */
  lastPrices: Map<string, bigint>;
  last?: Snapshot;
  /** Count the known bug (a cross position under criticalHF no single asset can liquidate) instead of failing. */
  log: string[];
  stats: Stats;
}

export function addCollateral(p: GhostPosition, asset: string, amount: bigint): void {
  p.collateral.set(asset, (p.collateral.get(asset) ?? 0n) + amount);
}

export function removeCollateral(p: GhostPosition, asset: string, amount: bigint): void {
  const left = (p.collateral.get(asset) ?? 0n) - amount;
  if (left < 0n) throw new Error(`ghost: position ${p.id} would hold a negative amount of ${asset}`);
  if (left === 0n) p.collateral.delete(asset);
  else p.collateral.set(asset, left);
}

export function openPositions(w: World): GhostPosition[] {
  return [...w.positions.values()].filter((p) => p.open);
}

export function symbolOf(w: World, asset: string): string {
  return w.assets.find((a) => a.address.toLowerCase() === asset.toLowerCase())?.symbol ?? asset;
}

/** Per action kind: successes and reverts by error name, across every sequence of the campaign. */
export class Stats {
  readonly ok = new Map<string, number>();
  readonly reverts = new Map<string, Map<string, number>>();
  sequences = 0;
  steps = 0;

  success(kind: string): void {
    this.ok.set(kind, (this.ok.get(kind) ?? 0) + 1);
  }

  revert(kind: string, reason: string): void {
    const byReason = this.reverts.get(kind) ?? new Map<string, number>();
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    this.reverts.set(kind, byReason);
  }

  report(elapsedMs: number): string {
    const kinds = [...new Set([...this.ok.keys(), ...this.reverts.keys()])].sort();
    const lines = [`invariant campaign: ${this.sequences} sequences, ${this.steps} steps, ${(elapsedMs / 1000).toFixed(1)} s`];
    for (const k of kinds) {
      const reverts = [...(this.reverts.get(k) ?? new Map<string, number>()).entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([r, n]) => `${r}×${n}`)
        .join(", ");
      lines.push(`  ${k.padEnd(28)} ok ${String(this.ok.get(k) ?? 0).padStart(5)}${reverts ? `   reverted: ${reverts}` : ""}`);
    }
    return lines.join("\n");
  }
}
