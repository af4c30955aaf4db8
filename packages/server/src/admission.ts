/**
 * Admission control: a new stream is refused, at the WebSocket upgrade, when the server could not
 * serve it in real time: too many streams held, or the engine too busy or too far behind. Streams
 * already running are never cut; `/readyz` reports not-ready while new ones would be refused.
 */
import type { RefusalReason } from "./metrics.js";

export interface AdmissionOptions {
  /**
   * Streams the server holds at once: sessions that hold an engine stream (decoder), streaming or
   * waiting for a resume; connections that have not sent `config` yet do not count. Default: no
   * static limit here (`createServer` derives one from memory when the engine declares its cost).
   */
  readonly maxStreams?: number;
  /**
   * Refuse while the server's utilization is at least this (0..1): the engine's decoding demand
   * (`loadSnapshot()`: utilization × threads, in cores) plus, with `countMainThread`, the main
   * thread's event loop utilization, over the machine's cores. Default 0.9.
   */
  readonly maxUtilization?: number;
  /**
   * Refuse while some stream's engine backlog is at least this many ms. Default: off, because a
   * client that sends faster than real time (a file at full speed) builds a backlog on purpose, and
   * fair scheduling keeps it from delaying the others; set it when every client streams live.
   */
  readonly maxBacklogMs?: number;
  /**
   * Count the main thread's own load in the utilization (default false). `earshot serve` does: its
   * process is the server's alone. A server embedded in an application leaves it off by default,
   * because that thread's event loop also runs the application's work.
   */
  readonly countMainThread?: boolean;
  /** `Retry-After` of a refusal, in seconds. Default 5. */
  readonly retryAfterSeconds?: number;
}

export const DEFAULT_ADMISSION = {
  maxStreams: Number.POSITIVE_INFINITY,
  maxUtilization: 0.9,
  maxBacklogMs: Number.POSITIVE_INFINITY,
  countMainThread: false,
  retryAfterSeconds: 5,
} as const satisfies Required<AdmissionOptions>;

/** The load an admission decision looks at. */
export interface Load {
  /** Streams held now (see `AdmissionOptions.maxStreams`), not counting the one asking. */
  readonly heldStreams: number;
  /** The server's utilization (see `AdmissionOptions.maxUtilization`); undefined when unknown. */
  readonly utilization: number | undefined;
  readonly maxBacklogMs: number;
}

export interface Refusal {
  /** `draining`: the node drains (node-drain.ts), whatever its load. */
  readonly reason: Extract<RefusalReason, "max_streams" | "utilization" | "backlog" | "draining">;
  readonly message: string;
}

export class Admission {
  readonly #limits: Required<AdmissionOptions>;

  constructor(options: AdmissionOptions = {}) {
    this.#limits = {
      maxStreams: options.maxStreams ?? DEFAULT_ADMISSION.maxStreams,
      maxUtilization: options.maxUtilization ?? DEFAULT_ADMISSION.maxUtilization,
      maxBacklogMs: options.maxBacklogMs ?? DEFAULT_ADMISSION.maxBacklogMs,
      retryAfterSeconds: options.retryAfterSeconds ?? DEFAULT_ADMISSION.retryAfterSeconds,
      countMainThread: options.countMainThread ?? DEFAULT_ADMISSION.countMainThread,
    };
  }

  get maxStreams(): number {
    return this.#limits.maxStreams;
  }

  get countsMainThread(): boolean {
    return this.#limits.countMainThread;
  }

  get retryAfterSeconds(): number {
    return this.#limits.retryAfterSeconds;
  }

  /** Why `streams` more (a two-channel stream needs two) cannot be served now, or undefined when they can. */
  check(load: Load, streams = 1): Refusal | undefined {
    const { maxStreams, maxUtilization, maxBacklogMs } = this.#limits;
    if (load.heldStreams + streams > maxStreams) {
      const needs = streams > 1 ? `, and this stream needs ${streams}` : "";
      return {
        reason: "max_streams",
        message: `The server holds ${load.heldStreams} streams; its limit is ${maxStreams}${needs}.`,
      };
    }
    if (load.utilization !== undefined && load.utilization >= maxUtilization) {
      return {
        reason: "utilization",
        message: `The server is ${Math.round(load.utilization * 100)}% busy (decoders and main thread); new streams wait until it is below ${Math.round(maxUtilization * 100)}%.`,
      };
    }
    if (load.maxBacklogMs >= maxBacklogMs) {
      return {
        reason: "backlog",
        message: `The engine is ${Math.round(load.maxBacklogMs)} ms behind on a stream; new streams wait until it is below ${maxBacklogMs} ms.`,
      };
    }
    return undefined;
  }
}
