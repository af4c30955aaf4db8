/**
 * One stream's link to a `DecodingProcess`: audio is serialized straight from the caller's view into
 * the IPC message (the caller keeps its buffer), and what the process sends back (events,
 * checkpoints, the end, its death) goes to a `LinkSink`, the `PocketSphinxEngineStream` that may
 * move the stream to another process. Times come back as the process counts them.
 */

import { RemoteStream, type StreamHost } from "@earshot/engines";
import { SAMPLES_PER_MS } from "@earshot/protocol";
import type { SessionCheckpoint, ToWorker, WireEvent } from "./messages.js";

/** Demand is measured over the decoding of the last few seconds. */
const DEMAND_WINDOW_MS = 5_000;

/** Where a link's replies go. */
export interface LinkSink {
  event(event: WireEvent): void;
  checkpoint(checkpoint: SessionCheckpoint): void;
  /** Every event of the stream has been sent (after `end`). */
  ended(): void;
  /** The process died or was stopped: the link is gone. */
  lost(error: Error): void;
}

export class PocketSphinxStream extends RemoteStream {
  /** Decoded pushes of the last `DEMAND_WINDOW_MS`: [when, samples, ms of decoding]. */
  readonly #decoded: Array<readonly [number, number, number]> = [];
  readonly #openedAt: number;
  readonly #sink: LinkSink;
  #speaking = false;

  /** `openedAt`: when the stream (not this link) opened, for its age. */
  constructor(host: StreamHost<ToWorker>, id: number, sink: LinkSink, openedAt = performance.now()) {
    const transport = host.streamTransport(id, (pcm) => host.post({ type: "push", streamId: id, pcm }));
    super(transport, id, 0);
    this.#sink = sink;
    this.#openedAt = openedAt;
  }

  /** Audio was sent since the last checkpoint: an utterance is open, holding or awaiting a decoder. */
  get speaking(): boolean {
    return this.#speaking;
  }

  override push(pcm: Int16Array): void {
    this.#speaking = true;
    super.push(pcm);
  }

  /** How long this stream has been open, ms. */
  get ageMs(): number {
    return performance.now() - this.#openedAt;
  }

  /** The process decoded a push of `samples` in `busyMs`. */
  override consumed(samples: number, busyMs = 0): void {
    super.consumed(samples);
    const now = performance.now();
    this.#decoded.push([now, samples, busyMs]);
    this.#prune(now);
  }

  /**
   * The share of one decoding thread this stream needs to keep up in real time: its decoding time
   * per second of wall time, but never more than its decoding time per second of audio. A live
   * stream needs what it uses; a file sent at full speed uses a whole thread but would need only its
   * real-time factor, and fair scheduling hands the rest to others, so it counts as that.
   */
  get demand(): number {
    const now = performance.now();
    this.#prune(now);
    let samples = 0;
    let busyMs = 0;
    for (const [, decodedSamples, ms] of this.#decoded) {
      samples += decodedSamples;
      busyMs += ms;
    }
    if (samples === 0) return 0;
    const wallMs = Math.max(1_000, Math.min(DEMAND_WINDOW_MS, now - this.#openedAt));
    return Math.min(busyMs / wallMs, busyMs / (samples / SAMPLES_PER_MS));
  }

  #prune(now: number): void {
    while (this.#decoded.length > 0 && (this.#decoded[0]?.[0] ?? now) < now - DEMAND_WINDOW_MS) this.#decoded.shift();
  }

  /** An event from the process (its decoder failures come as events too). */
  override receive(event: WireEvent): void {
    this.#sink.event(event);
  }

  checkpoint(checkpoint: SessionCheckpoint): void {
    this.#speaking = false;
    this.#sink.checkpoint(checkpoint);
  }

  override ended(): void {
    super.ended();
    this.#sink.ended();
  }

  override fail(error: Error): void {
    super.fail(error);
    this.#sink.lost(error);
  }
}
