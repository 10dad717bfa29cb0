/**
 * The deployer's key for `npm run deploy`: DEPLOYER_PRIVATE_KEY, or an encrypted JSON keystore (`--keystore FILE`)
 * whose password is asked on the terminal without echo (or read as one line from stdin when it is not a terminal,
 * for scripted use). Neither the key nor the password is ever printed or logged.
 */
import { readFileSync } from "node:fs";
import { Wallet } from "ethers";
import { ConfigError } from "../../src/client/config";
import { UsageError } from "./args";

export async function deployerKey(keystore: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Wallet> {
  const key = env.DEPLOYER_PRIVATE_KEY?.trim();
  if (keystore && key) throw new UsageError("give either --keystore or DEPLOYER_PRIVATE_KEY, not both");
  if (keystore) {
    let json: string;
    try {
      json = readFileSync(keystore, "utf8");
    } catch (e) {
      throw new ConfigError(`--keystore: cannot read ${keystore} (${(e as Error).message})`, { cause: e });
    }
    const password = await askPassword(`Password for ${keystore}: `);
    try {
      return Wallet.fromEncryptedJsonSync(json, password) as Wallet;
    } catch (e) {
      throw new ConfigError(`--keystore: cannot decrypt ${keystore} (wrong password, or not a JSON keystore)`, { cause: e });
    }
  }
  if (!key) throw new UsageError("no deployer key: set DEPLOYER_PRIVATE_KEY, or pass --keystore FILE");
  try {
    return new Wallet(key);
  } catch (e) {
    throw new ConfigError("DEPLOYER_PRIVATE_KEY is not a 32-byte hex private key", { cause: e });
  }
}

/** Reads a password: raw mode on a terminal (nothing echoed), else the first line of stdin. */
function askPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = "";
    const finish = (error?: Error): void => {
      stdin.removeListener("data", onData);
      stdin.removeListener("end", onEnd);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003") return finish(new UsageError("cancelled"));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    const onEnd = (): void => finish(typed ? undefined : new UsageError("--keystore: no password given on stdin"));
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.resume();
  });
}
