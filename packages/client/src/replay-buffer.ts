/**
 * A bounded ring of PCM16 samples addressed by stream position (samples since the start of the
 * stream; with more than one channel, frames: one interleaved sample of each channel). It holds the audio a new connection may need again: what the server has not
 * acknowledged, and what follows the last final (a new server session restarts there). The client
 * `release()`s what no connection can need any more.
 *
 * When full, `append()` evicts the oldest samples and says which stream positions went: the caller
 * decides whether that is a loss (see AudioSender). Appended audio is copied: the caller may reuse
 * its memory as soon as `append()` returns.
 */
export interface EvictedRange {
  /** First evicted stream position. */
  readonly fromSample: number;
  /** One past the last evicted stream position (the buffer's new `startSample`). */
  readonly toSample: number;
}

export class ReplayBuffer {
  /** Capacity in stream positions (frames). */
  readonly capacitySamples: number;
  /** Samples a position holds: the channels, interleaved. */
  readonly channels: number;
  readonly #ring: Int16Array;
  /** Stream position of the oldest retained sample. */
  #start = 0;
  /** Stream position one past the newest sample. */
  #end = 0;

  constructor(capacitySamples: number, channels = 1) {
    if (!Number.isInteger(capacitySamples) || capacitySamples <= 0) {
      throw new RangeError(`capacitySamples must be a positive integer, got ${capacitySamples}.`);
    }
    this.capacitySamples = capacitySamples;
    this.channels = channels;
    this.#ring = new Int16Array(capacitySamples * channels);
  }

  get startSample(): number {
    return this.#start;
  }

  get endSample(): number {
    return this.#end;
  }

  get retainedSamples(): number {
    return this.#end - this.#start;
  }

  /** Adds samples (whole frames) at the end; returns the range evicted to make room, if any. */
  append(pcm: Int16Array): EvictedRange | undefined {
    const channels = this.channels;
    const capacity = this.capacitySamples * channels;
    const oldStart = this.#start;
    const fresh = pcm.length > capacity ? pcm.subarray(pcm.length - capacity) : pcm;
    let at = (this.#end * channels + pcm.length - fresh.length) % capacity;
    let written = 0;
    while (written < fresh.length) {
      const n = Math.min(fresh.length - written, capacity - at);
      this.#ring.set(fresh.subarray(written, written + n), at);
      written += n;
      at = 0;
    }
    this.#end += pcm.length / channels;
    this.#start = Math.max(this.#start, this.#end - this.capacitySamples);
    return this.#start > oldStart ? { fromSample: oldStart, toSample: this.#start } : undefined;
  }

  /** Forgets every sample before `position` (clamped to what is held). */
  release(position: number): void {
    this.#start = Math.min(this.#end, Math.max(this.#start, position));
  }

  /**
   * The retained samples from `from` on, at most `maxSamples` positions (frames), as one view into
   * the ring (shorter than asked where the ring wraps; call again for the rest). Valid until the
   * next `append()`.
   */
  view(from: number, maxSamples: number): Int16Array {
    if (from < this.#start || from > this.#end) {
      throw new RangeError(`Position ${from} is not buffered (${this.#start}..${this.#end}).`);
    }
    const at = from % this.capacitySamples;
    const length = Math.min(maxSamples, this.#end - from, this.capacitySamples - at);
    return this.#ring.subarray(at * this.channels, (at + length) * this.channels);
  }
}
