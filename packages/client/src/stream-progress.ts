/**
 * What the client knows of the stream's progress, in stream positions: the last final delivered
 * (its segment_id and where it ends) and how far the server has acknowledged audio. From these
 * follow which transcripts are new, what audio a resume or a new session may still need, and where
 * a new session starts when the server lost the old one.
 */
import type { TranscriptMessage } from "@earshot/protocol";
import { SAMPLES_PER_MS } from "@earshot/protocol/encodings";
import type { SessionStart } from "./options.js";

export class StreamProgress {
  #lastFinalId = -1;
  #finalEndSample = 0;
  #ackedSample = 0;

  /** The highest final segment_id delivered; -1 before the first (what `resume` sends). */
  get lastFinalId(): number {
    return this.#lastFinalId;
  }

  get finalEndSample(): number {
    return this.#finalEndSample;
  }

  /**
   * Whether a transcript is news: false for a final a resumed session re-sends and for a partial of
   * a segment already final. Records each new final.
   */
  accept(message: TranscriptMessage): boolean {
    if (message.segment_id <= this.#lastFinalId) return false;
    if (message.is_final) {
      this.#lastFinalId = message.segment_id;
      this.#finalEndSample = Math.max(this.#finalEndSample, message.end_ms * SAMPLES_PER_MS);
    }
    return true;
  }

  /** A connection starts (session started or resumed) with the server holding audio up to `sample`. */
  connectedAt(sample: number): void {
    this.#ackedSample = sample;
  }

  acked(sample: number): void {
    this.#ackedSample = Math.max(this.#ackedSample, sample);
  }

  /** The first stream position a resume (unacknowledged audio) or a new session (after the last final) may need. */
  get neededFromSample(): number {
    return Math.min(this.#ackedSample, this.#finalEndSample);
  }

  /** A new session for a lost one: where the last final ended (within the audio sent), with the next segment id. */
  newSession(endSample: number): SessionStart {
    return { startSample: Math.min(this.#finalEndSample, endSample), firstSegmentId: this.#lastFinalId + 1 };
  }
}
