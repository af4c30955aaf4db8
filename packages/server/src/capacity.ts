/**
 * Whether the server has room for one more stream: measures its load (the engine's snapshot, the
 * main thread, the sessions held) and asks `Admission`; and makes room, when a key or the server is
 * at its stream limit, by taking decoders back from sessions waiting for a resume. A draining node
 * has no room at all (node-drain.ts).
 */
import type { Engine, EngineLoad } from "@earshot/engines";
import type { Logger } from "pino";
import { Admission, type AdmissionOptions, type Refusal } from "./admission.js";
import { DRAINING_REFUSAL } from "./node-drain.js";
import { MainThreadMonitor, serverLoad } from "./server-load.js";
import type { SessionRegistry } from "./session-registry.js";
import type { MetricsSources } from "./source-gauges.js";
import { memoryMaxStreams } from "./stream-budget.js";

/** What capacity reads of the sessions and asks of them. */
export type HeldSessions = Pick<
  SessionRegistry,
  "heldStreams" | "waitingDecoders" | "maxBacklogMs" | "releaseWaitingDecoders"
>;

export interface CapacityOptions {
  readonly engine: Engine;
  readonly sessions: HeldSessions;
  /** Without `maxStreams`, the limit is what fits in memory (stream-budget.ts). */
  readonly admission: AdmissionOptions | undefined;
  /** Cores the server may use (default: the machine's). */
  readonly cores: number | undefined;
  /** Decoders one key's sessions may hold. */
  readonly maxStreamsPerKey: number;
  /** The node drains: every new stream is refused (`draining`). Default: never. */
  readonly draining?: () => boolean;
  readonly log: Logger;
}

export type LoadReport = ReturnType<MetricsSources["load"]>;

export class Capacity {
  /** The main thread's utilization; started once the engine is loaded (start-up work is not load). */
  readonly mainThread = new MainThreadMonitor();
  readonly #options: CapacityOptions;
  readonly #admission: Admission;

  constructor(options: CapacityOptions) {
    this.#options = options;
    this.#admission = new Admission({
      ...options.admission,
      maxStreams: options.admission?.maxStreams ?? memoryMaxStreams(options.engine.streamMemoryBytes),
    });
  }

  /** The stream limit in force; Infinity for none. */
  get maxStreams(): number {
    return this.#admission.maxStreams;
  }

  /** The node drains: no new stream, no resume. */
  get draining(): boolean {
    return this.#options.draining?.() ?? false;
  }

  get retryAfterSeconds(): number {
    return this.#admission.retryAfterSeconds;
  }

  /** The server's load now, as admission and the metrics read it. */
  readonly load = (): LoadReport => {
    const { engine, sessions, cores, log } = this.#options;
    let snapshot: EngineLoad | undefined;
    try {
      snapshot = engine.loadSnapshot?.();
    } catch (error) {
      log.warn({ err: error }, "engine load snapshot failed");
    }
    const mainThreadUtilization = this.mainThread.utilization;
    // Connections let in (or sessions waiting) without an engine stream yet: a burst that connected
    // within the same second shows no load yet, but will.
    const unopened = snapshot ? Math.max(0, sessions.heldStreams() - snapshot.streams) : 0;
    const main = this.#admission.countsMainThread ? mainThreadUtilization : 0;
    const load = serverLoad(snapshot, main, cores, unopened);
    const common = { utilization: load.utilization, mainThreadUtilization };
    if (snapshot) {
      return {
        ...common,
        engineUtilization: snapshot.utilization,
        maxBacklogMs: snapshot.maxBacklogMs,
        decoders: snapshot.decoders,
      };
    }
    return { ...common, engineUtilization: undefined, maxBacklogMs: sessions.maxBacklogMs() };
  };

  /**
   * Why one more stream (of `streams` decoders) would be refused now. `room`: count the decoders
   * that waiting sessions would give back for it as free (the quick checks at the upgrade and `/readyz`).
   */
  refusal(room: "now" | "after_release" = "now", streams = 1): Refusal | undefined {
    const { sessions } = this.#options;
    if (this.draining) return { reason: "draining", message: DRAINING_REFUSAL };
    return this.#admission.check(
      {
        heldStreams: sessions.heldStreams() - (room === "after_release" ? sessions.waitingDecoders() : 0),
        ...this.load(),
      },
      streams,
    );
  }

  /**
   * Room for `streams` more decoders (two for a two-channel stream): a key whose sessions hold
   * `maxStreamsPerKey` decoders, or a server at `maxStreams`, first takes them back from sessions
   * waiting for a resume (oldest first), which lose nothing by it. Then admission decides.
   */
  admitNewSession(key: string, streams = 1): Refusal | undefined {
    const { sessions, maxStreamsPerKey } = this.#options;
    sessions.releaseWaitingDecoders(key, sessions.heldStreams(key) - maxStreamsPerKey + streams, "key_budget");
    const refused = this.refusal("now", streams);
    if (refused?.reason !== "max_streams") return refused;
    sessions.releaseWaitingDecoders(undefined, sessions.heldStreams() - this.maxStreams + streams, "node_budget");
    return this.refusal("now", streams);
  }
}
