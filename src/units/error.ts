/**
 * The one base class of Keel's errors: a short message, a cause, and a stable code saying what kind of failure it
 * is. Every error class of src/, deploy/, dev/, scenario/, scripts/ and the web app extends it with its code;
 * callers test `instanceof KeelError` and `code`, never a class name as a string. Entry points map codes to exit
 * statuses in one place (scripts/lib/main.ts). Pure and browser-safe: no imports.
 */

/**
 * What went wrong, in terms of what the user can do about it:
 *
 * - `USAGE`: the command line (an unknown flag, a missing or malformed flag value);
 * - `INPUT`: a value or a file given to Keel does not parse or is out of range (amounts, price series, scenarios,
 *   checkpoints, risk inputs);
 * - `CONFIG`: a deployment or keeper configuration fails its checks;
 * - `MANIFEST`: the deployment manifest is missing, malformed, or does not match the chain;
 * - `RPC`: the node did not answer, or failed, after the retries;
 * - `CHAIN`: the chain is not as expected (a reorg under the index, a token whose balance cannot be dealt);
 * - `REFUSED`: the action cannot be done as things stand (the CLI's and the preview's refusals, a poke too soon);
 * - `MATH`: a computation was given operands outside its domain (overflow, division by zero, a probability
 *   outside (0, 1), too few samples).
 */
export type KeelErrorCode = "USAGE" | "INPUT" | "CONFIG" | "MANIFEST" | "RPC" | "CHAIN" | "REFUSED" | "MATH";

export class KeelError extends Error {
  override name = "KeelError";
  constructor(
    readonly code: KeelErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
