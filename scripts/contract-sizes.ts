/**
 * `npm run sizes`: the deployed bytecode size of every contract in contracts/ (but mocks/ and test/;
 * scripts/lib/bench/sizes.ts) with its margin under the EIP-170 limit (24,576 bytes), largest first. Exits 1 when
 * any contract is over the limit. Reads the compiled artifacts (`hardhat run` compiles first).
 */
import { contractSizes, SIZE_LIMIT } from "./lib/bench/sizes";
import { runMain } from "./lib/main";
import { textTable } from "../src/units/table";

runMain("sizes", async () => {
  const sizes = Object.entries(await contractSizes()).sort(([, a], [, b]) => b - a);
  const over = sizes.filter(([, bytes]) => bytes > SIZE_LIMIT).length;
  const rows = sizes.map(([name, bytes]) => [name, String(bytes), String(SIZE_LIMIT - bytes), ...(bytes > SIZE_LIMIT ? ["OVER THE LIMIT"] : [])]);
  console.log(textTable([["contract", "bytes", "margin"], ...rows], ["left", "right", "right"]));
  console.log(`limit ${SIZE_LIMIT} bytes (EIP-170); ${over === 0 ? "all contracts fit" : `${over} over the limit`}`);
  return over === 0 ? 0 : 1;
});
