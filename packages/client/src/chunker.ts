/**
 * Cuts a PCM16 stream into fixed-size chunks, optionally overlapping (the seed protocol's style).
 *
 * Every chunk carries `chunkSamples` new samples; each chunk after the first starts with the last
 * `overlapSamples` of the stream before it (zeros stand in for audio before the start), so the
 * server drops exactly `overlapSamples` from every message after the first. Concatenating the first
 * chunk and every later chunk minus its first `overlapSamples` gives back the input.
 *
 * Chunks are views into the caller's array when the samples are contiguous there (no copy); they
 * are only valid until the caller reuses that memory, so copy a chunk before keeping it.
 */
export interface ChunkerOptions {
  /** New samples per chunk. */
  readonly chunkSamples: number;
  /** Samples each chunk after the first repeats from the stream before it. */
  readonly overlapSamples?: number;
}

export class Chunker {
  readonly chunkSamples: number;
  readonly overlapSamples: number;
  /** New samples not yet sent (fewer than a chunk). */
  readonly #carry: Int16Array;
  #carryLength = 0;
  /** The last `overlapSamples` of the stream so far (owned memory). */
  readonly #tail: Int16Array;
  #first = true;

  constructor(options: ChunkerOptions) {
    const { chunkSamples, overlapSamples = 0 } = options;
    if (!Number.isInteger(chunkSamples) || chunkSamples <= 0) {
      throw new RangeError(`chunkSamples must be a positive integer, got ${chunkSamples}.`);
    }
    if (!Number.isInteger(overlapSamples) || overlapSamples < 0) {
      throw new RangeError(`overlapSamples must be a non-negative integer, got ${overlapSamples}.`);
    }
    this.chunkSamples = chunkSamples;
    this.overlapSamples = overlapSamples;
    this.#carry = new Int16Array(chunkSamples);
    this.#tail = new Int16Array(overlapSamples);
  }

  /** New samples waiting for a full chunk. */
  get pendingSamples(): number {
    return this.#carryLength;
  }

  /** Adds samples; returns the chunks completed by them, in order. */
  push(pcm: Int16Array): Int16Array[] {
    const chunks: Int16Array[] = [];
    let offset = 0;
    if (this.#carryLength > 0) {
      const take = Math.min(this.chunkSamples - this.#carryLength, pcm.length);
      this.#carry.set(pcm.subarray(0, take), this.#carryLength);
      this.#carryLength += take;
      offset = take;
      if (this.#carryLength < this.chunkSamples) return chunks;
      chunks.push(this.#emit(this.#carry));
      this.#carryLength = 0;
    }
    const overlap = this.overlapSamples;
    while (pcm.length - offset >= this.chunkSamples) {
      const end = offset + this.chunkSamples;
      let chunk: Int16Array;
      if (this.#first || overlap === 0) chunk = pcm.subarray(offset, end);
      else if (offset >= overlap)
        chunk = pcm.subarray(offset - overlap, end); // overlap is right before it
      else chunk = this.#withTail(pcm.subarray(offset, end));
      this.#first = false;
      this.#remember(chunk);
      chunks.push(chunk);
      offset = end;
    }
    this.#carry.set(pcm.subarray(offset));
    this.#carryLength = pcm.length - offset;
    return chunks;
  }

  /** Emits the pending samples as a short chunk (for finalize / end of stream); undefined if none. */
  flush(): Int16Array | undefined {
    if (this.#carryLength === 0) return undefined;
    const chunk = this.#emit(this.#carry.subarray(0, this.#carryLength));
    this.#carryLength = 0;
    return chunk;
  }

  /** A chunk built from owned memory (the carry): always a fresh array. */
  #emit(fresh: Int16Array): Int16Array {
    const chunk = this.#first || this.overlapSamples === 0 ? fresh.slice() : this.#withTail(fresh);
    this.#first = false;
    this.#remember(chunk);
    return chunk;
  }

  #withTail(fresh: Int16Array): Int16Array {
    const chunk = new Int16Array(this.overlapSamples + fresh.length);
    chunk.set(this.#tail);
    chunk.set(fresh, this.overlapSamples);
    return chunk;
  }

  /** Keeps the stream's last `overlapSamples` (shifting in a chunk shorter than that). */
  #remember(chunk: Int16Array): void {
    const overlap = this.overlapSamples;
    if (overlap === 0) return;
    if (chunk.length >= overlap) {
      this.#tail.set(chunk.subarray(chunk.length - overlap));
    } else {
      this.#tail.copyWithin(0, chunk.length);
      this.#tail.set(chunk, overlap - chunk.length);
    }
  }
}
