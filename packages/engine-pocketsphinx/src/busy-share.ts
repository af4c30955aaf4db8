/**
 * How busy a decoding process has been over the last second, and whether small pushes should be
 * batched. Higher thresholds were faster at the median with few streams but lost p95 as streams
 * grew, from the CPU the small turns cost (docs/benchmarks.md, "Where the server's CPU goes").
 */

/** Busy share of the last second above which pushes are batched, and below which they no longer are. */
const BATCH_ON = 0.5;
const BATCH_OFF = 0.3;

export class BusyShare {
  /** Decoding time per 100 ms slot over the last second. */
  readonly #slots = new Float64Array(10);
  #slot = 0;
  #batching = false;

  /** Whether pushes are batched now (see `update`). */
  get batching(): boolean {
    return this.#batching;
  }

  /** `ms` of decoding just happened. */
  note(ms: number): void {
    const slot = Math.floor(performance.now() / 100);
    if (slot !== this.#slot) {
      for (let s = this.#slot + 1; s <= Math.min(slot, this.#slot + 10); s++) this.#slots[s % 10] = 0;
      this.#slot = slot;
    }
    this.#slots[slot % 10] = (this.#slots[slot % 10] ?? 0) + ms;
  }

  /** Turns batching on above BATCH_ON of the last second busy, off below BATCH_OFF. */
  update(): void {
    this.note(0);
    let busy = 0;
    for (const ms of this.#slots) busy += ms;
    const share = busy / 1000;
    if (share >= BATCH_ON) this.#batching = true;
    else if (share < BATCH_OFF) this.#batching = false;
  }
}
