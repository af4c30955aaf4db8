/**
 * What the client knows of the stream's progress, in stream positions: the last final delivered
 * (its segment_id and where it ends) and how far the server has acknowledged audio. From these
 * follow which transcripts are new, what audio a resume or a new session may still need, and where
 * a new session starts when the server lost the old one. A two-channel stream's channels have their
 * own segment ids and finals: each is tracked on its own (`channel` of a transcript).
 */
import type { CheckpointMessage, TranscriptMessage } from "@earshot/protocol";
import { SAMPLES_PER_MS } from "@earshot/protocol/encodings";
import type { SessionStart } from "./options.js";

export class StreamProgress {
  /** Per channel: the last final's segment_id, and where it ends. */
  readonly #lastFinalIds: number[];
  readonly #finalEndSamples: number[];
  #ackedSample = 0;
  /** The server's last checkpoint: where a new session can continue this stream exactly. */
  #checkpoint: CheckpointMessage | undefined;

  constructor(channels = 1) {
    this.#lastFinalIds = new Array<number>(channels).fill(-1);
    this.#finalEndSamples = new Array<number>(channels).fill(0);
  }

  /** The highest final segment_id delivered (channel 0's); -1 before the first. */
  get lastFinalId(): number {
    return this.#lastFinalIds[0] ?? -1;
  }

  /** Per channel, the highest final segment_id delivered: what `resume` sends. */
  get lastFinalIds(): readonly number[] {
    return [...this.#lastFinalIds];
  }

  /** Where the last final ends: of the channel whose last final ends first (audio after it may be needed). */
  get finalEndSample(): number {
    return Math.min(...this.#finalEndSamples);
  }

  /**
   * Whether a transcript is news: false for a final a resumed session re-sends and for a partial of
   * a segment already final. Records each new final.
   */
  accept(message: TranscriptMessage): boolean {
    const channel = message.channel ?? 0;
    const lastFinalId = this.#lastFinalIds[channel];
    if (lastFinalId === undefined || message.segment_id <= lastFinalId) return false;
    if (message.is_final) {
      this.#lastFinalIds[channel] = message.segment_id;
      this.#finalEndSamples[channel] = Math.max(this.#finalEndSamples[channel] ?? 0, message.end_ms * SAMPLES_PER_MS);
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
    // A two-channel stream asks for none: a checkpoint continues one channel.
    if (message.channel !== undefined || this.#lastFinalIds.length > 1) return;
    if (message.last_segment_id > this.lastFinalId) return; // follows finals not delivered: not usable
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
    return Math.min(this.#ackedSample, this.finalEndSample, this.#checkpoint?.sample ?? Number.POSITIVE_INFINITY);
  }

  /**
   * A new session for a lost one: from the last checkpoint if there is one (the server continues the
   * stream exactly; finals it decodes again keep their segment ids and are dropped as re-sent),
   * otherwise where the last final ended (within the audio sent), with the next segment id. Two
   * channels: each channel where its own last final ended, with its own next id; the audio starts
   * at the earlier of the two.
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
    const firstSegmentIds = this.#lastFinalIds.map((id) => id + 1);
    if (firstSegmentIds.length === 1) {
      return { startSample: Math.min(this.finalEndSample, endSample), firstSegmentId: this.lastFinalId + 1 };
    }
    const startSamples = this.#finalEndSamples.map((end) => Math.min(end, endSample));
    return {
      startSample: Math.min(...startSamples),
      firstSegmentId: Math.min(...firstSegmentIds),
      channels: { startSamples, firstSegmentIds },
    };
  }
}
