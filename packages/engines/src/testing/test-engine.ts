/**
 * A deterministic engine for protocol, transport and load tests. It "hears" energy: 20 ms frames
 * louder than a threshold are speech; every 200 ms of speech is one word, named from a fixed list
 * by its start time (`TEST_WORDS[floor(startMs / 200) % 26]`, so a stream continued from a later
 * `startSample` names its words as the original would); a pause of `endpointingMs` ends the
 * utterance with a final.
 *
 * The output depends only on the samples, never on how they were chunked or when they arrived, so
 * two runs over the same audio give the same transcript, word for word and millisecond for
 * millisecond. Model `test-broken` refuses to open (to exercise `engine_unavailable`), model
 * `test-crash` fails after one second of audio, model `test-slow` decodes at only 4× real time
 * (or `slowSpeed`; `peakBacklogMs` records how far behind it ever got), and model `test-malformed`
 * gives finals without their `words`, as an engine with a bug might (the server must survive
 * relaying them), and model `test-bad-close` throws from `close()` (the server must survive giving
 * it back).
 */

import { SAMPLE_RATE } from "@earshot/protocol";
import {
  type Engine,
  type EngineCapabilities,
  type EngineEvent,
  type EngineLoad,
  type EngineStream,
  EngineUnavailableError,
  type EngineWord,
  type StreamOptions,
} from "../contract.js";
import { EventChannel } from "../event-channel.js";
import { PacedStream } from "./paced-stream.js";

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

const FRAME_SAMPLES = 320; // 20 ms
const FRAME_MS = 20;
const FRAMES_PER_WORD = 10; // 200 ms
const DEFAULT_SLOW_SPEED = 4;

export interface TestEngineOptions {
  /** RMS (in 16-bit sample units) above which a frame is speech. */
  readonly speechRms?: number;
  /** Silence that ends an utterance, unless a stream sets its own `endpointingMs`. Default 300. */
  readonly endpointingMs?: number;
  /** For routing tests: the engine's name (default `test`), models and languages. */
  readonly name?: string;
  readonly models?: readonly string[];
  readonly languages?: readonly string[];
  /** `load()` rejects with this (an engine whose model is broken). */
  readonly loadError?: Error;
  /** What the engine declares one stream costs (`Engine.streamMemoryBytes`); default: nothing declared. */
  readonly streamMemoryBytes?: number;
  /** How many times real time model `test-slow` decodes (default 4). */
  readonly slowSpeed?: number;
  /** For capability tests: declare another kind of engine (default: streaming, words, 16 kHz). */
  readonly declares?: Partial<Pick<EngineCapabilities, "streaming" | "wordTimestamps" | "sampleRate">>;
}

export class TestEngine implements Engine {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  readonly streamMemoryBytes: number | undefined;
  readonly #loadError: Error | undefined;
  readonly #speechRms: number;
  readonly #endpointFrames: number;
  readonly #slowSpeed: number;
  #ready = false;
  /** Open streams, each as [the decoding stream, what the caller holds] (they differ for test-slow). */
  readonly #open = new Set<readonly [TestEngineStream, EngineStream]>();
  /** The most audio any `test-slow` stream ever had waiting (for backpressure tests). */
  peakBacklogMs = 0;

  constructor(options: TestEngineOptions = {}) {
    this.name = options.name ?? "test";
    this.capabilities = {
      streaming: true,
      wordTimestamps: true,
      languages: options.languages ?? ["en", "zh", "de", "es", "fr"],
      models: options.models ?? ["test", "test-broken", "test-crash", "test-slow", "test-malformed", "test-bad-close"],
      sampleRate: SAMPLE_RATE,
      ...options.declares,
    };
    this.#loadError = options.loadError;
    this.streamMemoryBytes = options.streamMemoryBytes;
    this.#speechRms = options.speechRms ?? 300;
    this.#endpointFrames = Math.max(1, Math.round((options.endpointingMs ?? 300) / FRAME_MS));
    this.#slowSpeed = options.slowSpeed ?? DEFAULT_SLOW_SPEED;
  }

  get ready(): boolean {
    return this.#ready;
  }

  async load(): Promise<void> {
    if (this.#loadError) throw this.#loadError;
    this.#ready = true;
  }

  async openStream(options: StreamOptions): Promise<EngineStream> {
    if (!this.#ready) throw new EngineUnavailableError("test engine not loaded");
    if (options.model === "test-broken") throw new EngineUnavailableError("model test-broken is broken on purpose");
    const startFrame = Math.round((options.startSample ?? 0) / FRAME_SAMPLES);
    const endpointFrames =
      options.endpointingMs === undefined
        ? this.#endpointFrames
        : Math.max(1, Math.round(options.endpointingMs / FRAME_MS));
    const stream = new TestEngineStream(this.#speechRms, endpointFrames, options.model, startFrame);
    const held =
      options.model === "test-slow"
        ? new PacedStream(stream, this.#slowSpeed, (backlogMs) => {
            this.peakBacklogMs = Math.max(this.peakBacklogMs, backlogMs);
          })
        : stream;
    this.#open.add([stream, held]);
    return held;
  }

  /** Decoding is synchronous and nearly free: only the open streams are counted. */
  loadSnapshot(): EngineLoad {
    let maxBacklogMs = 0;
    for (const entry of this.#open) {
      if (entry[0].finished) this.#open.delete(entry);
      else maxBacklogMs = Math.max(maxBacklogMs, entry[1].backlogMs);
    }
    return { streams: this.#open.size, utilization: 0, maxBacklogMs };
  }

  async close(): Promise<void> {
    this.#ready = false;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

class TestEngineStream implements EngineStream {
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

  constructor(speechRms: number, endpointFrames: number, model: string, startFrame: number) {
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
        word: TEST_WORDS[Math.floor((first * FRAME_MS) / 200) % TEST_WORDS.length] ?? "alpha",
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
