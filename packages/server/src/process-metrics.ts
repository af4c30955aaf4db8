/**
 * The process metrics (CPU, memory, event loop, GC). They describe the process, not a server, so
 * they live in one registry shared by every server in it (tests run several), collected once.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

let processRegistry: Registry | undefined;

/** The process metrics' registry; the first call starts collecting (measuring the event loop). */
export function sharedProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}
