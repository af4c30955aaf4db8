/**
 * Engine events → wire transcripts for one session: segment numbering, partials sent only when
 * their text changes, `utterance_end` after a final that ended at a pause, and the finals kept
 * (bounded) so a resumed connection gets the ones it missed.
 */
import type { EngineEvent, TranscriptEvent } from "@earshot/engines";
import type { TranscriptMessage, UtteranceEndMessage } from "@earshot/protocol";

/** Finals kept for redelivery on resume; the oldest go first. */
const MAX_FINALS_KEPT = 1000;

export interface TranscriptFormat {
  readonly language: string;
  readonly wordTimestamps: boolean;
  readonly interimResults: boolean;
}

export class TranscriptSegments {
  readonly #format: TranscriptFormat;
  #segmentId: number;
  #segmentHasOutput = false;
  #lastPartial = "";
  readonly #finals: TranscriptMessage[] = [];
  /** The last final that ended at a pause (`speech_final`), until its `utterance_end` is sent. */
  #unendedSegmentId: number | undefined;

  constructor(format: TranscriptFormat, firstSegmentId: number) {
    this.#format = format;
    this.#segmentId = firstSegmentId;
  }

  /** The partial to send (`first`: the utterance's first output), or undefined for none. */
  partial(
    event: Extract<EngineEvent, { type: "partial" }>,
  ): { message: TranscriptMessage; first: boolean } | undefined {
    if (!this.#format.interimResults || event.text === "" || event.text === this.#lastPartial) return undefined;
    this.#lastPartial = event.text;
    const first = !this.#segmentHasOutput;
    this.#segmentHasOutput = true;
    return { message: this.#transcript(event, false), first };
  }

  /** The final to send, or undefined when the utterance produced nothing at all. */
  final(event: Extract<EngineEvent, { type: "final" }>): TranscriptMessage | undefined {
    let final: TranscriptMessage | undefined;
    if (event.text !== "" || this.#segmentHasOutput) {
      final = this.#transcript(event, true, event.speechFinal);
      this.#finals.push(final);
      if (this.#finals.length > MAX_FINALS_KEPT) this.#finals.shift();
      // A final at a pause gets an utterance_end (the endpoint event follows it); a forced one does not.
      this.#unendedSegmentId = event.speechFinal ? this.#segmentId : undefined;
      this.#segmentId += 1;
    }
    this.#segmentHasOutput = false;
    this.#lastPartial = "";
    return final;
  }

  /** The `utterance_end` that closes the final before it; a pause after silence or a forced final says nothing. */
  endpoint(atMs: number): UtteranceEndMessage | undefined {
    const segmentId = this.#unendedSegmentId;
    if (segmentId === undefined) return undefined;
    this.#unendedSegmentId = undefined;
    return { type: "utterance_end", last_word_end_ms: atMs, segment_id: segmentId };
  }

  /**
   * The utterance in progress is dropped (its engine stream was released) and will be decoded
   * again: its segment id stays, for the partials and final that will replace what was sent.
   */
  restartUtterance(): void {
    this.#segmentHasOutput = false;
    this.#lastPartial = "";
  }

  /** The segment_id of the last final made; one before the first segment's before any. */
  get lastFinalId(): number {
    return this.#segmentId - 1;
  }

  /** Kept finals after `segmentId`, for a resumed connection. */
  finalsAfter(segmentId: number): TranscriptMessage[] {
    return this.#finals.filter((final) => final.segment_id > segmentId);
  }

  /** `speechFinal` on finals only. */
  #transcript(event: TranscriptEvent, isFinal: boolean, speechFinal?: boolean): TranscriptMessage {
    return {
      type: "transcript",
      is_final: isFinal,
      ...(speechFinal === undefined ? {} : { speech_final: speechFinal }),
      text: event.text,
      segment_id: this.#segmentId,
      start_ms: event.startMs,
      end_ms: event.endMs,
      language: this.#format.language,
      ...(this.#format.wordTimestamps
        ? {
            words: event.words.map((w) => ({
              word: w.word,
              start_ms: w.startMs,
              end_ms: w.endMs,
              confidence: Math.round(w.confidence * 1000) / 1000,
            })),
          }
        : {}),
    };
  }
}
