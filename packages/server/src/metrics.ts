/**
 * Prometheus metrics (`GET /metrics`). Each server has its own registry, so servers in one process
 * (tests) do not share counts; the process metrics (CPU, memory, event loop, GC) describe the
 * process, so they live in one registry shared by every server and are appended to each scrape.
 *
 * The audio path only adds to plain numbers (no labels, no allocation per frame); counters and
 * gauges read them when scraped.
 */
import { ERRORS, type ErrorCode, SAMPLE_RATE } from "@earshot/protocol";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ReleaseReason } from "./session-states.js";

const RELEASE_REASONS: readonly ReleaseReason[] = ["hold_expired", "key_budget", "node_budget"];

/** Why an upgrade was refused: the error code, or for `over_capacity` the rule that refused it. */
export const REFUSAL_REASONS = [
  "unauthorized",
  "invalid_token",
  "not_found",
  "bad_request",
  "too_many_streams",
  "max_streams",
  "utilization",
  "backlog",
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Why the server dropped a peer (without an error message: it would not read one). */
export const DROP_REASONS = ["no_pong", "not_reading"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What the server reports at scrape time. */
export interface MetricsSources {
  /** Open WebSocket connections on the stream endpoint. */
  connections(): number;
  /** Sessions with a connection (streaming, or finishing after close_stream). */
  activeStreams(): number;
  /** Sessions whose connection dropped, waiting for a resume. */
  waitingSessions(): number;
  /** Those of them that still hold their engine stream (decoder). */
  waitingDecoders(): number;
  /** Sessions holding an engine stream, connected or waiting: what `maxStreams` bounds. */
  heldStreams(): number;
  /** Connections that have not sent a valid `config` or `resume` yet. */
  unconfiguredConnections(): number;
  /** The stream limit in force (Infinity: none). */
  maxStreams(): number;
  /**
   * The engine's utilization (undefined when it cannot tell), the server's (engine demand plus the
   * main thread, of all cores: what admission reads), the main thread's, and the largest backlog.
   */
  load(): {
    readonly engineUtilization: number | undefined;
    readonly utilization: number;
    readonly mainThreadUtilization: number;
    readonly maxBacklogMs: number;
  };
}

export interface MetricsOptions {
  /** Append the process metrics (CPU, memory, event loop, GC) to each scrape. */
  readonly processMetrics: boolean;
  /** The engine has `loadSnapshot()`: export its utilization. */
  readonly engineReportsLoad: boolean;
}

/** Latencies a user waits for: up to 10 s. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

let processRegistry: Registry | undefined;

/** The process metrics, collected once per process however many servers it runs. */
function sharedProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class ServerMetrics {
  readonly #registry = new Registry();
  readonly #includeProcess: boolean;
  #audioSamples = 0;
  #engineAudioMs = 0;
  #engineProcessingMs = 0;
  #partialsCoalesced = 0;
  #forcedFinals = 0;
  #outboundWaitingBytes = 0;
  readonly #errors: Counter<"code">;
  readonly #refused: Counter<"reason">;
  readonly #resumes: Counter<"result">;
  readonly #decodersReleased: Counter<"reason">;
  readonly #dropped: Counter<"reason">;
  readonly #finalLatency: Histogram;
  readonly #firstPartialLatency: Histogram;

  constructor(sources: MetricsSources, options: MetricsOptions) {
    this.#includeProcess = options.processMetrics;
    if (this.#includeProcess) sharedProcessRegistry(); // start measuring the event loop now
    const registers = [this.#registry];
    const totals = this;
    new Gauge({
      name: "earshot_websocket_connections",
      help: "Open WebSocket connections on the stream endpoint.",
      registers,
      collect() {
        this.set(sources.connections());
      },
    });
    new Gauge({
      name: "earshot_active_streams",
      help: "Streams with a connection: streaming, or sending their last finals after close_stream.",
      registers,
      collect() {
        this.set(sources.activeStreams());
      },
    });
    new Gauge({
      name: "earshot_sessions_waiting_for_resume",
      help: "Sessions whose connection dropped, kept for a resume (with or without their engine stream).",
      registers,
      collect() {
        this.set(sources.waitingSessions());
      },
    });
    new Gauge({
      name: "earshot_waiting_decoders",
      help: "Sessions waiting for a resume that still hold their engine stream (decoder).",
      registers,
      collect() {
        this.set(sources.waitingDecoders());
      },
    });
    new Gauge({
      name: "earshot_held_streams",
      help: "Sessions holding an engine stream (decoder), connected or waiting: what max_streams bounds.",
      registers,
      collect() {
        this.set(sources.heldStreams());
      },
    });
    new Gauge({
      name: "earshot_max_streams",
      help: "The stream limit in force (--max-streams, or derived from memory); -1 for none.",
      registers,
      collect() {
        const max = sources.maxStreams();
        this.set(Number.isFinite(max) ? max : -1);
      },
    });
    new Gauge({
      name: "earshot_unconfigured_connections",
      help: "Connections that have not sent a valid config or resume yet (closed with config_timeout after a few seconds).",
      registers,
      collect() {
        this.set(sources.unconfiguredConnections());
      },
    });
    new Counter({
      name: "earshot_audio_received_seconds_total",
      help: "Audio received from clients, after overlap removal.",
      registers,
      collect() {
        this.reset();
        this.inc(totals.#audioSamples / SAMPLE_RATE);
      },
    });
    new Counter({
      name: "earshot_engine_audio_seconds_total",
      help: "Audio the engine reports it decoded (usage events, sent when a stream ends).",
      registers,
      collect() {
        this.reset();
        this.inc(totals.#engineAudioMs / 1000);
      },
    });
    new Counter({
      name: "earshot_engine_processing_seconds_total",
      help: "Decoding time the engine reports for that audio (usage events).",
      registers,
      collect() {
        this.reset();
        this.inc(totals.#engineProcessingMs / 1000);
      },
    });
    if (options.engineReportsLoad) {
      new Gauge({
        name: "earshot_engine_utilization_ratio",
        help: "Fraction (0..1) of the engine's decoding capacity busy over the last few seconds.",
        registers,
        collect() {
          this.set(sources.load().engineUtilization ?? 0);
        },
      });
    }
    new Gauge({
      name: "earshot_server_utilization_ratio",
      help: "Fraction (0..1) of the machine's cores the server needs: engine demand plus the main thread (admission reads it).",
      registers,
      collect() {
        this.set(sources.load().utilization);
      },
    });
    new Gauge({
      name: "earshot_main_thread_utilization_ratio",
      help: "Event loop utilization (0..1) of the server's main thread over the last 5 s.",
      registers,
      collect() {
        this.set(sources.load().mainThreadUtilization);
      },
    });
    new Gauge({
      name: "earshot_engine_backlog_max_seconds",
      help: "The largest backlog of any stream: audio received but not decoded yet.",
      registers,
      collect() {
        this.set(sources.load().maxBacklogMs / 1000);
      },
    });
    this.#finalLatency = new Histogram({
      name: "earshot_final_latency_seconds",
      help: "From the arrival of the audio at a final's end_ms to the final being sent.",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#firstPartialLatency = new Histogram({
      name: "earshot_first_partial_latency_seconds",
      help: "From the arrival of the audio at an utterance's start_ms to its first partial being sent.",
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#errors = new Counter({
      name: "earshot_errors_total",
      help: "Error messages sent on streams, by code.",
      labelNames: ["code"],
      registers,
    });
    for (const code of Object.keys(ERRORS)) this.#errors.inc({ code }, 0);
    this.#refused = new Counter({
      name: "earshot_connections_refused_total",
      help: "WebSocket upgrades refused, by reason (max_streams, utilization and backlog answer over_capacity).",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.#refused.inc({ reason }, 0);
    this.#resumes = new Counter({
      name: "earshot_resumes_total",
      help: "resume requests: `resumed` took a session over, `not_found` had none (the client starts a new one).",
      labelNames: ["result"],
      registers,
    });
    for (const result of ["resumed", "not_found"]) this.#resumes.inc({ result }, 0);
    this.#decodersReleased = new Counter({
      name: "earshot_decoders_released_total",
      help: "Waiting sessions that gave their engine stream back, by reason: hold_expired, key_budget, node_budget.",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of RELEASE_REASONS) this.#decodersReleased.inc({ reason }, 0);
    new Counter({
      name: "earshot_partials_coalesced_total",
      help: "Partials not sent to a client that read slowly: a newer partial or the segment's final replaced them.",
      registers,
      collect() {
        this.reset();
        this.inc(totals.#partialsCoalesced);
      },
    });
    new Counter({
      name: "earshot_forced_finals_total",
      help: "Finals forced because an utterance reached the maximum utterance length (speech_final: false).",
      registers,
      collect() {
        this.reset();
        this.inc(totals.#forcedFinals);
      },
    });
    new Gauge({
      name: "earshot_outbound_waiting_bytes",
      help: "Messages waiting in the server for clients that read slowly (beyond what their sockets hold).",
      registers,
      collect() {
        this.set(totals.#outboundWaitingBytes);
      },
    });
    this.#dropped = new Counter({
      name: "earshot_peers_dropped_total",
      help: "Connections cut by the liveness checks: no_pong (pings unanswered), not_reading (our bytes not taken).",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of DROP_REASONS) this.#dropped.inc({ reason }, 0);
  }

  decoderReleased(reason: ReleaseReason): void {
    this.#decodersReleased.inc({ reason });
  }

  audioReceived(samples: number): void {
    this.#audioSamples += samples;
  }

  engineUsage(audioMs: number, processingMs: number): void {
    this.#engineAudioMs += audioMs;
    this.#engineProcessingMs += processingMs;
  }

  finalLatency(seconds: number): void {
    this.#finalLatency.observe(seconds);
  }

  firstPartialLatency(seconds: number): void {
    this.#firstPartialLatency.observe(seconds);
  }

  error(code: ErrorCode): void {
    this.#errors.inc({ code });
  }

  partialCoalesced(): void {
    this.#partialsCoalesced += 1;
  }

  forcedFinal(): void {
    this.#forcedFinals += 1;
  }

  outboundWaiting(deltaBytes: number): void {
    this.#outboundWaitingBytes += deltaBytes;
  }

  peerDropped(reason: DropReason): void {
    this.#dropped.inc({ reason });
  }

  refused(reason: RefusalReason): void {
    this.#refused.inc({ reason });
  }

  resume(result: "resumed" | "not_found"): void {
    this.#resumes.inc({ result });
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The exposition text: this server's metrics, then the process metrics. */
  async scrape(): Promise<string> {
    const own = await this.#registry.metrics();
    return this.#includeProcess ? own + (await sharedProcessRegistry().metrics()) : own;
  }
}
