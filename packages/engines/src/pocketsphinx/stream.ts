/**
 * An `EngineStream` whose decoding happens on a `DecodingWorker`. Audio is copied once (the caller
 * keeps its buffer) and the copy is transferred, not cloned, to the worker.
 */

import { type EngineEvent, type EngineStream, EngineUnavailableError } from "../contract.js";
import { EventChannel } from "../event-channel.js";
import type { DecodingWorker } from "./decoding-worker.js";
import type { WireEvent } from "./messages.js";

export class PocketSphinxStream implements EngineStream {
  readonly id: number;
  readonly #worker: DecodingWorker;
  readonly #events = new EventChannel<EngineEvent>();
  /** open → ending (after `end()`) → done (ended, failed or closed). */
  #state: "open" | "ending" | "done" = "open";
  #endWaiters: Array<() => void> = [];

  constructor(worker: DecodingWorker, id: number) {
    this.#worker = worker;
    this.id = id;
  }

  push(pcm: Int16Array): void {
    if (this.#state !== "open" || pcm.length === 0) return;
    const copy = pcm.slice();
    this.#worker.post({ type: "push", streamId: this.id, pcm: copy.buffer }, [copy.buffer]);
  }

  flush(): void {
    if (this.#state === "open") this.#worker.post({ type: "flush", streamId: this.id });
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

  /** An event from the worker. */
  receive(event: WireEvent): void {
    if (this.#state === "done") return;
    if (event.type === "error") this.fail(new EngineUnavailableError(event.message));
    else this.#events.push(event);
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
