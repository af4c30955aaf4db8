/**
 * Which cores each node process may run on (`taskset -c`). One node alone gets every core. Up to
 * one node per core, each node gets a core of its own, so its decoders and its main thread stop
 * competing with the other nodes' (and `os.availableParallelism()`, which the node's admission
 * divides its load by, counts that one core). Nodes beyond the cores are left unpinned: they share
 * every core with the pinned ones, and the kernel moves them to whichever core is idle.
 */

/** A node's CPU list for `taskset -c` (e.g. "1"), or undefined: every core. */
export type CpuList = string | undefined;

export function pinPlan(nodes: number, cores: number, pin: boolean): CpuList[] {
  return Array.from({ length: nodes }, (_, i) => (pin && nodes > 1 && i < cores ? String(i) : undefined));
}

/** "node1: cpu 0, node2: cpu 1, node3: any" */
export function describePins(plan: readonly CpuList[]): string {
  // Saved results hold null where the plan held undefined.
  return plan.map((cpus, i) => `node${i + 1}: ${cpus ? `cpu ${cpus}` : "any"}`).join(", ");
}
