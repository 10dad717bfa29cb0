/** Structured JSON logs (pino). Secrets never reach a log line: the private key is redacted wherever it appears. */
import pino, { type Logger } from "pino";

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
  /** Fields on every line, e.g. the shard. */
  base?: Record<string, unknown>;
}

/** A JSON logger; bigint fields are written as decimal strings so every line is valid JSON. */
export function createLogger(options: LogOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.KEEPER_LOG_LEVEL ?? "info",
      base: { service: "keel-keeper", ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ["privateKey", "*.privateKey", "config.privateKey"], censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map(stringifyBigints) as Parameters<typeof method>);
        },
      },
    },
    (options.destination ?? process.stdout) as pino.DestinationStream,
  );
}

function stringifyBigints(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(stringifyBigints);
  if (value && typeof value === "object" && !(value instanceof Error)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stringifyBigints(v)]));
  }
  return value;
}
