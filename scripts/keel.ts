/**
 * `npm run keel -- <command> [flags]`: the user CLI against a running deployment.
 *
 *   open     --mode isolated --asset WETH | --mode cross
 *   deposit  --id 7 --asset WETH --amount 1.5
 *   withdraw --id 7 --asset WETH --amount 0.5|max [--to address]
 *   borrow   --id 7 --amount 1000 [--to address]
 *   repay    --id 7 --amount 500|max
 *   close    --id 7 [--to address]
 *   status   --id 7
 *   list     [--owner address]
 *   swap     --sell USDC --amount 1000 | --buy USDC --amount 1000   (the peg stability module)
 *   save     --amount 500                                           (kUSD into sKUSD)
 *   unsave   --amount 500|max
 *   peg      [--owner address]
 *
 * Connection: --rpc (default http://127.0.0.1:8545), --deployment (default deployments/localhost.json). The key
 * comes from KEEL_PRIVATE_KEY, or --account N picks account N of Hardhat's development mnemonic (local nodes only).
 */
import { JsonRpcProvider, NonceManager, Wallet } from "ethers";
import { devWallet } from "../dev/accounts";
import { connectKeel, readManifest } from "../src/client/manifest";
import * as commands from "../src/cli/commands";
import * as peg from "../src/cli/peg";
import { CliError } from "../src/cli/commands";
import { int, parseFlags, required, uint, UsageError } from "./lib/args";
import { CLI_EXIT_STATUS, runMain } from "./lib/main";

const USAGE = "usage: npm run keel -- <open|deposit|withdraw|borrow|repay|close|status|list|swap|save|unsave|peg> [flags] (see scripts/keel.ts)";

async function main(): Promise<number> {
  const { values, positionals } = parseFlags({
    allowPositionals: true,
    options: {
      rpc: { type: "string", default: "http://127.0.0.1:8545" },
      deployment: { type: "string", default: "deployments/localhost.json" },
      account: { type: "string" },
      mode: { type: "string" },
      asset: { type: "string" },
      amount: { type: "string" },
      id: { type: "string" },
      to: { type: "string" },
      owner: { type: "string" },
      sell: { type: "string" },
      buy: { type: "string" },
    },
  });
  const [command, ...extra] = positionals;
  if (!command || extra.length > 0) throw new UsageError(USAGE);
  const manifest = readManifest(values.deployment);
  const provider = new JsonRpcProvider(values.rpc, manifest.chainId, { staticNetwork: true, cacheTimeout: -1 });
  try {
    const wallet = signerFrom(values.account, provider);
    const cli = { keel: await connectKeel(manifest, provider), signer: wallet && new NonceManager(wallet) };
    const need = (name: "id" | "asset" | "amount" | "mode"): string => required(`--${name}`, values[name], `${command}: --${name} is required`);
    const id = (): bigint => uint("--id", need("id"), { expected: "a position number" });
    const run: Record<string, () => Promise<string[]>> = {
      open: () => commands.open(cli, need("mode"), values.asset),
      deposit: () => commands.deposit(cli, id(), need("asset"), need("amount")),
      withdraw: () => commands.withdraw(cli, id(), need("asset"), need("amount"), values.to),
      borrow: () => commands.borrow(cli, id(), need("amount"), values.to),
      repay: () => commands.repay(cli, id(), need("amount")),
      close: () => commands.close(cli, id(), values.to),
      status: () => commands.status(cli, id()),
      list: () => commands.list(cli, values.owner),
      swap: () => {
        if ((values.sell === undefined) === (values.buy === undefined)) throw new UsageError("swap: give exactly one of --sell SYMBOL or --buy SYMBOL");
        return values.sell !== undefined ? peg.swap(cli, "sell", values.sell, need("amount")) : peg.swap(cli, "buy", values.buy!, need("amount"));
      },
      save: () => peg.save(cli, need("amount")),
      unsave: () => peg.unsave(cli, need("amount")),
      peg: () => peg.peg(cli, values.owner),
    };
    const fn = run[command];
    if (!fn) throw new UsageError(`unknown command "${command}"\n${USAGE}`);
    process.stdout.write((await fn()).join("\n") + "\n");
    return 0;
  } finally {
    provider.destroy();
  }
}

/** The key to sign with; undefined when none is given (status and list still work). */
function signerFrom(account: string | undefined, provider: JsonRpcProvider): Wallet | undefined {
  const key = process.env.KEEL_PRIVATE_KEY;
  if (account !== undefined) {
    if (key) throw new CliError("give either --account or KEEL_PRIVATE_KEY, not both");
    return devWallet(int("--account", account, { min: 0, max: 19, expected: "0–19" }), provider);
  }
  if (!key) return undefined;
  try {
    return new Wallet(key, provider);
  } catch (e) {
    throw new CliError("KEEL_PRIVATE_KEY is not a valid private key", { cause: e });
  }
}

runMain("keel", main, { statuses: CLI_EXIT_STATUS });
