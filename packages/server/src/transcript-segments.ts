/**
 * Engine events → wire transcripts for one session: segment numbering, partials sent only when
 * their text changes, `utterance_end` after a final that ended at a pause, the session's
 * `numerals` and `redact` options (`transcript-text/`: finals may be held back a while), and the
 * finals kept (bounded) so a resumed connection gets the ones it missed. What is kept is what is
 * sent: redacted.
 */
import { performance } from "node:perf_hooks";
import type { EngineEvent, TranscriptEvent } from "@earshot/engines";
import type { ServerMessage, TranscriptMessage } from "@earshot/protocol";
import { PLAIN_TEXT, type TextOptions, TranscriptText } from "./transcript-text/transcript-text.js";

/** Finals kept for redelivery on resume; the oldest go first. */
const MAX_FINALS_KEPT = 1000;

export interface TranscriptFormat {
  readonly language: string;
  readonly wordTimestamps: boolean;
  readonly interimResults: boolean;
  /** `numerals` and `redact`; none by default. */
  readonly text?: TextOptions;
}

/** A final made from an engine final, and what to send now (it may be held back; see `TranscriptText`). */
export interface FinalOutcome {
  /** The final made, before numerals and redaction; undefined when the utterance produced nothing. */
  readonly made: TranscriptMessage | undefined;
  readonly send: readonly ServerMessage[];
}

export class TranscriptSegments {
  readonly #format: TranscriptFormat;
  readonly #text: TranscriptText;
  #segmentId: number;
  #segmentHasOutput = false;
  #lastPartial = "";
  readonly #finals: TranscriptMessage[] = [];
  /** The last final that ended at a pause (`speech_final`), until its `utterance_end` is sent. */
  #unendedSegmentId: number | undefined;

  /** `now`: the clock for how long finals are held (`performance.now()`; tests pass their own). */
  constructor(format: TranscriptFormat, firstSegmentId: number, now: () => number = () => performance.now()) {
    this.#format = format;
    this.#segmentId = firstSegmentId;
    this.#text = new TranscriptText(format.text ?? PLAIN_TEXT, now);
  }

  /** The partial to send (`first`: the utterance's first output), or undefined for none. */
  partial(
    event: Extract<EngineEvent, { type: "partial" }>,
  ): { message: TranscriptMessage; first: boolean } | undefined {
    // Speech after a held final: it waits for the next final, sent partials or not.
    if (event.text !== "") this.#text.heard();
    if (!this.#format.interimResults || event.text === "" || event.text === this.#lastPartial) return undefined;
    this.#lastPartial = event.text;
    const first = !this.#segmentHasOutput;
    this.#segmentHasOutput = true;
    return { message: this.#text.partial(this.#transcript(event, false)), first };
  }

  /** The final made (none when the utterance produced nothing at all), and what to send now. */
  final(event: Extract<EngineEvent, { type: "final" }>): FinalOutcome {
    let made: TranscriptMessage | undefined;
    if (event.text !== "" || this.#segmentHasOutput) {
      made = this.#transcript(event, true, event.speechFinal);
      // A final at a pause gets an utterance_end (the endpoint event follows it); a forced one does not.
      this.#unendedSegmentId = event.speechFinal ? this.#segmentId : undefined;
      this.#segmentId += 1;
    }
    this.#segmentHasOutput = false;
    this.#lastPartial = "";
    return { made, send: made ? this.#kept(this.#text.final(made)) : [] };
  }

  /** The `utterance_end` that closes the final before it; a pause after silence or a forced final says nothing. */
  endpoint(atMs: number): readonly ServerMessage[] {
    const segmentId = this.#unendedSegmentId;
    if (segmentId === undefined) return [];
    this.#unendedSegmentId = undefined;
    return this.#text.after({ type: "utterance_end", last_word_end_ms: atMs, segment_id: segmentId });
  }

  /** A message that follows the finals made so far (a checkpoint): now, or once they are released. */
  after(message: ServerMessage): readonly ServerMessage[] {
    return this.#text.after(message);
  }

  /** Held finals released by silence (see `TranscriptText.tick`), to send now. */
  tick(decodedMs: number, connected: boolean): readonly ServerMessage[] {
    return this.#kept(this.#text.tick(decodedMs, connected));
  }

  /** Every held final, to send now: the stream ended. */
  flush(): readonly ServerMessage[] {
    return this.#kept(this.#text.flush());
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

  /** Keeps the finals among `messages`, as they are sent, for resumes. */
  #kept(messages: readonly ServerMessage[]): readonly ServerMessage[] {
    for (const message of messages) {
      if (message.type !== "transcript" || !message.is_final) continue;
      this.#finals.push(message);
      if (this.#finals.length > MAX_FINALS_KEPT) this.#finals.shift();
    }
    return messages;
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
