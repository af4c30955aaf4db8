/**
 * The caller's side of an `EngineStream` decoded elsewhere (a worker thread, a child process):
 * audio goes out through a transport, events come back and are moved by the stream's start
 * position (the decoder counts time from the first sample it gets), and `end()` resolves once the
 * far side has sent the stream's last event or the stream failed.
 */
import { SAMPLES_PER_MS } from "@earshot/protocol";
import type { EngineEvent, EngineStream } from "./contract.js";
import { EventChannel } from "./event-channel.js";

/** What the far side is sent for one stream. */
export interface StreamTransport {
  /** The stream's next audio; the caller may reuse `pcm` afterwards. */
  push(pcm: Int16Array): void;
  /** `pauseAtMs` is on the decoder's clock (from the stream's first sample). */
  flush(pauseAtMs: number | undefined): void;
  end(): void;
  close(): void;
}

/** An event as the far side sends it: times from the stream's first pushed sample. */
export type DecodedEvent = Exclude<EngineEvent, { readonly type: "error" }>;

export class RemoteStream implements EngineStream {
  readonly id: number;
  readonly #transport: StreamTransport;
  readonly #events = new EventChannel<EngineEvent>();
  /** open → ending (after `end()`) → done (ended, failed or closed). */
  #state: "open" | "ending" | "done" = "open";
  #endWaiters: Array<() => void> = [];
  readonly #offsetMs: number;
  #pendingSamples = 0;

  constructor(transport: StreamTransport, id: number, startSample: number) {
    this.#transport = transport;
    this.id = id;
    this.#offsetMs = Math.round(startSample / SAMPLES_PER_MS);
  }

  get backlogMs(): number {
    return this.#pendingSamples / SAMPLES_PER_MS;
  }

  push(pcm: Int16Array): void {
    if (this.#state !== "open" || pcm.length === 0) return;
    this.#pendingSamples += pcm.length;
    this.#transport.push(pcm);
  }

  flush(pause?: { readonly atMs: number }): void {
    if (this.#state !== "open") return;
    this.#transport.flush(pause === undefined ? undefined : pause.atMs - this.#offsetMs);
  }

  end(): Promise<void> {
    if (this.#state === "done") return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#endWaiters.push(resolve));
    if (this.#state === "open") {
      this.#state = "ending";
      this.#transport.end();
    }
    return done;
  }

  close(): void {
    if (this.#state === "done") return;
    this.#transport.close();
    this.#events.clear();
    this.#finish();
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  /** The far side decoded `samples` of the pushed audio. */
  consumed(samples: number): void {
    this.#pendingSamples = Math.max(0, this.#pendingSamples - samples);
  }

  /** An event of this stream from the far side. */
  receive(event: DecodedEvent): void {
    if (this.#state === "done") return;
    this.#events.push(this.#offset(event));
  }

  /** The far side has sent every event of this stream. */
  ended(): void {
    this.#events.end();
    this.#finish();
  }

  /** The far side or its decoder failed: one error event, then nothing. */
  fail(error: Error): void {
    if (this.#state === "done") return;
    this.#events.push({ type: "error", error });
    this.#events.end();
    this.#finish();
  }

  #offset(event: DecodedEvent): EngineEvent {
    return shiftEvent(event, this.#offsetMs);
  }

  #finish(): void {
    this.#state = "done";
    const waiters = this.#endWaiters;
    this.#endWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** `event` with its times moved by `shiftMs` (a stream that starts later than sample 0). */
export function shiftEvent(event: DecodedEvent, shiftMs: number): EngineEvent {
  if (shiftMs === 0) return event;
  switch (event.type) {
    case "partial":
    case "final":
      return {
        ...event,
        startMs: event.startMs + shiftMs,
        endMs: event.endMs + shiftMs,
        words: event.words.map((w) => ({ ...w, startMs: w.startMs + shiftMs, endMs: w.endMs + shiftMs })),
      };
    case "endpoint":
      return { ...event, atMs: event.atMs + shiftMs };
    case "usage":
    case "checkpoint":
      return event;
  }
}
