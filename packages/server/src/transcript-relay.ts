/**
 * One engine stream's events → messages for the session's connection: transcripts (numbered, and
 * kept for resumes, by the session's `TranscriptSegments`), a forced final when an utterance passes
 * `maxUtteranceMs`, and the latency and usage metrics. A relay lives as long as one engine stream,
 * from its opening (it records when the audio arrived) to its release; the segments outlive it.
 */
import { performance } from "node:perf_hooks";
import type { EngineEvent } from "@earshot/engines";
import { msToSamples, type ServerMessage, type TranscriptMessage } from "@earshot/protocol";
import type { Logger } from "pino";
import { ArrivalTimes } from "./arrival-times.js";
import type { SessionMetrics } from "./session-types.js";
import type { TranscriptSegments } from "./transcript-segments.js";

export interface RelayOutput {
  /** To the connection, if there is one; whether it went out. */
  send(message: ServerMessage): boolean;
  /** End the utterance in progress now (flush the engine stream). */
  flushEngine(): void;
  /** A final was made (sent or not). */
  finalMade(final: TranscriptMessage): void;
  /** The engine stream failed. */
  engineFailed(error: Error): void;
  /** The stream can be continued from here (after the finals made so far). */
  checkpoint(atSample: number, state: unknown): void;
}

export interface RelayOptions {
  readonly maxUtteranceMs: number;
  readonly metrics: SessionMetrics;
  readonly log: Logger;
}

export class TranscriptRelay {
  readonly #segments: TranscriptSegments;
  readonly #options: RelayOptions;
  readonly #output: RelayOutput;
  /** When the audio arrived, for the latency metrics. */
  readonly #arrivals: ArrivalTimes;
  readonly #startSample: number;
  /** Usage the engine reported so far (its events carry totals). */
  #usage = { audioMs: 0, processingMs: 0 };
  /** `start_ms` of the utterance in progress (its first partial); undefined between utterances. */
  #utteranceStartMs: number | undefined;
  /** The utterance reached maxUtteranceMs and the engine was flushed; its final has not come yet. */
  #cutPending = false;

  /** `startSample`: where the engine stream starts in the session's stream. */
  constructor(segments: TranscriptSegments, startSample: number, options: RelayOptions, output: RelayOutput) {
    this.#segments = segments;
    this.#startSample = startSample;
    this.#options = options;
    this.#output = output;
    this.#arrivals = new ArrivalTimes(startSample);
  }

  /** An utterance is in progress: a partial came since the last final. */
  get inUtterance(): boolean {
    return this.#utteranceStartMs !== undefined;
  }

  /** The audio up to stream position `position` arrived just now. */
  arrived(position: number): void {
    this.#arrivals.record(position, performance.now());
  }

  relay(event: EngineEvent): void {
    const segments = this.#segments;
    switch (event.type) {
      case "partial": {
        this.#cutIfTooLong(event.startMs, event.endMs);
        const partial = segments.partial(event);
        if (partial && this.#output.send(partial.message) && partial.first) this.#observeLatency(event.startMs, false);
        return;
      }
      case "final": {
        this.#utteranceStartMs = undefined;
        this.#cutPending = false;
        const { made, send } = segments.final(event);
        if (made) this.#output.finalMade(made);
        // A final held back for redaction goes out with a later event, or from the session's tick.
        for (const message of send) {
          const sent = this.#output.send(message);
          if (sent && message.type === "transcript") this.#observeLatency(message.end_ms, true);
        }
        return;
      }
      case "endpoint":
        for (const message of segments.endpoint(event.atMs)) this.#output.send(message);
        return;
      case "usage":
        this.#options.metrics.engineUsage(
          Math.max(0, event.audioMs - this.#usage.audioMs),
          Math.max(0, event.processingMs - this.#usage.processingMs),
        );
        this.#usage = { audioMs: event.audioMs, processingMs: event.processingMs };
        return;
      case "checkpoint":
        this.#output.checkpoint(event.atSample, event.state);
        return;
      case "error":
        this.#output.engineFailed(event.error);
        return;
    }
  }

  /**
   * Ends an utterance that reached maxUtteranceMs (bounding partials and the decoder's work per
   * utterance). The flush lands where the audio pushed so far ends: when the engine is behind (a
   * file sent faster than real time), the forced final is longer by up to that backlog.
   */
  #cutIfTooLong(startMs: number, endMs: number): void {
    this.#utteranceStartMs ??= startMs;
    if (this.#cutPending || endMs - this.#utteranceStartMs < this.#options.maxUtteranceMs) return;
    this.#cutPending = true;
    this.#options.metrics.forcedFinal();
    this.#options.log.debug({ startMs: this.#utteranceStartMs, endMs }, "utterance too long; forcing a final");
    this.#output.flushEngine();
  }

  /**
   * A transcript just sent: how long after the audio at `atMs` arrived (`end_ms` of a final,
   * `start_ms` of an utterance's first partial). For a final, the audio up to its end: the last
   * sample before `end_ms`.
   */
  #observeLatency(atMs: number, final: boolean): void {
    const position = msToSamples(atMs) - (final ? 1 : 0);
    const arrived = this.#arrivals.arrivalOf(Math.max(position, this.#startSample));
    if (arrived === undefined) return;
    const seconds = Math.max(0, performance.now() - arrived) / 1000;
    if (final) this.#options.metrics.finalLatency(seconds);
    else this.#options.metrics.firstPartialLatency(seconds);
  }
}
