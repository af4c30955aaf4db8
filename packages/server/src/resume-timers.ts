/**
 * The clocks of a session kept for a resume: the grace period after which it ends (its resume
 * token stops working), and the shorter hold time after which a waiting session gives its decoder
 * back. Their work runs guarded: a bug in it ends the session, never the process.
 */
import { performance } from "node:perf_hooks";
import type { Guard } from "./flow-control.js";

export interface ResumeTimes {
  readonly resumeGraceMs: number;
  readonly holdDecoderMs: number;
}

export class ResumeTimers {
  readonly #times: ResumeTimes;
  readonly #guard: Guard;
  #grace: NodeJS.Timeout | undefined;
  #hold: NodeJS.Timeout | undefined;
  #waitingSince = 0;

  constructor(times: ResumeTimes, guard: Guard) {
    this.#times = times;
    this.#guard = guard;
  }

  /** How long a session waits for a resume. */
  get graceMs(): number {
    return this.#times.resumeGraceMs;
  }

  /** When the connection dropped (`performance.now()`). */
  get waitingSince(): number {
    return this.#waitingSince;
  }

  /** The connection dropped just now. */
  markWaiting(): void {
    this.#waitingSince = performance.now();
  }

  /** `end` once the grace period is over, unless a resume comes first (`stop`). Starts the period over. */
  endAfterGrace(end: () => void): void {
    clearTimeout(this.#grace);
    this.#grace = setTimeout(
      () => this.#guard("ending a session after its grace period", end),
      this.#times.resumeGraceMs,
    );
    this.#grace.unref();
  }

  /** `release` once the hold time is over, unless a resume comes first (`stop`). */
  holdDecoder(release: () => void): void {
    clearTimeout(this.#hold);
    this.#hold = setTimeout(() => this.#guard("releasing the decoder", release), this.#times.holdDecoderMs);
    this.#hold.unref();
  }

  stopHold(): void {
    clearTimeout(this.#hold);
    this.#hold = undefined;
  }

  /** A resume came, or the session ended. */
  stop(): void {
    clearTimeout(this.#grace);
    this.#grace = undefined;
    this.stopHold();
  }
}
