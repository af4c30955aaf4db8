/**
 * What the client knows of the stream's progress, in stream positions: the last final delivered
 * (its segment_id and where it ends) and how far the server has acknowledged audio. From these
 * follow which transcripts are new, what audio a resume or a new session may still need, and where
 * a new session starts when the server lost the old one.
 */
import type { CheckpointMessage, TranscriptMessage } from "@earshot/protocol";
import { SAMPLES_PER_MS } from "@earshot/protocol/encodings";
import type { SessionStart } from "./options.js";

export class StreamProgress {
  #lastFinalId = -1;
  #finalEndSample = 0;
  #ackedSample = 0;
  /** The server's last checkpoint: where a new session can continue this stream exactly. */
  #checkpoint: CheckpointMessage | undefined;

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

  /** A checkpoint from the server: a later one replaces the one kept. */
  checkpointed(message: CheckpointMessage): void {
    if (message.last_segment_id > this.#lastFinalId) return; // follows finals not delivered: not usable
    if (this.#checkpoint && message.sample < this.#checkpoint.sample) return;
    this.#checkpoint = message;
  }

  /** The server refused the checkpoint's state (`invalid_resume_state`); returns whether one was kept. */
  forgetCheckpoint(): boolean {
    const had = this.#checkpoint !== undefined;
    this.#checkpoint = undefined;
    return had;
  }

  /**
   * The first stream position a resume (unacknowledged audio) or a new session (from the checkpoint,
   * or after the last final should the server refuse it) may need.
   */
  get neededFromSample(): number {
    return Math.min(this.#ackedSample, this.#finalEndSample, this.#checkpoint?.sample ?? Number.POSITIVE_INFINITY);
  }

  /**
   * A new session for a lost one: from the last checkpoint if there is one (the server continues the
   * stream exactly; finals it decodes again keep their segment ids and are dropped as re-sent),
   * otherwise where the last final ended (within the audio sent), with the next segment id.
   */
  newSession(endSample: number): SessionStart {
    const checkpoint = this.#checkpoint;
    if (checkpoint && checkpoint.sample <= endSample) {
      return {
        startSample: checkpoint.sample,
        firstSegmentId: checkpoint.last_segment_id + 1,
        resumeState: checkpoint.state,
      };
    }
    return { startSample: Math.min(this.#finalEndSample, endSample), firstSegmentId: this.#lastFinalId + 1 };
  }
}
