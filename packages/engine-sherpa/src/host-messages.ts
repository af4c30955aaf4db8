/**
 * Messages between `SherpaOnnxEngine` and its host processes, over the child_process IPC channel
 * with the "advanced" (structured clone) serialization, so audio travels as typed arrays. Errors
 * travel as messages: an Error object would lose its class.
 */

import type { EngineEvent, StartReply, StreamReply, StreamRequest } from "@earshot/engines";
import type { ModelSpec } from "./models/model-spec.js";
import type { RecognizerSettings } from "./recognizer-config.js";

export interface HostModel {
  readonly dir: string;
  readonly spec: ModelSpec;
  /** Zeros fed before a forced final: one encoder chunk (`T` frames), so the last partial chunk is decoded. */
  readonly tailPaddingMs: number;
}

export interface HostConfig {
  readonly models: readonly HostModel[];
  readonly settings: RecognizerSettings;
  /** Streams decoded together in one `decodeStreams` call, at most. */
  readonly maxBatch: number;
  /** Recognizers kept for key-term sets beyond each model's own; the least recently used idle one goes. */
  readonly maxKeytermRecognizers: number;
}

export type ToHost =
  | { readonly type: "init"; readonly config: HostConfig }
  | {
      readonly type: "open";
      readonly streamId: number;
      readonly model: string;
      readonly endpointingMs: number;
      readonly wordTimestamps: boolean;
      readonly keyterms: readonly string[];
    }
  | { readonly type: "push"; readonly streamId: number; readonly pcm: Int16Array }
  | StreamRequest
  | { readonly type: "shutdown" };

export type WireEvent = Exclude<EngineEvent, { readonly type: "error" }>;

export type FromHost =
  /** `ready`: every model's recognizer is loaded; `failed`: loading one failed. */
  | StartReply
  | StreamReply<WireEvent>
  /**
   * One decoding step: the size of each `decodeStreams` batch, the time it took, and the samples
   * each stream had accepted before it (now decoded, or waiting for less than a chunk).
   */
  | {
      readonly type: "decoded";
      readonly batchSizes: readonly number[];
      readonly busyMs: number;
      readonly consumed: ReadonlyArray<readonly [streamId: number, samples: number]>;
    };
