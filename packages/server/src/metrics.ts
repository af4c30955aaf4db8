/**
 * Prometheus metrics (`GET /metrics`): what the server records as it runs. Each server has its own
 * registry, so servers in one process (tests) do not share counts; the process metrics
 * (`process-metrics.ts`) are appended to each scrape, and the gauges of the server's state
 * (`source-gauges.ts`) are read from it when scraped.
 *
 * The audio path only adds to plain numbers (no labels, no allocation per frame); counters and
 * gauges read them when scraped.
 */
import { ERRORS, type ErrorCode, SAMPLE_RATE } from "@earshot/protocol";
import { type Counter, Histogram, Registry } from "prom-client";
import { labelledCounter, scrapedCounter, scrapedGauge } from "./metric-kinds.js";
import { sharedProcessRegistry } from "./process-metrics.js";
import type { ReleaseReason } from "./session-states.js";
import { defineDecoderPoolGauges, defineLoadGauges, defineStreamGauges, type MetricsSources } from "./source-gauges.js";

const RELEASE_REASONS: readonly ReleaseReason[] = ["hold_expired", "key_budget", "node_budget"];

/** Why an upgrade was refused: the error code, or for `over_capacity` the rule that refused it. */
export const REFUSAL_REASONS = [
  "unauthorized",
  "invalid_token",
  "invalid_signature",
  "not_found",
  "bad_request",
  "too_many_streams",
  "max_streams",
  "utilization",
  "backlog",
  "draining",
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Why the server dropped a peer (without an error message: it would not read one). */
export const DROP_REASONS = ["no_pong", "not_reading"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface MetricsOptions {
  /** Append the process metrics (CPU, memory, event loop, GC) to each scrape. */
  readonly processMetrics: boolean;
  /** The engine has `loadSnapshot()`: export its utilization. */
  readonly engineReportsLoad: boolean;
  /** The engine reports decoder pools (`EngineLoad.decoders`): export them. */
  readonly engineLendsDecoders?: boolean;
}

/** Latencies a user waits for: up to 10 s. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

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
    const registry = this.#registry;
    defineStreamGauges(registry, sources);
    scrapedCounter(
      registry,
      "earshot_audio_received_seconds_total",
      "Audio received from clients, after overlap removal.",
      () => this.#audioSamples / SAMPLE_RATE,
    );
    scrapedCounter(
      registry,
      "earshot_engine_audio_seconds_total",
      "Audio the engine reports it decoded (usage events, sent when a stream ends).",
      () => this.#engineAudioMs / 1000,
    );
    scrapedCounter(
      registry,
      "earshot_engine_processing_seconds_total",
      "Decoding time the engine reports for that audio (usage events).",
      () => this.#engineProcessingMs / 1000,
    );
    // One scrape reads the load once, not once per gauge: it asks every decoding process.
    const scraped = { ...sources, load: onePerScrape(sources.load) };
    defineLoadGauges(registry, scraped, options.engineReportsLoad);
    if (options.engineLendsDecoders) defineDecoderPoolGauges(registry, scraped);
    this.#finalLatency = new Histogram({
      name: "earshot_final_latency_seconds",
      help: "From the arrival of the audio at a final's end_ms to the final being sent.",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.#firstPartialLatency = new Histogram({
      name: "earshot_first_partial_latency_seconds",
      help: "From the arrival of the audio at an utterance's start_ms to its first partial being sent.",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.#errors = labelledCounter(
      registry,
      "earshot_errors_total",
      "Error messages sent on streams, by code.",
      "code",
      Object.keys(ERRORS),
    );
    this.#refused = labelledCounter(
      registry,
      "earshot_connections_refused_total",
      "WebSocket upgrades refused, by reason (max_streams, utilization and backlog answer over_capacity).",
      "reason",
      REFUSAL_REASONS,
    );
    this.#resumes = labelledCounter(
      registry,
      "earshot_resumes_total",
      "resume requests: `resumed` took a session over, `not_found` had none (the client starts a new one).",
      "result",
      ["resumed", "not_found"],
    );
    this.#decodersReleased = labelledCounter(
      registry,
      "earshot_decoders_released_total",
      "Waiting sessions that gave their engine stream back, by reason: hold_expired, key_budget, node_budget.",
      "reason",
      RELEASE_REASONS,
    );
    scrapedCounter(
      registry,
      "earshot_partials_coalesced_total",
      "Partials not sent to a client that read slowly: a newer partial or the segment's final replaced them.",
      () => this.#partialsCoalesced,
    );
    scrapedCounter(
      registry,
      "earshot_forced_finals_total",
      "Finals forced because an utterance reached the maximum utterance length (speech_final: false).",
      () => this.#forcedFinals,
    );
    scrapedGauge(
      registry,
      "earshot_outbound_waiting_bytes",
      "Messages waiting in the server for clients that read slowly (beyond what their sockets hold).",
      () => this.#outboundWaitingBytes,
    );
    this.#dropped = labelledCounter(
      registry,
      "earshot_peers_dropped_total",
      "Connections cut by the liveness checks: no_pong (pings unanswered), not_reading (our bytes not taken).",
      "reason",
      DROP_REASONS,
    );
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

  /** The server's own registry, where other surfaces (Twilio, calls) define their metrics. */
  get registry(): Registry {
    return this.#registry;
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

/**
 * `read`, once per scrape: prom-client calls every metric's `collect` in one synchronous pass, so a
 * reading kept until the next microtask is shared by the gauges of that scrape and no other.
 */
function onePerScrape<T>(read: () => T): () => T {
  let kept: { value: T } | undefined;
  return () => {
    if (kept === undefined) {
      kept = { value: read() };
      queueMicrotask(() => {
        kept = undefined;
      });
    }
    return kept.value;
  };
}
