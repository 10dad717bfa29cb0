/**
 * How every entry point ends: its exit status, and what it prints when it fails. The one place that maps error
 * codes (src/units/error.ts) to exit statuses.
 *
 * | failure                                          | default | keel CLI | demo, stress |
 * | ------------------------------------------------ | ------- | -------- | ------------ |
 * | USAGE, INPUT, CONFIG (fix what you typed or gave) | 2       | 1        | 2            |
 * | MANIFEST, RPC, CHAIN, REFUSED, MATH               | 1       | 1        | 3            |
 * | not a KeelError (a bug, or a failure not named)   | 1       | 2        | 3            |
 *
 * The keel CLI keeps its documented contract (1: keel explains why it did nothing; 2: it crashed), pinned by
 * test/scripts/NodeScript.test.ts. For the replays 1 means the §6 ledger broke, so their other failures are 3.
 */
import { KeelError, type KeelErrorCode } from "../../src/units/error";

/** An exit status for each code, and for what is not a KeelError. */
export type ExitStatuses = Readonly<Record<KeelErrorCode | "UNEXPECTED", number>>;

export const EXIT_STATUS: ExitStatuses = {
  USAGE: 2,
  INPUT: 2,
  CONFIG: 2,
  MANIFEST: 1,
  RPC: 1,
  CHAIN: 1,
  REFUSED: 1,
  MATH: 1,
  UNEXPECTED: 1,
};

export const CLI_EXIT_STATUS: ExitStatuses = { ...EXIT_STATUS, USAGE: 1, INPUT: 1, CONFIG: 1, UNEXPECTED: 2 };

export const REPLAY_EXIT_STATUS: ExitStatuses = { ...EXIT_STATUS, MANIFEST: 3, RPC: 3, CHAIN: 3, REFUSED: 3, MATH: 3, UNEXPECTED: 3 };

export const exitStatusOf = (e: unknown, statuses: ExitStatuses = EXIT_STATUS): number =>
  statuses[e instanceof KeelError ? e.code : "UNEXPECTED"];

export interface MainOptions {
  statuses?: ExitStatuses;
  /** Print the stack of an error that is not a KeelError (default), or only its message. */
  stack?: boolean;
}

/**
 * Runs an entry point. A number it returns is the exit status; nothing leaves the process running (a server).
 * A failure prints `<name>: <message>` on stderr (a KeelError's message; the stack of anything else) and exits
 * with the status of its code.
 */
export function runMain(name: string, main: () => Promise<number | void>, options: MainOptions = {}): void {
  main().then(
    (status) => {
      if (status !== undefined) process.exit(status);
    },
    (e: unknown) => {
      const known = e instanceof KeelError || options.stack === false;
      process.stderr.write(`${name}: ${known ? ((e as Error)?.message ?? String(e)) : String((e as Error)?.stack ?? e)}\n`);
      process.exit(exitStatusOf(e, options.statuses));
    },
  );
}
