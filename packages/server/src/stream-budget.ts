/**
 * The default stream limit from memory: decoders are what a stream costs (about 100 MB for
 * PocketSphinx), so a server that admits streams by CPU alone can be driven out of memory by
 * streams that hold decoders without decoding (dropped sessions waiting for a resume, silent
 * streams). `earshot serve` and `createServer` take this limit unless `maxStreams` is set.
 */
import { totalmem } from "node:os";

/** Memory left for the process itself (runtime, sockets, the VAD, idle decoders) and the OS. */
export const MEMORY_RESERVE_BYTES = 1024 ** 3;
/** Share of the rest that open streams may hold. */
export const STREAM_MEMORY_SHARE = 0.75;

/** The machine's memory, or the container's limit (cgroup) when that is lower. */
export function availableMemoryBytes(): number {
  const total = totalmem();
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < total ? constrained : total;
}

/**
 * Streams that fit in memory: 75% of what is left after a 1 GiB reserve, over one stream's cost;
 * at least 1. Without a declared cost (engines whose streams are cheap): no limit.
 */
export function memoryMaxStreams(
  streamMemoryBytes: number | undefined,
  memoryBytes: number = availableMemoryBytes(),
): number {
  if (streamMemoryBytes === undefined || !(streamMemoryBytes > 0)) return Number.POSITIVE_INFINITY;
  const forStreams = Math.max(0, memoryBytes - MEMORY_RESERVE_BYTES) * STREAM_MEMORY_SHARE;
  return Math.max(1, Math.floor(forStreams / streamMemoryBytes));
}
