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
    return this.#inSegment(this.#segmentOf(innerMs, isEnd), innerMs);
  }

  /**
   * A start time that lies in an earlier run than `endInnerMs` (a word whose first frames the
   * recognizer put in the padding before the join of two forwarded runs, its sound after it) is
   * measured back from the later run's start instead: where the word is heard, and what a stream
   * continued from a checkpoint in that pause reports too (it has no earlier run). Only a word
   * mostly after the join moves (one mostly before it is heard there); never before the end of
   * the earlier run.
   */
  #startMs(innerMs: number, endInnerMs: number): number {
    const start = this.#segmentOf(innerMs, false);
    const end = this.#segmentOf(endInnerMs, true);
    if (start < 0 || end <= start) return this.#inSegment(start, innerMs);
    const previous = this.#segments[end - 1];
    const later = this.#segments[end];
    const join = later ? later.innerStart / this.#samplesPerMs : 0;
    if (!previous || !later || join - innerMs > endInnerMs - join) return this.#inSegment(start, innerMs);
    const previousEnd = this.streamMs(previous.streamStart + later.innerStart - previous.innerStart);
    return Math.max(previousEnd, this.#inSegment(end, innerMs));
  }

  /** The index of the segment an inner time belongs to (the first one for a time before all; -1: none yet). */
  #segmentOf(innerMs: number, isEnd: boolean): number {
    const sample = innerMs * this.#samplesPerMs;
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const candidate = this.#segments[i];
      if (candidate && (isEnd ? candidate.innerStart < sample : candidate.innerStart <= sample)) return i;
    }
    return this.#segments.length > 0 ? 0 : -1;
  }

  /** An inner time as stream ms, at its offset from segment `index`'s start (before or after it). */
  #inSegment(index: number, innerMs: number): number {
    const segment = this.#segments[index];
    if (!segment) return this.streamMs(0);
    return this.streamMs(segment.streamStart + innerMs * this.#samplesPerMs - segment.innerStart);
  }

  /** Partials and finals with stream times; other events unchanged. */
  event(event: EngineEvent): EngineEvent {
    if (event.type !== "partial" && event.type !== "final") return event;
    const words = event.words.map(
      (word): EngineWord => ({
        ...word,
        startMs: this.#startMs(word.startMs, word.endMs),
        endMs: this.toStreamMs(word.endMs, true),
      }),
    );
    return {
      ...event,
      // An utterance starts where its first word is heard, by the same rule.
      startMs: this.#startMs(event.startMs, event.words[0]?.endMs ?? event.startMs),
      endMs: this.toStreamMs(event.endMs, true),
      words,
    };
  }
}
