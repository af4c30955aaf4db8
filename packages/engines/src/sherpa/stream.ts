/**
 * An `EngineStream` decoded in a sherpa-onnx host process. Audio is sent as it comes (the IPC
 * channel serializes it at once, so the caller keeps its buffer); the host counts time from the
 * stream's first sample and this side adds the stream's start position.
 */

import type { EngineEvent, EngineStream } from "../contract.js";
import { EventChannel } from "../event-channel.js";
import type { WireEvent } from "./host-messages.js";
import type { HostProcess } from "./host-process.js";

const SAMPLES_PER_MS = 16;

export class SherpaStream implements EngineStream {
  readonly id: number;
  readonly #host: HostProcess;
  readonly #events = new EventChannel<EngineEvent>();
  /** open → ending (after `end()`) → done (ended, failed or closed). */
  #state: "open" | "ending" | "done" = "open";
  #endWaiters: Array<() => void> = [];
  readonly #offsetMs: number;
  #pendingSamples = 0;

  constructor(host: HostProcess, id: number, startSample: number) {
    this.#host = host;
    this.id = id;
    this.#offsetMs = Math.round(startSample / SAMPLES_PER_MS);
  }

  get backlogMs(): number {
    return this.#pendingSamples / SAMPLES_PER_MS;
  }

  push(pcm: Int16Array): void {
    if (this.#state !== "open" || pcm.length === 0) return;
    this.#pendingSamples += pcm.length;
    // Structured clone sends a view's whole backing buffer (often a pooled 8 KB or a whole frame).
    const whole = pcm.byteOffset === 0 && pcm.byteLength === pcm.buffer.byteLength;
    this.#host.post({ type: "push", streamId: this.id, pcm: whole ? pcm : pcm.slice() });
  }

  flush(pause?: { readonly atMs: number }): void {
    if (this.#state !== "open") return;
    const pauseAtMs = pause === undefined ? undefined : pause.atMs - this.#offsetMs;
    this.#host.post({ type: "flush", streamId: this.id, ...(pauseAtMs === undefined ? {} : { pauseAtMs }) });
  }

  end(): Promise<void> {
    if (this.#state === "done") return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#endWaiters.push(resolve));
    if (this.#state === "open") {
      this.#state = "ending";
      this.#host.post({ type: "end", streamId: this.id });
    }
    return done;
  }

  close(): void {
    if (this.#state === "done") return;
    this.#host.post({ type: "close", streamId: this.id });
    this.#host.detach(this.id);
    this.#events.clear();
    this.#finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  /** The host decoded what it could of `samples` pushed samples. */
  consumed(samples: number): void {
    this.#pendingSamples = Math.max(0, this.#pendingSamples - samples);
  }

  receive(event: WireEvent): void {
    if (this.#state === "done") return;
    this.#events.push(this.#offset(event));
  }

  #offset(event: WireEvent): EngineEvent {
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

  /** The host has sent every event of this stream. */
  ended(): void {
    this.#events.end();
    this.#finish();
  }

  /** The host died or the engine closed: one error event, then nothing. */
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
