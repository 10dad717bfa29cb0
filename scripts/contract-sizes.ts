/**
 * `npm run sizes`: the deployed bytecode size of every contract in contracts/core, contracts/oracles and
 * contracts/periphery, with its margin under the EIP-170 limit (24,576 bytes). Exits 1 when any contract is over
 * the limit. Reads the compiled artifacts (`hardhat run` compiles first).
 */
import { artifacts } from "hardhat";

/** EIP-170: the largest deployable runtime code [bytes]. */
const LIMIT = 24_576;
const DIRECTORIES = ["contracts/core/", "contracts/oracles/", "contracts/periphery/"];

interface Size {
  name: string;
  bytes: number;
}

async function main(): Promise<void> {
  const sizes: Size[] = [];
  for (const fqn of await artifacts.getAllFullyQualifiedNames()) {
    if (!DIRECTORIES.some((dir) => fqn.startsWith(dir))) continue;
    const artifact = await artifacts.readArtifact(fqn);
    const bytes = (artifact.deployedBytecode.length - 2) / 2;
    if (bytes === 0) continue; // abstract contracts and interfaces
    sizes.push({ name: fqn, bytes });
  }
  if (sizes.length === 0) throw new Error("contract-sizes: no artifacts found; compile first");
  sizes.sort((a, b) => b.bytes - a.bytes);
  let over = 0;
  console.log(`${"contract".padEnd(64)} ${"bytes".padStart(7)} ${"margin".padStart(8)}`);
  for (const { name, bytes } of sizes) {
    const margin = LIMIT - bytes;
    if (margin < 0) over++;
    console.log(`${name.padEnd(64)} ${String(bytes).padStart(7)} ${String(margin).padStart(8)}${margin < 0 ? "  OVER THE LIMIT" : ""}`);
  }
  console.log(`limit ${LIMIT} bytes (EIP-170); ${over === 0 ? "all contracts fit" : `${over} over the limit`}`);
  if (over !== 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
