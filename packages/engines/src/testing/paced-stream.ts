/**
 * Makes an engine stream slow on purpose: audio waits in a queue and is decoded at `speed` times
 * real time, so tests can see a server hold back a client when its engine falls behind.
 */
import { SAMPLES_PER_MS } from "@earshot/protocol";
import type { EngineEvent, EngineStream } from "../contract.js";

const TICK_MS = 20;

export class PacedStream implements EngineStream {
  readonly #inner: EngineStream;
  readonly #samplesPerTick: number;
  readonly #onBacklog: (backlogMs: number) => void;
  readonly #queue: (Int16Array | { readonly flush: { readonly atMs: number } | undefined })[] = [];
  #queuedSamples = 0;
  #timer: NodeJS.Timeout | undefined;
  #drainWaiters: Array<() => void> = [];

  constructor(inner: EngineStream, speed: number, onBacklog: (backlogMs: number) => void) {
    this.#inner = inner;
    this.#samplesPerTick = Math.round(TICK_MS * SAMPLES_PER_MS * speed);
    this.#onBacklog = onBacklog;
  }

  get backlogMs(): number {
    return this.#queuedSamples / SAMPLES_PER_MS;
  }

  push(pcm: Int16Array): void {
    this.#queue.push(pcm.slice());
    this.#queuedSamples += pcm.length;
    this.#onBacklog(this.backlogMs);
    this.#schedule();
  }

  flush(pause?: { readonly atMs: number }): void {
    this.#queue.push({ flush: pause });
    this.#schedule();
  }

  async end(): Promise<void> {
    if (this.#queue.length > 0) await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    await this.#inner.end();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
    this.#queuedSamples = 0;
    this.#inner.close();
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    return this.#inner[Symbol.asyncIterator]();
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.#tick(), TICK_MS);
  }

  #tick(): void {
    this.#timer = undefined;
    let budget = this.#samplesPerTick;
    while (budget > 0 && this.#queue.length > 0) {
      const head = this.#queue[0];
      if (head === undefined) break;
      if (!(head instanceof Int16Array)) {
        this.#queue.shift();
        this.#inner.flush(head.flush);
        continue;
      }
      const take = Math.min(budget, head.length);
      this.#inner.push(head.subarray(0, take));
      budget -= take;
      this.#queuedSamples -= take;
      if (take === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(take);
    }
    if (this.#queue.length > 0) this.#schedule();
    else for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }
}
