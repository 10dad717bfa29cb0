/**
 * Contract sizes (`npm run sizes`, `npm run snapshot`): the deployed bytecode size of every contract in contracts/
 * except the test doubles (contracts/mocks/) and harnesses (contracts/test/), read from the compiled artifacts.
 * Interfaces and abstract contracts have no deployed bytecode and are left out.
 */
import { artifacts } from "hardhat";
import { KeelError } from "../../../src/units/error";

/** EIP-170: the largest deployable runtime code [bytes]. */
export const SIZE_LIMIT = 24_576;

const UNMEASURED = ["contracts/mocks/", "contracts/test/"];

/** Contract name → deployed bytecode [bytes], sorted by name. Throws when nothing is compiled or a name repeats. */
export async function contractSizes(): Promise<Record<string, number>> {
  const sizes: [string, number][] = [];
  for (const fqn of await artifacts.getAllFullyQualifiedNames()) {
    if (!fqn.startsWith("contracts/") || UNMEASURED.some((dir) => fqn.startsWith(dir))) continue;
    const artifact = await artifacts.readArtifact(fqn);
    const bytes = (artifact.deployedBytecode.length - 2) / 2;
    if (bytes === 0) continue; // interfaces and abstract contracts
    if (sizes.some(([name]) => name === artifact.contractName)) {
      throw new KeelError("INPUT", `contract sizes: two contracts named ${artifact.contractName} (${fqn})`);
    }
    sizes.push([artifact.contractName, bytes]);
  }
  if (sizes.length === 0) throw new KeelError("INPUT", "contract sizes: no artifacts found; compile first");
  return Object.fromEntries(sizes.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
