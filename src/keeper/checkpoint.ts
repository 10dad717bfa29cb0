/** A JSON file written atomically: a crash mid-write leaves the previous version, never half a file. */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { KeelError } from "../units/error";

export class CheckpointError extends KeelError {
  override name = "CheckpointError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("INPUT", message, options);
  }
}

export class JsonFile<T> {
  constructor(
    readonly path: string,
    private readonly parse: (raw: unknown) => T,
  ) {}

  /** The stored value, or undefined when there is no file yet. Throws CheckpointError on a corrupt file. */
  read(): T | undefined {
    if (!existsSync(this.path)) return undefined;
    try {
      return this.parse(JSON.parse(readFileSync(this.path, "utf8"), reviveBigints));
    } catch (e) {
      throw new CheckpointError(`${this.path}: unreadable checkpoint (${(e as Error).message})`, { cause: e });
    }
  }

  write(value: T): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value, replaceBigints));
    renameSync(tmp, this.path);
  }
}

/** bigints are stored as {"$bigint": "123"} so they round-trip exactly. */
function replaceBigints(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? { $bigint: value.toString() } : value;
}

function reviveBigints(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && "$bigint" in value) return BigInt((value as { $bigint: string }).$bigint);
  return value;
}
