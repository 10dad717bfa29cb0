/** The CLI's refusals in tests: a command's promise rejects with a CliError whose message is exactly the one expected. */
import { expect } from "chai";
import { CliError } from "../../src/cli/commands";

/** Expects `p` to reject with a CliError whose message is exactly `message`. */
export async function expectCliError(p: Promise<unknown>, message: string): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected CliError "${message}"`).to.be.instanceOf(CliError);
  expect((caught as CliError).message).to.equal(message);
}
