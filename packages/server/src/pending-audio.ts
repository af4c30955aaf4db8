/**
 * Audio received while a session's engine stream opens, handed to the stream once it is open.
 * Bounded: beyond `maxMs` of audio, `hold` refuses (the engine is too slow to start the stream).
 */
import { samplesToMs } from "@earshot/protocol";

export class PendingAudio {
  readonly #maxMs: number;
  #chunks: Int16Array[] = [];
  #samples = 0;

  constructor(maxMs: number) {
    this.#maxMs = maxMs;
  }

  /** Samples held. */
  get samples(): number {
    return this.#samples;
  }

  /** Keeps a copy of `pcm` (the caller's buffer is reused); false once more than `maxMs` is held. */
  hold(pcm: Int16Array): boolean {
    this.#chunks.push(pcm.slice());
    this.#samples += pcm.length;
    return samplesToMs(this.#samples) <= this.#maxMs;
  }

  /** Pushes what is held into the opened stream, in order, and holds nothing after. */
  drainInto(stream: { push(pcm: Int16Array): void }): void {
    const chunks = this.#chunks;
    this.clear();
    for (const pcm of chunks) stream.push(pcm);
  }

  clear(): void {
    this.#chunks = [];
    this.#samples = 0;
  }
}
