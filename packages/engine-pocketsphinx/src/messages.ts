/**
 * Messages between `PocketSphinxEngine` (main thread) and its decoding workers. Audio travels as
 * transferred ArrayBuffers; errors travel as messages, since Error objects lose their class in
 * structured clone.
 */

import type { EngineEvent, StartReply, StreamReply, StreamRequest } from "@earshot/engines";
import type { DecoderArgs, LibraryPaths } from "./binding.js";

export interface WorkerConfig {
  readonly decoderArgs: DecoderArgs;
  readonly libraryPaths: LibraryPaths;
  /** Idle decoders a worker keeps for reuse; more are freed when their streams close. */
  readonly maxIdleDecoders: number;
  /** Under load, small pushes are decoded once this much audio (ms) is queued or has waited this long; 0: never batched. */
  readonly batchMs: number;
}

/** What a worker is started with: the config, and a flag (1 = stopping) it checks before each message. */
export interface WorkerData extends WorkerConfig {
  readonly stopFlag: Int32Array;
}

export type ToWorker =
  | { readonly type: "open"; readonly streamId: number; readonly wordTimestamps: boolean }
  | { readonly type: "push"; readonly streamId: number; readonly pcm: ArrayBuffer }
  | StreamRequest
  /** Free every decoder and exit. */
  | { readonly type: "shutdown" };

/** An engine event as it crosses the thread boundary: `error` carries a message, not an Error. */
export type WireEvent =
  | Exclude<EngineEvent, { readonly type: "error" }>
  | { readonly type: "error"; readonly message: string };

export type FromWorker =
  /** `ready`: the library loaded and a warm decoder exists; `failed`: the worker exits after sending it. */
  | StartReply
  | StreamReply<WireEvent>
  /** A push was decoded (so the main thread knows how far behind the stream is). */
  | { readonly type: "consumed"; readonly streamId: number; readonly samples: number; readonly busyMs: number };
