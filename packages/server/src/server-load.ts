/**
 * How busy the whole server is, for admission: the engine's decoding demand (in cores, from its
 * `loadSnapshot`) plus the main thread's own work (sockets, sessions, the VAD), measured as event
 * loop utilization over the last 5 s, as a fraction of the machine's cores. The
 * engine's utilization alone left out the main thread, and admitted streams past the point where
 * latency collapsed (docs/benchmarks.md, "Where the server's CPU goes").
 */
import { availableParallelism } from "node:os";
import { type EventLoopUtilization, performance } from "node:perf_hooks";
import type { EngineLoad } from "@earshot/engines";

const SAMPLE_EVERY_MS = 250;
/**
 * Samples kept: the window is this many × SAMPLE_EVERY_MS (5 s, like the engine's demand window).
 * With 2 s, the handshakes of 500 streams connecting within a second read as a saturated server.
 */
const WINDOW_SAMPLES = 20;
/** A shorter window says nothing yet (start-up work would read as load): utilization 0. */
const MIN_WINDOW_SAMPLES = 4;

export interface ServerLoad {
  /**
   * 0..1: (engine demand in cores + main thread) / cores. The main thread alone saturated reads as
   * 1 / cores: a connection storm (1,000 handshakes) keeps it busy for seconds without the server
   * being full, and refusing then turned streams away from a server that served them all.
   */
  readonly utilization: number;
  /** The main thread's event loop utilization over the window, 0..1. */
  readonly mainThread: number;
}

/** The main thread's event loop utilization over the last 5 s, once started (after start-up). */
export class MainThreadMonitor {
  readonly #samples: EventLoopUtilization[] = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#samples.push(performance.eventLoopUtilization());
    this.#timer = setInterval(() => {
      this.#samples.push(performance.eventLoopUtilization());
      if (this.#samples.length > WINDOW_SAMPLES + 1) this.#samples.shift();
    }, SAMPLE_EVERY_MS);
    this.#timer.unref();
  }

  /** Event loop utilization from the oldest sample kept until now; 0 before a second of samples. */
  get utilization(): number {
    const oldest = this.#samples[0];
    if (!oldest || this.#samples.length <= MIN_WINDOW_SAMPLES) return 0;
    return performance.eventLoopUtilization(performance.eventLoopUtilization(), oldest).utilization;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}

/** Combines the engine's demand and the main thread's load; `cores` defaults to the machine's. */
export function serverLoad(
  engine: Pick<EngineLoad, "utilization" | "threads" | "streamDemand"> | undefined,
  mainThread: number,
  cores: number = availableParallelism(),
  /** Streams let in whose engine stream is not open yet (a burst of connections): each counts `streamDemand`. */
  unopenedStreams = 0,
): ServerLoad {
  const engineCores = engine
    ? engine.utilization * (engine.threads ?? cores) + unopenedStreams * (engine.streamDemand ?? 0)
    : 0;
  return { utilization: (engineCores + mainThread) / cores, mainThread };
}
