/**
 * Audio held between arrival and a decision about it (forward to the decoder or drop), addressed
 * by stream sample. Chunks are kept as pushed (views, no copies) until taken or dropped.
 */
export class SampleQueue {
  readonly #chunks: Int16Array[] = [];
  /** Stream sample of the first held sample. */
  #start = 0;
  #length = 0;

  get start(): number {
    return this.#start;
  }

  /** Stream sample just after the last held sample. */
  get end(): number {
    return this.#start + this.#length;
  }

  push(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    this.#chunks.push(pcm);
    this.#length += pcm.length;
  }

  /** Remove and return the samples before stream sample `until` (as views where possible). */
  take(until: number): Int16Array[] {
    let count = Math.min(this.#length, Math.max(0, until - this.#start));
    const taken: Int16Array[] = [];
    this.#start += count;
    this.#length -= count;
    while (count > 0) {
      const head = this.#chunks[0];
      if (!head) break;
      if (head.length <= count) {
        taken.push(head);
        this.#chunks.shift();
        count -= head.length;
      } else {
        taken.push(head.subarray(0, count));
        this.#chunks[0] = head.subarray(count);
        count = 0;
      }
    }
    return taken;
  }

  /** Forget the samples before stream sample `before`. */
  drop(before: number): void {
    this.take(before);
  }
}
