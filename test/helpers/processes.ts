/**
 * The repository's scripts run as child processes, each in its own process group (npx → node), so a test can stop
 * the whole tree; every test that spawns one kills its group in `after` (`killGroup` from dev/localNode.ts),
 * whatever happened.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createConnection } from "node:net";
import { join } from "node:path";
import { killGroup } from "../../dev/localNode";

/** The repository root. */
export const ROOT = join(__dirname, "..", "..");

export interface ScriptProcess {
  child: ChildProcess;
  /** Everything written so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout contains `text`; rejects after `timeoutMs`, or if the process exits first. */
  waitForStdout(text: string, timeoutMs: number): Promise<void>;
}

/** `npx ts-node --transpile-only <script> ...args` in its own process group; `input`, if given, is its stdin. */
export function spawnScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, input?: string): ScriptProcess {
  const child = spawn("npx", ["ts-node", "--transpile-only", script, ...args], {
    cwd: ROOT,
    env,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    detached: true,
  });
  if (input !== undefined) child.stdin!.end(input);
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const l of [...listeners]) l();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      resolve({ code, signal });
      for (const l of [...listeners]) l();
    }),
  );
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    get stdout() {
      return out;
    },
    get stderr() {
      return err;
    },
    exited,
    waitForStdout(text, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (out.includes(text)) {
            done();
            resolve();
          } else if (gone()) {
            done();
            reject(new Error(`${script} exited (${child.exitCode ?? child.signalCode}) before printing "${text}"\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${script} did not print "${text}" in ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script to its end (its group killed after `timeoutMs`). */
export async function runScript(
  script: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
  input?: string,
): Promise<RunResult> {
  const p = spawnScript(script, args, env, input);
  const timer = setTimeout(() => void killGroup(p.child), timeoutMs);
  try {
    const { code } = await p.exited;
    return { code, stdout: p.stdout, stderr: p.stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

/** An environment without keys, so a script only uses what the test gives it. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["KEEL_PRIVATE_KEY", "KEEPER_PRIVATE_KEY", "DEPLOYER_PRIVATE_KEY", "FORK_URL", "FORK_BLOCK"]) delete env[k];
  return { ...env, ...extra };
}
