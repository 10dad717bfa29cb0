/**
 * KeelMath (Solidity, through KeelMathHarness) against its bigint mirror `src/math`: exact parity on edge cases and
 * seeded random inputs, rounding direction, rate accrual over long horizons, the per-second fee bisection and the
 * portfolio deviation formula of docs/spec.md §3.
 *
 * Parity means: the harness returns exactly the mirror's value, or both fail the same way. The mirror has no 256-bit
 * range, so "fails the same way" is: mirror throws on division by zero ⇔ Panic(0x12); mirror result > 2^256 − 1 ⇔
 * Panic(0x11).
 *
 * Random inputs come from splitmix64 seeded with SEED (printed in the test titles; override with KEEL_MATH_SEED=0x…).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { KeelMathHarness__factory, type KeelMathHarness } from "../../typechain-types";
import * as m from "../../src/math";
import { loadKeel } from "../helpers/fixtures";

// ------------------------------------------------------------------ constants

const { WAD, RAY, SQRT_WAD, SECONDS_PER_YEAR } = m;
const MAX_UINT = 2n ** 256n - 1n;
const HALF = 2n ** 255n;
/** VaultEngine.MAX_STABILITY_FEE: 100% a year, compounded per second [ray]. */
const MAX_STABILITY_FEE = 1_000_000_021_979_553_151_239_153_027n;
const CENTURY = 100n * SECONDS_PER_YEAR;
/**
 * Random cases per function: 300, or KEEL_MATH_CASES (`npm run coverage` lowers it: the parity of the library with
 * its mirror is proven by `npm test`; under instrumentation the random cases only cost time).
 */
const CASES = Number(process.env.KEEL_MATH_CASES ?? 300);
if (!Number.isInteger(CASES) || CASES < 10) throw new Error(`KEEL_MATH_CASES must be an integer ≥ 10, got ${CASES}`);
const SEED = BigInt(process.env.KEEL_MATH_SEED ?? "0x4b45454c4d415448"); // "KEELMATH"
const SEED_HEX = `0x${SEED.toString(16)}`;

const PANIC_SELECTOR = "0x4e487b71";
const PANIC_OVERFLOW = 0x11n;
const PANIC_DIVISION_BY_ZERO = 0x12n;

// ------------------------------------------------------------------ deterministic PRNG

const MASK64 = (1n << 64n) - 1n;

/** splitmix64 over bigint: a 64-bit generator that is tiny, fast and deterministic. */
class Rng {
  private state: bigint;

  constructor(seed: bigint) {
    this.state = seed & MASK64;
  }

  next64(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }

  /** Uniform in [0, 2^bits). */
  bits(bits: number): bigint {
    let x = 0n;
    for (let have = 0; have < bits; have += 64) x = (x << 64n) | this.next64();
    return x & ((1n << BigInt(bits)) - 1n);
  }

  /** Uniform in [lo, hi] (inclusive; modulo bias is irrelevant here). */
  between(lo: bigint, hi: bigint): bigint {
    return lo + (this.bits(320) % (hi - lo + 1n));
  }

  /** Integer index in [0, n). */
  index(n: number): number {
    return Number(this.next64() % BigInt(n));
  }

  /** Log-uniform magnitude in [0, 2^maxBits): a random bit length, then random bits below it. */
  magnitude(maxBits = 256): bigint {
    const len = this.index(maxBits + 1);
    return len === 0 ? 0n : this.bits(len) | (1n << BigInt(len - 1));
  }

  /** A value that is sometimes an edge (0, 1, WAD, RAY, max), otherwise a log-uniform magnitude. */
  operand(maxBits = 256): bigint {
    const edges = [0n, 1n, WAD, RAY, (1n << BigInt(maxBits)) - 1n];
    return this.index(8) === 0 ? edges[this.index(edges.length)]! : this.magnitude(maxBits);
  }
}

// ------------------------------------------------------------------ parity helpers

type Outcome = { kind: "value"; value: bigint } | { kind: "panic"; code: bigint };

const show = (o: Outcome): string => (o.kind === "value" ? o.value.toString() : `Panic(0x${o.code.toString(16)})`);

/** What the chain must do given the mirror's answer. */
function mirrorOutcome(f: () => bigint): Outcome {
  try {
    const value = f();
    return value > MAX_UINT ? { kind: "panic", code: PANIC_OVERFLOW } : { kind: "value", value };
  } catch (e) {
    if (e instanceof m.MathError && e.message === "division by zero") {
      return { kind: "panic", code: PANIC_DIVISION_BY_ZERO };
    }
    if (e instanceof m.MathError && e.message.startsWith("uint256 overflow")) {
      return { kind: "panic", code: PANIC_OVERFLOW };
    }
    throw e;
  }
}

/** The harness call's result, or the panic code it reverted with (anything else is rethrown). */
async function chainOutcome(call: Promise<bigint>): Promise<Outcome> {
  try {
    return { kind: "value", value: await call };
  } catch (e) {
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith(PANIC_SELECTOR)) {
      return { kind: "panic", code: BigInt("0x" + data.slice(10)) };
    }
    throw e;
  }
}

interface Case {
  label: string;
  chain: () => Promise<bigint>;
  mirror: () => bigint;
  /** When given, the mirror must also produce exactly this (a hand-computed anchor). */
  expected?: bigint;
}

/** Runs all cases concurrently; fails listing every case where chain ≠ mirror. Returns the chain outcomes. */
async function expectParity(cases: Case[]): Promise<Outcome[]> {
  const chain = await Promise.all(cases.map((c) => chainOutcome(c.chain())));
  const mismatches: string[] = [];
  cases.forEach((c, i) => {
    const want = mirrorOutcome(c.mirror);
    const got = chain[i]!;
    if (show(want) !== show(got)) mismatches.push(`${c.label}: chain ${show(got)} ≠ mirror ${show(want)}`);
    if (c.expected !== undefined && show(want) !== c.expected.toString()) {
      mismatches.push(`${c.label}: mirror ${show(want)} ≠ expected ${c.expected}`);
    }
  });
  expect(mismatches, mismatches.slice(0, 10).join("\n")).to.deep.equal([]);
  return chain;
}

const values = (outcomes: Outcome[]): bigint[] =>
  outcomes.flatMap((o) => (o.kind === "value" ? [o.value] : []));

/** Row-major n×n symmetric correlation matrix with ones on the diagonal. */
function correlationMatrix(n: number, rho: (i: number, j: number) => bigint): bigint[] {
  const c = new Array<bigint>(n * n).fill(0n);
  for (let i = 0; i < n; i++) {
    c[i * n + i] = WAD;
    for (let j = i + 1; j < n; j++) c[i * n + j] = c[j * n + i] = rho(i, j);
  }
  return c;
}

async function harnessFixture(): Promise<KeelMathHarness> {
  const [deployer] = await ethers.getSigners();
  return new KeelMathHarness__factory(deployer!).deploy();
}

// ------------------------------------------------------------------ tests

describe("KeelMath ↔ src/math", () => {
  let h: KeelMathHarness;

  beforeEach(async () => {
    h = await loadFixture(harnessFixture);
  });

  describe("edge cases", () => {
    it("test_mulDiv_edges: 0, 1, WAD, RAY, near 2^255 and Down/Up boundaries", async () => {
      // [x, y, d, down, up]; undefined = must panic (result > 2^256 − 1 or division by zero). In the other tables
      // below, undefined only means "no hand-computed anchor": the case is still checked against the mirror.
      const table: [bigint, bigint, bigint, bigint | undefined, bigint | undefined][] = [
        [0n, 0n, 1n, 0n, 0n],
        [0n, MAX_UINT, 1n, 0n, 0n],
        [1n, 1n, 1n, 1n, 1n],
        [1n, 1n, 2n, 0n, 1n],
        [3n, 5n, 2n, 7n, 8n],
        [6n, 5n, 3n, 10n, 10n],
        [WAD, RAY, WAD, RAY, RAY],
        [RAY, RAY, RAY, RAY, RAY],
        [WAD + 1n, WAD - 1n, WAD, WAD - 1n, WAD],
        [RAY + 1n, RAY + 1n, RAY, RAY + 2n, RAY + 3n],
        [MAX_UINT, 1n, 1n, MAX_UINT, MAX_UINT],
        [MAX_UINT, MAX_UINT, MAX_UINT, MAX_UINT, MAX_UINT],
        [MAX_UINT, MAX_UINT - 1n, MAX_UINT, MAX_UINT - 1n, MAX_UINT - 1n],
        [MAX_UINT, 2n, 3n, (MAX_UINT * 2n) / 3n, (MAX_UINT * 2n) / 3n],
        [HALF, 2n, 2n, HALF, HALF],
        [HALF + 1n, HALF - 1n, HALF, HALF - 1n, HALF],
        [HALF + 1n, 3n, 2n, HALF + HALF / 2n + 1n, HALF + HALF / 2n + 2n],
        [MAX_UINT, MAX_UINT - 1n, MAX_UINT - 2n, undefined, undefined],
        [MAX_UINT, WAD + 1n, WAD, undefined, undefined],
        [HALF, 2n, 1n, undefined, undefined],
        [MAX_UINT, MAX_UINT, 1n, undefined, undefined],
        [0n, 1n, 0n, undefined, undefined],
        [1n, 1n, 0n, undefined, undefined],
      ];
      // (MAX · 2) / 3 rounds: MAX = 2^256 − 1 ≡ 0 mod 3, so the quotient is exact.
      expect(MAX_UINT % 3n).to.equal(0n);
      const outcomes = await expectParity(
        table.flatMap(([x, y, d, down, up]) => [
          {
            label: `mulDivDown(${x}, ${y}, ${d})`,
            chain: () => h.mulDivDown(x, y, d),
            mirror: () => m.mulDivDown(x, y, d),
            expected: down,
          },
          {
            label: `mulDivUp(${x}, ${y}, ${d})`,
            chain: () => h.mulDivUp(x, y, d),
            mirror: () => m.mulDivUp(x, y, d),
            expected: up,
          },
        ]),
      );
      table.forEach(([, , , down, up], i) => {
        if (down === undefined) {
          expect(outcomes[2 * i]!.kind).to.equal("panic");
          expect(outcomes[2 * i + 1]!.kind).to.equal("panic");
        }
        if (up === undefined) expect(outcomes[2 * i + 1]!.kind).to.equal("panic");
      });
    });

    it("test_rpowUp_edges: x^0 = RAY, identity base, powers of two, decay, overflow", async () => {
      const table: [bigint, bigint, bigint | undefined][] = [
        [RAY, 0n, RAY],
        [0n, 0n, RAY],
        [0n, 1n, 0n],
        [0n, 12345n, 0n],
        [RAY, 1n, RAY],
        [RAY, 2n ** 64n, RAY],
        [2n * RAY, 10n, 1024n * RAY],
        [2n * RAY, 128n, 2n ** 128n * RAY],
        [RAY / 2n, 3n, RAY / 8n],
        [MAX_UINT, 1n, MAX_UINT],
        [RAY + 1n, SECONDS_PER_YEAR, undefined],
        [RAY - 1n, SECONDS_PER_YEAR, undefined],
        [1n, 2n, 1n], // 1e-27 squared rounds up to 1
        [MAX_STABILITY_FEE, SECONDS_PER_YEAR, undefined],
        [MAX_STABILITY_FEE, CENTURY, undefined],
        [2n * RAY, 200n, undefined], // 2^200 RAY > 2^256: Panic
        [MAX_UINT, 2n, undefined],
        [HALF, 2n, undefined],
      ];
      await expectParity(
        table.map(([x, n, want]) => ({
          label: `rpowUp(${x}, ${n})`,
          chain: () => h.rpowUp(x, n),
          mirror: () => m.rpowUp(x, n),
          expected: want,
        })),
      );
      expect(() => m.rpowUp(2n * RAY, 200n)).to.throw(m.MathError, "uint256 overflow");
    });

    it("test_accrueRateUp_edges: no time, no fee, zero rate, max rate, overflow", async () => {
      const table: [bigint, bigint, bigint, bigint | undefined][] = [
        [RAY, MAX_STABILITY_FEE, 0n, RAY],
        [RAY, RAY, CENTURY, RAY],
        [MAX_UINT, RAY, CENTURY, MAX_UINT],
        [MAX_UINT, MAX_STABILITY_FEE, 0n, MAX_UINT],
        [0n, MAX_STABILITY_FEE, SECONDS_PER_YEAR, 0n],
        [RAY, 2n * RAY, 1n, 2n * RAY],
        [RAY + 1n, 2n * RAY, 1n, 2n * RAY + 2n],
        [RAY, RAY + 1n, 1n, RAY + 1n],
        [1n, RAY + 1n, 1n, 2n], // rounds up
        [WAD, MAX_STABILITY_FEE, SECONDS_PER_YEAR, undefined],
        [RAY, MAX_STABILITY_FEE, CENTURY, undefined],
        [3n * RAY, MAX_STABILITY_FEE, 7n * SECONDS_PER_YEAR + 12_345n, undefined],
        [HALF, 2n * RAY, 1n, undefined],
        [MAX_UINT, RAY + 1n, 1n, undefined],
      ];
      await expectParity(
        table.map(([rate, fee, dt, want]) => ({
          label: `accrueRateUp(${rate}, ${fee}, ${dt})`,
          chain: () => h.accrueRateUp(rate, fee, dt),
          mirror: () => m.accrueRateUp(rate, fee, dt),
          expected: want,
        })),
      );
      expect(() => m.accrueRateUp(HALF, 2n * RAY, 1n)).to.throw(m.MathError, "uint256 overflow");
    });

    it("test_toDebt_toNormDebt_edges: exact, rounding by one, near 2^255, zero rate", async () => {
      // [a, rate, toDebtUp, toNormDebtUp, toNormDebtDown]
      const table: [bigint, bigint, bigint | undefined, bigint | undefined, bigint | undefined][] = [
        [0n, RAY, 0n, 0n, 0n],
        [1n, RAY, 1n, 1n, 1n],
        [1n, RAY + 1n, 2n, 1n, 0n],
        [WAD, RAY, WAD, WAD, WAD],
        [WAD, 2n * RAY, 2n * WAD, WAD / 2n, WAD / 2n],
        [WAD, 3n * RAY, 3n * WAD, WAD / 3n + 1n, WAD / 3n],
        [10n ** 28n, MAX_STABILITY_FEE, undefined, undefined, undefined],
        [HALF, RAY, HALF, HALF, HALF],
        [HALF, 2n * RAY, undefined, HALF / 2n, HALF / 2n],
        [HALF + 1n, 2n * RAY, undefined, HALF / 2n + 1n, HALF / 2n],
        [MAX_UINT, RAY, MAX_UINT, MAX_UINT, MAX_UINT],
        [MAX_UINT, RAY + 1n, undefined, undefined, undefined],
        [1n, 0n, 0n, undefined, undefined],
      ];
      await expectParity(
        table.flatMap(([a, rate, debt, up, down]) => [
          {
            label: `toDebtUp(${a}, ${rate})`,
            chain: () => h.toDebtUp(a, rate),
            mirror: () => m.toDebtUp(a, rate),
            expected: debt,
          },
          {
            label: `toNormDebtUp(${a}, ${rate})`,
            chain: () => h.toNormDebtUp(a, rate),
            mirror: () => m.toNormDebtUp(a, rate),
            expected: up,
          },
          {
            label: `toNormDebtDown(${a}, ${rate})`,
            chain: () => h.toNormDebtDown(a, rate),
            mirror: () => m.toNormDebtDown(a, rate),
            expected: down,
          },
        ]),
      );
      // MAX_UINT·(RAY+1)/RAY exceeds 256 bits; MAX_UINT·RAY/(RAY+1) fits.
      expect(() => m.toDebtUp(MAX_UINT, RAY + 1n)).to.throw(m.MathError, "uint256 overflow");
      expect(m.toNormDebtDown(MAX_UINT, RAY + 1n)).to.equal((MAX_UINT * RAY) / (RAY + 1n));
    });

    it("test_valueDown_edges: token decimals 0, 6, 8, 18, 36, dust amounts, overflow", async () => {
      const table: [bigint, bigint, bigint, bigint | undefined][] = [
        [0n, 3000n * WAD, WAD, 0n],
        [1n, 1n, WAD, 0n],
        [WAD, 3000n * WAD, WAD, 3000n * WAD],
        [10n ** 6n, WAD, 10n ** 6n, WAD],
        [1n, WAD, 10n ** 6n, 10n ** 12n],
        [1n, 60_000n * WAD, 10n ** 8n, 600n * 10n ** 12n],
        [1n, 3000n * WAD, 10n ** 36n, 0n],
        [7n, 1n, 1n, 7n],
        [MAX_UINT, WAD, WAD, MAX_UINT],
        [MAX_UINT, WAD + 1n, WAD, undefined],
        [HALF, 2n, 1n, undefined],
        [HALF, 2n, 2n, HALF],
        [1n, 1n, 0n, undefined],
      ];
      await expectParity(
        table.map(([amount, price, unit, want]) => ({
          label: `valueDown(${amount}, ${price}, ${unit})`,
          chain: () => h.valueDown(amount, price, unit),
          mirror: () => m.valueDown(amount, price, unit),
          expected: want,
        })),
      );
      expect(() => m.valueDown(MAX_UINT, WAD + 1n, WAD)).to.throw(m.MathError, "uint256 overflow");
    });

    it("test_isolatedLossUp_edges: σ branch, floor branch, rounding up, near 2^255", async () => {
      const z = 233n * 10n ** 16n; // 2.33
      const table: [bigint, bigint, bigint, bigint, bigint | undefined][] = [
        [0n, 5n * 10n ** 16n, z, WAD / 10n, 0n],
        [1000n * WAD, 0n, 0n, 0n, 0n],
        [1000n * WAD, 5n * 10n ** 16n, z, WAD / 10n, 1165n * 10n ** 17n], // max(11.65%, 10%)
        [1000n * WAD, 4n * 10n ** 16n, z, WAD / 10n, 100n * WAD], // max(9.32%, 10%)
        [1n, 1n, 1n, 0n, 1n], // every step rounds up
        [WAD, 1n, 1n, 0n, 1n],
        [3n, 0n, 0n, WAD / 3n, 1n],
        [HALF, 0n, 0n, WAD, HALF],
        [HALF, 0n, 0n, WAD / 2n, HALF / 2n],
        [HALF, 10n ** 18n, 2n * WAD, 0n, undefined],
        [MAX_UINT, 10n ** 17n, z, WAD / 10n, undefined],
      ];
      await expectParity(
        table.map(([v, s, zz, hc, want]) => ({
          label: `isolatedLossUp(${v}, ${s}, ${zz}, ${hc})`,
          chain: () => h.isolatedLossUp(v, s, zz, hc),
          mirror: () => m.isolatedLossUp(v, s, zz, hc),
          expected: want,
        })),
      );
    });

    it("test_portfolioDeviationUp_edges: empty, zeros, exact squares, largest single weight", async () => {
      // Largest w with mulWadUp(w, w) ≤ 2^256 − 1.
      const wMax = m.sqrtDown(MAX_UINT * WAD);
      const table: [bigint[], bigint[], bigint | undefined][] = [
        [[], [], 0n],
        [[0n], [WAD], 0n],
        [[1n], [WAD], SQRT_WAD],
        [[WAD], [WAD], WAD],
        [[WAD + 1n], [WAD], WAD + SQRT_WAD],
        [[0n, 0n], correlationMatrix(2, () => WAD), 0n],
        [[3n * WAD, 4n * WAD], correlationMatrix(2, () => WAD), 7n * WAD],
        [[3n * WAD, 4n * WAD], correlationMatrix(2, () => 0n), 5n * WAD],
        [[3n * WAD, 0n, 4n * WAD], correlationMatrix(3, () => 0n), 5n * WAD],
        [[3n * WAD, 4n * WAD], correlationMatrix(2, () => WAD / 2n), m.sqrtUp(37n * WAD) * SQRT_WAD],
        [[wMax], [WAD], m.sqrtUp(m.mulWadUp(wMax, wMax)) * SQRT_WAD],
        [Array<bigint>(8).fill(10n ** 30n), correlationMatrix(8, () => WAD), 8n * 10n ** 30n],
      ];
      await expectParity(
        table.map(([w, c, want]) => ({
          label: `portfolioDeviationUp([${w.join(", ")}])`,
          chain: () => h.portfolioDeviationUp(w, c),
          mirror: () => m.portfolioDeviationUp(w, c),
          expected: want,
        })),
      );
      expect(m.mulWadUp(wMax, wMax) <= MAX_UINT).to.equal(true);
      expect(() => m.mulWadUp(wMax + 1n, wMax + 1n)).to.throw(m.MathError, "uint256 overflow");
    });

    it("test_stressLossUp_edges: σ branch, floor branch, rounding up, overflow", async () => {
      const z = 309n * 10n ** 16n;
      const table: [bigint, bigint, bigint, bigint | undefined][] = [
        [0n, 0n, 0n, 0n],
        [100n * WAD, z, 0n, 309n * WAD],
        [100n * WAD, z, 310n * WAD, 310n * WAD],
        [1n, 1n, 0n, 1n],
        [MAX_UINT, WAD, 0n, MAX_UINT],
        [0n, MAX_UINT, MAX_UINT, MAX_UINT],
        [HALF, 2n * WAD, 0n, undefined],
        [MAX_UINT, WAD + 1n, 0n, undefined],
      ];
      await expectParity(
        table.map(([dev, zz, floor, want]) => ({
          label: `stressLossUp(${dev}, ${zz}, ${floor})`,
          chain: () => h.stressLossUp(dev, zz, floor),
          mirror: () => m.stressLossUp(dev, zz, floor),
          expected: want,
        })),
      );
    });

    it("test_healthFactorDown_edges: infinite without debt, 0 when loss ≥ value, rounding down", async () => {
      const table: [bigint, bigint, bigint, bigint | undefined][] = [
        [0n, 0n, 0n, MAX_UINT],
        [1000n * WAD, 2000n * WAD, 0n, MAX_UINT],
        [1n, 1n, 1n, 0n],
        [1n, 2n, 1n, 0n],
        [0n, 0n, 1n, 0n],
        [2n, 1n, 1n, WAD],
        [3n, 0n, 2n, (3n * WAD) / 2n],
        [1000n * WAD, 1165n * 10n ** 17n, 800n * WAD, 1104375n * 10n ** 12n],
        [WAD, 0n, 3n * WAD, WAD / 3n],
        [MAX_UINT, 0n, WAD, MAX_UINT],
        [MAX_UINT, MAX_UINT - 1n, 1n, WAD],
        [MAX_UINT, 0n, 1n, undefined],
        [HALF, 0n, HALF, WAD],
      ];
      await expectParity(
        table.map(([v, l, d, want]) => ({
          label: `healthFactorDown(${v}, ${l}, ${d})`,
          chain: () => h.healthFactorDown(v, l, d),
          mirror: () => m.healthFactorDown(v, l, d),
          expected: want,
        })),
      );
    });
  });

  describe("liquidation bonus (docs/spec.md §4.4)", () => {
    const [MIN, MAX, FULL] = [WAD / 50n, WAD / 20n, (WAD * 95n) / 100n]; // 2% → 5% at HF 0.95

    it("test_penaltyAtDown_curve: ℓmin at HF ≥ 1, ℓ at HF ≤ fullPenaltyHF, linear and rounded down between", async () => {
      const table: [bigint, bigint, bigint, bigint, bigint][] = [
        [WAD, MIN, MAX, FULL, MIN],
        [2n * WAD, MIN, MAX, FULL, MIN],
        [FULL, MIN, MAX, FULL, MAX],
        [0n, MIN, MAX, FULL, MAX],
        [(WAD * 975n) / 1000n, MIN, MAX, FULL, (WAD * 35n) / 1000n], // halfway: 3.5%
        [WAD - 1n, MIN, MAX, FULL, MIN], // a wei under 1: ℓmin + ⌊3% × 1 wei / 5%⌋ = ℓmin
        [FULL + 1n, MIN, MAX, FULL, MAX - 1n], // a wei above fullPenaltyHF: rounded down
        [(WAD * 99n) / 100n, MAX, MAX, FULL, MAX], // ℓmin = ℓ: the fixed penalty
        [(WAD * 99n) / 100n, MIN, MAX, WAD, MAX], // fullPenaltyHF = 1: always ℓ
      ];
      await expectParity(
        table.map(([hf, lo, hi, full, want]) => ({
          label: `penaltyAtDown(${hf}, ${lo}, ${hi}, ${full})`,
          chain: () => h.penaltyAtDown(hf, lo, hi, full),
          mirror: () => m.penaltyAtDown(hf, lo, hi, full),
          expected: want,
        })),
      );
    });

    it(`test_penaltyAtDown_random (seed ${SEED_HEX}): equals the mirror and never rises with HF`, async () => {
      const rng = new Rng(SEED ^ 0x1b0n);
      const cases: Case[] = [];
      for (let i = 0; i < CASES; i++) {
        const hi = rng.between(0n, WAD / 4n);
        const lo = rng.between(0n, hi);
        const full = rng.between(WAD / 2n, WAD);
        const hf = rng.between(0n, 2n * WAD);
        cases.push({ label: `penaltyAtDown(${hf}, ${lo}, ${hi}, ${full})`, chain: () => h.penaltyAtDown(hf, lo, hi, full), mirror: () => m.penaltyAtDown(hf, lo, hi, full) });
        const higher = hf + rng.between(0n, WAD / 10n);
        expect(m.penaltyAtDown(higher, lo, hi, full), `monotone at ${hf} → ${higher}`).to.be.lte(m.penaltyAtDown(hf, lo, hi, full));
      }
      await expectParity(cases);
    });
  });

  describe(`random parity (seed ${SEED_HEX}, ${CASES} cases per function)`, () => {
    it(`test_mulDiv_random (seed ${SEED_HEX}): Down and Up equal the mirror; most cases fit 256 bits`, async () => {
      const rng = new Rng(SEED ^ 1n);
      const cases: Case[] = [];
      for (let i = 0; i < CASES; i++) {
        const x = rng.operand();
        const y = rng.operand();
        const d = rng.index(64) === 0 ? 0n : rng.operand();
        cases.push(
          { label: `mulDivDown(${x}, ${y}, ${d})`, chain: () => h.mulDivDown(x, y, d), mirror: () => m.mulDivDown(x, y, d) },
          { label: `mulDivUp(${x}, ${y}, ${d})`, chain: () => h.mulDivUp(x, y, d), mirror: () => m.mulDivUp(x, y, d) },
        );
      }
      const outcomes = await expectParity(cases);
      // Not vacuous: a healthy share of the random inputs return values rather than panics.
      expect(values(outcomes).length).to.be.greaterThan(CASES / 2);
    });

    it(`test_rpowUp_random (seed ${SEED_HEX}): fee-like bases and arbitrary bases`, async () => {
      const rng = new Rng(SEED ^ 2n);
      const cases: Case[] = [];
      for (let i = 0; i < CASES; i++) {
        const feeLike = rng.index(2) === 0;
        const x = feeLike ? rng.between(RAY, MAX_STABILITY_FEE) : rng.between(0n, 2n * RAY);
        const n = feeLike ? rng.between(0n, CENTURY) : rng.magnitude(12);
        cases.push({ label: `rpowUp(${x}, ${n})`, chain: () => h.rpowUp(x, n), mirror: () => m.rpowUp(x, n) });
      }
      const outcomes = await expectParity(cases);
      expect(values(outcomes).length).to.be.greaterThan(CASES / 2);
    });

    it(`test_accrueRateUp_random (seed ${SEED_HEX}): accumulators up to 100 years at fees up to 100%`, async () => {
      const rng = new Rng(SEED ^ 3n);
      const cases: Case[] = [];
      for (let i = 0; i < CASES; i++) {
        // Up to 2^60 so that a further century at 100% (×2^100) still fits 256 bits.
        const rate = rng.between(RAY, 2n ** 60n * RAY);
        const fee = rng.index(8) === 0 ? RAY : rng.between(RAY, MAX_STABILITY_FEE);
        const dt = rng.index(8) === 0 ? 0n : rng.between(1n, CENTURY);
        cases.push({
          label: `accrueRateUp(${rate}, ${fee}, ${dt})`,
          chain: () => h.accrueRateUp(rate, fee, dt),
          mirror: () => m.accrueRateUp(rate, fee, dt),
        });
      }
      const outcomes = await expectParity(cases);
      expect(values(outcomes).length).to.equal(CASES);
    });

    it(`test_debtConversions_random (seed ${SEED_HEX}): toDebtUp, toNormDebtUp, toNormDebtDown`, async () => {
      const rng = new Rng(SEED ^ 4n);
      const cases: Case[] = [];
      for (let i = 0; i < CASES; i++) {
        const a = rng.index(4) === 0 ? rng.operand() : rng.between(0n, 10n ** 28n);
        const rate = rng.index(4) === 0 ? rng.operand() : rng.between(RAY, 2n ** 100n * RAY);
        cases.push(
          { label: `toDebtUp(${a}, ${rate})`, chain: () => h.toDebtUp(a, rate), mirror: () => m.toDebtUp(a, rate) },
          {
            label: `toNormDebtUp(${a}, ${rate})`,
            chain: () => h.toNormDebtUp(a, rate),
            mirror: () => m.toNormDebtUp(a, rate),
          },
          {
            label: `toNormDebtDown(${a}, ${rate})`,
            chain: () => h.toNormDebtDown(a, rate),
            mirror: () => m.toNormDebtDown(a, rate),
          },
        );
      }
      const outcomes = await expectParity(cases);
      expect(values(outcomes).length).to.be.greaterThan(CASES * 2);
    });

    it(`test_valuation_random (seed ${SEED_HEX}): valueDown, isolatedLossUp, stressLossUp, healthFactorDown`, async () => {
      const rng = new Rng(SEED ^ 5n);
      const cases: Case[] = [];
      for (let i = 0; i < CASES; i++) {
        const unit = 10n ** BigInt(rng.index(37));
        const amount = rng.index(8) === 0 ? rng.operand() : rng.magnitude(160);
        const price = rng.index(8) === 0 ? rng.operand() : rng.magnitude(100);
        const value = rng.magnitude(200);
        const sigma = rng.between(0n, WAD);
        const z = rng.between(WAD, 10n * WAD);
        const haircut = rng.between(0n, (99n * WAD) / 100n);
        const deviation = rng.index(8) === 0 ? rng.operand() : rng.magnitude(200);
        const floor = rng.index(8) === 0 ? rng.operand() : rng.magnitude(200);
        const loss = rng.index(4) === 0 ? value + rng.magnitude(64) : rng.between(0n, value);
        const debt = rng.index(16) === 0 ? 0n : rng.magnitude(200);
        cases.push(
          {
            label: `valueDown(${amount}, ${price}, ${unit})`,
            chain: () => h.valueDown(amount, price, unit),
            mirror: () => m.valueDown(amount, price, unit),
          },
          {
            label: `isolatedLossUp(${value}, ${sigma}, ${z}, ${haircut})`,
            chain: () => h.isolatedLossUp(value, sigma, z, haircut),
            mirror: () => m.isolatedLossUp(value, sigma, z, haircut),
          },
          {
            label: `stressLossUp(${deviation}, ${z}, ${floor})`,
            chain: () => h.stressLossUp(deviation, z, floor),
            mirror: () => m.stressLossUp(deviation, z, floor),
          },
          {
            label: `healthFactorDown(${value}, ${loss}, ${debt})`,
            chain: () => h.healthFactorDown(value, loss, debt),
            mirror: () => m.healthFactorDown(value, loss, debt),
          },
        );
      }
      const outcomes = await expectParity(cases);
      expect(values(outcomes).length).to.be.greaterThan(CASES * 3);
    });
  });

  describe("rounding direction", () => {
    it(`test_mulDivUp_atMostOneAboveDown (seed ${SEED_HEX}): Up − Down = 1 exactly when x·y mod d ≠ 0`, async () => {
      const rng = new Rng(SEED ^ 6n);
      const inputs: [bigint, bigint, bigint][] = [];
      for (let i = 0; i < CASES; i++) {
        // Keep the product within 256 bits so both directions return.
        const x = rng.magnitude(128);
        inputs.push([x, rng.magnitude(128), rng.between(1n, rng.magnitude(256) + 1n)]);
      }
      inputs.push([1n, 1n, 2n], [WAD + 1n, WAD - 1n, WAD], [HALF + 1n, HALF - 1n, HALF]);
      const [down, up] = await Promise.all([
        Promise.all(inputs.map(([x, y, d]) => h.mulDivDown(x, y, d))),
        Promise.all(inputs.map(([x, y, d]) => h.mulDivUp(x, y, d))),
      ]);
      let differing = 0;
      inputs.forEach(([x, y, d], i) => {
        const exact = (x * y) % d === 0n;
        expect(down[i], `Down(${x}, ${y}, ${d})`).to.equal((x * y) / d);
        expect(up[i]! - down[i]!, `Up − Down (${x}, ${y}, ${d})`).to.equal(exact ? 0n : 1n);
        if (!exact) differing++;
      });
      expect(differing).to.be.greaterThan(CASES / 2);
    });

    it(`test_toNormDebt_borrowerOwesAtLeast_repayerCreditedAtMost (seed ${SEED_HEX})`, async () => {
      const rng = new Rng(SEED ^ 7n);
      const inputs: [bigint, bigint][] = [];
      for (let i = 0; i < CASES; i++) inputs.push([rng.between(0n, 10n ** 28n), rng.between(RAY, 2n ** 100n * RAY)]);
      const [up, down] = await Promise.all([
        Promise.all(inputs.map(([a, r]) => h.toNormDebtUp(a, r))),
        Promise.all(inputs.map(([a, r]) => h.toNormDebtDown(a, r))),
      ]);
      const [debtOfUp, debtOfDown] = await Promise.all([
        Promise.all(inputs.map(([, r], i) => h.toDebtUp(up[i]!, r))),
        Promise.all(inputs.map(([, r], i) => h.toDebtUp(down[i]!, r))),
      ]);
      inputs.forEach(([a, r], i) => {
        expect(up[i]).to.equal(m.toNormDebtUp(a, r));
        expect(down[i]).to.equal(m.toNormDebtDown(a, r));
        expect(up[i]! - down[i]!).to.equal((a * RAY) % r === 0n ? 0n : 1n);
        // Borrowing `a` books at least `a` of debt; repaying `a` removes at most `a` of debt.
        expect(debtOfUp[i]! >= a, `toDebtUp(toNormDebtUp(${a}, ${r})) ≥ ${a}`).to.equal(true);
        expect(debtOfDown[i]! <= a, `toDebtUp(toNormDebtDown(${a}, ${r})) ≤ ${a}`).to.equal(true);
        expect(debtOfUp[i]).to.equal(m.toDebtUp(m.toNormDebtUp(a, r), r));
        expect(debtOfDown[i]).to.equal(m.toDebtUp(m.toNormDebtDown(a, r), r));
      });
    });

    it(`test_valueDown_floors_isolatedLossUp_ceils (seed ${SEED_HEX})`, async () => {
      const rng = new Rng(SEED ^ 8n);
      const inputs: { amount: bigint; price: bigint; unit: bigint; sigma: bigint; z: bigint; haircut: bigint }[] = [];
      for (let i = 0; i < CASES; i++) {
        inputs.push({
          amount: rng.magnitude(128),
          price: rng.magnitude(96),
          unit: 10n ** BigInt(rng.index(37)),
          sigma: rng.between(10n ** 14n, WAD),
          z: rng.between(WAD, 10n * WAD),
          haircut: rng.between(10n ** 15n, (99n * WAD) / 100n),
        });
      }
      const value = await Promise.all(inputs.map((c) => h.valueDown(c.amount, c.price, c.unit)));
      const loss = await Promise.all(inputs.map((c, i) => h.isolatedLossUp(value[i]!, c.sigma, c.z, c.haircut)));
      inputs.forEach((c, i) => {
        const v = value[i]!;
        expect(v).to.equal(m.valueDown(c.amount, c.price, c.unit));
        // v·unit ≤ amount·price < (v + 1)·unit
        expect(v * c.unit <= c.amount * c.price && c.amount * c.price < (v + 1n) * c.unit).to.equal(true);
        expect(loss[i]).to.equal(m.isolatedLossUp(v, c.sigma, c.z, c.haircut));
        // loss ≥ v · max(z·σ, h) exactly (in WAD² units).
        const factor = c.z * c.sigma > c.haircut * WAD ? c.z * c.sigma : c.haircut * WAD;
        expect(loss[i]! * WAD * WAD >= v * factor, `isolatedLossUp(${v}, …) ≥ exact`).to.equal(true);
        // …and by less than the two up-roundings can add: v/WAD + 1 from the factor, 1 from the product.
        expect(loss[i]! * WAD * WAD < v * factor + (v + 2n * WAD) * WAD).to.equal(true);
      });
    });

    it("test_healthFactorDown_infiniteWithoutDebt_zeroWhenLossCoversValue_floorsOtherwise", async () => {
      const rng = new Rng(SEED ^ 9n);
      const inputs: [bigint, bigint, bigint][] = [
        [0n, 0n, 0n],
        [WAD, 0n, 0n],
        [WAD, 2n * WAD, 0n],
        [WAD, WAD, 1n],
        [WAD, WAD + 1n, WAD],
        [0n, 0n, WAD],
        [MAX_UINT, MAX_UINT, 1n],
      ];
      for (let i = 0; i < CASES; i++) {
        const value = rng.magnitude(160);
        inputs.push([value, rng.between(0n, value + 1n), rng.between(1n, rng.magnitude(160) + 1n)]);
      }
      const hf = await Promise.all(inputs.map(([v, l, d]) => h.healthFactorDown(v, l, d)));
      inputs.forEach(([v, l, d], i) => {
        const got = hf[i]!;
        expect(got).to.equal(m.healthFactorDown(v, l, d));
        if (d === 0n) expect(got).to.equal(MAX_UINT);
        else if (l >= v) expect(got).to.equal(0n);
        else expect(got * d <= (v - l) * WAD && (v - l) * WAD < (got + 1n) * d).to.equal(true);
      });
    });
  });

  describe("rate accrual", () => {
    const FIVE_PERCENT = 5n * 10n ** 16n;

    it("test_accrueRateUp_oneYearAt5Percent: equals the mirror and 1.05 within 1e-9", async () => {
      const fee = m.perSecondFee(FIVE_PERCENT);
      expect(fee).to.equal(1_000_000_001_547_125_957_863_212_448n);
      const target = RAY + FIVE_PERCENT * 10n ** 9n; // 1.05 [ray]

      const rate = await h.accrueRateUp(RAY, fee, SECONDS_PER_YEAR);
      expect(rate).to.equal(m.accrueRateUp(RAY, fee, SECONDS_PER_YEAR));
      expect(rate).to.equal(1_049_999_999_999_999_999_978_465_685n);
      expect(await h.rpowUp(fee, SECONDS_PER_YEAR)).to.equal(rate);
      expect(rate <= target).to.equal(true);
      expect((target - rate) * 10n ** 9n <= target).to.equal(true);

      // 1,000 kUSD borrowed at rate 1 owes 1,050 kUSD a year later, rounded up, within 1e-9.
      const principal = 1000n * WAD;
      const norm = await h.toNormDebtUp(principal, RAY);
      expect(norm).to.equal(principal);
      const debt = await h.toDebtUp(norm, rate);
      expect(debt).to.equal(m.toDebtUp(principal, m.accrueRateUp(RAY, fee, SECONDS_PER_YEAR)));
      expect(debt).to.equal(1_049_999_999_999_999_999_979n);
      const expected = 1050n * WAD;
      expect((expected - debt) * 10n ** 9n <= expected).to.equal(true);
    });

    it("test_accrueRateUp_oneYearInDailySteps: equals the mirror and 1.05 within 1e-9", async () => {
      const fee = m.perSecondFee(FIVE_PERCENT);
      let chainRate = RAY;
      let mirrorRate = RAY;
      for (let day = 0; day < 365; day++) {
        chainRate = await h.accrueRateUp(chainRate, fee, 86_400n);
        mirrorRate = m.accrueRateUp(mirrorRate, fee, 86_400n);
      }
      expect(chainRate).to.equal(mirrorRate);
      const target = RAY + FIVE_PERCENT * 10n ** 9n;
      expect((chainRate > target ? chainRate - target : target - chainRate) * 10n ** 9n <= target).to.equal(true);
    });

    it("test_MAX_STABILITY_FEE_matchesVaultEngine", async () => {
      const keel = await loadKeel();
      expect(await keel.engine.MAX_STABILITY_FEE()).to.equal(MAX_STABILITY_FEE);
    });

    it("test_accrueRateUp_centuryAtMaxFee: no overflow, equals the mirror, ≈ 2^100", async () => {
      const rate = await h.accrueRateUp(RAY, MAX_STABILITY_FEE, CENTURY);
      expect(rate).to.equal(m.accrueRateUp(RAY, MAX_STABILITY_FEE, CENTURY));
      expect(rate).to.equal(1_267_650_600_228_229_400_282_126_865_122_967_311_587_162_204_371_580_428_970n);
      expect(await h.rpowUp(MAX_STABILITY_FEE, CENTURY)).to.equal(rate);
      const twoTo100 = 2n ** 100n * RAY;
      const gap = rate > twoTo100 ? rate - twoTo100 : twoTo100 - rate;
      expect(gap * 10n ** 9n <= twoTo100).to.equal(true);

      // The largest normalized debt (the 1e28 ceiling at rate 1) still converts after a century.
      const debt = await h.toDebtUp(10n ** 28n, rate);
      expect(debt).to.equal(m.toDebtUp(10n ** 28n, rate));
      expect(debt).to.equal(12_676_506_002_282_294_002_821_268_651_229_673_115_871_622_043_715_804_289_700n);
      expect(await h.toNormDebtUp(debt, rate)).to.equal(m.toNormDebtUp(debt, rate));
      expect(await h.toNormDebtDown(debt, rate)).to.equal(m.toNormDebtDown(debt, rate));
    });

    it("test_accrueRateUp_centuryInYearlySteps: equals the mirror and 2^100 within 1e-9", async () => {
      let chainRate = RAY;
      let mirrorRate = RAY;
      for (let year = 0; year < 100; year++) {
        chainRate = await h.accrueRateUp(chainRate, MAX_STABILITY_FEE, SECONDS_PER_YEAR);
        mirrorRate = m.accrueRateUp(mirrorRate, MAX_STABILITY_FEE, SECONDS_PER_YEAR);
      }
      expect(chainRate).to.equal(mirrorRate);
      const twoTo100 = 2n ** 100n * RAY;
      expect((chainRate > twoTo100 ? chainRate - twoTo100 : twoTo100 - chainRate) * 10n ** 9n <= twoTo100).to.equal(true);
    });
  });

  describe("perSecondFee", () => {
    const percent = (p: bigint, scale = 1n): bigint => (p * 10n ** 16n) / scale;
    const annuals = [
      percent(1n, 100n), // 0.01%
      percent(5n, 10n),
      percent(1n),
      percent(2n),
      percent(5n),
      percent(10n),
      percent(25n),
      percent(50n),
      percent(100n),
    ];

    it("test_perSecondFee_isTheLargestFactorNotExceedingTheAnnualRate (checked on chain)", async () => {
      const fees = annuals.map((x) => m.perSecondFee(x));
      const [at, above] = await Promise.all([
        Promise.all(fees.map((f) => h.rpowUp(f, SECONDS_PER_YEAR))),
        Promise.all(fees.map((f) => h.rpowUp(f + 1n, SECONDS_PER_YEAR))),
      ]);
      annuals.forEach((x, i) => {
        const target = RAY + x * 10n ** 9n;
        expect(at[i], `rpowUp(perSecondFee(${x}))`).to.equal(m.rpowUp(fees[i]!, SECONDS_PER_YEAR));
        expect(above[i], `rpowUp(perSecondFee(${x}) + 1)`).to.equal(m.rpowUp(fees[i]! + 1n, SECONDS_PER_YEAR));
        expect(at[i]! <= target, `rpowUp(perSecondFee(${x}), 1y) ≤ ${target}`).to.equal(true);
        expect(target < above[i]!, `${target} < rpowUp(perSecondFee(${x}) + 1, 1y)`).to.equal(true);
        expect(fees[i]! > RAY).to.equal(true);
      });
      // Strictly increasing in the annual rate.
      for (let i = 1; i < fees.length; i++) expect(fees[i]! > fees[i - 1]!).to.equal(true);
    });

    it("test_perSecondFee_zeroIsRay_andHundredPercentIsMaxStabilityFee", () => {
      expect(m.perSecondFee(0n)).to.equal(RAY);
      const hundred = m.perSecondFee(WAD);
      expect(hundred <= MAX_STABILITY_FEE).to.equal(true);
      // The VaultEngine bound is exactly the 100% factor.
      expect(hundred).to.equal(MAX_STABILITY_FEE);
      expect(() => m.perSecondFee(-1n)).to.throw(m.MathError, "negative operand -1");
    });
  });

  describe("portfolioDeviationUp", () => {
    it(`test_portfolioDeviationUp_random (seed ${SEED_HEX}): 2–8 asset baskets, symmetric ρ in [0, 1]`, async () => {
      const rng = new Rng(SEED ^ 10n);
      const cases: Case[] = [];
      for (let k = 0; k < 200; k++) {
        const n = 2 + rng.index(7);
        const weighted = Array.from({ length: n }, () => (rng.index(8) === 0 ? 0n : rng.magnitude(100)));
        const pick = (): bigint => {
          const r = rng.index(8);
          return r === 0 ? 0n : r === 1 ? WAD : rng.between(0n, WAD);
        };
        const correlation = correlationMatrix(n, pick);
        cases.push({
          label: `portfolioDeviationUp([${weighted.join(", ")}], [${correlation.join(", ")}])`,
          chain: () => h.portfolioDeviationUp(weighted, correlation),
          mirror: () => m.portfolioDeviationUp(weighted, correlation),
        });
      }
      const outcomes = await expectParity(cases);
      expect(values(outcomes).length).to.equal(200);
      for (const v of values(outcomes)) expect(v % SQRT_WAD).to.equal(0n);
    });

    it("test_portfolioDeviationUp_readsOnlyTheUpperTriangle", async () => {
      const w = [5n * WAD, 7n * WAD, 11n * WAD];
      const upper = correlationMatrix(3, (i, j) => BigInt(i + j) * 10n ** 17n);
      const junk = upper.map((rho, k) => (Math.floor(k / 3) >= k % 3 ? 12_345n + BigInt(k) : rho));
      const expected = m.portfolioDeviationUp(w, upper);
      expect(m.portfolioDeviationUp(w, junk)).to.equal(expected);
      expect(await h.portfolioDeviationUp(w, upper)).to.equal(expected);
      expect(await h.portfolioDeviationUp(w, junk)).to.equal(expected);
    });

    it(`test_portfolioDeviationUp_singleAsset (seed ${SEED_HEX}): exactly w rounded up to a multiple of 1e9`, async () => {
      const rng = new Rng(SEED ^ 11n);
      const ws = [0n, 1n, SQRT_WAD - 1n, SQRT_WAD, SQRT_WAD + 1n, WAD, WAD + 1n];
      for (let i = 0; i < 100; i++) ws.push(rng.magnitude(150));
      const got = await Promise.all(ws.map((w) => h.portfolioDeviationUp([w], [WAD])));
      ws.forEach((w, i) => {
        const roundedUp = ((w + SQRT_WAD - 1n) / SQRT_WAD) * SQRT_WAD;
        expect(got[i], `w = ${w}`).to.equal(m.portfolioDeviationUp([w], [WAD]));
        expect(got[i]! >= w && got[i]! - w < SQRT_WAD).to.equal(true);
        expect(got[i]).to.equal(roundedUp);
      });
    });

    it(`test_portfolioDeviationUp_twoAssets (seed ${SEED_HEX}): ρ = 1 ≈ w1 + w2, ρ = 0 ≈ sqrt(w1² + w2²)`, async () => {
      const rng = new Rng(SEED ^ 12n);
      const pairs: [bigint, bigint][] = [
        [3n * WAD, 4n * WAD],
        [WAD, WAD],
        [1n, 1n],
        [SQRT_WAD + 1n, 1n],
      ];
      for (let i = 0; i < 100; i++) pairs.push([rng.magnitude(150), rng.magnitude(150)]);
      const one = correlationMatrix(2, () => WAD);
      const zero = correlationMatrix(2, () => 0n);
      const [perfect, independent] = await Promise.all([
        Promise.all(pairs.map((w) => h.portfolioDeviationUp(w, one))),
        Promise.all(pairs.map((w) => h.portfolioDeviationUp(w, zero))),
      ]);
      pairs.forEach(([w1, w2], i) => {
        const p = perfect[i]!;
        const q = independent[i]!;
        expect(p).to.equal(m.portfolioDeviationUp([w1, w2], one));
        expect(q).to.equal(m.portfolioDeviationUp([w1, w2], zero));
        // ρ = 1: never below w1 + w2, at most two 1e9 steps above it (the three up-roundings add < 4 to the
        // variance in units of 1e-18 USD², and the ceiling of the square root one more step).
        expect(p >= w1 + w2 && p - (w1 + w2) < 2n * SQRT_WAD + (w1 + w2 < 2n * SQRT_WAD ? SQRT_WAD : 0n)).to.equal(
          true,
          `ρ = 1: ${p} vs ${w1 + w2}`,
        );
        // ρ = 0: never below the exact sqrt(w1² + w2²), within two 1e9 steps of it.
        const exact = m.sqrtDown(w1 * w1 + w2 * w2);
        expect(q >= exact && q - exact < 2n * SQRT_WAD + (exact < 2n * SQRT_WAD ? SQRT_WAD : 0n)).to.equal(
          true,
          `ρ = 0: ${q} vs ${exact}`,
        );
        // Diversification: ρ = 0 never needs more than ρ = 1.
        expect(q <= p).to.equal(true);
      });
      expect(perfect[0]).to.equal(7n * WAD);
      expect(independent[0]).to.equal(5n * WAD);
    });
  });

  describe("choleskyPsd", () => {
    const psd = (rho: bigint[], n: number): Case => ({
      label: `choleskyPsd([${rho.join(", ")}], ${n})`,
      chain: () => h.choleskyPsd(rho, n).then(([ok, at]) => (ok ? 1000n : 0n) + at),
      mirror: () => {
        const r = m.choleskyPsd(rho, n);
        return (r.ok ? 1000n : 0n) + BigInt(r.failedAt);
      },
    });
    const pct = (x: number): bigint => (BigInt(Math.round(x * 100)) * WAD) / 100n;

    it("test_choleskyPsd_anchors: identity, all ones (singular), the local config; a cluster no returns can have", async () => {
      const identity = correlationMatrix(4, () => 0n);
      const ones = correlationMatrix(3, () => WAD);
      // WETH, WBTC, USDC, wstETH as deploy/networks/local.ts lists them.
      const local = [[1, 0.75, 0, 0.95], [0.75, 1, 0, 0.72], [0, 0, 1, 0], [0.95, 0.72, 0, 1]].flat().map(pct);
      // A correlated to B and C at 0.9, B and C uncorrelated: eigenvalue 1 − 0.9√2 < 0.
      const cluster = correlationMatrix(3, (i) => (i === 0 ? pct(0.9) : 0n));
      // ρ(A,B) = 1 and ρ(B,C) = 1 force ρ(A,C) = 1; 0 is impossible (singular pivot, column not zero).
      const chain = correlationMatrix(3, (i, j) => (i === 0 && j === 2 ? 0n : WAD));
      await expectParity([
        { ...psd(identity, 4), expected: 1004n },
        { ...psd(ones, 3), expected: 1003n },
        { ...psd(local, 4), expected: 1004n },
        { ...psd(cluster, 3), expected: 2n },
        { ...psd(chain, 3), expected: 1n },
      ]);
    });

    it(`test_choleskyPsd_random (seed ${SEED_HEX}): Gram matrices are PSD; arbitrary symmetric ρ in [0, 1], same verdict`, async () => {
      const rng = new Rng(SEED ^ 12n);
      const cases: Case[] = [];
      const gram: boolean[] = [];
      for (let k = 0; k < Math.min(CASES, 120); k++) {
        const n = 2 + rng.index(9);
        if (k % 2 === 0) {
          // Normalized Gram matrix of n non-negative vectors: positive semi-definite by construction (test data in
          // floats, rounded to WAD: within the check's tolerance).
          const dim = 1 + rng.index(4);
          const u = Array.from({ length: n }, () => Array.from({ length: dim }, () => Number(rng.between(0n, 1000n)) + 1));
          const dot = (a: number[], b: number[]): number => a.reduce((acc, x, i) => acc + x * b[i]!, 0);
          cases.push(psd(correlationMatrix(n, (i, j) => BigInt(Math.floor((dot(u[i]!, u[j]!) / Math.sqrt(dot(u[i]!, u[i]!) * dot(u[j]!, u[j]!))) * 1e15)) * 1000n), n));
          gram.push(true);
        } else {
          cases.push(psd(correlationMatrix(n, () => (rng.index(4) === 0 ? 0n : rng.between(0n, WAD))), n));
          gram.push(false);
        }
      }
      const outcomes = await expectParity(cases);
      const verdicts = values(outcomes).map((v) => v >= 1000n);
      expect(verdicts.filter((ok, i) => gram[i] && !ok), "a Gram matrix was refused").to.deep.equal([]);
      expect(verdicts.some((ok, i) => !gram[i] && !ok), "some random matrices are refused").to.equal(true);
    });
  });

  describe("sqrt (mirror only)", () => {
    it(`test_sqrt_random (seed ${SEED_HEX}): r² ≤ x < (r + 1)² and sqrtUp = ceil`, () => {
      const rng = new Rng(SEED ^ 13n);
      const xs = [0n, 1n, 2n, 3n, 4n, 5n, 8n, 9n, 10n, WAD, RAY, MAX_UINT, MAX_UINT * WAD, HALF, HALF - 1n];
      for (const k of [2n, 3n, 10n ** 9n, 2n ** 64n - 1n, 2n ** 128n - 1n, 2n ** 128n, 3n ** 100n]) {
        xs.push(k * k - 1n, k * k, k * k + 1n);
      }
      for (let i = 0; i < 2000; i++) xs.push(rng.magnitude(512));
      for (const x of xs) {
        const r = m.sqrtDown(x);
        const u = m.sqrtUp(x);
        expect(r * r <= x && x < (r + 1n) * (r + 1n), `sqrtDown(${x}) = ${r}`).to.equal(true);
        expect(u, `sqrtUp(${x})`).to.equal(r * r === x ? r : r + 1n);
        if (x > 0n) expect((u - 1n) * (u - 1n) < x && x <= u * u, `sqrtUp(${x}) = ${u}`).to.equal(true);
      }
      expect(m.sqrtDown(MAX_UINT)).to.equal(2n ** 128n - 1n);
      expect(m.sqrtUp(MAX_UINT)).to.equal(2n ** 128n);
      expect(() => m.sqrtDown(-1n)).to.throw(m.MathError);
    });
  });

  describe("intermediate overflow", () => {
    // Where Solidity overflows in an intermediate step (Panic 0x11) although the final value would be back in
    // range (a later sqrt shrinks it, or a later factor is 0), the mirror must refuse too: src/math checks every
    // intermediate result against 2^256 − 1, as checked arithmetic does.
    it("test_intermediateOverflow: chain panics and the mirror throws for the same inputs", async () => {
      const w = 3n * 10n ** 47n; // mulWadUp(w, w) = 9e76 fits; the variance sum 1.8e77 does not.
      await expectParity([
        {
          label: "portfolioDeviationUp([3e47, 3e47], ρ = 0): variance sum overflows",
          chain: () => h.portfolioDeviationUp([w, w], correlationMatrix(2, () => 0n)),
          mirror: () => m.portfolioDeviationUp([w, w], correlationMatrix(2, () => 0n)),
        },
        {
          label: "portfolioDeviationUp([2^255]): w² / WAD overflows",
          chain: () => h.portfolioDeviationUp([HALF], [WAD]),
          mirror: () => m.portfolioDeviationUp([HALF], [WAD]),
        },
        {
          label: "isolatedLossUp(0, 2^255, 2^255, 0): z·σ overflows before × 0",
          chain: () => h.isolatedLossUp(0n, HALF, HALF, 0n),
          mirror: () => m.isolatedLossUp(0n, HALF, HALF, 0n),
        },
        {
          label: "accrueRateUp(0, 2 RAY, 256): rpowUp overflows before × 0",
          chain: () => h.accrueRateUp(0n, 2n * RAY, 256n),
          mirror: () => m.accrueRateUp(0n, 2n * RAY, 256n),
        },
      ]);
    });
  });

  describe("volatility", () => {
    const HOUR = 3600n;
    const DAY = 86_400n;
    const YEAR = 365n * DAY;
    const UINT128_MAX = 2n ** 128n - 1n;

    it(`test_volatility_random (seed ${SEED_HEX}): the five volatility helpers equal the mirror`, async () => {
      const rng = new Rng(SEED ^ 20n);
      const cases: Case[] = [];
      for (let i = 0; i < CASES; i++) {
        // decayDown: realistic half-lives and elapsed up to 80 of them, sometimes raw magnitudes (and halfLife 0).
        const halfLife = rng.index(10) === 0 ? rng.operand(64) : rng.between(HOUR, YEAR);
        const span = 80n * (halfLife === 0n ? 1n : halfLife);
        const elapsed = rng.index(4) === 0 ? rng.magnitude(80) : rng.between(0n, span);
        cases.push({
          label: `decayDown(${elapsed}, ${halfLife})`,
          chain: () => h.decayDown(elapsed, halfLife),
          mirror: () => m.decayDown(elapsed, halfLife),
        });

        // returnVarianceUp: a price and a move of up to ±100% (or an arbitrary second price), caps from σmax and H.
        const p0 = rng.index(20) === 0 ? 0n : rng.magnitude(160);
        const move = (p0 * rng.between(0n, WAD)) / WAD;
        const p1 = rng.index(4) === 0 ? rng.magnitude(200) : rng.index(2) === 0 ? p0 + move : p0 - move;
        const dt = rng.index(20) === 0 ? 0n : rng.between(1n, 30n * DAY);
        const sigmaMax = rng.between(10n ** 14n, WAD);
        const horizonForCap = rng.between(HOUR, 30n * DAY);
        const cap = rng.index(4) === 0 ? rng.operand(256) : m.mulDivDown(sigmaMax, sigmaMax, horizonForCap);
        cases.push({
          label: `returnVarianceUp(${p0}, ${p1}, ${dt}, ${cap})`,
          chain: () => h.returnVarianceUp(p0, p1, dt, cap),
          mirror: () => m.returnVarianceUp(p0, p1, dt, cap),
        });

        // ewmaUp: variances (uint128 on chain, any uint256 here), λ in [0, WAD].
        const old = rng.operand(rng.index(8) === 0 ? 256 : 128);
        const sample = rng.operand(rng.index(8) === 0 ? 256 : 128);
        const decay = rng.index(4) === 0 ? m.decayDown(rng.between(0n, 10n * DAY), 3n * DAY) : rng.between(0n, WAD);
        cases.push({
          label: `ewmaUp(${old}, ${sample}, ${decay})`,
          chain: () => h.ewmaUp(old, sample, decay),
          mirror: () => m.ewmaUp(old, sample, decay),
        });

        const variance = rng.operand(rng.index(8) === 0 ? 256 : 128);
        const horizon = rng.index(8) === 0 ? rng.operand(64) : rng.between(HOUR, 30n * DAY);
        cases.push({
          label: `horizonSigmaUp(${variance}, ${horizon})`,
          chain: () => h.horizonSigmaUp(variance, horizon),
          mirror: () => m.horizonSigmaUp(variance, horizon),
        });

        const from = rng.operand(rng.index(4) === 0 ? 256 : 64);
        const to = rng.index(8) === 0 ? from : rng.operand(rng.index(4) === 0 ? 256 : 64);
        const gap = from > to ? from - to : to - from;
        const maxMove = rng.index(8) === 0 ? gap : rng.operand(rng.index(4) === 0 ? 256 : 62);
        cases.push({
          label: `stepToward(${from}, ${to}, ${maxMove})`,
          chain: () => h.stepToward(from, to, maxMove),
          mirror: () => m.stepToward(from, to, maxMove),
        });
      }
      const outcomes = await expectParity(cases);
      // Most cases are values; the panics are the deliberate zero divisors and overflows.
      expect(values(outcomes).length > (cases.length * 9) / 10).to.equal(true);
    });

    it("test_decayDown_edges: elapsed 0 is WAD, whole half-lives are shifts, ≥ 64 are 0, halfLife 0 panics", async () => {
      const table: [bigint, bigint, bigint | undefined][] = [
        [0n, 1n, WAD],
        [0n, HOUR, WAD],
        [0n, 3n * DAY, WAD],
        [0n, 2n ** 64n, WAD],
        [1n, 1n, WAD / 2n],
        [HOUR, HOUR, 500_000_000_000_000_000n],
        [3n * DAY, 3n * DAY, WAD / 2n],
        [59n * HOUR, HOUR, 1n], // WAD >> 59 = 1
        [60n * HOUR, HOUR, 0n], // WAD < 2^60
        [64n * HOUR, HOUR, 0n],
        [64n * HOUR - 1n, HOUR, 0n],
        [MAX_UINT, 3n, 0n],
        [HALF, 1n, 0n],
        [12_345n, 0n, undefined], // Panic(0x12)
        [0n, 0n, undefined],
      ];
      for (const halfLife of [7n, HOUR, 3n * DAY, YEAR]) {
        for (let k = 0n; k <= 64n; k++) table.push([k * halfLife, halfLife, k === 64n ? 0n : WAD >> k]);
      }
      const outcomes = await expectParity(
        table.map(([elapsed, halfLife, want]) => ({
          label: `decayDown(${elapsed}, ${halfLife})`,
          chain: () => h.decayDown(elapsed, halfLife),
          mirror: () => m.decayDown(elapsed, halfLife),
          expected: want,
        })),
      );
      table.forEach(([, halfLife], i) => {
        if (halfLife === 0n) expect(outcomes[i]).to.deep.equal({ kind: "panic", code: PANIC_DIVISION_BY_ZERO });
      });
      // 2^-1 is exactly 0.5 (within 1 wei, as asked: 0 wei).
      expect(await h.decayDown(3n * DAY, 3n * DAY)).to.equal(WAD / 2n);
    });

    it(`test_decayDown_semigroup_accuracy_monotone (seed ${SEED_HEX}): λ(a)λ(b) ≈ λ(a + b) to 1e-15`, async () => {
      const rng = new Rng(SEED ^ 21n);
      const triples: [bigint, bigint, bigint][] = [];
      for (let i = 0; i < Math.min(200, CASES); i++) {
        const halfLife = rng.between(HOUR, YEAR);
        triples.push([rng.between(0n, 3n * halfLife), rng.between(0n, 3n * halfLife), halfLife]);
      }
      const got = await Promise.all(
        triples.map(([a, b, hl]) => Promise.all([h.decayDown(a, hl), h.decayDown(b, hl), h.decayDown(a + b, hl)])),
      );
      triples.forEach(([a, b, hl], i) => {
        const [la, lb, lab] = got[i]!;
        expect([la, lb, lab]).to.deep.equal([m.decayDown(a, hl), m.decayDown(b, hl), m.decayDown(a + b, hl)]);
        // λ(a + b) ≥ 2^-6 WAD here, so 1e-15 relative is ≥ 15 wei: room for the rounding of three decays.
        const product = m.mulWadDown(la, lb);
        const gap = product > lab ? product - lab : lab - product;
        const label = `λ(${a})λ(${b}) = ${product} vs λ(${a + b}) = ${lab}, half-life ${hl}`;
        expect(gap * 10n ** 15n <= lab, label).to.equal(true);
        // And each λ is 2^(-elapsed/halfLife) to 1e-15 (a double is good to ~1e-16 here).
        const exact = 1e18 * Math.pow(2, -Number(a) / Number(hl));
        expect(Math.abs(Number(la) - exact) <= exact * 1e-15, `λ(${a}, ${hl}) = ${la} vs ${exact}`).to.equal(true);
      });

      // Monotone: non-increasing in elapsed, strictly while above 1e9, including across whole half-lives.
      const halfLife = 3n * DAY;
      const grid: bigint[] = [];
      for (let t = 0n; t <= 70n * halfLife; t += halfLife / 7n) grid.push(t);
      for (let k = 1n; k <= 66n; k++) grid.push(k * halfLife - 1n, k * halfLife, k * halfLife + 1n);
      grid.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      const lambdas = await Promise.all(grid.map((t) => h.decayDown(t, halfLife)));
      for (let i = 1; i < grid.length; i++) {
        const [prev, cur] = [lambdas[i - 1]!, lambdas[i]!];
        const label = `λ(${grid[i]}) = ${cur} vs λ(${grid[i - 1]}) = ${prev}`;
        expect(prev > 10n ** 9n ? cur < prev : cur <= prev, label).to.equal(true);
      }
      expect(lambdas[lambdas.length - 1]).to.equal(0n);
    });

    it("test_returnVarianceUp_edges: no move is 0, rounds up, cap, huge return, zero price or time panic", async () => {
      const [p100, p110, p90] = [100n * WAD, 110n * WAD, 90n * WAD];
      const cap = m.mulDivDown(WAD / 4n, WAD / 4n, DAY); // σmax 25% over one day
      const table: [bigint, bigint, bigint, bigint, bigint | undefined][] = [
        [p100, p100, HOUR, MAX_UINT, 0n],
        [1n, 1n, 1n, 0n, 0n],
        [3000n * WAD, 3000n * WAD, 1n, cap, 0n],
        // r = 10%: r² / 1h = 1e34 / 3600, rounded up.
        [p100, p110, HOUR, MAX_UINT, 2_777_777_777_777_777_777_777_777_777_778n],
        [p100, p90, HOUR, MAX_UINT, 2_777_777_777_777_777_777_777_777_777_778n],
        // Returns are relative to the previous price, rounded up: 10/110 → 90909090909090910.
        [p110, p100, 1n, MAX_UINT, 90_909_090_909_090_910n ** 2n],
        [3n, 4n, 1n, MAX_UINT, 333_333_333_333_333_334n ** 2n],
        [p100, p110, 7n, MAX_UINT, (10n ** 34n + 6n) / 7n],
        // +1000% in an hour: far above the cap, so the cap.
        [3000n * WAD, 33_000n * WAD, HOUR, cap, cap],
        [p100, p110, HOUR, 1n, 1n],
        // |return| at 2^128 − 1 is squared; above it the cap is returned without dividing.
        [WAD, WAD + UINT128_MAX, 1n, MAX_UINT, UINT128_MAX * UINT128_MAX],
        [WAD, WAD + UINT128_MAX + 1n, 1n, 42n, 42n],
        [WAD, 2n ** 200n, 0n, cap, cap],
        // Elapsed 0 (with a representable return) and a previous price of 0 divide by zero.
        [p100, p110, 0n, cap, undefined],
        [p100, p100, 0n, cap, undefined],
        [0n, p100, HOUR, cap, undefined],
        [0n, 0n, HOUR, cap, undefined],
      ];
      const outcomes = await expectParity(
        table.map(([p0, p1, dt, c, want]) => ({
          label: `returnVarianceUp(${p0}, ${p1}, ${dt}, ${c})`,
          chain: () => h.returnVarianceUp(p0, p1, dt, c),
          mirror: () => m.returnVarianceUp(p0, p1, dt, c),
          expected: want,
        })),
      );
      table.forEach(([, , , , want], i) => {
        if (want === undefined) expect(outcomes[i]).to.deep.equal({ kind: "panic", code: PANIC_DIVISION_BY_ZERO });
      });
      expect(cap).to.equal(723_379_629_629_629_629_629_629_629_629n);
    });

    it("test_ewmaUp_edges: λ = 1 keeps old, λ = 0 takes sample, equal inputs within 1 wei, overflow", async () => {
      const x = 723_379_629_629_629_629_629_629_629_629n;
      const table: [bigint, bigint, bigint, bigint | undefined][] = [
        [0n, 0n, WAD / 2n, 0n],
        [x, 0n, WAD, x],
        [x, 12_345n, WAD, x],
        [12_345n, x, 0n, x],
        [3n, 5n, WAD / 2n, 5n], // ⌈1.5⌉ + ⌈2.5⌉
        [x, x, WAD / 2n, x + 1n], // x odd: both halves round up
        [x - 1n, x - 1n, WAD / 2n, x - 1n],
        [UINT128_MAX, UINT128_MAX, 1n, UINT128_MAX + 1n],
        [MAX_UINT, 0n, WAD, MAX_UINT],
        [MAX_UINT, MAX_UINT, WAD / 2n, undefined], // 2^255 + 2^255: Panic(0x11)
      ];
      const outcomes = await expectParity(
        table.map(([old, sample, decay, want]) => ({
          label: `ewmaUp(${old}, ${sample}, ${decay})`,
          chain: () => h.ewmaUp(old, sample, decay),
          mirror: () => m.ewmaUp(old, sample, decay),
          expected: want,
        })),
      );
      expect(outcomes[outcomes.length - 1]).to.deep.equal({ kind: "panic", code: PANIC_OVERFLOW });
      // λ > WAD underflows (1 − λ): the chain panics, the mirror refuses the negative operand.
      expect(await chainOutcome(h.ewmaUp(1n, 1n, WAD + 1n))).to.deep.equal({ kind: "panic", code: PANIC_OVERFLOW });
      expect(() => m.ewmaUp(1n, 1n, WAD + 1n)).to.throw(m.MathError, "negative operand");
    });

    it("test_horizonSigmaUp_edges: exact roots, rounding up, the cap maps back to σmax, overflow", async () => {
      const table: [bigint, bigint, bigint | undefined][] = [
        [0n, DAY, 0n],
        [10n ** 30n, HOUR, 6n * 10n ** 16n], // sqrt(3.6e33) = 6%
        [10n ** 30n + 1n, HOUR, 6n * 10n ** 16n + 1n],
        [1n, 1n, 1n],
        [2n, 1n, 2n],
        [UINT128_MAX, 2n ** 32n - 1n, undefined], // no anchor: checked against the mirror only
        [HALF, 2n, undefined], // Panic(0x11)
      ];
      // The cap σmax² / H (floor) maps back to exactly σmax for every σmax ≥ 1e14 and H ≤ 30 days.
      for (const sigmaMax of [10n ** 14n, 5n * 10n ** 16n, WAD / 4n, 27n * 10n ** 16n, WAD]) {
        for (const horizon of [HOUR, DAY, 30n * DAY]) {
          table.push([m.mulDivDown(sigmaMax, sigmaMax, horizon), horizon, sigmaMax]);
        }
      }
      const outcomes = await expectParity(
        table.map(([variance, horizon, want]) => ({
          label: `horizonSigmaUp(${variance}, ${horizon})`,
          chain: () => h.horizonSigmaUp(variance, horizon),
          mirror: () => m.horizonSigmaUp(variance, horizon),
          expected: want,
        })),
      );
      expect(outcomes[5]!.kind).to.equal("value");
      expect(outcomes[6]).to.deep.equal({ kind: "panic", code: PANIC_OVERFLOW });
    });

    it("test_stepToward_edges: up and down by at most maxMove, exact arrival, no move, extremes", async () => {
      const table: [bigint, bigint, bigint, bigint][] = [
        [5n, 10n, 3n, 8n], // up, limited
        [5n, 10n, 5n, 10n], // up, exactly reaches
        [5n, 10n, 6n, 10n], // up, stops at the target
        [10n, 5n, 3n, 7n], // down, limited
        [10n, 5n, 5n, 5n], // down, exactly reaches
        [10n, 5n, 99n, 5n],
        [7n, 7n, 0n, 7n],
        [7n, 7n, MAX_UINT, 7n],
        [5n, 10n, 0n, 5n],
        [10n, 5n, 0n, 10n],
        [WAD / 20n, WAD / 4n, 25n * 10n ** 14n, 525n * 10n ** 14n], // 5% → 25% by 0.25 points
        [0n, MAX_UINT, MAX_UINT - 1n, MAX_UINT - 1n],
        [0n, MAX_UINT, MAX_UINT, MAX_UINT],
        [MAX_UINT, 0n, MAX_UINT, 0n],
        [MAX_UINT, 0n, 1n, MAX_UINT - 1n],
      ];
      await expectParity(
        table.map(([from, to, maxMove, want]) => ({
          label: `stepToward(${from}, ${to}, ${maxMove})`,
          chain: () => h.stepToward(from, to, maxMove),
          mirror: () => m.stepToward(from, to, maxMove),
          expected: want,
        })),
      );
    });
  });
});
