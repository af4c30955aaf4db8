/**
 * Whether a peer is still there, checked every `pingIntervalMs`: it is dropped when no pong came for
 * `livenessTimeoutMs` of the time its socket was read (`LivenessClock`), or when it took none of our
 * bytes for that long; otherwise it is pinged.
 */
import { LivenessClock } from "./liveness-clock.js";
import type { DropReason } from "./metrics.js";

export interface LivenessTiming {
  /**
   * Ping the peer this often; drop it when no pong came for `livenessTimeoutMs` of the time its
   * socket was read, or when it took none of our bytes for that long.
   */
  readonly pingIntervalMs: number;
  readonly livenessTimeoutMs: number;
}

/** What the checks need of the connection they watch. */
export interface WatchedPeer {
  /** How long (ms) the peer has taken none of our bytes. */
  stalledMs(now: number): number;
  ping(): void;
  /** The peer is gone: cut it (no error message: it would not read one). */
  drop(reason: DropReason): void;
}

export class PeerLiveness {
  readonly #timing: LivenessTiming;
  readonly #peer: WatchedPeer;
  readonly #clock = new LivenessClock(Date.now());
  readonly #timer: NodeJS.Timeout;

  /** `guard`: runs each timed check, so that a bug in it is the connection's to handle. */
  constructor(timing: LivenessTiming, peer: WatchedPeer, guard: (check: () => void) => void) {
    this.#timing = timing;
    this.#peer = peer;
    this.#timer = setInterval(() => guard(() => this.check(Date.now())), timing.pingIntervalMs);
    this.#timer.unref();
  }

  /** A pong came. */
  answered(): void {
    this.#clock.answered(Date.now());
  }

  /** Reading the socket stopped (the engine is behind) or started again. */
  pause(paused: boolean): void {
    if (paused) this.#clock.pause(Date.now());
    else this.#clock.resume(Date.now());
  }

  /**
   * Pings go out while reading is paused too (only the reading time counts toward their answer). A
   * peer that takes none of our bytes for `livenessTimeoutMs` is dropped even while paused: a fast
   * sender that never reads keeps the server paused, so its pongs would never be read.
   */
  check(now: number): void {
    const { livenessTimeoutMs } = this.#timing;
    if (this.#peer.stalledMs(now) > livenessTimeoutMs) this.#peer.drop("not_reading");
    else if (this.#clock.unansweredMs(now) > livenessTimeoutMs) this.#peer.drop("no_pong");
    else this.#peer.ping();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
