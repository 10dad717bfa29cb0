/** Runs a command to completion and captures what it printed: how the Foundry tools are driven by fuzz and analyze. */
import { spawn } from "node:child_process";

export interface Captured {
  stdout: string;
  stderr: string;
  /** The exit status (1 when the process was killed by a signal). */
  code: number;
}

export function runCaptured(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ stdout, stderr, code: code ?? 1 }));
  });
}
