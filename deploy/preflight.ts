/**
 * Checks a parsed config against the chain before `deployKeel` sends anything: every existing token and feed the
 * config names must be a contract that answers like one, with the decimals the config says, and every feed must
 * have a positive answer. A wrong address on a fork or a live network then fails with a clear message instead of
 * half-way through a deployment.
 */
import type { Provider } from "ethers";
import { MockAggregator__factory, MockERC20__factory } from "../typechain-types";
import { ConfigError, type KeelConfig } from "../src/client/config";

export async function preflight(cfg: KeelConfig, provider: Provider): Promise<void> {
  for (const a of cfg.assets) {
    const at = `config.assets.${a.symbol}`;
    if (a.token) {
      if ((await provider.getCode(a.token)) === "0x") throw new ConfigError(`${at}.token: no contract at ${a.token}`);
      let decimals: bigint;
      try {
        decimals = await MockERC20__factory.connect(a.token, provider).decimals();
      } catch (e) {
        throw new ConfigError(`${at}.token: ${a.token} does not answer decimals() like an ERC-20`, { cause: e });
      }
      if (Number(decimals) !== a.decimals) {
        throw new ConfigError(`${at}.decimals: the config says ${a.decimals}, the token at ${a.token} has ${decimals}`);
      }
    }
    if (a.price.feed) {
      if ((await provider.getCode(a.price.feed)) === "0x") throw new ConfigError(`${at}.price.feed: no contract at ${a.price.feed}`);
      const feed = MockAggregator__factory.connect(a.price.feed, provider);
      let answer: bigint;
      try {
        [, answer] = await feed.latestRoundData();
      } catch (e) {
        throw new ConfigError(`${at}.price.feed: ${a.price.feed} does not answer latestRoundData() like a Chainlink feed`, { cause: e });
      }
      if (answer <= 0n) throw new ConfigError(`${at}.price.feed: ${a.price.feed} answers ${answer}, not a price`);
    }
  }
}
