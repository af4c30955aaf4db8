/**
 * CPU time and memory of a process, and how busy the whole machine is, from Linux /proc. The load
 * and long-stream benches read the server process from outside, so its numbers include every
 * thread (the engine's decoding workers too) and nothing of the load generator.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clockTicks: number | undefined;

/** Kernel clock ticks per second (`getconf CLK_TCK`, almost always 100). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU time a process has used so far, all threads, in ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 (utime) and 15 (stime) of the whole line are 12 and 13 after the name and state.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / ticksPerSecond();
}

/** Resident set size of a process, in MiB. */
export function processRssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb ?? Number.NaN) / 1024;
}

/** The machine's CPU counters (all cores), for the busy fraction between two readings. */
export interface MachineCpu {
  readonly busy: number;
  readonly total: number;
}

export function machineCpu(): MachineCpu {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is in user already.
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const idleAll = (idle ?? 0) + (iowait ?? 0);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy, total: busy + idleAll };
}

/** Fraction (0..1) of all cores busy between two readings, whoever used them. */
export function machineBusy(from: MachineCpu, to: MachineCpu): number {
  const total = to.total - from.total;
  return total > 0 ? (to.busy - from.busy) / total : Number.NaN;
}

/**
 * `pid` and every process below it (the server and the decoding processes it forks), from each
 * process's parent in /proc/<pid>/stat. Decoders live in child processes, so the server's own
 * numbers alone miss most of their memory and CPU.
 */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Field 4 (ppid) is the second after the parenthesized command name.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const children = parents.get(ppid) ?? [];
      children.push(Number(name));
      parents.set(ppid, children);
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i] ?? -1) ?? []));
  return tree;
}

/**
 * CPU time (ms) of `pid` and its descendants so far, including children that already exited and were
 * waited for (the parent's cutime and cstime); a process gone meanwhile counts 0.
 */
export function treeCpuMs(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${member}/stat`, "utf8");
      const after = fields.slice(fields.lastIndexOf(")") + 2).split(" ");
      // utime, stime, cutime, cstime: fields 14–17 of the line, 12–15 after the name and state.
      const ticks = Number(after[11]) + Number(after[12]) + Number(after[13]) + Number(after[14]);
      total += (ticks * 1000) / ticksPerSecond();
    } catch {}
  }
  return total;
}

/** Summed RSS (MiB) of `pid` and its descendants; a process gone meanwhile counts 0. */
export function treeRssMb(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) {
    try {
      total += processRssMb(member) || 0;
    } catch {}
  }
  return total;
}
