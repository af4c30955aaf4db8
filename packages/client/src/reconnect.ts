/**
 * When to try again after a dropped connection: exponential backoff with full jitter (each wait is
 * uniform in 0..min(cap, base·2^attempt), so a fleet of clients cut by the same outage does not
 * come back in lockstep), with the attempt count reset once a connection has stayed up for
 * `minUptimeMs` (a flapping link keeps backing off; a link that failed once an hour does not).
 */
export interface ReconnectOptions {
  /** Upper bound of the first wait. Default 250. */
  readonly baseDelayMs?: number;
  /** Largest upper bound of a wait. Default 10 000. */
  readonly maxDelayMs?: number;
  /** Attempts after one drop before giving up (each failed attempt counts). Default Infinity. */
  readonly maxAttempts?: number;
  /** A connection up this long resets the attempt count. Default 5 000. */
  readonly minUptimeMs?: number;
}

export interface BackoffOptions extends ReconnectOptions {
  /** Uniform in [0, 1); injectable so tests are deterministic. Default Math.random. */
  readonly random?: () => number;
  /** Milliseconds clock. Default performance.now. */
  readonly now?: () => number;
}

export class Backoff {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
  readonly minUptimeMs: number;
  readonly #random: () => number;
  readonly #now: () => number;
  #attempt = 0;
  #upSince: number | undefined;

  constructor(options: BackoffOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.minUptimeMs = options.minUptimeMs ?? 5_000;
    if (!(this.baseDelayMs >= 0) || !(this.maxDelayMs >= this.baseDelayMs)) {
      throw new RangeError("reconnect needs 0 ≤ baseDelayMs ≤ maxDelayMs.");
    }
    if (!(this.maxAttempts >= 0) || !(this.minUptimeMs >= 0)) {
      throw new RangeError("reconnect needs maxAttempts ≥ 0 and minUptimeMs ≥ 0.");
    }
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Attempts made since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** A connection is up (session started or resumed). */
  connected(): void {
    this.#upSince = this.#now();
  }

  /** The connection dropped; resets the count if it had been up for `minUptimeMs`. */
  disconnected(): void {
    if (this.#upSince !== undefined && this.#now() - this.#upSince >= this.minUptimeMs) this.#attempt = 0;
    this.#upSince = undefined;
  }

  /**
   * Counts an attempt and returns it (1 for the first) with the wait before it, or undefined when
   * attempts are used up.
   */
  next(): { attempt: number; delayMs: number } | undefined {
    if (this.#attempt >= this.maxAttempts) return undefined;
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** this.#attempt);
    this.#attempt++;
    return { attempt: this.#attempt, delayMs: Math.floor(this.#random() * ceiling) };
  }
}
