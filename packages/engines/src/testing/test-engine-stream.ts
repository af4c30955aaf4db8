/**
 * One stream of the TestEngine: it "hears" energy. 20 ms frames louder than a threshold are speech;
 * every 200 ms of speech is one word, named from a fixed list by its start time
 * (`TEST_WORDS[floor(startMs / 200) % 26]`, or a vocabulary of the caller's, so a stream continued
 * from a later `startSample` names its words as the original would); a pause of `endpointFrames`
 * frames ends the utterance with a final.
 *
 * The output depends only on the samples, never on how they were chunked or when they arrived, so
 * two runs over the same audio give the same transcript, word for word and millisecond for
 * millisecond. The stream plays the faults of its model: `test-crash` fails after one second of
 * audio, `test-malformed` gives finals without their `words` (as an engine with a bug might), and
 * `test-bad-close` throws from `close()`.
 */

import { type EngineEvent, type EngineStream, EngineUnavailableError, type EngineWord } from "../contract.js";
import { EventChannel } from "../event-channel.js";

export const TEST_WORDS = [
  "alpha",
  "bravo",
  "charlie",
  "delta",
  "echo",
  "foxtrot",
  "golf",
  "hotel",
  "india",
  "juliett",
  "kilo",
  "lima",
  "mike",
  "november",
  "oscar",
  "papa",
  "quebec",
  "romeo",
  "sierra",
  "tango",
  "uniform",
  "victor",
  "whiskey",
  "xray",
  "yankee",
  "zulu",
] as const;

export const FRAME_SAMPLES = 320; // 20 ms
export const FRAME_MS = 20;
const FRAMES_PER_WORD = 10; // 200 ms

export class TestEngineStream implements EngineStream {
  /** Decoding is synchronous: nothing is ever waiting. */
  readonly backlogMs = 0;
  readonly #events = new EventChannel<EngineEvent>();
  readonly #speechRms: number;
  readonly #endpointFrames: number;
  readonly #crashAtFrame: number;
  readonly #malformed: boolean;
  readonly #carry = new Int16Array(FRAME_SAMPLES);
  #carryLength = 0;
  readonly #startFrame: number;
  #frame: number;
  /** Speech frames of the utterance in progress, as frame indices; empty when not in speech. */
  #speechFrames: number[] = [];
  #silentRun = 0;
  #partialWords = 0;
  #closed = false;
  readonly #throwsOnClose: boolean;
  readonly #vocabulary: readonly string[];

  /** `vocabulary`: the words it names, in place of TEST_WORDS (e.g. digits, for redaction tests). */
  constructor(
    speechRms: number,
    endpointFrames: number,
    model: string,
    startFrame: number,
    vocabulary: readonly string[] = TEST_WORDS,
  ) {
    this.#vocabulary = vocabulary.length > 0 ? vocabulary : TEST_WORDS;
    this.#speechRms = speechRms;
    this.#endpointFrames = endpointFrames;
    this.#startFrame = startFrame;
    this.#frame = startFrame;
    this.#crashAtFrame = model === "test-crash" ? startFrame + 1000 / FRAME_MS : Number.POSITIVE_INFINITY;
    this.#malformed = model === "test-malformed";
    this.#throwsOnClose = model === "test-bad-close";
  }

  /** Ended, closed or crashed. */
  get finished(): boolean {
    return this.#closed;
  }

  push(pcm: Int16Array): void {
    if (this.#closed) return;
    let offset = 0;
    while (offset < pcm.length) {
      const take = Math.min(FRAME_SAMPLES - this.#carryLength, pcm.length - offset);
      this.#carry.set(pcm.subarray(offset, offset + take), this.#carryLength);
      this.#carryLength += take;
      offset += take;
      if (this.#carryLength === FRAME_SAMPLES) {
        this.#carryLength = 0;
        this.#onFrame(this.#carry);
        if (this.#closed) return;
      }
    }
  }

  flush(pause?: { readonly atMs: number }): void {
    if (this.#closed) return;
    if (!pause) {
      this.#finishUtterance(false);
      return;
    }
    this.#finishUtterance(true, false);
    this.#events.push({ type: "endpoint", atMs: pause.atMs });
  }

  async end(): Promise<void> {
    if (this.#closed) return;
    this.#finishUtterance(false);
    this.#events.push({ type: "usage", audioMs: (this.#frame - this.#startFrame) * FRAME_MS, processingMs: 0 });
    this.#closed = true;
    this.#events.end();
  }

  close(): void {
    this.#closed = true;
    this.#events.clear();
    if (this.#throwsOnClose) throw new Error("test-bad-close fails to close on purpose");
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineEvent> {
    return this.#events[Symbol.asyncIterator]();
  }

  #onFrame(frame: Int16Array): void {
    const index = this.#frame++;
    if (index >= this.#crashAtFrame) {
      this.#events.push({ type: "error", error: new EngineUnavailableError("test-crash engine crashed on purpose") });
      this.#closed = true;
      this.#events.end();
      return;
    }
    let sumSquares = 0;
    for (const sample of frame) sumSquares += sample * sample;
    const isSpeech = Math.sqrt(sumSquares / frame.length) > this.#speechRms;
    if (isSpeech) {
      this.#speechFrames.push(index);
      this.#silentRun = 0;
      const words = Math.floor(this.#speechFrames.length / FRAMES_PER_WORD);
      if (words > this.#partialWords) {
        this.#partialWords = words;
        this.#events.push({ type: "partial", ...this.#transcript(false) });
      }
    } else if (this.#speechFrames.length > 0) {
      this.#silentRun += 1;
      if (this.#silentRun >= this.#endpointFrames) this.#finishUtterance(true);
    }
  }

  /** Words of the utterance so far; with `complete`, a trailing part-word counts as a word. */
  #words(complete: boolean): EngineWord[] {
    const frames = this.#speechFrames;
    const count = complete ? Math.ceil(frames.length / FRAMES_PER_WORD) : Math.floor(frames.length / FRAMES_PER_WORD);
    const words: EngineWord[] = [];
    for (let i = 0; i < count; i++) {
      const first = frames[i * FRAMES_PER_WORD] ?? 0;
      const last = frames[Math.min(frames.length, (i + 1) * FRAMES_PER_WORD) - 1] ?? first;
      words.push({
        word: this.#vocabulary[Math.floor((first * FRAME_MS) / 200) % this.#vocabulary.length] ?? "alpha",
        startMs: first * FRAME_MS,
        endMs: (last + 1) * FRAME_MS,
        confidence: 1,
      });
    }
    return words;
  }

  #transcript(complete: boolean) {
    const words = this.#words(complete);
    const first = this.#speechFrames[0] ?? this.#frame;
    const last = this.#speechFrames.at(-1) ?? first;
    return {
      text: words.map((w) => w.word).join(" "),
      startMs: first * FRAME_MS,
      endMs: (last + 1) * FRAME_MS,
      words,
    };
  }

  /** `endpoint`: emit the endpoint event here (false when the caller emits its own). */
  #finishUtterance(atPause: boolean, endpoint = atPause): void {
    if (this.#speechFrames.length === 0) return;
    const final = this.#transcript(true);
    // The contract requires words; test-malformed breaks it on purpose.
    const words = this.#malformed ? (undefined as unknown as EngineWord[]) : final.words;
    this.#events.push({ type: "final", speechFinal: atPause, ...final, words });
    if (endpoint) this.#events.push({ type: "endpoint", atMs: final.endMs });
    this.#speechFrames = [];
    this.#silentRun = 0;
    this.#partialWords = 0;
  }
}
