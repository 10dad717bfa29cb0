/** Hardhat's development accounts and the raw-RPC provider type every local-network helper takes. */
import { HDNodeWallet, Mnemonic, type Provider, Wallet } from "ethers";

/** A provider that also takes raw JSON-RPC requests (a JsonRpcProvider, or Hardhat's in-process provider). */
export type DevProvider = Provider & { send(method: string, params: unknown[]): Promise<unknown> };

/** Hardhat's well-known development mnemonic: the node funds these accounts. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const devWallet = (i: number, provider?: Provider): Wallet => {
  const w = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${i}`);
  return new Wallet(w.privateKey, provider);
};
