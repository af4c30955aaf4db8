/**
 * Removes the overlap prefix that seed clients put on every audio message after the first (each
 * 500 ms chunk repeats the previous chunk's last 100 ms). Without this, every overlap would be
 * decoded twice and words at chunk edges would come out twice.
 *
 * Declared overlap (`chunk_overlap_ms` in config) is trusted and stripped from every message after
 * the first. Otherwise ("auto") the overlap is detected as an exact sample match between the start
 * of the new chunk and the end of the previous one. Exact 16-bit matches of 1 ms or more do not
 * happen by chance in recorded audio, except in digital silence, where every length matches; there
 * the length seen on earlier, unambiguous chunks wins, and failing that the seed's 100 ms.
 */
import { msToSamples } from "@earshot/protocol";

/** Shortest prefix accepted as an overlap: 1 ms. */
const MIN_MATCH_SAMPLES = 16;
/** Longest overlap looked for (and so the tail kept between chunks): 2 s. */
const MAX_OVERLAP_SAMPLES = msToSamples(2000);
const SEED_OVERLAP_SAMPLES = msToSamples(100);

export class OverlapRemover {
  readonly #declared: number | undefined;
  #locked: number | undefined;
  /** The last samples of the stream so far (auto mode only), bounded by MAX_OVERLAP_SAMPLES. */
  #tail = new Int16Array(0);
  #first = true;

  /** `overlapMs` undefined means auto-detect. */
  constructor(overlapMs?: number) {
    this.#declared = overlapMs === undefined ? undefined : msToSamples(overlapMs);
  }

  /** The part of `chunk` that is new audio (a view into it, no copy). */
  strip(chunk: Int16Array): Int16Array {
    const first = this.#first;
    this.#first = false;
    if (this.#declared !== undefined) {
      return first ? chunk : chunk.subarray(Math.min(this.#declared, chunk.length));
    }
    const fresh = chunk.subarray(first ? 0 : this.#detect(chunk));
    this.#keepTail(fresh);
    return fresh;
  }

  #detect(chunk: Int16Array): number {
    const candidates = matchingOverlaps(this.#tail, chunk);
    if (candidates.length === 0) return 0;
    if (this.#locked !== undefined && candidates.includes(this.#locked)) return this.#locked;
    if (candidates.length === 1) {
      this.#locked = candidates[0];
      return this.#locked ?? 0;
    }
    return candidates.includes(SEED_OVERLAP_SAMPLES) ? SEED_OVERLAP_SAMPLES : (candidates[0] ?? 0);
  }

  #keepTail(chunk: Int16Array): void {
    if (chunk.length >= MAX_OVERLAP_SAMPLES) {
      this.#tail = chunk.slice(chunk.length - MAX_OVERLAP_SAMPLES);
      return;
    }
    const keep = Math.min(this.#tail.length, MAX_OVERLAP_SAMPLES - chunk.length);
    const tail = new Int16Array(keep + chunk.length);
    tail.set(this.#tail.subarray(this.#tail.length - keep));
    tail.set(chunk, keep);
    this.#tail = tail;
  }
}

/** Every length k (ascending) such that chunk[0, k) equals the last k samples of tail. */
export function matchingOverlaps(tail: Int16Array, chunk: Int16Array): number[] {
  if (tail.length < MIN_MATCH_SAMPLES || chunk.length < MIN_MATCH_SAMPLES) return [];
  const tailBytes = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  const chunkBytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const probe = chunkBytes.subarray(0, MIN_MATCH_SAMPLES * 2);
  const found: number[] = [];
  let at = tailBytes.indexOf(probe);
  while (at !== -1) {
    if (at % 2 === 0) {
      const length = tailBytes.length - at;
      if (length <= chunkBytes.length && tailBytes.subarray(at).equals(chunkBytes.subarray(0, length))) {
        found.push(length / 2);
      }
    }
    at = tailBytes.indexOf(probe, at + 1);
  }
  return found.reverse();
}
