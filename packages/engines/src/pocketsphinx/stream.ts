/**
 * An `EngineStream` whose decoding happens on a `DecodingWorker`. Audio is copied once (the caller
 * keeps its buffer) and the copy is transferred, not cloned, to the worker. The worker counts time
 * from the first sample it decodes; this side adds the stream's start position.
 */

import { type EngineEvent, type EngineStream, EngineUnavailableError } from "../contract.js";
import { EventChannel } from "../event-channel.js";
import type { DecodingWorker } from "./decoding-worker.js";
import type { WireEvent } from "./messages.js";

const SAMPLES_PER_MS = 16;
/** Demand is measured over the decoding of the last few seconds. */
const DEMAND_WINDOW_MS = 5_000;

export class PocketSphinxStream implements EngineStream {
  readonly id: number;
  readonly #worker: DecodingWorker;
  readonly #events = new EventChannel<EngineEvent>();
  /** open → ending (after `end()`) → done (ended, failed or closed). */
  #state: "open" | "ending" | "done" = "open";
  #endWaiters: Array<() => void> = [];
  readonly #offsetMs: number;
  #pendingSamples = 0;
  /** Decoded pushes of the last `DEMAND_WINDOW_MS`: [when, samples, ms of decoding]. */
  readonly #decoded: Array<readonly [number, number, number]> = [];
  readonly #openedAt = performance.now();

  constructor(worker: DecodingWorker, id: number, startSample: number) {
    this.#worker = worker;
    this.id = id;
    this.#offsetMs = Math.round(startSample / SAMPLES_PER_MS);
  }

  get backlogMs(): number {
    return this.#pendingSamples / SAMPLES_PER_MS;
  }

  push(pcm: Int16Array): void {
    if (this.#state !== "open" || pcm.length === 0) return;
    this.#pendingSamples += pcm.length;
    const copy = pcm.slice();
    this.#worker.post({ type: "push", streamId: this.id, pcm: copy.buffer }, [copy.buffer]);
  }

  flush(pause?: { readonly atMs: number }): void {
    if (this.#state !== "open") return;
    const pauseAtMs = pause === undefined ? undefined : pause.atMs - this.#offsetMs;
    this.#worker.post({ type: "flush", streamId: this.id, ...(pauseAtMs === undefined ? {} : { pauseAtMs }) });
  }

  end(): Promise<void> {
    if (this.#state === "done") return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#endWaiters.push(resolve));
    if (this.#state === "open") {
      this.#state = "ending";
      this.#worker.post({ type: "end", streamId: this.id });
    }
    return done;
  }

  close(): void {
    if (this.#state === "done") return;
    this.#worker.post({ type: "close", streamId: this.id });
    this.#worker.detach(this.id);
    this.#events.clear();
    this.#finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  /** How long this stream has been open, ms. */
  get ageMs(): number {
    return performance.now() - this.#openedAt;
  }

  /** The worker decoded a push of `samples` in `busyMs`. */
  consumed(samples: number, busyMs: number): void {
    this.#pendingSamples = Math.max(0, this.#pendingSamples - samples);
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

  /** An event from the worker. */
  receive(event: WireEvent): void {
    if (this.#state === "done") return;
    if (event.type === "error") this.fail(new EngineUnavailableError(event.message));
    else this.#events.push(this.#offset(event));
  }

  #offset(event: Exclude<WireEvent, { readonly type: "error" }>): EngineEvent {
    const shift = this.#offsetMs;
    if (shift === 0) return event;
    switch (event.type) {
      case "partial":
      case "final":
        return {
          ...event,
          startMs: event.startMs + shift,
          endMs: event.endMs + shift,
          words: event.words.map((w) => ({ ...w, startMs: w.startMs + shift, endMs: w.endMs + shift })),
        };
      case "endpoint":
        return { ...event, atMs: event.atMs + shift };
      case "usage":
        return event;
    }
  }

  /** The worker has sent every event of this stream. */
  ended(): void {
    this.#events.end();
    this.#finish();
  }

  /** The worker or its decoder failed: one error event, then nothing. */
  fail(error: Error): void {
    if (this.#state === "done") return;
    this.#events.push({ type: "error", error });
    this.#events.end();
    this.#finish();
  }

  #finish(): void {
    this.#state = "done";
    const waiters = this.#endWaiters;
    this.#endWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
