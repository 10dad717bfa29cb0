/**
 * A cross-process lock per sending address, so several keeper processes on one host sharing a key take nonces
 * one at a time: a keeper holds it only while it reads the pending nonce and broadcasts. The file holds the owner's
 * pid, so a lock left by a killed process is taken over at once.
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./rpc";

const STALE_MS = 30_000;

export class NonceLock {
  readonly path: string;

  constructor(address: string, dir = join(tmpdir(), "keel-keeper-locks")) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `${address.toLowerCase()}.lock`);
  }

  /** Runs `fn` while holding the lock. A lock left by a crashed process is broken after 30 s. */
  async with<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(this.path);
      } catch {
        // already broken as stale by another process: nothing to release
      }
    }
  }

  private async acquire(): Promise<void> {
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      try {
        const fd = openSync(this.path, "wx");
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        this.breakIfStale();
        await sleep(wait);
      }
    }
  }

  /** A lock whose owner process is gone (a killed keeper) is broken at once; any lock older than 30 s too. */
  private breakIfStale(): void {
    try {
      const pid = Number(readFileSync(this.path, "utf8"));
      if (Date.now() - statSync(this.path).mtimeMs > STALE_MS || (pid > 0 && !alive(pid))) unlinkSync(this.path);
    } catch {
      // removed meanwhile
    }
  }
}

/** Whether process `pid` exists (signal 0 checks without signalling; EPERM means it exists under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
