/**
 * Where a session's stream stands, in samples from the start of the stream: where the session
 * started (its config's `startSample`), how far its audio has come, and where a fresh engine stream
 * would start, the end of the last final: a released session resumes there, and its client replays
 * from there, so finals stay complete and exactly-once.
 */
import { msToSamples, samplesToMs } from "@earshot/protocol";

export class StreamPosition {
  #start = 0;
  #received = 0;
  #restart = 0;

  /** Stream position after the last sample received. */
  get received(): number {
    return this.#received;
  }

  /** Where a fresh engine stream would start: the end of the last final (or where the audio started). */
  get restart(): number {
    return this.#restart;
  }

  /** Ms of audio the session received. */
  get audioMs(): number {
    return samplesToMs(this.#received - this.#start);
  }

  /** The session's stream starts at `sample`. */
  startAt(sample: number): void {
    this.#start = sample;
  }

  /** An engine stream opens at `sample`: the audio goes on from there. */
  openAt(sample: number): void {
    this.#received = sample;
    this.#restart = sample;
  }

  /** `samples` more arrived; returns the new position. */
  advance(samples: number): number {
    this.#received += samples;
    return this.#received;
  }

  /** A final ends at `endMs`: a fresh stream would start there, never behind an earlier final nor past the audio. */
  finalEndsAt(endMs: number): void {
    this.#restart = Math.min(this.#received, Math.max(this.#restart, msToSamples(endMs)));
  }
}
