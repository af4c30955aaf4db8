/**
 * The part of `sherpa-onnx-node` the engine uses, typed (the package ships none). Imported only by
 * the child processes (host.ts, canary-child.ts): the native addon brings its own libonnxruntime,
 * which must never be loaded into the server process next to onnxruntime-node, and a corrupt model
 * aborts the process that loads it.
 */

import { createRequire } from "node:module";

export interface RecognizerResult {
  readonly text: string;
  readonly tokens: readonly string[];
  /** Seconds from the start of the segment (since the last reset). */
  readonly timestamps: readonly number[];
  /** Log-probability of each token. */
  readonly ys_probs?: readonly number[];
  readonly num_trailing_blanks: number;
  /** Seconds from the start of the stream (fed audio, padding included) to the segment's start. */
  readonly start_time: number;
}

export interface NativeStream {
  acceptWaveform(waveform: { readonly samples: Float32Array; readonly sampleRate: number }): void;
  inputFinished(): void;
}

export interface NativeRecognizer {
  createStream(): NativeStream;
  isReady(stream: NativeStream): boolean;
  decode(stream: NativeStream): void;
  decodeStreams(streams: NativeStream[]): void;
  isEndpoint(stream: NativeStream): boolean;
  reset(stream: NativeStream): void;
  getResult(stream: NativeStream): RecognizerResult;
}

export type NativeRecognizerConstructor = new (config: object) => NativeRecognizer;

export function loadRecognizerClass(): NativeRecognizerConstructor {
  const require = createRequire(import.meta.url);
  const sherpa = require("sherpa-onnx-node") as { OnlineRecognizer: NativeRecognizerConstructor };
  return sherpa.OnlineRecognizer;
}

/** Int16 PCM to Float32 in [-1, 1): the addon reads any typed array as float32, so this must happen first. */
export function int16ToFloat32(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = (pcm[i] ?? 0) / 32768;
  return out;
}
