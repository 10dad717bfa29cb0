/**
 * Command lines of the scripts: node:util parseArgs (strict), and validators that turn a flag's text into a value
 * or throw a UsageError naming the flag, what it expects and what it got: `--positions: expected a whole number
 * from 1 to 5000, got "abc"`.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { KeelError } from "../../src/units/error";

export class UsageError extends KeelError {
  override name = "UsageError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("USAGE", message, options);
  }
}

/** parseArgs, strict unless said otherwise; its own errors (unknown flag, missing value) become UsageErrors. */
export function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ strict: true, ...config });
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) throw new UsageError((e as Error).message, { cause: e });
    throw e;
  }
}

const refuse = (flag: string, expected: string, text: string): UsageError => new UsageError(`${flag}: expected ${expected}, got "${text}"`);

/** `text` as a whole number in [min, max] (digits only); `fallback` when the flag is absent. */
export function int(
  flag: string,
  text: string | undefined,
  range: { min: number; max?: number; fallback?: number; expected?: string },
): number {
  if (text === undefined && range.fallback !== undefined) return range.fallback;
  const { min, max } = range;
  const expected =
    range.expected ?? (max !== undefined ? `a whole number from ${min} to ${max}` : min === 0 ? "a non-negative whole number" : `a whole number ≥ ${min}`);
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || n < min || (max !== undefined && n > max)) throw refuse(flag, expected, String(text));
  return n;
}

/** `text` as a non-negative whole number of any size (a seed, a position id); `fallback` when absent. */
export function uint(flag: string, text: string | undefined, options: { fallback?: bigint; expected?: string } = {}): bigint {
  if (text === undefined && options.fallback !== undefined) return options.fallback;
  if (text === undefined || !/^\d+$/.test(text)) throw refuse(flag, options.expected ?? "a non-negative whole number", String(text));
  return BigInt(text);
}

/** The one of `choices` whose key (by default the choice itself) is `text`. */
export function oneOf<T>(flag: string, text: string, choices: readonly T[], keyOf: (choice: T) => string = String): T {
  const found = choices.find((c) => keyOf(c) === text);
  if (found === undefined) throw new UsageError(`${flag}: unknown "${text}" (${choices.map(keyOf).join(", ")})`);
  return found;
}

/** A comma-separated list, each item trimmed and read by `item`. */
export const listOf = <T>(text: string, item: (text: string) => T): T[] => text.split(",").map((s) => item(s.trim()));

/** The flag's value, or a UsageError `message` (by default "<flag> is required"). */
export function required<T>(flag: string, value: T | undefined, message = `${flag} is required`): T {
  if (value === undefined) throw new UsageError(message);
  return value;
}
