/**
 * Committed gas and size snapshots (`npm run snapshot`, `npm run snapshot:check`; docs/gas.md): snapshots/gas.json
 * (operation → gas of its isolated and cross variants, from the gas bench) and snapshots/sizes.json (contract name →
 * deployed bytes). The check compares a fresh measurement with them: an operation whose gas grew more than 1%, an
 * operation or contract recorded but not measured or measured but not recorded, and a contract over the EIP-170
 * limit are findings, and any finding fails. The comparison is pure; reading and writing the files is here too.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { KeelError } from "../../../src/units/error";
import { formatFixed } from "../../../src/units";
import { textTable } from "../../../src/units/table";
import type { Row } from "./gas";
import { SIZE_LIMIT } from "./sizes";

export const VARIANTS = ["isolated", "cross"] as const;
export type Variant = (typeof VARIANTS)[number];

/** snapshots/gas.json: operation → gasUsed of each variant measured. */
export type GasSnapshot = Record<string, Partial<Record<Variant, number>>>;
/** snapshots/sizes.json: contract name → deployed bytecode [bytes]. */
export type SizeSnapshot = Record<string, number>;

export interface Snapshot {
  gas: GasSnapshot;
  sizes: SizeSnapshot;
}

/** Growth over the recorded gas that fails the check [%]: strictly more than this. */
export const GAS_TOLERANCE_PERCENT = 1n;

export const SNAPSHOT_FILES = { gas: "gas.json", sizes: "sizes.json" } as const;

const RERECORD = "run npm run snapshot and commit";

export type Finding =
  | { kind: "gasGrew"; operation: string; variant: Variant; recorded: number; measured: number }
  | { kind: "notMeasured" | "notRecorded"; what: "operation" | "contract"; name: string }
  | { kind: "overLimit"; contract: string; bytes: number };

/** The gas snapshot of the bench's rows (operation → isolated and cross gas, where measured). */
export function gasSnapshot(rows: readonly Row[]): GasSnapshot {
  const out: GasSnapshot = {};
  for (const r of rows) {
    if (out[r.operation]) throw new KeelError("INPUT", `gas snapshot: operation "${r.operation}" measured twice`);
    const entry: Partial<Record<Variant, number>> = {};
    for (const v of VARIANTS) {
      const gas = r[v];
      if (gas !== undefined) entry[v] = Number(gas);
    }
    out[r.operation] = entry;
  }
  return out;
}

/** "operation (variant)": how a finding and the table name one measured figure. */
export const figureName = (operation: string, variant: Variant): string => `${operation} (${variant})`;

/** Every (operation, variant) figure of a gas snapshot, keyed by `figureName`, in the snapshot's order. */
function figures(gas: GasSnapshot): Map<string, { operation: string; variant: Variant; gas: number }> {
  const out = new Map<string, { operation: string; variant: Variant; gas: number }>();
  for (const [operation, entry] of Object.entries(gas)) {
    for (const variant of VARIANTS) {
      const g = entry[variant];
      if (g !== undefined) out.set(figureName(operation, variant), { operation, variant, gas: g });
    }
  }
  return out;
}

/** `measured` more than GAS_TOLERANCE_PERCENT over `recorded`, in whole numbers. */
const grewTooMuch = (recorded: number, measured: number): boolean =>
  BigInt(measured) * 100n > BigInt(recorded) * (100n + GAS_TOLERANCE_PERCENT);

/**
 * What fails the check, from the committed snapshot and a fresh measurement: gas grown more than 1% per figure,
 * figures and contracts on one side only, contracts over the limit. Gas that fell and sizes that moved under the
 * limit are not findings (the table shows them).
 */
export function compareSnapshots(recorded: Snapshot, measured: Snapshot): Finding[] {
  const findings: Finding[] = [];
  const before = figures(recorded.gas);
  const after = figures(measured.gas);
  for (const [name, m] of after) {
    const r = before.get(name);
    if (r === undefined) findings.push({ kind: "notRecorded", what: "operation", name });
    else if (grewTooMuch(r.gas, m.gas)) findings.push({ kind: "gasGrew", operation: m.operation, variant: m.variant, recorded: r.gas, measured: m.gas });
  }
  for (const name of before.keys()) if (!after.has(name)) findings.push({ kind: "notMeasured", what: "operation", name });
  for (const [name, bytes] of Object.entries(measured.sizes)) {
    if (recorded.sizes[name] === undefined) findings.push({ kind: "notRecorded", what: "contract", name });
    if (bytes > SIZE_LIMIT) findings.push({ kind: "overLimit", contract: name, bytes });
  }
  for (const name of Object.keys(recorded.sizes)) {
    if (measured.sizes[name] === undefined) findings.push({ kind: "notMeasured", what: "contract", name });
  }
  return findings;
}

const fmt = (n: number): string => formatFixed(BigInt(n), 0);

/** The change from `recorded` to `measured` [%], two decimals and a sign ("+1.25%", "0.00%", "-3.10%"). */
export function changePercent(recorded: number, measured: number): string {
  if (recorded === 0) return measured === 0 ? "0.00%" : "new";
  const pct = ((measured - recorded) / recorded) * 100;
  const text = Math.abs(pct).toFixed(2);
  return `${pct > 0 && text !== "0.00" ? "+" : pct < 0 && text !== "0.00" ? "-" : ""}${text}%`;
}

/** One line per finding, each saying what to do. */
export function findingMessage(f: Finding): string {
  switch (f.kind) {
    case "gasGrew":
      return `gas: ${figureName(f.operation, f.variant)} grew ${(((f.measured - f.recorded) / f.recorded) * 100).toFixed(2)}% (${fmt(f.recorded)} → ${fmt(f.measured)}), more than the ${GAS_TOLERANCE_PERCENT}% allowed`;
    case "notMeasured":
      return `${f.what} "${f.name}" is in the snapshot but was not measured: ${RERECORD}`;
    case "notRecorded":
      return `${f.what} "${f.name}" was measured but is not in the snapshot: ${RERECORD}`;
    case "overLimit":
      return `size: ${f.contract} is ${fmt(f.bytes)} bytes, over the ${fmt(SIZE_LIMIT)}-byte limit (EIP-170)`;
  }
}

/** recorded / measured / change rows of two name → number maps: the measured names in order, then the rest. */
function rows(recorded: ReadonlyMap<string, number>, measured: ReadonlyMap<string, number>, flag: (name: string) => string): string[][] {
  const names = [...measured.keys(), ...[...recorded.keys()].filter((n) => !measured.has(n))];
  return names.map((name) => {
    const r = recorded.get(name);
    const m = measured.get(name);
    const change = r === undefined || m === undefined ? "" : changePercent(r, m);
    const note = flag(name);
    return [name, r === undefined ? "—" : fmt(r), m === undefined ? "—" : fmt(m), change, ...(note ? [note] : [])];
  });
}

/** The check's tables: gas per operation and variant, then bytes per contract, each old / new / change. */
export function comparisonTables(recorded: Snapshot, measured: Snapshot, findings: readonly Finding[]): string {
  const flag = (name: string): string => {
    const f = findings.find(
      (x) => (x.kind === "gasGrew" && figureName(x.operation, x.variant) === name) || ("name" in x && x.name === name) || (x.kind === "overLimit" && x.contract === name),
    );
    return f === undefined ? "" : { gasGrew: `GREW > ${GAS_TOLERANCE_PERCENT}%`, notMeasured: "NOT MEASURED", notRecorded: "NOT RECORDED", overLimit: "OVER THE LIMIT" }[f.kind];
  };
  const gasOf = (s: Snapshot): Map<string, number> => new Map([...figures(s.gas)].map(([name, f]) => [name, f.gas]));
  const align = ["left", "right", "right", "right", "left"] as const;
  return [
    textTable([["gas", "recorded", "measured", "change"], ...rows(gasOf(recorded), gasOf(measured), flag)], align),
    "",
    textTable([["bytes", "recorded", "measured", "change"], ...rows(new Map(Object.entries(recorded.sizes)), new Map(Object.entries(measured.sizes)), flag)], align),
  ].join("\n");
}

/** `value` with every object's keys sorted, recursively. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

/** A snapshot file's text: keys sorted, two-space indentation, a trailing newline. */
export const snapshotJson = (value: GasSnapshot | SizeSnapshot): string => `${JSON.stringify(sortKeys(value), null, 2)}\n`;

const gasSchema = z.record(z.string(), z.object({ isolated: z.number().int().positive().optional(), cross: z.number().int().positive().optional() }).strict());
const sizesSchema = z.record(z.string(), z.number().int().positive());

function readJson<T>(path: string, schema: z.ZodType<T>): T {
  if (!existsSync(path)) throw new KeelError("INPUT", `${path} not found: ${RERECORD}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new KeelError("INPUT", `${path} is not JSON: ${RERECORD}`, { cause: e });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new KeelError("INPUT", `${path}: ${result.error.issues[0]?.message ?? "malformed"} at ${result.error.issues[0]?.path.join(".")}`);
  return result.data;
}

/** The committed snapshot in `dir`. */
export function readSnapshot(dir: string): Snapshot {
  return { gas: readJson(join(dir, SNAPSHOT_FILES.gas), gasSchema), sizes: readJson(join(dir, SNAPSHOT_FILES.sizes), sizesSchema) };
}

/** Writes each file of `snapshot` into `dir` atomically: a temporary file beside it, then a rename over it. */
export function writeSnapshot(dir: string, snapshot: Snapshot): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const key of ["gas", "sizes"] as const) {
    const path = join(dir, SNAPSHOT_FILES[key]);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, snapshotJson(snapshot[key]));
    renameSync(temporary, path);
    written.push(path);
  }
  return written;
}
