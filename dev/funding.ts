/**
 * Where local and forked networks get tokens from. Mock tokens mint to anyone; real tokens on a fork (WETH, WBTC,
 * USDC, wstETH at their mainnet addresses) do not, so `dealFunder` writes the holder's balance straight into the
 * token's storage with hardhat_setStorageAt, after finding the balance mapping's slot by probing (the usual
 * Solidity layout keccak256(holder, slot), and Vyper's keccak256(slot, holder)). Never for a live network.
 */
import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";
import { KeelError } from "../src/units/error";
import type { MockERC20 } from "../typechain-types";
import type { DevProvider } from "./accounts";

/** Gives `to` `amount` more of `token` (token units). */
export type Funder = (token: MockERC20, to: string, amount: bigint) => Promise<void>;

export class FundingError extends KeelError {
  override name = "FundingError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("CHAIN", message, options);
  }
}

/** Mock tokens: the open `mint` of MockERC20. */
export const mintFunder: Funder = async (token, to, amount) => {
  await (await token.mint(to, amount)).wait();
};

/** Highest storage slot probed for a balance mapping. */
const MAX_SLOT = 60;

/** Forks: writes balances into storage (the token's total supply is left as it was). */
export function dealFunder(provider: DevProvider): Funder {
  const slots = new Map<string, (holder: string) => string>();
  return async (token, to, amount) => {
    const address = (token.target as string).toLowerCase();
    let keyOf = slots.get(address);
    if (!keyOf) {
      keyOf = await findBalanceSlot(provider, token, to);
      slots.set(address, keyOf);
    }
    const key = keyOf(to);
    const current = BigInt((await provider.send("eth_getStorageAt", [address, key, "latest"])) as string);
    await provider.send("hardhat_setStorageAt", [address, key, zeroPadValue(toBeHex(current + amount), 32)]);
    if ((await token.balanceOf(to)) < amount) throw new FundingError(`deal: ${address} did not credit ${to}`);
  };
}

async function findBalanceSlot(provider: DevProvider, token: MockERC20, probe: string): Promise<(holder: string) => string> {
  const coder = AbiCoder.defaultAbiCoder();
  const address = token.target as string;
  const before = await token.balanceOf(probe);
  const marker = before + 0x1234_5678_9abcn;
  for (let slot = 0; slot <= MAX_SLOT; slot++) {
    const layouts = [
      (h: string): string => keccak256(coder.encode(["address", "uint256"], [h, slot])),
      (h: string): string => keccak256(coder.encode(["uint256", "address"], [slot, h])),
    ];
    for (const keyOf of layouts) {
      const key = keyOf(probe);
      const old = (await provider.send("eth_getStorageAt", [address, key, "latest"])) as string;
      await provider.send("hardhat_setStorageAt", [address, key, zeroPadValue(toBeHex(marker), 32)]);
      const seen = await token.balanceOf(probe);
      await provider.send("hardhat_setStorageAt", [address, key, zeroPadValue(old, 32)]);
      if (seen === marker) return keyOf;
    }
  }
  throw new FundingError(`deal: no balance mapping found in the first ${MAX_SLOT} storage slots of ${address}`);
}
