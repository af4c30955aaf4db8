/**
 * When a stream's audio arrived, for latency metrics: a bounded ring of (stream position after a
 * chunk → wall time it was received). Recording is two typed-array writes, no allocation; chunks
 * received within `MERGE_MS` of each other share one entry, so a burst costs one slot.
 */

const DEFAULT_CAPACITY = 1024;
/** Chunks this close in time count as one arrival (a burst read in one event-loop turn). */
const MERGE_MS = 5;

export class ArrivalTimes {
  readonly #ends: Float64Array;
  readonly #times: Float64Array;
  /** Index of the newest entry; entries are in increasing position order, oldest at `#newest + 1`. */
  #newest = -1;
  #count = 0;
  /** Samples before this position are unknown: before the stream, or evicted from the ring. */
  #floor: number;

  constructor(startPosition: number, capacity = DEFAULT_CAPACITY) {
    this.#ends = new Float64Array(capacity);
    this.#times = new Float64Array(capacity);
    this.#floor = startPosition;
  }

  /** The audio up to stream position `end` (exclusive) has arrived, at `atMs` (`performance.now()`). */
  record(end: number, atMs: number): void {
    const newest = this.#newest;
    if (newest >= 0 && atMs - (this.#times[newest] ?? 0) < MERGE_MS) {
      this.#ends[newest] = end;
      return;
    }
    const capacity = this.#ends.length;
    const slot = (newest + 1) % capacity;
    if (this.#count === capacity) this.#floor = this.#ends[slot] ?? this.#floor;
    else this.#count += 1;
    this.#ends[slot] = end;
    this.#times[slot] = atMs;
    this.#newest = slot;
  }

  /**
   * When the sample at stream position `position` arrived; undefined when it is older than what is
   * kept. A position past the newest audio (an engine rounding up) gets the newest arrival.
   */
  arrivalOf(position: number): number | undefined {
    if (this.#count === 0 || position < this.#floor) return undefined;
    const capacity = this.#ends.length;
    // Latency lookups are for recent audio: scan from the newest entry back.
    let found = this.#newest;
    for (let i = 1; i < this.#count; i++) {
      const previous = (this.#newest - i + capacity) % capacity;
      if ((this.#ends[previous] ?? 0) <= position) break;
      found = previous;
    }
    return this.#times[found];
  }
}
