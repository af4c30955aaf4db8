/**
 * A deterministic engine for protocol, transport and load tests: its streams (TestEngineStream)
 * name 200 ms of speech energy as one word of a fixed list, so two runs over the same audio give
 * the same transcript, word for word and millisecond for millisecond.
 *
 * Its models script the faults the server must survive: `test-broken` refuses to open (to exercise
 * `engine_unavailable`), `test-crash` fails after one second of audio, `test-slow` decodes at only
 * 4× real time (or `slowSpeed`; `peakBacklogMs` records how far behind it ever got),
 * `test-malformed` gives finals without their `words` (the server must survive relaying them), and
 * `test-bad-close` throws from `close()` (the server must survive giving it back).
 */

import { SAMPLE_RATE } from "@earshot/protocol";
import {
  type Engine,
  type EngineCapabilities,
  type EngineLoad,
  type EngineStream,
  EngineUnavailableError,
  refuseResume,
  type StreamOptions,
} from "../contract.js";
import { PacedStream } from "./paced-stream.js";
import { FRAME_MS, FRAME_SAMPLES, TestEngineStream } from "./test-engine-stream.js";

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
  /**
   * The words its streams name, in place of TEST_WORDS: a word starting at `startMs` is
   * `vocabulary[floor(startMs / 200) % vocabulary.length]`, so a test scripts words by where it
   * puts its speech (ten digit words: a burst starting at 800 ms is "four").
   */
  readonly vocabulary?: readonly string[];
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
  readonly #vocabulary: readonly string[] | undefined;
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
    this.#vocabulary = options.vocabulary;
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
    refuseResume(this.name, options);
    if (options.model === "test-broken") throw new EngineUnavailableError("model test-broken is broken on purpose");
    const startFrame = Math.round((options.startSample ?? 0) / FRAME_SAMPLES);
    const endpointFrames =
      options.endpointingMs === undefined
        ? this.#endpointFrames
        : Math.max(1, Math.round(options.endpointingMs / FRAME_MS));
    const stream = new TestEngineStream(this.#speechRms, endpointFrames, options.model, startFrame, this.#vocabulary);
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
