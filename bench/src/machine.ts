/** What the numbers were measured on: hardware, software versions, load, when and how. */
import { execFileSync } from "node:child_process";
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os";

export interface Machine {
  readonly cpuModel: string;
  readonly logicalCores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly pocketsphinx: string;
  readonly date: string;
  readonly command: string;
  /** The commit measured, and how many files differed from it (others may be editing the checkout). */
  readonly code: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  readonly loadAtStart: readonly number[];
}

export function describeMachine(command: string): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    logicalCores: availableParallelism(),
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    pocketsphinx: debianVersion("pocketsphinx"),
    date: new Date().toISOString(),
    command,
    code: describeCheckout(),
    loadAtStart: loadavg(),
  };
}

function debianVersion(pkg: string): string {
  try {
    // `dpkg-query -W` prints "name<TAB>version".
    const line = execFileSync("dpkg-query", ["-W", pkg], { encoding: "utf8" }).trim();
    return line.split("\t")[1] || "not installed";
  } catch {
    return "not installed";
  }
}

/** The commit of a checkout (by default this one) and whether files outside bench/ differ from it. */
export function describeCheckout(dir: string | URL = new URL("../..", import.meta.url)): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
  try {
    const commit = git("rev-parse", "--short", "HEAD");
    const changed = git("status", "--porcelain", "--untracked-files=all")
      .split("\n")
      .filter((line) => line !== "" && !/ (bench|docs\/benchmarks\.md)/.test(line.slice(2)));
    return changed.length === 0
      ? `commit ${commit}, clean`
      : `commit ${commit} + uncommitted changes in ${changed.length} files outside bench/ (the working tree was built and measured)`;
  } catch {
    return "not a git checkout";
  }
}
