/**
 * A cross-process lock per sending address, so several keeper processes on one host sharing a key take nonces
 * one at a time: a keeper holds it only while it reads the pending nonce and broadcasts.
 */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from "node:fs";
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

  private breakIfStale(): void {
    try {
      if (Date.now() - statSync(this.path).mtimeMs > STALE_MS) unlinkSync(this.path);
    } catch {
      // removed meanwhile
    }
  }
}
