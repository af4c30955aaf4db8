/**
 * Maps the timeline a gated inner engine sees (only the forwarded audio, back to back) onto the
 * stream's timeline. Each forwarded run that does not continue the previous one starts a segment;
 * a time inside a segment keeps its offset from the segment's start.
 */

import type { EngineEvent, EngineWord } from "@earshot/engines";

/** Segments kept: events refer only to the utterance in progress and the one just flushed. */
const MAX_SEGMENTS = 64;

interface Segment {
  readonly innerStart: number;
  readonly streamStart: number;
}

export class TimeMap {
  readonly #startSample: number;
  readonly #samplesPerMs: number;
  readonly #segments: Segment[] = [];
  /** Samples forwarded so far (the inner timeline's end). */
  #inner = 0;
  /** Stream sample just after the last forwarded sample. */
  #streamEnd = -1;

  /**
   * `startSample`: stream position of this stream's sample 0 (a resumed stream continues times).
   * `innerStart`: where the inner timeline starts (a stream continued from a checkpoint goes on
   * from its inner stream's position there).
   */
  constructor(startSample: number, samplesPerMs: number, innerStart = 0) {
    this.#startSample = startSample;
    this.#samplesPerMs = samplesPerMs;
    this.#inner = innerStart;
  }

  /** The inner timeline's current end, in samples. */
  get innerSamples(): number {
    return this.#inner;
  }

  /** `length` samples starting at stream sample `from` were forwarded. */
  forwarded(from: number, length: number): void {
    if (from !== this.#streamEnd) {
      this.#segments.push({ innerStart: this.#inner, streamStart: from });
      if (this.#segments.length > MAX_SEGMENTS) this.#segments.shift();
    }
    this.#inner += length;
    this.#streamEnd = from + length;
  }

  /** The inner timeline's current end, in ms. */
  innerMs(): number {
    return Math.round(this.#inner / this.#samplesPerMs);
  }

  /** A stream sample (relative to this stream's start) as stream-absolute ms. */
  streamMs(sample: number): number {
    return Math.round((this.#startSample + sample) / this.#samplesPerMs);
  }

  /**
   * An inner time as stream ms. An end time belongs to the segment holding the sample before it,
   * so a word ending where a run ends is not pushed across the gap that follows.
   */
  toStreamMs(innerMs: number, isEnd = false): number {
    const sample = innerMs * this.#samplesPerMs;
    let segment: Segment | undefined;
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const candidate = this.#segments[i];
      if (candidate && (isEnd ? candidate.innerStart < sample : candidate.innerStart <= sample)) {
        segment = candidate;
        break;
      }
    }
    segment ??= this.#segments[0];
    if (!segment) return this.streamMs(0);
    return this.streamMs(segment.streamStart + sample - segment.innerStart);
  }

  /** Partials and finals with stream times; other events unchanged. */
  event(event: EngineEvent): EngineEvent {
    if (event.type !== "partial" && event.type !== "final") return event;
    const words = event.words.map(
      (word): EngineWord => ({
        ...word,
        startMs: this.toStreamMs(word.startMs),
        endMs: this.toStreamMs(word.endMs, true),
      }),
    );
    return {
      ...event,
      startMs: this.toStreamMs(event.startMs),
      endMs: this.toStreamMs(event.endMs, true),
      words,
    };
  }
}
