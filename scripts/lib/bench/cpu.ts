/**
 * Where a benchmark's time goes: wall time, and CPU time of the node's process group (from /proc) and of this
 * process, for one timed run; medians over runs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { Node } from "../../../dev/localNode";

/** One timed run: wall time, CPU time of the node's processes and of this one (where the work happened). */
export interface Run {
  ms: number;
  /** undefined where /proc is not available. */
  nodeCpuMs?: number;
  /** The kernel's part of nodeCpuMs. */
  nodeSysMs?: number;
  selfCpuMs: number;
  selfSysMs: number;
}

/** Runs `fn`, timing it on the wall clock and in CPU time of the node's process group and of this process. */
export async function measure<T>(node: Node, fn: () => Promise<T>): Promise<{ value: T; run: Run }> {
  const node0 = groupStat(node);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const self = process.cpuUsage(self0);
  const d = statDelta(node0, groupStat(node));
  return {
    value,
    run: { ms, nodeCpuMs: d && d.userMs + d.sysMs, nodeSysMs: d?.sysMs, selfCpuMs: (self.user + self.system) / 1000, selfSysMs: self.system / 1000 },
  };
}

export interface GroupStat {
  userMs: number;
  sysMs: number;
  /** Minor page faults. */
  faults: number;
}

/**
 * CPU time and page faults of the node's processes, from /proc: its process group when it leads one (`hardhat node`:
 * npx and the node it runs), or the process itself (anvil, one process in this process's group).
 */
export function groupStat(node: Node): GroupStat | undefined {
  const pgid = node.process.pid;
  if (pgid === undefined || process.platform !== "linux") return undefined;
  const out: GroupStat = { userMs: 0, sysMs: 0, faults: 0 };
  try {
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) !== pgid && Number(pid) !== pgid) continue;
      out.faults += Number(f[7]);
      out.userMs += Number(f[11]) * 10; // USER_HZ is 100 on Linux
      out.sysMs += Number(f[12]) * 10;
    }
  } catch {
    return undefined;
  }
  return out;
}

export const statDelta = (a: GroupStat | undefined, b: GroupStat | undefined): GroupStat | undefined =>
  a && b && { userMs: b.userMs - a.userMs, sysMs: b.sysMs - a.sysMs, faults: b.faults - a.faults };

/** The run with the median wall time (the upper one of an even count). */
export const medianRun = (runs: readonly Run[]): Run => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
