/**
 * How long a peer has left our pings unanswered, counting only the time we were reading its socket:
 * while reading is paused (the engine is behind) its pongs wait unread behind its audio, so that
 * time says nothing about the peer. Resuming does not restart the count, so a peer that keeps the
 * server paused (a fast sender) cannot earn a fresh liveness window with every pause.
 */
export class LivenessClock {
  /** Unanswered reading time before the current reading stretch. */
  #countedMs = 0;
  /** When the current reading stretch began; undefined while paused. */
  #readingSince: number | undefined;

  constructor(now: number) {
    this.#readingSince = now;
  }

  /** A pong came. */
  answered(now: number): void {
    this.#countedMs = 0;
    if (this.#readingSince !== undefined) this.#readingSince = now;
  }

  pause(now: number): void {
    if (this.#readingSince === undefined) return;
    this.#countedMs += now - this.#readingSince;
    this.#readingSince = undefined;
  }

  resume(now: number): void {
    this.#readingSince ??= now;
  }

  /** Reading time since the last pong. */
  unansweredMs(now: number): number {
    return this.#countedMs + (this.#readingSince === undefined ? 0 : now - this.#readingSince);
  }
}
