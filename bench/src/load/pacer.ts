/**
 * One timer for every stream: each tick sends every frame that is due, then sleeps until the
 * earliest next one. A timer per stream would cost a thousand timers; one shared loop costs a
 * comparison per stream per tick.
 */
import type { LoadStream } from "./load-stream.js";

export class Pacer {
  readonly #streams: readonly LoadStream[];
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(streams: readonly LoadStream[]) {
    this.#streams = streams;
  }

  start(): void {
    this.#running = true;
    this.#tick();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  #tick = (): void => {
    if (!this.#running) return;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const stream of this.#streams) next = Math.min(next, stream.pump(now));
    if (next === Number.POSITIVE_INFINITY) return;
    this.#timer = setTimeout(this.#tick, Math.max(0, next - performance.now()));
  };
}
