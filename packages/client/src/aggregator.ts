/**
 * Turns the stream of `transcript` messages into the transcript so far. Finals are kept by
 * `segment_id`, in id order; a repeated final for a segment replaces the earlier one (so no word is
 * ever counted twice), and a partial is only the live tail: it is dropped once its segment (or a
 * later one) is final, and a late partial for an already-final segment is ignored.
 */
import type { TranscriptMessage } from "@earshot/protocol";

export interface TranscriptWord {
  readonly word: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly confidence: number;
}

export interface TranscriptSegment {
  readonly segmentId: number;
  readonly isFinal: boolean;
  readonly text: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly language: string;
  readonly words: readonly TranscriptWord[];
}

export class TranscriptAggregator {
  readonly #finals = new Map<number, TranscriptSegment>();
  /** Final segment ids in ascending order (kept sorted on insert). */
  #order: number[] = [];
  #partial: TranscriptSegment | undefined;

  /** Feeds one `transcript` message. Returns false when it changed nothing (stale or repeated). */
  add(message: TranscriptMessage): boolean {
    const segment = toSegment(message);
    const id = segment.segmentId;
    if (segment.isFinal) {
      const previous = this.#finals.get(id);
      if (previous === undefined) this.#insertId(id);
      this.#finals.set(id, segment);
      const hadPartial = this.#partial !== undefined && this.#partial.segmentId <= id;
      if (hadPartial) this.#partial = undefined;
      return hadPartial || previous === undefined || !sameSegment(previous, segment);
    }
    if (this.#finals.has(id)) return false;
    if (this.#partial !== undefined && this.#partial.segmentId > id) return false;
    const changed = this.#partial === undefined || !sameSegment(this.#partial, segment);
    this.#partial = segment;
    return changed;
  }

  /** Final segments in order. */
  get segments(): readonly TranscriptSegment[] {
    return this.#order.map((id) => this.#finals.get(id) as TranscriptSegment);
  }

  /** The utterance in progress, if any. */
  get partial(): TranscriptSegment | undefined {
    return this.#partial;
  }

  get finalText(): string {
    return joinText(this.segments);
  }

  /** Final text followed by the current partial. */
  get text(): string {
    return joinText(this.#partial ? [...this.segments, this.#partial] : this.segments);
  }

  /** Words of the final segments, then of the partial, with stream-relative times. */
  get words(): TranscriptWord[] {
    const segments = this.#partial ? [...this.segments, this.#partial] : this.segments;
    return segments.flatMap((s) => s.words);
  }

  get finalWords(): TranscriptWord[] {
    return this.segments.flatMap((s) => s.words);
  }

  clear(): void {
    this.#finals.clear();
    this.#order = [];
    this.#partial = undefined;
  }

  #insertId(id: number): void {
    let at = this.#order.length;
    while (at > 0 && (this.#order[at - 1] as number) > id) at--;
    this.#order.splice(at, 0, id);
  }
}

function toSegment(message: TranscriptMessage): TranscriptSegment {
  return {
    segmentId: message.segment_id,
    isFinal: message.is_final,
    text: message.text.trim(),
    startMs: message.start_ms,
    endMs: message.end_ms,
    language: message.language,
    words: (message.words ?? []).map((w) => ({
      word: w.word,
      startMs: w.start_ms,
      endMs: w.end_ms,
      confidence: w.confidence,
    })),
  };
}

function sameSegment(a: TranscriptSegment, b: TranscriptSegment): boolean {
  return a.text === b.text && a.startMs === b.startMs && a.endMs === b.endMs && a.words.length === b.words.length;
}

function joinText(segments: readonly TranscriptSegment[]): string {
  return segments
    .map((s) => s.text)
    .filter((t) => t !== "")
    .join(" ");
}
