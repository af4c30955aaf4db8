/**
 * One stream inside a host process: its native stream, and the turning of recognizer results into
 * partial / final / endpoint / usage events. Times here count from the stream's first sample; the
 * parent adds the stream's start offset.
 *
 * Endpoints: sherpa-onnx's rules 1 (no speech, `silenceEndpointMs`) and 3 (`maxUtteranceMs`) come
 * from `isEndpoint`; rule 2 (trailing silence after speech) is this stream's `endpointingMs`,
 * checked here with sherpa's own arithmetic (trailing blank output frames × 40 ms), because the
 * recognizer's rules are per recognizer, not per stream.
 *
 * A forced final (`flush`, `end`) first feeds `tailPaddingMs` of zeros, so audio shorter than one
 * encoder chunk is decoded too (as sherpa-onnx's own servers do). Those zeros sit in the native
 * stream's timeline, so every later time is moved back by the padding fed so far.
 */

import type { TranscriptEvent } from "@earshot/engines";
import { SAMPLE_RATE, SAMPLES_PER_MS } from "@earshot/protocol";
import type { WireEvent } from "./host-messages.js";
import { int16ToFloat32, type NativeStream, type RecognizerResult } from "./native.js";
import type { RecognizerLease } from "./recognizer-pool.js";
import { OUTPUT_FRAME_MS, tokensToWords } from "./words.js";

export interface HostStreamOptions {
  readonly id: number;
  readonly lease: RecognizerLease;
  readonly endpointingMs: number;
  readonly wordTimestamps: boolean;
  readonly tailPaddingMs: number;
  readonly emit: (event: WireEvent) => void;
}

export class HostStream {
  readonly id: number;
  readonly lease: RecognizerLease;
  readonly native: NativeStream;
  readonly #options: HostStreamOptions;
  /** Samples accepted since the parent was last told (see the `decoded` message). */
  unreported = 0;
  /** Real samples accepted (no padding). */
  #samples = 0;
  #paddingMs = 0;
  #lastPartial = "";
  #lastEndMs = 0;
  #processingMs = 0;

  constructor(options: HostStreamOptions) {
    this.id = options.id;
    this.lease = options.lease;
    this.#options = options;
    this.native = options.lease.recognizer.createStream();
  }

  accept(pcm: Int16Array): void {
    this.native.acceptWaveform({ samples: int16ToFloat32(pcm), sampleRate: SAMPLE_RATE });
    this.#samples += pcm.length;
    this.unreported += pcm.length;
  }

  get ready(): boolean {
    return this.lease.recognizer.isReady(this.native);
  }

  addProcessing(ms: number): void {
    this.#processingMs += ms;
  }

  /** After a decoding step: a final at an endpoint, else a partial when the text changed. */
  afterDecode(): void {
    const recognizer = this.lease.recognizer;
    const result = recognizer.getResult(this.native);
    const pausedAfterSpeech =
      result.tokens.length > 0 && result.num_trailing_blanks * OUTPUT_FRAME_MS >= this.#options.endpointingMs;
    if (pausedAfterSpeech || recognizer.isEndpoint(this.native)) {
      this.#finish(result, true);
    } else if (result.text !== this.#lastPartial && result.text !== "") {
      this.#lastPartial = result.text;
      this.#options.emit({ type: "partial", ...this.#transcript(result) });
    }
  }

  /** Close the utterance now: a final (speech final at `pauseAtMs`, followed by that endpoint). */
  flush(pauseAtMs: number | undefined, inputFinished = false): void {
    // Whole chunks first, as a step would decode them, so endpoints inside them still count.
    const started = performance.now();
    while (this.ready) {
      this.lease.recognizer.decode(this.native);
      this.afterDecode();
    }
    this.#processingMs += performance.now() - started;
    this.#drainWithPadding(inputFinished);
    const result = this.lease.recognizer.getResult(this.native);
    if (result.tokens.length > 0) this.#finish(result, pauseAtMs !== undefined, false);
    else this.lease.recognizer.reset(this.native);
    this.#paddingMs += this.#options.tailPaddingMs;
    if (pauseAtMs !== undefined) this.#options.emit({ type: "endpoint", atMs: pauseAtMs });
  }

  /** No more audio: the last final, usage, and the lease goes back. */
  end(): void {
    this.flush(undefined, true);
    this.#options.emit({
      type: "usage",
      audioMs: Math.round(this.#samples / SAMPLES_PER_MS),
      processingMs: Math.round(this.#processingMs),
    });
    this.lease.release();
  }

  #drainWithPadding(inputFinished: boolean): void {
    const started = performance.now();
    const padding = new Float32Array(this.#options.tailPaddingMs * SAMPLES_PER_MS);
    this.native.acceptWaveform({ samples: padding, sampleRate: SAMPLE_RATE });
    if (inputFinished) this.native.inputFinished();
    const recognizer = this.lease.recognizer;
    while (recognizer.isReady(this.native)) recognizer.decode(this.native);
    this.#processingMs += performance.now() - started;
  }

  #finish(result: RecognizerResult, atPause: boolean, endpoint = atPause): void {
    const final = this.#transcript(result);
    this.lease.recognizer.reset(this.native);
    this.#lastPartial = "";
    this.#options.emit({ type: "final", speechFinal: atPause, ...final });
    if (final.words.length > 0 || result.tokens.length > 0) this.#lastEndMs = final.endMs;
    if (endpoint) this.#options.emit({ type: "endpoint", atMs: final.endMs });
  }

  #nowMs(): number {
    return Math.round(this.#samples / SAMPLES_PER_MS);
  }

  /** Words in stream ms, clamped into [last final's end, audio so far] and non-decreasing. */
  #transcript(result: RecognizerResult): TranscriptEvent {
    const limitMs = this.#nowMs();
    const segmentMs = result.start_time * 1000 - this.#paddingMs;
    const timesMs = result.timestamps.map((seconds) => segmentMs + seconds * 1000);
    let floorMs = this.#lastEndMs;
    const words = tokensToWords(
      { tokens: result.tokens, timesMs, ...(result.ys_probs ? { logProbs: result.ys_probs } : {}) },
      this.lease.model.spec.modelingUnit,
    ).map((word) => {
      const startMs = Math.round(Math.min(limitMs, Math.max(floorMs, word.startMs)));
      const endMs = Math.round(Math.min(limitMs, Math.max(startMs, word.endMs)));
      floorMs = endMs;
      return { ...word, startMs, endMs };
    });
    const first = words[0];
    const last = words.at(-1);
    // Without words: how far the decoder got (the segment's trailing blanks), not what was received.
    const decodedMs = segmentMs + result.num_trailing_blanks * OUTPUT_FRAME_MS;
    const fallbackMs = Math.round(Math.max(this.#lastEndMs, Math.min(limitMs, decodedMs)));
    return {
      text: result.text.trim(),
      startMs: first ? first.startMs : fallbackMs,
      endMs: last ? last.endMs : fallbackMs,
      words: this.#options.wordTimestamps ? words : [],
    };
  }
}
